"""Unit tests of how ``patches/iam_enforce.py`` maps a restore test's requests to IAM resources:
Secrets Manager (reading the master password RDS manages) and the RDS restores.

    .venv/bin/python -m unittest discover -s tests/emulator/tests

References: Service Authorization Reference, "Actions, resources, and condition keys for AWS
Secrets Manager" (resource type ``Secret``:
``arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}``; GetSecretValue and
DescribeSecret take it, required).
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from patches import iam_catalogue, iam_enforce  # noqa: E402
from patches.iam_enforce import Call  # noqa: E402

A = "123456789012"
REGION = "us-east-1"


def call(operation: str, **params: object) -> Call:
    return Call(service="secretsmanager", operation=operation, account=A, region=REGION, params=dict(params),
                headers={"x-amz-target": f"secretsmanager.{operation}"})


class SecretsManagerMapping(unittest.TestCase):
    def test_a_secret_is_authorized_on_its_full_arn(self) -> None:
        info = iam_catalogue.action("secretsmanager", "GetSecretValue")
        assert info is not None
        with mock_aws():
            arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
                Name="rds!db-0f1e2d3c", SecretString='{"username": "offsite", "password": "p"}')["ARN"]
            self.assertRegex(arn, r":secret:rds!db-0f1e2d3c-[A-Za-z0-9]{6}$")
            # By name: the ARN moto holds, suffix included; by ARN: as given.
            self.assertEqual(iam_enforce.resources_of(call("GetSecretValue", SecretId="rds!db-0f1e2d3c"), info), [arn])
            self.assertEqual(iam_enforce.resources_of(call("GetSecretValue", SecretId=arn), info), [arn])
            # A secret moto does not hold: the name as the ARN's last part.
            self.assertEqual(
                iam_enforce.resources_of(call("GetSecretValue", SecretId="missing"), info),
                [f"arn:aws:secretsmanager:{REGION}:{A}:secret:missing"],
            )

    def test_a_secrets_tags_are_its_resource_tags(self) -> None:
        """``aws:ResourceTag/...`` of a secret: the tags RDS gives a secret it manages
        (``aws:rds:primaryDBInstanceArn``), which a role's GetSecretValue may condition on."""
        with mock_aws():
            db = f"arn:aws:rds:{REGION}:{A}:db:rt-1"
            arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
                Name="rds!db-1", SecretString="{}", Tags=[{"Key": "aws:rds:primaryDBInstanceArn", "Value": db}])["ARN"]
            self.assertEqual(iam_enforce._tags_of(arn), {"aws:rds:primaryDBInstanceArn": db})
            self.assertEqual(iam_enforce._tags_of(arn + "x"), {})


class RestoreMapping(unittest.TestCase):
    """RestoreDBClusterFromSnapshot is authorized on the cluster snapshot too, and a named DB
    subnet group on its ``subgrp`` ARN (Service Authorization Reference, Amazon RDS:
    ``cluster-snapshot``, ``snapshot``, ``subgrp`` resource types of the restores)."""

    def rds(self, operation: str, **params: object) -> list[str]:
        info = iam_catalogue.action("rds", operation)
        assert info is not None
        request = Call(service="rds", operation=operation, account=A, region=REGION, params=dict(params), headers={})
        return sorted(iam_enforce.resources_of(request, info))

    def test_the_snapshot_and_the_subnet_group_are_resources(self) -> None:
        self.assertEqual(
            self.rds("RestoreDBClusterFromSnapshot", DBClusterIdentifier="Restore-Test", SnapshotIdentifier="ledger-1",
                     Engine="aurora-postgresql", DBSubnetGroupName="restore-tests"),
            sorted([f"arn:aws:rds:{REGION}:{A}:cluster:restore-test",
                    f"arn:aws:rds:{REGION}:{A}:cluster-snapshot:ledger-1",
                    f"arn:aws:rds:{REGION}:{A}:subgrp:restore-tests"]),
        )
        shared = f"arn:aws:rds:{REGION}:333333333333:cluster-snapshot:ledger-1"
        self.assertIn(shared, self.rds("RestoreDBClusterFromSnapshot", DBClusterIdentifier="r",
                                       SnapshotIdentifier=shared, Engine="aurora-postgresql"))
        self.assertEqual(
            self.rds("RestoreDBInstanceFromDBSnapshot", DBInstanceIdentifier="r", DBSnapshotIdentifier="shop-1",
                     DBSubnetGroupName="restore-tests"),
            sorted([f"arn:aws:rds:{REGION}:{A}:snapshot:shop-1", f"arn:aws:rds:{REGION}:{A}:db:r",
                    f"arn:aws:rds:{REGION}:{A}:subgrp:restore-tests"]),
        )

    def tagging(self, operation: str, **params: object) -> list[str]:
        """The resources ``rds:AddTagsToResource`` is authorized on for the request's tags."""
        params = {**params, "Tags.Tag.1.Key": "offsite:managed-by", "Tags.Tag.1.Value": "offsite-restore-test"}
        request = Call(service="rds", operation=operation, account=A, region=REGION, params=params, headers={})
        principal = iam_enforce.Principal(A, arn=f"arn:aws:sts::{A}:assumed-role/r/s", role_arn=f"arn:aws:iam::{A}:role/r")
        return [a.resource for a in iam_enforce.authorizations(request, principal) if a.action == "rds:AddTagsToResource"]

    def test_tags_at_creation_are_authorized_on_the_new_resource_not_the_snapshot(self) -> None:
        """RDS User Guide, "Granting permission to tag Amazon RDS resources during creation"."""
        self.assertEqual(self.tagging("RestoreDBInstanceFromDBSnapshot", DBInstanceIdentifier="rt-1",
                                      DBSnapshotIdentifier="vault-1"), [f"arn:aws:rds:{REGION}:{A}:db:rt-1"])
        self.assertEqual(self.tagging("RestoreDBClusterFromSnapshot", DBClusterIdentifier="rt-2",
                                      SnapshotIdentifier="vault-2", Engine="aurora-postgresql"),
                         [f"arn:aws:rds:{REGION}:{A}:cluster:rt-2"])
        self.assertEqual(self.tagging("CreateDBInstance", DBInstanceIdentifier="rt-2-i", DBClusterIdentifier="rt-2",
                                      Engine="aurora-postgresql"), [f"arn:aws:rds:{REGION}:{A}:db:rt-2-i"])
        self.assertEqual(self.tagging("CopyDBSnapshot", SourceDBSnapshotIdentifier="a", TargetDBSnapshotIdentifier="b"),
                         [f"arn:aws:rds:{REGION}:{A}:snapshot:b"])


if __name__ == "__main__":
    unittest.main()
