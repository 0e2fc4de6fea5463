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
* TLS: the server has a certificate (issued by the emulator's CA, ``ca_certificate`` in the
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
nothing here needs durability; dynamic shared memory in the data directory, so that a killed
server leaves nothing in ``/dev/shm``), creates the master role, the databases (owned by the master
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
EOF). For an emulator killed with SIGKILL, a reaper process (``db_reaper.py``, in its own
session, holding the other end of a pipe) kills the servers' process groups and removes the
directories as soon as the emulator is gone. The processes, directories, certificate,
registry and reaper are shared with ``rds_mysql`` (``db_servers``). (A server started in the instant between its
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
  CreateDBInstance / CreateDBCluster keep moto's endpoints (MySQL-family engines: see
  ``rds_mysql``).
* An Aurora cluster's server keeps running while the cluster exists, with or without
  instances; readers and the writer are the same server.
* What clients change through SQL lives as long as the server; snapshots of a restored
  resource hold its ``rds_content`` (the restored data), not SQL changes.
* Security groups, ``PubliclyAccessible``, IAM database authentication, parameter groups,
  ``rdsadmin``-only objects and extensions are not emulated.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import db_servers, rds_content

log = logging.getLogger("offsite_emulator.rds_postgres")

ADDRESS = db_servers.ADDRESS
SUPERUSER = "rdsadmin"
# The attribute of the moto model (DB instance or DB cluster) naming its server.
TOKEN = "_offsite_pg"
START_TIMEOUT_SECONDS = db_servers.START_TIMEOUT_SECONDS


# --- configuration ---------------------------------------------------------------------------


class _Settings:
    bin_dir: Path | None = None
    psql: str | None = None


SETTINGS = _Settings()


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
    FAMILY.prepare()


def _build_template(holder: Path) -> tuple[Path, Path | None]:
    """``initdb`` into ``holder``/data (once per emulator process) and the certificate."""
    data = holder / "data"
    assert SETTINGS.bin_dir is not None
    db_servers.run_group(
        [str(SETTINGS.bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth-local=trust",
         "--auth-host=scram-sha-256", "--no-locale", "-E", "UTF8", "--no-sync"],
        cwd=holder, timeout=START_TIMEOUT_SECONDS, what="initdb", user=FAMILY.as_server_user(),
    )
    # server.crt and server.key in the data directory (copied with it), where ssl=on reads them.
    certificate = db_servers.write_certificate(data, holder.parent / "ca-certificate.pem", FAMILY.give, log)
    return data, certificate


FAMILY = db_servers.Family(
    name="pg",
    label="PostgreSQL",
    program="postgres",
    users=("postgres", "nobody"),
    token=TOKEN,
    log=log,
    enabled=enabled,
    build_template=_build_template,
)


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


class Server(db_servers.Server):
    """One PostgreSQL server of a DB instance or DB cluster."""

    LOG_NAME = "postgres.log"
    SHUTDOWN_SIGNAL = signal.SIGINT  # fast shutdown

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
        super().__init__(FAMILY, token, kind, account, region, identifier, master_username, password_source,
                         content)
        self.force_ssl = force_ssl

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

    # -- the server ---------------------------------------------------------------------------

    def prepare_directory(self, template: Path, directory: Path) -> None:
        data = directory / "data"
        subprocess.run(["cp", "-a", str(template), str(data)], check=True, capture_output=True,
                       **FAMILY.as_server_user())
        # RDS for PostgreSQL 15+ (rds.force_ssl 1): TLS only; earlier versions and Aurora: both.
        host = "hostssl" if self.force_ssl and FAMILY.ca_certificate is not None else "host"
        (data / "pg_hba.conf").write_text(
            "# Offsite emulator: rdsadmin over the Unix socket; everyone else by password.\n"
            f"local all {SUPERUSER} trust\n"
            f"{host} all all 127.0.0.1/32 scram-sha-256\n"
        )

    def launch(self, directory: Path, port: int, server_log: Any) -> subprocess.Popen[bytes]:
        assert SETTINGS.bin_dir is not None
        options = {
            "port": str(port), "listen_addresses": ADDRESS,
            "unix_socket_directories": str(directory), "fsync": "off",
            "synchronous_commit": "off", "full_page_writes": "off", "shared_buffers": "16MB",
            "max_connections": "30", "wal_level": "minimal", "max_wal_senders": "0",
            "ssl": "on" if FAMILY.ca_certificate is not None else "off",
            "password_encryption": "scram-sha-256",
            # Dynamic shared memory in the data directory (pg_dynshmem), not /dev/shm: a server
            # killed with SIGKILL (the reaper) leaves nothing behind once its directory goes.
            "dynamic_shared_memory_type": "mmap",
        }
        args = [str(SETTINGS.bin_dir / "postgres"), "-D", str(directory / "data")]
        for name, value in options.items():
            args += ["-c", f"{name}={value}"]
        return subprocess.Popen(
            args, cwd=directory, stdin=subprocess.DEVNULL, stdout=server_log,
            stderr=subprocess.STDOUT, start_new_session=True, **FAMILY.as_server_user(),
        )

    def ping(self, directory: Path, port: int) -> bool:
        if not (directory / f".s.PGSQL.{port}").exists():
            return False
        try:
            self.psql("postgres", "SELECT 1;")
            return True
        except RuntimeError:
            return False

    def load(self) -> None:
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
            self.check()
            self.psql(database["name"], database_script(master, database), single_transaction=True)

    def set_password(self, password: str | None) -> None:
        """Set the master user's password (under ``self.lock``)."""
        value = "NULL" if password is None else quote_literal(password)
        self.psql(
            "postgres",
            "SET password_encryption = 'scram-sha-256';\n"
            f"ALTER ROLE {quote_ident(self.master_username)} WITH PASSWORD {value};\n",
        )


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
) -> db_servers.Server | None:
    """Start the server of a DB instance or cluster (moto model ``resource``) in the
    background, unless it has one; None when servers are off."""
    return FAMILY.start(resource, identifier, lambda token: Server(
        token, kind, account, region, identifier, master_username, password_source, content, force_ssl,
    ))







def stop_all() -> None:
    """Stop every server and wait for them (moto reset, exit)."""
    FAMILY.stop_all()


def shutdown() -> None:
    """At exit: stop every server, remove the emulator's PostgreSQL directory, let the
    reaper go."""
    FAMILY.shutdown()


def report() -> dict[str, Any]:
    """``GET /_offsite/rds/postgres``."""
    return FAMILY.report(SETTINGS.bin_dir)
