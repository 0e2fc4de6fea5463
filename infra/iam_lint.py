#!/usr/bin/env python3
"""IAM lint of Offsite's CloudFormation templates (``make lint-infra``).

parliament (PyPI, pinned in ``infra/iam-lint-requirements.txt``) lints IAM policy JSON, not
CloudFormation. This script reads each template (long-form or short-form intrinsics), takes
every policy document out of it -- role inline policies, ``AWS::IAM::Policy`` /
``ManagedPolicy`` documents (also JSON strings under ``Fn::Sub``), KMS key policies, bucket,
queue and topic policies -- replaces the intrinsic functions by plausible values (below), and
runs parliament's analysis, with its community auditors, on each statement. It adds one
check of its own, from parliament's copy of the Service Authorization Reference: an action
that has no resource type is matched by IAM only with ``"Resource": "*"``, so an Allow of it
on named resources grants nothing and a Deny of it on named resources denies nothing
(finding ``RESOURCELESS_ACTION_ON_NAMED_RESOURCE``).

It also keeps ``infra/iam-actions-without-resource-type.txt`` honest, the list the Rust
invariant (``cargo test -p offsite-infra``) reads: every action the templates name that has
no resource type must be listed there, and every listed action must have none.

Placeholders (documented in infra/README.md, "Checks"):
  * this account 111111111111 in us-east-1, partition aws; parameters without a default get
    a value of the form their AllowedPattern asks (another account 222222222222, a key, a
    topic, a role, a bucket, the region us-west-2, a subnet id, a security group id, a DB
    subnet group name); parameters with a default keep it;
  * ``Ref``/``Fn::GetAtt`` of a resource give an ARN or name of the resource's type, named
    after its logical id;
  * every conditional statement is linted (resource ``Condition`` ignored, ``Fn::If`` takes
    its first branch, which in these templates is the one that adds a statement or a value);
  * in a key policy ``"Resource": "*"`` means "this key" (KMS Developer Guide, "Key policies
    in AWS KMS": a key policy applies only to the key it is attached to), so it is linted as
    written and parliament's RESOURCE_STAR there is justified by that rule;
  * trust policies (``AssumeRolePolicyDocument``) have no Resource element and are not
    linted (parliament cannot analyse them).

Justifications live in the resource's Metadata and stay visible ("justified: ..."):

  Metadata:
    offsite-iam-lint:
      ignore:
        - finding: RESOURCE_STAR      # parliament's issue id (or this script's)
          sid: ListSnapshots          # optional: only this statement
          reason: why this is right, with its citation

A justification that matches no finding is an error, so they cannot outlive their reason.
Exit status: 0 when every finding is justified, 1 otherwise, 2 on a template it cannot read.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

try:
    import parliament
    from parliament import UnknownActionException, UnknownPrefixException, expand_action
    from parliament.statement import is_condition_key_match
except ImportError:  # pragma: no cover - reported to the user
    sys.exit("iam_lint: parliament is not installed (make lint-infra installs it into .venv-iamlint)")

INFRA = Path(__file__).resolve().parent
TEMPLATES = ("workload", "vault", "auditor")
RESOURCELESS_LIST = INFRA / "iam-actions-without-resource-type.txt"

PARTITION = "aws"
ACCOUNT = "111111111111"
OTHER_ACCOUNT = "222222222222"
REGION = "us-east-1"
OTHER_REGION = "us-west-2"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"

# Findings whose statement is analysed on its own cannot see the rest of the policy; these
# are the policy-level ones, taken from the analysis of the whole document.
POLICY_LEVEL = {"DUPLICATE_SID", "RESOURCE_POLICY_PRIVILEGE_ESCALATION", "NO_VERSION", "INVALID_VERSION", "OLD_VERSION"}

OWN_FINDING = "RESOURCELESS_ACTION_ON_NAMED_RESOURCE"


class LintError(Exception):
    """A template this script cannot read or resolve."""


# --- YAML with CloudFormation's short-form tags ---------------------------------------


class CfnLoader(yaml.SafeLoader):
    pass


def _short_form(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = tag_suffix
    key = name if name in ("Ref", "Condition") else f"Fn::{name}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


CfnLoader.add_multi_constructor("!", _short_form)


def load_template(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass
    except (OSError, yaml.YAMLError) as e:
        raise LintError(f"{path}: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
        raise LintError(f"{path}: no Resources mapping")
    return doc


# --- intrinsic functions -> plausible values -------------------------------------------

NO_VALUE = object()


def _parameter_placeholder(name: str, spec: dict[str, Any]) -> Any:
    default = spec.get("Default")
    kind = spec.get("Type", "String")
    is_list = kind.startswith("CommaDelimitedList") or kind.startswith("List<")
    if default not in (None, ""):
        text = str(default)
        return text.split(",") if is_list else text
    pattern = str(spec.get("AllowedPattern", ""))
    if ":kms:" in pattern:
        # A key of another account (the workload's export key, the auditor's key), or of
        # this account in the second region (DrKeyArn).
        if "Dr" in name:
            value = f"arn:{PARTITION}:kms:{OTHER_REGION}:{ACCOUNT}:key/{KEY_ID}"
        else:
            value = f"arn:{PARTITION}:kms:{REGION}:{OTHER_ACCOUNT}:key/{KEY_ID}"
    elif ":sns:" in pattern:
        value = f"arn:{PARTITION}:sns:{REGION}:{OTHER_ACCOUNT}:offsite-announcements"
    elif ":iam::" in pattern:
        value = f"arn:{PARTITION}:iam::{OTHER_ACCOUNT}:role/{name}"
    elif "[0-9]{12}" in pattern:
        value = OTHER_ACCOUNT
    elif re.search(r"\[a-z\]\{2\}", pattern):
        value = OTHER_REGION
    elif pattern.startswith("^((s3://"):
        # An S3 URI of an object (RestoreTestCaBundle): the first form the pattern admits.
        value = f"s3://{name.lower()}-example/rds/global-bundle.pem"
    elif "[a-z0-9.-]{1,61}" in pattern:
        value = f"{name.lower()}-example"
    elif "subnet-" in pattern:
        value = "subnet-0123456789abcdef0"
    elif "sg-" in pattern:
        value = "sg-0123456789abcdef0"
    elif "(?!default$)" in pattern:
        # A DB subnet group name (not the default VPC's "default").
        value = f"{name.lower()}-example"
    elif not pattern and kind == "String" and spec.get("MaxLength"):
        # Free text of bounded length (RestoreTestChecks): any text turns its statements on.
        value = f"{name.lower()}-example"
    else:
        raise LintError(f"parameter {name} has no default and no pattern this script can fill in")
    return [value] if is_list else value


def _ref_placeholder(logical: str, kind: str) -> str:
    if kind == "AWS::SNS::Topic":
        return f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{logical}"
    if kind == "AWS::SQS::Queue":
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{logical}"
    if kind == "AWS::S3::Bucket":
        return logical.lower()
    if kind == "AWS::KMS::Key":
        return KEY_ID
    if kind == "AWS::Logs::LogGroup":
        return f"/aws/lambda/{logical}"
    return logical


def _att_placeholder(logical: str, kind: str, attribute: str) -> str:
    if attribute == "Arn":
        arns = {
            "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{logical}",
            "AWS::KMS::Key": f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}",
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{logical}",
            "AWS::Logs::LogGroup": f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{logical}:*",
            "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{logical.lower()}",
            "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{logical}",
            "AWS::Events::Rule": f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:rule/{logical}",
            "AWS::SNS::Topic": f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{logical}",
        }
        if kind in arns:
            return arns[kind]
    if attribute == "QueueName" and kind == "AWS::SQS::Queue":
        return logical
    if attribute == "TopicArn" and kind == "AWS::SNS::Topic":
        return f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{logical}"
    raise LintError(f"no placeholder for Fn::GetAtt {logical}.{attribute} ({kind})")


class Resolver:
    """Replaces intrinsic functions by plausible values (see the module docstring)."""

    def __init__(self, template: dict[str, Any]):
        self.template = template
        self.parameters = template.get("Parameters") or {}
        self.resources = template["Resources"]
        self.mappings = template.get("Mappings") or {}

    def name(self, name: str) -> Any:
        pseudo = {
            "AWS::Partition": PARTITION,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": "offsite-stack",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return _parameter_placeholder(name, self.parameters[name])
        if name in self.resources:
            return _ref_placeholder(name, self.resources[name].get("Type", ""))
        raise LintError(f"Ref {name}: neither a parameter nor a resource")

    def get_att(self, logical: str, attribute: str) -> str:
        if logical not in self.resources:
            raise LintError(f"Fn::GetAtt {logical}.{attribute}: no such resource")
        return _att_placeholder(logical, self.resources[logical].get("Type", ""), attribute)

    def substitute(self, text: str, variables: dict[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            inner = match.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            if inner in variables:
                value = self.resolve(variables[inner])
            elif "." in inner and not inner.startswith("AWS::"):
                logical, attribute = inner.split(".", 1)
                value = self.get_att(logical, attribute)
            else:
                value = self.name(inner)
            if isinstance(value, list):
                value = ",".join(value)
            return str(value)

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            out: list[Any] = []
            for item in value:
                resolved = self.resolve(item)
                if resolved is NO_VALUE:
                    continue
                # A Ref to a list parameter inside a list stands for its items.
                if isinstance(resolved, list) and _is_list_ref(item):
                    out.extend(resolved)
                else:
                    out.append(resolved)
            return out
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, args), = value.items()
            if key == "Ref":
                return NO_VALUE if args == "AWS::NoValue" else self.name(args)
            if key == "Fn::GetAtt":
                parts = args.split(".", 1) if isinstance(args, str) else args
                return self.get_att(str(parts[0]), str(self.resolve(parts[1])))
            if key == "Fn::Sub":
                if isinstance(args, str):
                    return self.substitute(args, {})
                return self.substitute(args[0], args[1])
            if key == "Fn::Join":
                items = self.resolve(args[1])
                return str(args[0]).join(str(i) for i in items)
            if key == "Fn::Split":
                return str(self.resolve(args[1])).split(str(args[0]))
            if key == "Fn::Select":
                items = self.resolve(args[1])
                return items[int(self.resolve(args[0]))]
            if key == "Fn::If":
                # Every conditional statement and value is linted: the first branch adds.
                chosen = args[1] if not _is_no_value(args[1]) else args[2]
                return self.resolve(chosen)
            if key == "Fn::FindInMap":
                mapping, top, second = (self.resolve(a) for a in args)
                return self.mappings[mapping][str(top)][str(second)]
            if key.startswith("Fn::"):
                raise LintError(f"{key} is not supported in a policy")
        out_map = {}
        for k, v in value.items():
            resolved = self.resolve(v)
            if resolved is not NO_VALUE:
                out_map[k] = resolved
        return out_map


def _is_no_value(value: Any) -> bool:
    return isinstance(value, dict) and value.get("Ref") == "AWS::NoValue"


def _is_list_ref(value: Any) -> bool:
    return isinstance(value, dict) and set(value) in ({"Ref"}, {"Fn::Split"})


# --- the policies of a template ---------------------------------------------------------


@dataclass
class Document:
    template: str
    resource: str
    kind: str  # identity | key | resource
    name: str
    body: dict[str, Any]
    metadata: dict[str, Any]


def _as_document(resolver: Resolver, raw: Any, where: str) -> dict[str, Any]:
    resolved = resolver.resolve(raw)
    if isinstance(resolved, str):
        try:
            resolved = json.loads(resolved)
        except json.JSONDecodeError as e:
            raise LintError(f"{where}: the policy is not JSON after substitution: {e}") from e
    if not isinstance(resolved, dict):
        raise LintError(f"{where}: the policy is not a JSON object")
    return resolved


def documents(template_name: str, template: dict[str, Any]) -> list[Document]:
    resolver = Resolver(template)
    found: list[Document] = []
    for logical, resource in template["Resources"].items():
        kind = resource.get("Type", "")
        props = resource.get("Properties") or {}
        metadata = resource.get("Metadata") or {}
        where = f"{template_name}.yaml {logical}"

        def add(doc_kind: str, name: str, raw: Any) -> None:
            body = _as_document(resolver, raw, where)
            found.append(Document(template_name, logical, doc_kind, name, body, metadata))

        if kind == "AWS::IAM::Role":
            for policy in props.get("Policies") or []:
                add("identity", str(policy.get("PolicyName", "?")), policy["PolicyDocument"])
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            add("identity", str(props.get("PolicyName", logical)), props["PolicyDocument"])
        elif kind == "AWS::KMS::Key":
            add("key", "KeyPolicy", props["KeyPolicy"])
        elif kind in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            add("resource", "PolicyDocument", props["PolicyDocument"])
    return found


def _statements(body: dict[str, Any]) -> list[dict[str, Any]]:
    statements = body.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


# --- analysis ---------------------------------------------------------------------------


@dataclass
class Finding:
    document: Document
    sid: str
    issue: str
    severity: str
    detail: str
    justified_by: str | None = None

    def where(self) -> str:
        d = self.document
        return f"{d.template}.yaml {d.resource} ({d.name}) {self.sid or '<no Sid>'}"

    def line(self) -> str:
        return f"{self.where()}: {self.issue} [{self.severity}] {self.detail}"


def _privilege(action: dict[str, str]) -> dict[str, Any] | None:
    for service in parliament.iam_definition:
        if service["prefix"] == action["service"]:
            for privilege in service["privileges"]:
                if privilege["privilege"] == action["action"]:
                    return privilege
    return None


def has_no_resource_type(action: dict[str, str]) -> bool:
    privilege = _privilege(action)
    if privilege is None:
        return False
    types = [t["resource_type"] for t in privilege["resource_types"]]
    return all(t == "" for t in types)


def _expand(action: str) -> list[dict[str, str]]:
    try:
        return expand_action(action)
    except (UnknownActionException, UnknownPrefixException, ValueError):
        return []


def resourceless_findings(statement: dict[str, Any]) -> tuple[list[str], set[str]]:
    """This script's own check (the resourceless actions a statement puts on named
    resources), and the resourceless actions the statement names."""
    actions = statement.get("Action", [])
    actions = actions if isinstance(actions, list) else [actions]
    resources = statement.get("Resource", [])
    resources = resources if isinstance(resources, list) else [resources]
    on_named_resources = "Resource" in statement and "*" not in resources
    named: set[str] = set()
    problems: list[str] = []
    for action in actions:
        if not isinstance(action, str) or ":" not in action or "*" in action.split(":", 1)[1]:
            # A wildcard: checked for an Allow (as parliament's RESOURCE_MISMATCH does); a
            # Deny of "sqs:*" on a queue (TLS only) is not meant to deny ListQueues.
            if on_named_resources and statement.get("Effect") == "Allow" and isinstance(action, str):
                for expanded in _expand(action):
                    if has_no_resource_type(expanded):
                        problems.append(f"{expanded['service']}:{expanded['action']}")
            continue
        for expanded in _expand(action):
            if has_no_resource_type(expanded):
                full = f"{expanded['service']}:{expanded['action']}"
                named.add(full)
                if on_named_resources:
                    problems.append(full)
    return problems, named


def analyse(document: Document) -> tuple[list[Finding], set[str]]:
    findings: list[Finding] = []
    named: set[str] = set()

    def record(sid: str, raw: Any) -> None:
        enhanced = parliament.enhance_finding(raw)
        detail = raw.detail if isinstance(raw.detail, str) else json.dumps(raw.detail, default=str)
        if not detail and isinstance(raw.location, dict) and raw.location.get("actions"):
            # The community auditors name the actions in the location, not the detail.
            detail = f"actions {sorted(raw.location['actions'])}"
        findings.append(Finding(document, sid, raw.issue, enhanced.severity, detail))

    whole = parliament.analyze_policy_string(
        json.dumps(document.body), filepath=document.resource, include_community_auditors=True
    )
    for raw in whole.findings:
        if raw.issue in POLICY_LEVEL:
            record("", raw)

    for statement in _statements(document.body):
        sid = str(statement.get("Sid", ""))
        single = {"Version": document.body.get("Version", "2012-10-17"), "Statement": [statement]}
        policy = parliament.analyze_policy_string(
            json.dumps(single), filepath=document.resource, include_community_auditors=True
        )
        for raw in policy.findings:
            if raw.issue not in POLICY_LEVEL:
                record(sid, raw)
        problems, statement_named = resourceless_findings(statement)
        named |= statement_named
        if problems:
            effect = statement.get("Effect")
            consequence = "grants nothing" if effect == "Allow" else "denies nothing"
            findings.append(
                Finding(
                    document,
                    sid,
                    OWN_FINDING,
                    "HIGH",
                    f"{sorted(set(problems))} have no resource type (Service Authorization Reference) and "
                    f"match only Resource \"*\": this {effect} {consequence} for them",
                )
            )
    return findings, named


KEY_POLICY_STAR = (
    'in a key policy "Resource": "*" is this key: "the key policy applies only to the KMS key it '
    'is attached to" (KMS Developer Guide, "Key policies in AWS KMS")'
)


def _resource_type_condition_key(detail: str) -> str | None:
    """For parliament's UNKNOWN_CONDITION_FOR_ACTION: the resource type whose condition keys
    include the key, if the action takes that resource type. parliament checks a key only
    against the action's own keys, while the Service Authorization Reference also lists, per
    resource type, the condition keys that apply to every action on that type (e.g. Amazon
    RDS, resource type snapshot: rds:snapshot-tag/${TagKey})."""
    match = re.fullmatch(r"Unknown condition (\S+) for action ([\w-]+):(\w+)", detail)
    if not match:
        return None
    key, service, action = match.groups()
    privilege = _privilege({"service": service, "action": action})
    if privilege is None:
        return None
    taken = {t["resource_type"].rstrip("*") for t in privilege["resource_types"]} - {""}
    for definition in parliament.iam_definition:
        if definition["prefix"] != service:
            continue
        for resource in definition["resources"]:
            if resource["resource"] in taken and any(
                is_condition_key_match(documented, key) for documented in resource["condition_keys"]
            ):
                return resource["resource"]
    return None


def builtin_reason(finding: Finding) -> str | None:
    """Findings that are false positives by a documented rule, not by a template's choice."""
    if finding.document.kind == "key" and finding.issue == "RESOURCE_STAR":
        return KEY_POLICY_STAR
    if finding.issue == "UNKNOWN_CONDITION_FOR_ACTION":
        resource = _resource_type_condition_key(finding.detail)
        if resource:
            return (
                f"the key is a condition key of the resource type {resource}, which the action takes "
                "(Service Authorization Reference, resource types table); parliament checks only the "
                "action's own condition keys"
            )
    return None


def justify(findings: list[Finding], docs: list[Document]) -> list[str]:
    """Marks justified findings; returns the justifications that matched nothing."""
    for f in findings:
        reason = builtin_reason(f)
        if reason:
            f.justified_by = f"(rule) {reason}"
    unused: list[str] = []
    seen: set[tuple[str, str]] = set()
    for document in docs:
        key = (document.template, document.resource)
        if key in seen:
            continue
        seen.add(key)
        entries = (document.metadata.get("offsite-iam-lint") or {}).get("ignore") or []
        for entry in entries:
            issue, sid, reason = entry.get("finding"), entry.get("sid"), entry.get("reason")
            if not issue or not reason:
                unused.append(f"{document.template}.yaml {document.resource}: a justification needs finding and reason: {entry}")
                continue
            matched = False
            for f in findings:
                same_resource = (f.document.template, f.document.resource) == key
                if same_resource and f.issue == issue and (sid is None or f.sid == sid) and not f.justified_by:
                    f.justified_by = " ".join(str(reason).split())
                    matched = True
            if not matched:
                unused.append(
                    f"{document.template}.yaml {document.resource}: justification for {issue}"
                    f"{' ' + sid if sid else ''} matches no finding (remove it)"
                )
    return unused


def check_resourceless_list(named: set[str]) -> list[str]:
    problems = []
    listed = {
        line.split("#", 1)[0].strip().lower()
        for line in RESOURCELESS_LIST.read_text(encoding="utf-8").splitlines()
        if line.split("#", 1)[0].strip()
    }
    for action in sorted(named):
        if action.lower() not in listed:
            problems.append(f"{RESOURCELESS_LIST.name}: {action} has no resource type and is named in a template: list it")
    for action in sorted(listed):
        service, _, name = action.partition(":")
        expanded = [a for a in _expand(action) if a["action"].lower() == name]
        if not expanded:
            problems.append(f"{RESOURCELESS_LIST.name}: {action} is not in parliament's catalogue")
        elif not has_no_resource_type(expanded[0]):
            problems.append(f"{RESOURCELESS_LIST.name}: {action} has a resource type: remove it")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("templates", nargs="*", default=list(TEMPLATES), help="template names (infra/<name>.yaml)")
    args = parser.parse_args(argv)
    community = Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml"
    parliament.override_config(str(community))

    all_findings: list[Finding] = []
    all_docs: list[Document] = []
    named: set[str] = set()
    try:
        for name in args.templates:
            path = Path(name) if name.endswith((".yaml", ".yml", ".json")) else INFRA / f"{name}.yaml"
            template = load_template(path)
            for document in documents(path.stem, template):
                all_docs.append(document)
                found, document_named = analyse(document)
                all_findings.extend(found)
                named |= document_named
    except LintError as e:
        print(f"iam_lint: {e}", file=sys.stderr)
        return 2

    unused = justify(all_findings, all_docs)
    list_problems = check_resourceless_list(named) if set(args.templates) == set(TEMPLATES) else []
    for f in all_findings:
        if f.justified_by:
            print(f"justified: {f.line()} -- {f.justified_by}")
    failing = [f for f in all_findings if not f.justified_by]
    for f in failing:
        print(f"FINDING: {f.line()}")
    for line in unused + list_problems:
        print(f"ERROR: {line}")
    statements = sum(len(_statements(d.body)) for d in all_docs)
    print(
        f"iam_lint: parliament {parliament.__version__}, {len(all_docs)} policies, {statements} statements, "
        f"{len(all_findings) - len(failing)} justified, {len(failing)} unjustified, "
        f"{len(unused) + len(list_problems)} errors"
    )
    return 1 if failing or unused or list_problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
