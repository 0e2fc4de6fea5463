"""Scheduled restore tests against the emulator (``patches/rds_restore.py`` and
``patches/rds_postgres.py``): RestoreDBInstanceFromDBSnapshot with ``False`` overrides and
AWS's defaults, creating -> available over the copy delay, RestoreDBClusterFromSnapshot and
the cluster's instances (membership, writer), the snapshot's encryption and KmsKeyId, the
deletion rules and ordering, deleting -> gone, the master password managed in Secrets
Manager; and with PostgreSQL installed, the restored databases' real servers: connecting with
the managed secret's password and counting the rows seeded before the snapshot, the cluster
endpoint, a failed load, the server's end with its resource, on reset and when the emulator
is killed.

Most tests run moto in-process (``mock_aws``) with the patches, like test_rds_export.py; the
launcher's own paths (``--postgres-bin``, ``GET /_offsite/rds/postgres``, ``POST
/moto-api/reset``, SIGKILL) run a real emulator process. Statuses are read, never timed:
a long copy delay is ended by moving the resource's phase to its end (``finish``), and the
one test of real time passing polls with a generous deadline. The PostgreSQL tests skip only
when no PostgreSQL server binaries are installed.

    .venv/bin/python -m unittest discover -s tests/emulator/tests
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest
import urllib.request
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.rds.models import rds_backends  # noqa: E402

from patches import rds_content, rds_postgres, rds_restore  # noqa: E402
from patches.state import CONFIG  # noqa: E402

A = "123456789012"
REGION = "us-east-1"
LONG = 3600.0  # a copy delay no test outlives: ended with finish()
EMULATOR = Path(__file__).resolve().parents[1] / "offsite_emulator.py"

rds_restore.apply()

PG_BIN = rds_postgres.find_binaries()
NO_POSTGRES = "PostgreSQL server binaries (initdb, postgres) and psql are not installed"
HAVE_POSTGRES = PG_BIN is not None and bool(
    os.access(PG_BIN / "psql", os.X_OK) or subprocess.run(["which", "psql"], capture_output=True).returncode == 0
)
PSQL = str(PG_BIN / "psql") if PG_BIN is not None and os.access(PG_BIN / "psql", os.X_OK) else "psql"

ORDERS = {
    "schema": "public",
    "name": "orders",
    "columns": [
        {"name": "id", "type": "integer"},
        {"name": "placed_at", "type": "timestamp with time zone"},
        {"name": "total", "type": "numeric(10,2)"},
        {"name": "note", "type": "text"},
        {"name": "meta", "type": "jsonb"},
        {"name": "blob", "type": "bytea"},
        {"name": "tags", "type": "text[]"},
        {"name": "paid", "type": "boolean"},
    ],
    "rows": [
        [1, "2026-01-02 03:04:05+00", "12.5", "tab\there, 'quoted', back\\slash\nnewline", {"a": [1, 2]}, "AAH/",
         ["x", "y z"], True],
        [2, "2026-03-04 05:06:07+00", 3, None, None, None, None, False],
        [3, "2026-02-01 00:00:00+00", "0.01", "Robert'); DROP TABLE orders;--", "\"text\"", "", [], None],
    ],
}
CONTENT = [
    {"name": "shop", "tables": [
        ORDERS,
        {"schema": "audit", "name": "events", "columns": [{"name": "id", "type": "bigint"}],
         "rows": [[i] for i in range(250)]},
    ]},
    {"name": "crm", "tables": [
        {"schema": "public", "name": "contacts", "columns": [{"name": "name", "type": "character varying(40)"}],
         "rows": [["Ada"], ["Grace"]]},
    ]},
]


def error_of(call: Callable[[], Any]) -> tuple[str, str, int]:
    try:
        call()
    except ClientError as error:
        return (
            str(error.response["Error"]["Code"]),
            str(error.response["Error"]["Message"]),
            int(error.response["ResponseMetadata"]["HTTPStatusCode"]),
        )
    raise AssertionError("the call succeeded")


def wait_for(what: str, probe: Callable[[], Any], deadline: float = 120.0) -> Any:
    """Poll ``probe`` until it returns something truthy (generous deadline, no timing asserted)."""
    end = time.monotonic() + deadline
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what} (last: {value!r})")
        time.sleep(0.1)


def finish(model: Any) -> None:
    """End a resource's copy-delay phase now, as if the delay had passed."""
    phase = model.__dict__.get(rds_restore.PHASE)
    if phase:
        phase["until"] = 0.0


class Emulated(unittest.TestCase):
    """moto in-process with the patches, account A, a long copy delay by default."""

    def setUp(self) -> None:
        self.mock = mock_aws()
        self.mock.start()
        self.addCleanup(self.mock.stop)
        self.addCleanup(rds_postgres.stop_all)
        CONFIG.copy_delay_seconds = LONG
        self.addCleanup(setattr, CONFIG, "copy_delay_seconds", 0.0)
        self.rds = boto3.client("rds", region_name=REGION)
        self.kms = boto3.client("kms", region_name=REGION)
        self.ec2 = boto3.client("ec2", region_name=REGION)
        self.secrets = boto3.client("secretsmanager", region_name=REGION)
        self.backend = rds_backends[A][REGION]

    # -- fixtures ---------------------------------------------------------------------------------

    def key(self) -> str:
        return str(self.kms.create_key()["KeyMetadata"]["Arn"])

    def source_instance(self, identifier: str = "shop", key: str | None = None, content: Any = None,
                        version: str = "15.4", **extra: Any) -> None:
        self.rds.create_db_instance(
            DBInstanceIdentifier=identifier, DBInstanceClass="db.m5.large", Engine="postgres",
            EngineVersion=version, MasterUsername="offsite", MasterUserPassword="source-password-1",
            AllocatedStorage=50, StorageEncrypted=key is not None, **({"KmsKeyId": key} if key else {}), **extra,
        )
        if content is not None:
            rds_content.set_content({"account": A, "region": REGION, "kind": "instance", "identifier": identifier,
                                     "databases": content})

    def snapshot(self, instance: str = "shop", name: str = "shop-1") -> dict[str, Any]:
        return dict(self.rds.create_db_snapshot(DBInstanceIdentifier=instance, DBSnapshotIdentifier=name)["DBSnapshot"])

    def source_cluster(self, identifier: str = "ledger", key: str | None = None, content: Any = None) -> None:
        self.rds.create_db_cluster(
            DBClusterIdentifier=identifier, Engine="aurora-postgresql", EngineVersion="15.4",
            MasterUsername="offsite", MasterUserPassword="source-password-1", StorageEncrypted=key is not None,
            DeletionProtection=True, **({"KmsKeyId": key} if key else {}),
        )
        if content is not None:
            rds_content.set_content({"account": A, "region": REGION, "kind": "cluster", "identifier": identifier,
                                     "databases": content})

    def cluster_snapshot(self, cluster: str = "ledger", name: str = "ledger-1") -> dict[str, Any]:
        return dict(self.rds.create_db_cluster_snapshot(
            DBClusterIdentifier=cluster, DBClusterSnapshotIdentifier=name)["DBClusterSnapshot"])

    def network(self) -> tuple[str, str]:
        """A DB subnet group and a VPC security group of the default VPC."""
        vpc = self.ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        subnets = [s["SubnetId"] for s in self.ec2.describe_subnets()["Subnets"] if s["VpcId"] == vpc]
        self.rds.create_db_subnet_group(DBSubnetGroupName="restore-tests", DBSubnetGroupDescription="restore tests",
                                        SubnetIds=subnets[:2])
        group = self.ec2.create_security_group(GroupName="restore-tests", Description="restore tests", VpcId=vpc)
        return "restore-tests", str(group["GroupId"])

    def instance(self, identifier: str) -> dict[str, Any]:
        return dict(self.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0])

    def cluster(self, identifier: str) -> dict[str, Any]:
        return dict(self.rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0])

    def finish_instance(self, identifier: str) -> None:
        finish(self.backend.databases[identifier])

    def finish_cluster(self, identifier: str) -> None:
        finish(self.backend.clusters[identifier])


class InstanceRestores(Emulated):
    def test_overrides_are_honoured_as_given_false_included(self) -> None:
        self.source_instance(DeletionProtection=True, PubliclyAccessible=True, MultiAZ=True, CopyTagsToSnapshot=True,
                             AutoMinorVersionUpgrade=True, Tags=[{"Key": "team", "Value": "db"}])
        self.snapshot()
        subnet_group, security_group = self.network()
        restored = self.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="restore-test", DBSnapshotIdentifier="shop-1", DBInstanceClass="db.t3.micro",
            DBSubnetGroupName=subnet_group, VpcSecurityGroupIds=[security_group], PubliclyAccessible=False,
            DeletionProtection=False, MultiAZ=False, CopyTagsToSnapshot=False, AutoMinorVersionUpgrade=False,
            Tags=[{"Key": "offsite:restore-test", "Value": "run-1"}],
        )["DBInstance"]
        for answer in (restored, self.instance("restore-test")):
            self.assertEqual(answer["DBInstanceClass"], "db.t3.micro")
            self.assertIs(answer["PubliclyAccessible"], False)
            self.assertIs(answer["DeletionProtection"], False)
            self.assertIs(answer["MultiAZ"], False)
            self.assertIs(answer["CopyTagsToSnapshot"], False)
            self.assertIs(answer["AutoMinorVersionUpgrade"], False)
            self.assertEqual(answer["DBSubnetGroup"]["DBSubnetGroupName"], subnet_group)
            self.assertEqual([g["VpcSecurityGroupId"] for g in answer["VpcSecurityGroups"]], [security_group])
            self.assertEqual(answer["TagList"], [{"Key": "offsite:restore-test", "Value": "run-1"}])
        # DeletionProtection=False holds: the restore test can delete what it restored.
        self.finish_instance("restore-test")
        self.assertEqual(
            self.rds.delete_db_instance(DBInstanceIdentifier="restore-test", SkipFinalSnapshot=True)["DBInstance"][
                "DBInstanceStatus"],
            "deleting",
        )

    def test_defaults_when_omitted(self) -> None:
        self.source_instance(DeletionProtection=True, MultiAZ=True, CopyTagsToSnapshot=True,
                             Tags=[{"Key": "team", "Value": "db"}])
        self.snapshot()
        subnet_group, _ = self.network()
        plain = self.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="plain", DBSnapshotIdentifier="shop-1")["DBInstance"]
        # Not the source's: AWS's documented defaults.
        self.assertIs(plain["DeletionProtection"], False)
        self.assertIs(plain["MultiAZ"], False)
        self.assertIs(plain["CopyTagsToSnapshot"], False)
        # PubliclyAccessible without a DB subnet group: true (CreateDBInstance's rule).
        self.assertIs(plain["PubliclyAccessible"], True)
        # The original's class, and its tags when none are given.
        self.assertEqual(plain["DBInstanceClass"], "db.m5.large")
        self.assertEqual(plain["TagList"], [{"Key": "team", "Value": "db"}])
        self.assertEqual(len(plain["VpcSecurityGroups"]), 1)  # the default VPC's default group
        grouped = self.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="grouped", DBSnapshotIdentifier="shop-1", DBSubnetGroupName=subnet_group,
        )["DBInstance"]
        self.assertIs(grouped["PubliclyAccessible"], False)

    def test_creating_until_the_copy_delay_has_passed(self) -> None:
        self.source_instance()
        self.snapshot()
        restored = self.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="restore-test", DBSnapshotIdentifier="shop-1", DeletionProtection=False,
        )["DBInstance"]
        self.assertEqual(restored["DBInstanceStatus"], "creating")
        self.assertNotIn("Endpoint", restored)
        described = self.instance("restore-test")
        self.assertEqual(described["DBInstanceStatus"], "creating")
        self.assertNotIn("Endpoint", described)
        # Not modifiable nor snapshotable while creating.
        code, _, status = error_of(lambda: self.rds.modify_db_instance(
            DBInstanceIdentifier="restore-test", DeletionProtection=True, ApplyImmediately=True))
        self.assertEqual((code, status), ("InvalidDBInstanceState", 400))
        self.assertEqual(error_of(lambda: self.snapshot("restore-test", "early"))[0], "InvalidDBInstanceState")
        self.finish_instance("restore-test")
        described = self.instance("restore-test")
        self.assertEqual(described["DBInstanceStatus"], "available")
        self.assertEqual(described["Endpoint"]["Port"], 5432)
        self.assertTrue(described["Endpoint"]["Address"])

    def test_available_after_a_real_copy_delay(self) -> None:
        self.source_instance()
        self.snapshot()
        CONFIG.copy_delay_seconds = 0.5
        self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="restore-test",
                                                      DBSnapshotIdentifier="shop-1")
        wait_for("the restored instance to be available",
                 lambda: self.instance("restore-test")["DBInstanceStatus"] == "available", deadline=60)
        CONFIG.copy_delay_seconds = 0.0
        self.assertEqual(
            self.rds.restore_db_instance_from_db_snapshot(
                DBInstanceIdentifier="at-once", DBSnapshotIdentifier="shop-1")["DBInstance"]["DBInstanceStatus"],
            "available",
        )

    def test_encryption_engine_and_storage_come_from_the_snapshot(self) -> None:
        key = self.key()
        self.source_instance("sealed", key=key, version="15.4")
        snapshot = self.snapshot("sealed", "sealed-1")
        self.assertEqual((snapshot["Encrypted"], snapshot["KmsKeyId"]), (True, key))
        restored = self.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="sealed-restored", DBSnapshotIdentifier="sealed-1")["DBInstance"]
        self.assertEqual((restored["StorageEncrypted"], restored["KmsKeyId"]), (True, key))
        self.assertEqual((restored["Engine"], restored["EngineVersion"], restored["AllocatedStorage"]),
                         ("postgres", "15.4", 50))
        self.assertEqual(error_of(lambda: self.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="smaller", DBSnapshotIdentifier="sealed-1", AllocatedStorage=20))[0],
            "InvalidParameterValue")
        self.source_instance("open")
        self.snapshot("open", "open-1")
        restored = self.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="open-restored", DBSnapshotIdentifier="open-1")["DBInstance"]
        self.assertIs(restored["StorageEncrypted"], False)
        self.assertNotIn("KmsKeyId", restored)
        # The snapshot's key must be usable.
        self.kms.disable_key(KeyId=key.rsplit("/", 1)[1])
        code, _, status = error_of(lambda: self.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="sealed-again", DBSnapshotIdentifier="sealed-1"))
        self.assertEqual((code, status), ("KMSKeyNotAccessibleFault", 400))
        self.assertNotIn("sealed-again", self.backend.databases)

    def test_manage_master_user_password_on_restore_is_for_oracle_only(self) -> None:
        self.source_instance()
        self.snapshot()
        code, message, _ = error_of(lambda: self.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="managed", DBSnapshotIdentifier="shop-1", ManageMasterUserPassword=True))
        self.assertEqual(code, "InvalidParameterCombination")
        self.assertIn("Oracle", message)


class ClusterRestores(Emulated):
    def test_restore_then_instances_once_the_cluster_is_available(self) -> None:
        key = self.key()
        self.source_cluster(key=key)
        self.cluster_snapshot()
        subnet_group, security_group = self.network()
        restored = self.rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="restore-test", SnapshotIdentifier="ledger-1", Engine="aurora-postgresql",
            DBSubnetGroupName=subnet_group, VpcSecurityGroupIds=[security_group], DeletionProtection=False,
            Tags=[{"Key": "offsite:restore-test", "Value": "run-1"}],
        )["DBCluster"]
        self.assertEqual(restored["Status"], "creating")
        self.assertIs(restored["DeletionProtection"], False)
        self.assertEqual((restored["StorageEncrypted"], restored["KmsKeyId"]), (True, key))
        self.assertEqual((restored["Engine"], restored["EngineVersion"], restored["Port"]),
                         ("aurora-postgresql", "15.4", 5432))
        self.assertEqual(restored["DBClusterMembers"], [])
        self.assertEqual(restored["TagList"], [{"Key": "offsite:restore-test", "Value": "run-1"}])
        self.assertEqual([g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]], [security_group])

        def create(identifier: str) -> dict[str, Any]:
            return dict(self.rds.create_db_instance(
                DBInstanceIdentifier=identifier, DBClusterIdentifier="restore-test", Engine="aurora-postgresql",
                DBInstanceClass="db.t4g.medium", Tags=[{"Key": "offsite:restore-test", "Value": "run-1"}],
            )["DBInstance"])

        # "You can create DB instances only after ... the DB cluster is available."
        code, _, status = error_of(lambda: create("restore-test-1"))
        self.assertEqual((code, status), ("InvalidDBClusterStateFault", 400))
        self.assertEqual(self.cluster("restore-test")["Status"], "creating")
        self.finish_cluster("restore-test")
        self.assertEqual(self.cluster("restore-test")["Status"], "available")
        first = create("restore-test-1")
        self.assertEqual(first["DBInstanceStatus"], "creating")
        self.assertEqual(first["DBClusterIdentifier"], "restore-test")
        self.assertIs(first["PubliclyAccessible"], False)
        self.assertEqual((first["StorageEncrypted"], first["KmsKeyId"]), (True, key))
        second = create("restore-test-2")
        members = {m["DBInstanceIdentifier"]: m["IsClusterWriter"]
                   for m in self.cluster("restore-test")["DBClusterMembers"]}
        self.assertEqual(members, {"restore-test-1": True, "restore-test-2": False})
        self.assertEqual(self.instance("restore-test-1")["DBInstanceStatus"], "creating")
        self.finish_instance("restore-test-1")
        self.assertEqual(self.instance("restore-test-1")["DBInstanceStatus"], "available")
        self.assertEqual(self.instance("restore-test-2")["DBInstanceStatus"], second["DBInstanceStatus"])

    def test_the_restored_cluster_key(self) -> None:
        key, other = self.key(), self.key()
        self.source_cluster(key=key)
        self.cluster_snapshot()
        CONFIG.copy_delay_seconds = 0.0
        own = self.rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="with-key", SnapshotIdentifier="ledger-1", Engine="aurora-postgresql",
            KmsKeyId=other)["DBCluster"]
        self.assertEqual((own["StorageEncrypted"], own["KmsKeyId"], own["Status"]), (True, other, "available"))
        default = self.rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="snapshot-key", SnapshotIdentifier="ledger-1", Engine="aurora-postgresql")["DBCluster"]
        self.assertEqual((default["StorageEncrypted"], default["KmsKeyId"]), (True, key))
        self.assertIs(default["DeletionProtection"], False)  # the source's was true
        code, _, _ = error_of(lambda: self.rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="no-key", SnapshotIdentifier="ledger-1", Engine="aurora-postgresql",
            KmsKeyId="alias/does-not-exist"))
        self.assertEqual(code, "KMSKeyNotAccessibleFault")
        self.source_cluster("plain")
        self.cluster_snapshot("plain", "plain-1")
        plain = self.rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="plain-restored", SnapshotIdentifier="plain-1", Engine="aurora-postgresql")["DBCluster"]
        self.assertIs(plain["StorageEncrypted"], False)
        self.assertNotIn("KmsKeyId", plain)
        self.kms.disable_key(KeyId=key.rsplit("/", 1)[1])
        self.assertEqual(error_of(lambda: self.rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="disabled", SnapshotIdentifier="ledger-1", Engine="aurora-postgresql"))[0],
            "KMSKeyNotAccessibleFault")


class Deletes(Emulated):
    def restored(self, identifier: str = "restore-test", **extra: Any) -> None:
        if "shop" not in self.backend.databases:
            self.source_instance()
            self.snapshot()
        self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=identifier, DBSnapshotIdentifier="shop-1",
                                                      **extra)

    def test_instance_deletion_rules(self) -> None:
        self.restored(DeletionProtection=True)
        self.finish_instance("restore-test")
        code, message, status = error_of(lambda: self.rds.delete_db_instance(
            DBInstanceIdentifier="restore-test", SkipFinalSnapshot=True))
        self.assertEqual((code, status), ("InvalidParameterCombination", 400))
        self.assertIn("deletion protection", message)
        self.rds.modify_db_instance(DBInstanceIdentifier="restore-test", DeletionProtection=False, ApplyImmediately=True)
        code, message, _ = error_of(lambda: self.rds.delete_db_instance(DBInstanceIdentifier="restore-test"))
        self.assertEqual(code, "InvalidParameterCombination")
        self.assertIn("FinalDBSnapshotIdentifier", message)
        self.assertEqual(error_of(lambda: self.rds.delete_db_instance(
            DBInstanceIdentifier="restore-test", SkipFinalSnapshot=True, FinalDBSnapshotIdentifier="final"))[0],
            "InvalidParameterCombination")
        deleted = self.rds.delete_db_instance(DBInstanceIdentifier="restore-test", SkipFinalSnapshot=True)
        self.assertEqual(deleted["DBInstance"]["DBInstanceStatus"], "deleting")
        self.assertEqual(self.instance("restore-test")["DBInstanceStatus"], "deleting")
        self.assertIn("restore-test", [i["DBInstanceIdentifier"] for i in
                                       self.rds.describe_db_instances()["DBInstances"]])
        self.assertEqual(error_of(lambda: self.rds.delete_db_instance(
            DBInstanceIdentifier="restore-test", SkipFinalSnapshot=True))[0], "InvalidDBInstanceState")
        self.finish_instance("restore-test")
        code, _, status = error_of(lambda: self.instance("restore-test"))
        self.assertEqual((code, status), ("DBInstanceNotFound", 404))
        # SkipFinalSnapshot: no snapshot of it.
        self.assertEqual(self.rds.describe_db_snapshots(DBInstanceIdentifier="restore-test")["DBSnapshots"], [])

    def test_a_creating_instance_can_be_deleted_without_a_final_snapshot(self) -> None:
        self.restored()
        self.assertEqual(self.instance("restore-test")["DBInstanceStatus"], "creating")
        code, _, _ = error_of(lambda: self.rds.delete_db_instance(
            DBInstanceIdentifier="restore-test", FinalDBSnapshotIdentifier="final"))
        self.assertEqual(code, "InvalidDBInstanceState")
        self.assertEqual(self.rds.delete_db_instance(DBInstanceIdentifier="restore-test", SkipFinalSnapshot=True)[
            "DBInstance"]["DBInstanceStatus"], "deleting")

    def test_with_no_copy_delay_deletes_are_gone_at_once(self) -> None:
        CONFIG.copy_delay_seconds = 0.0
        self.restored()
        self.rds.delete_db_instance(DBInstanceIdentifier="restore-test", SkipFinalSnapshot=True)
        self.assertEqual(error_of(lambda: self.instance("restore-test"))[0], "DBInstanceNotFound")
        # A final snapshot, when asked for, is kept.
        self.restored("kept")
        self.rds.delete_db_instance(DBInstanceIdentifier="kept", FinalDBSnapshotIdentifier="kept-final")
        self.assertEqual(self.rds.describe_db_snapshots(DBSnapshotIdentifier="kept-final")["DBSnapshots"][0][
            "DBInstanceIdentifier"], "kept")

    def test_cluster_instances_first_then_the_cluster(self) -> None:
        self.source_cluster()
        self.cluster_snapshot()
        self.rds.restore_db_cluster_from_snapshot(DBClusterIdentifier="restore-test", SnapshotIdentifier="ledger-1",
                                                  Engine="aurora-postgresql", DeletionProtection=False)
        self.finish_cluster("restore-test")
        self.rds.create_db_instance(DBInstanceIdentifier="restore-test-1", DBClusterIdentifier="restore-test",
                                    Engine="aurora-postgresql", DBInstanceClass="db.t4g.medium")
        self.finish_instance("restore-test-1")
        code, message, status = error_of(lambda: self.rds.delete_db_cluster(
            DBClusterIdentifier="restore-test", SkipFinalSnapshot=True))
        self.assertEqual((code, status), ("InvalidDBClusterStateFault", 400))
        self.assertIn("non-deleting", message)
        self.assertEqual(error_of(lambda: self.rds.delete_db_cluster(DBClusterIdentifier="restore-test"))[0],
                         "InvalidParameterCombination")
        # An Aurora instance needs no final-snapshot choice: its snapshots are the cluster's.
        self.assertEqual(self.rds.delete_db_instance(DBInstanceIdentifier="restore-test-1")["DBInstance"][
            "DBInstanceStatus"], "deleting")
        # Its instances are all deleting: the cluster can go.
        self.assertEqual(self.rds.delete_db_cluster(DBClusterIdentifier="restore-test", SkipFinalSnapshot=True)[
            "DBCluster"]["Status"], "deleting")
        self.assertEqual(self.cluster("restore-test")["Status"], "deleting")
        self.assertEqual(error_of(lambda: self.rds.delete_db_cluster(
            DBClusterIdentifier="restore-test", SkipFinalSnapshot=True))[0], "InvalidDBClusterStateFault")
        self.finish_instance("restore-test-1")
        self.finish_cluster("restore-test")
        self.assertEqual(error_of(lambda: self.cluster("restore-test"))[:3:2], ("DBClusterNotFoundFault", 404))
        self.assertEqual(error_of(lambda: self.instance("restore-test-1"))[0], "DBInstanceNotFound")
        self.assertEqual(self.rds.describe_db_cluster_snapshots(DBClusterIdentifier="restore-test")[
            "DBClusterSnapshots"], [])

    def test_a_protected_cluster_is_not_deleted(self) -> None:
        self.source_cluster()  # DeletionProtection=True
        self.assertEqual(error_of(lambda: self.rds.delete_db_cluster(
            DBClusterIdentifier="ledger", SkipFinalSnapshot=True))[0], "InvalidParameterCombination")


class ManagedMasterPassword(Emulated):
    def test_an_instance_secret(self) -> None:
        CONFIG.copy_delay_seconds = 0.0
        self.source_instance()
        self.snapshot()
        self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="restore-test", DBSnapshotIdentifier="shop-1")
        code, _, _ = error_of(lambda: self.rds.modify_db_instance(
            DBInstanceIdentifier="restore-test", ManageMasterUserPassword=True, MasterUserPassword="another-pass-1"))
        self.assertEqual(code, "InvalidParameterCombination")
        self.assertEqual(error_of(lambda: self.rds.modify_db_instance(
            DBInstanceIdentifier="restore-test", RotateMasterUserPassword=True, ApplyImmediately=True))[0],
            "InvalidParameterCombination")
        modified = self.rds.modify_db_instance(DBInstanceIdentifier="restore-test", ManageMasterUserPassword=True,
                                               ApplyImmediately=True)["DBInstance"]
        secret = modified["MasterUserSecret"]
        arn = secret["SecretArn"]
        self.assertRegex(arn, rf"^arn:aws:secretsmanager:{REGION}:{A}:secret:rds!db-[0-9a-f-]{{36}}-[A-Za-z0-9]{{6}}$")
        aws_managed = self.kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]["Arn"]
        self.assertEqual(secret["KmsKeyId"], aws_managed)
        self.assertIn(secret["SecretStatus"], ("creating", "active"))
        self.assertEqual(self.instance("restore-test")["MasterUserSecret"]["SecretStatus"], "active")
        value = self.secrets.get_secret_value(SecretId=arn)
        self.assertTrue(value["Name"].startswith("rds!db-"))
        credentials = json.loads(value["SecretString"])
        self.assertEqual(sorted(credentials), ["password", "username"])
        self.assertEqual(credentials["username"], "offsite")
        password = credentials["password"]
        self.assertEqual(len(password), 32)
        self.assertFalse(set(password) & set('/"@ '))
        tags = {t["Key"]: t["Value"] for t in self.secrets.describe_secret(SecretId=arn)["Tags"]}
        self.assertEqual(tags["aws:rds:primaryDBInstanceArn"], f"arn:aws:rds:{REGION}:{A}:db:restore-test")
        self.assertEqual(tags["aws:secretsmanager:owningService"], "rds")
        # Asking again changes nothing.
        again = self.rds.modify_db_instance(DBInstanceIdentifier="restore-test", ManageMasterUserPassword=True,
                                            ApplyImmediately=True)["DBInstance"]
        self.assertEqual(again["MasterUserSecret"]["SecretArn"], arn)
        # Rotation: a new AWSCURRENT password.
        rotated = self.rds.modify_db_instance(DBInstanceIdentifier="restore-test", RotateMasterUserPassword=True,
                                              ApplyImmediately=True)["DBInstance"]
        self.assertEqual(rotated["MasterUserSecret"]["SecretStatus"], "rotating")
        new = json.loads(self.secrets.get_secret_value(SecretId=arn)["SecretString"])["password"]
        self.assertNotEqual(new, password)
        self.assertEqual(rds_restore.master_password(self.backend.databases["restore-test"]), new)
        # While managed, no password of one's own.
        self.assertEqual(error_of(lambda: self.rds.modify_db_instance(
            DBInstanceIdentifier="restore-test", MasterUserPassword="mine-password-1"))[0],
            "InvalidParameterCombination")
        # Turning it off needs a password.
        self.assertEqual(error_of(lambda: self.rds.modify_db_instance(
            DBInstanceIdentifier="restore-test", ManageMasterUserPassword=False))[0], "InvalidParameterCombination")
        # Deleting the instance deletes its secret.
        self.rds.delete_db_instance(DBInstanceIdentifier="restore-test", SkipFinalSnapshot=True)
        self.assertEqual(error_of(lambda: self.secrets.describe_secret(SecretId=arn))[0], "ResourceNotFoundException")

    def test_turning_it_off_uses_the_given_password(self) -> None:
        CONFIG.copy_delay_seconds = 0.0
        self.source_instance()
        arn = self.rds.modify_db_instance(DBInstanceIdentifier="shop", ManageMasterUserPassword=True,
                                          ApplyImmediately=True)["DBInstance"]["MasterUserSecret"]["SecretArn"]
        modified = self.rds.modify_db_instance(DBInstanceIdentifier="shop", ManageMasterUserPassword=False,
                                               MasterUserPassword="given-password-2", ApplyImmediately=True)
        self.assertNotIn("MasterUserSecret", modified["DBInstance"])
        self.assertEqual(error_of(lambda: self.secrets.describe_secret(SecretId=arn))[0], "ResourceNotFoundException")
        self.assertEqual(rds_restore.master_password(self.backend.databases["shop"]), "given-password-2")

    def test_a_cluster_secret(self) -> None:
        CONFIG.copy_delay_seconds = 0.0
        self.source_cluster()
        self.cluster_snapshot()
        self.rds.restore_db_cluster_from_snapshot(DBClusterIdentifier="restore-test", SnapshotIdentifier="ledger-1",
                                                  Engine="aurora-postgresql")
        self.rds.create_db_instance(DBInstanceIdentifier="restore-test-1", DBClusterIdentifier="restore-test",
                                    Engine="aurora-postgresql", DBInstanceClass="db.t4g.medium")
        # The instance's password is the cluster's.
        self.assertEqual(error_of(lambda: self.rds.modify_db_instance(
            DBInstanceIdentifier="restore-test-1", ManageMasterUserPassword=True, ApplyImmediately=True))[0],
            "InvalidParameterCombination")
        secret = self.rds.modify_db_cluster(DBClusterIdentifier="restore-test", ManageMasterUserPassword=True,
                                            ApplyImmediately=True)["DBCluster"]["MasterUserSecret"]
        self.assertRegex(secret["SecretArn"], r":secret:rds!cluster-[0-9a-f-]{36}-[A-Za-z0-9]{6}$")
        credentials = json.loads(self.secrets.get_secret_value(SecretId=secret["SecretArn"])["SecretString"])
        self.assertEqual(credentials["username"], "offsite")
        tags = {t["Key"]: t["Value"] for t in self.secrets.describe_secret(SecretId=secret["SecretArn"])["Tags"]}
        self.assertEqual(tags["aws:rds:primaryDBClusterArn"], f"arn:aws:rds:{REGION}:{A}:cluster:restore-test")
        self.assertEqual(self.cluster("restore-test")["MasterUserSecret"]["SecretArn"], secret["SecretArn"])
        self.rds.delete_db_instance(DBInstanceIdentifier="restore-test-1")
        self.rds.delete_db_cluster(DBClusterIdentifier="restore-test", SkipFinalSnapshot=True)
        self.assertEqual(error_of(lambda: self.secrets.describe_secret(SecretId=secret["SecretArn"]))[0],
                         "ResourceNotFoundException")


def psql(port: int, user: str, password: str, database: str, sql: str, sslmode: str = "require",
         ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSWORD"] = password
    conninfo = f"host=127.0.0.1 port={port} user={user} dbname={database} sslmode={sslmode} connect_timeout=10"
    return subprocess.run([PSQL, conninfo, "-X", "-A", "-t", "-c", sql], env=env, capture_output=True, text=True,
                          timeout=60)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@unittest.skipUnless(HAVE_POSTGRES, NO_POSTGRES)
class PostgresServers(Emulated):
    """``--postgres-bin``: restored PostgreSQL databases are real servers."""

    def setUp(self) -> None:
        super().setUp()
        rds_postgres.configure(str(PG_BIN))
        self.addCleanup(rds_postgres.configure, None)
        CONFIG.copy_delay_seconds = 0.0

    def available(self, identifier: str) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            answer = self.instance(identifier)
            self.assertIn(answer["DBInstanceStatus"], ("creating", "available"), answer.get("DBInstanceStatus"))
            return answer if answer["DBInstanceStatus"] == "available" else None

        return dict(wait_for(f"{identifier} to be available", ready))

    def servers_gone(self, pids: list[int], directories: list[str]) -> None:
        wait_for("the servers to stop", lambda: rds_postgres.report()["servers"] == [])
        wait_for("their processes to end", lambda: not any(pid_alive(p) for p in pids))
        for directory in directories:
            self.assertFalse(Path(directory).exists(), directory)

    def test_the_restored_instance_serves_the_snapshot_data(self) -> None:
        self.source_instance(content=CONTENT)
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
        [server] = rds_postgres.report()["servers"]
        self.assertEqual((server["kind"], server["identifier"], server["state"], server["port"]),
                         ("instance", "restore-test", "ready", port))
        # The source's master password (what the snapshot holds) works; a wrong one does not.
        out = psql(port, "offsite", "source-password-1", "shop", "SELECT count(*) FROM public.orders")
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "3"), out.stderr)
        wrong = psql(port, "offsite", "not-the-password", "shop", "SELECT 1")
        self.assertNotEqual(wrong.returncode, 0)
        self.assertIn("password authentication failed", wrong.stderr)
        # RDS for PostgreSQL 15: TLS only (rds.force_ssl 1).
        self.assertNotEqual(psql(port, "offsite", "source-password-1", "shop", "SELECT 1", sslmode="disable")
                            .returncode, 0)
        # The managed secret's password replaces it.
        arn = self.rds.modify_db_instance(DBInstanceIdentifier="restore-test", ManageMasterUserPassword=True,
                                          ApplyImmediately=True)["DBInstance"]["MasterUserSecret"]["SecretArn"]
        credentials = json.loads(self.secrets.get_secret_value(SecretId=arn)["SecretString"])
        self.assertNotEqual(psql(port, "offsite", "source-password-1", "shop", "SELECT 1").returncode, 0)
        queries = {
            "SELECT count(*) FROM public.orders": "3",
            "SELECT count(*) FROM audit.events": "250",
            "SELECT max(placed_at) AT TIME ZONE 'UTC' FROM public.orders": "2026-03-04 05:06:07",
            "SELECT sum(total) FROM public.orders": "15.51",
            "SELECT note FROM public.orders WHERE id = 3": "Robert'); DROP TABLE orders;--",
            "SELECT meta->'a'->>1 FROM public.orders WHERE id = 1": "2",
            "SELECT encode(blob, 'hex') FROM public.orders WHERE id = 1": "0001ff",
            "SELECT tags[2] FROM public.orders WHERE id = 1": "y z",
            "SELECT count(*) FROM public.orders WHERE paid": "1",
            "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'": "offsite",
        }
        for sql, expected in queries.items():
            out = psql(port, credentials["username"], credentials["password"], "shop", sql)
            self.assertEqual((out.returncode, out.stdout.strip()), (0, expected), f"{sql}: {out.stderr}")
        note = psql(port, "offsite", credentials["password"], "shop",
                    "SELECT note = E'tab\\there, ''quoted'', back\\\\slash\\nnewline' FROM public.orders WHERE id = 1")
        self.assertEqual(note.stdout.strip(), "t", note.stderr)
        out = psql(port, "offsite", credentials["password"], "crm", "SELECT string_agg(name, ',' ORDER BY name) FROM contacts")
        self.assertEqual(out.stdout.strip(), "Ada,Grace", out.stderr)
        # Rotation sets the new password in the database.
        self.rds.modify_db_instance(DBInstanceIdentifier="restore-test", RotateMasterUserPassword=True,
                                    ApplyImmediately=True)
        rotated = json.loads(self.secrets.get_secret_value(SecretId=arn)["SecretString"])["password"]
        self.assertEqual(psql(port, "offsite", rotated, "shop", "SELECT 1").returncode, 0)
        self.assertNotEqual(psql(port, "offsite", credentials["password"], "shop", "SELECT 1").returncode, 0)
        # Deleting the instance stops the server and removes its directory.
        self.rds.delete_db_instance(DBInstanceIdentifier="restore-test", SkipFinalSnapshot=True)
        self.servers_gone([int(server["pid"])], [str(server["directory"])])

    def test_an_aurora_cluster_is_served_through_its_instance_and_endpoints(self) -> None:
        self.source_cluster(content=CONTENT[1:])
        self.cluster_snapshot()
        self.rds.restore_db_cluster_from_snapshot(DBClusterIdentifier="restore-test", SnapshotIdentifier="ledger-1",
                                                  Engine="aurora-postgresql", DeletionProtection=False)
        self.assertEqual(rds_postgres.report()["servers"], [])  # no instance yet
        self.rds.create_db_instance(DBInstanceIdentifier="restore-test-1", DBClusterIdentifier="restore-test",
                                    Engine="aurora-postgresql", DBInstanceClass="db.t4g.medium")
        endpoint = self.available("restore-test-1")["Endpoint"]
        cluster = self.cluster("restore-test")
        self.assertEqual((cluster["Endpoint"], cluster["ReaderEndpoint"]), ("127.0.0.1", "127.0.0.1"))
        self.assertEqual(cluster["Port"], endpoint["Port"])
        out = psql(int(cluster["Port"]), "offsite", "source-password-1", "crm", "SELECT count(*) FROM contacts",
                   sslmode="disable")  # Aurora PostgreSQL: rds.force_ssl 0
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "2"), out.stderr)
        arn = self.rds.modify_db_cluster(DBClusterIdentifier="restore-test", ManageMasterUserPassword=True,
                                         ApplyImmediately=True)["DBCluster"]["MasterUserSecret"]["SecretArn"]
        password = json.loads(self.secrets.get_secret_value(SecretId=arn)["SecretString"])["password"]
        self.assertEqual(psql(int(cluster["Port"]), "offsite", password, "crm", "SELECT 1").returncode, 0)
        [server] = rds_postgres.report()["servers"]
        self.assertEqual((server["kind"], server["identifier"]), ("cluster", "restore-test"))
        self.rds.delete_db_instance(DBInstanceIdentifier="restore-test-1")
        self.assertEqual(rds_postgres.report()["servers"][0]["state"], "ready")  # the cluster's, still there
        self.rds.delete_db_cluster(DBClusterIdentifier="restore-test", SkipFinalSnapshot=True)
        self.servers_gone([int(server["pid"])], [str(server["directory"])])

    def test_data_the_server_refuses_fails_the_instance(self) -> None:
        bad = [{"name": "shop", "tables": [{"schema": "public", "name": "days",
                                            "columns": [{"name": "day", "type": "date"}], "rows": [["not a date"]]}]}]
        self.source_instance(content=bad)
        self.snapshot()
        with self.assertLogs("offsite_emulator.rds_postgres", "ERROR") as logged:
            self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="restore-test",
                                                          DBSnapshotIdentifier="shop-1")
            wait_for("the restore to fail", lambda: self.instance("restore-test")["DBInstanceStatus"] == "failed")
        self.assertIn("restore-test failed", logged.output[0])
        [server] = rds_postgres.report()["servers"]
        self.assertEqual(server["state"], "failed")
        self.assertIn("not a date", server["error"])
        self.rds.delete_db_instance(DBInstanceIdentifier="restore-test", SkipFinalSnapshot=True)
        wait_for("the server to be gone", lambda: rds_postgres.report()["servers"] == [])

    def test_reset_stops_every_server(self) -> None:
        self.source_instance(content=CONTENT[1:])
        self.snapshot()
        for name in ("one", "two"):
            self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=name, DBSnapshotIdentifier="shop-1")
        self.available("one")
        servers = rds_postgres.report()["servers"]
        self.assertEqual(len(servers), 2)
        from patches.state import run_reset_hooks

        run_reset_hooks()  # what POST /moto-api/reset runs after moto's own reset
        self.assertEqual(rds_postgres.report()["servers"], [])
        self.servers_gone([int(s["pid"]) for s in servers if s["pid"]], [str(s["directory"]) for s in servers])


class LauncherFlag(unittest.TestCase):
    def test_a_directory_without_postgres_is_refused(self) -> None:
        import offsite_emulator

        with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()) as usage:
            offsite_emulator.parse_args(["--postgres-bin", "/nonexistent"])
        self.assertIn("--postgres-bin: no PostgreSQL server binaries", usage.getvalue())
        self.assertIsNone(offsite_emulator.parse_args([]).postgres_bin)
        self.assertFalse(rds_postgres.enabled())


class LauncherCase:
    """A real emulator process started with ``flags()`` (a mixin of ``unittest.TestCase``
    classes): its endpoint, an RDS client, control calls; killed with SIGKILL at the end (as
    the Rust harness stops it)."""

    process: subprocess.Popen[bytes]
    endpoint: str

    def flags(self) -> list[str]:
        raise NotImplementedError

    def setUp(self) -> None:
        case: Any = self
        self.process = subprocess.Popen(
            [sys.executable, str(EMULATOR), "--port", "0", *self.flags(), "--parent-pid", str(os.getpid())],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        case.addCleanup(self._stop)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        match = re.fullmatch(r"OFFSITE_EMULATOR_READY port=(\d+)\n", line)
        case.assertIsNotNone(match, line)
        self.endpoint = f"http://127.0.0.1:{match.group(1)}"  # type: ignore[union-attr]
        self.rds = boto3.client("rds", region_name=REGION, endpoint_url=self.endpoint,
                                aws_access_key_id="testing", aws_secret_access_key="testing")

    def _stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def control(self, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.endpoint + path, data=data, method="POST" if data is not None else "GET")
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)


@unittest.skipUnless(HAVE_POSTGRES, NO_POSTGRES)
class LauncherProcess(LauncherCase, unittest.TestCase):
    """The real emulator process with ``--postgres-bin auto``: the control call, reset, and
    nothing left behind when it is killed with SIGKILL (as the Rust harness stops it)."""

    def flags(self) -> list[str]:
        return ["--postgres-bin", "auto"]

    def restore(self, name: str) -> dict[str, Any]:
        self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=name, DBSnapshotIdentifier="shop-1")
        answer = wait_for(f"{name} to be available", lambda: [
            i for i in self.rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"]
            if i["DBInstanceStatus"] == "available"])
        return dict(answer[0])

    def seed(self) -> None:
        self.rds.create_db_instance(DBInstanceIdentifier="shop", DBInstanceClass="db.t3.micro", Engine="postgres",
                                    EngineVersion="14.9", MasterUsername="offsite",
                                    MasterUserPassword="source-password-1", AllocatedStorage=20)
        answer = self.control("/_offsite/rds/content", {"account": A, "region": REGION, "kind": "instance",
                                                         "identifier": "shop", "databases": CONTENT})
        self.assertEqual(answer["rows"], 255)
        self.rds.create_db_snapshot(DBInstanceIdentifier="shop", DBSnapshotIdentifier="shop-1")

    def test_report_reset_and_kill(self) -> None:
        self.assertEqual(self.control("/_offsite/rds/postgres")["servers"], [])
        self.seed()
        endpoint = self.restore("restore-test")["Endpoint"]
        report = self.control("/_offsite/rds/postgres")
        self.assertTrue(report["enabled"])
        [server] = report["servers"]
        self.assertEqual((server["state"], server["port"]), ("ready", endpoint["Port"]))
        # A client that verifies the server against the emulator's certificate.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGPASSWORD"] = "source-password-1"
        out = subprocess.run(
            [PSQL, f"host=127.0.0.1 port={endpoint['Port']} user=offsite dbname=shop sslmode=verify-full "
                   f"sslrootcert={report['ca_certificate']}", "-Atc", "SELECT count(*) FROM audit.events"],
            env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "250"), out.stderr)
        # POST /moto-api/reset stops it before answering.
        urllib.request.urlopen(urllib.request.Request(self.endpoint + "/moto-api/reset", method="POST"), timeout=60)
        self.assertEqual(self.control("/_offsite/rds/postgres")["servers"], [])
        self.assertFalse(pid_alive(int(server["pid"])))
        self.assertFalse(Path(server["directory"]).exists())
        # Killed with SIGKILL: the reaper ends the servers and removes the directories.
        self.seed()
        self.restore("again")
        report = self.control("/_offsite/rds/postgres")
        [server] = report["servers"]
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        wait_for("the killed emulator's server to end", lambda: not pid_alive(int(server["pid"])), deadline=30)
        wait_for("its directory to be removed", lambda: not Path(report["base_dir"]).exists(), deadline=30)
        left = subprocess.run(["pgrep", "-f", report["base_dir"]], capture_output=True, text=True).stdout
        self.assertEqual(left.strip(), "")


def tearDownModule() -> None:
    rds_postgres.shutdown()


if __name__ == "__main__":
    unittest.main()
