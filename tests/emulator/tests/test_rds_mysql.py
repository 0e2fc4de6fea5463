"""Restore tests of the MySQL family against the emulator with real MariaDB servers
(``patches/rds_mysql.py``, ``--mysql-bin``): a restored RDS for MariaDB / MySQL DB instance
serving its snapshot's rows to the master user over TLS verified against the emulator's
certificate, with the managed secret's password once ManageMasterUserPassword is on and the
rotated one after RotateMasterUserPassword; connections without TLS refused where RDS's
default ``require_secure_transport`` is ON; an Aurora MySQL cluster restored and served
through the instance created in it and through its endpoints; a load MariaDB refuses; the
server's end with its resource, on reset and when the emulator is killed (the reaper ending
the PostgreSQL servers too); and, without servers, how types and values become SQL.

Most tests run moto in-process (``mock_aws``) with the patches, like test_rds_restore.py,
whose fixtures they use; the launcher's own paths (``--mysql-bin``, ``GET
/_offsite/rds/mysql``, ``POST /moto-api/reset``, SIGKILL) run a real emulator process. The
server tests skip only when no MariaDB server binaries (and client) are installed.

    .venv/bin/python -m unittest discover -s tests/emulator/tests
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import unittest
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3  # noqa: E402

import test_rds_restore as restore  # noqa: E402
from patches import rds_content, rds_mysql, rds_postgres  # noqa: E402
from patches.state import CONFIG, run_reset_hooks  # noqa: E402

A = restore.A
REGION = restore.REGION
EMULATOR = restore.EMULATOR

BINARIES = rds_mysql.find_binaries()
NO_MARIADB = "MariaDB server binaries (mariadbd, mariadb-install-db) and the mariadb client are not installed"
HAVE_MARIADB = BINARIES is not None and BINARIES.client is not None
CLIENT = str(BINARIES.client) if BINARIES is not None and BINARIES.client is not None else "mariadb"

NOTE = "tab\there, 'quoted', back\\slash\nnewline; \\'; DELETE FROM orders; -- `x`"
ORDERS = {
    "name": "orders",
    "columns": [
        {"name": "id", "type": "int unsigned"},
        {"name": "placed_at", "type": "datetime(6)"},
        {"name": "total", "type": "decimal(10,2)"},
        {"name": "note", "type": "text"},
        {"name": "meta", "type": "json"},
        {"name": "blob", "type": "blob"},
        {"name": "status", "type": "enum('new','it''s done')"},
        {"name": "paid", "type": "tinyint(1)"},
        {"name": "day", "type": "date"},
    ],
    "rows": [
        [1, "2026-01-02 03:04:05", "12.5", NOTE, {"a": [1, 2]}, "AAH/", "new", True, "2026-01-02"],
        [2, "2026-03-04 05:06:07.250000", 3, None, None, None, "it's done", False, None],
        [3, "2026-02-01 00:00:00", "0.01", "Robert'); DROP TABLE orders;--", "\"text\"", "", None, None,
         "2026-02-01"],
    ],
}
CONTENT = [
    {"name": "shop", "tables": [
        ORDERS,
        {"name": "events", "columns": [{"name": "id", "type": "bigint"}, {"name": "at", "type": "timestamp"}],
         "rows": [[i, f"2026-01-01 00:{i // 60:02d}:{i % 60:02d}"] for i in range(250)]},
    ]},
    {"name": "cr`m db", "tables": [
        {"name": "con tacts", "columns": [{"name": "na`me", "type": "varchar(40)"}],
         "rows": [["Ada"], ["Grâce 🙂"]]},
    ]},
]
# MAX(placed_at) as the instant seeded (UTC).
LATEST = datetime(2026, 3, 4, 5, 6, 7, 250000, tzinfo=timezone.utc).timestamp()


def mariadb(port: int, user: str, password: str, sql: str, *, ca: str | None = None,
            database: str = "shop") -> subprocess.CompletedProcess[str]:
    """The ``mariadb`` client over TCP: TLS verifying the server against ``ca``, or no TLS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL", "MARIADB"))}
    env["MYSQL_PWD"] = password
    tls = ["--ssl", f"--ssl-ca={ca}", "--ssl-verify-server-cert"] if ca else ["--skip-ssl"]
    return subprocess.run(
        [CLIENT, "--no-defaults", "--protocol=TCP", "--host=127.0.0.1", f"--port={port}", f"--user={user}",
         f"--database={database}", "--batch", "--skip-column-names", "--default-character-set=utf8mb4",
         "--connect-timeout=10", *tls, "--execute", sql],
        env=env, capture_output=True, text=True, timeout=60,
    )


class MysqlEmulated(restore.Emulated):
    """moto in-process with the patches and MariaDB servers on (no copy delay)."""

    def setUp(self) -> None:
        super().setUp()
        self.addCleanup(rds_mysql.stop_all)
        rds_mysql.configure("auto")
        self.addCleanup(rds_mysql.configure, None)
        CONFIG.copy_delay_seconds = 0.0

    def mysql_source(self, identifier: str = "shop", engine: str = "mariadb", version: str = "11.8.3",
                     content: Any = None) -> None:
        self.rds.create_db_instance(
            DBInstanceIdentifier=identifier, DBInstanceClass="db.t3.micro", Engine=engine, EngineVersion=version,
            MasterUsername="offsite", MasterUserPassword="source-password-1", AllocatedStorage=20,
        )
        if content is not None:
            rds_content.set_content({"account": A, "region": REGION, "kind": "instance", "identifier": identifier,
                                     "databases": content})

    def available(self, identifier: str) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            answer = self.instance(identifier)
            self.assertIn(answer["DBInstanceStatus"], ("creating", "available"), answer.get("DBInstanceStatus"))
            return answer if answer["DBInstanceStatus"] == "available" else None

        return dict(restore.wait_for(f"{identifier} to be available", ready))

    def servers_gone(self, pids: list[int], directories: list[str]) -> None:
        restore.wait_for("the servers to stop", lambda: rds_mysql.report()["servers"] == [])
        restore.wait_for("their processes to end", lambda: not any(restore.pid_alive(p) for p in pids))
        for directory in directories:
            self.assertFalse(Path(directory).exists(), directory)


@unittest.skipUnless(HAVE_MARIADB, NO_MARIADB)
class MysqlServers(MysqlEmulated):
    def test_the_restored_instance_serves_the_snapshot_data(self) -> None:
        self.mysql_source(content=CONTENT)
        self.snapshot()
        restored = self.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="restore-test", DBSnapshotIdentifier="shop-1", DeletionProtection=False,
            PubliclyAccessible=False, DBInstanceClass="db.t3.micro")["DBInstance"]
        # Available only once the server accepts connections, even with no copy delay.
        self.assertEqual(restored["DBInstanceStatus"], "creating")
        self.assertNotIn("Endpoint", restored)
        endpoint = self.available("restore-test")["Endpoint"]
        self.assertEqual(endpoint["Address"], "127.0.0.1")
        port = int(endpoint["Port"])
        report = rds_mysql.report()
        self.assertTrue(report["enabled"])
        [server] = report["servers"]
        self.assertEqual((server["kind"], server["identifier"], server["state"], server["port"]),
                         ("instance", "restore-test", "ready", port))
        self.assertEqual(rds_postgres.report()["servers"], [])
        ca = str(report["ca_certificate"])
        # The source's master password (what the snapshot holds) works over TLS verified
        # against the emulator's certificate; a wrong one does not.
        out = mariadb(port, "offsite", "source-password-1", "SELECT COUNT(*) FROM orders", ca=ca)
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "3"), out.stderr)
        wrong = mariadb(port, "offsite", "not-the-password", "SELECT 1", ca=ca)
        self.assertNotEqual(wrong.returncode, 0)
        self.assertIn("Access denied", wrong.stderr)
        # RDS for MariaDB 11.8: require_secure_transport ON, no connection without TLS.
        plain = mariadb(port, "offsite", "source-password-1", "SELECT 1")
        self.assertNotEqual(plain.returncode, 0)
        self.assertIn("Access denied", plain.stderr)
        # The managed secret's password replaces it.
        arn = self.rds.modify_db_instance(DBInstanceIdentifier="restore-test", ManageMasterUserPassword=True,
                                          ApplyImmediately=True)["DBInstance"]["MasterUserSecret"]["SecretArn"]
        credentials = json.loads(self.secrets.get_secret_value(SecretId=arn)["SecretString"])
        self.assertEqual(credentials["username"], "offsite")
        self.assertNotEqual(mariadb(port, "offsite", "source-password-1", "SELECT 1", ca=ca).returncode, 0)
        user, password = credentials["username"], credentials["password"]
        queries = {
            "SELECT COUNT(*) FROM orders": "3",
            "SELECT COUNT(*) FROM events": "250",
            "SELECT UNIX_TIMESTAMP(MAX(placed_at)) FROM orders": f"{LATEST:.6f}",
            "SELECT UNIX_TIMESTAMP(MAX(`at`)) FROM events": str(int(datetime(
                2026, 1, 1, 0, 4, 9, tzinfo=timezone.utc).timestamp())),
            "SELECT SUM(total) FROM orders": "15.51",
            "SELECT note FROM orders WHERE id = 3": "Robert'); DROP TABLE orders;--",
            "SELECT HEX(note) = HEX(" + rds_mysql.quote_literal(NOTE) + ") FROM orders WHERE id = 1": "1",
            "SELECT JSON_EXTRACT(meta, '$.a[1]') FROM orders WHERE id = 1": "2",
            "SELECT meta FROM orders WHERE id = 3": "\"text\"",
            "SELECT HEX(`blob`) FROM orders WHERE id = 1": "0001FF",
            "SELECT LENGTH(`blob`) FROM orders WHERE id = 3": "0",
            "SELECT id FROM orders WHERE status = 'it''s done'": "2",
            "SELECT COUNT(*) FROM orders WHERE paid": "1",
            "SELECT DATE_FORMAT(MAX(day), '%Y-%m-%d') FROM orders": "2026-02-01",
            "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_NAME = 'orders' AND COLUMN_NAME = 'id'":
                "int(10) unsigned",
            "SELECT HEX(`na``me`) FROM `cr``m db`.`con tacts` ORDER BY 1 DESC LIMIT 1":
                "Grâce 🙂".encode().hex().upper(),
            "SELECT CURRENT_USER()": "offsite@%",
        }
        for sql, expected in queries.items():
            out = mariadb(port, user, password, sql, ca=ca)
            self.assertEqual((out.returncode, out.stdout.strip()), (0, expected), f"{sql}: {out.stderr}")
        # The master user has RDS's privileges, not SUPER (nor FILE).
        grants = mariadb(port, user, password, "SHOW GRANTS", ca=ca)
        self.assertIn("SHOW DATABASES", grants.stdout)
        self.assertIn("WITH GRANT OPTION", grants.stdout)
        self.assertNotIn("SUPER", grants.stdout)
        self.assertNotIn("FILE", grants.stdout)
        self.assertNotIn("ALL PRIVILEGES", grants.stdout)
        # Rotation sets the new password in the database.
        self.rds.modify_db_instance(DBInstanceIdentifier="restore-test", RotateMasterUserPassword=True,
                                    ApplyImmediately=True)
        rotated = json.loads(self.secrets.get_secret_value(SecretId=arn)["SecretString"])["password"]
        self.assertNotEqual(rotated, password)
        self.assertEqual(mariadb(port, user, rotated, "SELECT 1", ca=ca).returncode, 0)
        self.assertNotEqual(mariadb(port, user, password, "SELECT 1", ca=ca).returncode, 0)
        # Deleting the instance stops the server and removes its directory.
        self.rds.delete_db_instance(DBInstanceIdentifier="restore-test", SkipFinalSnapshot=True)
        self.servers_gone([int(server["pid"])], [str(server["directory"])])

    def test_mysql_8_accepts_connections_without_tls(self) -> None:
        self.mysql_source(engine="mysql", version="8.0.40", content=CONTENT[1:])
        self.snapshot()
        self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="restore-test",
                                                      DBSnapshotIdentifier="shop-1")
        port = int(self.available("restore-test")["Endpoint"]["Port"])
        ca = str(rds_mysql.report()["ca_certificate"])
        for tls in (None, ca):
            out = mariadb(port, "offsite", "source-password-1", "SELECT COUNT(*) FROM `con tacts`", ca=tls,
                          database="cr`m db")
            self.assertEqual((out.returncode, out.stdout.strip()), (0, "2"), out.stderr)

    def test_an_aurora_mysql_cluster_is_served_through_its_instance_and_endpoints(self) -> None:
        self.rds.create_db_cluster(
            DBClusterIdentifier="ledger", Engine="aurora-mysql", EngineVersion="8.0.mysql_aurora.3.05.2",
            MasterUsername="offsite", MasterUserPassword="source-password-1", DeletionProtection=False,
        )
        rds_content.set_content({"account": A, "region": REGION, "kind": "cluster", "identifier": "ledger",
                                 "databases": CONTENT[:1]})
        self.cluster_snapshot()
        self.rds.restore_db_cluster_from_snapshot(DBClusterIdentifier="restore-test", SnapshotIdentifier="ledger-1",
                                                  Engine="aurora-mysql", DeletionProtection=False)
        self.assertEqual(rds_mysql.report()["servers"], [])  # no instance yet
        self.rds.create_db_instance(DBInstanceIdentifier="restore-test-1", DBClusterIdentifier="restore-test",
                                    Engine="aurora-mysql", DBInstanceClass="db.t4g.medium")
        endpoint = self.available("restore-test-1")["Endpoint"]
        cluster = self.cluster("restore-test")
        self.assertEqual((cluster["Endpoint"], cluster["ReaderEndpoint"]), ("127.0.0.1", "127.0.0.1"))
        self.assertEqual(cluster["Port"], endpoint["Port"])
        port = int(cluster["Port"])
        # Aurora MySQL: require_secure_transport OFF.
        out = mariadb(port, "offsite", "source-password-1", "SELECT COUNT(*), UNIX_TIMESTAMP(MAX(placed_at)) FROM orders")
        self.assertEqual((out.returncode, out.stdout.strip()), (0, f"3\t{LATEST:.6f}"), out.stderr)
        arn = self.rds.modify_db_cluster(DBClusterIdentifier="restore-test", ManageMasterUserPassword=True,
                                         ApplyImmediately=True)["DBCluster"]["MasterUserSecret"]["SecretArn"]
        password = json.loads(self.secrets.get_secret_value(SecretId=arn)["SecretString"])["password"]
        ca = str(rds_mysql.report()["ca_certificate"])
        out = mariadb(port, "offsite", password, "SELECT COUNT(*) FROM events", ca=ca)
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "250"), out.stderr)
        [server] = rds_mysql.report()["servers"]
        self.assertEqual((server["kind"], server["identifier"]), ("cluster", "restore-test"))
        self.rds.delete_db_instance(DBInstanceIdentifier="restore-test-1")
        self.assertEqual(rds_mysql.report()["servers"][0]["state"], "ready")  # the cluster's, still there
        self.rds.delete_db_cluster(DBClusterIdentifier="restore-test", SkipFinalSnapshot=True)
        self.servers_gone([int(server["pid"])], [str(server["directory"])])

    def test_data_the_server_refuses_fails_the_instance(self) -> None:
        bad = [{"name": "shop", "tables": [{"name": "days", "columns": [{"name": "day", "type": "date"}],
                                            "rows": [["not a date"]]}]}]
        self.mysql_source(content=bad)
        self.snapshot()
        with self.assertLogs("offsite_emulator.rds_mysql", "ERROR") as logged:
            self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="restore-test",
                                                          DBSnapshotIdentifier="shop-1")
            restore.wait_for("the restore to fail",
                             lambda: self.instance("restore-test")["DBInstanceStatus"] == "failed")
        self.assertIn("restore-test failed", logged.output[0])
        [server] = rds_mysql.report()["servers"]
        self.assertEqual(server["state"], "failed")
        self.assertIn("not a date", server["error"])
        self.rds.delete_db_instance(DBInstanceIdentifier="restore-test", SkipFinalSnapshot=True)
        restore.wait_for("the server to be gone", lambda: rds_mysql.report()["servers"] == [])

    def test_reset_stops_every_server(self) -> None:
        self.mysql_source(content=CONTENT[1:])
        self.snapshot()
        for name in ("one", "two"):
            self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=name, DBSnapshotIdentifier="shop-1")
        self.available("one")
        servers = rds_mysql.report()["servers"]
        self.assertEqual(len(servers), 2)
        run_reset_hooks()  # what POST /moto-api/reset runs after moto's own reset
        self.assertEqual(rds_mysql.report()["servers"], [])
        self.servers_gone([int(s["pid"]) for s in servers if s["pid"]], [str(s["directory"]) for s in servers])


class MysqlSql(unittest.TestCase):
    """Types and values as SQL (no server)."""

    def test_types_are_rebuilt_from_their_validated_parts(self) -> None:
        cases = {
            "int unsigned": "int unsigned",
            "INT (10)  UNSIGNED": "int(10) unsigned",
            "decimal(10, 2)": "decimal(10,2)",
            "tinyint(1)": "tinyint(1)",
            "double precision": "double precision",
            "datetime(6)": "datetime(6)",
            "enum('a','it''s', 'b\\c')": "enum('a','it''s','b\\\\c')",
            "SET('x','y')": "set('x','y')",
        }
        for declared, expected in cases.items():
            self.assertEqual(rds_mysql.sql_type(declared), expected, declared)
        for smuggled in ("enum('a'), evil int", "enum('a') unsigned", "int; DROP TABLE x"):
            with self.assertRaises(ValueError, msg=smuggled):
                rds_mysql.sql_type(smuggled)

    def test_values_carry_no_data_as_sql(self) -> None:
        def value(declared: str, given: Any) -> str:
            return rds_mysql.sql_value(rds_content.column_type(rds_content.MYSQL, declared), given)

        self.assertEqual(value("text", "a'); DROP TABLE t; --"), "_utf8mb4 X'" + b"a'); DROP TABLE t; --".hex() + "'")
        self.assertEqual(value("varchar(4)", ""), "_utf8mb4 X''")
        self.assertEqual(value("blob", "AAH/"), "X'0001ff'")
        self.assertEqual(value("decimal(10,2)", 3), "3.00")
        self.assertEqual(value("bigint unsigned", 2**64 - 1), "18446744073709551615")
        self.assertEqual(value("tinyint(1)", True), "1")
        self.assertEqual(value("double", 0.5), "0.5")
        self.assertEqual(value("datetime", "2026-01-02 03:04:05.5"), "'2026-01-02 03:04:05.500000'")
        self.assertEqual(value("json", {"a": "'"}), "_utf8mb4 X'" + b'{"a": "\'"}'.hex() + "'")
        self.assertEqual(value("int", None), "NULL")
        with self.assertRaises(ValueError):
            value("double", float("nan"))
        self.assertEqual(rds_mysql.quote_literal("a\\b'c\0"), "'a\\\\b''c\\0'")
        self.assertEqual(rds_mysql.quote_ident("a`b"), "`a``b`")

    def test_require_secure_transport_follows_the_engine_and_version(self) -> None:
        cases = [
            ("mysql", "8.0.40", False), ("mysql", "8.4.5", False), ("mysql", "9.7.0", True),
            ("mariadb", "10.11.9", False), ("mariadb", "11.4.5", False), ("mariadb", "11.8.3", True),
            ("aurora-mysql", "8.0.mysql_aurora.3.05.2", False), ("aurora", "5.6.10a", False),
        ]
        for engine, version, expected in cases:
            self.assertIs(rds_mysql.requires_secure_transport(engine, version), expected, (engine, version))


class MysqlLauncherFlag(unittest.TestCase):
    def test_a_directory_without_mariadb_is_refused(self) -> None:
        import offsite_emulator

        with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()) as usage:
            offsite_emulator.parse_args(["--mysql-bin", "/nonexistent"])
        self.assertIn("--mysql-bin: no MariaDB server binaries", usage.getvalue())
        self.assertIsNone(offsite_emulator.parse_args([]).mysql_bin)
        self.assertFalse(rds_mysql.enabled())

    @unittest.skipUnless(HAVE_MARIADB, NO_MARIADB)
    def test_a_directory_with_the_server_finds_the_tools_beside_it_or_on_path(self) -> None:
        import offsite_emulator

        assert BINARIES is not None
        self.addCleanup(rds_mysql.configure, None)
        directory = str(BINARIES.server.parent)
        self.assertEqual(offsite_emulator.parse_args(["--mysql-bin", directory]).mysql_bin,
                         str(BINARIES.server.resolve().parent))
        self.assertTrue(rds_mysql.enabled())
        self.assertEqual(rds_mysql.report()["bin_dir"], str(BINARIES.server.resolve().parent))


@unittest.skipUnless(HAVE_MARIADB, NO_MARIADB)
class MysqlLauncherProcess(restore.LauncherCase, unittest.TestCase):
    """The real emulator process with ``--mysql-bin auto`` (and ``--postgres-bin auto`` when
    PostgreSQL is installed): the control call, reset, and nothing left behind when it is
    killed with SIGKILL (as the Rust harness stops it)."""

    def flags(self) -> list[str]:
        return ["--mysql-bin", "auto"] + (["--postgres-bin", "auto"] if restore.HAVE_POSTGRES else [])

    def restore(self, name: str, snapshot: str = "shop-1") -> dict[str, Any]:
        self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=name, DBSnapshotIdentifier=snapshot)
        answer = restore.wait_for(f"{name} to be available", lambda: [
            i for i in self.rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"]
            if i["DBInstanceStatus"] == "available"])
        return dict(answer[0])

    def seed(self, identifier: str = "shop", engine: str = "mysql", version: str = "8.4.5",
             content: Any = CONTENT) -> None:
        self.rds.create_db_instance(DBInstanceIdentifier=identifier, DBInstanceClass="db.t3.micro", Engine=engine,
                                    EngineVersion=version, MasterUsername="offsite",
                                    MasterUserPassword="source-password-1", AllocatedStorage=20)
        self.control("/_offsite/rds/content", {"account": A, "region": REGION, "kind": "instance",
                                               "identifier": identifier, "databases": content})
        self.rds.create_db_snapshot(DBInstanceIdentifier=identifier, DBSnapshotIdentifier=f"{identifier}-1")

    def test_report_reset_and_kill(self) -> None:
        self.assertEqual(self.control("/_offsite/rds/mysql")["servers"], [])
        self.seed()
        endpoint = self.restore("restore-test")["Endpoint"]
        report = self.control("/_offsite/rds/mysql")
        self.assertEqual(set(report), {"enabled", "bin_dir", "base_dir", "ca_certificate", "servers"})
        self.assertTrue(report["enabled"])
        [server] = report["servers"]
        self.assertEqual(set(server), {"account", "region", "kind", "identifier", "state", "address", "port",
                                       "pid", "directory", "error"})
        self.assertEqual((server["state"], server["port"]), ("ready", endpoint["Port"]))
        out = mariadb(int(endpoint["Port"]), "offsite", "source-password-1", "SELECT COUNT(*) FROM events",
                      ca=report["ca_certificate"])
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "250"), out.stderr)
        # POST /moto-api/reset stops it before answering.
        urllib.request.urlopen(urllib.request.Request(self.endpoint + "/moto-api/reset", method="POST"), timeout=60)
        self.assertEqual(self.control("/_offsite/rds/mysql")["servers"], [])
        self.assertFalse(restore.pid_alive(int(server["pid"])))
        self.assertFalse(Path(server["directory"]).exists())
        # Killed with SIGKILL: the reaper ends every server, MariaDB's and PostgreSQL's, and
        # removes their directories.
        self.seed()
        self.restore("again")
        reports = [self.control("/_offsite/rds/mysql")]
        if restore.HAVE_POSTGRES:
            self.seed("pg", "postgres", "14.9", restore.CONTENT[1:])
            self.restore("again-pg", "pg-1")
            reports.append(self.control("/_offsite/rds/postgres"))
        pids = [int(s["pid"]) for r in reports for s in r["servers"]]
        self.assertEqual(len(pids), len(reports))
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        for pid in pids:
            restore.wait_for("the killed emulator's servers to end", lambda: not restore.pid_alive(pid), deadline=30)
        for r in reports:
            restore.wait_for("its directories to be removed", lambda: not Path(r["base_dir"]).exists(), deadline=30)
            left = subprocess.run(["pgrep", "-f", r["base_dir"]], capture_output=True, text=True).stdout
            self.assertEqual(left.strip(), "")


def tearDownModule() -> None:
    rds_mysql.shutdown()


if __name__ == "__main__":
    unittest.main()
