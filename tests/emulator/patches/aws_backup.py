"""AWS Backup recovery points for RDS and Aurora, made on request (moto has no AWS Backup
integration with RDS).

AWS behaviour reproduced ("Amazon RDS" and "Amazon Aurora" pages of the AWS Backup Developer
Guide; DescribeDBSnapshots and DescribeDBClusterSnapshots API references, ``SnapshotType``):
a backup job of a DB instance or cluster produces a snapshot named ``awsbackup:job-<job id>``
carrying the plan's ``recovery_point_tags``. A DB instance's has ``SnapshotType``
``awsbackup`` and is listed only when that type is asked for; "the awsbackup type does not
apply to Aurora", so a cluster's is a ``manual`` cluster snapshot. AWS Backup reports the
job ``COMPLETED`` once the snapshot is available.

The control call ``POST /_offsite/backup/recovery-point`` stands in for a finished backup
job: it creates that snapshot, already ``available`` (AWS Backup only reports COMPLETED
then), and returns its ARN, identifier and job id, so a test can send the matching
``Backup Job State Change`` event.

Not reproduced: backup plans, vaults, jobs, the ``aws:backup:source-resource`` tag. (That
AWS Backup snapshots do not count against the manual snapshot quota is
``rds_snapshot_quota``'s.)
"""

from __future__ import annotations

import uuid
from typing import Any

from moto.rds.models import rds_backends


def create_recovery_point(
    account: str, region: str, kind: str, resource: str, tags: dict[str, str]
) -> dict[str, Any]:
    """Create the snapshot a completed backup job of ``resource`` leaves behind.

    Raises KeyError if the DB instance or cluster does not exist.
    """
    backend = rds_backends[account][region]
    job_id = str(uuid.uuid4()).upper()
    identifier = f"awsbackup:job-{job_id.lower()}"
    tag_list = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
    if kind == "cluster":
        if resource not in backend.clusters:
            raise KeyError(resource)
        snapshot = backend.create_db_cluster_snapshot(
            resource, identifier, snapshot_type="manual", tags=tag_list
        )
    else:
        if resource not in backend.databases:
            raise KeyError(resource)
        snapshot = backend.create_db_snapshot(
            resource, identifier, snapshot_type="awsbackup", tags=tag_list
        )
    # A finished job: the recovery point is complete when AWS Backup reports it.
    snapshot.__dict__["_offsite_delay"] = 0.0
    arn = snapshot.db_cluster_snapshot_arn if kind == "cluster" else snapshot.db_snapshot_arn
    return {"arn": arn, "identifier": identifier, "backup_job_id": job_id}
