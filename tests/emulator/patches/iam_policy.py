"""IAM policy evaluation: identity policies, resource policies (SQS queue, SNS topic, S3
bucket, IAM role trust policies) and KMS key policies, as AWS evaluates them. No moto method
is patched here; ``iam_enforce`` (the WSGI middleware) and ``s3_bucket_policy`` use it.

AWS behaviour reproduced
------------------------
IAM User Guide: "Policy evaluation logic" (reference_policies_evaluation-logic),
"Cross-account policy evaluation logic" (reference_policies_evaluation-logic-cross-account),
"IAM JSON policy element reference" (Effect, Principal, NotPrincipal, Action, NotAction,
Resource, NotResource, Condition), "IAM JSON policy elements: Condition operators",
"Condition keys with multiple values" (reference_policies_condition-single-vs-multi-valued-
context-keys), "IAM policy elements: Variables and tags", "Troubleshoot access denied error
messages"; AWS KMS Developer Guide "Key policies in AWS KMS" (key-policy-default: the
account principal "delegates to IAM") and "Allowing users in other accounts to use a KMS key".

* A request is (principal, action, resource, request context). Every policy that applies is
  read: an explicit ``Deny`` in any of them wins; otherwise an ``Allow`` is needed.
* Within one account an Allow in the identity policies **or** in the resource policy
  suffices, but a resource-policy statement that names only the account (``root`` or a bare
  account id) delegates to IAM and grants nothing on its own. Across accounts both the
  caller's identity policies and the resource policy (naming the caller or its account)
  must allow. A session policy (``Policy`` of AssumeRole), when present, must allow too.
* KMS keys: the key policy must allow, either naming the principal (enough on its own in
  the key's account) or through the account principal, which then needs the caller's
  identity policies to allow as well; across accounts the caller's IAM must always allow.
* Services without resource policies (RDS): the identity policies decide (what another
  account may see, such as a shared snapshot, is the service's check).
* Effect Allow/Deny. Action/NotAction: ``service:name`` with ``*``/``?``, case-insensitive.
  Resource/NotResource: ``*``/``?`` wildcards, case-sensitive; policy variables
  (``${aws:PrincipalAccount}``, ``${*}``, ``${?}``, ``${$}``) are substituted from the request
  context in Resource and condition values (policy ``Version`` 2012-10-17 only); a variable
  whose key is absent makes the element not match.
* Principal: ``"*"``/``{"AWS": "*"}`` anyone; ``{"AWS": account id | arn:…:root}`` every
  principal of that account (through its account, see above); a role ARN matches its
  sessions; a session ARN or user ARN itself; ``Service`` matches a service principal only.
  Principal ARNs take no wildcards. NotPrincipal: the statement applies unless every
  identity of the caller (account, role, session) is listed (IAM User Guide, NotPrincipal).
  Identity policies must have no Principal.
* Condition: every operator and every key must hold; a key holds when the request's value
  matches any of the policy's values. Operators: ``String(Not)Equals(IgnoreCase)``,
  ``String(Not)Like``, ``Arn(Not)Equals``/``Arn(Not)Like`` (the six ARN fields compared one
  by one, wildcards in each), ``Numeric*``, ``Date*`` (ISO 8601 or epoch seconds),
  ``Bool``, ``Null``, each with ``…IfExists`` (a missing key holds) and ``ForAnyValue:`` /
  ``ForAllValues:`` over multi-valued keys (ForAllValues holds for a missing or empty key,
  ForAnyValue does not). A key missing from the request makes a positive operator false and
  a negated one true. Keys are case-insensitive; values case-sensitive unless the operator
  says otherwise.

Refused rather than guessed
---------------------------
Anything the evaluator does not know in a statement that would otherwise apply (its
principal, action and resource match), raises ``UnsupportedPolicy`` naming it: a condition
key outside ``KNOWN_KEYS`` (or the caller's narrower list), an operator not listed above
(``IpAddress``, ``BinaryEquals``, ...), a policy variable of an unknown key or with a
default value, an unknown Principal type. The enforcement turns that into a denial whose
message names what is missing, so no test passes because a clause was skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# Lower-case request context: every key maps to its values (one for single-valued keys).
Context = dict[str, list[str]]
KnownKeys = Callable[[str], bool]

# Condition keys the enforcement computes for every request where AWS would set them (the
# ones it never sets for a direct call by a role, such as aws:SourceArn, are known and
# absent). A '*' stands for a tag key or an encryption context key.
KNOWN_KEYS: tuple[str, ...] = (
    "aws:requesttag/*",
    "aws:tagkeys",
    "aws:resourcetag/*",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:calledvia",
    "aws:calledviafirst",
    "aws:calledvialast",
    "aws:viaawsservice",
    "aws:securetransport",
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principaltype",
    "aws:principalisawsservice",
    "aws:principalservicename",
    "aws:currenttime",
    "aws:epochtime",
    "aws:requestedregion",
    "rds:snapshot-tag/*",
    "rds:cluster-snapshot-tag/*",
    "rds:db-tag/*",
    "rds:cluster-tag/*",
    "rds:req-tag/*",
    # From the request of a DB instance's creation (RDS User Guide, "Policy condition keys for
    # Amazon RDS"): absent when the request does not name them.
    "rds:publiclyaccessible",
    "rds:databaseclass",
    # Whether a request asks RDS to manage the master password (a request key of the creating,
    # restoring and modifying actions); absent when the request does not name it.
    "rds:managemasteruserpassword",
    "kms:viaservice",
    "kms:calleraccount",
    "kms:grantisforawsresource",
    "kms:encryptioncontext:*",
    "kms:encryptioncontextkeys",
    "sns:protocol",
    "sns:endpoint",
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:prefix",
    "sts:externalid",
    "sts:rolesessionname",
    "ssm:overwrite",
    "ssm:recursive",
    # Set for iam:PassRole where a request passes a role (iam_enforce.PASSED_ROLES).
    "iam:passedtoservice",
)


class UnsupportedPolicy(Exception):
    """A statement that applies to the request has something the emulator does not
    evaluate (see the module docstring)."""


@dataclass(frozen=True)
class Principal:
    """Who makes a request: its account, and what the emulator knows of its identity."""

    account: str
    # The caller as AWS names it: an assumed-role session ARN or an IAM user ARN.
    arn: str | None = None
    # For an assumed-role session: the IAM role ARN (with its path).
    role_arn: str | None = None
    access_key: str | None = None
    # For an AWS service acting as itself (sns.amazonaws.com): its service principal.
    service: str | None = None

    def describe(self) -> str:
        if self.arn:
            return self.arn
        if self.service:
            return self.service
        return f"an unidentified principal of account {self.account} (access key {self.access_key})"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    # For a denial: "identity-based", "resource-based", "session" (the policy type AWS names).
    policy_type: str = "identity-based"
    explicit: bool = False
    unsupported: bool = False


# --- matching primitives -----------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def wildcard_regex(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def known_keys(patterns: Iterable[str]) -> KnownKeys:
    compiled = [wildcard_regex(p.lower()) for p in patterns]
    return lambda key: any(r.fullmatch(key.lower()) for r in compiled)


DEFAULT_KNOWN: KnownKeys = known_keys(KNOWN_KEYS)


def wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's ``*`` (any run of characters) and ``?`` (one character); nothing else is special."""
    return wildcard_regex(pattern, ignore_case).fullmatch(value) is not None


_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_MISSING = object()


def _substitute(text: str, context: Context, known: KnownKeys, version: str | None) -> str | None:
    """Policy variables in ``text`` replaced by the request's values; None if a variable's
    key is absent (the element then matches nothing). ``${*}``, ``${?}``, ``${$}`` and any
    ``*``/``?`` in a substituted value stand for themselves: they are marked with a NUL
    prefix that the matchers read as "this character literally"."""
    if version != "2012-10-17" or "${" not in text:
        return text
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name in ("*", "?", "$"):
            return "\0" + name  # a literal character, restored after matching
        if "," in name:
            raise UnsupportedPolicy(f"policy variable ${{{name}}} with a default value is not evaluated by the emulator")
        if not known(name):
            raise UnsupportedPolicy(f"policy variable ${{{name}}} is not evaluated by the emulator")
        values = context.get(name.lower())
        if not values or len(values) != 1:
            missing = True
            return ""
        return "".join("\0" + c if c in "*?" else c for c in values[0])

    out = _VARIABLE.sub(value, text)
    return None if missing else out


def _pattern_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    # "\0*" / "\0?" / "\0$" are literal characters produced by ${*}, ${?}, ${$}.
    parts = re.split(r"(\0.)", pattern)
    regex = ""
    for part in parts:
        if part.startswith("\0"):
            regex += re.escape(part[1])
        else:
            regex += "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in part)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(regex, value, flags) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """ArnEquals/ArnLike: the six colon-separated fields compared one by one."""
    p, v = pattern.split(":", 5), value.split(":", 5)
    if len(p) != 6 or len(v) != 6:
        return False
    return all(_pattern_match(a, b) for a, b in zip(p, v))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}

def _string_eq(p: str, v: str) -> bool:
    return p.replace("\0", "") == v


# Positive operators -> matcher(policy value, request value); the negated ones map to them.
_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": _string_eq,
    "StringEqualsIgnoreCase": lambda p, v: p.replace("\0", "").lower() == v.lower(),
    "StringLike": _pattern_match,
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
    "Bool": lambda p, v: p.lower() == v.lower(),
}
_NEGATED: dict[str, str] = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
}
for _kind, _parse in (("Numeric", _number), ("Date", _date)):
    for _name, _cmp in _COMPARE.items():

        def _m(p: str, v: str, parse: Any = _parse, cmp: Any = _cmp) -> bool:
            a, b = parse(v), parse(p)
            return a is not None and b is not None and cmp(a, b)

        _MATCHERS[_kind + _name] = _m

OPERATORS: tuple[str, ...] = tuple(_MATCHERS) + tuple(_NEGATED) + ("Null",)


def _one_value(base: str, negated: bool, expected: list[str], actual: str) -> bool:
    hit = any(_MATCHERS[base](p, actual) for p in expected)
    return not hit if negated else hit


def condition_holds(operator: str, expected: list[str], actual: list[str] | None) -> bool:
    """One operator for one key. ``actual`` None: the key is absent from the request."""
    qualifier = ""
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
        if qualifier not in ("ForAnyValue", "ForAllValues"):
            raise UnsupportedPolicy(f"condition operator qualifier {qualifier} is not evaluated by the emulator")
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    base = operator[: -len("IfExists")] if if_exists else operator
    if base == "Null":
        if qualifier or if_exists:
            raise UnsupportedPolicy(f"condition operator {qualifier + ':' if qualifier else ''}{operator} is not evaluated by the emulator")
        want_absent = [str(v).lower() for v in expected]
        return any((v == "true") == (actual is None) for v in want_absent)
    negated = base in _NEGATED
    positive = _NEGATED.get(base, base)
    if positive not in _MATCHERS:
        raise UnsupportedPolicy(f"condition operator {operator} is not evaluated by the emulator")
    if actual is None:
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return negated
    if qualifier == "ForAllValues":
        return all(_one_value(positive, negated, expected, v) for v in actual)
    if qualifier == "ForAnyValue":
        return any(_one_value(positive, negated, expected, v) for v in actual)
    # A single-valued operator: true when a request value matches a policy value (for a
    # negated operator: when none does).
    hits = any(_one_value(positive, False, expected, v) for v in actual)
    return not hits if negated else hits


# --- statements ----------------------------------------------------------------------------

_ACCOUNT_ID = re.compile(r"\d{12}")
_ROOT = re.compile(r"arn:aws[\w-]*:iam::(\d{12}):root")


def _aws_entry(entry: str, principal: Principal) -> str | None:
    """How an ``AWS`` principal entry names the caller: "direct", "account" or None."""
    if entry == "*":
        return "direct"
    if principal.service:
        return None
    if _ACCOUNT_ID.fullmatch(entry):
        return "account" if entry == principal.account else None
    match = _ROOT.fullmatch(entry)
    if match:
        return "account" if match.group(1) == principal.account else None
    if "*" in entry or "?" in entry:
        return None  # no wildcards in principal ARNs: such an entry names nobody
    return "direct" if entry in (principal.arn, principal.role_arn) and entry else None


def principal_match(statement: dict[str, Any], principal: Principal) -> str | None:
    """"direct", "account" (only through the caller's account) or None."""
    if "NotPrincipal" in statement:
        listed = statement["NotPrincipal"]
        if listed == "*":
            return None
        if not isinstance(listed, dict):
            raise UnsupportedPolicy(f"NotPrincipal {listed!r} is not evaluated by the emulator")
        identities: list[str] = []
        for kind, values in listed.items():
            if kind == "AWS":
                identities += [str(v) for v in _as_list(values)]
            elif kind == "Service":
                if principal.service and principal.service in _as_list(values):
                    return None
            else:
                raise UnsupportedPolicy(f"NotPrincipal type {kind!r} is not evaluated by the emulator")
        if principal.service:
            return "direct"
        own = {principal.account, f"arn:aws:iam::{principal.account}:root"}
        needed = [principal.account] + [a for a in (principal.role_arn, principal.arn) if a]
        excluded = all(
            (n == principal.account and own & set(identities)) or n in identities for n in needed
        )
        return None if excluded else "direct"
    element = statement.get("Principal")
    if element == "*":
        return "direct"
    if not isinstance(element, dict) or not element:
        raise UnsupportedPolicy(f"Principal {element!r} is not evaluated by the emulator")
    best: str | None = None
    for kind, values in element.items():
        if kind == "AWS":
            for value in _as_list(values):
                how = _aws_entry(str(value), principal)
                if how == "direct":
                    return "direct"
                best = best or how
        elif kind == "Service":
            if principal.service and principal.service in [str(v) for v in _as_list(values)]:
                return "direct"
        elif kind in ("Federated", "CanonicalUser"):
            continue  # never an IAM role session in this emulator
        else:
            raise UnsupportedPolicy(f"Principal type {kind!r} is not evaluated by the emulator")
    return best


def _element_matches(
    statement: dict[str, Any],
    name: str,
    value: str,
    context: Context,
    known: KnownKeys,
    version: str | None,
) -> bool:
    positive, negative = name, f"Not{name}"
    if (positive in statement) == (negative in statement):
        raise UnsupportedPolicy(f"a statement needs exactly one of {positive} and {negative}")
    key = positive if positive in statement else negative
    matched = False
    for raw in _as_list(statement[key]):
        if name == "Action":
            matched = matched or wildcard(str(raw), value, ignore_case=True)
            continue
        pattern = _substitute(str(raw), context, known, version)
        if pattern is not None and _pattern_match(pattern, value):
            matched = True
    return matched if key == positive else not matched


def conditions_hold(
    statement: dict[str, Any], context: Context, known: KnownKeys, version: str | None
) -> bool:
    condition = statement.get("Condition")
    if condition is None:
        return True
    if not isinstance(condition, dict):
        raise UnsupportedPolicy(f"Condition {condition!r} is not an object")
    holds = True
    for operator, tests in condition.items():
        if not isinstance(tests, dict):
            raise UnsupportedPolicy(f"condition {operator} is not an object")
        base = operator.split(":", 1)[-1]
        base = base[: -len("IfExists")] if base.endswith("IfExists") else base
        if base not in OPERATORS:
            raise UnsupportedPolicy(f"condition operator {operator} is not evaluated by the emulator")
        for key, values in tests.items():
            if not known(key):
                raise UnsupportedPolicy(f"condition key {key} is not evaluated by the emulator")
            expected = []
            for raw in _as_list(values):
                text = _substitute(str(raw).lower() if isinstance(raw, bool) else str(raw), context, known, version)
                if text is not None:
                    expected.append(text)
            holds = condition_holds(operator, expected, context.get(key.lower())) and holds
    return holds


@dataclass
class PolicyResult:
    denied_by: str | None = None
    allowed_by: str | None = None
    # An Allow that names the principal itself (not only through its account).
    allowed_directly: bool = False


def parse(document: Any) -> dict[str, Any]:
    if isinstance(document, (bytes, str)):
        try:
            document = json.loads(document)
        except ValueError as error:
            raise UnsupportedPolicy(f"a policy that is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise UnsupportedPolicy("a policy that is not a JSON object")
    statements = _as_list(document.get("Statement"))
    if not all(isinstance(s, dict) for s in statements):
        raise UnsupportedPolicy("a policy whose statements are not objects")
    return document


def evaluate_policy(
    document: Any,
    name: str,
    *,
    principal: Principal | None,
    action: str,
    resource: str,
    context: Context,
    known: KnownKeys = DEFAULT_KNOWN,
) -> PolicyResult:
    """Which statements of one policy apply. ``principal`` None: an identity policy (no
    Principal element); else a resource policy matched against that principal."""
    doc = parse(document)
    version = doc.get("Version")
    result = PolicyResult()
    for index, statement in enumerate(_as_list(doc.get("Statement"))):
        label = f"{name} statement {statement.get('Sid') or index}"
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise UnsupportedPolicy(f"{label} has Effect {effect!r}")
        if not _element_matches(statement, "Action", action, context, known, version):
            continue
        # A resource policy's statement may leave Resource out (a role trust policy always
        # does): it then applies to the resource the policy is attached to.
        implicit = principal is not None and not ("Resource" in statement or "NotResource" in statement)
        if not implicit and not _element_matches(
            statement, "Resource", resource, context, known, version
        ):
            continue
        how = "direct"
        if principal is None:
            if "Principal" in statement or "NotPrincipal" in statement:
                raise UnsupportedPolicy(f"{label}: a Principal in an identity policy")
        else:
            try:
                matched = principal_match(statement, principal)
            except UnsupportedPolicy as error:
                raise UnsupportedPolicy(f"{error} ({label})") from error
            if matched is None:
                continue
            how = matched
        try:
            if not conditions_hold(statement, context, known, version):
                continue
        except UnsupportedPolicy as error:
            raise UnsupportedPolicy(f"{error} ({label})") from error
        if effect == "Deny":
            result.denied_by = result.denied_by or label
        else:
            if how == "direct":
                if not result.allowed_directly:
                    result.allowed_by = label
                result.allowed_directly = True
            result.allowed_by = result.allowed_by or label
    return result


# --- the evaluation logic -----------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One authorization: ``principal`` doing ``action`` on ``resource``."""

    principal: Principal
    action: str
    resource: str
    context: Context
    # (name, document) of the principal's identity policies (inline and attached managed).
    identity_policies: Sequence[tuple[str, Any]] = ()
    # The AssumeRole session policy, if any.
    session_policy: Any = None
    # The account that owns the resource (None for "*"), and whether the resource's service
    # has resource policies for it (then ``resource_policy`` None means "no policy").
    resource_account: str | None = None
    resource_policy: Any = None
    has_resource_policies: bool = False
    resource_policy_name: str = "resource policy"
    # A KMS key: its key policy (``resource_policy``) must allow.
    key_policy: bool = False
    known: KnownKeys = field(default=DEFAULT_KNOWN)


def authorize(request: Request) -> Decision:
    """AWS's policy evaluation logic for one request (see the module docstring)."""
    p = request.principal
    common = dict(action=request.action, resource=request.resource, context=request.context, known=request.known)
    try:
        identity = PolicyResult()
        for name, document in request.identity_policies:
            one = evaluate_policy(document, name, principal=None, **common)  # type: ignore[arg-type]
            identity.denied_by = identity.denied_by or one.denied_by
            identity.allowed_by = identity.allowed_by or one.allowed_by
        session = None
        if request.session_policy is not None:
            session = evaluate_policy(request.session_policy, "session policy", principal=None, **common)  # type: ignore[arg-type]
        resource = PolicyResult()
        if request.resource_policy is not None:
            resource = evaluate_policy(
                request.resource_policy, request.resource_policy_name, principal=p, **common  # type: ignore[arg-type]
            )
    except UnsupportedPolicy as error:
        return Decision(False, str(error), policy_type="identity-based", unsupported=True)
    if identity.denied_by:
        return Decision(False, f"explicitly denied by {identity.denied_by}", "identity-based", True)
    if session and session.denied_by:
        return Decision(False, f"explicitly denied by {session.denied_by}", "session", True)
    if resource.denied_by:
        return Decision(False, f"explicitly denied by {resource.denied_by}", "resource-based", True)
    if session is not None and not session.allowed_by:
        return Decision(False, "the session policy allows nothing of it", "session")
    same_account = request.resource_account in (None, p.account)
    if request.key_policy:
        if not resource.allowed_by:
            return Decision(False, f"no statement of the {request.resource_policy_name} allows it", "resource-based")
        if same_account and resource.allowed_directly:
            return Decision(True, f"allowed by {resource.allowed_by}")
        if not identity.allowed_by:
            return Decision(False, f"the {request.resource_policy_name} delegates to IAM and no identity policy allows it")
        return Decision(True, f"allowed by {resource.allowed_by} and {identity.allowed_by}")
    if same_account or not request.has_resource_policies:
        if identity.allowed_by:
            return Decision(True, f"allowed by {identity.allowed_by}")
        if resource.allowed_directly and request.resource_account == p.account:
            return Decision(True, f"allowed by {resource.allowed_by}")
        return Decision(False, "no identity-based policy allows it")
    # Across accounts, both sides.
    if not identity.allowed_by:
        return Decision(False, "no identity-based policy allows it")
    if not resource.allowed_by:
        return Decision(False, f"no statement of the {request.resource_policy_name} allows it", "resource-based")
    return Decision(True, f"allowed by {identity.allowed_by} and {resource.allowed_by}")


def denial_message(principal: Principal, action: str, resource: str, decision: Decision) -> str:
    """AWS's access-denied message (IAM User Guide, "Troubleshoot access denied error
    messages"), with the emulator's reason appended when it refused a clause."""
    who = f"User: {principal.describe()} is not authorized to perform: {action} on resource: {resource}"
    kind = decision.policy_type
    article = "an" if kind[0] in "aeiou" else "a"
    if decision.unsupported:
        return f"{who} because the Offsite emulator cannot judge a policy: {decision.reason}"
    if decision.explicit:
        return f"{who} with an explicit deny in {article} {kind} policy"
    return f"{who} because no {kind} policy allows the {action} action"
