"""RDS's manual snapshot quotas per account, Region and kind (``patches/rds_snapshot_quota.py``):
``SnapshotQuotaExceeded`` at the quota for creates and copies of either kind, AWS Backup's and
automated snapshots not counted, an existing target reported first, DescribeAccountAttributes
with the real usage, and no overshoot when copies race for the last place.

    .venv/bin/python -m unittest discover -s tests/emulator/tests
"""

from __future__ import annotations

import sys
import threading
import time
import unittest
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.rds.models import rds_backends  # noqa: E402

from patches import rds_snapshot_quota  # noqa: E402

ACCOUNT = "123456789012"
REGION = "us-east-1"

rds_snapshot_quota.apply()


def code(call: Any) -> str:
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "ok"


def quotas(rds: Any) -> dict[str, tuple[int, int]]:
    listed = rds.describe_account_attributes()["AccountQuotas"]
    return {q["AccountQuotaName"]: (q["Used"], q["Max"]) for q in listed}


@mock_aws
class ManualSnapshotQuota(unittest.TestCase):
    def setUp(self) -> None:
        rds_snapshot_quota._forget_quotas()
        self.rds = boto3.client("rds", region_name=REGION)
        self.rds.create_db_instance(
            DBInstanceIdentifier="orders", DBInstanceClass="db.t3.micro", Engine="postgres",
            MasterUsername="admin", MasterUserPassword="password123", AllocatedStorage=20,
        )
        self.rds.create_db_cluster(
            DBClusterIdentifier="ledger", Engine="aurora-postgresql",
            MasterUsername="admin", MasterUserPassword="password123",
        )

    def snapshot(self, name: str) -> str:
        return code(lambda: self.rds.create_db_snapshot(DBInstanceIdentifier="orders", DBSnapshotIdentifier=name))

    def cluster_snapshot(self, name: str) -> str:
        return code(
            lambda: self.rds.create_db_cluster_snapshot(DBClusterIdentifier="ledger", DBClusterSnapshotIdentifier=name)
        )

    def test_the_default_is_a_hundred_of_each_kind_and_usage_counts_manual_snapshots(self) -> None:
        self.assertEqual(quotas(self.rds), {"ManualSnapshots": (0, 100), "ManualClusterSnapshots": (0, 100)})
        self.assertEqual(self.snapshot("orders-1"), "ok")
        self.assertEqual(self.cluster_snapshot("ledger-1"), "ok")
        self.assertEqual(quotas(self.rds), {"ManualSnapshots": (1, 100), "ManualClusterSnapshots": (1, 100)})

    def test_creates_and_copies_stop_at_the_quota_of_their_own_kind(self) -> None:
        rds_snapshot_quota.set_quotas(ACCOUNT, REGION, {"ManualSnapshots": 2, "ManualClusterSnapshots": 1})
        self.assertEqual([self.snapshot("orders-1"), self.snapshot("orders-2")], ["ok", "ok"])
        self.assertEqual(self.snapshot("orders-3"), "SnapshotQuotaExceeded")
        copy = lambda: self.rds.copy_db_snapshot(  # noqa: E731
            SourceDBSnapshotIdentifier="orders-1", TargetDBSnapshotIdentifier="orders-copy"
        )
        self.assertEqual(code(copy), "SnapshotQuotaExceeded")
        # An existing target is reported as such, not as the quota.
        self.assertEqual(self.snapshot("orders-1"), "DBSnapshotAlreadyExists")
        # The other kind has its own quota.
        self.assertEqual(self.cluster_snapshot("ledger-1"), "ok")
        self.assertEqual(self.cluster_snapshot("ledger-2"), "SnapshotQuotaExceeded")
        cluster_copy = lambda: self.rds.copy_db_cluster_snapshot(  # noqa: E731
            SourceDBClusterSnapshotIdentifier="ledger-1", TargetDBClusterSnapshotIdentifier="ledger-copy"
        )
        self.assertEqual(code(cluster_copy), "SnapshotQuotaExceeded")
        # Space made, room again.
        self.rds.delete_db_snapshot(DBSnapshotIdentifier="orders-2")
        self.assertEqual(code(copy), "ok")
        self.assertEqual(quotas(self.rds), {"ManualSnapshots": (2, 2), "ManualClusterSnapshots": (1, 1)})

    def test_aws_backup_and_automated_snapshots_do_not_count(self) -> None:
        rds_snapshot_quota.set_quotas(ACCOUNT, REGION, {"ManualSnapshots": 1, "ManualClusterSnapshots": 1})
        backend = rds_backends[ACCOUNT][REGION]
        backend.create_db_snapshot("orders", "awsbackup:job-1", snapshot_type="awsbackup")
        backend.create_db_snapshot("orders", "rds:orders-2026-12-06-03-00", snapshot_type="automated")
        backend.create_db_cluster_snapshot("ledger", "awsbackup:job-2", snapshot_type="manual")
        self.assertEqual(quotas(self.rds), {"ManualSnapshots": (0, 1), "ManualClusterSnapshots": (0, 1)})
        self.assertEqual(self.snapshot("orders-1"), "ok")
        self.assertEqual(self.cluster_snapshot("ledger-1"), "ok")
        self.assertEqual(self.snapshot("orders-2"), "SnapshotQuotaExceeded")

    def test_quotas_are_per_account_and_region(self) -> None:
        rds_snapshot_quota.set_quotas(ACCOUNT, REGION, {"ManualSnapshots": 0})
        self.assertEqual(self.snapshot("orders-1"), "SnapshotQuotaExceeded")
        other_region = boto3.client("rds", region_name="us-west-2")
        self.assertEqual(
            {q["AccountQuotaName"]: q["Max"] for q in other_region.describe_account_attributes()["AccountQuotas"]},
            {"ManualSnapshots": 100, "ManualClusterSnapshots": 100},
        )

    def test_copies_racing_for_the_last_place_never_overshoot(self) -> None:
        self.assertEqual(self.snapshot("orders-1"), "ok")
        rds_snapshot_quota.set_quotas(ACCOUNT, REGION, {"ManualSnapshots": 2})
        results: list[str] = []
        start = threading.Barrier(4)

        def copy(target: str) -> None:
            start.wait()
            try:
                rds_backends[ACCOUNT][REGION].copy_db_snapshot("orders-1", target)
            except Exception as error:  # moto's RDSClientError
                results.append(type(error).__name__)
            else:
                results.append("ok")

        # The count is slowed down, so that without the lock over count and creation every
        # copy would count before any is created.
        count = rds_snapshot_quota.used

        def slow_count(backend: Any, cluster: bool) -> int:
            counted = count(backend, cluster)
            time.sleep(0.2)
            return counted

        rds_snapshot_quota.used = slow_count  # type: ignore[assignment]
        try:
            threads = [threading.Thread(target=copy, args=(f"copy-{i}",)) for i in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            rds_snapshot_quota.used = count  # type: ignore[assignment]
        self.assertEqual(sorted(results), ["SnapshotQuotaExceededFault"] * 3 + ["ok"])
        self.assertEqual(quotas(self.rds)["ManualSnapshots"], (2, 2))


if __name__ == "__main__":
    unittest.main()
