#!/usr/bin/env python3
"""Merges the benchmarks' results (target/bench/<scenario>.json) into
target/bench/results.json and prints them as one table. Run by `make bench` after the
benchmarks; standard library only."""

import io
import json
import pathlib
import sys
import zipfile

BENCH = pathlib.Path(__file__).resolve().parent.parent / "target" / "bench"


def rows(name, result):
    """(scenario, wall, calls, calls per item, peak RSS) rows of one result file; memory is the
    function process's where the result says so (`peak_rss_of`)."""
    if name == "lambda_start":
        for f in result.get("functions", []):
            yield (f"start {f['function']} ({f['build']})", f"{f['first_event_handled_ms_median']:.1f} ms",
                   "-", f"ready {f['ready_ms_median']:.1f} ms", f"zip {f['zipped_mib'] or 0:.1f} MiB")
    elif name == "dynamodb":
        first = result["first_run"]
        yield (f"dynamodb export, {result['tables']} tables (first run)", f"{first['wall_seconds']:.1f} s",
               str(first["api_calls"]), f"{first['api_calls'] / result['tables']:.2f}/table",
               f"{result.get('peak_rss_mib') or 0:.1f} MiB")
        base = result.get("baseline")
        if base:
            yield (f"  naive baseline (x{result['ratio_wall']:.1f} time, x{result['ratio_calls']:.1f} calls)",
                   f"{base['wall_seconds']:.1f} s", str(base["api_calls"]),
                   f"{base['api_calls'] / result['tables']:.2f}/table", "-")
    elif name == "exporter":
        yield (f"exporter sweep, {result['sources']} sources", f"{result['wall_seconds']:.1f} s",
               str(result["api_calls"]), f"{result['calls_per_source']:.3f}/source",
               f"{result.get('peak_rss_mib') or 0:.1f} MiB")
        base = result["baseline"]
        yield (f"  naive baseline (x{result['ratio_wall']:.1f} time, x{result['ratio_calls']:.1f} calls)",
               f"{base['wall_seconds']:.1f} s", str(base["api_calls"]),
               f"{base['api_calls'] / result['sources']:.3f}/source", "-")
    elif name == "importer":
        yield (f"importer, {result['notices']} notices in batches of 10", f"{result['wall_seconds']:.1f} s",
               str(result["api_calls"]), f"{result['calls_per_notice']:.2f}/notice",
               f"{result.get('peak_rss_mib') or 0:.1f} MiB")
        base = result["baseline"]
        yield (f"  naive baseline (x{result['ratio_wall']:.2f} time, x{result['ratio_calls']:.2f} calls)",
               f"{base['wall_seconds']:.1f} s", str(base["api_calls"]),
               f"{base['api_calls'] / result['notices']:.2f}/notice", "-")
    elif name == "rds_export":
        yield (f"rds export, {result['copies']} imports of {result['databases']} databases ({result['exports_started']} started)",
               f"{result['wall_seconds']:.1f} s", str(result["api_calls"]),
               f"{result['api_calls'] / result['copies']:.3f}/import", f"{result.get('peak_rss_mib') or 0:.1f} MiB")
        base = result["baseline"]
        yield (f"  naive baseline (x{result['ratio_wall']:.1f} time, x{result['ratio_calls']:.1f} calls)",
               f"{base['wall_seconds']:.1f} s", str(base["api_calls"]),
               f"{base['api_calls'] / result['copies']:.3f}/import", "-")
    elif name == "end_to_end":
        yield from end_to_end(result)
    elif name == "scanner":
        for size in result.get("sizes", [result]):
            yield (f"scanner, {size['copies']} copies ({size['newly_available']} due)", f"{size['wall_seconds']:.1f} s",
                   str(size["api_calls"]), f"{size['api_calls'] / size['copies']:.3f}/copy",
                   f"{size.get('peak_rss_mib') or 0:.1f} MiB")
            base = size.get("baseline")
            if base:
                yield (f"  naive baseline (x{size['ratio_wall']:.1f} time, x{size['ratio_calls']:.1f} calls)",
                       f"{base['wall_seconds']:.1f} s", str(base["api_calls"]),
                       f"{base['api_calls'] / size['copies']:.3f}/copy", "-")


def end_to_end(result):
    """Rows of the end-to-end scenario: calls per snapshot by function, hops, memory."""
    n = result["snapshots"]
    yield (f"end to end, {n} snapshots (every origin)", f"{result['pipeline_latency_seconds_per_snapshot']:.2f} s/snapshot",
           str(result["api_calls"]), f"{result['calls_per_snapshot']:.2f}/snapshot ({result['read_share'] * 100:.0f}% reads)",
           "max {:.1f} MiB".format(max((v or 0) for v in result["peak_rss_mib"].values())))
    for function, figures in result["by_function"].items():
        yield (f"  {function}", "-", str(figures["calls"]), f"{figures['per_snapshot']:.2f}/snapshot",
               f"{result['peak_rss_mib'].get(function) or 0:.1f} MiB")
    for name, hop in result["hops"].items():
        yield (f"  hop {name.replace('_', ' ')}", f"median {hop['median_ms']:.0f} ms, slowest {hop['slowest_ms']:.0f} ms",
               f"{hop['invocations']} invocations", "-", "-")


def zipped_mib(binary):
    """The size of `binary` zipped as Lambda's `bootstrap` (deflate, as `make package`'s
    cargo-lambda does), in MiB; None when it is not built."""
    path = BENCH.parent / binary
    if not path.exists():
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, path.read_bytes())
    return len(buffer.getvalue()) / 1_048_576


def main():
    merged = {}
    for path in sorted(BENCH.glob("*.json")):
        if path.name != "results.json":
            merged[path.stem] = json.loads(path.read_text())
    # Without `make package`, the zip of the binary the start was measured with.
    for function in merged.get("lambda_start", {}).get("functions", []):
        if function.get("zipped_mib") is None:
            directory = "release" if function.get("build") == "release" else "debug"
            function["zipped_mib"] = zipped_mib(f"{directory}/{function['function']}")
            function["zipped_from"] = f"target/{directory}/{function['function']} zipped as bootstrap"
    if not merged:
        sys.exit("no benchmark results in target/bench (run make bench)")
    (BENCH / "results.json").write_text(json.dumps(merged, indent=2))
    table = [("SCENARIO", "PROFILE", "WALL", "API CALLS", "PER ITEM", "MEMORY / SIZE")]
    for name, result in merged.items():
        profile = result.get("profile", "dev (before profiles were recorded)")
        table.extend((r[0], profile) + tuple(r[1:]) for r in rows(name, result))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"written: {BENCH / 'results.json'}")


if __name__ == "__main__":
    main()
