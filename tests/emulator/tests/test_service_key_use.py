"""Unit tests of the services' use of the caller's permissions (patches/iam_enforce.py,
``authorize_key_use`` / ``topic_key_refusal``; patches/dynamodb_export.py,
``OffsiteExport._enforced_denial``), against moto's in-process backends.

    .venv/bin/python -m unittest discover -s tests/emulator/tests

References: SNS Developer Guide "Key management" (a publisher to an SSE topic needs
kms:GenerateDataKey and kms:Decrypt); SNS API Reference, Publish errors (KMSAccessDenied);
DynamoDB Developer Guide S3DataExport_Requesting ("Set up S3 permissions"); S3 User Guide
"UsingKMSEncryption", "mpuoverview"; KMS Developer Guide "kms:ViaService"; IAM User Guide
"Cross-account policy evaluation logic", "AWS global condition context keys".
"""

from __future__ import annotations

import json
import sys
import unittest
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moto.iam.models import iam_backends  # noqa: E402
from moto.kms.models import kms_backends  # noqa: E402
from moto.s3.models import s3_backends  # noqa: E402
from moto.sns.models import sns_backends  # noqa: E402

from patches import dynamodb_export, iam_enforce  # noqa: E402
from patches.iam_enforce import (  # noqa: E402
    Call,
    authorize_key_use,
    authorize_rds_key_use,
    object_key_refusal,
    topic_key_refusal,
)
from patches.iam_policy import Principal  # noqa: E402

A, B = "111111111111", "333333333333"
REGION = "us-east-1"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
NO_SESSION_POLICY = SimpleNamespace(policy=None)


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def account_admin(account: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"}


def role(account: str, *statements: dict[str, Any]) -> tuple[Principal, Any]:
    name = f"r-{uuid.uuid4().hex[:8]}"
    r = iam_backends[account]["aws"].create_role(name, TRUST, "/", None, "", [], None)
    if statements:
        iam_backends[account]["aws"].put_role_policy(name, "p", doc(*statements))
    principal = Principal(account, arn=f"arn:aws:sts::{account}:assumed-role/{name}/run", role_arn=r.arn)
    return principal, r


def key(account: str, *statements: dict[str, Any]) -> str:
    k = kms_backends[account][REGION].create_key(doc(*statements), "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", "k", None)
    return k.arn


class TopicKey(unittest.TestCase):
    """SNS Publish to an SSE topic: the publisher's kms:GenerateDataKey and kms:Decrypt."""

    def topic(self, key_arn: str) -> str:
        name = f"t-{uuid.uuid4().hex[:8]}"
        return sns_backends[A][REGION].create_topic(name, {"KmsMasterKeyId": key_arn}).arn

    def publish(self, principal: Principal, r: Any, topic: str, op: str = "Publish") -> str | None:
        return topic_key_refusal(principal, r, NO_SESSION_POLICY, Call("sns", op, A, REGION, {"TopicArn": topic}, {}))

    def test_the_templates_statement_allows_and_its_absence_refuses(self) -> None:
        k = key(A, account_admin(A))
        topic = self.topic(k)
        # infra/workload.yaml, TopicKeyThroughSnsOnly.
        statement = allow(["kms:GenerateDataKey", "kms:Decrypt"], k, Condition={"StringEquals": {
            "kms:ViaService": f"sns.{REGION}.amazonaws.com", "kms:EncryptionContext:aws:sns:topicArn": topic}})
        ok, ok_role = role(A, statement)
        self.assertIsNone(self.publish(ok, ok_role, topic))
        self.assertIsNone(self.publish(ok, ok_role, topic, "PublishBatch"))
        bare, bare_role = role(A, allow("sns:Publish", topic))
        refused = self.publish(bare, bare_role, topic)
        assert refused is not None
        self.assertIn("kms:GenerateDataKey", refused)
        self.assertIn(k, refused)
        self.assertIn(bare.describe(), refused)

    def test_every_action_the_doc_names_is_needed(self) -> None:
        k = key(A, account_admin(A))
        topic = self.topic(k)
        only_data_key, r = role(A, allow("kms:GenerateDataKey", k))
        refused = self.publish(only_data_key, r, topic)
        assert refused is not None
        self.assertIn("kms:Decrypt", refused)

    def test_context_through_sns_not_another_service_and_not_another_topic(self) -> None:
        k = key(A, account_admin(A))
        topic, other = self.topic(k), self.topic(k)
        via_s3, r = role(A, allow(["kms:GenerateDataKey", "kms:Decrypt"], k, Condition={
            "StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}))
        self.assertIsNotNone(self.publish(via_s3, r, topic))
        this_topic, r2 = role(A, allow(["kms:GenerateDataKey", "kms:Decrypt"], k, Condition={
            "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic}}))
        self.assertIsNone(self.publish(this_topic, r2, topic))
        self.assertIsNotNone(self.publish(this_topic, r2, other))
        # No aws:CalledVia through SNS: a statement that requires it does not apply.
        called_via, r3 = role(A, allow(["kms:GenerateDataKey", "kms:Decrypt"], k, Condition={
            "ForAnyValue:StringEquals": {"aws:CalledVia": "sns.amazonaws.com"}}))
        self.assertIsNotNone(self.publish(called_via, r3, topic))
        # aws:ViaAWSService is true for the forward request.
        via_service, r4 = role(A, allow(["kms:GenerateDataKey", "kms:Decrypt"], k, Condition={
            "Bool": {"aws:ViaAWSService": "true"}}))
        self.assertIsNone(self.publish(via_service, r4, topic))

    def test_key_policy_decides_without_delegation(self) -> None:
        principal, r = role(A, allow(["kms:GenerateDataKey", "kms:Decrypt"], "*"))
        # The key policy names nobody of the account: IAM alone is not enough.
        k = key(A, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"}, "Action": "kms:*", "Resource": "*"})
        refused = self.publish(principal, r, self.topic(k))
        assert refused is not None
        self.assertIn("no resource-based policy allows the kms:GenerateDataKey action", refused)

    def test_unencrypted_topic_and_unknown_key_are_not_checked(self) -> None:
        principal, r = role(A)
        plain = sns_backends[A][REGION].create_topic(f"t-{uuid.uuid4().hex[:8]}").arn
        self.assertIsNone(self.publish(principal, r, plain))
        self.assertIsNone(self.publish(principal, r, self.topic("alias/aws/sns")))

    def test_rds_is_the_same_function_with_its_own_actions(self) -> None:
        k = key(A, account_admin(A))
        via_rds = {"StringEquals": {"kms:ViaService": f"rds.{REGION}.amazonaws.com"}}
        principal, r = role(
            A,
            allow("kms:DescribeKey", k, Condition=via_rds),
            allow("kms:CreateGrant", k, Condition={**via_rds, "Bool": {"kms:GrantIsForAWSResource": "true"}}),
        )
        self.assertTrue(authorize_rds_key_use(principal, r, NO_SESSION_POLICY, REGION, k).allowed)
        self.assertFalse(authorize_key_use(
            principal, r, NO_SESSION_POLICY, REGION, k, service="sns", actions=("kms:CreateGrant",)).allowed)


class ExportWrites(unittest.TestCase):
    """A DynamoDB export's writes with the caller's permissions (``_enforced_denial``)."""

    def export(self, principal: Principal, r: Any, bucket: str, params: dict[str, Any]) -> Any:
        export = object.__new__(dynamodb_export.OffsiteExport)
        export.caller = principal.account
        export.principal = principal
        export.enforced = (principal, r, NO_SESSION_POLICY)
        export.params = {"S3Bucket": bucket, "S3BucketOwner": B, **params}
        export.root = "offsite/account=111111111111/AWSDynamoDB/0001-abc"
        export.data_key = f"{export.root}/data/x.json.gz"
        return export

    def bucket(self, bucket_policy: str | None) -> str:
        name = f"b-{uuid.uuid4().hex[:8]}"
        backend = s3_backends[B]["aws"]
        backend.create_bucket(name, REGION)
        if bucket_policy:
            backend.put_bucket_policy(name, bucket_policy.encode())
        return name

    def bucket_policy(self, role_arn: str) -> str:
        return doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                    "Action": ["s3:PutObject", "s3:PutObjectAcl", "s3:AbortMultipartUpload"],
                    "Resource": "arn:aws:s3:::*/offsite/*", "Condition": {"ArnEquals": {"aws:PrincipalArn": role_arn}}})

    def writer(self, *extra: dict[str, Any], actions: Any = None) -> tuple[Principal, Any]:
        writes = allow(actions or ["s3:PutObject", "s3:PutObjectAcl", "s3:AbortMultipartUpload"],
                       "arn:aws:s3:::*/offsite/account=111111111111/*")
        return role(A, writes, *extra)

    def test_identity_and_bucket_policy_both_needed_across_accounts(self) -> None:
        principal, r = self.writer()
        allowed = self.bucket(self.bucket_policy(r.arn))
        self.assertIsNone(self.export(principal, r, allowed, {"S3SseAlgorithm": "AES256"})._access_denied())
        no_policy = self.bucket(None)
        denied = self.export(principal, r, no_policy, {"S3SseAlgorithm": "AES256"})._access_denied()
        assert denied is not None
        self.assertIn("no resource-based policy allows the s3:PutObject action", denied)
        without_put, r2 = self.writer(actions=["s3:PutObjectAcl", "s3:AbortMultipartUpload"])
        allowed2 = self.bucket(self.bucket_policy(r2.arn))
        denied = self.export(without_put, r2, allowed2, {"S3SseAlgorithm": "AES256"})._access_denied()
        assert denied is not None
        self.assertIn("s3:PutObject on resource", denied)
        self.assertIn("no identity-based policy allows", denied)
        self.assertIn(without_put.describe(), denied)

    def test_every_documented_write_action_is_needed(self) -> None:
        without_acl, r = self.writer(actions=["s3:PutObject", "s3:AbortMultipartUpload"])
        bucket = self.bucket(self.bucket_policy(r.arn))
        denied = self.export(without_acl, r, bucket, {"S3SseAlgorithm": "AES256"})._access_denied()
        assert denied is not None
        self.assertIn("s3:PutObjectAcl", denied)

    def test_the_kms_key_through_s3(self) -> None:
        principal, r = self.writer(allow(["kms:GenerateDataKey", "kms:Decrypt"], "*", Condition={
            "StringLike": {"kms:ViaService": "s3.*.amazonaws.com"},
            "ForAnyValue:StringEquals": {"aws:CalledVia": "dynamodb.amazonaws.com"}}))
        key_statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                         "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*",
                         "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"},
                                       "ArnEquals": {"aws:PrincipalArn": r.arn}}}
        k = key(B, account_admin(B), key_statement)
        bucket = self.bucket(self.bucket_policy(r.arn))
        sse = {"S3SseAlgorithm": "KMS", "S3SseKmsKeyId": k}
        self.assertIsNone(self.export(principal, r, bucket, sse)._access_denied())
        # The key policy does not admit the caller.
        other = key(B, account_admin(B))
        denied = self.export(principal, r, bucket, {"S3SseAlgorithm": "KMS", "S3SseKmsKeyId": other})._access_denied()
        assert denied is not None
        self.assertIn("kms:GenerateDataKey", denied)
        self.assertIn("Access Denied", denied)
        # The caller's IAM has no statement for the key.
        no_key, r2 = self.writer()
        k2 = key(B, account_admin(B), {**key_statement, "Condition": {"StringEquals": {
            "kms:ViaService": f"s3.{REGION}.amazonaws.com"}}})
        bucket2 = self.bucket(self.bucket_policy(r2.arn))
        denied = self.export(no_key, r2, bucket2, {"S3SseAlgorithm": "KMS", "S3SseKmsKeyId": k2})._access_denied()
        assert denied is not None
        self.assertIn("kms:GenerateDataKey", denied)
        self.assertIn("no identity-based policy allows", denied)

    def test_decrypt_is_needed_for_multipart_uploads(self) -> None:
        principal, r = self.writer(allow("kms:GenerateDataKey", "*"))
        k = key(B, account_admin(B), {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                                      "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"})
        bucket = self.bucket(self.bucket_policy(r.arn))
        denied = self.export(principal, r, bucket, {"S3SseAlgorithm": "KMS", "S3SseKmsKeyId": k})._access_denied()
        assert denied is not None
        self.assertIn("kms:Decrypt", denied)

    def test_bucket_default_key_applies_without_requested_sse(self) -> None:
        principal, r = self.writer()
        k = key(B, account_admin(B))
        bucket = self.bucket(self.bucket_policy(r.arn))
        s3_backends[B]["aws"].put_bucket_encryption(bucket, {"Rule": {
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": k}}})
        denied = self.export(principal, r, bucket, {})._access_denied()
        assert denied is not None
        self.assertIn("kms:GenerateDataKey", denied)
        # AES256 requested: the key is not used.
        self.assertIsNone(self.export(principal, r, bucket, {"S3SseAlgorithm": "AES256"})._access_denied())


class ObjectReads(unittest.TestCase):
    """S3 GetObject of an SSE-KMS object: the reader's kms:Decrypt through S3 (S3 User Guide,
    UsingKMSEncryption, "Permissions"), in the bucket owner's key across accounts."""

    def setUp(self) -> None:
        self.bucket = f"b-{uuid.uuid4().hex[:8]}"
        s3_backends[B]["aws"].create_bucket(self.bucket, REGION)

    def put(self, name: str, key_arn: str | None) -> None:
        s3_backends[B]["aws"].put_object(
            self.bucket, name, b"{}", encryption="aws:kms" if key_arn else None, kms_key_id=key_arn)

    def get(self, principal: Principal, r: Any, name: str, method: str = "GET", query: str = "") -> str | None:
        params = {k: [""] for k in query.split(",") if k}
        call = Call("s3", "GetObject", A, REGION, {}, {}, method=method, path=f"/{self.bucket}/{name}", query=params)
        return object_key_refusal(principal, r, NO_SESSION_POLICY, call)

    def test_decrypt_through_s3_in_both_policies(self) -> None:
        via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}
        reader, r = role(A, allow("kms:Decrypt", "*", Condition=via_s3))
        admits = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:Decrypt",
                  "Resource": "*", "Condition": {**via_s3, "ArnEquals": {"aws:PrincipalArn": r.arn}}}
        k = key(B, account_admin(B), admits)
        self.put("a/info.json", k)
        self.assertIsNone(self.get(reader, r, "a/info.json"))
        self.assertIsNone(self.get(reader, r, "a/info.json", method="HEAD"))
        # The key policy does not admit the reader.
        self.put("a/other.json", key(B, account_admin(B)))
        refused = self.get(reader, r, "a/other.json")
        assert refused is not None
        self.assertIn("kms:Decrypt", refused)
        # The reader's own IAM has no statement for the key (the key policy admits its account).
        bare, r2 = role(A, allow("s3:GetObject", "*"))
        self.put("a/open.json", key(B, account_admin(B), {
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:Decrypt", "Resource": "*"}))
        refused = self.get(bare, r2, "a/open.json")
        assert refused is not None
        self.assertIn("no identity-based policy allows", refused)
        # Through another service the statement does not apply.
        via_rds, r3 = role(A, allow("kms:Decrypt", "*", Condition={
            "StringEquals": {"kms:ViaService": f"rds.{REGION}.amazonaws.com"}}))
        self.assertIsNotNone(self.get(via_rds, r3, "a/info.json"))

    def test_the_context_names_the_object(self) -> None:
        reader, r = role(A, allow("kms:Decrypt", "*", Condition={"StringLike": {
            "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{self.bucket}/a/*"}}))
        k = key(B, account_admin(B), {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                                      "Action": "kms:Decrypt", "Resource": "*"})
        self.put("a/x.json", k)
        self.put("b/x.json", k)
        self.assertIsNone(self.get(reader, r, "a/x.json"))
        self.assertIsNotNone(self.get(reader, r, "b/x.json"))

    def test_plain_objects_subresources_and_missing_objects_are_not_checked(self) -> None:
        bare, r = role(A)
        self.put("plain.json", None)
        self.assertIsNone(self.get(bare, r, "plain.json"))
        k = key(B, account_admin(B))
        self.put("secret.json", k)
        self.assertIsNone(self.get(bare, r, "secret.json", query="tagging"))
        self.assertIsNone(self.get(bare, r, "missing.json"))
        self.assertIsNotNone(self.get(bare, r, "secret.json"))


if __name__ == "__main__":
    unittest.main()
