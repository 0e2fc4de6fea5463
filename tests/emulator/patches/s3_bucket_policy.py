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
  allow it. The emulator does not evaluate identity policies (moto keeps no session
  policies worth the name), so here only the bucket policy decides: an explicit ``Deny``
  that applies wins; otherwise an ``Allow`` must apply; a bucket **without** a policy
  grants nothing to another account (implicit deny).
* A statement applies when its Principal, Action (or NotAction), Resource (or NotResource)
  and every Condition match the request.
* Principal: ``"*"`` and ``{"AWS": "*"}`` match anyone. ``{"AWS": <value or list>}``: an
  account root ``arn:aws:iam::<account>:root`` or a bare 12-digit account id matches every
  principal of that account (the account then delegates through its own identity
  policies); a role ARN ``arn:aws:iam::<account>:role/<path/><name>`` matches the sessions
  of that role (``arn:aws:sts::<account>:assumed-role/<name>/<session>``); an IAM user ARN
  matches that user; an assumed-role session ARN matches that session. Principal ARNs
  take no wildcards (only ``"*"`` on its own). ``Service`` and ``Federated`` principals
  never match an IAM role session or user.
* Action / NotAction: ``service:name`` with ``*`` and ``?`` wildcards, case-insensitive.
* Resource / NotResource: ARNs with ``*`` and ``?`` wildcards, case-sensitive.
* Condition: every operator block must hold, every key in it must hold, and a key holds if
  the request's value matches any of the listed values. Operators ``StringEquals``,
  ``StringNotEquals``, ``StringLike``, ``StringNotLike`` (case-sensitive, ``*``/``?`` for
  the Like forms) and ``Bool``. A key missing from the request makes a positive operator
  false and a negated one (``StringNotEquals``, ``StringNotLike``) true ("If the key that
  you specify in a policy condition is not present in the request context, the values do
  not match ...").
  Keys (case-insensitive names): ``aws:SecureTransport`` (always ``true``: AWS services
  write to S3 over TLS), ``s3:x-amz-server-side-encryption`` and
  ``s3:x-amz-server-side-encryption-aws-kms-key-id`` (from the request's SSE settings;
  absent when none is requested).

Refused rather than guessed
---------------------------
Anything else in a statement that would otherwise apply to the request (its principal,
action and resource match) raises ``UnsupportedPolicy`` naming it, and the caller fails
the write: other condition keys or operators (``...IfExists``, ``ForAnyValue:``,
``ArnLike``, ``Null``, ...), ``NotPrincipal``, ``CanonicalUser`` principals, policy
variables (``${...}``) in resources. So a test never passes because the emulator skipped
a clause. A policy that is not JSON, or a statement without ``Effect`` Allow/Deny,
Principal, Action/NotAction or Resource/NotResource, is refused the same way.

moto's own ``IAMPolicyStatement`` (moto/iam/access_control.py) is not reused: its
wildcards are unescaped regular expressions (``.`` matches anything, ``?`` is not a
wildcard), actions match case-sensitively, a non-matching principal turns an ``Allow``
into a deny, and conditions it does not know are treated as met.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

SUPPORTED_KEYS = (
    "aws:securetransport",
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
)
_OPERATORS = ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "Bool")
_NEGATED = ("StringNotEquals", "StringNotLike")
_ACCOUNT_ID = re.compile(r"\d{12}")


class UnsupportedPolicy(Exception):
    """The policy has an element the emulator does not evaluate (see module docstring)."""


@dataclass(frozen=True)
class Principal:
    """Who makes a request: its account, and what the emulator knows of its identity."""

    account: str
    # The caller as AWS names it: an assumed-role session ARN or an IAM user ARN.
    arn: str | None = None
    # For an assumed-role session: the IAM role ARN (with its path).
    role_arn: str | None = None
    access_key: str | None = None

    def describe(self) -> str:
        if self.arn:
            return self.arn
        return f"an unidentified principal of account {self.account} (access key {self.access_key})"


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


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's ``*`` (any run of characters) and ``?`` (one character); nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(regex, value, flags) is not None


def _aws_principal_matches(entry: str, principal: Principal) -> bool:
    if entry == "*":
        return True
    if _ACCOUNT_ID.fullmatch(entry):
        return entry == principal.account
    match = re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}):root", entry)
    if match:
        return match.group(1) == principal.account
    if "*" in entry or "?" in entry:
        return False  # no wildcards in principal ARNs: such an entry names nobody
    return entry in (principal.arn, principal.role_arn)


def _principal_matches(statement: dict[str, Any], principal: Principal) -> bool:
    if "NotPrincipal" in statement:
        raise UnsupportedPolicy("NotPrincipal is not evaluated by the emulator")
    element = statement.get("Principal")
    if element == "*":
        return True
    if not isinstance(element, dict) or not element:
        raise UnsupportedPolicy(f"Principal {element!r} is not understood by the emulator")
    for kind, values in element.items():
        if kind == "AWS":
            if any(_aws_principal_matches(str(v), principal) for v in _as_list(values)):
                return True
        elif kind in ("Service", "Federated"):
            continue  # a service or federated principal is never an IAM role session or user
        else:
            raise UnsupportedPolicy(f"Principal type {kind!r} is not evaluated by the emulator")
    return False


def _element_matches(statement: dict[str, Any], name: str, value: str, ignore_case: bool) -> bool:
    """Action/NotAction or Resource/NotResource."""
    positive, negative = name, f"Not{name}"
    if (positive in statement) == (negative in statement):
        raise UnsupportedPolicy(f"a statement needs exactly one of {positive} and {negative}")
    key = positive if positive in statement else negative
    patterns = [str(p) for p in _as_list(statement[key])]
    if name == "Resource" and any("${" in p for p in patterns):
        raise UnsupportedPolicy(f"policy variables in {key} are not evaluated by the emulator")
    matched = any(wildcard(p, value, ignore_case) for p in patterns)
    return matched if key == positive else not matched


def _condition_holds(operator: str, expected: list[Any], actual: str | None) -> bool:
    if actual is None:
        return operator in _NEGATED
    if operator == "Bool":
        return any(str(v).lower() == actual.lower() for v in expected)
    if operator in ("StringEquals", "StringNotEquals"):
        hit = any(str(v) == actual for v in expected)
    else:  # StringLike, StringNotLike
        hit = any(wildcard(str(v), actual) for v in expected)
    return not hit if operator in _NEGATED else hit


def _conditions_hold(statement: dict[str, Any], context: dict[str, str]) -> bool:
    condition = statement.get("Condition")
    if condition is None:
        return True
    if not isinstance(condition, dict):
        raise UnsupportedPolicy(f"Condition {condition!r} is not an object")
    holds = True
    for operator, tests in condition.items():
        if operator not in _OPERATORS:
            raise UnsupportedPolicy(
                f"condition operator {operator} is not evaluated by the emulator"
            )
        if not isinstance(tests, dict):
            raise UnsupportedPolicy(f"condition {operator} is not an object")
        for key, values in tests.items():
            if key.lower() not in SUPPORTED_KEYS:
                raise UnsupportedPolicy(f"condition key {key} is not evaluated by the emulator")
            holds = holds and _condition_holds(operator, _as_list(values), context.get(key.lower()))
    return holds


def _statements(policy: bytes | str) -> list[dict[str, Any]]:
    try:
        document = json.loads(policy)
    except ValueError as error:
        raise UnsupportedPolicy(f"the bucket policy is not JSON: {error}") from error
    statements = _as_list(document.get("Statement") if isinstance(document, dict) else None)
    if not statements or not all(isinstance(s, dict) for s in statements):
        raise UnsupportedPolicy("the bucket policy has no list of statements")
    return statements


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
        return Decision(False, "the bucket has no bucket policy")
    allowed_by = None
    for index, statement in enumerate(_statements(policy)):
        name = f"statement {statement.get('Sid') or index}"
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise UnsupportedPolicy(f"{name} has Effect {effect!r}")
        if not _element_matches(statement, "Action", action, ignore_case=True):
            continue
        if not _element_matches(statement, "Resource", resource, ignore_case=False):
            continue
        if not _principal_matches(statement, principal):
            continue
        if not _conditions_hold(statement, context):
            continue
        if effect == "Deny":
            return Decision(False, f"explicitly denied by the bucket policy's {name}")
        allowed_by = allowed_by or name
    if allowed_by is None:
        return Decision(False, "no statement of the bucket policy allows it")
    return Decision(True, f"allowed by the bucket policy's {allowed_by}")
