#!/usr/bin/env python3
"""Offsite's local AWS emulator: moto 5.2.5 in server mode with the fidelity patches in
``patches/``, a request-latency/counting middleware, and a small control API under
``/_offsite/``.

    python offsite_emulator.py [--host 127.0.0.1] [--port 0] [--copy-delay SECONDS]
                               [--latency-ms N] [--parent-pid PID] [--exit-on-stdin-eof]
                               [--postgres-bin DIR|auto] [--mysql-bin DIR|auto] [--verbose]

Once listening it prints exactly one line to stdout, ``OFFSITE_EMULATOR_READY port=<port>``,
and never writes to stdout again (everything else goes to stderr). See README.md.
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

STARTED = time.monotonic()

# moto reads some settings at import time; nothing here needs a non-default one.
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server  # noqa: E402

from patches import (  # noqa: E402
    apply_all,
    aws_backup,
    dynamodb_export,
    rds_content,
    rds_mysql,
    rds_postgres,
    rds_snapshot_lifecycle,
    rds_snapshot_quota,
    service_sessions,
)
from patches.iam_enforce import IamEnforcement  # noqa: E402
from patches.request_metrics import RequestMetrics  # noqa: E402
from patches.state import CONFIG, on_reset  # noqa: E402

READY_LINE = "OFFSITE_EMULATOR_READY port={port}"
WATCHDOG_INTERVAL_SECONDS = 0.25

log = logging.getLogger("offsite_emulator")


# --- control API ------------------------------------------------------------------------


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _read_json(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length else b""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise ControlError(400, f"invalid JSON: {error}") from error
    if not isinstance(body, dict):
        raise ControlError(400, "expected a JSON object")
    return body


def _update_config(body: dict[str, Any]) -> dict[str, Any]:
    unknown = set(body) - {"latency_ms", "copy_delay_seconds"}
    if unknown:
        raise ControlError(400, f"unknown field(s): {sorted(unknown)}")
    latency = body.get("latency_ms", CONFIG.latency_ms)
    delay = body.get("copy_delay_seconds", CONFIG.copy_delay_seconds)
    if isinstance(latency, bool) or not isinstance(latency, int) or latency < 0:
        raise ControlError(400, "latency_ms must be an integer >= 0")
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
        raise ControlError(400, "copy_delay_seconds must be a number >= 0")
    CONFIG.latency_ms = latency
    CONFIG.copy_delay_seconds = float(delay)
    return CONFIG.as_dict()


def _fail_snapshot(body: dict[str, Any]) -> dict[str, Any]:
    missing = [k for k in ("account", "region", "kind", "identifier") if not body.get(k)]
    if missing:
        raise ControlError(400, f"missing field(s): {missing}")
    if body["kind"] not in ("instance", "cluster"):
        raise ControlError(400, 'kind must be "instance" or "cluster"')
    try:
        snapshot = rds_snapshot_lifecycle.fail_snapshot(
            str(body["account"]), str(body["region"]), body["kind"], str(body["identifier"])
        )
    except KeyError as error:
        raise ControlError(
            404,
            f"no {body['kind']} snapshot {body['identifier']!r} in account "
            f"{body['account']} region {body['region']}",
        ) from error
    return {
        "ok": True,
        "account": body["account"],
        "region": body["region"],
        "kind": body["kind"],
        "identifier": body["identifier"],
        "status": snapshot.status,
    }


def _fail_next_copy(body: dict[str, Any]) -> dict[str, Any]:
    missing = [k for k in ("account", "region", "kind", "source_arn") if not body.get(k)]
    if missing:
        raise ControlError(400, f"missing field(s): {missing}")
    if body["kind"] not in ("instance", "cluster"):
        raise ControlError(400, 'kind must be "instance" or "cluster"')
    if not str(body["source_arn"]).startswith("arn:"):
        raise ControlError(400, "source_arn must be a snapshot ARN")
    rds_snapshot_lifecycle.fail_next_copy(
        str(body["account"]), str(body["region"]), body["kind"], str(body["source_arn"])
    )
    return {"ok": True, **{k: body[k] for k in ("account", "region", "kind", "source_arn")}}


def _snapshot_quotas(body: dict[str, Any]) -> dict[str, Any]:
    missing = [k for k in ("account", "region") if not body.get(k)]
    if missing:
        raise ControlError(400, f"missing field(s): {missing}")
    names = (rds_snapshot_quota.INSTANCE_QUOTA, rds_snapshot_quota.CLUSTER_QUOTA)
    values = {name: body[name] for name in names if name in body}
    unknown = sorted(set(body) - {"account", "region", *names})
    if unknown or not values:
        raise ControlError(400, f"set {' and/or '.join(names)} (unknown: {unknown})")
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in values.values()):
        raise ControlError(400, "quotas are whole numbers, 0 or more")
    quotas = rds_snapshot_quota.set_quotas(str(body["account"]), str(body["region"]), values)
    return {"ok": True, "account": body["account"], "region": body["region"], **quotas}


def _backup_recovery_point(body: dict[str, Any]) -> dict[str, Any]:
    missing = [k for k in ("account", "region", "kind", "resource") if not body.get(k)]
    if missing:
        raise ControlError(400, f"missing field(s): {missing}")
    if body["kind"] not in ("instance", "cluster"):
        raise ControlError(400, 'kind must be "instance" or "cluster"')
    tags = body.get("tags", {})
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ControlError(400, "tags must be an object of strings")
    try:
        return aws_backup.create_recovery_point(
            str(body["account"]), str(body["region"]), body["kind"], str(body["resource"]), tags
        )
    except KeyError as error:
        raise ControlError(
            404,
            f"no DB {body['kind']} {body['resource']!r} in account {body['account']} "
            f"region {body['region']}",
        ) from error


def _dynamodb_backdate(body: dict[str, Any]) -> dict[str, Any]:
    missing = [k for k in ("account", "region", "table", "seconds") if body.get(k) in (None, "")]
    if missing:
        raise ControlError(400, f"missing field(s): {missing}")
    seconds = body["seconds"]
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not math.isfinite(seconds)
        or seconds <= 0
    ):
        raise ControlError(400, "seconds must be a finite number > 0")
    try:
        return dynamodb_export.backdate_table(
            str(body["account"]), str(body["region"]), str(body["table"]), float(seconds)
        )
    except KeyError as error:
        raise ControlError(
            404,
            f"no DynamoDB table {body['table']!r} in account {body['account']} "
            f"region {body['region']}",
        ) from error


def _set_rds_content(body: dict[str, Any]) -> dict[str, Any]:
    try:
        return rds_content.set_content(body)
    except rds_content.ContentError as error:
        raise ControlError(error.status, str(error)) from error


def _get_rds_content(query: dict[str, Any]) -> dict[str, Any]:
    try:
        return rds_content.get_content(query)
    except rds_content.ContentError as error:
        raise ControlError(error.status, str(error)) from error


def _read_query(environ: dict[str, Any]) -> dict[str, Any]:
    """A GET request's query parameters (the first value of each)."""
    return {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


def _service_session(body: dict[str, Any]) -> dict[str, Any]:
    try:
        return service_sessions.service_session(body)
    except service_sessions.ServiceSessionError as error:
        raise ControlError(error.status, f"{error.code}: {error}") from error


class ControlAPI:
    """``/_offsite/...`` in front of the counted, delayed moto application."""

    def __init__(self, metrics: RequestMetrics) -> None:
        self.metrics = metrics
        self.routes: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {
            ("GET", "/_offsite/health"): lambda _: {"ok": True},
            ("GET", "/_offsite/requests"): lambda _: metrics.report(),
            ("POST", "/_offsite/requests/reset"): self._reset_requests,
            ("GET", "/_offsite/config"): lambda _: CONFIG.as_dict(),
            ("POST", "/_offsite/config"): _update_config,
            ("POST", "/_offsite/rds/fail-snapshot"): _fail_snapshot,
            ("POST", "/_offsite/rds/fail-next-copy"): _fail_next_copy,
            ("GET", "/_offsite/rds/failed-snapshots"): lambda _: {
                "snapshots": rds_snapshot_lifecycle.failed_snapshots()
            },
            ("POST", "/_offsite/rds/quotas"): _snapshot_quotas,
            ("POST", "/_offsite/backup/recovery-point"): _backup_recovery_point,
            ("POST", "/_offsite/rds/content"): _set_rds_content,
            ("GET", "/_offsite/rds/content"): _get_rds_content,
            ("GET", "/_offsite/rds/postgres"): lambda _: rds_postgres.report(),
            ("GET", "/_offsite/rds/mysql"): lambda _: rds_mysql.report(),
            ("POST", "/_offsite/dynamodb/backdate"): _dynamodb_backdate,
            ("POST", "/_offsite/sts/service-session"): _service_session,
        }

    def _reset_requests(self, _: dict[str, Any]) -> dict[str, Any]:
        self.metrics.reset()
        return self.metrics.report()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").rstrip("/")
        if not path.startswith("/_offsite/"):
            return self.metrics(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        handler = self.routes.get((method, path))
        try:
            if handler is None:
                known_path = any(p == path for _, p in self.routes)
                raise ControlError(405 if known_path else 404, f"no route {method} {path}")
            status, payload = 200, handler(_read_json(environ) if method == "POST" else _read_query(environ))
        except ControlError as error:
            status, payload = error.status, {"error": str(error)}
        body = json.dumps(payload).encode()
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"}
        start_response(
            f"{status} {reason[status]}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]


# --- process lifetime ---------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed child that its parent has not reaped yet is a zombie: treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _shutdown_servers() -> None:
    """Stop the PostgreSQL and MariaDB servers (each engine's even if the other's fails)."""
    try:
        rds_postgres.shutdown()
    finally:
        rds_mysql.shutdown()


def _exit_now() -> None:
    """Exit at once (from a watchdog thread), after stopping the database servers."""
    try:
        _shutdown_servers()
    finally:
        os._exit(0)


def _watch_parent(pid: int) -> None:
    while _pid_alive(pid):
        time.sleep(WATCHDOG_INTERVAL_SECONDS)
    log.warning("parent process %d is gone; exiting", pid)
    _exit_now()


def _watch_stdin() -> None:
    while sys.stdin.buffer.read(65536):
        pass
    log.warning("stdin reached EOF; exiting")
    _exit_now()


def _start_daemon(target: Callable[..., None], *args: Any) -> None:
    threading.Thread(target=target, args=args, daemon=True).start()


class QuietRequestHandler(MotoRequestHandler):
    """moto's handler without per-request log lines (``--verbose`` keeps them)."""

    verbose = False

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.verbose:
            super().log_request(code, size)


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--copy-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="how long new snapshots/copies stay `creating` and exports IN_PROGRESS",
    )
    parser.add_argument(
        "--latency-ms", type=int, default=0, metavar="N", help="delay added to each AWS request"
    )
    parser.add_argument(
        "--parent-pid", type=int, metavar="PID", help="exit within ~1 s once PID is gone"
    )
    parser.add_argument(
        "--exit-on-stdin-eof", action="store_true", help="exit when stdin reaches EOF"
    )
    parser.add_argument(
        "--snapshot-quota",
        type=int,
        default=rds_snapshot_quota.DEFAULT_QUOTA,
        metavar="N",
        help="every account's manual DB (and DB cluster) snapshot quota per Region (RDS: 100)",
    )
    parser.add_argument(
        "--postgres-bin",
        metavar="DIR|auto",
        help="run a real PostgreSQL server (initdb and postgres from DIR, or found: auto) behind "
        "every restored RDS for PostgreSQL instance and Aurora PostgreSQL cluster (off by default)",
    )
    parser.add_argument(
        "--mysql-bin",
        metavar="DIR|auto",
        help="run a real MariaDB server (mariadbd from DIR, mariadb-install-db and the mariadb "
        "client beside it or on PATH; or all found: auto) behind every restored RDS for MySQL or "
        "MariaDB instance and Aurora MySQL cluster (off by default)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    if args.copy_delay < 0 or args.latency_ms < 0 or args.snapshot_quota < 0:
        parser.error("--copy-delay, --latency-ms and --snapshot-quota must be >= 0")
    if args.postgres_bin is not None:
        try:
            args.postgres_bin = str(rds_postgres.configure(args.postgres_bin))
        except ValueError as error:
            parser.error(f"--postgres-bin: {error}")
    if args.mysql_bin is not None:
        try:
            args.mysql_bin = str(rds_mysql.configure(args.mysql_bin))
        except ValueError as error:
            parser.error(f"--mysql-bin: {error}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    CONFIG.latency_ms = args.latency_ms
    CONFIG.copy_delay_seconds = args.copy_delay
    rds_snapshot_quota.set_default(args.snapshot_quota)
    QuietRequestHandler.verbose = args.verbose

    apply_all()
    # The database servers go with the emulator: at a normal exit (SIGTERM/SIGINT raise
    # SystemExit), from the watchdogs (_exit_now), and after SIGKILL through db_reaper.py.
    atexit.register(_shutdown_servers)
    if args.postgres_bin:
        _start_daemon(rds_postgres.prepare)
    if args.mysql_bin:
        _start_daemon(rds_mysql.prepare)
    # IAM is evaluated for roles created through the IAM API (patches/iam_enforce.py).
    metrics = RequestMetrics(IamEnforcement(DomainDispatcherApplication(create_backend_app)))
    on_reset(metrics.reset)
    app = ControlAPI(metrics)

    if args.parent_pid:
        _start_daemon(_watch_parent, args.parent_pid)
    if args.exit_on_stdin_eof:
        _start_daemon(_watch_stdin)

    server = make_server(
        args.host, args.port, app, threaded=True, request_handler=QuietRequestHandler
    )

    def stop(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping", signum)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    sys.stdout.write(READY_LINE.format(port=server.server_port) + "\n")
    sys.stdout.flush()
    # Nothing may reach stdout after the READY line (the harness may stop reading it):
    # moto prints some warnings with print(), so send stdout to stderr from here on.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    log.info(
        "listening on %s:%d (ready after %.0f ms)",
        args.host,
        server.server_port,
        (time.monotonic() - STARTED) * 1000,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
        _shutdown_servers()


if __name__ == "__main__":
    main()
