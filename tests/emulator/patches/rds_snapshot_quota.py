"""RDS's manual snapshot quotas, per account, Region and kind, and DescribeAccountAttributes.

AWS behaviour reproduced:

* "Quotas in Amazon RDS" (RDS user guide): per account and Region, 100 manual DB instance
  snapshots and 100 manual DB cluster snapshots by default, adjustable through Service
  Quotas; "Backups managed by AWS Backup are considered manual DB snapshots, but don't count
  toward the manual snapshot quota".
* CreateDBSnapshot, CopyDBSnapshot, CreateDBClusterSnapshot and CopyDBClusterSnapshot (API
  references, Errors): ``SnapshotQuotaExceeded`` (``SnapshotQuotaExceededFault``, HTTP 400),
  "The request would result in the user exceeding the allowed number of DB snapshots", for
  both kinds; an existing target is still reported as already existing first.
* DescribeAccountAttributes (API reference) and AccountQuota: ``ManualSnapshots`` ("The
  number of manual DB instance snapshots per account. The used value is the count of the
  manual DB instance snapshots in the account") and ``ManualClusterSnapshots`` (the same for
  DB cluster snapshots), each with ``Used`` and ``Max``.

moto 5.2.5 counts every snapshot of a backend (automated and AWS Backup ones included) against
one limit for both kinds (``MOTO_RDS_SNAPSHOT_LIMIT``, 1000) and has no
DescribeAccountAttributes. Here the count is the snapshots of type ``manual`` the account owns
in the Region, of one kind, without AWS Backup's (``awsbackup`` instance snapshots, and the
``awsbackup:job-…`` cluster snapshots AWS Backup makes as manual ones); snapshots shared with
the account are the owner's. The check and the creation run under the copies' creation lock,
so concurrent copies cannot overshoot the quota.

``POST /_offsite/rds/quotas`` stands for a Service Quotas increase (or decrease): it sets
``ManualSnapshots`` and/or ``ManualClusterSnapshots`` for one account and Region; a reset
restores the defaults. The launcher's ``--snapshot-quota N`` sets every account's default
(AWS's 100 unless given; the benchmarks raise it for their thousands of copies). DescribeAccountAttributes answers only these two quotas (AWS lists
about thirty; none other is modelled).
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
from typing import Any

from moto.core.responses import ActionResult
from moto.rds.exceptions import SnapshotQuotaExceededFault
from moto.rds.models import RDSBackend, rds_backends
from moto.rds.responses import RDSResponse

from .rds_cross_account import _create_lock
from .state import on_reset

#: "Quotas in Amazon RDS": the default of both quotas.
DEFAULT_QUOTA = 100
INSTANCE_QUOTA = "ManualSnapshots"
CLUSTER_QUOTA = "ManualClusterSnapshots"

_quotas: dict[tuple[str, str, str], int] = {}
_quotas_lock = threading.Lock()
#: Every account's quota until set otherwise (the launcher's ``--snapshot-quota``).
_default = DEFAULT_QUOTA


def set_default(value: int) -> None:
    """Sets both quotas of every account and Region not set on its own."""
    global _default
    with _quotas_lock:
        _default = value


@on_reset
def _forget_quotas() -> None:
    with _quotas_lock:
        _quotas.clear()


def set_quotas(account: str, region: str, values: dict[str, int]) -> dict[str, int]:
    """Sets the quotas named in ``values`` for ``account`` in ``region``; returns both."""
    with _quotas_lock:
        for name, value in values.items():
            _quotas[(account, region, name)] = value
    return {name: quota(account, region, name) for name in (INSTANCE_QUOTA, CLUSTER_QUOTA)}


def quota(account: str, region: str, name: str) -> int:
    with _quotas_lock:
        return _quotas.get((account, region, name), _default)


def _counts(snapshot: Any, cluster: bool) -> bool:
    """Whether ``snapshot`` counts toward its kind's manual snapshot quota."""
    identifier = snapshot.db_cluster_snapshot_identifier if cluster else snapshot.db_snapshot_identifier
    return snapshot.snapshot_type == "manual" and not str(identifier).startswith("awsbackup:")


def used(backend: RDSBackend, cluster: bool) -> int:
    """The snapshots of one kind that count toward the quota in ``backend``."""
    store = backend.cluster_snapshots if cluster else backend.database_snapshots
    return sum(1 for snapshot in list(store.values()) if _counts(snapshot, cluster))


def _guarded(original: Any, cluster: bool, target_param: str) -> Any:
    """Wraps a create or copy: an existing target first (moto's own error), then the quota,
    for a snapshot that will count (a copy always does; a create unless automated or AWS
    Backup's)."""
    signature = inspect.signature(original)
    name = CLUSTER_QUOTA if cluster else INSTANCE_QUOTA

    @functools.wraps(original)
    def wrapper(self: RDSBackend, *args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind_partial(self, *args, **kwargs).arguments
        except TypeError:  # moto refuses the call itself
            return original(self, *args, **kwargs)
        target = str(bound.get(target_param, ""))
        snapshot_type = bound.get("snapshot_type", "manual")
        store = self.cluster_snapshots if cluster else self.database_snapshots
        with _create_lock:
            counted = snapshot_type == "manual" and not target.startswith("awsbackup:")
            if target and target not in store and counted:
                if used(self, cluster) >= quota(self.account_id, self.region_name, name):
                    raise SnapshotQuotaExceededFault()
            return original(self, *args, **kwargs)

    return wrapper


def _describe_account_attributes(self: RDSResponse) -> ActionResult:
    backend = rds_backends[self.current_account][self.region]
    quotas = [
        {
            "AccountQuotaName": INSTANCE_QUOTA,
            "Used": used(backend, cluster=False),
            "Max": quota(backend.account_id, backend.region_name, INSTANCE_QUOTA),
        },
        {
            "AccountQuotaName": CLUSTER_QUOTA,
            "Used": used(backend, cluster=True),
            "Max": quota(backend.account_id, backend.region_name, CLUSTER_QUOTA),
        },
    ]
    return ActionResult({"AccountQuotas": quotas})


def apply() -> None:
    """Install after ``rds_cross_account`` (this check runs first, under its lock); once."""
    if getattr(RDSResponse, "describe_account_attributes", None) is _describe_account_attributes:
        return
    # moto's own, all-kinds limit is replaced by the per-kind quotas above.
    RDSBackend.SNAPSHOT_QUOTA = property(lambda _self: sys.maxsize)  # type: ignore[method-assign,assignment]
    for method, cluster, target in (
        ("create_db_snapshot", False, "db_snapshot_identifier"),
        ("copy_db_snapshot", False, "target_db_snapshot_identifier"),
        ("create_db_cluster_snapshot", True, "db_cluster_snapshot_identifier"),
        ("copy_db_cluster_snapshot", True, "target_db_cluster_snapshot_identifier"),
    ):
        setattr(RDSBackend, method, _guarded(getattr(RDSBackend, method), cluster, target))
    RDSResponse.describe_account_attributes = _describe_account_attributes  # type: ignore[attr-defined]
