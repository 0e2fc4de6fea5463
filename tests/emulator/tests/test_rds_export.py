"""What RDS databases hold (``patches/rds_content.py``) and the snapshot export to S3 that
writes it out (``patches/rds_export.py``), against moto's in-process backends (``mock_aws``):
content seeding and its validation, snapshot capture, copies and restores carrying content,
full and partial exports of a PostgreSQL instance snapshot and an Aurora MySQL cluster
snapshot read back with pyarrow, export_tables_info / export_info, every refusal of
StartExportTask, the limits, progress over the copy delay, the completion re-check,
DescribeExportTasks filters and paging, CancelExportTask, and the control call.

The enforced-IAM paths (a caller that is an IAM role of its account) need the middleware of
the server; here they are tested through the functions it calls (``iam_enforce.decide`` for
iam:PassRole, ``rds_export.start_export`` with an enforced caller for the key permissions).
The Rust integration tests cover them against the running emulator.

    .venv/bin/python -m unittest discover -s tests/emulator/tests
"""

from __future__ import annotations

import base64
import io
import json
import sys
import unittest
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.iam.models import iam_backends  # noqa: E402
from moto.moto_api._internal.models import moto_api_backend  # noqa: E402
from moto.rds.models import RDSBackend, rds_backends  # noqa: E402

from patches import aws_backup, iam_enforce, rds_content, rds_cross_account, rds_export  # noqa: E402
from patches.iam_policy import Principal  # noqa: E402
from patches.state import CONFIG  # noqa: E402

A = "123456789012"  # moto's default account: the caller
B = "333333333333"
REGION = "us-east-1"
WEST = "us-west-2"

# Shared snapshots (cross-account copies by ARN) need rds_cross_account; apply it once,
# before rds_content (whose copy wrappers read the result of the whole chain).
if not hasattr(RDSBackend.get_snapshot, "__wrapped__"):
    rds_cross_account.apply()
rds_content.apply()
rds_export.apply()


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


TRUST = doc({"Effect": "Allow", "Principal": {"Service": "export.rds.amazonaws.com"}, "Action": "sts:AssumeRole"})
EXPORT_ACTIONS = ["s3:PutObject*", "s3:GetObject*", "s3:ListBucket", "s3:DeleteObject*", "s3:GetBucketLocation"]


def role_policy(*buckets: str, actions: list[str] | None = None) -> str:
    resources = [r for b in buckets for r in (f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*")]
    return doc({"Effect": "Allow", "Action": actions or EXPORT_ACTIONS, "Resource": resources})


def code(call: Any) -> str:
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "ok"


def error_of(call: Any) -> tuple[str, str, int]:
    try:
        call()
    except ClientError as error:
        return (
            str(error.response["Error"]["Code"]),
            str(error.response["Error"]["Message"]),
            int(error.response["ResponseMetadata"]["HTTPStatusCode"]),
        )
    raise AssertionError("the call succeeded")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


PG_ORDERS = {
    "schema": "public",
    "name": "orders",
    "columns": [
        {"name": "id", "type": "integer"},
        {"name": "customer", "type": "bigint"},
        {"name": "qty", "type": "smallint"},
        {"name": "total", "type": "numeric(10,2)"},
        {"name": "placed_at", "type": "timestamp without time zone"},
        {"name": "shipped_at", "type": "timestamp with time zone"},
        {"name": "day", "type": "date"},
        {"name": "note", "type": "text"},
        {"name": "code", "type": "character varying(20)"},
        {"name": "paid", "type": "boolean"},
        {"name": "meta", "type": "jsonb"},
        {"name": "ref", "type": "uuid"},
        {"name": "ratio", "type": "double precision"},
        {"name": "score", "type": "real"},
        {"name": "blob", "type": "bytea"},
        {"name": "tags", "type": "text[]"},
    ],
    "rows": [
        [1, 9007199254740993, 3, "12.5", "2026-01-02 03:04:05", "2026-01-03 04:05:06+00", "2026-01-02",
         "first", "A-1", True, {"a": 1, "b": [1, 2]}, "6f1c8a3e-4b59-4a43-9a57-7e3c1f0b9a10", 0.25, 0.5,
         b64(b"\x00\x01\xff"), ["x", "y z"]],
        [2, -5, -1, 3, None, None, None, None, None, False, None, None, None, None, None, None],
    ],
}
PG_CONTENT = [
    {
        "name": "shop",
        "tables": [
            PG_ORDERS,
            {"schema": "public", "name": "empty", "columns": [{"name": "id", "type": "integer"}], "rows": []},
            {"schema": "audit", "name": "events", "columns": [{"name": "id", "type": "bigint"},
                                                               {"name": "payload", "type": "json"}],
             "rows": [[10, "{\"k\": \"v\"}"]]},
        ],
    },
    {
        "name": "crm",
        "tables": [
            {"schema": "public", "name": "contacts", "columns": [{"name": "name", "type": "text"}],
             "rows": [["Ada"], ["Grace"]]},
        ],
    },
]
PG_ORDERS_READ_BACK = [
    {"id": 1, "customer": 9007199254740993, "qty": 3, "total": "12.50", "placed_at": "2026-01-02 03:04:05",
     "shipped_at": "2026-01-03 04:05:06+00", "day": "2026-01-02", "note": "first", "code": "A-1", "paid": True,
     "meta": '{"a": 1, "b": [1, 2]}', "ref": "6f1c8a3e-4b59-4a43-9a57-7e3c1f0b9a10", "ratio": 0.25, "score": 0.5,
     "blob": b"\x00\x01\xff", "tags": '{x,"y z"}'},
    {"id": 2, "customer": -5, "qty": -1, "total": "3.00", "placed_at": None, "shipped_at": None, "day": None,
     "note": None, "code": None, "paid": False, "meta": None, "ref": None, "ratio": None, "score": None,
     "blob": None, "tags": None},
]
MYSQL_INVOICES = {
    "name": "invoices",
    "columns": [
        {"name": "id", "type": "int"},
        {"name": "big", "type": "bigint"},
        {"name": "ubig", "type": "bigint unsigned"},
        {"name": "flag", "type": "tinyint(1)"},
        {"name": "amount", "type": "decimal(10,2)"},
        {"name": "fee", "type": "decimal(5,2)"},
        {"name": "huge", "type": "decimal(30,5)"},
        {"name": "ratio", "type": "double"},
        {"name": "f", "type": "float"},
        {"name": "name", "type": "varchar(64)"},
        {"name": "body", "type": "text"},
        {"name": "issued", "type": "date"},
        {"name": "created", "type": "datetime"},
        {"name": "updated", "type": "timestamp"},
        {"name": "doc", "type": "json"},
        {"name": "raw", "type": "blob"},
        {"name": "yr", "type": "year"},
        {"name": "uint", "type": "int unsigned"},
    ],
    "rows": [
        [1, 2**40, 2**64 - 1, True, "1234.56", 1.5, "12345678901234567890.12345", 0.125, 2.5, "Ada", "hello",
         "2026-01-02", "2026-01-02 03:04:05", "2026-01-02 03:04:05.123456", {"k": [1]}, b64(b"ab"), 2026, 4000000000],
        [2, None, 0, 0, None, None, None, None, None, None, None, None, None, None, None, None, None, None],
    ],
}
MYSQL_CONTENT = [
    {"name": "sales", "tables": [MYSQL_INVOICES,
                                 {"name": "notes", "columns": [{"name": "id", "type": "int"}], "rows": [[7]]}]},
]


class Emulated(unittest.TestCase):
    """moto in-process with the patches; one caller account (A) and its bootstrap identity."""

    def setUp(self) -> None:
        self.mock = mock_aws()
        self.mock.start()
        self.addCleanup(self.mock.stop)
        CONFIG.copy_delay_seconds = 0.0
        self.addCleanup(setattr, CONFIG, "copy_delay_seconds", 0.0)
        self.rds = boto3.client("rds", region_name=REGION)
        self.s3 = boto3.client("s3", region_name=REGION)
        self.iam = boto3.client("iam", region_name=REGION)
        self.kms = boto3.client("kms", region_name=REGION)
        self.s3.create_bucket(Bucket="exports")
        self.role_arn = self.make_role("export-role", policy=role_policy("exports"))
        self.key = self.kms.create_key()["KeyMetadata"]["Arn"]

    # -- helpers ----------------------------------------------------------------------------------

    def client(self, service: str, account: str = A, region: str = REGION) -> Any:
        if account == A:
            return boto3.client(service, region_name=region)
        credentials = boto3.client("sts", region_name=REGION).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/offsite-test", RoleSessionName="bootstrap"
        )["Credentials"]
        return boto3.client(
            service, region_name=region, aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"],
        )

    def make_role(self, name: str, trust: str = TRUST, policy: str | None = None, iam: Any = None) -> str:
        iam = iam or self.iam
        arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"])
        if policy:
            iam.put_role_policy(RoleName=name, PolicyName="export", PolicyDocument=policy)
        return arn

    def seed(self, kind: str, identifier: str, databases: Any, account: str = A, region: str = REGION) -> dict[str, Any]:
        return rds_content.set_content(
            {"account": account, "region": region, "kind": kind, "identifier": identifier, "databases": databases}
        )

    def content(self, kind: str, identifier: str, account: str = A, region: str = REGION) -> Any:
        return rds_content.get_content(
            {"account": account, "region": region, "kind": kind, "identifier": identifier}
        )["databases"]

    def pg_instance(self, identifier: str = "shop", content: Any = PG_CONTENT, rds: Any = None) -> None:
        (rds or self.rds).create_db_instance(
            DBInstanceIdentifier=identifier, DBInstanceClass="db.t3.micro", Engine="postgres",
            MasterUsername="admin", MasterUserPassword="password123", AllocatedStorage=20,
        )
        if content is not None:
            region = (rds or self.rds).meta.region_name
            account = A if rds is None else B
            self.seed("instance", identifier, content, account=account, region=region)

    def snapshot(self, instance: str = "shop", name: str = "s1", rds: Any = None) -> str:
        return str((rds or self.rds).create_db_snapshot(
            DBInstanceIdentifier=instance, DBSnapshotIdentifier=name)["DBSnapshot"]["DBSnapshotArn"])

    def pg_snapshot(self, name: str = "s1") -> str:
        if "shop" not in rds_backends[A][REGION].databases:
            self.pg_instance()
        return self.snapshot("shop", name)

    def mysql_cluster_snapshot(self, content: Any = MYSQL_CONTENT) -> str:
        self.rds.create_db_cluster(
            DBClusterIdentifier="ledger", Engine="aurora-mysql", MasterUsername="admin",
            MasterUserPassword="password123",
        )
        self.seed("cluster", "ledger", content)
        return str(self.rds.create_db_cluster_snapshot(
            DBClusterIdentifier="ledger", DBClusterSnapshotIdentifier="ledger-1",
        )["DBClusterSnapshot"]["DBClusterSnapshotArn"])

    def start(self, source_arn: str, identifier: str = "e1", rds: Any = None, **overrides: Any) -> dict[str, Any]:
        params = {
            "ExportTaskIdentifier": identifier, "SourceArn": source_arn, "S3BucketName": "exports",
            "IamRoleArn": self.role_arn, "KmsKeyId": self.key, **overrides,
        }
        return dict((rds or self.rds).start_export_task(**{k: v for k, v in params.items() if v is not None}))

    def task(self, identifier: str = "e1") -> dict[str, Any]:
        tasks = self.rds.describe_export_tasks(ExportTaskIdentifier=identifier)["ExportTasks"]
        self.assertEqual(len(tasks), 1)
        return dict(tasks[0])

    def keys(self, bucket: str = "exports", s3: Any = None) -> list[str]:
        listed = (s3 or self.s3).list_objects_v2(Bucket=bucket).get("Contents", [])
        return sorted(o["Key"] for o in listed)

    def read(self, key: str, bucket: str = "exports", s3: Any = None) -> dict[str, Any]:
        return dict((s3 or self.s3).get_object(Bucket=bucket, Key=key))


class Content(Emulated):
    """POST/GET /_offsite/rds/content and what snapshots, copies and restores hold."""

    def test_seeding_replaces_the_content_and_reads_back(self) -> None:
        self.pg_instance(content=None)
        self.assertEqual(self.content("instance", "shop"), [])
        summary = self.seed("instance", "shop", PG_CONTENT)
        self.assertEqual(
            summary,
            {"ok": True, "account": A, "region": REGION, "kind": "instance", "identifier": "shop",
             "engine": "postgres", "databases": 2, "tables": 4, "rows": 5},
        )
        self.assertEqual(self.content("instance", "shop"), PG_CONTENT)
        self.seed("instance", "shop", PG_CONTENT[1:])
        self.assertEqual([d["name"] for d in self.content("instance", "shop")], ["crm"])

    def test_validation_names_the_field(self) -> None:
        self.pg_instance(content=None)
        self.mysql_cluster_snapshot(content=[])

        def refused(kind: str, identifier: str, databases: Any) -> tuple[int, str]:
            with self.assertRaises(rds_content.ContentError) as caught:
                self.seed(kind, identifier, databases)
            return caught.exception.status, str(caught.exception)

        table = {"name": "t", "columns": [{"name": "id", "type": "integer"}], "rows": [[1]]}
        status, message = refused("instance", "shop", [{"name": "d", "tables": [table]}])
        self.assertEqual(status, 400)
        self.assertIn("databases[0].tables[0].schema", message)
        status, message = refused("cluster", "ledger", [{"name": "d", "tables": [{**table, "schema": "s",
                                                                                  "columns": [{"name": "id", "type": "int"}]}]}])
        self.assertIn("databases[0].tables[0].schema", message)
        self.assertIn("give no schema", message)
        bad_type = {**table, "schema": "public", "columns": [{"name": "id", "type": "varchar2(10)"}]}
        self.assertIn("columns[0].type", refused("instance", "shop", [{"name": "d", "tables": [bad_type]}])[1])
        bad_row = {**table, "schema": "public", "rows": [[1], [1, 2]]}
        self.assertIn("rows[1]", refused("instance", "shop", [{"name": "d", "tables": [bad_row]}])[1])
        bad_value = {**table, "schema": "public", "rows": [[1], ["two"]]}
        self.assertIn("rows[1][0] (id)", refused("instance", "shop", [{"name": "d", "tables": [bad_value]}])[1])
        out_of_range = {**table, "schema": "public", "columns": [{"name": "n", "type": "smallint"}], "rows": [[40000]]}
        self.assertIn("out of range", refused("instance", "shop", [{"name": "d", "tables": [out_of_range]}])[1])
        not_base64 = {**table, "schema": "public", "columns": [{"name": "b", "type": "bytea"}], "rows": [["%%"]]}
        self.assertIn("base64", refused("instance", "shop", [{"name": "d", "tables": [not_base64]}])[1])
        twice = [{"name": "d", "tables": []}, {"name": "d", "tables": []}]
        self.assertIn("databases[1].name", refused("instance", "shop", twice)[1])
        self.assertEqual(refused("instance", "nope", [])[0], 404)
        self.assertEqual(refused("cluster", "nope", [])[0], 404)
        # Nothing of a refused body was stored.
        self.assertEqual(self.content("instance", "shop"), [])

    def test_an_aurora_instance_has_no_content_of_its_own(self) -> None:
        self.mysql_cluster_snapshot(content=[])
        self.rds.create_db_instance(
            DBInstanceIdentifier="ledger-1", DBInstanceClass="db.r6g.large", Engine="aurora-mysql",
            DBClusterIdentifier="ledger",
        )
        with self.assertRaises(rds_content.ContentError) as caught:
            self.seed("instance", "ledger-1", [])
        self.assertEqual(caught.exception.status, 400)
        self.assertIn('kind "cluster"', str(caught.exception))

    def test_a_snapshot_keeps_the_content_of_its_moment(self) -> None:
        self.pg_instance(content=None)
        automated = self.rds.describe_db_snapshots(DBInstanceIdentifier="shop", SnapshotType="automated")
        automated_id = automated["DBSnapshots"][0]["DBSnapshotIdentifier"]
        self.assertEqual(self.content("snapshot", automated_id), [])
        self.snapshot(name="empty")
        self.seed("instance", "shop", PG_CONTENT)
        self.snapshot(name="full")
        self.seed("instance", "shop", PG_CONTENT[1:])
        self.assertEqual(self.content("snapshot", "empty"), [])
        self.assertEqual(self.content("snapshot", "full"), PG_CONTENT)
        self.assertEqual([d["name"] for d in self.content("instance", "shop")], ["crm"])
        # A deep copy: changing what the instance holds does not reach the snapshot.
        rds_content.content_of(rds_backends[A][REGION].databases["shop"])[0]["tables"].clear()
        self.assertEqual(self.content("snapshot", "full"), PG_CONTENT)
        # The final snapshot of a deletion too.
        self.rds.delete_db_instance(DBInstanceIdentifier="shop", FinalDBSnapshotIdentifier="final")
        self.assertEqual([d["name"] for d in self.content("snapshot", "final")], ["crm"])

    def test_copies_backups_and_restores_carry_the_content(self) -> None:
        self.pg_instance()
        source = self.snapshot()
        self.rds.copy_db_snapshot(SourceDBSnapshotIdentifier="s1", TargetDBSnapshotIdentifier="copy-1")
        self.rds.copy_db_snapshot(SourceDBSnapshotIdentifier=source, TargetDBSnapshotIdentifier="copy-2")
        self.rds.copy_db_snapshot(SourceDBSnapshotIdentifier="copy-1", TargetDBSnapshotIdentifier="copy-3")
        for name in ("copy-1", "copy-2", "copy-3"):
            self.assertEqual(self.content("snapshot", name), PG_CONTENT, name)
        point = aws_backup.create_recovery_point(A, REGION, "instance", "shop", {})
        self.assertEqual(self.content("snapshot", point["identifier"]), PG_CONTENT)
        self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="shop-restored", DBSnapshotIdentifier="copy-3")
        self.assertEqual(self.content("instance", "shop-restored"), PG_CONTENT)
        # Cluster snapshots, their copies and restores.
        self.mysql_cluster_snapshot()
        self.rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier="ledger-1", TargetDBClusterSnapshotIdentifier="ledger-copy"
        )
        self.assertEqual(self.content("cluster-snapshot", "ledger-copy"), MYSQL_CONTENT)
        cluster_point = aws_backup.create_recovery_point(A, REGION, "cluster", "ledger", {})
        self.assertEqual(self.content("cluster-snapshot", cluster_point["identifier"]), MYSQL_CONTENT)
        self.rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="ledger-restored", SnapshotIdentifier="ledger-copy", Engine="aurora-mysql"
        )
        self.assertEqual(self.content("cluster", "ledger-restored"), MYSQL_CONTENT)

    def test_cross_region_and_shared_copies_carry_the_content(self) -> None:
        west = self.client("rds", region=WEST)
        west.create_db_instance(
            DBInstanceIdentifier="far", DBInstanceClass="db.t3.micro", Engine="postgres",
            MasterUsername="admin", MasterUserPassword="password123", AllocatedStorage=20,
        )
        self.seed("instance", "far", PG_CONTENT[1:], region=WEST)
        far = self.snapshot("far", "far-1", rds=west)
        self.rds.copy_db_snapshot(SourceDBSnapshotIdentifier=far, TargetDBSnapshotIdentifier="from-west")
        self.assertEqual(self.content("snapshot", "from-west"), PG_CONTENT[1:])
        other = self.client("rds", account=B)
        self.pg_instance("theirs", content=PG_CONTENT[:1], rds=other)
        shared = self.snapshot("theirs", "shared-1", rds=other)
        other.modify_db_snapshot_attribute(DBSnapshotIdentifier="shared-1", AttributeName="restore", ValuesToAdd=[A])
        self.rds.copy_db_snapshot(SourceDBSnapshotIdentifier=shared, TargetDBSnapshotIdentifier="from-b")
        self.assertEqual(self.content("snapshot", "from-b"), PG_CONTENT[:1])

    def test_reset_forgets_content_and_tasks(self) -> None:
        source = self.pg_snapshot()
        self.start(source)
        moto_api_backend.reset()
        self.assertNotIn("shop", rds_backends[A][REGION].databases)
        self.assertEqual(self.rds.describe_export_tasks()["ExportTasks"], [])


class ControlCall(Emulated):
    """The HTTP contract of ``/_offsite/rds/content`` through the launcher's control API."""

    def call(self, method: str, path: str, body: Any = None, query: str = "") -> tuple[int, Any]:
        import offsite_emulator

        api = offsite_emulator.ControlAPI(SimpleNamespace(report=dict, reset=lambda: None))  # type: ignore[arg-type]
        raw = json.dumps(body).encode() if body is not None else b""
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
                   "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw)}
        seen: dict[str, str] = {}

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            seen["status"] = status

        payload = b"".join(api(environ, start_response))
        return int(seen["status"].split()[0]), json.loads(payload)

    def test_post_and_get(self) -> None:
        self.pg_instance(content=None)
        body = {"account": A, "region": REGION, "kind": "instance", "identifier": "shop", "databases": PG_CONTENT}
        status, reply = self.call("POST", "/_offsite/rds/content", body)
        self.assertEqual((status, reply["ok"], reply["tables"], reply["rows"]), (200, True, 4, 5))
        self.snapshot()
        status, reply = self.call(
            "GET", "/_offsite/rds/content", query=f"account={A}&region={REGION}&kind=snapshot&identifier=s1"
        )
        self.assertEqual(status, 200)
        self.assertEqual(reply, {"account": A, "region": REGION, "kind": "snapshot", "identifier": "s1",
                                 "engine": "postgres", "databases": PG_CONTENT})
        status, reply = self.call("POST", "/_offsite/rds/content", {**body, "identifier": "nope"})
        self.assertEqual(status, 404)
        self.assertIn("nope", reply["error"])
        status, reply = self.call("POST", "/_offsite/rds/content", {**body, "kind": "snapshot"})
        self.assertEqual(status, 400)
        self.assertIn("kind", reply["error"])
        status, reply = self.call("POST", "/_offsite/rds/content", {**body, "extra": 1})
        self.assertEqual((status, "extra" in reply["error"]), (400, True))


class Exports(Emulated):
    """Complete exports, read back."""

    def test_a_postgresql_snapshot_exports_every_table_as_typed_parquet(self) -> None:
        source = self.pg_snapshot()
        started = self.start(source, S3Prefix="daily/")
        self.assertEqual(started["Status"], "STARTING")
        self.assertEqual((started["PercentProgress"], started["TotalExtractedDataInGB"]), (0, 0))
        self.assertEqual((started["SourceType"], started["S3Prefix"]), ("SNAPSHOT", "daily"))
        self.assertNotIn("TaskEndTime", started)
        self.assertEqual(self.keys(), [])
        task = self.task()
        self.assertEqual((task["Status"], task["PercentProgress"]), ("COMPLETE", 100))
        self.assertIn("TaskEndTime", task)
        self.assertNotIn("WarningMessage", task)
        keys = self.keys()
        parquet = [k for k in keys if k.endswith(".gz.parquet")]
        self.assertEqual(
            [k.rsplit("/", 1)[0] for k in parquet],
            ["daily/e1/crm/public.contacts/1", "daily/e1/shop/audit.events/1", "daily/e1/shop/public.orders/1"],
        )
        self.assertRegex(parquet[0].rsplit("/", 1)[1], r"^part-00000-[0-9a-f-]{36}-c000\.gz\.parquet$")
        self.assertEqual(
            [k for k in keys if not k.endswith(".gz.parquet")],
            ["daily/e1/crm/public.contacts/1/_SUCCESS", "daily/e1/export_info_e1.json",
             "daily/e1/export_tables_info_e1_from_1_to_4.json", "daily/e1/shop/audit.events/1/_SUCCESS",
             "daily/e1/shop/public.empty/1/_SUCCESS", "daily/e1/shop/public.orders/1/_SUCCESS"],
        )
        for key in keys:
            head = self.read(key)
            self.assertEqual((head["ServerSideEncryption"], head["SSEKMSKeyId"]), ("aws:kms", self.key), key)
        orders = pq.ParquetFile(io.BytesIO(self.read(parquet[2])["Body"].read()))
        self.assertEqual(orders.metadata.row_group(0).column(0).compression, "GZIP")
        self.assertEqual(orders.read().to_pylist(), PG_ORDERS_READ_BACK)
        schema = orders.schema
        physical = {schema.column(i).name: (schema.column(i).physical_type, schema.column(i).converted_type)
                    for i in range(len(schema))}
        self.assertEqual(physical, {
            "id": ("INT32", "NONE"), "customer": ("INT64", "NONE"), "qty": ("INT32", "INT_16"),
            "total": ("BYTE_ARRAY", "UTF8"), "placed_at": ("BYTE_ARRAY", "UTF8"),
            "shipped_at": ("BYTE_ARRAY", "UTF8"), "day": ("BYTE_ARRAY", "UTF8"), "note": ("BYTE_ARRAY", "UTF8"),
            "code": ("BYTE_ARRAY", "UTF8"), "paid": ("BOOLEAN", "NONE"), "meta": ("BYTE_ARRAY", "UTF8"),
            "ref": ("BYTE_ARRAY", "UTF8"), "ratio": ("DOUBLE", "NONE"), "score": ("FLOAT", "NONE"),
            "blob": ("BYTE_ARRAY", "NONE"), "tags": ("BYTE_ARRAY", "UTF8"),
        })

    def test_export_tables_info_and_export_info(self) -> None:
        source = self.pg_snapshot()
        self.start(source)
        task = self.task()
        tables = json.loads(self.read("e1/export_tables_info_e1_from_1_to_4.json")["Body"].read())
        statuses = {t["target"]: t for t in tables["perTableStatus"]}
        self.assertEqual(sorted(statuses), ["crm.public.contacts", "shop.audit.events", "shop.public.empty",
                                            "shop.public.orders"])
        orders = statuses["shop.public.orders"]
        self.assertEqual(list(orders), ["tableStatistics", "schemaMetadata", "status", "sizeGB", "target"])
        self.assertEqual(orders["status"], "COMPLETE")
        self.assertGreater(orders["sizeGB"], 0)
        self.assertEqual(statuses["shop.public.empty"]["sizeGB"], 0)
        self.assertEqual(orders["tableStatistics"]["partitioningInfo"],
                         {"numberOfPartitions": 1, "numberOfCompletedPartitions": 1})
        self.assertRegex(orders["tableStatistics"]["extractionStartTime"],
                         r"^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2} [AP]M$")
        mappings = {m["columnName"]: m for m in orders["schemaMetadata"]["originalTypeMappings"]}
        self.assertEqual(list(mappings), [c["name"] for c in PG_ORDERS["columns"]])
        self.assertEqual(mappings["code"], {"columnName": "code", "originalType": "character varying",
                                            "expectedExportedType": "binary (UTF8)", "originalCharMaxLength": 20,
                                            "originalNumPrecision": 0, "originalDateTimePrecision": 0})
        self.assertEqual((mappings["total"]["originalType"], mappings["total"]["originalNumPrecision"]), ("numeric", 10))
        self.assertEqual((mappings["id"]["expectedExportedType"], mappings["customer"]["expectedExportedType"]),
                         ("int32", "int64"))
        self.assertEqual((mappings["ratio"]["expectedExportedType"], mappings["paid"]["expectedExportedType"]),
                         ("double", "boolean"))
        self.assertEqual((mappings["shipped_at"]["originalType"], mappings["shipped_at"]["originalDateTimePrecision"]),
                         ("timestamp with time zone", 6))
        self.assertEqual(mappings["tags"]["originalType"], "ARRAY")
        info = json.loads(self.read("e1/export_info_e1.json")["Body"].read())
        self.assertEqual(
            {k: info[k] for k in ("exportTaskIdentifier", "sourceArn", "exportOnly", "s3Bucket", "s3Prefix",
                                  "exportedFilesPath", "iamRoleArn", "kmsKeyId", "status", "percentProgress")},
            {"exportTaskIdentifier": "e1", "sourceArn": source, "exportOnly": [], "s3Bucket": "exports",
             "s3Prefix": "", "exportedFilesPath": "e1", "iamRoleArn": self.role_arn, "kmsKeyId": self.key,
             "status": "COMPLETE", "percentProgress": 100},
        )
        self.assertAlmostEqual(info["totalExportedDataInGB"], sum(t["sizeGB"] for t in tables["perTableStatus"]))
        self.assertEqual(task["TotalExtractedDataInGB"], 0)

    def test_an_aurora_mysql_cluster_snapshot_exports_with_mysql_types(self) -> None:
        source = self.mysql_cluster_snapshot()
        started = self.start(source)
        self.assertEqual(started["SourceType"], "CLUSTER")
        self.assertEqual(self.task()["Status"], "COMPLETE")
        parquet = [k for k in self.keys() if k.endswith(".gz.parquet")]
        self.assertEqual([k.rsplit("/", 1)[0] for k in parquet], ["e1/sales/sales.invoices/1", "e1/sales/sales.notes/1"])
        invoices = pq.ParquetFile(io.BytesIO(self.read(parquet[0])["Body"].read()))
        rows = invoices.read().to_pylist()
        utc = timezone.utc
        self.assertEqual(rows[0], {
            "id": 1, "big": 2**40, "ubig": Decimal(2**64 - 1), "flag": 1, "amount": Decimal("1234.56"),
            "fee": Decimal("1.50"), "huge": Decimal("12345678901234567890.12345"), "ratio": 0.125, "f": 2.5,
            "name": "Ada", "body": "hello", "issued": "2026-01-02",
            "created": datetime(2026, 1, 2, 3, 4, 5, tzinfo=utc),
            "updated": datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=utc), "doc": '{"k": [1]}', "raw": b"ab",
            "yr": 2026, "uint": 4000000000,
        })
        self.assertEqual((rows[1]["flag"], rows[1]["ubig"], rows[1]["amount"]), (0, Decimal(0), None))
        schema = invoices.schema
        physical = {schema.column(i).name: (schema.column(i).physical_type, schema.column(i).converted_type)
                    for i in range(len(schema))}
        self.assertEqual(physical, {
            "id": ("INT32", "NONE"), "big": ("INT64", "NONE"), "ubig": ("FIXED_LEN_BYTE_ARRAY", "DECIMAL"),
            "flag": ("INT32", "NONE"), "amount": ("INT64", "DECIMAL"), "fee": ("INT32", "DECIMAL"),
            "huge": ("FIXED_LEN_BYTE_ARRAY", "DECIMAL"), "ratio": ("DOUBLE", "NONE"), "f": ("DOUBLE", "NONE"),
            "name": ("BYTE_ARRAY", "UTF8"), "body": ("BYTE_ARRAY", "UTF8"), "issued": ("BYTE_ARRAY", "UTF8"),
            "created": ("INT64", "TIMESTAMP_MICROS"), "updated": ("INT64", "TIMESTAMP_MICROS"),
            "doc": ("BYTE_ARRAY", "UTF8"), "raw": ("BYTE_ARRAY", "NONE"), "yr": ("INT32", "NONE"),
            "uint": ("INT64", "NONE"),
        })
        self.assertEqual(schema.column(2).length, 9)  # FIXED_LEN_BYTE_ARRAY(9) DECIMAL(20,0)
        tables = json.loads(self.read("e1/export_tables_info_e1_from_1_to_2.json")["Body"].read())
        targets = [t["target"] for t in tables["perTableStatus"]]
        self.assertEqual(targets, ["sales.invoices", "sales.notes"])
        mappings = {m["columnName"]: m for m in tables["perTableStatus"][0]["schemaMetadata"]["originalTypeMappings"]}
        self.assertEqual((mappings["name"]["originalType"], mappings["name"]["originalCharMaxLength"]), ("varchar", 64))
        self.assertEqual(mappings["created"]["expectedExportedType"], "int64 (TIMESTAMP_MICROS)")
        self.assertEqual((mappings["amount"]["originalNumPrecision"], mappings["amount"]["expectedExportedType"]),
                         (10, "int64 (DECIMAL(10,2))"))

    def test_export_only_selects_databases_schemas_and_tables(self) -> None:
        source = self.pg_snapshot()
        self.start(source, "e1", ExportOnly=["crm", "shop.audit"])
        self.start(source, "e2", ExportOnly=["shop.public.orders", "shop.public.nothing", "elsewhere"])
        first, second = self.task("e1"), self.task("e2")
        self.assertEqual(first["ExportOnly"], ["crm", "shop.audit"])
        self.assertNotIn("WarningMessage", first)
        parquet = [k for k in self.keys() if k.endswith(".gz.parquet")]
        self.assertEqual([k.rsplit("/", 2)[0] for k in parquet],
                         ["e1/crm/public.contacts", "e1/shop/audit.events", "e2/shop/public.orders"])
        self.assertEqual(second["Status"], "COMPLETE")
        warning = json.loads(second["WarningMessage"])
        self.assertEqual(warning["skippedObjectives"], [
            {"objective": "shop.public.nothing", "reason": "OBJECTIVE_NOT_FOUND"},
            {"objective": "elsewhere", "reason": "OBJECTIVE_NOT_FOUND"},
        ])
        info = json.loads(self.read("e2/export_info_e2.json")["Body"].read())
        self.assertEqual(info["exportOnly"], ["shop.public.orders", "shop.public.nothing", "elsewhere"])
        mysql = self.mysql_cluster_snapshot()
        self.start(mysql, "m1", ExportOnly=["sales.notes"])
        self.assertEqual(self.task("m1")["Status"], "COMPLETE")
        self.assertEqual([k.rsplit("/", 2)[0] for k in self.keys() if k.startswith("m1/") and k.endswith(".parquet")],
                         ["m1/sales/sales.notes"])

    def test_invalid_export_only_forms(self) -> None:
        source = self.pg_snapshot()
        mysql = self.mysql_cluster_snapshot()
        for entry in ("shop.public.orders.id", "shop..orders", "shop-db", "sh op", "shop.public.ord/ers"):
            self.assertEqual(code(lambda e=entry: self.start(source, ExportOnly=[e])), "InvalidExportOnly", entry)
        self.assertEqual(code(lambda: self.start(mysql, ExportOnly=["sales.dbo.invoices"])), "InvalidExportOnly")
        self.assertEqual(code(lambda: self.start(source, ExportOnly=["x" * 70000] * 3)), "InvalidExportOnly")
        self.assertEqual(self.rds.describe_export_tasks()["ExportTasks"], [])

    def test_tables_aws_skips_are_reported_not_written(self) -> None:
        content = [{"name": "shop", "tables": [
            {"schema": "public", "name": "ok", "columns": [{"name": "id", "type": "integer"}], "rows": [[1]]},
            {"schema": "public", "name": "spaced", "columns": [{"name": "first name", "type": "text"}], "rows": [["a"]]},
            {"schema": "public", "name": "a/b", "columns": [{"name": "id", "type": "integer"}], "rows": [[1]]},
            {"schema": "public", "name": "eq", "columns": [{"name": "x=y", "type": "integer"}], "rows": [[1]]},
        ]}]
        self.pg_instance(content=content)
        self.start(self.snapshot())
        task = self.task()
        self.assertEqual(task["Status"], "COMPLETE")
        warning = json.loads(task["WarningMessage"])
        self.assertEqual(sorted(warning), ["general", "skippedObjectives", "skippedTables"])
        self.assertEqual(warning["skippedTables"], [
            {"target": "shop.public.spaced", "reason": "COLUMN_NAME_CONTAINS_UNSUPPORTED_CHARACTERS"},
            {"target": "shop.public.a/b", "reason": "TABLE_NAME_CONTAINS_SLASH"},
            {"target": "shop.public.eq", "reason": "COLUMN_NAME_CONTAINS_UNSUPPORTED_CHARACTERS"},
        ])
        self.assertEqual([k.rsplit("/", 2)[0] for k in self.keys() if k.endswith(".parquet")], ["e1/shop/public.ok"])
        statuses = json.loads(self.read("e1/export_tables_info_e1_from_1_to_4.json")["Body"].read())["perTableStatus"]
        skipped = [s for s in statuses if s["status"] == "SKIPPED"]
        self.assertEqual(len(skipped), 3)
        self.assertTrue(all(s["warningMessage"] and s["sizeGB"] == 0 for s in skipped))

    def test_an_instance_without_content_exports_no_table(self) -> None:
        self.pg_instance(content=None)
        self.start(self.snapshot())
        self.assertEqual(self.task()["Status"], "COMPLETE")
        self.assertEqual(self.keys(), ["e1/export_info_e1.json"])


class Refusals(Emulated):
    """StartExportTask's checks and their error codes."""

    def test_identifier_source_and_state(self) -> None:
        source = self.pg_snapshot()
        self.assertEqual(code(lambda: self.start(source, "1st")), "InvalidParameterValue")
        self.assertEqual(code(lambda: self.start(source, "a" * 61)), "InvalidParameterValue")
        self.assertEqual(code(lambda: self.start(source, S3Prefix="a:b")), "InvalidParameterValue")
        self.assertEqual(code(lambda: self.start("arn:aws:s3:::exports")), "InvalidParameterValue")
        missing = f"arn:aws:rds:{REGION}:{A}:snapshot:nope"
        self.assertEqual(error_of(lambda: self.start(missing))[::2], ("DBSnapshotNotFound", 404))
        missing_cluster = f"arn:aws:rds:{REGION}:{A}:cluster-snapshot:nope"
        self.assertEqual(code(lambda: self.start(missing_cluster)), "DBClusterSnapshotNotFoundFault")
        self.assertEqual(code(lambda: self.start(f"arn:aws:rds:{REGION}:{A}:cluster:nope")), "DBClusterNotFoundFault")
        self.mysql_cluster_snapshot()
        cluster, message, _ = error_of(lambda: self.start(f"arn:aws:rds:{REGION}:{A}:cluster:ledger"))
        self.assertEqual(cluster, "InvalidParameterValue")
        self.assertIn("not supported by the Offsite emulator", message)
        # Another account's or Region's snapshot is not the caller's to export.
        self.assertEqual(code(lambda: self.start(source.replace(A, B))), "DBSnapshotNotFound")
        self.assertEqual(code(lambda: self.start(source.replace(REGION, WEST))), "DBSnapshotNotFound")
        rds_backends[A][REGION].database_snapshots["s1"].status = "creating"
        self.assertEqual(code(lambda: self.start(source)), "InvalidExportSourceState")

    def test_engines_aws_cannot_export(self) -> None:
        self.rds.create_db_instance(
            DBInstanceIdentifier="ora", DBInstanceClass="db.t3.micro", Engine="oracle-ee", MasterUsername="admin",
            MasterUserPassword="password123", AllocatedStorage=20, LicenseModel="bring-your-own-license",
        )
        oracle = self.snapshot("ora", "ora-1")
        error, message, _ = error_of(lambda: self.start(oracle))
        self.assertEqual(error, "InvalidExportSourceState")
        self.assertIn("oracle-ee", message)
        self.rds.create_db_cluster(
            DBClusterIdentifier="maz", Engine="mysql", MasterUsername="admin", MasterUserPassword="password123",
            DBClusterInstanceClass="db.m5d.large", AllocatedStorage=100, StorageType="io1", Iops=1000,
        )
        multi_az = self.rds.create_db_cluster_snapshot(DBClusterIdentifier="maz", DBClusterSnapshotIdentifier="maz-1")
        self.assertEqual(code(lambda: self.start(multi_az["DBClusterSnapshot"]["DBClusterSnapshotArn"])),
                         "InvalidExportSourceState")
        # Automated snapshots export (a MariaDB one here).
        self.rds.create_db_instance(
            DBInstanceIdentifier="maria", DBInstanceClass="db.t3.micro", Engine="mariadb", EngineVersion="10.11.6",
            MasterUsername="admin", MasterUserPassword="password123", AllocatedStorage=20,
        )
        automated = self.rds.describe_db_snapshots(DBInstanceIdentifier="maria", SnapshotType="automated")
        self.assertEqual(code(lambda: self.start(automated["DBSnapshots"][0]["DBSnapshotArn"])), "ok")

    def test_an_identifier_is_used_once_whatever_the_state(self) -> None:
        source = self.pg_snapshot()
        self.start(source)
        self.assertEqual(self.task()["Status"], "COMPLETE")
        error, message, status = error_of(lambda: self.start(source))
        self.assertEqual((error, status), ("ExportTaskAlreadyExists", 400))
        self.assertIn("e1", message)

    def test_the_role(self) -> None:
        source = self.pg_snapshot()
        missing = f"arn:aws:iam::{A}:role/nope"
        self.assertEqual(error_of(lambda: self.start(source, IamRoleArn=missing))[::2], ("IamRoleNotFound", 404))
        other_account = self.make_role("other", policy=role_policy("exports"), iam=self.client("iam", account=B))
        self.assertEqual(code(lambda: self.start(source, IamRoleArn=other_account)), "IamRoleNotFound")
        lambda_trust = doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
        wrong_trust = self.make_role("lambda-role", trust=lambda_trust, policy=role_policy("exports"))
        error, message, _ = error_of(lambda: self.start(source, IamRoleArn=wrong_trust))
        self.assertEqual(error, "IamRoleMissingPermissions")
        self.assertIn("can't assume", message)
        no_list = self.make_role("no-list", policy=role_policy(
            "exports", actions=["s3:PutObject*", "s3:GetObject*", "s3:DeleteObject*", "s3:GetBucketLocation"]))
        error, message, _ = error_of(lambda: self.start(source, IamRoleArn=no_list))
        self.assertEqual(error, "IamRoleMissingPermissions")
        self.assertIn("s3:ListBucket", message)
        other_prefix = self.make_role("other-prefix", policy=doc(
            {"Effect": "Allow", "Action": EXPORT_ACTIONS, "Resource": ["arn:aws:s3:::exports", "arn:aws:s3:::exports/other/*"]}))
        error, message, _ = error_of(lambda: self.start(source, IamRoleArn=other_prefix, S3Prefix="mine"))
        self.assertEqual(error, "IamRoleMissingPermissions")
        self.assertIn("s3:PutObject on resource: arn:aws:s3:::exports/mine/e1/export_info_e1.json", message)
        self.assertEqual(code(lambda: self.start(source, IamRoleArn=other_prefix, S3Prefix="other")), "ok")

    def test_trust_conditions_see_the_source_account_and_arn(self) -> None:
        source = self.pg_snapshot()

        def trust(condition: dict[str, Any]) -> str:
            return doc({"Effect": "Allow", "Principal": {"Service": "export.rds.amazonaws.com"},
                        "Action": "sts:AssumeRole", "Condition": condition})

        own = self.make_role("own", trust=trust({"StringEquals": {"aws:SourceAccount": A}}), policy=role_policy("exports"))
        theirs = self.make_role("theirs", trust=trust({"StringEquals": {"aws:SourceAccount": B}}), policy=role_policy("exports"))
        snapshots = self.make_role("snapshots", trust=trust(
            {"ArnLike": {"aws:SourceArn": f"arn:aws:rds:{REGION}:{A}:snapshot:*"}}), policy=role_policy("exports"))
        clusters = self.make_role("clusters", trust=trust(
            {"ArnLike": {"aws:SourceArn": f"arn:aws:rds:{REGION}:{A}:cluster-snapshot:*"}}), policy=role_policy("exports"))
        self.assertEqual(code(lambda: self.start(source, "e1", IamRoleArn=own)), "ok")
        self.assertEqual(code(lambda: self.start(source, "e2", IamRoleArn=theirs)), "IamRoleMissingPermissions")
        self.assertEqual(code(lambda: self.start(source, "e3", IamRoleArn=snapshots)), "ok")
        self.assertEqual(code(lambda: self.start(source, "e4", IamRoleArn=clusters)), "IamRoleMissingPermissions")

    def test_the_bucket(self) -> None:
        source = self.pg_snapshot()
        error, message, _ = error_of(lambda: self.start(source, S3BucketName="nowhere"))
        self.assertEqual(error, "InvalidS3BucketFault")
        self.assertIn("isn't valid", message)
        self.client("s3", region=WEST).create_bucket(Bucket="western", CreateBucketConfiguration={"LocationConstraint": WEST})
        self.iam.put_role_policy(RoleName="export-role", PolicyName="export", PolicyDocument=role_policy("exports", "western"))
        self.assertEqual(code(lambda: self.start(source, S3BucketName="western")), "InvalidS3BucketFault")

    def test_a_bucket_of_another_account_needs_its_policy(self) -> None:
        source = self.pg_snapshot()
        their_s3 = self.client("s3", account=B)
        their_s3.create_bucket(Bucket="foreign")
        self.iam.put_role_policy(RoleName="export-role", PolicyName="export", PolicyDocument=role_policy("exports", "foreign"))
        error, message, _ = error_of(lambda: self.start(source, "e1", S3BucketName="foreign"))
        self.assertEqual(error, "InvalidS3BucketFault")
        self.assertIn("no resource-based policy allows the s3:PutObject action", message)
        admits = doc({"Effect": "Allow", "Principal": {"AWS": self.role_arn}, "Action": EXPORT_ACTIONS,
                      "Resource": ["arn:aws:s3:::foreign", "arn:aws:s3:::foreign/*"]})
        their_s3.put_bucket_policy(Bucket="foreign", Policy=admits)
        self.start(source, "e2", S3BucketName="foreign")
        self.assertEqual(self.task("e2")["Status"], "COMPLETE")
        written = self.keys("foreign", s3=their_s3)
        self.assertIn("e2/export_info_e2.json", written)
        self.assertTrue(any(k.endswith(".gz.parquet") for k in written))
        # The bucket policy alone does not do: the role's own policy must allow too.
        bare = self.make_role("bare", policy=role_policy("exports"))
        their_s3.put_bucket_policy(Bucket="foreign", Policy=admits.replace(self.role_arn, bare))
        self.assertEqual(code(lambda: self.start(source, "e3", S3BucketName="foreign", IamRoleArn=bare)),
                         "IamRoleMissingPermissions")
        # An explicit Deny of the bucket policy refuses.
        deny = doc({"Effect": "Allow", "Principal": {"AWS": self.role_arn}, "Action": EXPORT_ACTIONS,
                    "Resource": ["arn:aws:s3:::foreign", "arn:aws:s3:::foreign/*"]},
                   {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::foreign/*",
                    "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}})
        their_s3.put_bucket_policy(Bucket="foreign", Policy=deny)
        self.assertEqual(code(lambda: self.start(source, "e4", S3BucketName="foreign")), "InvalidS3BucketFault")

    def test_the_key(self) -> None:
        source = self.pg_snapshot()
        west_key = self.client("kms", region=WEST).create_key()["KeyMetadata"]["Arn"]
        error, message, _ = error_of(lambda: self.start(source, KmsKeyId=west_key))
        self.assertEqual(error, "KMSKeyNotAccessibleFault")
        self.assertIn(WEST, message)
        self.assertEqual(code(lambda: self.start(source, KmsKeyId="alias/nope")), "KMSKeyNotAccessibleFault")
        rsa = self.kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
        self.assertEqual(code(lambda: self.start(source, KmsKeyId=rsa["Arn"])), "KMSKeyNotAccessibleFault")
        disabled = self.kms.create_key()["KeyMetadata"]
        self.kms.disable_key(KeyId=disabled["KeyId"])
        self.assertEqual(code(lambda: self.start(source, KmsKeyId=disabled["Arn"])), "KMSKeyNotAccessibleFault")
        admin = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*", "Resource": "*"}
        deny_others = {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
                       "Condition": {"StringNotEquals": {"aws:PrincipalAccount": A}}}
        strict = self.kms.create_key(Policy=doc(admin, deny_others))["KeyMetadata"]["Arn"]
        error, message, _ = error_of(lambda: self.start(source, "e1", KmsKeyId=strict))
        self.assertEqual(error, "KMSKeyNotAccessibleFault")
        self.assertIn("export.rds.amazonaws.com", message)
        exempt = dict(deny_others, Condition={"StringNotEquals": {
            "aws:PrincipalAccount": A, "aws:PrincipalServiceName": "export.rds.amazonaws.com"}})
        exempting = self.kms.create_key(Policy=doc(admin, exempt))["KeyMetadata"]["Arn"]
        self.assertEqual(code(lambda: self.start(source, "e2", KmsKeyId=exempting)), "ok")
        # An alias of a good key does.
        self.kms.create_alias(AliasName="alias/exports", TargetKeyId=self.key)
        self.assertEqual(code(lambda: self.start(source, "e3", KmsKeyId="alias/exports")), "ok")
        self.assertEqual(self.task("e3")["KmsKeyId"], "alias/exports")


class Limits(Emulated):
    """Five exports in progress per account; one per snapshot."""

    def setUp(self) -> None:
        super().setUp()
        self.now = 1_000_000.0
        original = rds_export.clock
        rds_export.clock = lambda: self.now
        self.addCleanup(setattr, rds_export, "clock", original)

    def test_five_in_progress_per_account_and_one_per_snapshot(self) -> None:
        self.pg_instance()
        sources = [self.snapshot(name=f"s{i}") for i in range(1, 8)]
        west = self.client("rds", region=WEST)
        west.create_db_instance(
            DBInstanceIdentifier="far", DBInstanceClass="db.t3.micro", Engine="postgres",
            MasterUsername="admin", MasterUserPassword="password123", AllocatedStorage=20,
        )
        far = self.snapshot("far", "far-1", rds=west)
        self.client("s3", region=WEST).create_bucket(Bucket="western", CreateBucketConfiguration={"LocationConstraint": WEST})
        self.iam.put_role_policy(RoleName="export-role", PolicyName="export", PolicyDocument=role_policy("exports", "western"))
        west_key = self.client("kms", region=WEST).create_key()["KeyMetadata"]["Arn"]
        CONFIG.copy_delay_seconds = 100.0
        self.start(far, "w1", rds=west, S3BucketName="western", KmsKeyId=west_key)
        for i in range(4):
            self.start(sources[i], f"e{i + 1}")
        error, message, _ = error_of(lambda: self.start(sources[4], "e5"))
        self.assertEqual(error, "ExportTaskAlreadyExists")
        self.assertIn(f"at most {rds_export.MAX_IN_PROGRESS}", message)
        error, message, _ = error_of(lambda: self.start(sources[0], "again"))
        self.assertEqual(error, "ExportTaskAlreadyExists")
        self.assertIn("already in progress", message)
        # A cancelled task frees its place once it is cancelled.
        self.rds.cancel_export_task(ExportTaskIdentifier="e1")
        self.assertEqual(code(lambda: self.start(sources[4], "e5")), "ok")
        self.assertEqual(code(lambda: self.start(sources[5], "e6")), "ExportTaskAlreadyExists")
        # Completed tasks do not count; the same snapshot can be exported again.
        self.now += 100
        self.assertEqual(code(lambda: self.start(sources[1], "again")), "ok")
        self.assertEqual(code(lambda: self.start(sources[5], "e6")), "ok")


class Progress(Emulated):
    """STARTING, IN_PROGRESS with a rising PercentProgress, COMPLETE, over the copy delay."""

    def setUp(self) -> None:
        super().setUp()
        self.now = 1_000_000.0
        original = rds_export.clock
        rds_export.clock = lambda: self.now
        self.addCleanup(setattr, rds_export, "clock", original)

    def test_status_over_the_delay(self) -> None:
        source = self.pg_snapshot()
        CONFIG.copy_delay_seconds = 100.0
        started = self.start(source)
        self.assertEqual((started["Status"], started["PercentProgress"]), ("STARTING", 0))
        CONFIG.copy_delay_seconds = 0.0  # a task keeps the delay in force when it started
        self.now += 5
        self.assertEqual((self.task()["Status"], self.task()["PercentProgress"]), ("STARTING", 0))
        self.now += 50  # 55 s of 100: 45 of the 90 after STARTING
        task = self.task()
        self.assertEqual((task["Status"], task["PercentProgress"]), ("IN_PROGRESS", 50))
        self.assertNotIn("TaskEndTime", task)
        self.assertEqual(self.keys(), [])
        self.now += 44
        self.assertEqual(self.task()["PercentProgress"], 98)
        self.now += 1
        task = self.task()
        self.assertEqual((task["Status"], task["PercentProgress"]), ("COMPLETE", 100))
        self.assertIn("e1/export_info_e1.json", self.keys())
        self.assertEqual(task["TaskEndTime"].timestamp() - task["TaskStartTime"].timestamp(), 100)

    def test_access_is_checked_again_at_completion(self) -> None:
        source = self.pg_snapshot()
        CONFIG.copy_delay_seconds = 100.0
        self.start(source, "e1")
        self.iam.delete_role_policy(RoleName="export-role", PolicyName="export")
        self.now += 100
        task = self.task("e1")
        self.assertEqual(task["Status"], "FAILED")
        self.assertIn(f"The IAM role {self.role_arn} isn't authorized to call s3:PutObject", task["FailureCause"])
        self.assertIn("TaskEndTime", task)
        self.assertEqual(self.keys(), [])
        # A bucket policy of another account changed meanwhile.
        their_s3 = self.client("s3", account=B)
        their_s3.create_bucket(Bucket="foreign")
        self.iam.put_role_policy(RoleName="export-role", PolicyName="export", PolicyDocument=role_policy("exports", "foreign"))
        admits = doc({"Effect": "Allow", "Principal": {"AWS": self.role_arn}, "Action": EXPORT_ACTIONS,
                      "Resource": ["arn:aws:s3:::foreign", "arn:aws:s3:::foreign/*"]})
        their_s3.put_bucket_policy(Bucket="foreign", Policy=admits)
        self.start(source, "e2", S3BucketName="foreign")
        their_s3.delete_bucket_policy(Bucket="foreign")
        self.now += 100
        task = self.task("e2")
        self.assertEqual(task["Status"], "FAILED")
        self.assertIn("no resource-based policy allows the s3:PutObject action", task["FailureCause"])
        self.assertEqual(self.keys("foreign", s3=their_s3), [])
        # A key disabled meanwhile.
        self.start(source, "e3")
        self.kms.disable_key(KeyId=self.key.rsplit("/", 1)[1])
        self.now += 100
        task = self.task("e3")
        self.assertEqual(task["Status"], "FAILED")
        self.assertTrue(task["FailureCause"].startswith("KMS key check failed."))


class DescribeAndCancel(Emulated):
    def setUp(self) -> None:
        super().setUp()
        self.now = 1_000_000.0
        original = rds_export.clock
        rds_export.clock = lambda: self.now
        self.addCleanup(setattr, rds_export, "clock", original)

    def test_filters_paging_and_unknown_identifiers(self) -> None:
        source = self.pg_snapshot()
        other = self.snapshot(name="s2")
        self.s3.create_bucket(Bucket="second")
        self.iam.put_role_policy(RoleName="export-role", PolicyName="export", PolicyDocument=role_policy("exports", "second"))
        for i in range(25):
            self.start(source if i % 2 else other, f"task-{i:02d}", S3BucketName="second" if i < 5 else "exports")
            self.now += 1
        describe = self.rds.describe_export_tasks
        self.assertEqual(describe(ExportTaskIdentifier="nope")["ExportTasks"], [])
        first = describe(MaxRecords=20)
        self.assertEqual([t["ExportTaskIdentifier"] for t in first["ExportTasks"]], [f"task-{i:02d}" for i in range(20)])
        second = describe(MaxRecords=20, Marker=first["Marker"])
        self.assertEqual([t["ExportTaskIdentifier"] for t in second["ExportTasks"]], [f"task-{i:02d}" for i in range(20, 25)])
        self.assertNotIn("Marker", second)
        self.assertEqual(len(describe()["ExportTasks"]), 25)

        def names(**kwargs: Any) -> list[str]:
            return [t["ExportTaskIdentifier"] for t in describe(**kwargs)["ExportTasks"]]

        self.assertEqual(len(names(Filters=[{"Name": "s3-bucket", "Values": ["second"]}])), 5)
        self.assertEqual(len(names(Filters=[{"Name": "source-arn", "Values": [source]}])), 12)
        self.assertEqual(len(names(SourceArn=other)), 13)
        self.assertEqual(names(Filters=[{"Name": "export-task-identifier", "Values": ["task-03", "task-04"]}]),
                         ["task-03", "task-04"])
        self.assertEqual(len(names(Filters=[{"Name": "status", "Values": ["complete"]}])), 25)
        self.assertEqual(len(names(Filters=[{"Name": "status", "Values": ["COMPLETE"]}])), 25)
        self.assertEqual(names(Filters=[{"Name": "status", "Values": ["in_progress", "starting"]}]), [])
        self.assertEqual(len(names(SourceType="SNAPSHOT")), 25)
        self.assertEqual(names(SourceType="CLUSTER"), [])
        unchecked = boto3.client("rds", region_name=REGION, config=Config(parameter_validation=False))
        self.assertEqual(code(lambda: unchecked.describe_export_tasks(MaxRecords=10)), "InvalidParameterValue")
        self.assertEqual(code(lambda: unchecked.describe_export_tasks(MaxRecords=101)), "InvalidParameterValue")
        self.assertEqual(code(lambda: describe(Filters=[{"Name": "engine", "Values": ["postgres"]}])),
                         "InvalidParameterValue")
        self.assertEqual(code(lambda: unchecked.describe_export_tasks(SourceType="TABLE")), "InvalidParameterValue")
        # Only the caller's account and Region.
        self.assertEqual(self.client("rds", region=WEST).describe_export_tasks()["ExportTasks"], [])
        self.assertEqual(self.client("rds", account=B).describe_export_tasks()["ExportTasks"], [])

    def test_status_filter_sees_tasks_in_progress(self) -> None:
        source = self.pg_snapshot()
        CONFIG.copy_delay_seconds = 100.0
        self.start(source)
        self.now += 50
        in_progress = self.rds.describe_export_tasks(Filters=[{"Name": "status", "Values": ["in_progress"]}])
        self.assertEqual([t["ExportTaskIdentifier"] for t in in_progress["ExportTasks"]], ["e1"])

    def test_cancel_rules(self) -> None:
        source = self.pg_snapshot()
        error, _, status = error_of(lambda: self.rds.cancel_export_task(ExportTaskIdentifier="nope"))
        self.assertEqual((error, status), ("ExportTaskNotFound", 404))
        CONFIG.copy_delay_seconds = 100.0
        self.start(source, "e1")
        cancelled = self.rds.cancel_export_task(ExportTaskIdentifier="e1")
        self.assertEqual(cancelled["Status"], "CANCELING")
        task = self.task("e1")
        self.assertEqual(task["Status"], "CANCELED")
        self.assertIn("TaskEndTime", task)
        self.now += 200
        self.assertEqual(self.task("e1")["Status"], "CANCELED")
        self.assertEqual(self.keys(), [])
        self.assertEqual(code(lambda: self.rds.cancel_export_task(ExportTaskIdentifier="e1")), "InvalidExportTaskStateFault")
        self.start(source, "e2")
        self.now += 50
        self.assertEqual(self.task("e2")["Status"], "IN_PROGRESS")
        self.assertEqual(self.rds.cancel_export_task(ExportTaskIdentifier="e2")["Status"], "CANCELING")
        self.start(source, "e3")
        self.now += 100
        self.assertEqual(self.task("e3")["Status"], "COMPLETE")
        self.assertEqual(code(lambda: self.rds.cancel_export_task(ExportTaskIdentifier="e3")), "InvalidExportTaskStateFault")


class EnforcedCaller(Emulated):
    """What an enforced caller (an IAM role of its account) needs besides the export's own
    checks: iam:PassRole on the export role (the middleware) and kms:CreateGrant /
    kms:DescribeKey on the key (``start_export``)."""

    def caller(self, *statements: dict[str, Any]) -> tuple[Principal, Any, Any]:
        name = "operator"
        arn = self.make_role(name, trust=doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                                              "Action": "sts:AssumeRole"}), policy=doc(*statements))
        role = iam_backends[A]["aws"].get_role(name)
        principal = Principal(A, arn=f"arn:aws:sts::{A}:assumed-role/{name}/run", role_arn=arn)
        return principal, role, SimpleNamespace(policy=None)

    def test_the_request_needs_pass_role_on_the_export_role(self) -> None:
        source = self.pg_snapshot()
        call = iam_enforce.Call("rds", "StartExportTask", A, REGION, {
            "ExportTaskIdentifier": "e1", "SourceArn": source, "S3BucketName": "exports",
            "IamRoleArn": self.role_arn, "KmsKeyId": self.key}, {})
        principal, role, session = self.caller({"Effect": "Allow", "Action": "rds:StartExportTask", "Resource": source})
        needed = [(a.action, a.resource) for a in iam_enforce.authorizations(call, principal)]
        self.assertEqual(needed, [("rds:StartExportTask", source), ("iam:PassRole", self.role_arn)])
        allowed, message = iam_enforce.decide(principal, role, session, call)
        self.assertFalse(allowed)
        self.assertIn(f"iam:PassRole on resource: {self.role_arn}", message)
        self.iam.put_role_policy(RoleName="operator", PolicyName="export", PolicyDocument=doc(
            {"Effect": "Allow", "Action": "rds:StartExportTask", "Resource": source},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": self.role_arn}))
        self.assertEqual(iam_enforce.decide(principal, role, session, call), (True, ""))
        # iam:PassedToService is the export service's principal: a grant for another service
        # does not pass the role to RDS's exports.
        for service, allowed in [("export.rds.amazonaws.com", True), ("rds.amazonaws.com", False)]:
            self.iam.put_role_policy(RoleName="operator", PolicyName="export", PolicyDocument=doc(
                {"Effect": "Allow", "Action": "rds:StartExportTask", "Resource": source},
                {"Effect": "Allow", "Action": "iam:PassRole", "Resource": self.role_arn,
                 "Condition": {"StringEquals": {"iam:PassedToService": service}}}))
            self.assertEqual(iam_enforce.decide(principal, role, session, call)[0], allowed, service)

    def test_the_caller_needs_create_grant_and_describe_key(self) -> None:
        source = self.pg_snapshot()
        backend = rds_backends[A][REGION]
        params = {"ExportTaskIdentifier": "e1", "SourceArn": source, "S3BucketName": "exports",
                  "IamRoleArn": self.role_arn, "KmsKeyId": self.key}
        only_describe = self.caller({"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": self.key})
        with self.assertRaises(Exception) as caught:
            rds_export.start_export(backend, params, only_describe)
        self.assertEqual(getattr(caught.exception, "code", None), "KMSKeyNotAccessibleFault")
        self.assertIn("kms:CreateGrant", str(caught.exception))
        self.iam.put_role_policy(RoleName="operator", PolicyName="export", PolicyDocument=doc(
            {"Effect": "Allow", "Action": ["kms:DescribeKey", "kms:CreateGrant"], "Resource": self.key,
             "Condition": {"StringEquals": {"kms:ViaService": f"rds.{REGION}.amazonaws.com"}}}))
        task = rds_export.start_export(backend, params, only_describe)
        self.assertEqual(task.status, "STARTING")


if __name__ == "__main__":
    unittest.main()
