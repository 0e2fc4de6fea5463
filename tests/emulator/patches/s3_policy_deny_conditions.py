"""moto's own bucket-policy check on S3 object requests (GetObject, PutObject,
DeleteObject(s): ``FakeBucket.get_permission``) applies a bucket policy's ``Deny`` statements
to every caller **without their conditions**. A policy with the usual TLS-only statement
(``Deny`` ``s3:*`` when ``aws:SecureTransport`` is ``false``, as ``infra/auditor.yaml`` has)
therefore refused every object request in the emulator, the bucket owner's reads included.

AWS behaviour reproduced
------------------------
A statement applies only when its Condition holds (IAM User Guide, "IAM JSON policy
elements: Condition"; S3 User Guide, "Bucket policy examples": "Managing access based on
HTTP or HTTPS requests"). The SDKs reach S3 over TLS only, so ``aws:SecureTransport`` is
``true`` for every request (as ``iam_enforce`` treats it).

What this patch does
--------------------
Before moto's check, the bucket policy's ``Deny`` statements whose Condition is false for a
TLS request are left out: their conditions are evaluated with ``iam_policy.conditions_hold``
over ``{"aws:SecureTransport": "true"}``. A Deny whose Condition uses any other key (the
emulator cannot tell its value here) is kept, as moto had it: never more permissive than
before for what cannot be judged. Everything else (Allow statements, Deny without
Condition) is moto's check as it was. IAM evaluation of enforced roles is ``iam_enforce``'s,
which evaluates the same policy with every condition; this check runs after it.

Not covered: conditions of other keys in Deny statements (kept, unconditionally, as in moto).
"""

from __future__ import annotations

import json
from typing import Any

from moto.s3.models import FakeBucket

from .iam_policy import UnsupportedPolicy, conditions_hold, known_keys

_TLS = {"aws:securetransport": ["true"]}
_KNOWN = known_keys(("aws:securetransport",))


def _applicable(statement: Any) -> bool:
    """Whether a statement may apply to a request over TLS."""
    if not isinstance(statement, dict) or statement.get("Effect") != "Deny" or "Condition" not in statement:
        return True
    try:
        return conditions_hold(statement, _TLS, _KNOWN, "2012-10-17")
    except UnsupportedPolicy:
        return True  # another key: kept, as moto applies it


def policy_over_tls(policy: bytes) -> bytes:
    """The policy without the Deny statements that cannot apply to a TLS request."""
    try:
        document = json.loads(policy)
    except ValueError:
        return policy
    if not isinstance(document, dict):
        return policy
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return policy
    kept = [s for s in statements if _applicable(s)]
    if len(kept) == len(statements):
        return policy
    return json.dumps({**document, "Statement": kept}).encode()


def apply() -> None:
    original = FakeBucket.get_permission
    if getattr(original, "_offsite", False):
        return

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        # moto's method, over the policy without the Deny statements that cannot apply.
        from moto.iam.access_control import IAMPolicy, PermissionResult

        if self.policy is None:
            return PermissionResult.NEUTRAL
        return IAMPolicy(policy_over_tls(self.policy).decode()).is_action_permitted(action, resource)

    get_permission._offsite = True  # type: ignore[attr-defined]
    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
