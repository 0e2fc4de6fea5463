"""WSGI middleware (not a moto patch): IAM authorization of every AWS request made with the
credentials of a role that exists in its account's IAM, as AWS authorizes it.

Who is enforced
---------------
The principal is the access key's STS AssumeRole session (moto keeps it in the role
account's STS backend, ``moto.sts.models.STSBackend.assumed_roles``; the key's account comes
from ``moto.iam.models.get_account_id_from``). A session of a role that **exists** in that
account's IAM (created through the IAM API, ARN with its path) is enforced; a session of a
role deleted since it was assumed is refused everything. Credentials of
a role name the account's IAM does not hold (``arn:aws:iam::<account>:role/offsite-test``,
the harness's) are the **bootstrap identity** of the account, the stand-in for whoever
deploys the stacks, and stay unrestricted; so do IAM users and unknown keys. Control
requests (``/_offsite/``, ``/moto-api/``) are never enforced.

``sts:AssumeRole`` of a role that exists is checked for every caller: the role's trust
policy must admit the caller (a bootstrap caller's own identity is unrestricted; an
enforced caller also needs its identity policies, per the evaluation logic: across
accounts, or when the trust policy names only the caller's account). An enforced caller may
not assume a role that does not exist (AWS: AccessDenied), so it cannot become a bootstrap
identity. ``sts:GetCallerIdentity`` needs no permission (STS API reference:
"No permissions are required to perform this operation").

What a request is authorized as
-------------------------------
The action: the service prefix (SigV4 scope, ``monitoring`` etc. mapped where the IAM prefix
differs) and the API name from ``X-Amz-Target`` (JSON protocols), the ``Action`` parameter
(query protocols) or the S3 REST shape (path-style: method, bucket/key, sub-resource).
Batch operations are authorized as their single forms (``sns:PublishBatch`` as
``sns:Publish``, ``sqs:SendMessageBatch`` as ``sqs:SendMessage`` ...: ``API_ACTIONS``).
The catalogue (``iam_catalogue``, the Service Authorization Reference) must list it; an
action it does not list, or one this module cannot map to resources, is refused naming it.
The resources: ARNs built with the catalogue's ARN formats from the request's parameters
(``DBSnapshotIdentifier``, ``SnapshotIdentifier``, ``DBSubnetGroupName``, ``TableName``,
``QueueUrl``, ``TopicArn``, ``KeyId``, a Secrets
Manager ``SecretId`` (its full ARN when moto holds the secret) ...), only of
the resource types the action takes; an action without resource types is authorized on
``"*"``. ``CopyDBSnapshot``/``CopyDBClusterSnapshot`` authorize the target and the source;
``StartExportTask``/``DescribeExportTasks`` the snapshot named by ``SourceArn``, and
StartExportTask also ``iam:PassRole`` on ``IamRoleArn`` (its dependent action in the catalogue;
``PASSED_ROLES`` lists the actions whose passed role is authorized);
tags in a request whose action lists ``rds:AddTagsToResource`` as dependent are also
authorized as ``rds:AddTagsToResource`` on the new resource (RDS User Guide, "Granting
permission to tag Amazon RDS resources during creation"). Every (action, resource) must be
allowed.

Request context: ``aws:PrincipalArn`` (the role ARN), ``aws:PrincipalAccount``,
``aws:PrincipalType`` (``AssumedRole``), ``aws:SecureTransport`` **true** (the emulator is
plain HTTP on loopback, but the SDKs reach every AWS endpoint over TLS only: a policy
requiring TLS must behave as it would against AWS), ``aws:ViaAWSService`` and
``aws:PrincipalIsAWSService`` false, ``aws:CurrentTime``/``aws:EpochTime``,
``aws:RequestedRegion``; ``aws:RequestTag/…``, ``aws:TagKeys``, ``rds:req-tag/…`` from the
request's tags; ``aws:ResourceTag/…`` and service tag keys (``rds:snapshot-tag/…``,
``rds:cluster-snapshot-tag/…``, ``rds:db-tag/…``, ``rds:cluster-tag/…``) from the resource's
tags in moto (a resource being created has none); ``kms:CallerAccount``,
``kms:GrantIsForAWSResource`` (false: a direct call), ``kms:EncryptionContext:…``,
``kms:EncryptionContextKeys``; ``sns:Protocol``, ``sns:Endpoint`` (Subscribe);
``s3:x-amz-server-side-encryption[-aws-kms-key-id]`` (headers), ``s3:prefix`` (a listing's
``prefix``); ``rds:PubliclyAccessible``, ``rds:DatabaseClass`` (a creation's request),
``rds:ManageMasterUserPassword`` (as the request states it); ``sts:ExternalId``,
``sts:RoleSessionName`` (AssumeRole). Service keys are kept only where the catalogue lists
them for the action and resource type. ``aws:SourceArn``, ``aws:SourceAccount``,
``aws:CalledVia``, ``kms:ViaService`` are known and absent: a role's direct call carries
none of them (they come with a service acting for it: see below).

Policies: the role's inline policies and attached managed policies (default version), the
session policy; resource policies of SQS queues, SNS topics, S3 buckets, KMS keys (key
policy) and role trust policies (for AssumeRole), as moto stores them. Evaluation:
``iam_policy.authorize``.

Denials answer as AWS does, HTTP 403: query protocols (RDS, STS, IAM, SNS) an
``ErrorResponse`` with code ``AccessDenied`` (SNS ``AuthorizationError``); JSON protocols
(DynamoDB, KMS, SQS, Secrets Manager) ``__type`` ``AccessDeniedException`` (SQS also
``x-amzn-query-error: AccessDenied;Sender``, its query-compatible code); S3 ``<Error>`` with
``AccessDenied``; the message "User: <session ARN> is not authorized to perform: <action> on
resource: <ARN> because no identity-based policy allows the <action> action" (or "with an
explicit deny in a(n) ... policy"; IAM User Guide, "Troubleshoot access denied error
messages").

Services acting with the caller's permissions
---------------------------------------------
A service that uses a KMS key or writes to S3 for an enforced caller does so as a forward
access request: ``forward_context`` (``aws:ViaAWSService`` true; ``aws:CalledVia`` only when
a service in the chain sets it, "Athena, CloudFormation, DynamoDB and AWS KMS" (IAM User
Guide, "AWS global condition context keys"); for KMS ``kms:ViaService``
``<service>.<region>.amazonaws.com`` and ``kms:CallerAccount``), evaluated by
``authorize_on_behalf`` under the caller's identity and session policies and the resource's
policy; ``authorize_key_use`` is the one check of "a service uses a key on the caller's
behalf", parameterised by service, actions and encryption context:

* RDS copies (``install_rds_key_checks``, after the copy's other preconditions, as RDS
  does): ``kms:CreateGrant`` and ``kms:DescribeKey`` on the source key and the target key
  (RDS User Guide, "Overview.Encryption.Keys"), ``kms:GrantIsForAWSResource`` true, no
  ``aws:CalledVia`` (RDS does not set it); refused -> ``KMSKeyNotAccessibleFault`` with AWS's
  message and the emulator's reason after it. A key moto's KMS does not hold (its stand-in
  for ``aws/rds``) is not checked: the ``aws/rds`` key policy admits the account's
  principals through RDS.
* SNS ``Publish``/``PublishBatch`` to a topic with ``KmsMasterKeyId`` (``topic_key_refusal``,
  after ``sns:Publish`` is allowed): ``kms:GenerateDataKey`` and ``kms:Decrypt`` on the
  topic's key ("the publisher must have the kms:GenerateDataKey and kms:Decrypt permissions
  for the AWS KMS key", SNS Developer Guide, "Key management", "Allow a user to send
  messages to a topic with SSE"), ``kms:ViaService`` ``sns.<region>.amazonaws.com``,
  encryption context ``aws:sns:topicArn`` = the topic (the key AWS's own key policies for
  SSE topics condition on, e.g. GameLift FlexMatch guide, "Set up an SNS topic with
  server-side encryption"; infra/workload.yaml's statement uses it), no ``aws:CalledVia``; refused -> HTTP 400 ``KMSAccessDenied``
  (Sender), the code the SNS API reference lists for Publish and PublishBatch (service
  model: ``KMSAccessDeniedException``, ``httpStatusCode`` 400), nothing published. An alias
  or key moto's KMS does not hold (``alias/aws/sns``) is not checked.
* DynamoDB exports (``dynamodb_export``, ``OffsiteExport._enforced_denial``): the caller's
  S3 writes and, for SSE-KMS, ``kms:GenerateDataKey`` and ``kms:Decrypt`` through S3 (see
  that module).
* S3 ``GetObject`` (GET or HEAD) of an SSE-KMS object (``object_key_refusal``):
  ``kms:Decrypt`` on the object's key through S3 (S3 User Guide, "UsingKMSEncryption":
  "To download an object that is encrypted with a KMS key ... you must have kms:Decrypt"),
  encryption context ``aws:s3:arn``; refused -> 403 ``AccessDenied``. Keys moto's KMS does not
  hold (``aws/s3``) are not checked.
* RDS snapshot exports (``rds_export``): ``kms:CreateGrant`` and ``kms:DescribeKey`` on the
  export's key through RDS (``authorize_rds_key_use``) -> ``KMSKeyNotAccessibleFault``; the
  export role's S3 access is the role's own, not the caller's (see that module).

Not enforced (yet)
------------------
KMS use by other services on the caller's behalf (SQS queues with a KMS key: the
templates' queues use SSE-SQS; Athena, Glue); key states for SNS (a disabled or
pending-deletion topic key: ``KMSDisabled``/``KMSInvalidState``); creating a DB snapshot
under a key; restores from snapshots under a key; the default option group, parameter group
and subnet group a request uses without naming them (RestoreDBInstanceFromDBSnapshot and
RestoreDBClusterFromSnapshot take them as required resource types); RDS's own use of ``kms:*`` when it manages a master password (its
``secretsmanager:CreateSecret``/``TagResource`` are checked, ``_managed_secret_authorizations``); the secret's
KMS key on ``GetSecretValue`` (``kms:Decrypt``; the RDS-managed secrets use
``aws/secretsmanager``, whose key policy admits the account's principals through Secrets
Manager); Secrets Manager resource policies and secret tags in conditions; permission
boundaries, SCPs; IAM users; resource policies of DynamoDB tables; S3 ACLs and Block Public
Access.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse
from xml.sax.saxutils import escape

from moto.iam.models import get_account_id_from, iam_backends
from moto.sts.models import STSBackend, sts_backends

from . import iam_catalogue, rds_cross_account
from .iam_policy import Context, Decision, Principal, Request, authorize, denial_message
from .request_metrics import CONTROL_PREFIXES, _credential

log = logging.getLogger("offsite_emulator.iam")
PARTITION = "aws"
# SigV4 signing names whose IAM prefix differs.
_PREFIX = {"monitoring": "cloudwatch", "email": "ses", "execute-api": "execute-api"}
_JSON_SERVICES = {"dynamodb", "kms", "sqs", "logs", "events", "lambda", "ssm", "secretsmanager"}


# API operations authorized as an IAM action of another name: the batch forms (SNS API
# reference, PublishBatch: "sns:Publish" permission; SQS Developer Guide, "Amazon SQS API
# permissions: Actions and resource reference": the batch actions use the permissions of
# their single forms). The catalogue lists IAM actions, not API operations, so these few
# are named here.
API_ACTIONS: dict[tuple[str, str], str] = {
    ("sns", "PublishBatch"): "Publish",
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
}


# Actions whose catalogue entry lists iam:PassRole as a dependent action, and the parameter
# naming the role they pass: the caller also needs iam:PassRole on that role (IAM User Guide,
# "Grant a user permissions to pass a role to an AWS service"; Service Authorization
# Reference, rds:StartExportTask, dependent action iam:PassRole). Only the actions listed
# here are checked (the pipeline's other role-passing calls are made by the bootstrap identity).
PASSED_ROLES: dict[tuple[str, str], tuple[str, str]] = {
    # The role goes to RDS's export service, which assumes it ("Setting up access to an
    # Amazon S3 bucket": the role trusts export.rds.amazonaws.com): iam:PassedToService.
    ("rds", "StartExportTask"): ("IamRoleArn", "export.rds.amazonaws.com"),
}


class Refused(Exception):
    """The request cannot be authorized by the emulator (unknown action, unmapped resource)."""


@dataclass
class Call:
    """One AWS API request as the enforcement sees it."""

    service: str  # IAM prefix
    operation: str
    account: str  # the caller's
    region: str
    params: dict[str, Any]
    headers: dict[str, str]
    method: str = "POST"
    path: str = "/"
    query: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""

    @property
    def action(self) -> str:
        return f"{self.service}:{self.operation}"


@dataclass
class Authorization:
    action: str
    resource: str
    context: Context


# --- reading the request -------------------------------------------------------------------


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    out = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        out["content-type"] = environ["CONTENT_TYPE"]
    return out


def parse_call(environ: dict[str, Any], signing_name: str, account: str, region: str) -> Call:
    service = _PREFIX.get(signing_name, signing_name)
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    headers = _headers(environ)
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    call = Call(service, "", account, region, {}, headers, method, path, query)
    if service == "s3":
        if method == "POST" and "delete" in query:
            call.body = _read_body(environ)
        return call
    target = headers.get("x-amz-target")
    body = _read_body(environ) if method == "POST" else b""
    call.body = body
    if target:
        call.operation = target.rsplit(".", 1)[-1]
        try:
            call.params = json.loads(body or b"{}")
        except ValueError:
            call.params = {}
        return call
    form = parse_qs(body.decode("utf-8", "replace")) if body else {}
    flat = {k: v[0] for k, v in {**query, **form}.items() if v}
    call.operation = flat.get("Action", "")
    call.params = flat
    return call


# --- resources -------------------------------------------------------------------------------


def _arn_parts(arn: str) -> tuple[str, str, str, str]:
    """(service, region, account, resource) of an ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return "", "", "", arn
    return parts[2], parts[3], parts[4], parts[5]


def _rds(call: Call, value: str, rtype: str) -> str:
    if value.startswith("arn:"):
        return value
    return iam_catalogue.fill_arn("rds", rtype, PARTITION, call.region, call.account, value.lower())


def _queue_arn(call: Call, url: str) -> str:
    parts = [p for p in urlparse(url).path.split("/") if p]
    if len(parts) >= 2:
        return f"arn:{PARTITION}:sqs:{call.region}:{parts[-2]}:{parts[-1]}"
    return f"arn:{PARTITION}:sqs:{call.region}:{call.account}:{parts[-1] if parts else url}"


def _kms_key_arn(call: Call, key_id: str) -> str:
    if key_id.startswith("arn:") and ":key/" in key_id:
        return key_id
    region, account = call.region, call.account
    if key_id.startswith("arn:"):
        _, region, account, _ = _arn_parts(key_id)
    try:
        from moto.kms.models import kms_backends

        raw = kms_backends[account][region].any_id_to_key_id(key_id)
    except Exception:  # an alias that does not exist: authorize the alias's own name
        raw = key_id
    return f"arn:{PARTITION}:kms:{region}:{account}:key/{raw}"


def _ssm_parameter_arn(call: Call, name: str) -> str:
    """A parameter's ARN: ``parameter/`` and its name without the leading slash (Service
    Authorization Reference, AWS Systems Manager, resource type ``parameter``). A path is
    authorized as the parameter ARN of the path (GetParametersByPath)."""
    if name.startswith("arn:"):
        return name
    return f"arn:{PARTITION}:ssm:{call.region}:{call.account}:parameter/{name.lstrip('/')}"


def _role_arn(call: Call, name: str) -> str:
    try:
        return iam_backends[call.account][PARTITION].get_role(name).arn
    except Exception:
        path = call.params.get("Path", "/")
        return f"arn:{PARTITION}:iam::{call.account}:role{path}{name}"


def _secret_arn(call: Call, secret_id: str) -> str:
    """A Secrets Manager secret's ARN (``SecretId`` is its ARN or its name): the full ARN with
    the six-character suffix when moto holds the secret (Service Authorization Reference,
    resource type ``Secret``: ``arn:${Partition}:secretsmanager:${Region}:${Account}:secret:
    ${SecretId}``), else the ARN with the name as given."""
    if secret_id.startswith("arn:"):
        return secret_id
    try:
        from moto.secretsmanager.models import secretsmanager_backends

        return str(secretsmanager_backends[call.account][call.region].secrets[secret_id].arn)
    except Exception:
        return iam_catalogue.fill_arn("secretsmanager", "Secret", PARTITION, call.region, call.account, secret_id)


# Parameter -> builder of the resource's ARN, per service.
_Builder = Callable[[Call, str], str]
_PARAMS: dict[str, list[tuple[str, _Builder]]] = {
    "rds": [
        ("TargetDBSnapshotIdentifier", lambda c, v: _rds(c, v, "snapshot")),
        ("SourceDBSnapshotIdentifier", lambda c, v: _rds(c, v, "snapshot")),
        ("DBSnapshotIdentifier", lambda c, v: _rds(c, v, "snapshot")),
        ("TargetDBClusterSnapshotIdentifier", lambda c, v: _rds(c, v, "cluster-snapshot")),
        ("SourceDBClusterSnapshotIdentifier", lambda c, v: _rds(c, v, "cluster-snapshot")),
        ("DBClusterSnapshotIdentifier", lambda c, v: _rds(c, v, "cluster-snapshot")),
        # RestoreDBClusterFromSnapshot: a DB cluster snapshot by name or ARN, a DB snapshot by ARN.
        ("SnapshotIdentifier", lambda c, v: _rds(c, v, "cluster-snapshot")),
        ("DBSubnetGroupName", lambda c, v: _rds(c, v, "subgrp")),
        ("DBInstanceIdentifier", lambda c, v: _rds(c, v, "db")),
        ("DBClusterIdentifier", lambda c, v: _rds(c, v, "cluster")),
        ("OptionGroupName", lambda c, v: _rds(c, v, "og")),
        ("ResourceName", lambda c, v: v),
        # StartExportTask / DescribeExportTasks: the exported snapshot, cluster snapshot or cluster.
        ("SourceArn", lambda c, v: v),
    ],
    "dynamodb": [
        ("TableArn", lambda c, v: v),
        ("TableName", lambda c, v: v if v.startswith("arn:") else iam_catalogue.fill_arn(
            "dynamodb", "table", PARTITION, c.region, c.account, v)),
        ("ExportArn", lambda c, v: v),
        ("ResourceArn", lambda c, v: v),
        ("BackupArn", lambda c, v: v),
        ("StreamArn", lambda c, v: v),
    ],
    "sqs": [
        ("QueueUrl", _queue_arn),
        ("QueueName", lambda c, v: f"arn:{PARTITION}:sqs:{c.region}:"
         f"{c.params.get('QueueOwnerAWSAccountId') or c.account}:{v}"),
    ],
    "sns": [
        ("TopicArn", lambda c, v: v),
        ("TargetArn", lambda c, v: v),
        ("ResourceArn", lambda c, v: v),
        # A subscription ARN is its topic's ARN and an id: authorized on the topic.
        ("SubscriptionArn", lambda c, v: v.rsplit(":", 1)[0]),
        ("Name", lambda c, v: f"arn:{PARTITION}:sns:{c.region}:{c.account}:{v}"),
    ],
    "kms": [
        ("KeyId", _kms_key_arn),
        ("DestinationKeyId", _kms_key_arn),
        ("SourceKeyId", _kms_key_arn),
        ("TargetKeyId", _kms_key_arn),
        ("AliasName", lambda c, v: v if v.startswith("arn:") else
         f"arn:{PARTITION}:kms:{c.region}:{c.account}:{v}"),
    ],
    "ssm": [("Name", _ssm_parameter_arn), ("Path", _ssm_parameter_arn)],
    # Secrets (the master password RDS manages: a restore test reads it).
    "secretsmanager": [("SecretId", _secret_arn)],
    "sts": [("RoleArn", lambda c, v: v)],
    "iam": [
        ("RoleName", _role_arn),
        ("PolicyArn", lambda c, v: v),
        ("PolicyName", lambda c, v: f"arn:{PARTITION}:iam::{c.account}:policy"
         f"{c.params.get('Path', '/')}{v}" if c.operation == "CreatePolicy" else ""),
        ("UserName", lambda c, v: f"arn:{PARTITION}:iam::{c.account}:user/{v}"),
    ],
}


_S3_SUB = {
    # sub-resource: (GET, PUT, DELETE) action names on the bucket
    "policy": ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    "versioning": ("GetBucketVersioning", "PutBucketVersioning", None),
    "tagging": ("GetBucketTagging", "PutBucketTagging", "PutBucketTagging"),
    "encryption": ("GetEncryptionConfiguration", "PutEncryptionConfiguration", "PutEncryptionConfiguration"),
    "lifecycle": ("GetLifecycleConfiguration", "PutLifecycleConfiguration", "PutLifecycleConfiguration"),
    "location": ("GetBucketLocation", None, None),
    "acl": ("GetBucketAcl", "PutBucketAcl", None),
    "object-lock": ("GetBucketObjectLockConfiguration", "PutBucketObjectLockConfiguration", None),
    "publicAccessBlock": ("GetBucketPublicAccessBlock", "PutBucketPublicAccessBlock", "PutBucketPublicAccessBlock"),
    "ownershipControls": ("GetBucketOwnershipControls", "PutBucketOwnershipControls", "PutBucketOwnershipControls"),
    "notification": ("GetBucketNotification", "PutBucketNotification", None),
    "uploads": ("ListBucketMultipartUploads", None, None),
    "versions": ("ListBucketVersions", None, None),
}


def _s3_requests(call: Call) -> list[tuple[str, str]]:
    """(action name, resource ARN) pairs of an S3 REST request (path-style addressing),
    per the S3 User Guide, "Required permissions for Amazon S3 API operations"."""
    segments = call.path.lstrip("/").split("/", 1)
    bucket = unquote(segments[0]) if segments[0] else ""
    key = unquote(segments[1]) if len(segments) > 1 and segments[1] else ""
    method = call.method
    subs = [k for k, v in call.query.items() if v == [""] and not k.startswith("X-Amz-")]
    if not bucket:
        if method == "GET":
            return [("ListAllMyBuckets", "*")]
        raise Refused(f"S3 {method} / is not mapped to an action")
    bucket_arn = f"arn:{PARTITION}:s3:::{bucket}"
    if key:
        obj = f"{bucket_arn}/{key}"
        if method in ("GET", "HEAD"):
            if "tagging" in subs:
                return [("GetObjectTagging", obj)]
            if "acl" in subs:
                return [("GetObjectAcl", obj)]
            if "uploadId" in call.query:
                return [("ListMultipartUploadParts", obj)]
            return [("GetObject", obj)]
        if method == "PUT":
            if "tagging" in subs:
                return [("PutObjectTagging", obj)]
            if "acl" in subs:
                return [("PutObjectAcl", obj)]
            out = [("PutObject", obj)]
            source = call.headers.get("x-amz-copy-source")
            if source:
                src = unquote(source.split("?", 1)[0].lstrip("/"))
                out.append(("GetObject", f"arn:{PARTITION}:s3:::{src}"))
            return out
        if method == "POST":
            return [("PutObject", obj)]  # CreateMultipartUpload, CompleteMultipartUpload
        if method == "DELETE":
            if "uploadId" in call.query:
                return [("AbortMultipartUpload", obj)]
            if "tagging" in subs:
                return [("DeleteObjectTagging", obj)]
            return [("DeleteObject", obj)]
        raise Refused(f"S3 {method} on an object is not mapped to an action")
    for sub in subs:
        if sub in _S3_SUB:
            index = {"GET": 0, "HEAD": 0, "PUT": 1, "DELETE": 2}.get(method)
            name = _S3_SUB[sub][index] if index is not None else None
            if name:
                return [(name, bucket_arn)]
            raise Refused(f"S3 {method} ?{sub} is not mapped to an action")
    if method == "POST" and "delete" in call.query:
        keys = re.findall(rb"<Key>(.*?)</Key>", call.body)
        return [("DeleteObject", f"{bucket_arn}/{k.decode()}") for k in keys] or [("DeleteObject", f"{bucket_arn}/*")]
    if subs:
        raise Refused(f"S3 {method} ?{subs[0]} is not mapped to an action")
    action = {"GET": "ListBucket", "HEAD": "ListBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method)
    if action is None:
        raise Refused(f"S3 {method} on a bucket is not mapped to an action")
    return [(action, bucket_arn)]


def _values(params: dict[str, Any], name: str) -> list[str]:
    value = params.get(name)
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def resources_of(call: Call, info: iam_catalogue.ActionInfo) -> list[str]:
    """The ARNs the request is authorized on (see the module docstring)."""
    if not info.resource_types:
        return ["*"]
    arns: list[str] = []
    for name, build in _PARAMS.get(call.service, []):
        for value in _values(call.params, name):
            if not value:
                continue
            arn = build(call, value)
            if arn and info.type_of(arn) is not None and arn not in arns:
                arns.append(arn)
    if arns:
        return arns
    required = [t.name for t in info.resource_types if t.required]
    if required:
        raise Refused(
            f"the Offsite emulator cannot tell the {'/'.join(required)} resource that "
            f"{info.full_name} is authorized on from this request"
        )
    return ["*"]


# --- request context -------------------------------------------------------------------------


def _request_tags(call: Call) -> dict[str, str] | None:
    p = call.params
    tags: dict[str, str] = {}
    if isinstance(p.get("Tags"), list):  # JSON: DynamoDB [{Key, Value}], KMS [{TagKey, TagValue}]
        for tag in p["Tags"]:
            if isinstance(tag, dict):
                k = tag.get("Key", tag.get("TagKey"))
                if k is not None:
                    tags[str(k)] = str(tag.get("Value", tag.get("TagValue", "")))
    elif isinstance(p.get("tags"), dict):  # SQS JSON CreateQueue
        tags = {str(k): str(v) for k, v in p["tags"].items()}
    elif isinstance(p.get("Tags"), dict):  # SQS TagQueue
        tags = {str(k): str(v) for k, v in p["Tags"].items()}
    else:  # query protocols: Tags.Tag.N.Key / Tags.member.N.Key
        keys: dict[str, dict[str, str]] = {}
        for name, value in p.items():
            m = re.fullmatch(r"Tags\.(?:Tag\.|member\.)?(\d+)\.(Key|Value)", name)
            if m:
                keys.setdefault(m.group(1), {})[m.group(2)] = value
        tags = {v["Key"]: v.get("Value", "") for v in keys.values() if "Key" in v}
    if not tags and not any(k.startswith("Tags") or k == "tags" for k in p):
        return None
    return tags


def _tags_of(arn: str) -> dict[str, str]:
    """The tags moto holds for the resource ``arn`` (empty when unknown)."""
    service, region, account, resource = _arn_parts(arn)
    try:
        if service == "rds":
            from moto.rds.models import rds_backends

            backend = rds_backends[account][region]
            kind, _, ident = resource.partition(":")
            store: Any = {
                "snapshot": backend.database_snapshots,
                "cluster-snapshot": backend.cluster_snapshots,
                "db": backend.databases,
                "cluster": backend.clusters,
            }.get(kind)
            obj = store.get(ident) if store is not None else None
            return {t["Key"]: t["Value"] for t in (obj.tags or [])} if obj is not None else {}
        if service == "dynamodb" and resource.startswith("table/"):
            from moto.dynamodb.models import dynamodb_backends

            table = dynamodb_backends[account][region].tables.get(resource.split("/")[1])
            return {t["Key"]: t["Value"] for t in (table.tags or [])} if table else {}
        if service == "sqs":
            from moto.sqs.models import sqs_backends

            queue = sqs_backends[account][region].queues.get(resource)
            return dict(queue.tags) if queue else {}
        if service == "sns":
            from moto.sns.models import sns_backends

            topic = sns_backends[account][region].topics.get(arn)
            return dict(topic._tags) if topic else {}
        if service == "secretsmanager":
            from moto.secretsmanager.models import secretsmanager_backends

            secrets = secretsmanager_backends[account][region].secrets
            secret = next((x for x in secrets.values() if str(getattr(x, "arn", "")) == arn), None)
            return {t["Key"]: t["Value"] for t in (getattr(secret, "tags", None) or [])} if secret else {}
        if service == "kms" and resource.startswith("key/"):
            from moto.kms.models import kms_backends

            tagger = kms_backends[account][region].tagger
            listed = tagger.list_tags_for_resource(resource[4:]).get("Tags", [])
            return {t["TagKey"]: t["TagValue"] for t in listed}
    except Exception:  # a resource that does not exist (yet) has no tags
        return {}
    return {}


def _principal_context(principal: Principal, region: str, *, via_aws_service: bool) -> Context:
    """The global keys every request of ``principal`` carries, direct or forwarded by a
    service (``aws:ViaAWSService``)."""
    now = datetime.now(timezone.utc)
    ctx: Context = {
        "aws:principalaccount": [principal.account],
        "aws:principaltype": ["AssumedRole"],
        "aws:securetransport": ["true"],
        "aws:viaawsservice": ["true" if via_aws_service else "false"],
        "aws:principalisawsservice": ["false"],
        "aws:currenttime": [now.strftime("%Y-%m-%dT%H:%M:%SZ")],
        "aws:epochtime": [str(int(now.timestamp()))],
        "aws:requestedregion": [region],
    }
    if principal.role_arn:
        ctx["aws:principalarn"] = [principal.role_arn]
    elif principal.arn:
        ctx["aws:principalarn"] = [principal.arn]
    return ctx


def _base_context(principal: Principal, call: Call) -> Context:
    ctx = _principal_context(principal, call.region, via_aws_service=False)
    tags = _request_tags(call)
    if tags is not None:
        ctx["aws:tagkeys"] = list(tags)
        for k, v in tags.items():
            ctx[f"aws:requesttag/{k.lower()}"] = [v]
            ctx[f"{call.service}:req-tag/{k.lower()}"] = [v]
    p, h = call.params, call.headers
    if call.service == "kms":
        ctx["kms:calleraccount"] = [principal.account]
        ctx["kms:grantisforawsresource"] = ["false"]
        context = p.get("EncryptionContext")
        if isinstance(context, dict):
            ctx["kms:encryptioncontextkeys"] = list(context)
            for k, v in context.items():
                ctx[f"kms:encryptioncontext:{k.lower()}"] = [str(v)]
    if call.service == "sns" and call.operation == "Subscribe":
        for name in ("Protocol", "Endpoint"):
            if p.get(name):
                ctx[f"sns:{name.lower()}"] = [p[name]]
    if call.service == "s3":
        for header in ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"):
            if h.get(header):
                ctx[f"s3:{header}"] = [h[header]]
        # A listing's prefix ("Policy condition keys for Amazon S3": s3:prefix, ListBucket and
        # ListBucketVersions); absent when the request names none.
        if call.method == "GET" and "prefix" in call.query and "/" not in call.path.strip("/"):
            ctx["s3:prefix"] = list(call.query["prefix"])
    if call.service == "rds":
        # rds:PubliclyAccessible (a request key of the creating actions) and rds:DatabaseClass
        # (a key of the db resource, from the request when it creates one), only as the
        # request states them ("Policy condition keys for Amazon RDS"); kept only where the
        # catalogue lists them for the action and resource type.
        if str(p.get("PubliclyAccessible", "")).lower() in ("true", "false"):
            ctx["rds:publiclyaccessible"] = [str(p["PubliclyAccessible"]).lower()]
        if p.get("DBInstanceClass"):
            ctx["rds:databaseclass"] = [str(p["DBInstanceClass"])]
        if str(p.get("ManageMasterUserPassword", "")).lower() in ("true", "false"):
            ctx["rds:managemasteruserpassword"] = [str(p["ManageMasterUserPassword"]).lower()]
    if call.service == "ssm":
        # Set only when the request names them (the SSM condition keys of PutParameter and
        # GetParametersByPath); an absent key is absent, as IAM treats it.
        for name in ("Overwrite", "Recursive"):
            if isinstance(p.get(name), bool):
                ctx[f"ssm:{name.lower()}"] = ["true" if p[name] else "false"]
    if call.service == "sts":
        if p.get("ExternalId"):
            ctx["sts:externalid"] = [p["ExternalId"]]
        if p.get("RoleSessionName"):
            ctx["sts:rolesessionname"] = [p["RoleSessionName"]]
    return ctx


def context_for(
    base: Context, info: iam_catalogue.ActionInfo, resource: str
) -> Context:
    """The request context for ``info`` on ``resource``: global keys as they are, service
    keys and tag keys only where the catalogue lists them for the action and resource type."""
    rtype = info.type_of(resource) if resource != "*" else None
    listed = info.keys_for(rtype)
    ctx: Context = {}
    for key, values in base.items():
        tagish = key.startswith(("aws:requesttag/", "aws:resourcetag/")) or key == "aws:tagkeys"
        if key.startswith("aws:") and not tagish:
            ctx[key] = values
        elif iam_catalogue.key_listed(key, listed):
            ctx[key] = values
    if rtype is not None:
        tags = _tags_of(resource)
        for pattern in rtype.condition_keys:
            if pattern.endswith("/${TagKey}") and "req" not in pattern.lower():
                prefix = pattern[: -len("${TagKey}")].lower()
                for k, v in tags.items():
                    ctx[f"{prefix}{k.lower()}"] = [v]
    return ctx


# --- resource policies -----------------------------------------------------------------------


@dataclass
class ResourcePolicy:
    account: str | None
    document: Any = None
    has_policies: bool = False
    name: str = "resource policy"
    key_policy: bool = False


def resource_policy(action: str, arn: str) -> ResourcePolicy:
    if arn == "*":
        return ResourcePolicy(None)
    service, region, account, resource = _arn_parts(arn)
    try:
        if service == "sqs":
            from moto.sqs.models import sqs_backends

            queue = sqs_backends[account][region].queues.get(resource)
            return ResourcePolicy(account, queue.policy if queue else None, True, "queue policy")
        if service == "sns":
            from moto.sns.models import sns_backends

            topic = sns_backends[account][region].topics.get(arn)
            return ResourcePolicy(account, topic.policy if topic else None, True, "topic policy")
        if service == "s3":
            from moto.s3.models import s3_backends

            bucket_name = resource.split("/", 1)[0]
            entry = s3_backends.bucket_accounts.get(bucket_name)
            if entry is None:
                return ResourcePolicy(None)
            bucket = s3_backends[entry[1]][entry[0]].buckets.get(bucket_name)
            policy = bucket.policy if bucket is not None else None
            return ResourcePolicy(entry[1], policy, True, "bucket policy")
        if service == "kms" and resource.startswith("key/"):
            from moto.kms.models import kms_backends

            key = kms_backends[account][region].keys.get(resource[4:])
            if key is None:
                return ResourcePolicy(account)
            return ResourcePolicy(account, key.policy, True, "key policy", key_policy=True)
        if service == "iam" and resource.startswith("role/") and action == "sts:AssumeRole":
            role = iam_backends[account][PARTITION].get_role_by_arn(arn)
            return ResourcePolicy(account, role.assume_role_policy_document, True, "trust policy")
    except Exception:
        return ResourcePolicy(account or None)
    return ResourcePolicy(account or None)


# --- principals ----------------------------------------------------------------------------


def enforced_role(account: str, session: Any) -> Any:
    """The IAM role behind an AssumeRole session, if the account's IAM holds it."""
    if session is None:
        return None
    try:
        return iam_backends[account][PARTITION].get_role_by_arn(session.role_arn)
    except Exception:
        return None


def identity_policies(role: Any) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [
        (f"inline policy {name} of role {role.name}", doc) for name, doc in role.policies.items()
    ]
    for policy in role.managed_policies.values():
        version = next((v for v in policy.versions if v.is_default), None)
        if version is not None:
            out.append((f"managed policy {policy.name}", version.document))
    return out


# --- KMS keys used by RDS on the caller's behalf ---------------------------------------------

# The enforced caller of the request this thread serves: (principal, role, session, call).
_current = threading.local()
RDS_KMS_ACTIONS = ("kms:CreateGrant", "kms:DescribeKey")


def _key_arn_in(key_id: str, account: str, region: str) -> str | None:
    """The ARN of a key moto's KMS holds (given by id, ARN, alias), or None."""
    if key_id.startswith("arn:"):
        _, region, account, _ = _arn_parts(key_id)
    try:
        from moto.kms.models import kms_backends

        backend = kms_backends[account][region]
        raw = backend.any_id_to_key_id(key_id)
        if raw not in backend.keys:
            return None
    except Exception:
        return None
    return f"arn:{PARTITION}:kms:{region}:{account}:key/{raw}"


def forward_context(
    principal: Principal,
    region: str,
    *,
    via_service: str | None = None,
    called_via: tuple[str, ...] = (),
    extra: Context | None = None,
) -> Context:
    """The request context of a forward access request: a service (``via_service``, e.g.
    ``rds``) calling another one with the caller's permissions (IAM User Guide, "Forward
    access sessions", "AWS global condition context keys": ``aws:ViaAWSService`` true;
    ``aws:CalledVia`` only when a service that sets it is in the chain: "Athena,
    CloudFormation, DynamoDB, KMS"); for a KMS request ``kms:ViaService``
    ``<service>.<region>.amazonaws.com`` and ``kms:CallerAccount`` (KMS Developer Guide,
    "kms:ViaService", "kms:CallerAccount")."""
    ctx = _principal_context(principal, region, via_aws_service=True)
    if called_via:
        ctx["aws:calledvia"] = list(called_via)
        ctx["aws:calledviafirst"] = [called_via[0]]
        ctx["aws:calledvialast"] = [called_via[-1]]
    if via_service:
        ctx["kms:viaservice"] = [f"{via_service}.{region}.amazonaws.com"]
        ctx["kms:calleraccount"] = [principal.account]
    ctx.update(extra or {})
    return ctx


def authorize_on_behalf(
    principal: Principal,
    role: Any,
    session: Any,
    needed: Iterable[tuple[str, str]],
    context: Context,
) -> Decision:
    """Every (action, resource) of ``needed`` as a service requests it with the caller's
    permissions: the caller's identity policies and session policy, and the resource's
    policy (key policy, bucket policy), evaluated by ``iam_policy.authorize`` with
    ``context`` (from ``forward_context``); the first refusal, with AWS's message."""
    for action, resource in needed:
        service, name = action.split(":", 1)
        info = iam_catalogue.action(service, name)
        if info is None:
            return Decision(False, (
                f"User: {principal.describe()} is not authorized to perform: {action} because "
                f"the Offsite emulator does not know the action {action}"
            ))
        rp = resource_policy(info.full_name, resource)
        decision = authorize(
            Request(
                principal=principal,
                action=info.full_name,
                resource=resource,
                context=context_for(context, info, resource),
                identity_policies=identity_policies(role),
                session_policy=session.policy or None,
                resource_account=rp.account,
                resource_policy=rp.document,
                has_resource_policies=rp.has_policies,
                resource_policy_name=rp.name,
                key_policy=rp.key_policy,
            )
        )
        if not decision.allowed:
            return Decision(False, denial_message(principal, info.full_name, resource, decision))
    return Decision(True, "")


def authorize_key_use(
    principal: Principal,
    role: Any,
    session: Any,
    region: str,
    key_arn: str,
    *,
    service: str,
    actions: tuple[str, ...],
    encryption_context: dict[str, str] | None = None,
    called_via: tuple[str, ...] = (),
    grant_for_aws_resource: bool = False,
) -> Decision:
    """What a service checks before it uses a KMS key on the caller's behalf: the caller's
    ``actions`` on the key, under the key policy and the caller's IAM, as forward access
    requests through ``service`` (``kms:ViaService`` ``<service>.<region>.amazonaws.com``,
    ``kms:CallerAccount``, ``aws:ViaAWSService`` true, ``aws:CalledVia`` as given), with the
    service's encryption context (``kms:EncryptionContext:<key>``,
    ``kms:EncryptionContextKeys``) and ``kms:GrantIsForAWSResource`` for grants.

    * RDS copies: ``kms:CreateGrant`` and ``kms:DescribeKey`` (RDS User Guide,
      "Overview.Encryption.Keys"), grants for an AWS resource, no ``aws:CalledVia``.
    * SNS publishing to an SSE topic: ``kms:GenerateDataKey`` and ``kms:Decrypt`` (SNS
      Developer Guide, "Key management"), encryption context ``aws:sns:topicArn``.
    * S3 writing an SSE-KMS object: ``kms:GenerateDataKey``, and ``kms:Decrypt`` for
      multipart uploads (S3 User Guide, "UsingKMSEncryption", "mpuoverview"), encryption
      context ``aws:s3:arn``."""
    extra: Context = {"kms:grantisforawsresource": ["true" if grant_for_aws_resource else "false"]}
    if encryption_context:
        extra["kms:encryptioncontextkeys"] = list(encryption_context)
        for k, v in encryption_context.items():
            extra[f"kms:encryptioncontext:{k.lower()}"] = [v]
    context = forward_context(principal, region, via_service=service, called_via=called_via, extra=extra)
    return authorize_on_behalf(principal, role, session, [(a, key_arn) for a in actions], context)


def authorize_rds_key_use(principal: Principal, role: Any, session: Any, region: str, key_arn: str) -> Decision:
    """RDS's use of a key for a copy on the caller's behalf (``authorize_key_use``)."""
    return authorize_key_use(
        principal, role, session, region, key_arn,
        service="rds", actions=RDS_KMS_ACTIONS, grant_for_aws_resource=True,
    )


def current_caller() -> tuple[Principal, Any, Any] | None:
    """The enforced caller of the request this thread serves (principal, role, session),
    or None for a bootstrap identity."""
    enforced = getattr(_current, "enforced", None)
    return None if enforced is None else enforced[:3]


# --- KMS keys used by SNS for a publisher ------------------------------------------------

SNS_KMS_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


def topic_key_refusal(principal: Principal, role: Any, session: Any, call: Call) -> str | None:
    """Why SNS may not use the topic's key for this ``Publish``/``PublishBatch`` of an
    enforced caller (None if it may, or the topic has no key moto's KMS holds)."""
    topic_arn = call.params.get("TopicArn") or call.params.get("TargetArn") or ""
    service, region, account, _ = _arn_parts(topic_arn)
    if service != "sns":
        return None
    try:
        from moto.sns.models import sns_backends

        topic = sns_backends[account][region].topics.get(topic_arn)
    except Exception:
        return None
    key_id = getattr(topic, "kms_master_key_id", "") if topic is not None else ""
    if not key_id:
        return None
    key_arn = _key_arn_in(key_id, account, region)
    if key_arn is None:
        return None  # e.g. alias/aws/sns: its key policy admits the account's principals via SNS
    decision = authorize_key_use(
        principal, role, session, region, key_arn,
        service="sns", actions=SNS_KMS_ACTIONS,
        encryption_context={"aws:sns:topicArn": topic_arn},
    )
    return None if decision.allowed else decision.reason


# --- KMS keys used by S3 to serve an SSE-KMS object ----------------------------------------

S3_READ_KMS_ACTIONS = ("kms:Decrypt",)


def object_key_refusal(principal: Principal, role: Any, session: Any, call: Call) -> str | None:
    """Why S3 may not decrypt the SSE-KMS object this ``GetObject`` (GET or HEAD of a key, no
    subresource) reads for an enforced caller (None if it may, or the object is not under a
    key moto's KMS holds).

    "To download an object that is encrypted with a KMS key ... you must have kms:Decrypt
    permission for the key" (S3 User Guide, "Protecting data with server-side encryption using
    AWS KMS keys (SSE-KMS)", UsingKMSEncryption, "Permissions"); S3 asks KMS on the caller's
    behalf (``kms:ViaService`` ``s3.<region>.amazonaws.com``) with the encryption context
    ``aws:s3:arn`` = the object's ARN (the same guide, "Encryption context"; with an S3 Bucket
    Key it is the bucket's ARN). Across accounts both the caller's IAM and the key policy must
    allow it (``authorize_key_use``)."""
    if call.service != "s3" or call.method not in ("GET", "HEAD"):
        return None
    requests = _s3_requests(call)
    if [action for action, _ in requests] != ["GetObject"]:
        return None
    object_arn = requests[0][1]
    bucket_name, _, key_name = object_arn.split(":::", 1)[1].partition("/")
    try:
        from moto.s3.models import s3_backends

        entry = s3_backends.bucket_accounts.get(bucket_name)
        if entry is None:
            return None
        partition, owner = entry
        bucket = s3_backends[owner][partition].buckets.get(bucket_name)
        found = bucket.keys.get(key_name) if bucket is not None else None
    except Exception:
        return None
    if found is None or getattr(found, "encryption", None) != "aws:kms" or not found.kms_key_id:
        return None
    key_arn = _key_arn_in(found.kms_key_id, owner, getattr(bucket, "region_name", call.region))
    if key_arn is None:
        return None  # e.g. aws/s3: its key policy admits the account's principals via S3
    bucket_key = str(getattr(found, "bucket_key_enabled", None)).lower() == "true"
    context_arn = f"arn:{PARTITION}:s3:::{bucket_name}" if bucket_key else object_arn
    decision = authorize_key_use(
        principal, role, session, call.region, key_arn,
        service="s3", actions=S3_READ_KMS_ACTIONS,
        encryption_context={"aws:s3:arn": context_arn},
    )
    return None if decision.allowed else decision.reason


def _sns_kms_error(message: str, start_response: Any) -> Iterable[bytes]:
    """SNS's ``KMSAccessDenied`` (HTTP 400, Sender: the SNS API reference, Publish and
    PublishBatch errors; the service model's ``KMSAccessDeniedException``)."""
    request_id = str(uuid.uuid4())
    body = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>KMSAccessDenied</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    start_response("400 Bad Request", [
        ("x-amzn-RequestId", request_id),
        ("Content-Type", "text/xml"),
        ("Content-Length", str(len(body))),
    ])
    return [body]


def install_rds_key_checks() -> None:
    """Wraps ``rds_cross_account._require_usable_key`` (called for a copy's source key and
    target key, after the copy's other preconditions): for an enforced caller the key must
    also be usable by it through RDS, else ``KMSKeyNotAccessibleFault`` as RDS answers. A
    key moto's KMS does not hold (moto's stand-in for ``aws/rds``) is not checked: the
    ``aws/rds`` key policy admits every principal of the account through RDS."""
    original = rds_cross_account._require_usable_key
    if getattr(original, "_offsite_iam", False):
        return

    def require_usable_key(key_id: str, account: str, region: str) -> None:
        original(key_id, account, region)
        enforced = getattr(_current, "enforced", None)
        if enforced is None:
            return
        principal, role, session, call = enforced
        key_arn = _key_arn_in(key_id, account, region)
        if key_arn is None:
            return
        decision = authorize_rds_key_use(principal, role, session, call.region, key_arn)
        if not decision.allowed:
            from moto.rds.exceptions import KMSKeyNotAccessibleFault

            error = KMSKeyNotAccessibleFault(key_id)
            # AWS's message, and the emulator's reason after it.
            error.message = f"{error.message} [Offsite emulator: {decision.reason}]"
            raise error

    require_usable_key._offsite_iam = True  # type: ignore[attr-defined]
    rds_cross_account._require_usable_key = require_usable_key


# --- the middleware ------------------------------------------------------------------------


def _error(call: Call, signing_name: str, message: str, start_response: Any) -> Iterable[bytes]:
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    if signing_name in _JSON_SERVICES and call.headers.get("x-amz-target"):
        kind = {
            "dynamodb": "com.amazonaws.dynamodb.v20120810#AccessDeniedException",
            "sqs": "com.amazon.coral.service#AccessDeniedException",
        }.get(signing_name, "AccessDeniedException")
        body = json.dumps({"__type": kind, "message": message, "Message": message}).encode()
        headers.append(("Content-Type", "application/x-amz-json-1.0"))
        if signing_name == "sqs":
            headers.append(("x-amzn-query-error", "AccessDenied;Sender"))
    elif signing_name == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId>"
            "<HostId>offsite-emulator</HostId></Error>"
        ).encode()
        headers.append(("Content-Type", "application/xml"))
    else:
        code = "AuthorizationError" if signing_name == "sns" else "AccessDenied"
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    headers.append(("Content-Length", str(len(body))))
    start_response("403 Forbidden", headers)
    return [body]


# RDS operations whose new resource is not the first one their parameters name.
_CREATED: dict[str, str] = {
    "RestoreDBInstanceFromDBSnapshot": "DBInstanceIdentifier",
    "RestoreDBClusterFromSnapshot": "DBClusterIdentifier",
}


def authorizations(call: Call, principal: Principal) -> list[Authorization]:
    """Every (action, resource, context) the request needs; raises ``Refused``."""
    base = _base_context(principal, call)
    if call.service == "s3":
        pairs = _s3_requests(call)
        out = []
        for name, arn in pairs:
            info = iam_catalogue.action("s3", name)
            if info is None:
                raise Refused(f"the Offsite emulator does not know the action s3:{name}")
            out.append(Authorization(info.full_name, arn, context_for(base, info, arn)))
        return out
    operation = API_ACTIONS.get((call.service, call.operation), call.operation)
    info = iam_catalogue.action(call.service, operation) if operation else None
    if info is None:
        raise Refused(
            f"the Offsite emulator does not know the action {call.service}:{call.operation or '?'}"
        )
    resources = resources_of(call, info)
    out = [Authorization(info.full_name, r, context_for(base, info, r)) for r in resources]
    passed = PASSED_ROLES.get((call.service, operation))
    if passed and "iam:PassRole" in info.dependent_actions:
        pass_role = iam_catalogue.action("iam", "PassRole")
        assert pass_role is not None
        parameter, service = passed
        for role_arn in _values(call.params, parameter):
            # iam:PassedToService: "the service principal of the service to which a role is
            # passed" (IAM User Guide, "IAM and AWS STS condition context keys").
            context = {**context_for(base, pass_role, role_arn), "iam:passedtoservice": [service]}
            out.append(Authorization(pass_role.full_name, role_arn, context))
    tags = _request_tags(call)
    if tags and "rds:AddTagsToResource" in info.dependent_actions:
        tagging = iam_catalogue.action("rds", "AddTagsToResource")
        assert tagging is not None
        # Tags given at creation are authorized on the resource being created (RDS User Guide,
        # "Granting permission to tag Amazon RDS resources during creation"): a copy's target, a
        # restore's new DB instance or cluster (not the snapshot it names first), else the first
        # resource the request names (CreateDBInstance's instance, CreateDBSnapshot's snapshot).
        created = _CREATED.get(operation)
        targets = [
            build(call, v)
            for name, build in _PARAMS["rds"]
            if name.startswith("Target") or (created is not None and name == created)
            for v in _values(call.params, name)
        ] or resources[:1]
        for arn in targets:
            # The new resource has no tags yet: only the request's.
            ctx = {
                k: v
                for k, v in context_for(base, tagging, arn).items()
                if k.startswith("rds:req-tag/")
                or not (k.startswith("aws:resourcetag/") or "-tag/" in k)
            }
            out.append(Authorization(tagging.full_name, arn, ctx))
    out.extend(_managed_secret_authorizations(call, principal, info, operation))
    return out


def _managed_secret_authorizations(
    call: Call, principal: Principal, info: iam_catalogue.ActionInfo, operation: str
) -> list[Authorization]:
    """A request asking RDS to manage the master user password creates and tags a secret
    with the caller's permissions: "the user who specifies that Amazon RDS manages the master
    user password in Secrets Manager must have permissions to perform ...
    secretsmanager:CreateSecret, secretsmanager:TagResource" (RDS User Guide, "Password
    management with Amazon RDS and AWS Secrets Manager", "Required permissions for Secrets
    Manager integration"; the Service Authorization Reference lists both as dependent actions
    of the creating and modifying actions). Authorized on the secret RDS names
    ``rds!db-<uuid>`` / ``rds!cluster-<uuid>`` (the uuid unknown before: a placeholder), in a
    forward access context (``aws:ViaAWSService``). ``kms:DescribeKey`` on ``aws/secretsmanager``
    is not checked (moto's KMS does not hold the AWS managed keys; see the module docstring)."""
    manage = str(call.params.get("ManageMasterUserPassword", "")).lower() == "true"
    if call.service != "rds" or not manage or "secretsmanager:CreateSecret" not in info.dependent_actions:
        return []
    kind = "cluster" if "Cluster" in operation else "db"
    secret = f"arn:{PARTITION}:secretsmanager:{call.region}:{call.account}:secret:rds!{kind}-pending"
    context = forward_context(principal, call.region)
    out = []
    for name in ("CreateSecret", "TagResource"):
        action = iam_catalogue.action("secretsmanager", name)
        assert action is not None
        out.append(Authorization(action.full_name, secret, context_for(context, action, secret)))
    return out


def decide(principal: Principal, role: Any, session: Any, call: Call) -> tuple[bool, str]:
    """(allowed, denial message) for an enforced principal."""
    if call.service == "sts" and call.operation == "GetCallerIdentity":
        return True, ""
    try:
        needed = authorizations(call, principal)
    except Refused as error:
        return False, (
            f"User: {principal.describe()} is not authorized to perform: {call.action} "
            f"because {error}"
        )
    policies = identity_policies(role)
    for auth in needed:
        if auth.action == "sts:AssumeRole" and resource_policy(auth.action, auth.resource).document is None:
            return False, denial_message(
                principal, auth.action, auth.resource,
                Decision(False, "no such role", "resource-based"),
            )
        rp = resource_policy(auth.action, auth.resource)
        decision = authorize(
            Request(
                principal=principal,
                action=auth.action,
                resource=auth.resource,
                context=auth.context,
                identity_policies=policies,
                session_policy=session.policy or None,
                resource_account=rp.account,
                resource_policy=rp.document,
                has_resource_policies=rp.has_policies,
                resource_policy_name=rp.name,
                key_policy=rp.key_policy,
            )
        )
        if not decision.allowed:
            return False, denial_message(principal, auth.action, auth.resource, decision)
    return True, ""


def decide_bootstrap_assume(principal: Principal, call: Call) -> tuple[bool, str]:
    """AssumeRole by an unrestricted caller: only the role's trust policy is evaluated."""
    role_arn = call.params.get("RoleArn", "")
    _, _, account, resource = _arn_parts(role_arn)
    if not account or not resource.startswith("role/"):
        return True, ""
    name = resource.rsplit("/", 1)[-1]
    try:
        role = iam_backends[account][PARTITION].get_role(name)
    except Exception:
        return True, ""  # no such role: a bootstrap identity of that account
    action = "sts:AssumeRole"
    if role.arn != role_arn:
        return False, denial_message(principal, action, role_arn, Decision(False, "no such role", "resource-based"))
    info = iam_catalogue.action("sts", "AssumeRole")
    assert info is not None
    context = context_for(_base_context(principal, call), info, role_arn)
    try:
        from .iam_policy import UnsupportedPolicy, evaluate_policy

        result = evaluate_policy(
            role.assume_role_policy_document, "trust policy", principal=principal,
            action=action, resource=role_arn, context=context,
        )
    except UnsupportedPolicy as error:
        return False, denial_message(principal, action, role_arn, Decision(False, str(error), unsupported=True))
    if result.denied_by:
        return False, denial_message(principal, action, role_arn, Decision(False, "", "resource-based", True))
    if not result.allowed_by:
        return False, denial_message(principal, action, role_arn, Decision(False, "", "resource-based"))
    return True, ""


def install_session_marks() -> None:
    """Marks each AssumeRole session whose role existed when it was assumed, so that a session
    of a role deleted later is refused rather than taken for a bootstrap identity (a deleted
    role's policies are gone: its sessions are allowed nothing)."""
    original = STSBackend.assume_role
    if getattr(original, "_offsite_iam", False):
        return

    def assume_role(self: STSBackend, *args: Any, **kwargs: Any) -> Any:
        session = original(self, *args, **kwargs)
        _, _, account, _ = _arn_parts(session.role_arn)
        try:
            iam_backends[account][PARTITION].get_role_by_arn(session.role_arn)
            existed = True
        except Exception:
            existed = False
        session._offsite_role_existed = existed  # type: ignore[attr-defined]
        return session

    assume_role._offsite_iam = True  # type: ignore[attr-defined]
    STSBackend.assume_role = assume_role  # type: ignore[method-assign]


class IamEnforcement:
    """The WSGI middleware (see the module docstring)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        install_rds_key_checks()
        install_session_marks()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIXES):
            return self.app(environ, start_response)
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        credential = _credential(environ, query)
        if credential is None:
            return self.app(environ, start_response)
        access_key, _, region, signing_name, _ = credential
        account = get_account_id_from(access_key)
        session = sts_backends[account][PARTITION].get_assumed_role_from_access_key(access_key)
        role = enforced_role(account, session)
        orphan = role is None and getattr(session, "_offsite_role_existed", False)
        if role is None and not orphan and signing_name != "sts":
            return self.app(environ, start_response)
        call = parse_call(environ, signing_name, account, region)
        if session is not None:
            principal = Principal(account, arn=session.arn, role_arn=session.role_arn, access_key=access_key)
        else:
            principal = Principal(account, access_key=access_key)
        if orphan and not (call.service == "sts" and call.operation == "GetCallerIdentity"):
            message = (
                f"User: {principal.describe()} is not authorized to perform: {call.action} "
                f"because its role {principal.role_arn} no longer exists"
            )
            return _error(call, signing_name, message, start_response)
        if role is None and call.operation != "AssumeRole":
            return self.app(environ, start_response)
        try:
            if role is None:
                allowed, message = decide_bootstrap_assume(principal, call)
            else:
                allowed, message = decide(principal, role, session, call)
        except Exception as error:  # a bug here must refuse, loudly, not allow or answer 500
            log.exception("IAM evaluation of %s by %s failed", call.action, principal.describe())
            allowed, message = False, (
                f"User: {principal.describe()} is not authorized to perform: {call.action} because "
                f"the Offsite emulator failed to evaluate the request: {error!r}"
            )
        if not allowed:
            return _error(call, signing_name, message, start_response)
        if role is None:
            return self.app(environ, start_response)
        if call.service == "sns" and call.operation in ("Publish", "PublishBatch"):
            try:
                refused = topic_key_refusal(principal, role, session, call)
            except Exception as error:  # refuse loudly, never allow or answer 500
                log.exception("KMS evaluation of %s by %s failed", call.action, principal.describe())
                refused = f"the Offsite emulator failed to evaluate the topic key: {error!r}"
            if refused:
                # SNS's KMS error, with KMS's refusal after it.
                return _sns_kms_error(
                    f"Amazon SNS could not use the topic's AWS KMS key for {principal.describe()}. "
                    f"[Offsite emulator: {refused}]",
                    start_response,
                )
        if call.service == "s3" and call.method in ("GET", "HEAD"):
            try:
                refused = object_key_refusal(principal, role, session, call)
            except Exception as error:  # refuse loudly, never allow or answer 500
                log.exception("KMS evaluation of %s by %s failed", call.action, principal.describe())
                refused = f"the Offsite emulator failed to evaluate the object's key: {error!r}"
            if refused:
                # S3 answers 403 AccessDenied with KMS's refusal (UsingKMSEncryption).
                return _error(call, signing_name, f"[S3 could not decrypt the object with its KMS key] {refused}", start_response)
        # moto serves the request in this thread: the patches see the enforced caller.
        _current.enforced = (principal, role, session, call)
        try:
            return self.app(environ, start_response)
        finally:
            _current.enforced = None

