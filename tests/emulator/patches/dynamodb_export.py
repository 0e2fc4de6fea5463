"""DynamoDB ExportTableToPointInTime with AWS's validation, idempotency, cross-account
bucket ownership, progress and output layout.

AWS behaviour reproduced
------------------------
(DynamoDB API Reference: API_ExportTableToPointInTime, API_DescribeExport,
API_ListExports, API_ExportDescription, API_IncrementalExportSpecification; Developer
Guide: "Requesting a table export in DynamoDB" (S3DataExport_Requesting) and "DynamoDB
table export output format" (S3DataExport.Output).)

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
* Output, in the bucket owner's S3, under ``<S3Prefix>/AWSDynamoDB/<ExportId>/``:
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
* ``ExportStatus`` is ``IN_PROGRESS`` for ``--copy-delay`` seconds (the value in force
  when the export started), then ``COMPLETED`` with ``EndTime``, ``ItemCount``,
  ``BilledSizeBytes`` and ``ExportManifest``. The data files and manifests are written at
  that moment, lazily, by the first DescribeExport/ListExports that sees the delay over.
  ExportArn has AWS's form ``<table ARN>/export/<14 digits>-<8 hex>``.
* ``DescribeExport`` of an unknown ARN -> ``ExportNotFoundException`` (moto: HTTP 500).
  ``ListExports`` filters by ``TableArn`` when given and returns ``ExportSummaries``
  (ExportArn, ExportStatus, ExportType); ``MaxResults``/``NextToken`` page them.
* INCREMENTAL_EXPORT: ``IncrementalExportSpecification`` is required, ExportFromTime and
  ExportToTime must be in the PITR window, and the period must be between 15 minutes and
  24 hours -> ``ValidationException``.

Not enforced / not emulated
---------------------------
* Valid INCREMENTAL_EXPORT requests, ``ExportFormat=ION`` and ``FilterSpecification``
  are rejected with a ``ValidationException`` saying the emulator does not support them
  (moto keeps no item history to export changes from, and writes no ION).
* The data is the table as it was when the export was requested, not at ExportTime.
  One data file per export (AWS writes at least one per partition).
* Bucket policies, IAM, KMS key policies, requester-pays buckets, the 300-exports quota
  and ``BilledSizeBytes`` accuracy (it is the uncompressed size of the exported JSON).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, MockValidationException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import dynamo_json_dump
from moto.dynamodb.responses import DynamoHandler
from moto.s3.models import s3_backends

from .state import CONFIG

TOKEN_TTL_SECONDS = 8 * 3600
MIN_INCREMENTAL_SECONDS = 15 * 60
MAX_INCREMENTAL_SECONDS = 24 * 3600

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


class OffsiteExport:
    """One export task, advanced lazily when it is read."""

    def __init__(self, backend: DynamoDBBackend, table: Table, params: dict[str, Any]):
        now = time.time()
        self.export_id = f"{int(now * 1000):014d}-{uuid.uuid4().hex[:8]}"
        self.arn = f"{table.table_arn}/export/{self.export_id}"
        self.table = table
        self.caller = backend.account_id
        self.params = params
        self.fingerprint = {k: _canonical(params.get(k)) for k in _IDEMPOTENT_PARAMS}
        self.start = now
        self.export_time = _epoch(params["ExportTime"]) if params.get("ExportTime") else now
        self.delay = float(CONFIG.copy_delay_seconds)
        self.end: float | None = None
        self.status = "IN_PROGRESS"
        self.failure: tuple[str, str] | None = None
        self.item_count = 0
        self.billed_bytes = 0
        prefix = (params.get("S3Prefix") or "").rstrip("/")
        self.root = f"{prefix}/AWSDynamoDB/{self.export_id}".lstrip("/")
        # The table as it is now: what the export will contain.
        self.lines = [
            dynamo_json_dump(item.to_json(root_attr_name="Item")) for item in table.all_items()
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

    def _begin(self) -> None:
        bucket = self.params["S3Bucket"]
        owner = _bucket_owner(bucket)
        expected = self.params.get("S3BucketOwner")
        if owner is None:
            self._fail("S3NoSuchBucket", "The specified bucket does not exist")
        elif (expected and expected != owner) or (not expected and owner != self.caller):
            self._fail(
                "S3AccessDenied",
                f"Failed to write to S3 bucket {bucket}: Access Denied "
                f"(bucket owner {owner}, S3BucketOwner {expected or 'not given'})",
            )
        else:
            self._put(f"{self.root}/_started", b"")

    def _complete(self) -> None:
        content = "".join(line + "\n" for line in self.lines).encode("utf-8")
        data = gzip.compress(content)
        data_key = f"{self.root}/data/{uuid.uuid4().hex[:26]}.json.gz"
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
        summary = json.dumps(
            {
                "version": "2020-06-30",
                "exportArn": self.arn,
                "startTime": _iso(self.start),
                "endTime": _iso(self.end),
                "tableArn": self.table.table_arn,
                "tableId": _table_id(self.table),
                "exportTime": _iso(self.export_time),
                "s3Bucket": self.params["S3Bucket"],
                "s3Prefix": self.params.get("S3Prefix"),
                "s3SseAlgorithm": self.params.get("S3SseAlgorithm"),
                "s3SseKmsKeyId": self.params.get("S3SseKmsKeyId"),
                "manifestFilesS3Key": f"{self.root}/manifest-files.json",
                "billedSizeBytes": self.billed_bytes,
                "itemCount": self.item_count,
                "outputFormat": self.params.get("ExportFormat") or "DYNAMODB_JSON",
                "exportType": self.params.get("ExportType") or "FULL_EXPORT",
            }
        ).encode()
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
            "ExportTime": _utc(self.export_time),
            "ClientToken": params.get("ClientToken"),
            "S3Bucket": params["S3Bucket"],
            "S3BucketOwner": params.get("S3BucketOwner"),
            "S3Prefix": params.get("S3Prefix"),
            "S3SseAlgorithm": params.get("S3SseAlgorithm"),
            "S3SseKmsKeyId": params.get("S3SseKmsKeyId"),
            "ExportFormat": params.get("ExportFormat") or "DYNAMODB_JSON",
            "ExportType": params.get("ExportType") or "FULL_EXPORT",
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
        return {
            "ExportArn": self.arn,
            "ExportStatus": self.status,
            "ExportType": self.params.get("ExportType") or "FULL_EXPORT",
        }


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
        raise MockValidationException(
            "INCREMENTAL_EXPORT is not supported by the Offsite emulator (moto keeps no "
            "item history)"
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
        export = OffsiteExport(backend, table, params)
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
    table_arn = self.body.get("TableArn")
    exports = [
        e for e in _exports(self.dynamodb_backend).values()
        if not table_arn or e.table.table_arn == table_arn
    ]
    start = int(self.body.get("NextToken") or 0)
    size = int(self.body.get("MaxResults") or 25)
    page = exports[start : start + size]
    result: dict[str, Any] = {"ExportSummaries": [e.summary() for e in page]}
    if start + size < len(exports):
        result["NextToken"] = str(start + size)
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
    DynamoDBBackend.describe_continuous_backups = _describe_continuous_backups(  # type: ignore[method-assign]
        DynamoDBBackend.describe_continuous_backups
    )
    DynamoHandler.export_table_to_point_in_time = export_table_to_point_in_time  # type: ignore[method-assign]
    DynamoHandler.describe_export = describe_export  # type: ignore[method-assign]
    DynamoHandler.list_exports = list_exports  # type: ignore[method-assign]
