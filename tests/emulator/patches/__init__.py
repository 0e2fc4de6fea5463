"""Fidelity patches for moto 5.2.5 (see each module's docstring for the AWS behaviour it
reproduces, its documentation reference, and what it does not enforce).

``apply_all()`` installs them once, before the server handles its first request, and makes
moto's ``POST /moto-api/reset`` also clear the patches' own state.
"""

from __future__ import annotations

import functools

from moto.moto_api._internal.models import MotoAPIBackend

from . import (
    dynamodb_export,
    rds_content,
    rds_cross_account,
    rds_export,
    rds_restore,
    rds_snapshot_attributes,
    rds_snapshot_lifecycle,
    rds_snapshot_paging,
    rds_snapshot_quota,
    rds_unencrypted,
    s3_policy_deny_conditions,
    sns_cross_account,
)
from .state import run_reset_hooks

_applied = False


def _reset_with_hooks(original):  # type: ignore[no-untyped-def]
    @functools.wraps(original)
    def reset(self: MotoAPIBackend) -> None:
        original(self)
        run_reset_hooks()

    return reset


def apply_all() -> None:
    global _applied
    if _applied:
        return
    # Order matters: the cross-account copy checks wrap the lifecycle's timed copies, so
    # a refused copy never starts a clock.
    rds_snapshot_lifecycle.apply()
    rds_cross_account.apply()
    # The quota check runs first, under the copies' creation lock (see its module).
    rds_snapshot_quota.apply()
    rds_snapshot_attributes.apply()
    rds_snapshot_paging.apply()
    rds_unencrypted.apply()
    # What databases hold, captured by the snapshot creates and copies wrapped above (it reads
    # the result of the whole chain), and the snapshot export that writes it to S3.
    rds_content.apply()
    rds_export.apply()
    # Restores, cluster instances and deletes, around rds_content's restores (the new
    # resource already holds the snapshot's content when the PostgreSQL server loads it).
    rds_restore.apply()
    sns_cross_account.apply()
    dynamodb_export.apply()
    s3_policy_deny_conditions.apply()
    MotoAPIBackend.reset = _reset_with_hooks(MotoAPIBackend.reset)  # type: ignore[method-assign]
    _applied = True
