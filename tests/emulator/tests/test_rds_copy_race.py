"""Two concurrent copies to one target: RDS starts one and refuses the other
(API_CopyDBSnapshot / API_CopyDBClusterSnapshot, Errors: DBSnapshotAlreadyExists,
DBClusterSnapshotAlreadyExistsFault). moto's threaded server checks and inserts without a
lock, and the emulator's key checks run between the two; ``patches/rds_cross_account.py``
holds one lock over both. What runs between moto's check and its insert is slowed down here, so
that without the lock both copies would be created.

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
from moto import mock_aws  # noqa: E402
from moto.rds.exceptions import DBClusterSnapshotAlreadyExistsError, DBSnapshotAlreadyExistsError  # noqa: E402
from moto.rds.models import RDSBackend, rds_backends  # noqa: E402

from patches import rds_cross_account  # noqa: E402

ACCOUNT = "123456789012"
REGION = "us-east-1"

if not hasattr(RDSBackend.copy_db_snapshot, "__wrapped__"):
    rds_cross_account.apply()


def race(copy: Any, already_exists: type) -> list[str]:
    """Runs ``copy`` in two threads at once; what each got."""
    results: list[str] = []
    start = threading.Barrier(2)

    def one() -> None:
        start.wait()
        try:
            copy()
            results.append("copied")
        except already_exists:
            results.append("already exists")

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(results)


class ConcurrentCopies(unittest.TestCase):
    def setUp(self) -> None:
        self.mock = mock_aws()
        self.mock.start()
        self.addCleanup(self.mock.stop)
        # Slow down what runs between moto's existence check and its insert (the source's
        # lookup) and the emulator's own checks before it.
        for owner, name in [
            (rds_cross_account, "_check_copy"),
            (RDSBackend, "get_db_snapshot"),
            (RDSBackend, "get_db_cluster_snapshot"),
        ]:
            original = getattr(owner, name)

            def slow(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                time.sleep(0.1)
                return _original(*args, **kwargs)

            setattr(owner, name, slow)
            self.addCleanup(setattr, owner, name, original)
        self.rds = boto3.client("rds", region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b")
        self.backend = rds_backends[ACCOUNT][REGION]

    def test_one_instance_snapshot_copy_is_made_the_other_refused(self) -> None:
        self.rds.create_db_instance(
            DBInstanceIdentifier="orders", DBInstanceClass="db.t3.micro", Engine="postgres",
            MasterUsername="u", MasterUserPassword="password1", AllocatedStorage=20,
        )
        self.rds.create_db_snapshot(DBInstanceIdentifier="orders", DBSnapshotIdentifier="source")
        results = race(lambda: self.backend.copy_db_snapshot("source", "target"), DBSnapshotAlreadyExistsError)
        self.assertEqual(results, ["already exists", "copied"])
        self.assertEqual([s for s in self.backend.database_snapshots if s == "target"], ["target"])

    def test_one_cluster_snapshot_copy_is_made_the_other_refused(self) -> None:
        self.rds.create_db_cluster(
            DBClusterIdentifier="ledger", Engine="aurora-postgresql", MasterUsername="u",
            MasterUserPassword="password1",
        )
        self.rds.create_db_cluster_snapshot(DBClusterIdentifier="ledger", DBClusterSnapshotIdentifier="source")
        results = race(
            lambda: self.backend.copy_db_cluster_snapshot("source", "target"), DBClusterSnapshotAlreadyExistsError
        )
        self.assertEqual(results, ["already exists", "copied"])


if __name__ == "__main__":
    unittest.main()
