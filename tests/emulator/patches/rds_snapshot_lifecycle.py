"""RDS/Aurora snapshots take time: `creating` with a rising `PercentProgress`, then
`available` (or `failed`).

AWS behaviour reproduced
------------------------
* CreateDBSnapshot, CreateDBClusterSnapshot, CopyDBSnapshot and CopyDBClusterSnapshot
  return at once while the snapshot is still being built; DescribeDBSnapshots /
  DescribeDBClusterSnapshots report ``Status`` ``creating`` and an integer
  ``PercentProgress`` until the snapshot is ``available``. A snapshot can also end
  ``failed``. (Amazon RDS API Reference, "DBSnapshot" and "DBClusterSnapshot" data
  types, members Status and PercentProgress:
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBSnapshot.html,
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBClusterSnapshot.html)
* Operations that need an available snapshot refuse others:
  ModifyDBSnapshotAttribute -> ``InvalidDBSnapshotState``,
  ModifyDBClusterSnapshotAttribute -> ``InvalidDBClusterSnapshotStateFault``
  (errors listed on API_ModifyDBSnapshotAttribute / API_ModifyDBClusterSnapshotAttribute),
  RestoreDBInstanceFromDBSnapshot / RestoreDBClusterFromSnapshot the same, and a copy
  whose source is not available (SourceDBSnapshotIdentifier: "Must specify a valid system
  snapshot in the available state", API_CopyDBSnapshot; that check lives in
  rds_cross_account, which uses :func:`require_available`).
* Deleting a snapshot works in any state (a copy is cancelled by deleting its target).

How it is emulated
------------------
``--copy-delay`` (or ``copy_delay_seconds`` in ``POST /_offsite/config``) is read when a
*manual* snapshot is created or copied; the snapshot is ``creating`` for that many
seconds (PercentProgress = elapsed share, 0..99) and then ``available``. Delay 0 keeps
moto's behaviour (available at once). ``POST /_offsite/rds/fail-snapshot`` marks a
snapshot to end ``failed`` instead (at once if its delay is already over);
``POST /_offsite/rds/fail-next-copy`` marks the next copy made from a given source ARN the
moment it is created, so a test decides which copy fails without racing the copy delay.
``GET /_offsite/rds/failed-snapshots`` lists every snapshot marked either way. The state is
computed when read: no background threads.

Not enforced / not emulated
---------------------------
* Automated snapshots (moto creates one with each instance/cluster) are available at
  once; so are snapshots moto creates internally other than through the four calls.
* Copies report ``creating``, not ``pending``/``copying``.
* No RDS events (EventBridge) are emitted for the transitions.
* Copies do not queue behind each other and there is no in-flight copy quota.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

from moto.rds.exceptions import InvalidDBClusterSnapshotStateFault, RDSClientError
from moto.rds.models import DBClusterSnapshot, DBSnapshot, RDSBackend, rds_backends
from moto.rds.utils import split_arn

from .state import CONFIG, on_reset

Snapshot = DBSnapshot | DBClusterSnapshot


class InvalidDBSnapshotStateFault(RDSClientError):
    """Serialized by moto as code ``InvalidDBSnapshotState`` (HTTP 400), as in the RDS model."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidDBSnapshotStateFault", message)


def _lifecycle(snapshot: Snapshot) -> tuple[str, int]:
    """(Status, PercentProgress) of a snapshot now."""
    attrs = snapshot.__dict__
    started = attrs.get("_offsite_started")
    delay = attrs.get("_offsite_delay", 0.0)
    if started is not None and delay > 0:
        elapsed = time.monotonic() - started
        if elapsed < delay:
            return "creating", max(0, min(99, int(elapsed * 100 / delay)))
    if attrs.get("_offsite_fail"):
        return "failed", 100
    return attrs.get("_offsite_status", "available"), 100


def _status_get(self: Snapshot) -> str:
    return _lifecycle(self)[0]


def _status_set(self: Snapshot, value: str) -> None:
    # moto assigns "available" in the constructors; keep it as the settled state.
    self.__dict__["_offsite_status"] = value


def _progress_get(self: Snapshot) -> int:
    return _lifecycle(self)[1]


def _progress_set(self: Snapshot, value: int) -> None:
    """moto's DBClusterSnapshot assigns 100; progress is always computed here."""


def require_available(snapshot: Snapshot, action: str) -> None:
    """Raise the AWS state error unless ``snapshot`` is available."""
    status = _lifecycle(snapshot)[0]
    if status == "available":
        return
    if isinstance(snapshot, DBClusterSnapshot):
        raise InvalidDBClusterSnapshotStateFault(
            f"Cannot {action} DB cluster snapshot "
            f"{snapshot.db_cluster_snapshot_identifier}: its status is {status}, "
            "it must be available."
        )
    raise InvalidDBSnapshotStateFault(
        f"Cannot {action} DB snapshot {snapshot.db_snapshot_identifier}: "
        f"its status is {status}, it must be available."
    )


def _start_clock(snapshot: Snapshot) -> Snapshot:
    if snapshot.snapshot_type == "manual":
        snapshot.__dict__["_offsite_started"] = time.monotonic()
        snapshot.__dict__["_offsite_delay"] = float(CONFIG.copy_delay_seconds)
    return snapshot


def _timed(original: Any) -> Any:
    """Wrap a create/copy backend method so that its result starts `creating`."""

    @functools.wraps(original)
    def wrapper(self: RDSBackend, *args: Any, **kwargs: Any) -> Snapshot:
        return _start_clock(original(self, *args, **kwargs))

    return wrapper


def _guarded(original: Any, param: str, lookup: str, action: str) -> Any:
    """Wrap a backend method whose argument ``param`` names a snapshot that must be
    available; ``lookup`` is the backend's describe method for that kind."""

    @functools.wraps(original)
    def wrapper(self: RDSBackend, *args: Any, **kwargs: Any) -> Any:
        identifier = kwargs[param] if param in kwargs else args[0]
        # The describe call raises moto's NotFound error for unknown identifiers,
        # which is what the original method would do too.
        snapshot = getattr(self, lookup)(None, identifier)[0]
        require_available(snapshot, action)
        return original(self, *args, **kwargs)

    return wrapper


def _restore_guard(original: Any, lookup: str) -> Any:
    @functools.wraps(original)
    def wrapper(self: RDSBackend, from_snapshot_id: str, overrides: Any) -> Any:
        name = from_snapshot_id
        if name.startswith("arn:"):
            name = split_arn(name)[3]
        snapshot = getattr(self, lookup)(None, name)[0]
        require_available(snapshot, "restore from")
        return original(self, from_snapshot_id, overrides)

    return wrapper


# (account, region, kind, source ARN) of copies to fail when they are made; and every
# snapshot marked to fail, in marking order. Guarded: moto's server is threaded.
_fail_next: set[tuple[str, str, str, str]] = set()
_marked: list[dict[str, Any]] = []
_marks_lock = threading.Lock()


@on_reset
def _forget_marks() -> None:
    with _marks_lock:
        _fail_next.clear()
        _marked.clear()


def _kind_of(snapshot: Snapshot) -> str:
    return "cluster" if isinstance(snapshot, DBClusterSnapshot) else "instance"


def _mark_failed(snapshot: Snapshot, source_arn: str | None) -> None:
    if snapshot.__dict__.get("_offsite_fail"):
        return
    snapshot.__dict__["_offsite_fail"] = True
    cluster = isinstance(snapshot, DBClusterSnapshot)
    _marked.append(
        {
            "account": snapshot.account_id,
            "region": snapshot.region,
            "kind": _kind_of(snapshot),
            "identifier": snapshot.db_cluster_snapshot_identifier
            if cluster
            else snapshot.db_snapshot_identifier,
            "arn": snapshot.db_cluster_snapshot_arn if cluster else snapshot.db_snapshot_arn,
            "source_arn": source_arn,
        }
    )


def fail_snapshot(account: str, region: str, kind: str, identifier: str) -> Snapshot:
    """Mark a snapshot to end `failed`. Raises KeyError if there is no such snapshot."""
    backend = rds_backends[account][region]
    snapshots = backend.cluster_snapshots if kind == "cluster" else backend.database_snapshots
    snapshot = snapshots[identifier]
    with _marks_lock:
        _mark_failed(snapshot, None)
    return snapshot


def fail_next_copy(account: str, region: str, kind: str, source_arn: str) -> None:
    """Make the next copy from ``source_arn`` that ``account`` makes in ``region`` end
    `failed` (after its copy delay, like any copy). One copy per call."""
    with _marks_lock:
        _fail_next.add((account, region, kind, source_arn))


def failed_snapshots() -> list[dict[str, Any]]:
    """Every snapshot marked to fail (by either control call), in marking order."""
    with _marks_lock:
        return [dict(m) for m in _marked]


def _source_arn(backend: RDSBackend, kind: str, source: str) -> str:
    """The ARN of a copy's source as the request named it (an ARN, or an identifier in the
    caller's own account and region)."""
    if source.startswith("arn:"):
        return source
    resource = "cluster-snapshot" if kind == "cluster" else "snapshot"
    return f"arn:aws:rds:{backend.region_name}:{backend.account_id}:{resource}:{source}"


def _copied(original: Any, kind: str) -> Any:
    """Wrap a copy backend method: the copy starts `creating`, and fails if a test asked
    for the next copy of its source to fail."""

    @functools.wraps(original)
    def wrapper(self: RDSBackend, source: str, *args: Any, **kwargs: Any) -> Snapshot:
        target = _start_clock(original(self, source, *args, **kwargs))
        key = (self.account_id, self.region_name, kind, _source_arn(self, kind, source))
        with _marks_lock:
            if key in _fail_next:
                _fail_next.discard(key)
                _mark_failed(target, key[3])
        return target

    return wrapper


def apply() -> None:
    for cls in (DBSnapshot, DBClusterSnapshot):
        cls.status = property(_status_get, _status_set)  # type: ignore[assignment]
        cls.percent_progress = property(_progress_get, _progress_set)  # type: ignore[attr-defined]

    for name in ("create_db_snapshot", "create_db_cluster_snapshot"):
        setattr(RDSBackend, name, _timed(getattr(RDSBackend, name)))
    RDSBackend.copy_db_snapshot = _copied(RDSBackend.copy_db_snapshot, "instance")  # type: ignore[method-assign]
    RDSBackend.copy_db_cluster_snapshot = _copied(  # type: ignore[method-assign]
        RDSBackend.copy_db_cluster_snapshot, "cluster"
    )

    RDSBackend.modify_db_snapshot_attribute = _guarded(  # type: ignore[method-assign]
        RDSBackend.modify_db_snapshot_attribute,
        "db_snapshot_identifier",
        "describe_db_snapshots",
        "modify",
    )
    RDSBackend.modify_db_cluster_snapshot_attribute = _guarded(  # type: ignore[method-assign]
        RDSBackend.modify_db_cluster_snapshot_attribute,
        "db_cluster_snapshot_identifier",
        "describe_db_cluster_snapshots",
        "modify",
    )
    RDSBackend.restore_db_instance_from_db_snapshot = _restore_guard(  # type: ignore[method-assign]
        RDSBackend.restore_db_instance_from_db_snapshot, "describe_db_snapshots"
    )
    RDSBackend.restore_db_cluster_from_snapshot = _restore_guard(  # type: ignore[method-assign]
        RDSBackend.restore_db_cluster_from_snapshot, "describe_db_cluster_snapshots"
    )
