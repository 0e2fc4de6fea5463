#!/usr/bin/env python3
"""Merges the benchmarks' results (target/bench/<scenario>.json) into
target/bench/results.json and prints them as one table. Run by `make bench` after the
benchmarks; standard library only."""

import json
import pathlib
import sys

BENCH = pathlib.Path(__file__).resolve().parent.parent / "target" / "bench"


def rows(name, result):
    """(scenario, wall, calls, calls per item, peak RSS) rows of one result file."""
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


def main():
    merged = {}
    for path in sorted(BENCH.glob("*.json")):
        if path.name != "results.json":
            merged[path.stem] = json.loads(path.read_text())
    if not merged:
        sys.exit("no benchmark results in target/bench (run make bench)")
    (BENCH / "results.json").write_text(json.dumps(merged, indent=2))
    table = [("SCENARIO", "WALL", "API CALLS", "PER ITEM", "MEMORY / SIZE")]
    for name, result in merged.items():
        table.extend(rows(name, result))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"written: {BENCH / 'results.json'}")


if __name__ == "__main__":
    main()
