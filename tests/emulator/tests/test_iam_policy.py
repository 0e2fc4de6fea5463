"""Unit tests of the IAM evaluator (patches/iam_policy.py), the catalogue
(patches/iam_catalogue.py) and the enforcement's request mapping (patches/iam_enforce.py).

    .venv/bin/python -m unittest discover -s tests/emulator/tests

References: IAM User Guide "Policy evaluation logic", "Cross-account policy evaluation
logic", "IAM JSON policy elements: Condition operators", "Condition keys with multiple
values"; AWS KMS Developer Guide "Key policies"; Service Authorization Reference.
"""

from __future__ import annotations

import json
import sys
import unittest
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from patches import iam_catalogue, s3_bucket_policy  # noqa: E402
from patches.iam_enforce import Call, authorizations, context_for, resources_of  # noqa: E402
from patches.iam_policy import (  # noqa: E402
    Principal,
    Request,
    UnsupportedPolicy,
    authorize,
    condition_holds,
    denial_message,
    evaluate_policy,
)

A, B = "111111111111", "222222222222"
ROLE = f"arn:aws:iam::{A}:role/offsite/exporter"
SESSION = f"arn:aws:sts::{A}:assumed-role/exporter/run-1"
CALLER = Principal(A, arn=SESSION, role_arn=ROLE, access_key="ASIA1")
TABLE = f"arn:aws:dynamodb:us-east-1:{A}:table/t"
QUEUE_B = f"arn:aws:sqs:us-east-1:{B}:vault"
KEY_A = f"arn:aws:kms:us-east-1:{A}:key/k1"
KEY_B = f"arn:aws:kms:us-east-1:{B}:key/k2"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(
    action: str,
    resource: str,
    identity: list[str] | None = None,
    resource_policy: str | None = None,
    resource_account: str | None = None,
    context: dict[str, list[str]] | None = None,
    key_policy: bool = False,
    principal: Principal = CALLER,
) -> Any:
    return authorize(
        Request(
            principal=principal,
            action=action,
            resource=resource,
            context=context or {},
            identity_policies=[(f"policy {i}", p) for i, p in enumerate(identity or [])],
            resource_account=resource_account,
            resource_policy=resource_policy,
            has_resource_policies=resource_account is not None,
            key_policy=key_policy,
        )
    )


class Operators(unittest.TestCase):
    def test_string_operators(self) -> None:
        self.assertTrue(condition_holds("StringEquals", ["a"], ["a"]))
        self.assertFalse(condition_holds("StringEquals", ["a"], ["A"]))
        self.assertTrue(condition_holds("StringEqualsIgnoreCase", ["a"], ["A"]))
        self.assertTrue(condition_holds("StringNotEquals", ["a"], ["b"]))
        self.assertFalse(condition_holds("StringNotEquals", ["a", "b"], ["b"]))
        self.assertTrue(condition_holds("StringNotEqualsIgnoreCase", ["a"], ["b"]))
        self.assertTrue(condition_holds("StringLike", ["offsite-*"], ["offsite-x"]))
        self.assertTrue(condition_holds("StringLike", ["a?c"], ["abc"]))
        self.assertFalse(condition_holds("StringLike", ["a?c"], ["abbc"]))
        self.assertFalse(condition_holds("StringLike", ["a.c"], ["abc"]))  # '.' is literal
        self.assertTrue(condition_holds("StringNotLike", ["x*"], ["abc"]))

    def test_missing_key(self) -> None:
        # Positive operators are false, negated ones true, IfExists true.
        self.assertFalse(condition_holds("StringEquals", ["a"], None))
        self.assertTrue(condition_holds("StringNotEquals", ["a"], None))
        self.assertTrue(condition_holds("StringEqualsIfExists", ["a"], None))
        self.assertFalse(condition_holds("StringEqualsIfExists", ["a"], ["b"]))
        self.assertFalse(condition_holds("ArnLike", ["arn:*"], None))
        self.assertTrue(condition_holds("ArnNotLike", ["arn:*"], None))

    def test_arn_operators(self) -> None:
        topic = f"arn:aws:sns:us-east-1:{A}:offsite-announcements"
        self.assertTrue(condition_holds("ArnEquals", [topic], [topic]))
        self.assertTrue(condition_holds("ArnLike", [f"arn:aws:sns:*:{A}:offsite-*"], [topic]))
        self.assertTrue(condition_holds("ArnEquals", ["arn:aws:sns:*:*:*"], [topic]))
        self.assertFalse(condition_holds("ArnLike", [f"arn:aws:sns:*:{B}:*"], [topic]))
        self.assertTrue(condition_holds("ArnNotEquals", [f"arn:aws:sns:*:{B}:*"], [topic]))
        self.assertFalse(condition_holds("ArnNotLike", [topic], [topic]))
        # Fields are compared one by one: a '*' does not span a colon-separated field.
        self.assertFalse(condition_holds("ArnLike", ["arn:aws:sns:*"], [topic]))

    def test_bool_and_null(self) -> None:
        self.assertTrue(condition_holds("Bool", ["true"], ["true"]))
        self.assertTrue(condition_holds("Bool", ["True"], ["true"]))
        self.assertFalse(condition_holds("Bool", ["false"], ["true"]))
        self.assertFalse(condition_holds("Bool", ["true"], None))
        self.assertTrue(condition_holds("BoolIfExists", ["true"], None))
        self.assertTrue(condition_holds("Null", ["true"], None))
        self.assertFalse(condition_holds("Null", ["true"], ["x"]))
        self.assertTrue(condition_holds("Null", ["false"], ["x"]))
        self.assertFalse(condition_holds("Null", ["false"], None))

    def test_numeric(self) -> None:
        self.assertTrue(condition_holds("NumericEquals", ["10"], ["10"]))
        self.assertTrue(condition_holds("NumericNotEquals", ["10"], ["11"]))
        self.assertTrue(condition_holds("NumericLessThan", ["10"], ["9"]))
        self.assertFalse(condition_holds("NumericLessThan", ["10"], ["10"]))
        self.assertTrue(condition_holds("NumericLessThanEquals", ["10"], ["10"]))
        self.assertTrue(condition_holds("NumericGreaterThan", ["10"], ["10.5"]))
        self.assertTrue(condition_holds("NumericGreaterThanEquals", ["10"], ["10"]))
        self.assertFalse(condition_holds("NumericEquals", ["10"], ["ten"]))

    def test_dates(self) -> None:
        now = ["2026-12-06T12:00:00Z"]
        self.assertTrue(condition_holds("DateLessThan", ["2027-01-01T00:00:00Z"], now))
        self.assertFalse(condition_holds("DateGreaterThan", ["2027-01-01T00:00:00Z"], now))
        self.assertTrue(condition_holds("DateGreaterThanEquals", ["2026-12-06T12:00:00Z"], now))
        self.assertTrue(condition_holds("DateLessThanEquals", ["2026-12-06T12:00:00+00:00"], now))
        self.assertTrue(condition_holds("DateEquals", ["1796558400"], now))  # epoch seconds
        self.assertTrue(condition_holds("DateNotEquals", ["2020-01-01T00:00:00Z"], now))

    def test_set_operators(self) -> None:
        keys = ["offsite:managed-by", "offsite:source"]
        self.assertTrue(condition_holds("ForAllValues:StringLike", ["offsite:*"], keys))
        self.assertFalse(condition_holds("ForAllValues:StringLike", ["offsite:*"], keys + ["env"]))
        # ForAllValues holds for a missing or empty key; ForAnyValue does not.
        self.assertTrue(condition_holds("ForAllValues:StringLike", ["offsite:*"], None))
        self.assertTrue(condition_holds("ForAllValues:StringLike", ["offsite:*"], []))
        self.assertFalse(condition_holds("ForAnyValue:StringEquals", ["env"], None))
        self.assertTrue(condition_holds("ForAnyValue:StringEquals", ["env"], keys + ["env"]))
        self.assertFalse(condition_holds("ForAnyValue:StringEquals", ["env"], keys))
        self.assertTrue(condition_holds("ForAnyValue:StringNotLike", ["offsite:*"], keys + ["env"]))
        self.assertFalse(condition_holds("ForAllValues:StringNotEquals", ["env"], keys + ["env"]))

    def test_unknown_operator_is_refused(self) -> None:
        with self.assertRaisesRegex(UnsupportedPolicy, "IpAddress"):
            condition_holds("IpAddress", ["10.0.0.0/8"], ["10.0.0.1"])
        with self.assertRaisesRegex(UnsupportedPolicy, "ForSome"):
            condition_holds("ForSome:StringEquals", ["a"], ["a"])


class Statements(unittest.TestCase):
    def test_action_wildcards_are_case_insensitive(self) -> None:
        self.assertTrue(decide("rds:CopyDBSnapshot", "*", [policy(allow("RDS:copydb*"))]).allowed)
        self.assertTrue(decide("rds:CopyDBSnapshot", "*", [policy(allow("rds:Copy??Snapshot"))]).allowed)
        self.assertFalse(decide("rds:CopyDBSnapshot", "*", [policy(allow("rds:Copy?Snapshot"))]).allowed)
        self.assertTrue(
            decide("sqs:SendMessage", "*", [policy({"Effect": "Allow", "NotAction": "rds:*", "Resource": "*"})]).allowed
        )
        self.assertFalse(
            decide("rds:DeleteDBSnapshot", "*", [policy({"Effect": "Allow", "NotAction": "rds:Delete*", "Resource": "*"})]).allowed
        )

    def test_resources_are_case_sensitive_with_wildcards(self) -> None:
        snap = f"arn:aws:rds:us-east-1:{A}:snapshot:offsite-db1"
        self.assertTrue(decide("rds:DeleteDBSnapshot", snap, [policy(allow("rds:*", f"arn:aws:rds:*:{A}:snapshot:offsite-*"))]).allowed)
        self.assertFalse(decide("rds:DeleteDBSnapshot", snap, [policy(allow("rds:*", f"arn:aws:rds:*:{A}:snapshot:Offsite-*"))]).allowed)
        self.assertTrue(decide("rds:DeleteDBSnapshot", snap, [policy(allow("rds:*", f"arn:aws:rds:*:{A}:snapshot:offsite-db?"))]).allowed)
        not_resource = {"Effect": "Allow", "Action": "rds:*", "NotResource": f"arn:aws:rds:*:*:snapshot:vault-*"}
        self.assertTrue(decide("rds:DeleteDBSnapshot", snap, [policy(not_resource)]).allowed)

    def test_no_resource_type_action_matches_only_star(self) -> None:
        # dynamodb:ListExports has no resource type in the Service Authorization Reference:
        # it is authorized on "*", which the shipped template's table/* does not match.
        info = iam_catalogue.action("dynamodb", "ListExports")
        assert info is not None
        self.assertEqual(info.resource_types, ())
        call = Call("dynamodb", "ListExports", A, "us-east-1", {"TableArn": TABLE}, {})
        self.assertEqual(resources_of(call, info), ["*"])
        scoped = policy(allow("dynamodb:ListExports", "arn:aws:dynamodb:*:*:table/*"))
        decision = decide("dynamodb:ListExports", "*", [scoped])
        self.assertFalse(decision.allowed)
        self.assertEqual(
            denial_message(CALLER, "dynamodb:ListExports", "*", decision),
            f"User: {SESSION} is not authorized to perform: dynamodb:ListExports on resource: * "
            "because no identity-based policy allows the dynamodb:ListExports action",
        )
        self.assertTrue(decide("dynamodb:ListExports", "*", [policy(allow("dynamodb:ListExports"))]).allowed)

    def test_explicit_deny_wins(self) -> None:
        both = [policy(allow("dynamodb:*")), policy(deny("dynamodb:DescribeTable", TABLE))]
        decision = decide("dynamodb:DescribeTable", TABLE, both)
        self.assertFalse(decision.allowed)
        self.assertEqual(
            denial_message(CALLER, "dynamodb:DescribeTable", TABLE, decision),
            f"User: {SESSION} is not authorized to perform: dynamodb:DescribeTable on resource: "
            f"{TABLE} with an explicit deny in an identity-based policy",
        )
        # A Deny in the resource policy beats an Allow in the identity policy.
        queue = f"arn:aws:sqs:us-east-1:{A}:q"
        rp = policy(deny("sqs:*", queue, Principal="*"))
        decision = decide("sqs:SendMessage", queue, [policy(allow("sqs:*"))], rp, A)
        self.assertFalse(decision.allowed)
        self.assertIn("explicit deny in a resource-based policy", denial_message(CALLER, "sqs:SendMessage", queue, decision))

    def test_same_account_identity_or_resource_policy(self) -> None:
        queue = f"arn:aws:sqs:us-east-1:{A}:q"
        names_role = policy(allow("sqs:SendMessage", queue, Principal={"AWS": ROLE}))
        self.assertTrue(decide("sqs:SendMessage", queue, [], names_role, A).allowed)
        self.assertTrue(decide("sqs:SendMessage", queue, [policy(allow("sqs:SendMessage"))], None, A).allowed)
        # The account principal delegates to IAM: it grants nothing by itself.
        names_account = policy(allow("sqs:SendMessage", queue, Principal={"AWS": f"arn:aws:iam::{A}:root"}))
        self.assertFalse(decide("sqs:SendMessage", queue, [], names_account, A).allowed)

    def test_cross_account_needs_both_sides(self) -> None:
        rp = policy(allow("sqs:SendMessage", QUEUE_B, Principal={"AWS": A}))
        ip = policy(allow("sqs:SendMessage", QUEUE_B))
        self.assertTrue(decide("sqs:SendMessage", QUEUE_B, [ip], rp, B).allowed)
        only_identity = decide("sqs:SendMessage", QUEUE_B, [ip], None, B)
        self.assertFalse(only_identity.allowed)
        self.assertIn("no resource-based policy allows", denial_message(CALLER, "sqs:SendMessage", QUEUE_B, only_identity))
        only_resource = decide("sqs:SendMessage", QUEUE_B, [], rp, B)
        self.assertFalse(only_resource.allowed)
        self.assertIn("no identity-based policy allows", denial_message(CALLER, "sqs:SendMessage", QUEUE_B, only_resource))
        # Naming the role itself across accounts still needs the caller's IAM.
        names_role = policy(allow("sqs:SendMessage", QUEUE_B, Principal={"AWS": ROLE}))
        self.assertFalse(decide("sqs:SendMessage", QUEUE_B, [], names_role, B).allowed)
        self.assertTrue(decide("sqs:SendMessage", QUEUE_B, [ip], names_role, B).allowed)
        # Another account's root names nobody of A.
        other = policy(allow("sqs:SendMessage", QUEUE_B, Principal={"AWS": f"arn:aws:iam::{B}:root"}))
        self.assertFalse(decide("sqs:SendMessage", QUEUE_B, [ip], other, B).allowed)

    def test_services_without_resource_policies_use_identity_only(self) -> None:
        shared = f"arn:aws:rds:us-east-1:{B}:snapshot:offsite-x"
        ip = policy(allow("rds:CopyDBSnapshot", "arn:aws:rds:us-east-1:*:snapshot:offsite-*"))
        self.assertTrue(decide("rds:CopyDBSnapshot", shared, [ip]).allowed)

    def test_key_policy_delegation(self) -> None:
        delegates = policy(allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{A}:root"}))
        ip = policy(allow("kms:DescribeKey", KEY_A))
        # The account principal delegates to IAM: IAM must allow too.
        self.assertFalse(decide("kms:DescribeKey", KEY_A, [], delegates, A, key_policy=True).allowed)
        self.assertTrue(decide("kms:DescribeKey", KEY_A, [ip], delegates, A, key_policy=True).allowed)
        # A key policy naming the role is enough in the key's account.
        names_role = policy(allow("kms:DescribeKey", "*", Principal={"AWS": ROLE}))
        self.assertTrue(decide("kms:DescribeKey", KEY_A, [], names_role, A, key_policy=True).allowed)
        # Without the key policy nothing helps, not even IAM's kms:*.
        other = policy(allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{B}:root"}))
        decision = decide("kms:DescribeKey", KEY_A, [policy(allow("kms:*"))], other, A, key_policy=True)
        self.assertFalse(decision.allowed)
        self.assertIn("no resource-based policy allows", denial_message(CALLER, "kms:DescribeKey", KEY_A, decision))
        # Across accounts: the key policy names the caller's account, and IAM must allow.
        to_a = policy(allow(["kms:DescribeKey", "kms:CreateGrant"], "*", Principal={"AWS": f"arn:aws:iam::{A}:root"}))
        self.assertFalse(decide("kms:DescribeKey", KEY_B, [], to_a, B, key_policy=True).allowed)
        self.assertTrue(
            decide("kms:DescribeKey", KEY_B, [policy(allow("kms:DescribeKey", KEY_B))], to_a, B, key_policy=True).allowed
        )

    def test_conditions_in_statements(self) -> None:
        via = policy(allow("kms:CreateGrant", KEY_A, Condition={
            "StringEquals": {"kms:ViaService": "rds.us-east-1.amazonaws.com"},
            "Bool": {"kms:GrantIsForAWSResource": True},
        }))
        direct = {"kms:grantisforawsresource": ["false"], "kms:calleraccount": [A]}
        self.assertFalse(decide("kms:CreateGrant", KEY_A, [via], context=direct).allowed)
        through_rds = {"kms:grantisforawsresource": ["true"], "kms:viaservice": ["rds.us-east-1.amazonaws.com"]}
        self.assertTrue(decide("kms:CreateGrant", KEY_A, [via], context=through_rds).allowed)

    def test_unknown_condition_key_is_refused_loudly(self) -> None:
        odd = policy(allow("dynamodb:*", "*", Condition={"StringEquals": {"aws:SourceVpce": "vpce-1"}}))
        decision = decide("dynamodb:ListTables", "*", [odd])
        self.assertFalse(decision.allowed)
        self.assertTrue(decision.unsupported)
        message = denial_message(CALLER, "dynamodb:ListTables", "*", decision)
        self.assertIn("cannot judge a policy: condition key aws:SourceVpce is not evaluated by the emulator (policy 0 statement 0)", message)
        # A statement that does not apply (another action) is not judged.
        self.assertFalse(
            decide("sqs:ListQueues", "*", [odd, policy(allow("sqs:ListQueues"))]).unsupported
        )
        # Also in a Deny: never silently skipped.
        deny_odd = policy(allow("*"), deny("*", "*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
        self.assertTrue(decide("sqs:ListQueues", "*", [deny_odd]).unsupported)

    def test_principals(self) -> None:
        queue = f"arn:aws:sqs:us-east-1:{A}:q"
        for principal, expected in [
            ("*", True),
            ({"AWS": "*"}, True),
            ({"AWS": ROLE}, True),
            ({"AWS": [SESSION]}, True),
            ({"AWS": f"arn:aws:iam::{A}:role/other"}, False),
            ({"AWS": f"arn:aws:iam::{A}:role/offsite/*"}, False),  # no wildcards in ARNs
            ({"Service": "sns.amazonaws.com"}, False),
        ]:
            rp = policy(allow("sqs:SendMessage", queue, Principal=principal))
            self.assertEqual(decide("sqs:SendMessage", queue, [], rp, A).allowed, expected, principal)
        sns = Principal(A, service="sns.amazonaws.com")
        rp = policy(allow("sqs:SendMessage", queue, Principal={"Service": "sns.amazonaws.com"}))
        self.assertTrue(evaluate_policy(rp, "q", principal=sns, action="sqs:SendMessage", resource=queue, context={}).allowed_by)
        # NotPrincipal: applies unless every identity (account, role, session) is listed.
        everyone_else = policy(allow("sqs:*", "*", Principal="*"), deny("sqs:*", "*", NotPrincipal={"AWS": [ROLE, f"arn:aws:iam::{A}:root", SESSION]}))
        self.assertTrue(decide("sqs:SendMessage", queue, [policy(allow("sqs:*"))], everyone_else, A).allowed)
        only_role = policy(deny("sqs:*", "*", NotPrincipal={"AWS": ROLE}))
        self.assertFalse(decide("sqs:SendMessage", queue, [policy(allow("sqs:*"))], only_role, A).allowed)

    def test_policy_variables(self) -> None:
        own = policy(allow("sqs:*", "arn:aws:sqs:*:${aws:PrincipalAccount}:*"))
        ctx = {"aws:principalaccount": [A]}
        self.assertTrue(decide("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{A}:q", [own], context=ctx).allowed)
        self.assertFalse(decide("sqs:SendMessage", QUEUE_B, [own], context=ctx).allowed)
        literal = json.dumps({"Version": "2008-10-17", "Statement": [allow("sqs:*", "arn:aws:sqs:*:${aws:PrincipalAccount}:*")]})
        self.assertFalse(decide("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{A}:q", [literal], context=ctx).allowed)
        # A substituted value's '*' is a literal character, not a wildcard.
        starry = policy(allow("sqs:*", "arn:aws:sqs:*:*:${aws:PrincipalAccount}"))
        self.assertFalse(decide("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:queue", [starry], context={"aws:principalaccount": ["q*"]}).allowed)
        self.assertTrue(decide("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q*", [starry], context={"aws:principalaccount": ["q*"]}).allowed)
        unknown = policy(allow("sqs:*", "arn:aws:sqs:*:${aws:username}:*"))
        self.assertTrue(decide("sqs:SendMessage", QUEUE_B, [unknown], context=ctx).unsupported)


class Catalogue(unittest.TestCase):
    def test_copy_takes_a_required_snapshot_and_request_tags(self) -> None:
        info = iam_catalogue.action("rds", "copydbsnapshot")
        assert info is not None
        self.assertEqual(info.full_name, "rds:CopyDBSnapshot")
        snapshot = info.resource_type("snapshot")
        assert snapshot is not None
        self.assertTrue(snapshot.required)
        self.assertTrue(iam_catalogue.key_listed("rds:snapshot-tag/offsite:selected", snapshot.condition_keys))
        self.assertTrue(iam_catalogue.key_listed("aws:RequestTag/x", info.keys_for(snapshot)))
        self.assertFalse(iam_catalogue.key_listed("rds:cluster-snapshot-tag/x", info.keys_for(snapshot)))
        self.assertIn("rds:AddTagsToResource", info.dependent_actions)
        self.assertEqual(
            iam_catalogue.fill_arn("rds", "snapshot", "aws", "us-east-1", A, "s1"),
            f"arn:aws:rds:us-east-1:{A}:snapshot:s1",
        )
        self.assertIsNone(iam_catalogue.action("rds", "CopyEverything"))

    def test_copy_authorizes_source_target_and_tags(self) -> None:
        source = f"arn:aws:rds:us-east-1:{A}:snapshot:rds:db1-2026"
        params = {
            "Action": "CopyDBSnapshot",
            "SourceDBSnapshotIdentifier": source,
            "TargetDBSnapshotIdentifier": "Offsite-DB1",
            "Tags.Tag.1.Key": "offsite:managed-by",
            "Tags.Tag.1.Value": "offsite-export",
        }
        call = Call("rds", "CopyDBSnapshot", A, "us-east-1", params, {})
        needed = [(a.action, a.resource) for a in authorizations(call, CALLER)]
        target = f"arn:aws:rds:us-east-1:{A}:snapshot:offsite-db1"
        self.assertEqual(
            needed,
            [("rds:CopyDBSnapshot", target), ("rds:CopyDBSnapshot", source), ("rds:AddTagsToResource", target)],
        )
        tagged = authorizations(call, CALLER)[2].context
        self.assertEqual(tagged["aws:requesttag/offsite:managed-by"], ["offsite-export"])
        self.assertEqual(tagged["aws:tagkeys"], ["offsite:managed-by"])
        self.assertEqual(tagged["aws:securetransport"], ["true"])

    def test_context_keeps_only_keys_the_action_takes(self) -> None:
        info = iam_catalogue.action("dynamodb", "ListTables")
        assert info is not None
        base = {"aws:securetransport": ["true"], "kms:calleraccount": [A], "aws:requesttag/a": ["b"]}
        self.assertEqual(context_for(base, info, "*"), {"aws:securetransport": ["true"]})


class RequestMapping(unittest.TestCase):
    """Which (action, resource) pairs a request is authorized as."""

    def needed(self, call: Call) -> list[tuple[str, str]]:
        return [(a.action, a.resource) for a in authorizations(call, CALLER)]

    def test_s3_rest_shapes(self) -> None:
        def s3(method: str, path: str, query: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None) -> Call:
            return Call("s3", "", A, "us-east-1", {}, headers or {}, method, path, query or {})

        self.assertEqual(self.needed(s3("GET", "/")), [("s3:ListAllMyBuckets", "*")])
        self.assertEqual(self.needed(s3("GET", "/b", {"list-type": ["2"]})), [("s3:ListBucket", "arn:aws:s3:::b")])
        self.assertEqual(self.needed(s3("HEAD", "/b")), [("s3:ListBucket", "arn:aws:s3:::b")])
        self.assertEqual(
            self.needed(s3("GET", "/b/a/k.json", {"x-id": ["GetObject"]})), [("s3:GetObject", "arn:aws:s3:::b/a/k.json")]
        )
        self.assertEqual(self.needed(s3("PUT", "/b", {"policy": [""]})), [("s3:PutBucketPolicy", "arn:aws:s3:::b")])
        copy = s3("PUT", "/b/new", headers={"x-amz-copy-source": "/src/old%20key"})
        self.assertEqual(
            self.needed(copy), [("s3:PutObject", "arn:aws:s3:::b/new"), ("s3:GetObject", "arn:aws:s3:::src/old key")]
        )
        sse = s3("PUT", "/b/k", headers={"x-amz-server-side-encryption": "aws:kms"})
        self.assertEqual(authorizations(sse, CALLER)[0].context["s3:x-amz-server-side-encryption"], ["aws:kms"])

    def test_queue_url_topic_subscription_and_key_alias(self) -> None:
        send = Call("sqs", "SendMessage", A, "us-east-1", {"QueueUrl": f"http://127.0.0.1:5000/{B}/vault"}, {})
        self.assertEqual(self.needed(send), [("sqs:SendMessage", QUEUE_B)])
        topic = f"arn:aws:sns:us-east-1:{A}:t"
        unsubscribe = Call("sns", "Unsubscribe", A, "us-east-1", {"SubscriptionArn": f"{topic}:0f1e"}, {})
        # The reference lists no resource type for sns:Unsubscribe: "*", whatever it names.
        self.assertEqual(self.needed(unsubscribe), [("sns:Unsubscribe", "*")])
        publish = Call("sns", "Publish", A, "us-east-1", {"TopicArn": topic, "Message": "m"}, {})
        self.assertEqual(self.needed(publish), [("sns:Publish", topic)])
        subscribe = Call("sns", "Subscribe", A, "us-east-1", {"TopicArn": topic, "Protocol": "sqs", "Endpoint": QUEUE_B}, {})
        context = authorizations(subscribe, CALLER)[0].context
        self.assertEqual((context["sns:protocol"], context["sns:endpoint"]), (["sqs"], [QUEUE_B]))
        describe = Call("kms", "DescribeKey", A, "us-east-1", {"KeyId": KEY_B}, {})
        self.assertEqual(self.needed(describe), [("kms:DescribeKey", KEY_B)])
        self.assertEqual(authorizations(describe, CALLER)[0].context["kms:calleraccount"], [A])

    def test_every_action_the_pipeline_calls_is_mapped(self) -> None:
        snap = f"arn:aws:rds:us-east-1:{A}:snapshot:s1"
        csnap = f"arn:aws:rds:us-east-1:{A}:cluster-snapshot:c1"
        topic = f"arn:aws:sns:us-east-1:{A}:t"
        queue = f"http://127.0.0.1:5000/{B}/vault"
        cases: list[tuple[str, str, dict[str, Any], list[str]]] = [
            ("rds", "DescribeDBSnapshots", {}, ["*"]),
            ("rds", "DescribeDBSnapshots", {"DBSnapshotIdentifier": "S1"}, [snap]),
            ("rds", "DescribeDBClusterSnapshots", {"DBClusterSnapshotIdentifier": csnap}, [csnap]),
            ("rds", "DeleteDBSnapshot", {"DBSnapshotIdentifier": "s1"}, [snap]),
            ("rds", "DeleteDBClusterSnapshot", {"DBClusterSnapshotIdentifier": "c1"}, [csnap]),
            ("rds", "ModifyDBSnapshotAttribute", {"DBSnapshotIdentifier": "s1", "AttributeName": "restore"}, [snap]),
            ("rds", "ModifyDBClusterSnapshotAttribute", {"DBClusterSnapshotIdentifier": "c1"}, [csnap]),
            ("rds", "DescribeDBSnapshotAttributes", {"DBSnapshotIdentifier": "s1"}, [snap]),
            ("rds", "DescribeDBClusterSnapshotAttributes", {"DBClusterSnapshotIdentifier": "c1"}, [csnap]),
            ("rds", "AddTagsToResource", {"ResourceName": snap}, [snap]),
            ("rds", "RemoveTagsFromResource", {"ResourceName": csnap}, [csnap]),
            ("rds", "ListTagsForResource", {"ResourceName": snap}, [snap]),
            ("rds", "DescribeDBInstances", {"DBInstanceIdentifier": "db1"}, [f"arn:aws:rds:us-east-1:{A}:db:db1"]),
            ("rds", "DescribeDBClusters", {}, ["*"]),
            ("rds", "DescribeOptionGroups", {}, ["*"]),
            ("sns", "Publish", {"TopicArn": topic}, [topic]),
            ("sns", "PublishBatch", {"TopicArn": topic}, [topic]),
            ("sqs", "SendMessage", {"QueueUrl": queue}, [QUEUE_B]),
            ("sqs", "ReceiveMessage", {"QueueUrl": queue}, [QUEUE_B]),
            ("sqs", "DeleteMessage", {"QueueUrl": queue}, [QUEUE_B]),
            ("sqs", "GetQueueAttributes", {"QueueUrl": queue}, [QUEUE_B]),
            ("dynamodb", "ListTables", {}, ["*"]),
            ("dynamodb", "DescribeTable", {"TableName": "t"}, [TABLE]),
            ("dynamodb", "DescribeContinuousBackups", {"TableName": "t"}, [TABLE]),
            ("dynamodb", "ListTagsOfResource", {"ResourceArn": TABLE}, [TABLE]),
            ("dynamodb", "ExportTableToPointInTime", {"TableArn": TABLE, "S3Bucket": "b"}, [TABLE]),
            ("dynamodb", "ListExports", {"TableArn": TABLE}, ["*"]),
            ("dynamodb", "DescribeExport", {"ExportArn": f"{TABLE}/export/01"}, [f"{TABLE}/export/01"]),
            ("kms", "DescribeKey", {"KeyId": KEY_A}, [KEY_A]),
            ("sts", "AssumeRole", {"RoleArn": ROLE}, [ROLE]),
        ]
        for service, operation, params, expected in cases:
            call = Call(service, operation, A, "us-east-1", params, {})
            self.assertEqual([r for _, r in self.needed(call)], expected, f"{service}:{operation}")

    def test_unknown_or_unmappable_actions_are_refused(self) -> None:
        from patches.iam_enforce import Refused

        with self.assertRaisesRegex(Refused, "does not know the action rds:CopyEverything"):
            authorizations(Call("rds", "CopyEverything", A, "us-east-1", {}, {}), CALLER)
        with self.assertRaisesRegex(Refused, "cannot tell the snapshot resource"):
            authorizations(Call("rds", "DeleteDBSnapshot", A, "us-east-1", {}, {}), CALLER)


class BucketPolicyWrapper(unittest.TestCase):
    """``s3_bucket_policy`` (used by the DynamoDB export) keeps its behaviour."""

    def test_bucket_policy(self) -> None:
        obj = "arn:aws:s3:::audit/exports/x"
        writer = policy({
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::audit/*", "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        })
        ctx = {"aws:securetransport": "true"}
        self.assertTrue(s3_bucket_policy.evaluate(writer, CALLER, "s3:PutObject", obj, ctx).allowed)
        self.assertFalse(s3_bucket_policy.evaluate(None, CALLER, "s3:PutObject", obj, ctx).allowed)
        other = policy({
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::audit/*", "Condition": {"StringEquals": {"aws:SourceAccount": A}},
        })
        with self.assertRaisesRegex(UnsupportedPolicy, "aws:SourceAccount"):
            s3_bucket_policy.evaluate(other, CALLER, "s3:PutObject", obj, ctx)


if __name__ == "__main__":
    unittest.main()
