"""Real MariaDB servers behind restored RDS for MySQL and RDS for MariaDB DB instances and
restored Aurora MySQL DB clusters (opt-in: the launcher's ``--mysql-bin DIR|auto``), holding
the data their snapshot held (``rds_content``), so that a restore tester can connect to the
endpoint RDS reports with the master password and query the data.

AWS behaviour reproduced
------------------------
* A DB instance restored from a DB snapshot holds the snapshot's data; a DB cluster restored
  from a DB cluster snapshot holds the snapshot's cluster volume, reached through the
  cluster's instances (RDS User Guide, "Restoring to a DB instance" (USER_RestoreFromSnapshot);
  Aurora User Guide, "Restoring from a DB cluster snapshot"; API_RestoreDBClusterFromSnapshot:
  "This operation only restores the DB cluster, not the DB instances for that DB cluster. You
  must invoke the CreateDBInstance operation ..."). MySQL-family content has databases whose
  tables sit directly in them (a MySQL schema *is* a database).
* The instance is reached at its ``Endpoint`` (``Address``, ``Port``) (API_DBInstance,
  Endpoint), the cluster at its ``Endpoint``/``ReaderEndpoint`` and ``Port`` (API_DBCluster):
  ``127.0.0.1`` and the server's port once the server accepts connections; ``rds_restore``
  keeps the instance ``creating`` until then (RDS User Guide, "Viewing Amazon RDS DB instance
  status", available: "The DB instance is healthy and available").
* The master user logs in with its password (API_CreateDBInstance, MasterUsername /
  MasterUserPassword), or, once the password is managed by RDS in Secrets Manager, with the
  secret's password, which RDS sets in the database and changes when it rotates the secret
  (RDS User Guide, "Password management with Amazon RDS and AWS Secrets Manager"). The master
  user has the privileges RDS gives it and is not a superuser (RDS User Guide, "Master user
  account privileges", RDS for MariaDB: ``SELECT, INSERT, UPDATE, DELETE, CREATE, DROP,
  RELOAD, PROCESS, REFERENCES, INDEX, ALTER, SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK
  TABLES, EXECUTE, REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE,
  CREATE USER, EVENT, TRIGGER, REPLICATION SLAVE``, on ``*.*`` ``WITH GRANT OPTION``; no
  ``SUPER``, ``FILE`` or ``SHUTDOWN``): so here, whatever the engine. RDS's own administrator
  is ``rdsadmin@localhost``; so here, reachable only through the server's Unix socket.
* TLS: the server has a certificate (issued by the emulator's CA, ``ca_certificate`` in the
  report below: ``--ssl-ca`` with ``--ssl-verify-server-cert`` against that file works, the
  RDS CA bundle does not). Whether connections without TLS are refused follows the engine's
  default ``require_secure_transport`` (``requires_secure_transport``): RDS User Guide,
  "Requiring SSL/TLS for all connections to a MySQL DB instance on Amazon RDS" ("For MySQL
  8.4 and lower, the require_secure_transport parameter is set to 0 (OFF) by default"; "For
  MySQL 9.7, the require_secure_transport parameter defaults to 1 (ON)"); "Requiring SSL/TLS
  for all connections to a MariaDB DB instance on Amazon RDS" ("For versions 11.4 and
  earlier, the require_secure_transport parameter is set to OFF by default. For 11.8 and later
  versions, the default value is set to ON"); Aurora MySQL: OFF (Aurora User Guide, "Security
  with Amazon Aurora MySQL", requiring a TLS connection is opted into with the DB cluster
  parameter ``require_secure_transport``). So ON for ``mysql`` 9.7 and later and ``mariadb``
  11.8 and later, OFF otherwise. Parameter groups are not read. A refused client sees
  MariaDB's ``ERROR 1045 (28000): Access denied`` (as the MariaDB page shows; RDS for MySQL
  answers error 3159).
* The time zone is UTC (RDS User Guide, "Local time zone for MySQL DB instances": "By
  default, the time zone for a DB instance is Coordinated Universal Time (UTC)"): seeded
  ``datetime``/``timestamp`` values are UTC (``rds_content``), so ``UNIX_TIMESTAMP(col)`` is
  the instant seeded.

How it is emulated
------------------
One server per restored DB instance of engine ``mysql`` or ``mariadb`` (started by the
restore, in a background thread) and one per restored ``aurora-mysql`` (or legacy ``aurora``)
DB cluster (started when the first DB instance is created in it; every instance of the
cluster and the cluster's endpoints reach it). The request that starts it does not wait: the
thread copies a template data directory (``mariadb-install-db`` once per emulator process,
begun at startup in the background; its accounts reduced to ``rdsadmin@localhost`` without a
password, and the server runs with ``skip-name-resolve``, so ``localhost`` matches only the
Unix socket, which lives in the server's own 0700 directory), starts ``mariadbd`` as a child
process listening only on 127.0.0.1 at a free port (``skip-networking=0``; its socket, pid
file and temporary files in its own directory; InnoDB durability off, performance schema off:
nothing here needs durability), and loads it as ``rdsadmin`` with the ``mariadb`` client over
the socket, scripts on stdin: the master user ``'<master>'@'%'`` and ``'<master>'@'localhost'``
(locked until its password is set), its grants, the databases (``utf8mb4``), the tables with
their declared types (rebuilt from the parts ``rds_content`` validated: type name, whole-number
arguments, ``unsigned``/``signed``/``zerofill``; ``enum``/``set`` members re-quoted) and the
rows as multi-row ``INSERT``\\ s in which every value is a number Python rendered, a UTC
``'YYYY-MM-DD HH:MM:SS.ffffff'`` literal, ``X'<hex>'`` for bytes or ``_utf8mb4 X'<hex>'`` for
text: no byte of the data is parsed as SQL. MariaDB's default ``sql_mode`` is strict
(``STRICT_TRANS_TABLES``), so a value it cannot store fails the load. Last the master password
is set (``ALTER USER ... IDENTIFIED BY`` an escaped literal, ``ACCOUNT UNLOCK``; no password
known: ``ACCOUNT LOCK``), and only then is the server ``ready``. A server that cannot be
started or loaded is ``failed`` with the reason in ``error``, and its DB instance reports
status ``failed``.

Directories, the server user (``mysql``, else ``nobody``, when the emulator runs as root),
stopping (SIGTERM, then SIGKILL of its process group) on delete, ``POST /moto-api/reset`` and
exit, and the reaper after a SIGKILL are ``db_servers``'s, as for ``rds_postgres``; the base
directory is ``offsite-emulator-mysql-<pid>-*``.

Control
-------
``GET /_offsite/rds/mysql`` -> ``{"enabled", "bin_dir", "base_dir", "ca_certificate",
"servers": [{"account", "region", "kind": "instance" | "cluster", "identifier", "state":
"starting" | "ready" | "failed" | "stopping", "address", "port", "pid", "directory",
"error"}]}``: every server not yet stopped (a leak check waits for ``servers`` to be empty).
``bin_dir`` is the directory of the server binary.

Chosen / not emulated
---------------------
* The server is the MariaDB of ``--mysql-bin`` for every engine of the family, whatever the
  ``EngineVersion`` says: a ``mysql`` instance answers in MariaDB's dialect and
  ``SELECT VERSION()`` says MariaDB. Oracle MySQL's ``mysqld`` is not supported (it has no
  ``mysql_install_db``).
* Passwords use MariaDB's ``mysql_native_password`` (clients that default to
  ``caching_sha2_password`` switch when the server asks).
* ``--mysql-bin DIR``: ``DIR`` holds ``mariadbd`` (or ``mysqld``); ``mariadb-install-db``
  (``mysql_install_db``) and the ``mariadb`` (``mysql``) client are taken from ``DIR``, else
  ``PATH``, ``/usr/bin``, ``/usr/sbin``. ``auto`` looks for all three in ``PATH``,
  ``/usr/sbin`` and ``/usr/bin``.
* Content naming MariaDB's own databases (``mysql``, ``sys``, ``information_schema``,
  ``performance_schema``) fails the server: RDS keeps them for itself.
* A master user named ``rdsadmin`` (RDS refuses the name) gets only ``'rdsadmin'@'%'``.
* Only restored resources get a server; an Aurora cluster's server keeps running while the
  cluster exists, readers and the writer are the same server; what clients change through SQL
  is not captured by snapshots; parameter groups, binary logs, replication, IAM database
  authentication and RDS's ``mysql.rds_*`` procedures are not emulated.
"""

from __future__ import annotations

import logging
import math
import os
import re
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import db_servers, rds_content

log = logging.getLogger("offsite_emulator.rds_mysql")

ADDRESS = db_servers.ADDRESS
ADMIN = "rdsadmin"
# The attribute of the moto model (DB instance or DB cluster) naming its server.
TOKEN = "_offsite_mysql"
START_TIMEOUT_SECONDS = db_servers.START_TIMEOUT_SECONDS
SERVER_NAMES = ("mariadbd", "mysqld")
INSTALL_NAMES = ("mariadb-install-db", "mysql_install_db")
CLIENT_NAMES = ("mariadb", "mysql")
SEARCH_DIRS = ("/usr/sbin", "/usr/bin")
SYSTEM_DATABASES = ("mysql", "sys", "information_schema", "performance_schema")
# RDS User Guide, "Master user account privileges", RDS for MariaDB.
MASTER_PRIVILEGES = (
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "RELOAD", "PROCESS", "REFERENCES",
    "INDEX", "ALTER", "SHOW DATABASES", "CREATE TEMPORARY TABLES", "LOCK TABLES", "EXECUTE",
    "REPLICATION CLIENT", "CREATE VIEW", "SHOW VIEW", "CREATE ROUTINE", "ALTER ROUTINE",
    "CREATE USER", "EVENT", "TRIGGER", "REPLICATION SLAVE",
)
# InnoDB settings of the template and every server (small, no durability, no native AIO:
# sandboxes often refuse io_uring / AIO contexts).
INNODB_OPTIONS = ("--innodb-log-file-size=4M", "--innodb-use-native-aio=0")
# Run by mariadb-install-db in bootstrap mode: only rdsadmin@localhost (no password, the
# Unix socket only under skip-name-resolve) and MariaDB's own mariadb.sys remain.
TEMPLATE_SQL = """\
DELETE FROM mysql.global_priv WHERE NOT (Host = 'localhost' AND User IN ('root', 'mariadb.sys'));
DELETE FROM mysql.proxies_priv WHERE NOT (Host = 'localhost' AND User = 'root');
UPDATE mysql.global_priv SET User = 'rdsadmin' WHERE User = 'root' AND Host = 'localhost';
UPDATE mysql.proxies_priv SET User = 'rdsadmin' WHERE User = 'root' AND Host = 'localhost';
"""
# Rows per INSERT statement: up to about this many characters of SQL.
INSERT_BATCH_CHARACTERS = 1 << 20


@dataclass(frozen=True)
class Binaries:
    server: Path
    install_db: Path
    client: Path | None


class _Settings:
    binaries: Binaries | None = None

    @property
    def bin_dir(self) -> Path | None:
        return self.binaries.server.parent if self.binaries else None


SETTINGS = _Settings()


# --- configuration ---------------------------------------------------------------------------


def _path_dirs() -> list[str]:
    return [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]


def _first(names: tuple[str, ...], dirs: list[str]) -> Path | None:
    for directory in dirs:
        for name in names:
            candidate = Path(directory) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    return None


def find_binaries(hint: str | None = None) -> Binaries | None:
    """MariaDB's server and ``mariadb-install-db`` (and the client, None if absent): the
    server in ``hint`` if given (and only there), else in ``PATH``, ``/usr/sbin``,
    ``/usr/bin``; the tools beside it, else in those places."""
    elsewhere = [*_path_dirs(), *SEARCH_DIRS]
    server = _first(SERVER_NAMES, [hint] if hint is not None else elsewhere)
    if server is None:
        return None
    tools = [str(server.parent), *([hint] if hint is not None else []), *elsewhere]
    install_db = _first(INSTALL_NAMES, tools)
    if install_db is None:
        return None
    return Binaries(server, install_db, _first(CLIENT_NAMES, tools))


def configure(bin_dir: str | None) -> Path | None:
    """Turn the servers on (``bin_dir`` a directory with ``mariadbd``, or ``auto``) or off
    (None); the directory of the server binary. ValueError says what is missing."""
    if bin_dir is None:
        SETTINGS.binaries = None
        return None
    found = find_binaries(None if bin_dir == "auto" else bin_dir)
    where = "PATH, /usr/sbin or /usr/bin" if bin_dir == "auto" else bin_dir
    if found is None:
        raise ValueError(
            f"no MariaDB server binaries (mariadbd or mysqld, with mariadb-install-db or "
            f"mysql_install_db) in {where}"
        )
    if found.client is None:
        raise ValueError(f"no mariadb (or mysql) client beside {found.server} or on PATH")
    try:
        version = subprocess.run([str(found.server), "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        raise ValueError(f"{found.server} --version: {error}") from None
    if "mariadb" not in (version.stdout + version.stderr).lower():
        raise ValueError(f"{found.server} is not MariaDB's server (Oracle MySQL is not supported)")
    SETTINGS.binaries = Binaries(found.server.resolve(), found.install_db, found.client)
    return SETTINGS.bin_dir


def enabled() -> bool:
    return SETTINGS.binaries is not None


def prepare() -> None:
    """Build the template data directory now (the launcher calls it in the background at
    startup, so that the first restore does not wait for ``mariadb-install-db``)."""
    FAMILY.prepare()


def requires_secure_transport(engine: str, version: str | None) -> bool:
    """RDS's default ``require_secure_transport`` (see the docstring): ON for ``mysql`` 9.7
    and later and ``mariadb`` 11.8 and later, OFF for earlier versions and Aurora MySQL."""
    numbers = tuple(int(n) for n in re.findall(r"\d+", str(version or ""))[:2])
    numbers = (numbers + (0, 0))[:2]
    if engine == "mysql":
        return numbers >= (9, 7)
    if engine == "mariadb":
        return numbers >= (11, 8)
    return False


def _basedir() -> Path:
    """MariaDB's installation directory (``/usr`` for ``/usr/sbin/mariadbd``)."""
    assert SETTINGS.binaries is not None
    return SETTINGS.binaries.server.parent.parent


def _build_template(holder: Path) -> tuple[Path, Path | None]:
    """``mariadb-install-db`` into ``holder``/data (once per emulator process) and the
    certificate (``holder``/server.crt, server.key, read by every server)."""
    assert SETTINGS.binaries is not None
    data = holder / "data"
    script = holder / "template.sql"
    script.write_text(TEMPLATE_SQL)
    script.chmod(0o644)
    FAMILY.give(script)
    db_servers.run_group(
        [str(SETTINGS.binaries.install_db), "--no-defaults", f"--basedir={_basedir()}", f"--datadir={data}",
         "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve",
         f"--extra-file={script}", *INNODB_OPTIONS],
        cwd=holder, timeout=START_TIMEOUT_SECONDS, what="mariadb-install-db", user=FAMILY.as_server_user(),
    )
    certificate = db_servers.write_certificate(holder, holder.parent / "ca-certificate.pem", FAMILY.give, log)
    return data, certificate


FAMILY = db_servers.Family(
    name="mysql",
    label="MariaDB",
    program="mariadbd",
    users=("mysql", "nobody"),
    token=TOKEN,
    log=log,
    enabled=enabled,
    build_template=_build_template,
)


# --- SQL ------------------------------------------------------------------------------------


def quote_ident(name: str) -> str:
    """A MariaDB quoted identifier."""
    return "`" + name.replace("`", "``") + "`"


def quote_literal(text: str) -> str:
    """A MariaDB string literal (default ``sql_mode``: backslashes escape, so they are
    doubled; quotes doubled; NUL as ``\\0``)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''").replace("\0", "\\0") + "'"


def account(user: str, host: str) -> str:
    return f"{quote_literal(user)}@{quote_literal(host)}"


_PLAIN_TYPE = re.compile(r"[a-z]+( [a-z]+)*(\(\d+(,\d+)?\))?( (unsigned|signed|zerofill))*")
_MEMBERS = re.compile(r"\s*'(?:[^']|'')*'(?:\s*,\s*'(?:[^']|'')*')*\s*")


def sql_type(declared: str) -> str:
    """The column's declared type as SQL, rebuilt from what ``rds_content`` validated: a
    type name, whole-number arguments and modifiers; ``enum``/``set`` members re-quoted."""
    rds_content.column_type(rds_content.MYSQL, declared)
    text = declared.strip()
    open_at = text.find("(")
    name = " ".join((text[:open_at] if open_at >= 0 else text).lower().split())
    if name in ("enum", "set"):
        close_at = text.rfind(")")
        inner = text[open_at + 1 : close_at] if 0 <= open_at < close_at else ""
        if close_at < 0 or text[close_at + 1 :].strip() or not _MEMBERS.fullmatch(inner):
            raise ValueError(f"cannot use the type {declared!r} in SQL")
        members = [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", inner)]
        return f"{name}(" + ",".join(quote_literal(m) for m in members) + ")"
    compact = re.sub(r"\s*([(),])\s*", r"\1", " ".join(text.lower().split()))
    compact = re.sub(r"\)(?=[a-z])", ") ", compact)  # "int(10)unsigned" -> "int(10) unsigned"
    if not _PLAIN_TYPE.fullmatch(compact):
        raise ValueError(f"cannot use the type {declared!r} in SQL")
    return compact


def _text(value: str) -> str:
    return "_utf8mb4 X'" + value.encode("utf-8").hex() + "'"


def sql_value(ctype: rds_content.ColumnType, value: Any) -> str:
    """One value as a SQL literal in which no byte of the data is parsed as SQL: numbers
    rendered by Python, a UTC datetime literal, ``X'..'`` for bytes, ``_utf8mb4 X'..'`` for
    text; ``NULL`` for null. ValueError for what MariaDB cannot hold (NaN, infinities)."""
    if value is None:
        return "NULL"
    converted = rds_content.convert(ctype, value)
    if isinstance(converted, bool):
        return "1" if converted else "0"
    if isinstance(converted, int):
        return str(converted)
    if isinstance(converted, float):
        if not math.isfinite(converted):
            raise ValueError(f"{converted!r}: MariaDB stores no NaN or infinite {ctype.declared}")
        return repr(converted)
    if isinstance(converted, Decimal):
        return format(converted, "f")
    if isinstance(converted, bytes):
        return "X'" + converted.hex() + "'"
    if isinstance(converted, datetime):
        return "'" + converted.strftime("%Y-%m-%d %H:%M:%S.%f") + "'"
    if ctype.kind == "decimal":  # a decimal beyond Parquet's precision, kept as its string
        return format(Decimal(str(converted)), "f")
    return _text(str(converted))


def database_script(database: dict[str, Any]) -> str:
    """The SQL that creates one database's tables and loads their rows (run as
    ``rdsadmin`` once the database exists)."""
    lines = ["SET NAMES utf8mb4;", "SET time_zone = '+00:00';", f"USE {quote_ident(database['name'])};"]
    for table in database.get("tables", []):
        target = quote_ident(table["name"])
        types = [rds_content.column_type(rds_content.MYSQL, c["type"]) for c in table["columns"]]
        columns = ", ".join(f"{quote_ident(c['name'])} {sql_type(c['type'])}" for c in table["columns"])
        lines.append(f"CREATE TABLE {target} ({columns}) CHARACTER SET utf8mb4;")
        names = ", ".join(quote_ident(c["name"]) for c in table["columns"])
        batch: list[str] = []
        size = 0
        for row in table.get("rows", []):
            values = "(" + ", ".join(sql_value(t, v) for t, v in zip(types, row)) + ")"
            batch.append(values)
            size += len(values)
            if size >= INSERT_BATCH_CHARACTERS:
                lines.append(f"INSERT INTO {target} ({names}) VALUES\n" + ",\n".join(batch) + ";")
                batch, size = [], 0
        if batch:
            lines.append(f"INSERT INTO {target} ({names}) VALUES\n" + ",\n".join(batch) + ";")
    return "\n".join(lines) + "\n"


# --- servers ---------------------------------------------------------------------------------


class Server(db_servers.Server):
    """One MariaDB server of a DB instance or DB cluster."""

    LOG_NAME = "mariadb.log"
    SHUTDOWN_SIGNAL = signal.SIGTERM  # normal shutdown

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
        require_secure_transport: bool,
    ) -> None:
        super().__init__(FAMILY, token, kind, account, region, identifier, master_username, password_source,
                         content)
        self.require_secure_transport = require_secure_transport

    def hosts(self) -> tuple[str, ...]:
        """The master user's accounts' hosts (``rdsadmin@localhost`` is the administrator)."""
        return ("%",) if self.master_username == ADMIN else ("%", "localhost")

    # -- the mariadb client -------------------------------------------------------------------

    def socket_path(self) -> Path:
        assert self.directory is not None
        return self.directory / "mysqld.sock"

    def sql(self, script: str) -> str:
        """Run ``script`` as ``rdsadmin`` over the server's Unix socket (stops at the first
        error: RuntimeError with the client's message)."""
        assert SETTINGS.binaries is not None and SETTINGS.binaries.client is not None
        args = [str(SETTINGS.binaries.client), "--no-defaults", "--protocol=SOCKET",
                f"--socket={self.socket_path()}", f"--user={ADMIN}", "--batch", "--skip-column-names",
                "--default-character-set=utf8mb4", "--connect-timeout=10"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL", "MARIADB"))}
        out = subprocess.run(args, input=script.encode(), capture_output=True, env=env,
                             timeout=START_TIMEOUT_SECONDS)
        if out.returncode != 0:
            raise RuntimeError(f"mariadb failed: {out.stderr.decode(errors='replace')[-2000:]}")
        return out.stdout.decode(errors="replace")

    # -- the server ---------------------------------------------------------------------------

    def prepare_directory(self, template: Path, directory: Path) -> None:
        subprocess.run(["cp", "-a", str(template), str(directory / "data")], check=True, capture_output=True,
                       **FAMILY.as_server_user())

    def launch(self, directory: Path, port: int, server_log: Any) -> subprocess.Popen[bytes]:
        assert SETTINGS.binaries is not None
        args = [
            str(SETTINGS.binaries.server), "--no-defaults", f"--basedir={_basedir()}",
            f"--datadir={directory / 'data'}", f"--socket={self.socket_path()}",
            f"--pid-file={directory / 'mysqld.pid'}", f"--tmpdir={directory}",
            f"--port={port}", f"--bind-address={ADDRESS}", "--skip-networking=0", "--skip-name-resolve",
            "--default-time-zone=+00:00", "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci", "--max-connections=30", "--performance-schema=OFF",
            "--innodb-buffer-pool-size=32M", "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
            "--local-infile=0", *INNODB_OPTIONS,
        ]
        certificate = FAMILY.ca_certificate
        if certificate is not None:
            assert FAMILY.template is not None
            holder = FAMILY.template.parent  # server.crt / server.key, ca.crt (the emulator's CA)
            args += [f"--ssl-ca={holder / 'ca.crt'}", f"--ssl-cert={holder / 'server.crt'}",
                     f"--ssl-key={holder / 'server.key'}"]
        require = "ON" if self.require_secure_transport and certificate is not None else "OFF"
        args.append(f"--require-secure-transport={require}")
        return subprocess.Popen(
            args, cwd=directory, stdin=subprocess.DEVNULL, stdout=server_log,
            stderr=subprocess.STDOUT, start_new_session=True, **FAMILY.as_server_user(),
        )

    def ping(self, directory: Path, port: int) -> bool:
        if not self.socket_path().exists():
            return False
        try:
            self.sql("SELECT 1;")
            return True
        except RuntimeError:
            return False

    def load(self) -> None:
        master = self.master_username
        if not master:
            raise RuntimeError("the resource has no master username")
        for database in self.content:
            if database["name"].lower() in SYSTEM_DATABASES:
                raise RuntimeError(f"database {database['name']!r} is MariaDB's own: RDS keeps it for itself")
        accounts = [account(master, host) for host in self.hosts()]
        setup = ["SET NAMES utf8mb4;"]
        setup += [f"CREATE USER {a} ACCOUNT LOCK;" for a in accounts]
        setup.append(f"GRANT {', '.join(MASTER_PRIVILEGES)} ON *.* TO {', '.join(accounts)} WITH GRANT OPTION;")
        setup += [f"CREATE DATABASE {quote_ident(d['name'])} CHARACTER SET utf8mb4;" for d in self.content]
        self.sql("\n".join(setup) + "\n")
        for database in self.content:
            self.check()
            try:
                self.sql(database_script(database))
            except RuntimeError as error:
                raise RuntimeError(f"loading database {database['name']!r}: {error}") from None

    def set_password(self, password: str | None) -> None:
        """Set the master user's password (under ``self.lock``); None locks the accounts."""
        accounts = [account(self.master_username, host) for host in self.hosts()]
        if password is None:
            statement = f"ALTER USER {', '.join(accounts)} ACCOUNT LOCK;"
        else:
            literal = quote_literal(password)
            statement = "ALTER USER " + ", ".join(f"{a} IDENTIFIED BY {literal}" for a in accounts) + " ACCOUNT UNLOCK;"
        self.sql("SET NAMES utf8mb4;\n" + statement + "\n")


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
    require_secure_transport: bool,
) -> db_servers.Server | None:
    """Start the server of a DB instance or cluster (moto model ``resource``) in the
    background, unless it has one; None when servers are off."""
    return FAMILY.start(resource, identifier, lambda token: Server(
        token, kind, account, region, identifier, master_username, password_source, content,
        require_secure_transport,
    ))







def stop_all() -> None:
    """Stop every server and wait for them (moto reset, exit)."""
    FAMILY.stop_all()


def shutdown() -> None:
    """At exit: stop every server, remove the emulator's MariaDB directory, let the reaper
    go (once the PostgreSQL servers are gone too)."""
    FAMILY.shutdown()


def report() -> dict[str, Any]:
    """``GET /_offsite/rds/mysql``."""
    return FAMILY.report(SETTINGS.bin_dir)
