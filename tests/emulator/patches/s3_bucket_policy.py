"""Bucket-policy evaluation for writes an AWS service makes into a bucket of another
account on behalf of a caller (used by ``dynamodb_export``). No moto method is patched
here: the module only answers "may this principal do this action on this object?".

AWS behaviour reproduced
------------------------
(IAM User Guide: "Policy evaluation logic" (reference_policies_evaluation-logic),
"Cross-account policy evaluation logic" (reference_policies_evaluation-logic-cross-account),
"AWS JSON policy elements: Principal / Action / NotAction / Resource / NotResource /
Condition", "IAM JSON policy elements: Condition operators"; "AWS global condition context
keys" (aws:SecureTransport); Amazon S3 User Guide: "Bucket policy examples", "Policy
condition keys for Amazon S3" (s3:x-amz-server-side-encryption,
s3:x-amz-server-side-encryption-aws-kms-key-id).)

* Cross-account access needs both the caller's identity policy and the resource policy to
  allow it. The DynamoDB export writes as the caller; the caller's identity policies are not
  evaluated here (for an enforced role, ``dynamodb_export`` evaluates them with the bucket
  policy through ``iam_enforce.authorize_on_behalf`` instead), so here only the bucket
  policy decides: an explicit ``Deny`` that applies wins; otherwise an ``Allow`` must
  apply (naming the caller or its account); a bucket **without** a policy grants nothing
  to another account (implicit deny).
* Statements are matched by the general evaluator, ``iam_policy`` (Principal/NotPrincipal,
  Action/NotAction, Resource/NotResource, every condition operator it knows, policy
  variables): see its docstring.
* Condition keys: only ``aws:SecureTransport`` (always ``true``: AWS services write to S3
  over TLS), ``aws:PrincipalArn`` and ``aws:PrincipalAccount`` (the caller's: the role ARN
  of its session, its account), ``s3:x-amz-server-side-encryption`` and
  ``s3:x-amz-server-side-encryption-aws-kms-key-id`` (from the request's SSE settings;
  absent when none is requested); ``s3:prefix`` (a listing's ``prefix``; the services' writes
  carry none). A key missing from the request makes a positive operator
  false and a negated one true.

Refused rather than guessed
---------------------------
Anything else in a statement that would otherwise apply to the request (its principal,
action and resource match) raises ``UnsupportedPolicy`` naming it, and the caller fails
the write: other condition keys (the export's writes carry no others that the emulator
computes), operators ``iam_policy`` does not know, unknown principal types. So a test never
passes because the emulator skipped a clause. A policy that is not JSON, or a statement
without ``Effect`` Allow/Deny, Principal, Action/NotAction or Resource/NotResource, is
refused the same way.

moto's own ``IAMPolicyStatement`` (moto/iam/access_control.py) is not reused: its
wildcards are unescaped regular expressions (``.`` matches anything, ``?`` is not a
wildcard), actions match case-sensitively, a non-matching principal turns an ``Allow``
into a deny, and conditions it does not know are treated as met.
"""

from __future__ import annotations

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from .iam_policy import (  # noqa: F401  (re-exported for dynamodb_export)
    Decision,
    Principal,
    UnsupportedPolicy,
    evaluate_policy,
    known_keys,
    wildcard,
)

SUPPORTED_KEYS = (
    "aws:securetransport",
    "aws:principalarn",
    "aws:principalaccount",
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    # Only a listing carries it (below): a write never does, so a statement that requires it
    # does not apply to a write.
    "s3:prefix",
)
_SUPPORTED = known_keys(SUPPORTED_KEYS)


def principal_of(access_key: str, account: str, partition: str = "aws") -> Principal:
    """The principal behind a request's access key: an STS AssumeRole session (moto keeps
    them in the role account's STS backend), or a moto IAM user; else only the account."""
    role = sts_backends[account][partition].get_assumed_role_from_access_key(access_key)
    if role is not None:
        return Principal(account, arn=role.arn, role_arn=role.role_arn, access_key=access_key)
    user = iam_backends[account][partition].get_user_from_access_key_id(access_key)
    if user is not None:
        return Principal(account, arn=user.arn, access_key=access_key)
    return Principal(account, access_key=access_key)


def _principal_context(principal: Principal) -> dict[str, list[str]]:
    """``aws:PrincipalArn`` (the role ARN of an assumed-role session, with its path) and
    ``aws:PrincipalAccount``: "included in the request context for all signed requests"
    (IAM User Guide, "AWS global condition context keys"); the export writes as its caller."""
    context = {"aws:principalaccount": [principal.account]}
    arn = principal.role_arn or principal.arn
    if arn:
        context["aws:principalarn"] = [arn]
    return context


def evaluate(
    policy: bytes | str | None,
    principal: Principal,
    action: str,
    resource: str,
    context: dict[str, str],
) -> Decision:
    """Whether the bucket policy lets ``principal`` do ``action`` on ``resource`` from
    another account. ``context`` maps lower-case condition keys to the request's values.
    Raises ``UnsupportedPolicy`` for an applicable statement the emulator cannot judge."""
    if policy is None:
        return Decision(False, "the bucket has no bucket policy", "resource-based")
    result = evaluate_policy(
        policy,
        "the bucket policy's",
        principal=principal,
        action=action,
        resource=resource,
        context={**_principal_context(principal), **{k.lower(): [v] for k, v in context.items()}},
        known=_SUPPORTED,
    )
    if result.denied_by:
        return Decision(False, f"explicitly denied by {result.denied_by}", "resource-based", True)
    if result.allowed_by is None:
        return Decision(False, "no statement of the bucket policy allows it", "resource-based")
    return Decision(True, f"allowed by {result.allowed_by}")
