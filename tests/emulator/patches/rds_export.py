"""RDS snapshot export to Amazon S3 (StartExportTask, DescribeExportTasks, CancelExportTask)
with AWS's validation, access checks, limits, progress and output: real Parquet files of the
snapshot's content (``rds_content``) in the bucket owner's S3, with the export's metadata
files. moto 5.2.5 finished every task at once with a lower-case status, wrote nothing,
checked no bucket, role or key, and raised for DescribeExportTasks of an unknown identifier.

References: RDS API Reference API_StartExportTask, API_DescribeExportTasks,
API_CancelExportTask, API_ExportTask (and the service model's errors for each operation);
RDS User Guide "Exporting DB snapshot data to Amazon S3" (USER_ExportSnapshot) with its
pages "Setting up access to an Amazon S3 bucket" (USER_ExportSnapshot.Setup), "Creating
snapshot export tasks" (USER_ExportSnapshot.Exporting), "Monitoring snapshot exports"
(USER_ExportSnapshot.Monitoring), "Canceling a snapshot export task", "Failure messages for
Amazon S3 export tasks" and "Troubleshooting" (USER_ExportSnapshot.failure-msg), "File naming
conventions" (USER_ExportSnapshot.FileNames), "Data conversion when exporting to an Amazon S3
bucket" (USER_ExportSnapshot.data-types), "Limitations"; Aurora User Guide
"Considerations for DB cluster snapshot exports" (aurora-export-snapshot.Considerations);
Service Authorization Reference (``iam_catalogue``): rds:StartExportTask, dependent action
iam:PassRole.

StartExportTask
---------------
Checked in this order; the first failure answers (codes from the service model's errors of
StartExportTask unless marked *inferred*):

1. ``ExportTaskIdentifier``, ``SourceArn``, ``S3BucketName``, ``IamRoleArn``, ``KmsKeyId``
   are required -> ``InvalidParameterValue`` (*inferred*: the SDKs refuse a request without
   them before it is sent).
2. ``ExportTaskIdentifier``: the API reference gives no constraints; the emulator takes 1-60
   letters, digits, hyphens and underscores, starting with a letter (the RDS identifier
   convention; the user guide's own example is ``my_export``) -> ``InvalidParameterValue``
   (*inferred*).
3. A task with that identifier already exists in the account and Region, whatever its state
   -> ``ExportTaskAlreadyExists`` ("The export task with the ID ... already exists", the
   Aurora considerations page; the user guide recommends unique names).
4. ``SourceArn``: an ``arn:aws:rds:<region>:<account>:snapshot:<name>`` or
   ``...:cluster-snapshot:<name>`` of the caller's account and Region; another form ->
   ``InvalidParameterValue``; a snapshot of another account or Region, or one that does not
   exist -> ``DBSnapshotNotFound`` / ``DBClusterSnapshotNotFoundFault`` (404; a shared
   snapshot must be copied first). A DB **cluster** ARN (Aurora's "Exporting DB cluster data
   to Amazon S3") -> ``DBClusterNotFoundFault`` if there is no such cluster, else
   ``InvalidParameterValue``: exporting a cluster directly is **not supported by the
   emulator** (export a cluster snapshot).
5. The snapshot must be ``available`` -> ``InvalidExportSourceState``; and of an engine AWS
   exports: DB snapshots of MySQL, MariaDB, PostgreSQL; DB cluster snapshots of Aurora MySQL
   and Aurora PostgreSQL ("You can't export snapshot data from Db2 or RDS Custom DB
   instances", "You can't export cluster data from Multi-AZ DB clusters", API_StartExportTask;
   USER_ExportSnapshot's engine table) -> ``InvalidExportSourceState``. Manual, automated and
   AWS Backup snapshots are all exportable.
6. ``S3Prefix`` containing ``:`` ("Exports to S3 don't support S3 prefixes containing a
   colon", Limitations) -> ``InvalidParameterValue`` (*inferred* code).
7. ``ExportOnly``: each entry ``database`` or ``database.table`` (MySQL family), ``database``,
   ``database.schema`` or ``database.schema.table`` (PostgreSQL family); names of letters,
   digits, ``$`` and ``_`` only ("If a database, schema, or table has characters in its name
   other than the following, partial export isn't supported"); at most 200 KB in all ("the
   ExportOnly list has a maximum size of 200 KB"); otherwise -> ``InvalidExportOnly``. An
   entry that names nothing the snapshot holds is **not documented**: the export completes,
   that entry exports nothing, and it is listed in ``WarningMessage``'s ``skippedObjectives``
   (``{"objective": "<entry>", "reason": "OBJECTIVE_NOT_FOUND"}``, *inferred*).
8. ``KmsKeyId`` (key id, key ARN, alias name or alias ARN; another account's key by ARN):
   the key must exist, be ``Enabled``, symmetric (``SYMMETRIC_DEFAULT``, ``ENCRYPT_DECRYPT``)
   and in the snapshot's Region -> ``KMSKeyNotAccessibleFault``. A key-policy ``Deny`` that
   applies to the service principal ``export.rds.amazonaws.com`` for ``kms:CreateGrant``,
   ``kms:DescribeKey``, ``kms:Encrypt``, ``kms:Decrypt``, ``kms:GenerateDataKey``,
   ``kms:GenerateDataKeyWithoutPlaintext`` ("if you have a deny statement in your KMS key
   policy, make sure to explicitly exclude the AWS service principal export.rds.amazonaws.com")
   -> ``KMSKeyNotAccessibleFault``. For an enforced caller (``iam_enforce``) the caller needs
   ``kms:CreateGrant`` and ``kms:DescribeKey`` on the key ("The caller of this operation must
   be authorized to run the following operations ... kms:CreateGrant, kms:DescribeKey"),
   evaluated under the key policy and the caller's IAM through RDS
   (``iam_enforce.authorize_rds_key_use``: ``kms:ViaService`` ``rds.<region>.amazonaws.com``,
   ``kms:GrantIsForAWSResource`` true) -> ``KMSKeyNotAccessibleFault``.
9. The role ``IamRoleArn``, of the caller's account (a role cannot be passed to another
   account) -> else ``IamRoleNotFound`` (404). Its trust policy must let the service
   principal ``export.rds.amazonaws.com`` ``sts:AssumeRole`` (Setup: the role's trust
   relationship), evaluated by ``iam_policy`` with the request context a service principal's
   AssumeRole carries: ``aws:PrincipalServiceName``, ``aws:PrincipalIsAWSService`` true,
   ``aws:SecureTransport`` true, and the confused-deputy keys ``aws:SourceAccount`` (the
   caller's account) and ``aws:SourceArn`` (the exported snapshot's ARN; what RDS sends here is
   *inferred*) -> refused: ``IamRoleMissingPermissions`` (*chosen*: the troubleshooting page
   gives only the task failure "The RDS export failed to write the export task's metadata
   because it can't assume the IAM role").
10. The bucket ``S3BucketName`` must exist (in any account: found by name in moto's S3) and be
    in the snapshot's Region ("The S3 bucket to export to must be in the same AWS Region as the
    snapshot") -> ``InvalidS3BucketFault`` with the failure message "The S3 bucket ... isn't
    valid. Either it isn't located in the current AWS Region or it doesn't exist."
11. The role's permissions, as the export uses them: ``s3:PutObject``, ``s3:GetObject``,
    ``s3:DeleteObject`` on the export's objects (checked on
    ``<S3Prefix>/<id>/export_info_<id>.json``; at completion PutObject on every object
    written) and ``s3:ListBucket``, ``s3:GetBucketLocation`` on the bucket (IamRoleArn: "include
    the following required actions ... s3:PutObject*, s3:GetObject*, s3:ListBucket,
    s3:DeleteObject*, s3:GetBucketLocation"; the wildcards' other members are not required).
    Evaluated for the role's session (``aws:PrincipalArn`` the role, ``aws:PrincipalType``
    AssumedRole, ``aws:ViaAWSService`` false: RDS calls S3 with the role's own credentials;
    PutObject with ``s3:x-amz-server-side-encryption`` ``aws:kms`` and
    ``s3:x-amz-server-side-encryption-aws-kms-key-id`` the key's ARN) under its identity
    policies and the bucket policy (IAM User Guide, "Policy evaluation logic": within the
    account either may allow; "Cross-account policy evaluation logic": across accounts both
    must; "Using a cross-account Amazon S3 bucket": the bucket policy admits the export role).
    Refused by the role's policies -> ``IamRoleMissingPermissions`` ("The IAM role requires
    additional permissions to export to an Amazon S3 bucket"), message "The IAM role ... isn't
    authorized to call <action> on the S3 bucket ..."; refused by the bucket policy (no policy
    for another account, no statement admitting the role, an explicit Deny) ->
    ``InvalidS3BucketFault`` ("... Amazon RDS isn't authorized to access the specified Amazon
    S3 bucket"). A policy clause the emulator cannot judge refuses, naming it.
12. Limits ("You can't run multiple export tasks for the same DB cluster snapshot
    simultaneously"; "You can have up to five concurrent DB snapshot export tasks in progress
    per AWS account" -- per *account*, so the five count across Regions): tasks in
    ``STARTING``, ``IN_PROGRESS`` or ``CANCELING`` count. No error code is documented for
    either; both answer ``ExportTaskAlreadyExists`` (*chosen* from the operation's errors:
    "You can't start an export task that's already running"), with a message naming the limit.
    Checked and the task created under one lock, so concurrent requests cannot overshoot.

``iam:PassRole`` on ``IamRoleArn`` (the Service Authorization Reference lists it as
rds:StartExportTask's dependent action) is enforced by the IAM middleware
(``iam_enforce.PASSED_ROLES``, with ``iam:PassedToService`` ``export.rds.amazonaws.com``)
before the request reaches this module: AccessDenied, 403.

For the bootstrap identity (a caller that is not an enforced role) everything above is
checked except the caller's own IAM (PassRole, the key permissions), as in
``dynamodb_export``.

Progress (lazy, computed when read)
-----------------------------------
Each task keeps the copy delay in force when it started (``--copy-delay``,
``CONFIG.copy_delay_seconds``): ``STARTING`` for the first 10 % ("The export task first
restores and scales the entire database ... The task's progress during this phase displays
as Starting"), then ``IN_PROGRESS`` with ``PercentProgress`` rising from 0 to 99, then
``COMPLETE`` with ``PercentProgress`` 100, ``TotalExtractedDataInGB`` (whole GiB of Parquet
written, 0 for small exports) and ``TaskEndTime``. The StartExportTask response says
``STARTING`` (the user guide's sample); with delay 0 the first read completes the task. The
files are written at completion, by the read that sees the delay over; the data is the
snapshot's content as it was at StartExportTask (a snapshot deleted meanwhile is still
exported: "You can delete a snapshot while you're exporting"). At completion steps 8-11 are
checked again, but for the caller's own permissions (the key's existence, state and policy,
the role's trust and permissions for every object, the bucket and its policy): a refusal
ends the task ``FAILED``, nothing written, with the user guide's failure message in
``FailureCause`` ("The IAM role ... isn't authorized to call <action> on the S3 bucket ...",
"The RDS export failed to write the export task's metadata because it can't assume the IAM
role ...", "The S3 bucket ... isn't valid ...", "KMS key check failed ...") and the
emulator's reason in brackets.

Fields (API_ExportTask): ``ExportTaskIdentifier``, ``SourceArn``, ``ExportOnly`` (when
given), ``SnapshotTime`` (the snapshot's creation time), ``TaskStartTime``, ``TaskEndTime``
(once ended), ``S3Bucket``, ``S3Prefix`` (``""`` when none, as the guide's samples show),
``IamRoleArn``, ``KmsKeyId`` (as given), ``Status`` (upper case), ``PercentProgress``,
``TotalExtractedDataInGB``, ``FailureCause``, ``WarningMessage``, ``SourceType``
(``SNAPSHOT`` | ``CLUSTER``).

Output (in the bucket owner's S3, every object SSE-KMS ``aws:kms`` with the export's key)
------------------------------------------------------------------------------------------
Under ``<S3Prefix>/<ExportTaskIdentifier>/`` (no prefix: ``<ExportTaskIdentifier>/``),
following FileNames ("export_identifier/database_name/schema_name.table_name/", current
convention "batch_index/part-partition_index-random_uuid.format-based_extension", examples
``1/part-00000-c5a881bb-...-c000.gz.parquet``):

* ``<database>/<schema>.<table>/1/part-00000-<uuid>-c000.gz.parquet`` (PostgreSQL); for the
  MySQL family the schema *is* the database: ``<database>/<database>.<table>/1/...`` (the
  guide's example ``rdststdb/rdststdb.DataInsert_...``). One batch (``1``) and one partition
  (``00000``) per table: the emulator does not split tables. No file for a table without
  rows (an empty partition gets no file). The characters ``\\ ` "`` and space in these path
  segments become ``_`` (Limitations).
* ``<database>/<schema>.<table>/1/_SUCCESS``: an empty marker in every exported table's batch
  folder. Not in AWS's documentation; written because real exports carry it (public code that
  validates real exports requires it), so readers must skip it.
* ``export_tables_info_<id>_from_1_to_<n>.json`` (n = number of tables reported; not written
  when the export holds no table): ``{"perTableStatus": [{"tableStatistics":
  {"extractionStartTime", "extractionEndTime", "partitioningInfo": {"numberOfPartitions": 1,
  "numberOfCompletedPartitions": 1}}, "schemaMetadata": {"originalTypeMappings":
  [{"columnName", "originalType", "expectedExportedType", "originalCharMaxLength",
  "originalNumPrecision", "originalDateTimePrecision"}]}, "status": "COMPLETE", "sizeGB",
  "target": "<database>.<schema>.<table>" | "<database>.<table>"}]}`` -- the field names and
  shapes of a real file quoted in public (WordPress/openverse issue 2669): ``originalType`` is
  information_schema's ``data_type`` (``character varying``, ``timestamp with time zone``,
  ``ARRAY``), lengths/precisions 0 where none, ``expectedExportedType`` like ``binary
  (UTF8)``, ``int32``, ``int64``, ``double``, ``boolean``; times in that file's format
  ``Jul 19, 2023, 11:21:00 PM`` (UTC). The spellings for the other Parquet types (``float``,
  ``binary``, ``int32 (INT_16)``, ``int64 (TIMESTAMP_MICROS)``, ``int64 (DECIMAL(10,2))``,
  ``fixed_len_byte_array (DECIMAL(20,0))``) are *inferred* from that pattern.
* ``export_info_<id>.json``: ``exportTaskIdentifier``, ``sourceArn``, ``exportOnly`` (list),
  ``snapshotTime``, ``taskStartTime``, ``taskEndTime``, ``s3Bucket``, ``s3Prefix``,
  ``exportedFilesPath`` (``<S3Prefix>/<id>``), ``iamRoleArn``, ``kmsKeyId``, ``status``
  ``COMPLETE``, ``percentProgress`` 100, ``totalExportedDataInGB`` (fractional) -- the fields
  public code reads from real files; written last.

Tables AWS skips (Limitations: column names containing ``, ; { } ( ) \\n \\t =`` or a space;
table names containing ``/``) get no data file; their ``perTableStatus`` entry is ``{"target",
"status": "SKIPPED", "sizeGB": 0, "warningMessage"}`` and the task's ``WarningMessage`` is the
JSON the guide's monitoring sample shows, ``{"skippedTables": [...], "skippedObjectives":
[...], "general": []}``, with entries ``{"target", "reason"}`` (``"SKIPPED"`` and the entry
shape are *inferred*; the sample only shows empty lists and a ``general`` reason).

Data conversion (USER_ExportSnapshot.data-types; the column's type comes from
``rds_content``):

* PostgreSQL: smallint -> INT32 (INT_16); integer -> INT32; bigint -> INT64; real -> FLOAT;
  double precision -> DOUBLE; boolean -> BOOLEAN; bytea -> BINARY; numeric/decimal, money ->
  STRING (UTF8, "to avoid complications due to data precision and ... NaN"); text, varchar,
  char, name, enum-like, uuid, json, jsonb, xml, inet, cidr, macaddr, bit, geometric, range
  types -> STRING; date, time, timetz, timestamp, timestamptz, interval -> STRING; arrays ->
  STRING (their PostgreSQL literal).
* MySQL / MariaDB / Aurora MySQL: tinyint (also tinyint(1)), smallint, mediumint, int, year ->
  INT32; int unsigned, mediumint unsigned, bigint -> INT64; bigint unsigned ->
  FIXED_LEN_BYTE_ARRAY(9) DECIMAL(20,0); decimal(p,s) -> DECIMAL(p,s) on INT32 (p <= 9), INT64
  (p <= 18) or FIXED_LEN_BYTE_ARRAY (p <= 38), STRING above 38; float, double -> DOUBLE;
  char, varchar, text types, enum, set, json -> STRING; date, time -> STRING; datetime,
  timestamp -> INT64 TIMESTAMP_MICROS (UTC); binary, varbinary, blob types, bit, spatial types
  -> BYTE_ARRAY. The MySQL rows BIGINT, BIGINT UNSIGNED, BIT, DECIMAL/NUMERIC, DOUBLE, FLOAT,
  INT, INT UNSIGNED, MEDIUMINT (UNSIGNED) were read on the page; its other rows (TINYINT,
  SMALLINT, YEAR, the string, date/time, binary and spatial types) could not be retrieved in
  full when this was written and follow the table as it was known: check them against the
  page before relying on them.

Parquet is written with pyarrow (pinned in requirements.txt), gzip codec, no Arrow schema
metadata.

DescribeExportTasks
-------------------
The caller account's and Region's tasks, in the order they were started, each advanced first.
``ExportTaskIdentifier`` and ``SourceArn`` select exactly (an unknown identifier gives an
empty list, not an error; moto raised); ``SourceType`` ``SNAPSHOT`` | ``CLUSTER`` (another
value -> ``InvalidParameterValue``); ``Filters`` ``export-task-identifier``, ``s3-bucket``,
``source-arn``, ``status`` (documented as lower case: ``starting``, ``in_progress`` ...;
matched case-insensitively here), another filter name -> ``InvalidParameterValue``;
``MaxRecords`` 20-100 (default 100) -> else ``InvalidParameterValue``; ``Marker`` is the
last identifier of the previous page.

CancelExportTask
----------------
Unknown identifier -> ``ExportTaskNotFound`` (404). ``STARTING`` / ``IN_PROGRESS`` ->
``CANCELING`` (the response), then ``CANCELED`` with ``TaskEndTime`` at the next read; nothing
was written yet (files are written only at completion), and nothing written is ever removed
("Canceling a snapshot export task doesn't remove any data that was exported to Amazon S3").
``COMPLETE``, ``FAILED``, ``CANCELING``, ``CANCELED`` -> ``InvalidExportTaskStateFault``
("You can't cancel an export task that has completed").

State: tasks live on moto's RDS backend object (per account and Region), so moto's reset
clears them; the module keeps nothing else but its clock (``clock``, replaceable by tests).

Not emulated
------------
RDS events (RDS-EVENT-0159..0164), the role's own KMS permissions (RDS uses a grant), S3's
KMS checks of the objects' key, S3 Block Public Access / Object
Ownership, exports of DB cluster data, table partitioning (one file per table), large-object
and 2 GB-row limits, PostgreSQL ``PERMISSIONS_DO_NOT_EXIST`` skips, magnetic storage,
unsupported Regions and engine versions.
"""

from __future__ import annotations

import copy
import io
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.iam.models import iam_backends
from moto.kms.models import kms_backends
from moto.rds.exceptions import RDSClientError
from moto.rds.models import DBClusterSnapshot, DBSnapshot, RDSBackend, rds_backends
from moto.rds.responses import RDSResponse
from moto.s3.models import FakeBucket, s3_backends

from . import iam_catalogue, iam_enforce
from .iam_policy import (
    Context,
    Principal,
    Request,
    UnsupportedPolicy,
    authorize,
    denial_message,
    evaluate_policy,
)
from .rds_content import MYSQL, POSTGRES, ColumnType, column_type, content_of, convert, engine_family
from .state import CONFIG

EXPORT_SERVICE = "export.rds.amazonaws.com"
PARTITION = "aws"
INSTANCE_ENGINES = ("mysql", "mariadb", "postgres")
CLUSTER_ENGINES = ("aurora-mysql", "aurora-postgresql", "aurora")
MAX_IN_PROGRESS = 5
ACTIVE = ("STARTING", "IN_PROGRESS", "CANCELING")
ENDED = ("COMPLETE", "FAILED", "CANCELED")
STARTING_SHARE = 0.1
ROLE_OBJECT_ACTIONS = ("s3:PutObject", "s3:GetObject", "s3:DeleteObject")
ROLE_BUCKET_ACTIONS = ("s3:ListBucket", "s3:GetBucketLocation")
SERVICE_KMS_ACTIONS = (
    "kms:CreateGrant",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
)
SKIPPED_COLUMN_CHARACTERS = frozenset(",;{}()\n\t= ")
PATH_CHARACTERS = str.maketrans({"\\": "_", "`": "_", '"': "_", " ": "_"})
MAX_EXPORT_ONLY_BYTES = 200 * 1024
DEFAULT_MAX_RECORDS = 100
FILTERS = ("export-task-identifier", "s3-bucket", "source-arn", "status")

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,59}$")
_SOURCE_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):rds:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<kind>snapshot|cluster-snapshot|cluster):(?P<name>.+)$"
)
_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::(?P<account>\d{12}):role/(?:.*/)?(?P<name>[^/]+)$")
_EXPORT_ONLY_NAME = re.compile(r"^[A-Za-z0-9$_]+$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_lock = threading.RLock()
# Wall-clock seconds; tests replace it to move time without sleeping.
clock: Callable[[], float] = time.time


def _fault(code: str, message: str) -> RDSClientError:
    """An RDS error with the service model's shape name as code (serialized with the
    model's error code and HTTP status)."""
    return RDSClientError(code, message)


def _utc(epoch: float) -> datetime:
    """Naive UTC datetime, as moto's serializers expect."""
    return datetime.fromtimestamp(epoch, timezone.utc).replace(tzinfo=None)


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()


def _metadata_time(epoch: float) -> str:
    """``Jul 19, 2023, 11:21:00 PM`` (UTC), the form of the times in export_tables_info."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    hour = moment.hour % 12 or 12
    noon = "AM" if moment.hour < 12 else "PM"
    return (
        f"{_MONTHS[moment.month - 1]} {moment.day}, {moment.year}, "
        f"{hour}:{moment.minute:02d}:{moment.second:02d} {noon}"
    )


# --- resources ------------------------------------------------------------------------------


def _bucket(name: str) -> FakeBucket | None:
    entry = s3_backends.bucket_accounts.get(name)
    if entry is None:
        return None
    partition, account = entry
    return s3_backends[account][partition].buckets.get(name)


def _role(arn: str, account: str) -> Any:
    """The IAM role ``arn`` of ``account`` (None if it does not exist there)."""
    match = _ROLE_ARN.match(arn or "")
    if not match or match.group("account") != account:
        return None
    try:
        role = iam_backends[account][PARTITION].get_role(match.group("name"))
    except Exception:
        return None
    return role if role.arn == arn else None


@dataclass
class KeyCheck:
    arn: str | None
    refusal: str | None


def _key(key_id: str, account: str, region: str) -> KeyCheck:
    """The export's KMS key: exists, enabled, symmetric, in the snapshot's Region."""
    key_account, key_region = account, region
    if key_id.startswith("arn:"):
        parts = key_id.split(":", 5)
        if len(parts) != 6 or parts[2] != "kms":
            return KeyCheck(None, f"{key_id} is not a KMS key ARN")
        key_region, key_account = parts[3], parts[4]
        if key_region != region:
            return KeyCheck(None, f"the key is in {key_region}, not in the snapshot's Region {region}")
    try:
        backend = kms_backends[key_account][key_region]
        key = backend.keys.get(backend.any_id_to_key_id(key_id))
    except Exception:
        key = None
    if key is None:
        return KeyCheck(None, f"there is no KMS key {key_id} in account {key_account} Region {key_region}")
    if key.key_state != "Enabled":
        return KeyCheck(key.arn, f"the key {key.arn} is {key.key_state}")
    usage = key.key_usage or "ENCRYPT_DECRYPT"  # moto keeps None for CreateKey's default
    if key.key_spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
        return KeyCheck(key.arn, f"the key {key.arn} is {key.key_spec} {usage}, not a symmetric encryption key")
    return KeyCheck(key.arn, None)


def _service_context(account: str, region: str, source_arn: str) -> Context:
    """What a request of the service principal ``export.rds.amazonaws.com`` carries."""
    now = datetime.now(timezone.utc)
    return {
        "aws:principalservicename": [EXPORT_SERVICE],
        "aws:principalisawsservice": ["true"],
        "aws:securetransport": ["true"],
        "aws:sourceaccount": [account],
        "aws:sourcearn": [source_arn],
        "aws:currenttime": [now.strftime("%Y-%m-%dT%H:%M:%SZ")],
        "aws:epochtime": [str(int(now.timestamp()))],
        "aws:requestedregion": [region],
    }


def _trust_refusal(role: Any, account: str, region: str, source_arn: str) -> str | None:
    """Why ``export.rds.amazonaws.com`` may not assume ``role`` (None if it may)."""
    principal = Principal(account, service=EXPORT_SERVICE)
    try:
        result = evaluate_policy(
            role.assume_role_policy_document, "trust policy", principal=principal,
            action="sts:AssumeRole", resource=role.arn,
            context=_service_context(account, region, source_arn),
        )
    except UnsupportedPolicy as error:
        return f"the Offsite emulator cannot judge the trust policy: {error}"
    if result.denied_by:
        return f"{EXPORT_SERVICE} is explicitly denied sts:AssumeRole by {result.denied_by}"
    if not result.allowed_by:
        return f"no statement of the trust policy lets {EXPORT_SERVICE} sts:AssumeRole"
    return None


def _key_policy_refusal(key_arn: str, account: str, region: str, source_arn: str) -> str | None:
    """A Deny of the key policy that applies to the export service principal."""
    _, _, _, key_region, key_account, resource = key_arn.split(":", 5)
    key = kms_backends[key_account][key_region].keys.get(resource.split("/", 1)[1])
    if key is None:
        return f"the key {key_arn} no longer exists"
    principal = Principal(account, service=EXPORT_SERVICE)
    context = _service_context(account, region, source_arn)
    for action in SERVICE_KMS_ACTIONS:
        try:
            result = evaluate_policy(
                key.policy, "key policy", principal=principal, action=action,
                resource=key_arn, context=context,
            )
        except UnsupportedPolicy as error:
            return f"the Offsite emulator cannot judge the key policy for {EXPORT_SERVICE}: {error}"
        if result.denied_by:
            return f"{result.denied_by} denies {action} to {EXPORT_SERVICE}"
    return None


@dataclass
class S3Refusal:
    """A refused S3 request of the export role: by its own policies (``role``) or by the
    bucket policy (``bucket``)."""

    by: str
    action: str
    resource: str
    reason: str


def _role_session(role: Any, identifier: str) -> Principal:
    """The export role's session as RDS assumes it (the session name is the emulator's)."""
    account = role.arn.split(":")[4]
    session = f"rds-export-{identifier}"[:64]
    arn = f"arn:aws:sts::{account}:assumed-role/{role.name}/{session}"
    return Principal(account, arn=arn, role_arn=role.arn)


def _s3_refusal(
    role: Any, identifier: str, region: str, needed: list[tuple[str, str]], key_arn: str
) -> S3Refusal | None:
    """The export role's S3 requests, authorized as AWS authorizes the role's own session
    (see the module docstring, step 11)."""
    principal = _role_session(role, identifier)
    base = iam_enforce._principal_context(principal, region, via_aws_service=False)
    sse: Context = {
        "s3:x-amz-server-side-encryption": ["aws:kms"],
        "s3:x-amz-server-side-encryption-aws-kms-key-id": [key_arn],
    }
    policies = iam_enforce.identity_policies(role)
    for action, resource in needed:
        info = iam_catalogue.action(*action.split(":", 1))
        assert info is not None, action
        rp = iam_enforce.resource_policy(info.full_name, resource)
        extra = sse if action == "s3:PutObject" else {}
        context = iam_enforce.context_for({**base, **extra}, info, resource)
        decision = authorize(
            Request(
                principal=principal, action=info.full_name, resource=resource, context=context,
                identity_policies=policies, resource_account=rp.account,
                resource_policy=rp.document, has_resource_policies=rp.has_policies,
                resource_policy_name=rp.name,
            )
        )
        if not decision.allowed:
            by = "bucket" if decision.policy_type == "resource-based" else "role"
            reason = denial_message(principal, info.full_name, resource, decision)
            return S3Refusal(by, info.full_name, resource, reason)
    return None


# --- ExportOnly --------------------------------------------------------------------------------


def _validate_export_only(entries: list[str], family: str | None) -> None:
    size = sum(len(e.encode()) for e in entries)
    if size > MAX_EXPORT_ONLY_BYTES:
        raise _fault("InvalidExportOnlyFault", f"The ExportOnly list is {size} bytes; the maximum is 200 KB.")
    max_parts = 3 if family == POSTGRES else 2
    forms = (
        "database, database.schema or database.schema.table"
        if family == POSTGRES
        else "database or database.table"
    )
    for entry in entries:
        parts = entry.split(".") if isinstance(entry, str) else []
        if not parts or len(parts) > max_parts or not all(_EXPORT_ONLY_NAME.match(p) for p in parts):
            raise _fault(
                "InvalidExportOnlyFault",
                f"The ExportOnly entry {entry!r} is invalid: for this engine use {forms}, with names "
                "of Latin letters, digits, $ and _ only.",
            )


def _selected(
    entries: list[str] | None, family: str | None, database: str, schema: str | None, table: str
) -> list[str]:
    """The ExportOnly entries that select a table (all of them count as "used")."""
    if not entries:
        return ["*"]
    own = [database, schema, table] if family == POSTGRES else [database, table]
    return [e for e in entries if own[: len(e.split("."))] == e.split(".")]


# --- Parquet -------------------------------------------------------------------------------------


def _arrow_type(ctype: ColumnType) -> Any:
    import pyarrow as pa

    if ctype.kind == "decimal":
        if ctype.parquet == "BYTE_ARRAY":
            return pa.string()
        return pa.decimal128(ctype.num_precision, ctype.num_scale)
    return {
        "int16": pa.int16(),
        "int32": pa.int32(),
        "int64": pa.int64(),
        "float32": pa.float32(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "binary": pa.binary(),
        "string": pa.string(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }[ctype.kind]


def parquet_bytes(columns: list[tuple[str, ColumnType]], rows: list[list[Any]]) -> bytes:
    """One gzip-compressed Parquet file of ``rows`` with the export's column types."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = [
        pa.array([convert(ctype, row[i]) for row in rows], type=_arrow_type(ctype))
        for i, (_, ctype) in enumerate(columns)
    ]
    schema = pa.schema([pa.field(name, _arrow_type(ctype), nullable=True) for name, ctype in columns])
    buffer = io.BytesIO()
    pq.write_table(
        pa.Table.from_arrays(arrays, schema=schema), buffer, compression="gzip",
        store_decimal_as_integer=True, store_schema=False,
    )
    return buffer.getvalue()


@dataclass
class TableExport:
    """One table's share of the export (built at completion, before anything is written)."""

    target: str
    status: dict[str, Any]
    objects: dict[str, bytes] = field(default_factory=dict)
    size: int = 0


def _type_mapping(name: str, ctype: ColumnType) -> dict[str, Any]:
    return {
        "columnName": name,
        "originalType": ctype.original_type,
        "expectedExportedType": ctype.expected_exported_type,
        "originalCharMaxLength": ctype.char_max_length,
        "originalNumPrecision": ctype.num_precision,
        "originalDateTimePrecision": ctype.datetime_precision,
    }


def _skip_reason(table: dict[str, Any]) -> str | None:
    if "/" in table["name"]:
        return "TABLE_NAME_CONTAINS_SLASH"
    if any(SKIPPED_COLUMN_CHARACTERS & set(c["name"]) for c in table["columns"]):
        return "COLUMN_NAME_CONTAINS_UNSUPPORTED_CHARACTERS"
    return None


# --- the task -------------------------------------------------------------------------------------


class OffsiteExportTask:
    """One export task, advanced lazily when it is read."""

    def __init__(
        self,
        backend: RDSBackend,
        params: dict[str, Any],
        snapshot: DBSnapshot | DBClusterSnapshot,
        role_arn: str,
        key_arn: str,
    ) -> None:
        self.identifier: str = params["ExportTaskIdentifier"]
        self.account = backend.account_id
        self.region = backend.region_name
        self.source_arn: str = params["SourceArn"]
        self.source_type = "CLUSTER" if isinstance(snapshot, DBClusterSnapshot) else "SNAPSHOT"
        self.snapshot_time = _epoch(snapshot.created)
        self.engine: str = snapshot.engine
        self.family = engine_family(self.engine)
        # The export's data: the snapshot as it is now (it may be deleted meanwhile).
        self.content = copy.deepcopy(content_of(snapshot))
        self.bucket_name: str = params["S3BucketName"]
        self.prefix: str = (params.get("S3Prefix") or "").strip("/")
        self.role_arn = role_arn
        self.kms_key_id: str = params["KmsKeyId"]
        self.key_arn = key_arn
        export_only = params.get("ExportOnly")
        self.export_only: list[str] | None = list(export_only) if export_only else None
        self.start = clock()
        self.delay = float(CONFIG.copy_delay_seconds)
        self.status = "STARTING"
        self.percent = 0
        self.end: float | None = None
        self.failure: str | None = None
        self.warning: str | None = None
        self.total_bytes = 0
        self.root = f"{self.prefix}/{self.identifier}" if self.prefix else self.identifier

    # -- state ---------------------------------------------------------------------------------

    def advance(self) -> None:
        """Bring the task up to date (complete it, writing its files, once its delay is over)."""
        with _lock:
            if self.status in ENDED:
                return
            now = clock()
            if self.status == "CANCELING":
                self.status, self.end = "CANCELED", now
                return
            elapsed = now - self.start
            if elapsed >= self.delay:
                self._complete()
            elif elapsed >= STARTING_SHARE * self.delay:
                self.status = "IN_PROGRESS"
                share = (elapsed - STARTING_SHARE * self.delay) / ((1 - STARTING_SHARE) * self.delay)
                self.percent = max(0, min(99, int(share * 100)))

    def cancel(self) -> None:
        with _lock:
            self.advance()
            if self.status not in ("STARTING", "IN_PROGRESS"):
                raise _fault(
                    "InvalidExportTaskStateFault",
                    f"Cannot cancel export task {self.identifier}: its status is {self.status}.",
                )
            self.status = "CANCELING"

    def _fail(self, cause: str) -> None:
        self.status, self.failure, self.end = "FAILED", cause, clock()

    # -- completion ------------------------------------------------------------------------------

    def _tables(self, now: float) -> tuple[list[TableExport], dict[str, Any] | None]:
        """Every table the export reports, and the task's warning (None if nothing skipped)."""
        out: list[TableExport] = []
        skipped: list[dict[str, str]] = []
        used: set[str] = set()
        for database in self.content:
            used.add(database["name"])  # an entry naming an existing database is not "not found"
            for table in database["tables"]:
                schema = table.get("schema")
                selected = _selected(self.export_only, self.family, database["name"], schema, table["name"])
                if not selected:
                    continue
                used.update(selected)
                folder_schema = database["name"] if self.family == MYSQL else (schema or database["name"])
                if self.family == MYSQL or schema is None:
                    target = f"{database['name']}.{table['name']}"
                else:
                    target = f"{database['name']}.{schema}.{table['name']}"
                reason = _skip_reason(table)
                if reason is not None:
                    message = f"Table {target} was skipped: {reason}"
                    skipped.append({"target": target, "reason": reason})
                    out.append(TableExport(target, {"target": target, "status": "SKIPPED", "sizeGB": 0,
                                                    "warningMessage": message}))
                    continue
                columns = [(c["name"], column_type(self.family, c["type"])) for c in table["columns"]]
                segments = (database["name"], f"{folder_schema}.{table['name']}")
                folder = "/".join([self.root, *(p.translate(PATH_CHARACTERS) for p in segments), "1"])
                export = TableExport(target, {})
                if table["rows"]:
                    data = parquet_bytes(columns, table["rows"])
                    export.objects[f"{folder}/part-00000-{uuid.uuid4()}-c000.gz.parquet"] = data
                    export.size = len(data)
                export.objects[f"{folder}/_SUCCESS"] = b""
                export.status = {
                    "tableStatistics": {
                        "extractionStartTime": _metadata_time(self.start),
                        "extractionEndTime": _metadata_time(now),
                        "partitioningInfo": {"numberOfPartitions": 1, "numberOfCompletedPartitions": 1},
                    },
                    "schemaMetadata": {"originalTypeMappings": [_type_mapping(n, t) for n, t in columns]},
                    "status": "COMPLETE",
                    "sizeGB": export.size / 2**30,
                    "target": target,
                }
                out.append(export)
        objectives = [
            {"objective": entry, "reason": "OBJECTIVE_NOT_FOUND"}
            for entry in (self.export_only or [])
            if entry not in used
        ]
        warning = None
        if skipped or objectives:
            warning = {"skippedTables": skipped, "skippedObjectives": objectives, "general": []}
        return out, warning

    def _access_refusal(self, keys: list[str]) -> str | None:
        """Why the export cannot write ``keys`` now (the failure message), or None."""
        bucket = _bucket(self.bucket_name)
        if bucket is None or bucket.region_name != self.region:
            return (
                f"The S3 bucket {self.bucket_name} isn't valid. Either it isn't located in the "
                "current AWS Region or it doesn't exist. Review your S3 bucket name and retry the export."
            )
        role = _role(self.role_arn, self.account)
        refusal = None if role is None else _trust_refusal(role, self.account, self.region, self.source_arn)
        if role is None or refusal is not None:
            reason = refusal or f"the role {self.role_arn} no longer exists"
            return (
                "The RDS export failed to write the export task's metadata because it can't assume "
                f"the IAM role {self.role_arn}. [Offsite emulator: {reason}]"
            )
        key = _key(self.key_arn, self.account, self.region)
        reason = key.refusal or _key_policy_refusal(self.key_arn, self.account, self.region, self.source_arn)
        if reason is not None:
            return (
                "KMS key check failed. Check the credentials on your KMS key and try again. "
                f"[Offsite emulator: {reason}]"
            )
        bucket_arn = f"arn:aws:s3:::{self.bucket_name}"
        probe = f"{bucket_arn}/{self.root}/export_info_{self.identifier}.json"
        needed = [("s3:PutObject", f"{bucket_arn}/{k}") for k in keys]
        needed += [(a, probe) for a in ROLE_OBJECT_ACTIONS[1:]] + [(a, bucket_arn) for a in ROLE_BUCKET_ACTIONS]
        s3 = _s3_refusal(role, self.identifier, self.region, needed, self.key_arn)
        if s3 is not None:
            return (
                f"The IAM role {self.role_arn} isn't authorized to call {s3.action} on the S3 bucket "
                f"{self.bucket_name}. Review your permissions and retry the export. "
                f"[Offsite emulator: {s3.reason}]"
            )
        return None

    def _complete(self) -> None:
        now = clock()
        tables, warning = self._tables(now)
        objects: dict[str, bytes] = {}
        for table in tables:
            objects.update(table.objects)
        total_bytes = sum(t.size for t in tables)
        if tables:
            statuses = {"perTableStatus": [t.status for t in tables]}
            name = f"{self.root}/export_tables_info_{self.identifier}_from_1_to_{len(tables)}.json"
            objects[name] = json.dumps(statuses, indent=4).encode()
        info_key = f"{self.root}/export_info_{self.identifier}.json"
        refusal = self._access_refusal([*objects, info_key])
        if refusal is not None:
            self._fail(refusal)
            return
        self.end = now
        info = {
            "exportTaskIdentifier": self.identifier,
            "sourceArn": self.source_arn,
            "exportOnly": self.export_only or [],
            "snapshotTime": _metadata_time(self.snapshot_time),
            "taskStartTime": _metadata_time(self.start),
            "taskEndTime": _metadata_time(now),
            "s3Bucket": self.bucket_name,
            "s3Prefix": self.prefix,
            "exportedFilesPath": self.root,
            "iamRoleArn": self.role_arn,
            "kmsKeyId": self.kms_key_id,
            "status": "COMPLETE",
            "percentProgress": 100,
            "totalExportedDataInGB": total_bytes / 2**30,
        }
        objects[info_key] = json.dumps(info, indent=4).encode()
        bucket = _bucket(self.bucket_name)
        assert bucket is not None
        try:
            for key, body in objects.items():
                s3_backends[bucket.account_id][bucket.partition].put_object(
                    bucket_name=self.bucket_name, key_name=key, value=body,
                    encryption="aws:kms", kms_key_id=self.key_arn,
                )
        except Exception as error:  # e.g. the bucket was deleted between the check and the write
            self._fail(
                f"An unknown internal error occurred writing the export task's metadata to the S3 "
                f"bucket {self.bucket_name}. [Offsite emulator: {error!r}]"
            )
            return
        if warning is not None:
            self.warning = json.dumps(warning)
        self.total_bytes = total_bytes
        self.status, self.percent = "COMPLETE", 100

    # -- API shape ---------------------------------------------------------------------------------

    def description(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "ExportTaskIdentifier": self.identifier,
            "SourceArn": self.source_arn,
            "ExportOnly": self.export_only,
            "SnapshotTime": _utc(self.snapshot_time),
            "TaskStartTime": _utc(self.start),
            "TaskEndTime": _utc(self.end) if self.end is not None else None,
            "S3Bucket": self.bucket_name,
            "S3Prefix": self.prefix,
            "IamRoleArn": self.role_arn,
            "KmsKeyId": self.kms_key_id,
            "Status": self.status,
            "PercentProgress": self.percent,
            "TotalExtractedDataInGB": self.total_bytes // 2**30,
            "FailureCause": self.failure,
            "WarningMessage": self.warning,
            "SourceType": self.source_type,
        }
        return {k: v for k, v in result.items() if v is not None}


# --- backend state (on the backend, so that moto's reset clears it) ------------------------------


def tasks(backend: RDSBackend) -> dict[str, OffsiteExportTask]:
    return backend.__dict__.setdefault("_offsite_export_tasks", {})


def _account_tasks(account: str) -> list[OffsiteExportTask]:
    out: list[OffsiteExportTask] = []
    for backend in list(rds_backends[account].values()):
        out.extend(tasks(backend).values())
    return out


# --- StartExportTask ------------------------------------------------------------------------------


def _source(backend: RDSBackend, source_arn: str) -> DBSnapshot | DBClusterSnapshot:
    match = _SOURCE_ARN.match(source_arn)
    if not match:
        raise _fault(
            "InvalidParameterValue",
            f"SourceArn {source_arn!r} is not the ARN of a DB snapshot or DB cluster snapshot.",
        )
    kind, name = match.group("kind"), match.group("name")
    own = match.group("account") == backend.account_id and match.group("region") == backend.region_name
    if kind == "cluster":
        if own and (name in backend.clusters or name.lower() in backend.clusters):
            raise _fault(
                "InvalidParameterValue",
                f"Exporting DB cluster data directly ({source_arn}) is not supported by the Offsite "
                "emulator: export a DB cluster snapshot.",
            )
        raise _fault("DBClusterNotFoundFault", f"DBCluster {name} not found.")
    store = backend.database_snapshots if kind == "snapshot" else backend.cluster_snapshots
    snapshot = (store.get(name) or store.get(name.lower())) if own else None
    if snapshot is None:
        if kind == "snapshot":
            raise _fault("DBSnapshotNotFoundFault", f"DBSnapshot {source_arn} not found.")
        raise _fault("DBClusterSnapshotNotFoundFault", f"DBClusterSnapshot {source_arn} not found.")
    return snapshot


def _check_source_state(snapshot: DBSnapshot | DBClusterSnapshot, source_arn: str) -> None:
    if snapshot.status != "available":
        raise _fault(
            "InvalidExportSourceStateFault",
            f"The snapshot {source_arn} is {snapshot.status}; only an available snapshot can be exported.",
        )
    engines = CLUSTER_ENGINES if isinstance(snapshot, DBClusterSnapshot) else INSTANCE_ENGINES
    if snapshot.engine not in engines:
        raise _fault(
            "InvalidExportSourceStateFault",
            f"The snapshot {source_arn} is of engine {snapshot.engine}, which can't be exported to "
            f"Amazon S3 (supported: {', '.join(engines)}).",
        )


def _role_and_bucket(params: dict[str, Any], account: str, region: str, key_arn: str) -> str:
    """Steps 9-11 of the module docstring; the role's ARN."""
    role_arn = params["IamRoleArn"]
    role = _role(role_arn, account)
    if role is None:
        raise _fault("IamRoleNotFoundFault", f"The IAM role {role_arn} is not found in account {account}.")
    refusal = _trust_refusal(role, account, region, params["SourceArn"])
    if refusal is not None:
        raise _fault(
            "IamRoleMissingPermissionsFault",
            f"The RDS export can't assume the IAM role {role_arn}. [Offsite emulator: {refusal}]",
        )
    bucket_name = params["S3BucketName"]
    bucket = _bucket(bucket_name)
    if bucket is None or bucket.region_name != region:
        where = "doesn't exist" if bucket is None else f"is in {bucket.region_name}, not in {region}"
        raise _fault(
            "InvalidS3BucketFault",
            f"The S3 bucket {bucket_name} isn't valid. Either it isn't located in the current AWS "
            f"Region or it doesn't exist. [Offsite emulator: the bucket {where}]",
        )
    prefix = (params.get("S3Prefix") or "").strip("/")
    identifier = params["ExportTaskIdentifier"]
    root = f"{prefix}/{identifier}" if prefix else identifier
    bucket_arn = f"arn:aws:s3:::{bucket_name}"
    probe = f"{bucket_arn}/{root}/export_info_{identifier}.json"
    needed = [(a, probe) for a in ROLE_OBJECT_ACTIONS] + [(a, bucket_arn) for a in ROLE_BUCKET_ACTIONS]
    s3 = _s3_refusal(role, identifier, region, needed, key_arn)
    if s3 is not None and s3.by == "role":
        raise _fault(
            "IamRoleMissingPermissionsFault",
            f"The IAM role {role_arn} isn't authorized to call {s3.action} on the S3 bucket "
            f"{bucket_name}. [Offsite emulator: {s3.reason}]",
        )
    if s3 is not None:
        raise _fault(
            "InvalidS3BucketFault",
            f"The specified Amazon S3 bucket name can't be found or Amazon RDS isn't authorized to "
            f"access the specified Amazon S3 bucket {bucket_name}. [Offsite emulator: {s3.reason}]",
        )
    return role.arn


def _key_arn(
    params: dict[str, Any], account: str, region: str, enforced: tuple[Any, Any, Any] | None
) -> str:
    """Step 8 of the module docstring; the key's ARN."""
    key_id = params["KmsKeyId"]
    key = _key(key_id, account, region)
    reason = key.refusal
    if reason is None:
        assert key.arn is not None
        reason = _key_policy_refusal(key.arn, account, region, params["SourceArn"])
    if reason is None and enforced is not None:
        principal, role, session = enforced
        assert key.arn is not None
        decision = iam_enforce.authorize_rds_key_use(principal, role, session, region, key.arn)
        reason = None if decision.allowed else decision.reason
    if reason is not None:
        raise _fault(
            "KMSKeyNotAccessibleFault",
            f"The specified KMS key {key_id} isn't accessible for the export. [Offsite emulator: {reason}]",
        )
    assert key.arn is not None
    return key.arn


def start_export(
    backend: RDSBackend, params: dict[str, Any], enforced: tuple[Any, Any, Any] | None = None
) -> OffsiteExportTask:
    """StartExportTask as the module docstring describes it; ``enforced`` is the caller
    ``iam_enforce.current_caller()`` gives (None for the bootstrap identity)."""
    for name in ("ExportTaskIdentifier", "SourceArn", "S3BucketName", "IamRoleArn", "KmsKeyId"):
        if not params.get(name):
            raise _fault("InvalidParameterValue", f"The parameter {name} must be provided.")
    identifier = params["ExportTaskIdentifier"]
    if not _IDENTIFIER.match(identifier):
        raise _fault(
            "InvalidParameterValue",
            f"ExportTaskIdentifier {identifier!r} is invalid: 1 to 60 letters, digits, hyphens or "
            "underscores, starting with a letter.",
        )
    if identifier in tasks(backend):
        raise _fault("ExportTaskAlreadyExistsFault", f"The export task with the ID {identifier} already exists.")
    snapshot = _source(backend, params["SourceArn"])
    _check_source_state(snapshot, params["SourceArn"])
    if ":" in (params.get("S3Prefix") or ""):
        raise _fault("InvalidParameterValue", "Exports to S3 don't support S3 prefixes containing a colon (:).")
    export_only = params.get("ExportOnly") or []
    if not isinstance(export_only, list):
        export_only = [export_only]
    _validate_export_only(export_only, engine_family(snapshot.engine))
    key_arn = _key_arn(params, backend.account_id, backend.region_name, enforced)
    role_arn = _role_and_bucket(params, backend.account_id, backend.region_name, key_arn)
    with _lock:
        if identifier in tasks(backend):
            raise _fault("ExportTaskAlreadyExistsFault", f"The export task with the ID {identifier} already exists.")
        running = []
        for task in _account_tasks(backend.account_id):
            task.advance()
            if task.status in ACTIVE:
                running.append(task)
        same = [t.identifier for t in running if t.source_arn == params["SourceArn"]]
        if same:
            raise _fault(
                "ExportTaskAlreadyExistsFault",
                f"An export task of {params['SourceArn']} is already in progress ({same[0]}): you can't "
                "run multiple export tasks for the same snapshot simultaneously.",
            )
        if len(running) >= MAX_IN_PROGRESS:
            raise _fault(
                "ExportTaskAlreadyExistsFault",
                f"There are already {len(running)} export tasks in progress in account "
                f"{backend.account_id}: at most {MAX_IN_PROGRESS} concurrent snapshot export tasks "
                "per account.",
            )
        task = OffsiteExportTask(backend, {**params, "ExportOnly": export_only}, snapshot, role_arn, key_arn)
        tasks(backend)[identifier] = task
    return task


# --- handlers ---------------------------------------------------------------------------------------


START_PARAMS = (
    "ExportTaskIdentifier", "SourceArn", "S3BucketName", "IamRoleArn", "KmsKeyId", "S3Prefix", "ExportOnly",
)
DESCRIBE_PARAMS = ("ExportTaskIdentifier", "SourceArn", "SourceType", "Filters", "Marker", "MaxRecords")


def _request(params: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The named parameters of moto's parsed request (an ``XFormedDict``, whose keys iterate
    in snake_case) as a plain dict with the API's names."""
    out = {name: params.get(name) for name in names if params.get(name) is not None}
    if "Filters" in out:
        out["Filters"] = [
            {"Name": f.get("Name"), "Values": list(f.get("Values") or [])} for f in out["Filters"]
        ]
    return out


def start_export_task(self: RDSResponse) -> ActionResult:
    task = start_export(self.backend, _request(self.params, START_PARAMS), iam_enforce.current_caller())
    return ActionResult(task.description())


def describe(backend: RDSBackend, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeExportTasks (see the module docstring)."""
    max_records = params.get("MaxRecords")
    size = DEFAULT_MAX_RECORDS if max_records in (None, "") else int(max_records)
    if not 20 <= size <= 100:
        raise _fault("InvalidParameterValue", f"Invalid value {size} for MaxRecords. Must be between 20 and 100.")
    source_type = params.get("SourceType")
    if source_type not in (None, "", "SNAPSHOT", "CLUSTER"):
        raise _fault("InvalidParameterValue", f"Invalid SourceType {source_type!r}: SNAPSHOT or CLUSTER.")
    filters: dict[str, list[str]] = {}
    for entry in params.get("Filters") or []:
        name = entry.get("Name")
        if name not in FILTERS:
            raise _fault("InvalidParameterValue", f"Unrecognized filter name: {name}.")
        filters.setdefault(name, []).extend(entry.get("Values") or [])
    identifier = params.get("ExportTaskIdentifier")
    source_arn = params.get("SourceArn")
    selected = []
    for task in list(tasks(backend).values()):
        task.advance()
        checks = [
            not identifier or task.identifier == identifier,
            not source_arn or task.source_arn == source_arn,
            not source_type or task.source_type == source_type,
            "export-task-identifier" not in filters or task.identifier in filters["export-task-identifier"],
            "s3-bucket" not in filters or task.bucket_name in filters["s3-bucket"],
            "source-arn" not in filters or task.source_arn in filters["source-arn"],
            "status" not in filters or task.status.lower() in [v.lower() for v in filters["status"]],
        ]
        if all(checks):
            selected.append(task)
    marker = params.get("Marker")
    if marker:
        names = [t.identifier for t in selected]
        selected = selected[names.index(marker) + 1 :] if marker in names else []
    page = selected[:size]
    result: dict[str, Any] = {"ExportTasks": [t.description() for t in page]}
    if len(selected) > size:
        result["Marker"] = page[-1].identifier
    return result


def describe_export_tasks(self: RDSResponse) -> ActionResult:
    return ActionResult(describe(self.backend, _request(self.params, DESCRIBE_PARAMS)))


def cancel(backend: RDSBackend, identifier: str | None) -> OffsiteExportTask:
    task = tasks(backend).get(identifier or "")
    if task is None:
        raise _fault("ExportTaskNotFoundFault", f"The export task with the ID {identifier} doesn't exist.")
    task.cancel()
    return task


def cancel_export_task(self: RDSResponse) -> ActionResult:
    return ActionResult(cancel(self.backend, self.params.get("ExportTaskIdentifier")).description())


def apply() -> None:
    RDSResponse.start_export_task = start_export_task  # type: ignore[method-assign]
    RDSResponse.describe_export_tasks = describe_export_tasks  # type: ignore[method-assign]
    RDSResponse.cancel_export_task = cancel_export_task  # type: ignore[method-assign]
