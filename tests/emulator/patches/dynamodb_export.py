"""DynamoDB ExportTableToPointInTime with AWS's validation, idempotency, cross-account
bucket ownership, progress and output layout; full exports of the table as it was at
``ExportTime`` and incremental exports of what changed in a period, both from an item
history the patch keeps.

AWS behaviour reproduced
------------------------
(DynamoDB API Reference: API_ExportTableToPointInTime, API_DescribeExport,
API_ListExports, API_ExportDescription, API_ExportSummary,
API_IncrementalExportSpecification; Developer Guide: "Requesting a table export in
DynamoDB" (S3DataExport_Requesting) and "DynamoDB table export output format"
(S3DataExport.Output, full and incremental export output).)

* PITR must be enabled -> ``PointInTimeRecoveryUnavailableException`` (moto had this).
* ``ExportTime`` must lie in the PITR window (EarliestRestorableDateTime .. now) ->
  ``InvalidExportTimeException``; DescribeContinuousBackups reports that window with
  ``LatestRestorableDateTime`` = now (AWS keeps it about 5 minutes behind; moto froze it).
* ``ClientToken``: the same token with the same parameters returns the first export's
  ExportDescription and starts nothing; the same token with other parameters ->
  ``ExportConflictException``. A token is forgotten 8 hours after its export ended.
  (The AWS SDKs always send a token: it is an idempotency token in the model.)
* ``S3BucketOwner``: the bucket may belong to another account (it is found in moto's S3
  by name, in whatever account owns it). If the owner is not the caller and
  ``S3BucketOwner`` is missing, or ``S3BucketOwner`` names another account than the
  owner, nothing is written and the export ends ``FAILED`` with ``FailureCode``
  ``S3AccessDenied`` (AWS fails the export when it cannot write to the bucket; the exact
  failure code string is not documented). A missing bucket -> ``FAILED`` with
  ``S3NoSuchBucket`` (moto's code).
* Cross-account writes need the bucket policy (IAM User Guide "Cross-account policy
  evaluation logic": both the caller's identity policy and the bucket's policy must allow
  it; Developer Guide S3DataExport_Requesting "Set up S3 permissions": the caller needs
  ``s3:PutObject`` on the bucket's objects). When the bucket belongs to another account
  than the caller, its policy is evaluated (``s3_bucket_policy``: explicit Deny wins, an
  Allow must apply, no policy -> denied) for the principal whose credentials signed the
  ExportTableToPointInTime request (the STS AssumeRole session or IAM user behind the
  access key; a role ARN or the account root in the policy matches it), action
  ``s3:PutObject``, resource ``arn:aws:s3:::<bucket>/<key>`` for every key the export
  writes, condition keys ``aws:SecureTransport`` (true), ``s3:x-amz-server-side-encryption``
  (``AES256`` / ``aws:kms`` from ``S3SseAlgorithm``) and
  ``s3:x-amz-server-side-encryption-aws-kms-key-id`` (``S3SseKmsKeyId``). Denied, or a
  policy clause the emulator does not evaluate (named in the message) -> nothing is
  written (not even ``_started``) and the export ends ``FAILED`` with ``S3AccessDenied``
  and a message naming the principal, the action and the object. The policy is evaluated
  again when the export completes (each write is authorized when it is made): a policy
  changed meanwhile to deny fails the export then, after ``_started``.
* The caller's permissions: an enforced caller (a session of a role its account's IAM
  holds, ``iam_enforce``) writes the export as AWS documents it (Developer Guide,
  S3DataExport_Requesting, "Set up S3 permissions": "Your AWS Identity and Access
  Management (IAM) policy needs to allow you to perform the S3 actions
  (s3:AbortMultipartUpload, s3:PutObject, and s3:PutObjectAcl)"): each of the three on
  every object is evaluated by ``iam_enforce.authorize_on_behalf`` under the caller's
  identity policies, its session policy and the bucket policy (IAM User Guide, "Policy
  evaluation logic": one of them within the bucket's account, "Cross-account policy
  evaluation logic": both across accounts), as a forward access request through DynamoDB
  (``aws:ViaAWSService`` true, ``aws:CalledVia`` ``dynamodb.amazonaws.com``,
  ``aws:SecureTransport`` true, the SSE keys above). The objects' KMS key (``S3SseKmsKeyId``
  for ``KMS``; the bucket's default ``aws:kms`` key when no SSE is requested) needs the
  caller's ``kms:GenerateDataKey`` and ``kms:Decrypt`` (S3 User Guide,
  "UsingKMSEncryption"; "mpuoverview": "to perform a multipart upload with encryption
  using an AWS KMS key, the requester must have permission to the kms:Decrypt and
  kms:GenerateDataKey actions on the key") under the key policy and the caller's IAM,
  ``kms:ViaService`` ``s3.<region>.amazonaws.com``, encryption context ``aws:s3:arn`` (the
  object, or the bucket with an S3 Bucket Key): ``iam_enforce.authorize_key_use``. A key
  moto's KMS does not hold (``aws/s3``) is not checked. Refused -> S3 answers AccessDenied,
  so the export ends ``FAILED`` with ``S3AccessDenied`` (no KMS-specific failure code is
  documented), the message naming the principal, the action and the object or key, nothing
  written; evaluated again when the export completes.
* Full export data: "The table export will be a snapshot of the table's state at this
  point in time" (API_ExportTableToPointInTime, ``ExportTime``; default: the time of the
  request). Each item is taken as it was at ``ExportTime`` (inclusive) from the item
  history below: an item written later is absent, an item deleted later is present, an
  item updated later has its earlier value.
* Full export output, in the bucket owner's S3, under ``<S3Prefix>/AWSDynamoDB/<ExportId>/``:
  ``_started`` (empty, written when the export starts), then on completion
  ``data/<random>.json.gz`` (gzip, one ``{"Item": {...}}`` DynamoDB-JSON object per line),
  ``manifest-files.json`` (JSON lines ``itemCount``, ``md5Checksum`` (base64),
  ``etag`` (hex), ``dataFileS3Key``), ``manifest-summary.json`` (version "2020-06-30",
  exportArn, startTime, endTime, tableArn, tableId, exportTime, s3Bucket, s3Prefix,
  s3SseAlgorithm, s3SseKmsKeyId, manifestFilesS3Key, billedSizeBytes, itemCount,
  outputFormat, exportType), and for each manifest its MD5 (hex) both as ``.md5`` (older
  docs) and ``.checksum`` (current docs). Without ``S3Prefix`` the keys start at
  ``AWSDynamoDB/``. Every object gets the requested SSE (``AES256`` -> ``AES256``,
  ``KMS`` -> ``aws:kms`` with ``S3SseKmsKeyId``); without ``S3SseAlgorithm`` the bucket's
  default encryption applies (moto S3 behaviour).
* INCREMENTAL_EXPORT: ``IncrementalExportSpecification`` with ``ExportFromTime`` is
  required; ExportFromTime and ExportToTime must be in the PITR window and the period
  between 15 minutes and 24 hours -> ``ValidationException``. ``ExportToTime`` defaults
  to "the latest time with data available" (here: the time of the request, the same
  bound as ``LatestRestorableDateTime``). ``ExportViewType`` is ``NEW_IMAGE`` or
  ``NEW_AND_OLD_IMAGES`` (the enum's valid values; the API text's prose says
  "NEW_IMAGES", which is not a valid value), default ``NEW_AND_OLD_IMAGES``; another
  value -> ``ValidationException``.
* Incremental export data: every item written in [ExportFromTime, ExportToTime)
  ("inclusive start", "exclusive end"), once, compacted to one line (JSON lines, gzip):
  ``{"Metadata": {"WriteTimestampMicros": {"N": "<micros of its last write in the
  period>"}}, "Keys": {<key attributes>}, "OldImage": {...}, "NewImage": {...}}``.
  ``NewImage`` is the item just before ExportToTime, absent if it was deleted;
  ``OldImage`` (``NEW_AND_OLD_IMAGES`` only) is the item just before ExportFromTime,
  absent if it did not exist then. So with NEW_AND_OLD_IMAGES an insert has Keys +
  NewImage, an update Keys + OldImage + NewImage, a delete Keys + OldImage; with
  NEW_IMAGE a delete has Keys only. An item created and deleted within the period
  produces no line. Incremental data files go to the shared folder
  ``<S3Prefix>/AWSDynamoDB/data/`` (``dataFileS3Key`` in the export's manifest-files.json
  says which are this export's); the manifests stay under ``AWSDynamoDB/<ExportId>/``.
  Its ``manifest-summary.json`` has version "2023-08-01", exportFromTime and exportToTime
  instead of exportTime, ``outputView`` (the view type) and ``exportType``
  "INCREMENTAL_EXPORT".
* ``ExportStatus`` is ``IN_PROGRESS`` for ``--copy-delay`` seconds (the value in force
  when the export started), then ``COMPLETED`` with ``EndTime``, ``ItemCount``,
  ``BilledSizeBytes`` and ``ExportManifest``. The data files and manifests are written at
  that moment, lazily, by the first DescribeExport/ListExports that sees the delay over;
  their content is fixed when the export is requested (ExportTime and ExportToTime are
  never later than the request). ExportArn has AWS's form
  ``<table ARN>/export/<14 digits>-<8 hex>``.
* ``DescribeExport`` of an unknown ARN -> ``ExportNotFoundException`` (moto: HTTP 500).
  It returns ``ExportType`` and, for incremental exports, ``IncrementalExportSpecification``
  (ExportFromTime, ExportToTime, ExportViewType, defaults filled in).
* ``ListExports`` filters by ``TableArn`` when given and returns ``ExportSummaries``
  (ExportArn, ExportStatus, ExportType) "in reverse alphanumeric order of ExportArn"
  (API_ListExports): per table, export ids start with the start time in milliseconds,
  so newest first. ``MaxResults`` (1-25, default 25, else ``ValidationException``) and
  ``NextToken`` page them; the token is the last ARN of the page, so exports started
  between two pages do not shift the next one.

Item history
------------
Every write to a moto DynamoDB table is recorded on the table object (so moto's reset,
DeleteTable and a cancelled transaction's rollback take it along) as, per item key, the
list of ``(time.time(), image or None)`` after each write:

* ``Table.put_item``: PutItem, BatchWriteItem puts (moto 5.2.5 routes them through
  ``DynamoDBBackend.put_item``), TransactWriteItems ``Put``, PartiQL INSERT/UPDATE
  (``execute_statement``, ``execute_transaction``, ``batch_execute_statement``) and
  ImportTable;
* ``Table.delete_item`` when it removed an item: DeleteItem, BatchWriteItem deletes,
  TransactWriteItems ``Delete``, PartiQL DELETE;
* ``DynamoDBBackend.update_item``, which changes the stored item in place: UpdateItem and
  TransactWriteItems ``Update``; its inner ``put_item`` of a new item is folded into one
  write. A failed update that left a new item behind is recorded too.

The first recorded write of an item that already existed records that earlier image as
valid since forever. A failed TransactWriteItems restores a deep copy of the table, and
with it the history before the transaction.

Not recorded (such items count as unchanged, with their current image, since forever):
items of tables made by RestoreTableFromBackup / RestoreTableToPointInTime (moto copies
the source's current items), and any write moto makes outside the methods above. Deleting
an item that does not exist records nothing. A put that leaves the item unchanged counts
as a write (whether AWS lists such an item in an incremental export is not documented).

Control call: ``POST /_offsite/dynamodb/backdate`` (``backdate_table``) moves one table
back in time by N seconds: its recorded writes, its PITR ``EarliestRestorableDateTime``
and its ``CreationDateTime``, so a test can make items "2 hours ago" and export a past
period without waiting. Items without history, stream records and exports already made
are not moved.

Not enforced / not emulated
---------------------------
* ``ExportFormat=ION`` and ``FilterSpecification`` are rejected with a
  ``ValidationException`` saying the emulator does not support them (it writes no ION).
* One data file per export (AWS writes at least one per partition). The history lives as
  long as the table (no 35-day PITR retention; nothing is forgotten).
* ``ExportTime`` is not part of an incremental export's description (its manifest has
  none either; whether DescribeExport reports one is not documented).
* ``ListExports`` also lists ``IN_PROGRESS`` and ``FAILED`` exports (moto and the AWS
  console show them; the API text says it lists "completed exports within the past 90
  days"); there is no 90-day cut-off.
* For the bootstrap identity (a caller that is not an enforced role) only a bucket of
  another account is checked, by its bucket policy, ``s3:PutObject`` only. An enforced
  caller (``iam_enforce``) is checked as AWS documents it: see "The caller's permissions"
  above. When DynamoDB uses ``s3:AbortMultipartUpload`` and ``s3:PutObjectAcl`` is not
  documented (the documentation only requires them): they are required of an enforced
  caller on every object. The SSE condition values assume that the export's PutObject
  requests carry the requested encryption as headers.
* KMS key policies for the bootstrap identity, key states (a disabled key does not fail
  the export), S3 Block Public Access / Object Ownership / ACLs, requester-pays
  buckets, the 300-exports quota and ``BilledSizeBytes`` accuracy (it is the uncompressed
  size of the exported JSON).
"""

from __future__ import annotations

import base64
import bisect
import copy
import gzip
import hashlib
import json
import math
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, MockValidationException
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import dynamo_json_dump
from moto.dynamodb.responses import DynamoHandler
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from . import iam_enforce, s3_bucket_policy
from .iam_policy import Context
from .s3_bucket_policy import Principal, UnsupportedPolicy
from .state import CONFIG

TOKEN_TTL_SECONDS = 8 * 3600
MIN_INCREMENTAL_SECONDS = 15 * 60
MAX_INCREMENTAL_SECONDS = 24 * 3600
VIEW_TYPES = ("NEW_AND_OLD_IMAGES", "NEW_IMAGE")
MAX_LIST_RESULTS = 25
# What S3 needs of the writer on an SSE-KMS key (see ``OffsiteExport._enforced_denial``).
S3_KMS_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")

# Request parameters that must match for a repeated ClientToken to be the same export.
_IDEMPOTENT_PARAMS = (
    "TableArn",
    "ExportTime",
    "S3Bucket",
    "S3BucketOwner",
    "S3Prefix",
    "S3SseAlgorithm",
    "S3SseKmsKeyId",
    "ExportFormat",
    "ExportType",
    "IncrementalExportSpecification",
    "FilterSpecification",
)

_lock = threading.RLock()

# An item's key: (hash value, range value or None).
ItemKey = tuple[DynamoType, DynamoType | None]
# One recorded write: (epoch seconds, the item after it, or None once deleted).
Write = tuple[float, Item | None]


def _error(name: str, message: str) -> JsonRESTError:
    return JsonRESTError(ERROR_TYPE_PREFIX + name, message)


def _epoch(value: Any) -> float:
    """An epoch-seconds float from what moto's parser gives for a timestamp."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    return float(value)


def _utc(epoch: float) -> datetime:
    """Naive UTC datetime, as moto's serializers expect."""
    return datetime.fromtimestamp(epoch, timezone.utc).replace(tzinfo=None)


def _iso(epoch: float) -> str:
    return _utc(epoch).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch * 1000) % 1000:03d}Z"


def _canonical(value: Any) -> Any:
    """Request values in a comparable form (timestamps as epoch seconds)."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, datetime):
        return _epoch(value)
    return value


def _bucket_owner(bucket: str) -> str | None:
    entry = s3_backends.bucket_accounts.get(bucket)
    return entry[1] if entry else None


def _table_id(table: Table) -> str:
    """AWS tables have a TableId (UUID); moto's do not, so give each one lazily."""
    return table.__dict__.setdefault("_offsite_table_id", str(uuid.uuid4()))


# --- item history (on the table, so that moto's reset clears it) --------------------------

# Set while DynamoDBBackend.update_item runs: its inner put of a new item is not a write of
# its own.
_update_depth = threading.local()


def _history(table: Table) -> dict[ItemKey, list[Write]]:
    return table.__dict__.setdefault("_offsite_history", {})


def _key_of(table: Table, attrs: dict[str, Any]) -> ItemKey | None:
    """The key of an item (or of a request's ``Key``), None if it does not name one."""
    try:
        hash_value = DynamoType(attrs[table.hash_key_attr])
        range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return hash_value, range_value


def _stored(table: Table, key: ItemKey) -> Item | None:
    try:
        return table.get_item(*key)
    except Exception:  # a malformed key: the write itself will fail
        return None


def _record(table: Table, key: ItemKey, before: Item | None, after: Item | None) -> None:
    """Record a write of ``key`` that left ``after`` (None: deleted). ``before`` is the item
    before it, kept as "since forever" when this is the item's first recorded write."""
    if getattr(_update_depth, "value", 0):
        return
    with _lock:
        history = _history(table)
        writes = history.get(key)
        if writes is None:
            writes = history[key] = []
            if before is not None:
                writes.append((-math.inf, copy.deepcopy(before)))
        image = copy.deepcopy(after) if after is not None else None
        bisect.insort(writes, (time.time(), image), key=lambda write: write[0])


def _image_at(writes: list[Write], moment: float, inclusive: bool) -> Item | None:
    """The item as it was at ``moment`` (``inclusive``) or just before it; None if absent."""
    image: Item | None = None
    for when, after in writes:
        if when < moment or (inclusive and when == moment):
            image = after
        else:
            break
    return image


def _recording_put(original: Callable[..., Item]) -> Callable[..., Item]:
    def put_item(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
        key = _key_of(self, item_attrs)
        before = _stored(self, key) if key is not None else None
        item = original(self, item_attrs, *args, **kwargs)
        _record(self, (item.hash_key, item.range_key), before, item)
        return item

    return put_item


def _recording_delete(original: Callable[..., Item | None]) -> Callable[..., Item | None]:
    def delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
        item = original(self, hash_key, range_key)
        if item is not None:
            _record(self, (item.hash_key, item.range_key), item, None)
        return item

    return delete_item


def _recording_update(original: Callable[..., Item]) -> Callable[..., Item]:
    """UpdateItem changes the stored item in place: record the item as it is afterwards."""

    def update_item(
        self: DynamoDBBackend, table_name: str, key: Any, *args: Any, **kwargs: Any
    ) -> Item:
        table = self.get_table(table_name)
        item_key = _key_of(table, key) if isinstance(key, dict) else None
        if item_key is None:
            return original(self, table_name, key, *args, **kwargs)
        current = _stored(table, item_key)
        known = item_key in _history(table)
        before = copy.deepcopy(current) if current is not None and not known else None
        _update_depth.value = getattr(_update_depth, "value", 0) + 1
        succeeded = False
        try:
            item = original(self, table_name, key, *args, **kwargs)
            succeeded = True
            return item
        finally:
            _update_depth.value -= 1
            after = _stored(table, item_key)
            # A failed update may still have left a new (key-only) item behind.
            if succeeded or (current is None and after is not None):
                _record(table, item_key, before, after)

    return update_item


def _table_at(table: Table, moment: float) -> list[Item]:
    """The table's items as they were at ``moment``."""
    history = _history(table)
    items = [i for i in table.all_items() if (i.hash_key, i.range_key) not in history]
    for writes in history.values():
        image = _image_at(writes, moment, inclusive=True)
        if image is not None:
            items.append(image)
    return items


def _key_json(table: Table, key: ItemKey) -> dict[str, Any]:
    keys = {table.hash_key_attr: key[0].to_json()}
    if table.range_key_attr and key[1] is not None:
        keys[table.range_key_attr] = key[1].to_json()
    return keys


def _changes(table: Table, start: float, end: float, view_type: str) -> list[str]:
    """The incremental export lines of the items written in [start, end)."""
    lines = []
    for key, writes in _history(table).items():
        written = [when for when, _ in writes if start <= when < end]
        if not written:
            continue
        old = _image_at(writes, start, inclusive=False)
        new = _image_at(writes, end, inclusive=False)
        if old is None and new is None:  # created and deleted within the period
            continue
        line: dict[str, Any] = {
            "Metadata": {"WriteTimestampMicros": {"N": str(int(max(written) * 1_000_000))}},
            "Keys": _key_json(table, key),
        }
        if view_type == "NEW_AND_OLD_IMAGES" and old is not None:
            line["OldImage"] = old.to_json()["Attributes"]
        if new is not None:
            line["NewImage"] = new.to_json()["Attributes"]
        lines.append(dynamo_json_dump(line))
    return lines


def backdate_table(account: str, region: str, table_name: str, seconds: float) -> dict[str, Any]:
    """Move a table ``seconds`` back in time: its recorded writes, its PITR
    EarliestRestorableDateTime and its CreationDateTime (control API
    ``POST /_offsite/dynamodb/backdate``). Raises KeyError if there is no such table."""
    table = dynamodb_backends[account][region].tables[table_name]
    with _lock:
        history = _history(table)
        moved = 0
        for key, writes in history.items():
            history[key] = [(when - seconds, image) for when, image in writes]
            moved += sum(1 for when, _ in writes if when != -math.inf)
        table.created_at = table.created_at - timedelta(seconds=seconds)
        description = table.continuous_backups["PointInTimeRecoveryDescription"]
        earliest = None
        if description.get("EarliestRestorableDateTime") is not None:
            earliest = _epoch(description["EarliestRestorableDateTime"]) - seconds
            description["EarliestRestorableDateTime"] = earliest
    return {
        "ok": True,
        "account": account,
        "region": region,
        "table": table_name,
        "seconds": seconds,
        "writes_moved": moved,
        "earliest_restorable": _iso(earliest) if earliest is not None else None,
    }


class OffsiteExport:
    """One export task, advanced lazily when it is read."""

    def __init__(
        self, backend: DynamoDBBackend, table: Table, params: dict[str, Any], principal: Principal
    ):
        now = time.time()
        self.export_id = f"{int(now * 1000):014d}-{uuid.uuid4().hex[:8]}"
        self.arn = f"{table.table_arn}/export/{self.export_id}"
        self.table = table
        self.caller = backend.account_id
        self.principal = principal
        # An enforced caller (a role its account's IAM holds): the writes are authorized
        # with its identity policies too (``_enforced_denial``), now and at completion.
        self.enforced = iam_enforce.current_caller()
        self.params = params
        self.fingerprint = {k: _canonical(params.get(k)) for k in _IDEMPOTENT_PARAMS}
        self.start = now
        self.export_type = params.get("ExportType") or "FULL_EXPORT"
        self.incremental = self.export_type == "INCREMENTAL_EXPORT"
        self.delay = float(CONFIG.copy_delay_seconds)
        self.end: float | None = None
        self.status = "IN_PROGRESS"
        self.failure: tuple[str, str] | None = None
        self.item_count = 0
        self.billed_bytes = 0
        prefix = (params.get("S3Prefix") or "").rstrip("/")
        base = f"{prefix}/AWSDynamoDB".lstrip("/")
        self.root = f"{base}/{self.export_id}"
        # Incremental exports share one data folder; full exports have their own.
        self.data_dir = f"{base}/data" if self.incremental else f"{self.root}/data"
        self.data_key = f"{self.data_dir}/{uuid.uuid4().hex[:26]}.json.gz"
        # What the export will contain, fixed now: ExportTime / ExportToTime are not later.
        self.export_time: float | None = None
        if self.incremental:
            spec = params["IncrementalExportSpecification"]
            self.export_from = _epoch(spec["ExportFromTime"])
            to_time = spec.get("ExportToTime")
            self.export_to = _epoch(to_time) if to_time is not None else now
            self.view_type = spec.get("ExportViewType") or "NEW_AND_OLD_IMAGES"
            self.lines = _changes(table, self.export_from, self.export_to, self.view_type)
        else:
            export_time = params.get("ExportTime")
            self.export_time = _epoch(export_time) if export_time is not None else now
            self.lines = [
                dynamo_json_dump(item.to_json(root_attr_name="Item"))
                for item in _table_at(table, self.export_time)
            ]
        self._begin()

    # -- S3 ---------------------------------------------------------------------------

    def _s3(self) -> Any:
        owner = _bucket_owner(self.params["S3Bucket"])
        return s3_backends[owner]["aws"] if owner else None

    def _put(self, key: str, body: bytes) -> None:
        algorithm = self.params.get("S3SseAlgorithm")
        self._s3().put_object(
            bucket_name=self.params["S3Bucket"],
            key_name=key,
            value=body,
            encryption={"AES256": "AES256", "KMS": "aws:kms"}.get(algorithm or ""),
            kms_key_id=self.params.get("S3SseKmsKeyId") if algorithm == "KMS" else None,
        )

    def _fail(self, code: str, message: str) -> None:
        self.status, self.failure, self.end = "FAILED", (code, message), time.time()

    def _keys(self) -> list[str]:
        """Every object the export writes."""
        keys = [f"{self.root}/_started", self.data_key]
        for name in ("manifest-files", "manifest-summary"):
            keys += [f"{self.root}/{name}.{ext}" for ext in ("json", "md5", "checksum")]
        return keys

    def _write_context(self) -> dict[str, str]:
        """Condition keys of the export's PutObject requests (see ``s3_bucket_policy``)."""
        context = {"aws:securetransport": "true"}
        algorithm = self.params.get("S3SseAlgorithm")
        if algorithm:
            header = "aws:kms" if algorithm == "KMS" else algorithm
            context["s3:x-amz-server-side-encryption"] = header
        if algorithm == "KMS" and self.params.get("S3SseKmsKeyId"):
            context["s3:x-amz-server-side-encryption-aws-kms-key-id"] = self.params["S3SseKmsKeyId"]
        return context

    def _access_denied(self) -> str | None:
        """Why the caller may not write the export's objects into the bucket (None if it
        may): the S3BucketOwner check, then, for a bucket of another account, its bucket
        policy for ``s3:PutObject`` on every key the export writes."""
        bucket = self.params["S3Bucket"]
        owner = _bucket_owner(bucket)
        expected = self.params.get("S3BucketOwner")
        denied = f"Failed to write to S3 bucket {bucket}: Access Denied"
        if (expected and expected != owner) or (not expected and owner != self.caller):
            return f"{denied} (bucket owner {owner}, S3BucketOwner {expected or 'not given'})"
        if self.enforced is not None:
            return self._enforced_denial(bucket, denied)
        if owner == self.caller:
            return None  # same account, bootstrap identity: unrestricted
        policy = self._s3().get_bucket(bucket).policy
        context = self._write_context()
        for key in self._keys():
            resource = f"arn:aws:s3:::{bucket}/{key}"
            try:
                decision = s3_bucket_policy.evaluate(
                    policy, self.principal, "s3:PutObject", resource, context
                )
            except UnsupportedPolicy as error:
                return (
                    f"{denied}: the Offsite emulator cannot evaluate the bucket policy of "
                    f"{bucket} for {self.principal.describe()}, s3:PutObject on {resource}: {error}"
                )
            if not decision.allowed:
                return (
                    f"{denied}: {self.principal.describe()} is not allowed to perform "
                    f"s3:PutObject on {resource} ({decision.reason})"
                )
        return None

    def _sse_key(self, bucket: Any) -> tuple[str, bool] | None:
        """The KMS key S3 encrypts the export's objects with (its ARN, held by moto's KMS)
        and whether the bucket uses an S3 Bucket Key: ``S3SseKmsKeyId`` when the export
        asks for ``KMS``, the bucket's default ``aws:kms`` key when it asks for no SSE (S3
        applies the default encryption); None for AES256, or a key moto's KMS does not hold
        (``aws/s3``, whose key policy admits the account's principals through S3)."""
        algorithm = self.params.get("S3SseAlgorithm")
        rule = (bucket.encryption or {}).get("Rule", {}) if bucket.encryption else {}
        default = rule.get("ApplyServerSideEncryptionByDefault", {}) if isinstance(rule, dict) else {}
        bucket_key = str(rule.get("BucketKeyEnabled", "false")).lower() == "true" if isinstance(rule, dict) else False
        if algorithm == "KMS":
            key_id = self.params.get("S3SseKmsKeyId") or ""
        elif not algorithm and default.get("SSEAlgorithm") == "aws:kms":
            key_id = default.get("KMSMasterKeyID") or ""
        else:
            return None
        if not key_id:
            return None
        arn = iam_enforce._key_arn_in(key_id, bucket.account_id, bucket.region_name)
        return (arn, bucket_key) if arn else None

    def _enforced_denial(self, bucket_name: str, denied: str) -> str | None:
        """For an enforced caller: DynamoDB writes the export with the caller's permissions
        (DynamoDB Developer Guide, S3DataExport_Requesting, "Set up S3 permissions": "Your
        AWS Identity and Access Management (IAM) policy needs to allow you to perform the S3
        actions (s3:AbortMultipartUpload, s3:PutObject, and s3:PutObjectAcl)"), so each of
        those on every object the export writes is evaluated as a forward access request
        through DynamoDB (``aws:ViaAWSService`` true, ``aws:CalledVia``
        ``dynamodb.amazonaws.com``: DynamoDB is one of the services that set it, IAM User
        Guide, "AWS global condition context keys") under the caller's identity policies and
        the bucket policy (IAM User Guide, "Policy evaluation logic": within the account
        either, "Cross-account policy evaluation logic": across accounts both). An SSE-KMS
        object also needs the caller's ``kms:GenerateDataKey`` and ``kms:Decrypt`` on the key
        through S3 (S3 User Guide, "UsingKMSEncryption": GenerateDataKey to upload an
        SSE-KMS object; "mpuoverview": "the requester must have permission to the
        kms:Decrypt and kms:GenerateDataKey actions on the key" for a multipart upload),
        ``kms:ViaService`` ``s3.<region>.amazonaws.com``, encryption context ``aws:s3:arn``
        (the object, or the bucket with an S3 Bucket Key), under the key policy and the
        caller's IAM. A refusal is what S3 answers DynamoDB (AccessDenied), so the export
        fails with ``S3AccessDenied``."""
        assert self.enforced is not None
        principal, role, session = self.enforced
        bucket = self._s3().get_bucket(bucket_name)
        region = bucket.region_name
        sse: Context = {k: [v] for k, v in self._write_context().items() if k.startswith("s3:")}
        context = iam_enforce.forward_context(
            principal, region, called_via=("dynamodb.amazonaws.com",), extra=sse
        )
        actions = ("s3:PutObject", "s3:PutObjectAcl", "s3:AbortMultipartUpload")
        objects = [f"arn:aws:s3:::{bucket_name}/{key}" for key in self._keys()]
        decision = iam_enforce.authorize_on_behalf(
            principal, role, session, [(a, o) for o in objects for a in actions], context
        )
        if not decision.allowed:
            return f"{denied}: {decision.reason}"
        key = self._sse_key(bucket)
        if key is not None:
            key_arn, bucket_key = key
            for obj in ([f"arn:aws:s3:::{bucket_name}"] if bucket_key else objects):
                decision = iam_enforce.authorize_key_use(
                    principal, role, session, region, key_arn,
                    service="s3", actions=S3_KMS_ACTIONS,
                    encryption_context={"aws:s3:arn": obj},
                    called_via=("dynamodb.amazonaws.com",),
                )
                if not decision.allowed:
                    return f"{denied}: {decision.reason}"
        return None

    def _begin(self) -> None:
        if _bucket_owner(self.params["S3Bucket"]) is None:
            self._fail("S3NoSuchBucket", "The specified bucket does not exist")
            return
        denied = self._access_denied()
        if denied:
            self._fail("S3AccessDenied", denied)
        else:
            self._put(f"{self.root}/_started", b"")

    def _summary_manifest(self) -> dict[str, Any]:
        """manifest-summary.json, as S3DataExport.Output shows it for each export type."""
        assert self.end is not None
        summary: dict[str, Any] = {
            "version": "2023-08-01" if self.incremental else "2020-06-30",
            "exportArn": self.arn,
            "startTime": _iso(self.start),
            "endTime": _iso(self.end),
            "tableArn": self.table.table_arn,
            "tableId": _table_id(self.table),
        }
        if self.incremental:
            summary["exportFromTime"] = _iso(self.export_from)
            summary["exportToTime"] = _iso(self.export_to)
        else:
            assert self.export_time is not None
            summary["exportTime"] = _iso(self.export_time)
        summary.update(
            {
                "s3Bucket": self.params["S3Bucket"],
                "s3Prefix": self.params.get("S3Prefix"),
                "s3SseAlgorithm": self.params.get("S3SseAlgorithm"),
                "s3SseKmsKeyId": self.params.get("S3SseKmsKeyId"),
                "manifestFilesS3Key": f"{self.root}/manifest-files.json",
                "billedSizeBytes": self.billed_bytes,
                "itemCount": self.item_count,
                "outputFormat": self.params.get("ExportFormat") or "DYNAMODB_JSON",
            }
        )
        if self.incremental:
            summary["outputView"] = self.view_type
        summary["exportType"] = self.export_type
        return summary

    def _complete(self) -> None:
        # Every write is authorized when it is made: a bucket policy changed since the
        # export started applies (nothing more is written if it now denies).
        if _bucket_owner(self.params["S3Bucket"]) is not None:
            denied = self._access_denied()
            if denied:
                self._fail("S3AccessDenied", denied)
                self.lines = []
                return
        content = "".join(line + "\n" for line in self.lines).encode("utf-8")
        data = gzip.compress(content)
        data_key = self.data_key
        self._put(data_key, data)
        self.item_count = len(self.lines)
        self.billed_bytes = len(content)
        self.end = time.time()
        manifest_files = json.dumps(
            {
                "itemCount": self.item_count,
                "md5Checksum": base64.b64encode(hashlib.md5(data).digest()).decode(),
                "etag": hashlib.md5(data).hexdigest(),
                "dataFileS3Key": data_key,
            }
        ).encode() + b"\n"
        summary = json.dumps(self._summary_manifest()).encode()
        for name, body in (("manifest-files", manifest_files), ("manifest-summary", summary)):
            self._put(f"{self.root}/{name}.json", body)
            digest = hashlib.md5(body).hexdigest().encode()
            self._put(f"{self.root}/{name}.md5", digest)
            self._put(f"{self.root}/{name}.checksum", digest)
        self.status = "COMPLETED"
        self.lines = []

    def advance(self) -> None:
        """Complete the export if its delay is over."""
        with _lock:
            if self.status != "IN_PROGRESS" or time.time() - self.start < self.delay:
                return
            try:
                self._complete()
            except Exception as error:  # e.g. the bucket was deleted meanwhile
                self._fail("S3NoSuchBucket" if "NoSuchBucket" in repr(error) else "UNKNOWN",
                           str(error))

    # -- API shapes -------------------------------------------------------------------

    def description(self) -> dict[str, Any]:
        self.advance()
        params = self.params
        result: dict[str, Any] = {
            "ExportArn": self.arn,
            "ExportStatus": self.status,
            "StartTime": _utc(self.start),
            "TableArn": self.table.table_arn,
            "TableId": _table_id(self.table),
            "ExportTime": _utc(self.export_time) if self.export_time is not None else None,
            "ClientToken": params.get("ClientToken"),
            "S3Bucket": params["S3Bucket"],
            "S3BucketOwner": params.get("S3BucketOwner"),
            "S3Prefix": params.get("S3Prefix"),
            "S3SseAlgorithm": params.get("S3SseAlgorithm"),
            "S3SseKmsKeyId": params.get("S3SseKmsKeyId"),
            "ExportFormat": params.get("ExportFormat") or "DYNAMODB_JSON",
            "ExportType": self.export_type,
        }
        if self.incremental:
            result["IncrementalExportSpecification"] = {
                "ExportFromTime": _utc(self.export_from),
                "ExportToTime": _utc(self.export_to),
                "ExportViewType": self.view_type,
            }
        if self.end is not None:
            result["EndTime"] = _utc(self.end)
        if self.status == "COMPLETED":
            result["ExportManifest"] = f"{self.root}/manifest-summary.json"
            result["ItemCount"] = self.item_count
            result["BilledSizeBytes"] = self.billed_bytes
        if self.failure:
            result["FailureCode"], result["FailureMessage"] = self.failure
        return {k: v for k, v in result.items() if v is not None}

    def summary(self) -> dict[str, Any]:
        self.advance()
        return {"ExportArn": self.arn, "ExportStatus": self.status, "ExportType": self.export_type}


# --- validation -------------------------------------------------------------------------


def _pitr_window(table: Table) -> tuple[float, float]:
    description = table.continuous_backups["PointInTimeRecoveryDescription"]
    if description.get("PointInTimeRecoveryStatus") != "ENABLED":
        raise _error(
            "PointInTimeRecoveryUnavailableException",
            f"Point in time recovery is not enabled for table '{table.name}'",
        )
    return _epoch(description["EarliestRestorableDateTime"]), time.time()


def _validate(table: Table, params: dict[str, Any]) -> None:
    earliest, now = _pitr_window(table)
    if params.get("ExportTime") is not None:
        export_time = _epoch(params["ExportTime"])
        if not earliest <= export_time <= now:
            raise _error(
                "InvalidExportTimeException",
                f"Export time {_iso(export_time)} is outside of the point in time recovery "
                f"window {_iso(earliest)} - {_iso(now)} of table '{table.name}'",
            )
    export_type = params.get("ExportType") or "FULL_EXPORT"
    if export_type not in ("FULL_EXPORT", "INCREMENTAL_EXPORT"):
        raise MockValidationException(f"Invalid ExportType: {export_type}")
    if export_type == "INCREMENTAL_EXPORT":
        spec = params.get("IncrementalExportSpecification") or {}
        if spec.get("ExportFromTime") is None:
            raise MockValidationException(
                "IncrementalExportSpecification with ExportFromTime is required for an "
                "INCREMENTAL_EXPORT"
            )
        start = _epoch(spec["ExportFromTime"])
        end = _epoch(spec["ExportToTime"]) if spec.get("ExportToTime") is not None else now
        if start < earliest or end > now:
            raise MockValidationException(
                "The incremental export period must be within the point in time recovery window"
            )
        if not MIN_INCREMENTAL_SECONDS <= end - start <= MAX_INCREMENTAL_SECONDS:
            raise MockValidationException(
                "The incremental export period (ExportToTime - ExportFromTime) must be "
                "at least 15 minutes and at most 24 hours"
            )
        view_type = spec.get("ExportViewType")
        if view_type is not None and view_type not in VIEW_TYPES:
            raise MockValidationException(
                f"1 validation error detected: Value '{view_type}' at "
                "'incrementalExportSpecification.exportViewType' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(VIEW_TYPES)}]"
            )
    export_format = params.get("ExportFormat") or "DYNAMODB_JSON"
    if export_format != "DYNAMODB_JSON":
        raise MockValidationException(
            f"ExportFormat {export_format} is not supported by the Offsite emulator; "
            "use DYNAMODB_JSON"
        )
    if params.get("FilterSpecification"):
        raise MockValidationException(
            "FilterSpecification is not supported by the Offsite emulator"
        )
    algorithm = params.get("S3SseAlgorithm")
    if algorithm is not None and algorithm not in ("AES256", "KMS"):
        raise MockValidationException(f"Invalid S3SseAlgorithm: {algorithm}")


# --- backend state (on the backend, so that moto's reset clears it) ----------------------


def _exports(backend: DynamoDBBackend) -> dict[str, OffsiteExport]:
    return backend.__dict__.setdefault("_offsite_exports", {})


def _tokens(backend: DynamoDBBackend) -> dict[str, OffsiteExport]:
    return backend.__dict__.setdefault("_offsite_export_tokens", {})


def _find_table(backend: DynamoDBBackend, table_arn: str) -> Table:
    for table in backend.tables.values():
        if table.table_arn == table_arn:
            return table
    raise _error("TableNotFoundException", f"Table not found: {table_arn}")


# --- handlers ---------------------------------------------------------------------------


def export_table_to_point_in_time(self: DynamoHandler) -> ActionResult:
    backend = self.dynamodb_backend
    params = dict(self.body)
    table = _find_table(backend, params["TableArn"])
    token = params.get("ClientToken")
    with _lock:
        tokens = _tokens(backend)
        previous = tokens.get(token) if token else None
        if previous is not None:
            previous.advance()
            expired = previous.end is not None and time.time() - previous.end > TOKEN_TTL_SECONDS
            if not expired:
                fingerprint = {k: _canonical(params.get(k)) for k in _IDEMPOTENT_PARAMS}
                if fingerprint != previous.fingerprint:
                    raise _error(
                        "ExportConflictException",
                        f"ClientToken {token} was already used with different parameters "
                        f"(export {previous.arn})",
                    )
                return ActionResult({"ExportDescription": previous.description()})
        _validate(table, params)
        principal = s3_bucket_policy.principal_of(
            self.get_access_key(), backend.account_id, get_partition(self.region)
        )
        export = OffsiteExport(backend, table, params, principal)
        _exports(backend)[export.arn] = export
        if token:
            tokens[token] = export
    return ActionResult({"ExportDescription": export.description()})


def describe_export(self: DynamoHandler) -> ActionResult:
    arn = self.body["ExportArn"]
    export = _exports(self.dynamodb_backend).get(arn)
    if export is None:
        raise _error("ExportNotFoundException", f"Export not found: {arn}")
    return ActionResult({"ExportDescription": export.description()})


def list_exports(self: DynamoHandler) -> ActionResult:
    """Summaries in reverse alphanumeric order of ExportArn; the NextToken is the last ARN
    of the page, and the next page starts after it."""
    table_arn = self.body.get("TableArn")
    size = self.body.get("MaxResults")
    size = MAX_LIST_RESULTS if size is None else int(size)
    if not 1 <= size <= MAX_LIST_RESULTS:
        bound = "less than or equal to 25" if size > 1 else "greater than or equal to 1"
        raise MockValidationException(
            f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy "
            f"constraint: Member must have value {bound}"
        )
    after = self.body.get("NextToken")
    exports = sorted(
        (
            e for e in _exports(self.dynamodb_backend).values()
            if (not table_arn or e.table.table_arn == table_arn) and (not after or e.arn < after)
        ),
        key=lambda e: e.arn,
        reverse=True,
    )
    page = exports[:size]
    result: dict[str, Any] = {"ExportSummaries": [e.summary() for e in page]}
    if len(exports) > size:
        result["NextToken"] = page[-1].arn
    return ActionResult(result)


def _describe_continuous_backups(original: Any) -> Any:
    """DescribeContinuousBackups reports the PITR window as it is now: AWS moves
    ``LatestRestorableDateTime`` forward continuously (API_PointInTimeRecoveryDescription:
    "LatestRestorableDateTime: typically 5 minutes before the current time"); moto froze it
    at the moment PITR was enabled. Reported here as the current time, the same bound the
    export validation above uses."""

    def describe(self: DynamoDBBackend, table_name: str) -> dict[str, Any]:
        backups = original(self, table_name)
        description = backups.get("PointInTimeRecoveryDescription", {})
        if description.get("PointInTimeRecoveryStatus") == "ENABLED":
            description["LatestRestorableDateTime"] = time.time()
        return backups

    return describe


def apply() -> None:
    Table.put_item = _recording_put(Table.put_item)  # type: ignore[method-assign]
    Table.delete_item = _recording_delete(Table.delete_item)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _recording_update(  # type: ignore[method-assign]
        DynamoDBBackend.update_item
    )
    DynamoDBBackend.describe_continuous_backups = _describe_continuous_backups(  # type: ignore[method-assign]
        DynamoDBBackend.describe_continuous_backups
    )
    DynamoHandler.export_table_to_point_in_time = export_table_to_point_in_time  # type: ignore[method-assign]
    DynamoHandler.describe_export = describe_export  # type: ignore[method-assign]
    DynamoHandler.list_exports = list_exports  # type: ignore[method-assign]
