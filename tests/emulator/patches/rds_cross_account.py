"""Copying and listing RDS/Aurora snapshots shared from another account.

AWS behaviour reproduced
------------------------
* CopyDBSnapshot / CopyDBClusterSnapshot accept the **ARN** of a manual snapshot owned by
  another account (same region) when that snapshot's ``restore`` attribute
  (ModifyDBSnapshotAttribute / ModifyDBClusterSnapshotAttribute) lists the caller's
  account id or ``all``. A snapshot that is not shared with the caller is reported as
  not found: ``DBSnapshotNotFound`` / ``DBClusterSnapshotNotFoundFault`` (HTTP 404).
  (API_CopyDBSnapshot, SourceDBSnapshotIdentifier: "If you are copying from a shared
  manual DB snapshot, this parameter must be the Amazon Resource Name (ARN) of the shared
  DB snapshot"; API_CopyDBClusterSnapshot likewise; API_ModifyDBSnapshotAttribute.)
  moto 5.2.5 ignores the account in the ARN and looks in the caller's own account.
* KmsKeyId (API_CopyDBSnapshot / API_CopyDBClusterSnapshot, KmsKeyId):
  - copying an encrypted snapshot shared from another account requires ``KmsKeyId``
    -> ``InvalidParameterValue``;
  - an encrypted snapshot copied to another region requires ``KmsKeyId`` -> same error;
  - in the AWS GovCloud (US) partition (``us-gov-*`` regions) only, it also requires a
    ``PreSignedUrl`` (the SDKs that support ``SourceRegion`` generate it; the Rust SDK does
    not) -> same error; the URL's signature is not checked. Elsewhere no URL is required:
    ``PreSignedUrl`` "applies only to AWS GovCloud (US) Regions. It's ignored in other AWS
    Regions" (API_CopyDBSnapshot / API_CopyDBClusterSnapshot, PreSignedUrl);
  - a snapshot of the caller's own account in another region is found by its ARN;
    an encrypted *shared* snapshot can only be copied within its region -> same error;
  - without ``KmsKeyId`` the copy keeps the source's key (moto used the key of the
    snapshot's original instance, wrong for a copy of a re-encrypted copy);
  - an unencrypted *instance* snapshot copied with ``KmsKeyId`` comes out encrypted
    (moto already does this); an unencrypted *cluster* snapshot copied with
    ``KmsKeyId`` is an error ("If you copy an unencrypted DB cluster snapshot and specify
    a value for the KmsKeyId parameter, an error is returned") -> ``InvalidParameterValue``
    (moto encrypted it);
  - a source key (looked up in the owner's KMS) or target key that is disabled or pending
    deletion -> ``KMSKeyNotAccessibleFault``.
* The source must be ``available`` (SourceDBSnapshotIdentifier constraints: "Must
  specify a valid system snapshot in the available state") -> ``InvalidDBSnapshotState``
  / ``InvalidDBClusterSnapshotStateFault``; also for same-account copies.
* Lineage on the copy: ``SourceDBSnapshotIdentifier`` = source ARN for cross-account or
  cross-region instance copies ("It only has a value in the case of a cross-account or
  cross-Region copy", API_DBSnapshot), with ``SourceRegion`` for cross-region ones;
  ``SourceDBClusterSnapshotArn`` = source ARN for every cluster copy (API_DBClusterSnapshot);
  ``OriginalSnapshotCreateTime`` is kept from the source (moto already does this).
  The copy is a ``manual`` snapshot of the caller's account.
* DescribeDBSnapshots / DescribeDBClusterSnapshots with ``SnapshotType=shared``, or with
  ``IncludeShared=true`` and no SnapshotType, also return the manual snapshots of other
  accounts in the region whose ``restore`` attribute lists the caller, reported with
  ``SnapshotType`` ``shared`` (API_DescribeDBSnapshots, SnapshotType and IncludeShared).
  The other parameters filter them as moto filters own snapshots; a shared snapshot is
  selected by ``DBSnapshotIdentifier`` / ``DBClusterSnapshotIdentifier`` only through its
  ARN. An unshared ARN -> NotFound. moto 5.2.5 returned the shared snapshots unfiltered
  (and only with SnapshotType=shared). The caller's own snapshots can also be described
  by their ARN.

Not enforced / not emulated
---------------------------
* KMS key policies and grants are not evaluated: a shared encrypted snapshot can be copied
  whatever the source key's policy says; only the key's state is checked. Keys moto's KMS
  does not know (e.g. aws/rds aliases referenced by id) are not checked at all.
* Rules about what may be shared (default-key encryption, TDE, option groups, public
  encrypted snapshots) are not enforced by ModifyDBSnapshotAttribute.
* ``SnapshotType=public`` / ``IncludePublic`` (``restore`` = ``all``) are not listed;
  an ``all`` share does allow the copy.
* RestoreDBInstanceFromDBSnapshot / RestoreDBClusterFromSnapshot from a shared ARN are
  not patched (moto looks the name up in the caller's account).
* Tags (TagList) of a shared snapshot are returned to the other account as moto stores
  them; AWS does not document whether they are visible there.
* MaxRecords/Marker are ignored (moto returns everything in one page).
"""

from __future__ import annotations

import copy
import functools
import re
import threading
from typing import Any

from moto.core.responses import ActionResult
from moto.kms.models import kms_backends
from moto.rds.exceptions import (
    DBClusterSnapshotAlreadyExistsError,
    DBClusterSnapshotNotFoundError,
    DBSnapshotAlreadyExistsError,
    DBSnapshotNotFoundFault,
    InvalidParameterValue,
    KMSKeyNotAccessibleFault,
)
from moto.rds.models import DBClusterSnapshot, DBSnapshot, RDSBackend, rds_backends
from moto.rds.responses import RDSResponse
from moto.rds.utils import split_arn
from moto.utilities.utils import get_partition

from .rds_snapshot_lifecycle import require_available

Snapshot = DBSnapshot | DBClusterSnapshot

# The only partition where RDS uses a copy's PreSignedUrl (API_CopyDBSnapshot, PreSignedUrl:
# "This setting applies only to AWS GovCloud (US) Regions. It's ignored in other AWS
# Regions").
PRESIGNED_URL_PARTITION = "aws-us-gov"

_KMS_KEY_ARN = re.compile(r"^arn:[^:]+:kms:(?P<region>[^:]+):(?P<account>\d{12}):(?P<key>.+)$")


def _is_shared_with(snapshot: Snapshot, account_id: str) -> bool:
    restore = snapshot.attributes.get("restore", [])
    return snapshot.snapshot_type == "manual" and (account_id in restore or "all" in restore)


# --- source lookup --------------------------------------------------------------------


def _get_snapshot(original: Any) -> Any:
    """``RDSBackend.get_snapshot`` (used by moto only for copy sources), made aware of the
    account in an ARN."""

    @functools.wraps(original)
    def get_snapshot(
        self: RDSBackend, identifier: str, resource_type: type, not_found_exception: type
    ) -> Snapshot:
        if identifier.startswith("arn:"):
            region, account, _, name = split_arn(identifier)
            if account != self.account_id or region != self.region_name:
                owner = rds_backends[account][region]
                snapshot = owner.resource_map[resource_type].get(name)
                shared = account == self.account_id or (
                    snapshot is not None and _is_shared_with(snapshot, self.account_id)
                )
                if snapshot is None or not shared:
                    raise not_found_exception(identifier)
                return snapshot
        return original(self, identifier, resource_type, not_found_exception)

    return get_snapshot


# --- KMS ------------------------------------------------------------------------------


def _kms_key_state(key_id: str, account: str, region: str) -> str | None:
    """KeyState of a key given by id/ARN/alias, looked up in ``account``'s KMS unless the
    ARN names another one; None if moto's KMS does not know the key."""
    match = _KMS_KEY_ARN.match(key_id)
    if match:
        account, region = match.group("account"), match.group("region")
    try:
        return kms_backends[account][region].describe_key(key_id).key_state
    except Exception:  # moto raises KeyError or NotFoundException for unknown keys
        return None


def _require_usable_key(key_id: str, account: str, region: str) -> None:
    state = _kms_key_state(key_id, account, region)
    if state is not None and state != "Enabled":
        raise KMSKeyNotAccessibleFault(key_id)


def _check_copy(
    backend: RDSBackend,
    source: Snapshot,
    kms_key_id: str | None,
    cluster: bool,
    pre_signed_url: str | None = None,
) -> None:
    """AWS's preconditions on a copy's source and keys (see the module docstring)."""
    require_available(source, "copy")
    cross_account = source.account_id != backend.account_id
    cross_region = source.region != backend.region_name
    encrypted = bool(source.encrypted)
    if encrypted and cross_account and cross_region:
        raise InvalidParameterValue(
            "An encrypted snapshot shared from another account can only be copied "
            "within its AWS Region."
        )
    if encrypted and cross_account and not kms_key_id:
        raise InvalidParameterValue(
            "KmsKeyId is required when copying an encrypted snapshot shared from "
            "another account."
        )
    if encrypted and cross_region and not kms_key_id:
        raise InvalidParameterValue(
            "KmsKeyId is required when copying an encrypted snapshot to another AWS Region."
        )
    govcloud = get_partition(backend.region_name) == PRESIGNED_URL_PARTITION
    if encrypted and cross_region and govcloud and not pre_signed_url:
        raise InvalidParameterValue(
            "PreSignedUrl is required when copying an encrypted snapshot from another "
            "AWS GovCloud (US) Region (SDKs without SourceRegion support must sign it "
            "themselves)."
        )
    if cluster and not encrypted and kms_key_id:
        raise InvalidParameterValue(
            "An unencrypted DB cluster snapshot cannot be encrypted when it is copied: "
            "do not specify KmsKeyId."
        )
    if encrypted and source.kms_key_id:
        _require_usable_key(source.kms_key_id, source.account_id, source.region)
    if kms_key_id:
        _require_usable_key(kms_key_id, backend.account_id, backend.region_name)


# --- copies ---------------------------------------------------------------------------

# A snapshot identifier is created once: of two concurrent copies to one target, RDS starts
# one and answers the other DBSnapshotAlreadyExists / DBClusterSnapshotAlreadyExistsFault
# (API_CopyDBSnapshot, API_CopyDBClusterSnapshot, Errors). moto's server is threaded and its
# check-then-insert is not atomic, and the key checks below (IAM evaluation on the caller's
# behalf) widen the gap between the two, so the check and the creation run under one lock.
_create_lock = threading.RLock()


def _copy_db_snapshot(original: Any) -> Any:
    @functools.wraps(original)
    def copy_db_snapshot(
        self: RDSBackend,
        source_db_snapshot_identifier: str,
        target_db_snapshot_identifier: str,
        kms_key_id: str | None = None,
        **kwargs: Any,
    ) -> DBSnapshot:
        with _create_lock:
            # moto checks the target first; keep that order (an existing target is reported
            # as DBSnapshotAlreadyExists even if the source is gone).
            if target_db_snapshot_identifier in self.database_snapshots:
                raise DBSnapshotAlreadyExistsError(target_db_snapshot_identifier)
            source = self.get_db_snapshot(source_db_snapshot_identifier)
            _check_copy(self, source, kms_key_id, cluster=False, pre_signed_url=kwargs.get("pre_signed_url"))
            target = original(
                self,
                source_db_snapshot_identifier,
                target_db_snapshot_identifier,
                kms_key_id=kms_key_id,
                **kwargs,
            )
        if not kms_key_id:
            target.kms_key_id = source.kms_key_id
            target.storage_encrypted = source.storage_encrypted
            target.encrypted = source.encrypted
        if source.account_id != self.account_id or source.region != self.region_name:
            target.source_db_snapshot_identifier = source.arn
        if source.region != self.region_name:
            target.source_region = source.region
        return target

    return copy_db_snapshot


def _copy_db_cluster_snapshot(original: Any) -> Any:
    @functools.wraps(original)
    def copy_db_cluster_snapshot(
        self: RDSBackend,
        source_db_cluster_snapshot_identifier: str,
        target_db_cluster_snapshot_identifier: str,
        kms_key_id: str | None = None,
        **kwargs: Any,
    ) -> DBClusterSnapshot:
        with _create_lock:
            if target_db_cluster_snapshot_identifier in self.cluster_snapshots:
                raise DBClusterSnapshotAlreadyExistsError(target_db_cluster_snapshot_identifier)
            source = self.get_db_cluster_snapshot(source_db_cluster_snapshot_identifier)
            _check_copy(self, source, kms_key_id, cluster=True, pre_signed_url=kwargs.get("pre_signed_url"))
            target = original(
                self,
                source_db_cluster_snapshot_identifier,
                target_db_cluster_snapshot_identifier,
                kms_key_id=kms_key_id,
                **kwargs,
            )
        target.source_db_cluster_snapshot_arn = source.arn
        return target

    return copy_db_cluster_snapshot


# --- describe -------------------------------------------------------------------------


def _shared_view(snapshot: Snapshot) -> Snapshot:
    """The snapshot as its recipient sees it: same object data, SnapshotType `shared`."""
    view = copy.copy(snapshot)
    view.snapshot_type = "shared"
    return view


def _shared_snapshots(
    backend: RDSBackend,
    model: type,
    identifier: str | None,
    filters: dict[str, list[str]],
) -> list[Snapshot]:
    """Snapshots of other accounts in the backend's region shared with its account,
    selected by ARN (``identifier``) and moto's filters."""
    candidates = {}
    for account_id, region, other in list(rds_backends.iter_backends()):
        if account_id == backend.account_id or region != backend.region_name:
            continue
        for snapshot in list(other.resource_map[model].values()):
            if not _is_shared_with(snapshot, backend.account_id):
                continue
            if identifier and identifier.lower() != snapshot.arn.lower():
                continue
            candidates[snapshot.arn] = snapshot
    filters = {k: v for k, v in filters.items() if k != "snapshot-type"}
    if filters:
        candidates = backend._filter_resources(candidates, filters, model)
    return [_shared_view(snapshot) for snapshot in candidates.values()]


def _own_identifier(backend: RDSBackend, identifier: str | None) -> str | None:
    """The caller's own snapshot named by ARN -> its identifier (moto matches names only)."""
    if identifier and identifier.startswith("arn:"):
        region, account, _, name = split_arn(identifier)
        if account == backend.account_id and region == backend.region_name:
            return name
    return identifier


def _describe(
    original: Any,
    result_key: str,
    backend_method: str,
    identifier_param: str,
    parent_param: str,
    parent_filter: str,
    model: type,
    not_found: type,
) -> Any:
    @functools.wraps(original)
    def describe(self: RDSResponse) -> ActionResult:
        params = self.params
        snapshot_type = params.get("SnapshotType")
        include_shared = str(params.get("IncludeShared", "")).lower() == "true"
        identifier = params.get(identifier_param)
        parent = params.get(parent_param)
        filters = {f["Name"]: f["Values"] for f in params.get("Filters", [])}
        backend = self.backend
        own_identifier = _own_identifier(backend, identifier)

        if snapshot_type != "shared" and not (include_shared and snapshot_type is None):
            # Only the caller's own snapshots: moto's handler (an own ARN becomes a name).
            if own_identifier != identifier:
                params[identifier_param] = own_identifier
            return original(self)

        # Shared snapshots, plus the caller's own unless SnapshotType=shared.
        shared_filters = dict(filters)
        if parent:
            shared_filters[parent_filter] = [parent]
        shared = _shared_snapshots(backend, model, identifier, shared_filters)
        own: list[Snapshot] = []
        if snapshot_type is None:
            try:
                own = getattr(backend, backend_method)(parent, own_identifier, None, filters)
            except not_found:
                own = []
        if identifier and not own and not shared:
            raise not_found(identifier)
        return ActionResult({result_key: own + shared})

    return describe


def apply() -> None:
    RDSBackend.get_snapshot = _get_snapshot(RDSBackend.get_snapshot)  # type: ignore[method-assign]
    RDSBackend.copy_db_snapshot = _copy_db_snapshot(RDSBackend.copy_db_snapshot)  # type: ignore[method-assign]
    RDSBackend.copy_db_cluster_snapshot = _copy_db_cluster_snapshot(  # type: ignore[method-assign]
        RDSBackend.copy_db_cluster_snapshot
    )
    RDSResponse.describe_db_snapshots = _describe(  # type: ignore[method-assign]
        RDSResponse.describe_db_snapshots,
        "DBSnapshots",
        "describe_db_snapshots",
        "DBSnapshotIdentifier",
        "DBInstanceIdentifier",
        "db-instance-id",
        DBSnapshot,
        DBSnapshotNotFoundFault,
    )
    RDSResponse.describe_db_cluster_snapshots = _describe(  # type: ignore[method-assign]
        RDSResponse.describe_db_cluster_snapshots,
        "DBClusterSnapshots",
        "describe_db_cluster_snapshots",
        "DBClusterSnapshotIdentifier",
        "DBClusterIdentifier",
        "db-cluster-id",
        DBClusterSnapshot,
        DBClusterSnapshotNotFoundError,
    )
