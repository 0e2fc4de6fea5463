"""Real PostgreSQL servers behind restored RDS for PostgreSQL DB instances and restored
Aurora PostgreSQL DB clusters (opt-in: the launcher's ``--postgres-bin DIR|auto``), holding
the data their snapshot held (``rds_content``), so that a restore tester can connect to the
endpoint RDS reports with the master password and query the data.

AWS behaviour reproduced
------------------------
* A DB instance restored from a DB snapshot holds the snapshot's data; a DB cluster restored
  from a DB cluster snapshot holds the snapshot's cluster volume, reached through the
  cluster's instances (RDS User Guide, "Restoring to a DB instance" (USER_RestoreFromSnapshot);
  Aurora User Guide, "Restoring from a DB cluster snapshot"; API_RestoreDBClusterFromSnapshot:
  "This operation only restores the DB cluster, not the DB instances for that DB cluster. You
  must invoke the CreateDBInstance operation ...").
* The instance is reached at its ``Endpoint`` (``Address``, ``Port``) (API_DBInstance,
  Endpoint), the cluster at its ``Endpoint``/``ReaderEndpoint`` and ``Port`` (API_DBCluster).
  With this module the emulator reports ``127.0.0.1`` and the server's port there once the
  server accepts connections; ``rds_restore`` keeps the instance ``creating`` until then (a DB
  instance is ``available`` when it can be connected to: RDS User Guide, "Viewing Amazon RDS
  DB instance status", available: "The DB instance is healthy and available").
* The master user logs in with its password (API_CreateDBInstance, MasterUsername /
  MasterUserPassword), or, once the password is managed by RDS in Secrets Manager, with the
  secret's password, which RDS sets in the database and changes when it rotates the secret
  (RDS User Guide, "Password management with Amazon RDS and AWS Secrets Manager":
  "Amazon RDS changes the master user password for the DB instance to match the password for
  the new secret version"). Password authentication is SCRAM (``scram-sha-256``, PostgreSQL's
  default since 14). RDS's own superuser is ``rdsadmin`` and the master user is a member of
  ``rds_superuser``, not a superuser (RDS User Guide, "Understanding PostgreSQL roles and
  permissions"); so here.
* TLS: the server has a certificate (self-signed by the emulator, ``ca_certificate`` in the
  report below: ``sslmode=require`` and ``verify-ca``/``verify-full`` against that file work,
  the RDS CA bundle does not). RDS for PostgreSQL 15 and later refuse connections without
  TLS by default (``rds.force_ssl`` 1; RDS User Guide, "Updating applications to connect to
  PostgreSQL DB instances using new SSL/TLS certificates": "By default, for DB instances using
  PostgreSQL major version 15 and higher, rds.force_ssl is set to 1 (on)"), earlier versions
  and Aurora PostgreSQL accept both (``rds.force_ssl`` 0): the server's ``pg_hba.conf`` follows
  the instance's engine and major ``EngineVersion``. Parameter groups are not read.

How it is emulated
------------------
One server per restored DB instance of engine ``postgres`` (started by the restore, in a
background thread) and one per restored ``aurora-postgresql`` DB cluster (started when the
first DB instance is created in it; every instance of the cluster and the cluster's endpoints
reach it). The request that starts it does not wait: the thread copies a template data
directory (``initdb`` once per emulator process, begun at startup in the background:
``-U rdsadmin``, UTF-8, no locale), starts
``postgres`` as a child process listening only on 127.0.0.1 at a free port (``fsync`` off:
nothing here needs durability), creates the master role, the databases (owned by the master
user), schemas and tables with their declared SQL types, loads the rows with ``COPY ... FROM
STDIN`` (text format: every value is data, escaped, never SQL), and last sets the master
password. Only then is the server ``ready``. A server that cannot be started or loaded (e.g. a
seeded date string PostgreSQL rejects) is ``failed`` with the reason in ``error``, and its DB
instance reports status ``failed``.

Each server lives in its own directory under the emulator's temporary directory
(``offsite-emulator-pg-<pid>-*`` in ``$TMPDIR`` if set, else in ``/dev/shm`` when it is a
writable tmpfs with 1 GiB free, else in the system's temporary directory) and runs as the
``postgres`` user (or ``nobody``) when the emulator runs as root, since PostgreSQL refuses to
run as root. A server is stopped
(fast shutdown, then SIGKILL of its process group) and its directory removed when its DB
instance or DB cluster is deleted (in a background thread), on ``POST /moto-api/reset``
(before the reset answers) and when the emulator exits (SIGTERM/SIGINT, parent gone, stdin
EOF). For an emulator killed with SIGKILL, a reaper process (``pg_reaper.py``, in its own
session, holding the other end of a pipe) kills the servers' process groups and removes the
directories as soon as the emulator is gone. (A server started in the instant between its
spawn and its registration would lose its directory to the reaper all the same, and
PostgreSQL shuts down by itself within a minute once its data directory's lock file is gone.)

Control
-------
``GET /_offsite/rds/postgres`` -> ``{"enabled", "bin_dir", "base_dir", "ca_certificate",
"servers": [{"account", "region", "kind": "instance" | "cluster", "identifier", "state":
"starting" | "ready" | "failed" | "stopping", "address", "port", "pid", "directory",
"error"}]}``: every server not yet stopped (a leak check waits for ``servers`` to be empty).

Chosen / not emulated
---------------------
* The server is the PostgreSQL of ``--postgres-bin`` whatever the DB instance's
  ``EngineVersion`` says (``SELECT version()`` will not match it).
* Only restored resources get a server: DB instances and clusters created with
  CreateDBInstance / CreateDBCluster, and MySQL-family engines, keep moto's endpoints.
* An Aurora cluster's server keeps running while the cluster exists, with or without
  instances; readers and the writer are the same server.
* What clients change through SQL lives as long as the server; snapshots of a restored
  resource hold its ``rds_content`` (the restored data), not SQL changes.
* Security groups, ``PubliclyAccessible``, IAM database authentication, parameter groups,
  ``rdsadmin``-only objects and extensions are not emulated.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import rds_content

log = logging.getLogger("offsite_emulator.rds_postgres")

ADDRESS = "127.0.0.1"
SUPERUSER = "rdsadmin"
# The attribute of the moto model (DB instance or DB cluster) naming its server.
TOKEN = "_offsite_pg"
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 10.0
REAPER = Path(__file__).resolve().parents[1] / "pg_reaper.py"


class _Settings:
    bin_dir: Path | None = None
    psql: str | None = None


SETTINGS = _Settings()


# --- configuration ---------------------------------------------------------------------------


def _has_server(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in ("initdb", "postgres"))


def find_binaries(hint: str | None = None) -> Path | None:
    """A directory holding PostgreSQL's ``initdb`` and ``postgres``: ``hint`` if given (and
    only it), else ``pg_config --bindir``, else the newest ``/usr/lib/postgresql/*/bin``."""
    if hint is not None:
        path = Path(hint)
        return path if _has_server(path) else None
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            candidate = Path(out.stdout.strip())
            if out.returncode == 0 and _has_server(candidate):
                return candidate
        except (OSError, subprocess.SubprocessError):
            pass

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", path.parent.name)) or (0,)

    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True):
        if _has_server(candidate):
            return candidate
    return None


def configure(bin_dir: str | None) -> Path | None:
    """Turn the servers on (``bin_dir`` a directory with ``initdb`` and ``postgres``, or
    ``auto``) or off (None). ValueError says what is missing."""
    if bin_dir is None:
        SETTINGS.bin_dir = SETTINGS.psql = None
        return None
    found = find_binaries(None if bin_dir == "auto" else bin_dir)
    if found is None:
        where = "pg_config --bindir or /usr/lib/postgresql/*/bin" if bin_dir == "auto" else bin_dir
        raise ValueError(f"no PostgreSQL server binaries (initdb, postgres) in {where}")
    psql = str(found / "psql") if os.access(found / "psql", os.X_OK) else shutil.which("psql")
    if not psql:
        raise ValueError(f"no psql in {found} or on PATH")
    SETTINGS.bin_dir, SETTINGS.psql = found.resolve(), psql
    return SETTINGS.bin_dir


def enabled() -> bool:
    return SETTINGS.bin_dir is not None


def prepare() -> None:
    """Build the template data directory now (the launcher calls it in the background at
    startup, so that the first restore does not wait for ``initdb``)."""
    if enabled():
        try:
            _template_dir()
        except Exception as error:  # noqa: BLE001 - the first server reports it again
            log.error("PostgreSQL template: %s", error)


# --- the server's user, its directories and the reaper ------------------------------------------


def _server_user() -> tuple[int, int] | None:
    """(uid, gid) to run PostgreSQL as when the emulator is root (PostgreSQL refuses root):
    ``postgres`` if the system has it, else ``nobody``; None when not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            continue
    raise RuntimeError("the emulator runs as root and the system has no postgres or nobody user")


def _as_server_user() -> dict[str, Any]:
    user = _server_user()
    return {} if user is None else {"user": user[0], "group": user[1], "extra_groups": []}


def _give(path: Path) -> None:
    user = _server_user()
    if user is not None:
        os.chown(path, *user)


_reaper: subprocess.Popen[bytes] | None = None
_reaper_lock = threading.Lock()


def _reap(line: str) -> None:
    """Tell the reaper about a process group or directory (starting it on first use)."""
    global _reaper
    with _reaper_lock:
        if _reaper is None or _reaper.poll() is not None:
            _reaper = subprocess.Popen(
                [sys.executable, str(REAPER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            assert _reaper.stdin is not None
            _reaper.stdin.write(line.encode("utf-8", "surrogateescape") + b"\n")
            _reaper.stdin.flush()
        except (BrokenPipeError, OSError):
            pass


def _close_reaper() -> None:
    global _reaper
    with _reaper_lock:
        reaper, _reaper = _reaper, None
    if reaper is not None:
        try:
            if reaper.stdin is not None:
                reaper.stdin.close()
            reaper.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass


_base: Path | None = None
_template: Path | None = None
_ca_certificate: Path | None = None
_dirs_lock = threading.Lock()


# A tmpfs holds the servers' files far faster than a disk (a data directory is ~1,000 files:
# copying one took 1.9 s on the project machine's disk, 0.14 s in /dev/shm).
SHARED_MEMORY = Path("/dev/shm")
SHARED_MEMORY_MINIMUM_FREE = 1 << 30


def _parent_dir() -> str:
    """Where the emulator's PostgreSQL directory goes: ``$TMPDIR`` when set, else /dev/shm if
    it is a writable directory with 1 GiB free, else the system's temporary directory."""
    if os.environ.get("TMPDIR"):
        return tempfile.gettempdir()
    try:
        if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK | os.X_OK):
            stats = os.statvfs(SHARED_MEMORY)
            if stats.f_bavail * stats.f_frsize >= SHARED_MEMORY_MINIMUM_FREE:
                return str(SHARED_MEMORY)
    except OSError:
        pass
    return tempfile.gettempdir()


def _base_dir() -> Path:
    global _base
    with _dirs_lock:
        if _base is None or not _base.is_dir():
            _base = Path(tempfile.mkdtemp(prefix=f"offsite-emulator-pg-{os.getpid()}-", dir=_parent_dir()))
            # The server user must reach its own directory inside.
            _base.chmod(0o711)
            _reap(f"dir {_base}")
        return _base


def _template_dir() -> Path:
    """The data directory every server copies (``initdb`` once per emulator process)."""
    global _template, _ca_certificate
    base = _base_dir()
    with _dirs_lock:
        if _template is not None and _template.is_dir():
            return _template
        holder = base / "template"
        shutil.rmtree(holder, ignore_errors=True)
        holder.mkdir(mode=0o700)
        _give(holder)
        data = holder / "data"
        assert SETTINGS.bin_dir is not None
        _run_group(
            [str(SETTINGS.bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth-local=trust",
             "--auth-host=scram-sha-256", "--no-locale", "-E", "UTF8", "--no-sync"],
            cwd=holder, timeout=START_TIMEOUT_SECONDS, what="initdb",
        )
        _ca_certificate = _write_certificate(data)
        _template = data
        return data


def _write_certificate(data: Path) -> Path | None:
    """A self-signed certificate for 127.0.0.1/localhost (``server.crt``, ``server.key``)."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:  # pragma: no cover - cryptography is pinned in requirements.txt
        log.warning("cryptography is missing: PostgreSQL servers run without TLS")
        return None
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ADDRESS)])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(ADDRESS)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    crt, pem_key = data / "server.crt", data / "server.key"
    crt.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    pem_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    crt.chmod(0o644)
    pem_key.chmod(0o600)
    _give(crt)
    _give(pem_key)
    # A copy outside the servers' private directories, for clients that verify it.
    public = data.parent.parent / "ca-certificate.pem"
    public.write_bytes(crt.read_bytes())
    public.chmod(0o644)
    return public


def _run_group(args: list[str], *, cwd: Path, timeout: float, what: str) -> None:
    """Run a PostgreSQL tool as the server user in its own process group, known to the
    reaper while it runs; RuntimeError with its output if it fails."""
    process = subprocess.Popen(
        args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True, **_as_server_user(),
    )
    _reap(f"proc {process.pid}")
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise RuntimeError(f"{what} took longer than {timeout:.0f} s") from None
    finally:
        _reap(f"unproc {process.pid}")
    if process.returncode != 0:
        raise RuntimeError(f"{what} failed ({process.returncode}): {out.decode(errors='replace')[-2000:]}")


def _kill_group(process: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not refused
        pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((ADDRESS, 0))
        return int(probe.getsockname()[1])


# --- SQL ------------------------------------------------------------------------------------


def quote_ident(name: str) -> str:
    """A PostgreSQL quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A PostgreSQL string literal (``standard_conforming_strings`` on: backslashes are
    plain characters)."""
    return "'" + text.replace("'", "''") + "'"


_SQL_TYPE = re.compile(r"^[a-z][a-z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?[a-z ]*(\[\d*\])*$")


def _sql_type(declared: str) -> str:
    """The column's declared type as SQL (validated by ``rds_content``; checked again here:
    names, whole-number arguments and array brackets only)."""
    text = " ".join(declared.strip().lower().split())
    if not _SQL_TYPE.match(text):
        raise ValueError(f"cannot use the type {declared!r} in SQL")
    return text


def _copy_escape(text: str) -> str:
    """COPY text format: backslash, newline, carriage return and tab escaped."""
    return (
        text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )


def copy_value(ctype: rds_content.ColumnType, value: Any) -> str:
    """One value of a row in COPY's text format (``\\N`` for null)."""
    if value is None:
        return "\\N"
    converted = rds_content.convert(ctype, value)
    if isinstance(converted, bool):
        text = "t" if converted else "f"
    elif isinstance(converted, bytes):
        text = "\\x" + converted.hex()
    elif isinstance(converted, float):
        if math.isnan(converted):
            text = "NaN"
        elif math.isinf(converted):
            text = "Infinity" if converted > 0 else "-Infinity"
        else:
            text = repr(converted)
    elif isinstance(converted, (int, Decimal)):
        text = str(converted)
    elif isinstance(converted, datetime):
        text = converted.isoformat(sep=" ")
    else:
        text = str(converted)
    return _copy_escape(text)


def database_script(master: str, database: dict[str, Any]) -> str:
    """The SQL that creates one database's schemas and tables and loads their rows, run in
    that database as the master user (who then owns them)."""
    lines = [
        "SET client_min_messages = warning;",
        "SET client_encoding = 'UTF8';",
        "SET standard_conforming_strings = on;",
        f"SET ROLE {quote_ident(master)};",
    ]
    tables = database.get("tables", [])
    for schema in sorted({t.get("schema") or "public" for t in tables}):
        lines.append(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)};")
    for table in tables:
        target = f"{quote_ident(table.get('schema') or 'public')}.{quote_ident(table['name'])}"
        types = [rds_content.column_type(rds_content.POSTGRES, c["type"]) for c in table["columns"]]
        columns = ", ".join(
            f"{quote_ident(c['name'])} {_sql_type(c['type'])}" for c in table["columns"]
        )
        lines.append(f"CREATE TABLE {target} ({columns});")
        if table.get("rows"):
            names = ", ".join(quote_ident(c["name"]) for c in table["columns"])
            lines.append(f"COPY {target} ({names}) FROM stdin;")
            for row in table["rows"]:
                lines.append("\t".join(copy_value(t, v) for t, v in zip(types, row)))
            lines.append("\\.")
    return "\n".join(lines) + "\n"


# --- servers ---------------------------------------------------------------------------------


class _Aborted(Exception):
    """The server was stopped while it was starting."""


class Server:
    """One PostgreSQL server of a DB instance or DB cluster."""

    def __init__(
        self,
        token: str,
        kind: str,
        account: str,
        region: str,
        identifier: str,
        master_username: str,
        password_source: Callable[[], str | None],
        content: rds_content.Content,
        force_ssl: bool,
    ) -> None:
        self.token = token
        self.kind = kind
        self.account = account
        self.region = region
        self.identifier = identifier
        self.master_username = master_username
        self.password_source = password_source
        self.content = content
        self.force_ssl = force_ssl
        self.state = "starting"
        self.error: str | None = None
        self.port: int | None = None
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.lock = threading.RLock()
        self.thread: threading.Thread | None = None

    def info(self) -> dict[str, Any]:
        with self.lock:
            process = self.process
            return {
                "account": self.account,
                "region": self.region,
                "kind": self.kind,
                "identifier": self.identifier,
                "state": self.state,
                "address": ADDRESS,
                "port": self.port,
                "pid": process.pid if process is not None and process.poll() is None else None,
                "directory": str(self.directory) if self.directory else None,
                "error": self.error,
            }

    # -- psql ---------------------------------------------------------------------------------

    def psql(self, database: str, script: str, *, single_transaction: bool = False) -> str:
        """Run ``script`` in ``database`` as ``rdsadmin`` over the server's Unix socket."""
        assert SETTINGS.psql is not None and self.directory is not None
        dbname = "dbname='" + database.replace("\\", "\\\\").replace("'", "\\'") + "'"
        args = [SETTINGS.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.directory),
                "-p", str(self.port), "-U", SUPERUSER, "-d", dbname, "-f", "-"]
        if single_transaction:
            args.insert(1, "-1")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGCONNECT_TIMEOUT"] = "10"
        out = subprocess.run(args, input=script.encode(), capture_output=True, env=env,
                             timeout=START_TIMEOUT_SECONDS)
        if out.returncode != 0:
            raise RuntimeError(
                f"psql in database {database!r} failed: {out.stderr.decode(errors='replace')[-2000:]}"
            )
        return out.stdout.decode(errors="replace")

    # -- lifecycle ----------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._start()
            self._load()
            with self.lock:
                if self.stopping:
                    raise _Aborted()
                self._set_password(self.password_source())
                self.state = "ready"
            log.info("PostgreSQL for %s %s ready on %s:%s", self.kind, self.identifier, ADDRESS, self.port)
        except _Aborted:
            pass
        except Exception as error:  # noqa: BLE001 - any failure ends the server as failed
            with self.lock:
                if self.stopping:
                    return
                self.state = "failed"
                self.error = str(error)
                process = self.process
            log.error("PostgreSQL for %s %s failed: %s", self.kind, self.identifier, error)
            if process is not None:
                _stop_process(process)

    def _check(self) -> None:
        if self.stopping:
            raise _Aborted()

    def _start(self) -> None:
        template = _template_dir()
        self._check()
        directory = _base_dir() / f"{self.kind[0]}-{self.token[:12]}"
        directory.mkdir(mode=0o700)
        _give(directory)
        _reap(f"dir {directory}")
        with self.lock:
            self.directory = directory
        data = directory / "data"
        subprocess.run(["cp", "-a", str(template), str(data)], check=True, capture_output=True,
                       **_as_server_user())
        # RDS for PostgreSQL 15+ (rds.force_ssl 1): TLS only; earlier versions and Aurora: both.
        host = "hostssl" if self.force_ssl and _ca_certificate is not None else "host"
        (data / "pg_hba.conf").write_text(
            "# Offsite emulator: rdsadmin over the Unix socket; everyone else by password.\n"
            f"local all {SUPERUSER} trust\n"
            f"{host} all all 127.0.0.1/32 scram-sha-256\n"
        )
        assert SETTINGS.bin_dir is not None
        for _ in range(5):
            self._check()
            port = _free_port()
            with open(directory / "postgres.log", "ab") as server_log:
                options = {
                    "port": str(port), "listen_addresses": ADDRESS,
                    "unix_socket_directories": str(directory), "fsync": "off",
                    "synchronous_commit": "off", "full_page_writes": "off", "shared_buffers": "16MB",
                    "max_connections": "30", "wal_level": "minimal", "max_wal_senders": "0",
                    "ssl": "on" if _ca_certificate is not None else "off",
                    "password_encryption": "scram-sha-256",
                }
                args = [str(SETTINGS.bin_dir / "postgres"), "-D", str(data)]
                for name, value in options.items():
                    args += ["-c", f"{name}={value}"]
                process = subprocess.Popen(
                    args, cwd=directory, stdin=subprocess.DEVNULL, stdout=server_log,
                    stderr=subprocess.STDOUT, start_new_session=True, **_as_server_user(),
                )
            _reap(f"proc {process.pid}")
            with self.lock:
                self.process, self.port = process, port
                if self.stopping:
                    _stop_process(process)
                    raise _Aborted()
            if self._wait_ready(process, directory, port):
                return
            _reap(f"unproc {process.pid}")  # the port was taken: try another
        raise RuntimeError("postgres could not bind a free port")

    def _wait_ready(self, process: subprocess.Popen[bytes], directory: Path, port: int) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        socket_file = directory / f".s.PGSQL.{port}"
        while time.monotonic() < deadline:
            self._check()
            if process.poll() is not None:
                tail = (directory / "postgres.log").read_text(errors="replace")[-2000:]
                if "could not bind" in tail or "already in use" in tail:
                    return False
                raise RuntimeError(f"postgres exited with {process.returncode}: {tail}")
            if socket_file.exists():
                try:
                    self.psql("postgres", "SELECT 1;")
                    return True
                except RuntimeError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"postgres did not accept connections within {START_TIMEOUT_SECONDS:.0f} s")

    def _load(self) -> None:
        self._check()
        master = self.master_username
        setup = []
        if master != SUPERUSER:
            setup.append(f"CREATE ROLE {quote_ident(master)} WITH LOGIN CREATEDB CREATEROLE;")
        setup.append("CREATE ROLE rds_superuser NOLOGIN;")
        if master != SUPERUSER:
            setup.append(f"GRANT rds_superuser TO {quote_ident(master)};")
        setup.append(f"ALTER DATABASE postgres OWNER TO {quote_ident(master)};")
        for database in self.content:
            if database["name"] != "postgres":
                setup.append(f"CREATE DATABASE {quote_ident(database['name'])} OWNER {quote_ident(master)};")
        self.psql("postgres", "\n".join(setup) + "\n")
        for database in self.content:
            self._check()
            self.psql(database["name"], database_script(master, database), single_transaction=True)

    def _set_password(self, password: str | None) -> None:
        """Set the master user's password (under ``self.lock``)."""
        value = "NULL" if password is None else quote_literal(password)
        self.psql(
            "postgres",
            "SET password_encryption = 'scram-sha-256';\n"
            f"ALTER ROLE {quote_ident(self.master_username)} WITH PASSWORD {value};\n",
        )

    def apply_password(self) -> None:
        """The master password changed (Modify, managed secret, rotation): set it in the
        database now if the server is ready (else the loader sets it when it is)."""
        with self.lock:
            if self.state == "ready" and not self.stopping:
                self._set_password(self.password_source())

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            if self.state != "stopped":
                self.state = "stopping"
            process = self.process
        if process is not None:
            _stop_process(process)
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(START_TIMEOUT_SECONDS)
        with self.lock:
            process = self.process
        if process is not None:
            _stop_process(process)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            _reap(f"undir {self.directory}")
        with self.lock:
            self.state = "stopped"
        with _lock:
            if _servers.get(self.token) is self:
                del _servers[self.token]


def _stop_process(process: subprocess.Popen[Any]) -> None:
    """Fast shutdown (SIGINT), then SIGKILL of the process group."""
    if process.poll() is None:
        try:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            _kill_group(process)
        except OSError:
            pass
    # Backends exit with the postmaster; make sure nothing of the group is left.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        pass
    _reap(f"unproc {process.pid}")


_servers: dict[str, Server] = {}
_lock = threading.RLock()
_stoppers: list[threading.Thread] = []


def start(
    resource: Any,
    kind: str,
    *,
    account: str,
    region: str,
    identifier: str,
    master_username: str,
    password_source: Callable[[], str | None],
    content: rds_content.Content,
    force_ssl: bool,
) -> Server | None:
    """Start the server of a DB instance or cluster (moto model ``resource``) in the
    background, unless it has one; None when servers are off."""
    if not enabled():
        return None
    with _lock:
        token = resource.__dict__.get(TOKEN)
        if token in _servers:
            return _servers[token]
        token = uuid.uuid4().hex
        resource.__dict__[TOKEN] = token
        server = Server(token, kind, account, region, identifier, master_username, password_source,
                        content, force_ssl)
        _servers[token] = server
        server.thread = threading.Thread(target=server.run, name=f"postgres-{identifier}", daemon=True)
        server.thread.start()
        return server


def server_of(resource: Any) -> Server | None:
    token = resource.__dict__.get(TOKEN) if resource is not None else None
    with _lock:
        return _servers.get(token) if token else None


def gate(resource: Any) -> str | None:
    """``starting`` / ``ready`` / ``failed`` for a resource with a server, else None."""
    server = server_of(resource)
    if server is None or server.state in ("stopping", "stopped"):
        return None
    return server.state


def endpoint(resource: Any) -> tuple[str, int] | None:
    server = server_of(resource)
    if server is None or server.state != "ready" or server.port is None:
        return None
    return ADDRESS, server.port


def password_changed(resource: Any) -> None:
    server = server_of(resource)
    if server is not None:
        server.apply_password()


def stop(resource: Any, wait: bool = False) -> None:
    """Stop the resource's server (in the background unless ``wait``)."""
    server = server_of(resource)
    if server is None:
        return
    with server.lock:
        server.stopping = True
        server.state = "stopping"
    if wait:
        server.stop()
        return
    thread = threading.Thread(target=server.stop, name=f"postgres-stop-{server.identifier}", daemon=True)
    with _lock:
        _stoppers[:] = [t for t in _stoppers if t.is_alive()]
        _stoppers.append(thread)
    thread.start()


def stop_all() -> None:
    """Stop every server and wait for them (moto reset, exit)."""
    with _lock:
        servers = list(_servers.values())
        stoppers = list(_stoppers)
    for server in servers:
        server.stop()
    for thread in stoppers:
        thread.join(START_TIMEOUT_SECONDS)


def shutdown() -> None:
    """At exit: stop every server, remove the emulator's PostgreSQL directory, let the
    reaper go."""
    global _base, _template, _ca_certificate
    stop_all()
    with _dirs_lock:
        base, _base, _template, _ca_certificate = _base, None, None, None
    if base is not None:
        shutil.rmtree(base, ignore_errors=True)
        _reap(f"undir {base}")
    _close_reaper()


def report() -> dict[str, Any]:
    """``GET /_offsite/rds/postgres``."""
    with _lock:
        servers = [s.info() for s in _servers.values()]
    return {
        "enabled": enabled(),
        "bin_dir": str(SETTINGS.bin_dir) if SETTINGS.bin_dir else None,
        "base_dir": str(_base) if _base else None,
        "ca_certificate": str(_ca_certificate) if _ca_certificate else None,
        "servers": servers,
    }
