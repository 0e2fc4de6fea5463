"""What an RDS DB instance or Aurora DB cluster holds: databases, schemas, tables, typed
columns and rows, seeded by a control call, captured by snapshots and carried by copies, so
that snapshot exports (``rds_export``) and restores have real data. moto's DB instances,
clusters and snapshots hold no data at all.

AWS behaviour reproduced
------------------------
* A DB snapshot is a storage-volume backup of the whole DB instance as it was when the
  snapshot was taken; a DB cluster snapshot, of the cluster volume (RDS User Guide,
  "Creating a DB snapshot" (USER_CreateSnapshot); Aurora User Guide, "Creating a DB cluster
  snapshot"). So each snapshot keeps a deep copy of its instance's or cluster's content at
  the moment it is created: CreateDBSnapshot, CreateDBClusterSnapshot, automated snapshots
  (moto takes one when an instance or cluster is created, when it still holds nothing), the
  final snapshot of DeleteDBInstance, and AWS Backup recovery points
  (``aws_backup.create_recovery_point`` creates its snapshot through the same backend calls).
  Later changes to the instance do not change the snapshot.
* A copy holds what its source holds (RDS User Guide, "Copying a DB snapshot"; Aurora User
  Guide, "Copying a DB cluster snapshot"): CopyDBSnapshot / CopyDBClusterSnapshot within an
  account, from a snapshot shared by another account (by ARN, ``rds_cross_account``) and
  from another Region (by ARN).
* Restoring makes a new DB instance or cluster with the snapshot's data
  (RestoreDBInstanceFromDBSnapshot, RestoreDBClusterFromSnapshot): the new resource gets a
  deep copy of the snapshot's content.
* The engine decides the shape: PostgreSQL (``postgres``, ``aurora-postgresql``) has
  databases, schemas and tables; MySQL, MariaDB and Aurora MySQL (``mysql``, ``mariadb``,
  ``aurora-mysql``, the legacy ``aurora``) have databases whose tables live directly in them
  (a MySQL schema *is* a database). This is what StartExportTask's ``ExportOnly`` forms and
  the export's folder names rely on (RDS API Reference, API_StartExportTask, ExportOnly).
  Other engines (Oracle, SQL Server, Db2) may hold content too; their tables take an optional
  schema.
* A DB instance that belongs to an Aurora cluster has no storage of its own: its data is the
  cluster volume, so content is seeded on the cluster (``kind`` ``cluster``); seeding such an
  instance is refused.

Control calls
-------------
``POST /_offsite/rds/content`` replaces the whole content of one DB instance or cluster::

    {"account": "<12 digits>", "region": "<region>", "kind": "instance" | "cluster",
     "identifier": "<DB instance or cluster identifier>",
     "databases": [{"name": "shop", "tables": [{"schema": "public", "name": "orders",
        "columns": [{"name": "id", "type": "integer"}, ...],
        "rows": [[1, ...], ...]}]}]}

-> ``{"ok": true, "account", "region", "kind", "identifier", "engine", "databases": <n>,
"tables": <n>, "rows": <n>}``. Errors: 400 ``{"error": "<field path>: <what is wrong>"}``,
404 for an unknown DB instance or cluster.

``GET /_offsite/rds/content?account=&region=&kind=instance|cluster|snapshot|cluster-snapshot
&identifier=`` -> ``{"account", "region", "kind", "identifier", "engine", "databases":
[...]}`` (the content as seeded; an instance or snapshot that holds nothing has ``[]``); 404
for an unknown resource.

Validation (each error names the field, e.g. ``databases[0].tables[1].rows[2][3]``):
database, schema, table and column names are non-empty strings, unique within their parent;
``schema`` is required for the PostgreSQL engines and must be absent for the MySQL family;
every row has one value per column; ``type`` is the engine's SQL type name as the database
reports it (PostgreSQL ``format_type``: ``integer``, ``bigint``, ``smallint``,
``numeric(10,2)``, ``text``, ``character varying(255)``, ``boolean``, ``date``,
``timestamp without time zone``, ``timestamp with time zone``, ``jsonb``, ``uuid``,
``double precision``, ``real``, ``bytea``, arrays as ``integer[]`` ...; MySQL ``COLUMN_TYPE``:
``int``, ``int unsigned``, ``bigint``, ``tinyint(1)``, ``decimal(10,2)``, ``varchar(255)``,
``text``, ``datetime``, ``timestamp``, ``date``, ``time``, ``year``, ``double``, ``float``,
``json``, ``blob``, ``enum('a','b')`` ...); a type the emulator does not know is refused.
Values are JSON, ``null`` allowed, and must suit the column:

* integer types: JSON integers within the type's range (``tinyint(1)`` also takes
  ``true``/``false``, stored as 1/0, as MySQL's BOOLEAN is);
* ``real``/``double precision``/``float``/``double``: numbers;
* ``boolean`` (PostgreSQL): ``true``/``false``;
* ``numeric``/``decimal``: a number or a decimal string (``"12.50"``; PostgreSQL also
  ``"NaN"``), within the declared precision, rounded to the declared scale as the database
  stores it (``numeric(10,2)``: 3 is ``3.00``);
* binary types (``bytea``, ``blob``, ``binary``, ``varbinary``, ``bit``, MySQL spatial types):
  **base64** strings of the bytes;
* MySQL ``datetime``/``timestamp``: ``"YYYY-MM-DD HH:MM:SS[.ffffff]"`` (taken as UTC);
* ``json``/``jsonb``: any JSON value (a string is taken as the JSON text itself);
* PostgreSQL arrays: a JSON list (rendered as a PostgreSQL array literal ``{1,2,3}``) or the
  literal as a string;
* everything else (text, dates, times, uuid, enum ...): strings, kept verbatim.

How it is stored
----------------
On the moto model object's ``offsite_content`` attribute (DB instance, DB cluster, DB
snapshot, DB cluster snapshot), so moto's reset and DeleteDBInstance / DeleteDBCluster /
DeleteDB(Cluster)Snapshot take it along. Nothing is kept at module level.

Not emulated
------------
SQL: nothing can query or change the content except the control call (which replaces it
whole). No sizes (a snapshot's AllocatedStorage is moto's). Read replicas, clones and
point-in-time restores get no content. Aurora PostgreSQL temporary and unlogged tables do not
exist here.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import inspect
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from moto.rds.models import DBClusterSnapshot, DBSnapshot, RDSBackend, rds_backends
from moto.rds.utils import split_arn

ATTRIBUTE = "offsite_content"
POSTGRES = "postgresql"
MYSQL = "mysql"
POSTGRES_ENGINES = ("postgres", "aurora-postgresql")
MYSQL_ENGINES = ("mysql", "mariadb", "aurora-mysql", "aurora")
KINDS = ("instance", "cluster")
READ_KINDS = ("instance", "cluster", "snapshot", "cluster-snapshot")

Content = list[dict[str, Any]]


class ContentError(Exception):
    """A control-call error: HTTP ``status`` and a message naming the field."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def engine_family(engine: str | None) -> str | None:
    """``postgresql`` for the PostgreSQL engines, ``mysql`` for the MySQL family, else None."""
    name = (engine or "").lower()
    if name in POSTGRES_ENGINES:
        return POSTGRES
    if name in MYSQL_ENGINES:
        return MYSQL
    return None


def content_of(model: Any) -> Content:
    """What a DB instance, cluster or snapshot holds (``[]`` when nothing was seeded)."""
    return model.__dict__.get(ATTRIBUTE) or []


def _set(model: Any, content: Content) -> None:
    model.__dict__[ATTRIBUTE] = content


# --- column types ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnType:
    """A column's type as the export sees it: the database's own description of it
    (information_schema ``data_type``, lengths, precisions) and the Parquet type the RDS
    export writes for it (``rds_export``; RDS User Guide, "Data conversion when exporting to
    an Amazon S3 bucket")."""

    family: str | None
    declared: str
    # information_schema.columns: data_type, character_maximum_length, numeric_precision,
    # numeric_scale, datetime_precision (0 where the database reports none).
    original_type: str
    char_max_length: int
    num_precision: int
    num_scale: int
    datetime_precision: int
    # int16 | int32 | int64 | float32 | float64 | bool | string | binary | decimal | timestamp
    kind: str
    # Parquet primitive type and logical annotation (for the export and its metadata).
    parquet: str
    annotation: str | None
    # How a value is given and rendered.
    json_text: bool = False
    pg_array: bool = False
    bool_as_int: bool = False
    int_min: int = 0
    int_max: int = 0

    @property
    def expected_exported_type(self) -> str:
        """``expectedExportedType`` of export_tables_info: the Parquet primitive type in
        lower case, with its annotation in parentheses (``binary (UTF8)``, ``int32``)."""
        primitive = {"BYTE_ARRAY": "binary", "FIXED_LEN_BYTE_ARRAY": "fixed_len_byte_array"}.get(
            self.parquet, self.parquet.lower()
        )
        if self.annotation == "STRING":
            return f"{primitive} (UTF8)"
        return f"{primitive} ({self.annotation})" if self.annotation else primitive


_ARRAY_SUFFIX = re.compile(r"(\[\d*\])+$")
_MYSQL_MODIFIERS = ("unsigned", "signed", "zerofill")


def _split_type(text: str) -> tuple[str, str | None, str, bool]:
    """``character varying(255)`` -> (``character varying``, ``255``, ``""``, False);
    ``timestamp(3) without time zone`` -> (``timestamp``, ``3``, ``without time zone``,
    False); ``integer[]`` -> (``integer``, None, ``""``, True)."""
    array = bool(_ARRAY_SUFFIX.search(text))
    text = _ARRAY_SUFFIX.sub("", text).strip()
    if "(" in text:
        open_at = text.index("(")
        close_at = text.rfind(")")
        if close_at < open_at:
            raise ValueError(f"unbalanced parentheses in {text!r}")
        return text[:open_at].strip(), text[open_at + 1 : close_at], text[close_at + 1 :].strip(), array
    return text, None, "", array


_INT_RANGES = {
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}

# PostgreSQL: type name -> (information_schema data_type, kind, numeric_precision).
# RDS User Guide, "Data conversion ...", "PostgreSQL data type mapping to Parquet".
_PG_TYPES: dict[str, tuple[str, str, int]] = {
    "smallint": ("smallint", "int16", 16),
    "int2": ("smallint", "int16", 16),
    "smallserial": ("smallint", "int16", 16),
    "serial2": ("smallint", "int16", 16),
    "integer": ("integer", "int32", 32),
    "int": ("integer", "int32", 32),
    "int4": ("integer", "int32", 32),
    "serial": ("integer", "int32", 32),
    "serial4": ("integer", "int32", 32),
    "bigint": ("bigint", "int64", 64),
    "int8": ("bigint", "int64", 64),
    "bigserial": ("bigint", "int64", 64),
    "serial8": ("bigint", "int64", 64),
    "double precision": ("double precision", "float64", 53),
    "float8": ("double precision", "float64", 53),
    "float": ("double precision", "float64", 53),
    "real": ("real", "float32", 24),
    "float4": ("real", "float32", 24),
    "numeric": ("numeric", "string", 0),
    "decimal": ("numeric", "string", 0),
    "money": ("money", "string", 0),
    "boolean": ("boolean", "bool", 0),
    "bool": ("boolean", "bool", 0),
    "bytea": ("bytea", "binary", 0),
    "text": ("text", "string", 0),
    "character varying": ("character varying", "string", 0),
    "varchar": ("character varying", "string", 0),
    "character": ("character", "string", 0),
    "char": ("character", "string", 0),
    "bpchar": ("character", "string", 0),
    "name": ("name", "string", 0),
    "date": ("date", "string", 0),
    "timestamp without time zone": ("timestamp without time zone", "string", 0),
    "timestamp": ("timestamp without time zone", "string", 0),
    "timestamp with time zone": ("timestamp with time zone", "string", 0),
    "timestamptz": ("timestamp with time zone", "string", 0),
    "time without time zone": ("time without time zone", "string", 0),
    "time": ("time without time zone", "string", 0),
    "time with time zone": ("time with time zone", "string", 0),
    "timetz": ("time with time zone", "string", 0),
    "interval": ("interval", "string", 0),
    "json": ("json", "string", 0),
    "jsonb": ("jsonb", "string", 0),
    "uuid": ("uuid", "string", 0),
    "xml": ("xml", "string", 0),
    "inet": ("inet", "string", 0),
    "cidr": ("cidr", "string", 0),
    "macaddr": ("macaddr", "string", 0),
    "macaddr8": ("macaddr8", "string", 0),
    "bit": ("bit", "string", 0),
    "bit varying": ("bit varying", "string", 0),
    "varbit": ("bit varying", "string", 0),
    "tsvector": ("tsvector", "string", 0),
    "tsquery": ("tsquery", "string", 0),
    "point": ("point", "string", 0),
    "line": ("line", "string", 0),
    "lseg": ("lseg", "string", 0),
    "box": ("box", "string", 0),
    "path": ("path", "string", 0),
    "polygon": ("polygon", "string", 0),
    "circle": ("circle", "string", 0),
    "pg_lsn": ("pg_lsn", "string", 0),
    "int4range": ("int4range", "string", 0),
    "int8range": ("int8range", "string", 0),
    "numrange": ("numrange", "string", 0),
    "tsrange": ("tsrange", "string", 0),
    "tstzrange": ("tstzrange", "string", 0),
    "daterange": ("daterange", "string", 0),
}
_PG_DATETIME = {"timestamp without time zone", "timestamp with time zone", "time without time zone",
                "time with time zone", "interval"}

# MySQL / MariaDB: type name -> (kind, numeric_precision); "unsigned" handled below.
# RDS User Guide, "Data conversion ...", "MySQL and MariaDB data type mapping to Parquet".
_MYSQL_TYPES: dict[str, tuple[str, int]] = {
    "tinyint": ("int32", 3),
    "smallint": ("int32", 5),
    "mediumint": ("int32", 7),
    "int": ("int32", 10),
    "integer": ("int32", 10),
    "bigint": ("int64", 19),
    "bool": ("int32", 3),
    "boolean": ("int32", 3),
    "decimal": ("decimal", 10),
    "numeric": ("decimal", 10),
    "dec": ("decimal", 10),
    "fixed": ("decimal", 10),
    "float": ("float64", 12),
    "double": ("float64", 22),
    "double precision": ("float64", 22),
    "real": ("float64", 22),
    "bit": ("binary", 1),
    "char": ("string", 0),
    "varchar": ("string", 0),
    "tinytext": ("string", 0),
    "text": ("string", 0),
    "mediumtext": ("string", 0),
    "longtext": ("string", 0),
    "enum": ("string", 0),
    "set": ("string", 0),
    "json": ("string", 0),
    "binary": ("binary", 0),
    "varbinary": ("binary", 0),
    "tinyblob": ("binary", 0),
    "blob": ("binary", 0),
    "mediumblob": ("binary", 0),
    "longblob": ("binary", 0),
    "date": ("string", 0),
    "time": ("string", 0),
    "datetime": ("timestamp", 0),
    "timestamp": ("timestamp", 0),
    "year": ("int32", 0),
    "geometry": ("binary", 0),
    "point": ("binary", 0),
    "linestring": ("binary", 0),
    "polygon": ("binary", 0),
    "multipoint": ("binary", 0),
    "multilinestring": ("binary", 0),
    "multipolygon": ("binary", 0),
    "geometrycollection": ("binary", 0),
}
_MYSQL_TEXT_LENGTHS = {"tinytext": 255, "text": 65535, "mediumtext": 16777215, "longtext": 4294967295,
                       "tinyblob": 255, "blob": 65535, "mediumblob": 16777215, "longblob": 4294967295}


def _int_args(args: str | None, declared: str) -> list[int]:
    if not args:
        return []
    try:
        return [int(a.strip()) for a in args.split(",")]
    except ValueError:
        raise ValueError(f"unsupported type arguments in {declared!r}") from None


def _pg_column_type(declared: str, base: str, args: str | None, rest: str, array: bool) -> ColumnType:
    name = " ".join(f"{base} {rest}".split())
    if name == "float" and args:
        # float(p): real for p <= 24, double precision above (PostgreSQL documentation,
        # "Numeric Types", "Floating-Point Types").
        name = "real" if _int_args(args, declared)[0] <= 24 else "double precision"
        args = None
    if name not in _PG_TYPES:
        raise ValueError(f"the Offsite emulator does not know the PostgreSQL type {declared!r}")
    original, kind, precision = _PG_TYPES[name]
    numbers = _int_args(args, declared)
    char_max = 0
    scale = 0
    dt_precision = 0
    if original in ("character varying", "character", "bit", "bit varying"):
        char_max = numbers[0] if numbers else (1 if original in ("character", "bit") else 0)
    if original == "numeric":
        precision = numbers[0] if numbers else 0
        scale = numbers[1] if len(numbers) > 1 else 0
    if original in _PG_DATETIME:
        dt_precision = numbers[0] if numbers else 6
    if array:
        # An array is exported as a string (its PostgreSQL literal).
        return ColumnType(POSTGRES, declared, "ARRAY", 0, 0, 0, 0, "string", "BYTE_ARRAY", "STRING",
                          pg_array=True)
    parquet, annotation = {
        "int16": ("INT32", "INT_16"),
        "int32": ("INT32", None),
        "int64": ("INT64", None),
        "float32": ("FLOAT", None),
        "float64": ("DOUBLE", None),
        "bool": ("BOOLEAN", None),
        "binary": ("BYTE_ARRAY", None),
        "string": ("BYTE_ARRAY", "STRING"),
    }[kind]
    low, high = _INT_RANGES.get(kind, (0, 0))
    return ColumnType(
        POSTGRES, declared, original, char_max, precision, scale, dt_precision, kind, parquet,
        annotation, json_text=original in ("json", "jsonb"), int_min=low, int_max=high,
    )


def _mysql_column_type(declared: str, base: str, args: str | None, rest: str) -> ColumnType:
    words = f"{base} {rest}".split()
    unsigned = "unsigned" in words
    # Modifiers follow the type name: "int(10) unsigned", "int unsigned".
    first_modifier = next((i for i, w in enumerate(words) if w in _MYSQL_MODIFIERS), len(words))
    if first_modifier == 0 or any(w not in _MYSQL_MODIFIERS for w in words[first_modifier:]):
        raise ValueError(f"the Offsite emulator does not know the MySQL type {declared!r}")
    if args is not None and any(w in _MYSQL_MODIFIERS for w in base.split()):
        raise ValueError(f"the Offsite emulator does not know the MySQL type {declared!r}")
    name = " ".join(w for w in words if w not in _MYSQL_MODIFIERS)
    if name not in _MYSQL_TYPES:
        raise ValueError(f"the Offsite emulator does not know the MySQL type {declared!r}")
    kind, precision = _MYSQL_TYPES[name]
    original = {"integer": "int", "bool": "tinyint", "boolean": "tinyint", "dec": "decimal",
                "fixed": "decimal", "numeric": "decimal", "double precision": "double",
                "real": "double"}.get(name, name)
    numbers = _int_args(args, declared) if name not in ("enum", "set") else []
    char_max = 0
    scale = 0
    dt_precision = 0
    bool_as_int = name in ("bool", "boolean") or (name == "tinyint" and numbers == [1])
    if name in ("char", "varchar", "binary", "varbinary"):
        char_max = numbers[0] if numbers else 1
    elif name in _MYSQL_TEXT_LENGTHS:
        char_max = _MYSQL_TEXT_LENGTHS[name]
    elif name in ("enum", "set"):
        values = re.findall(r"'((?:[^']|'')*)'", args or "")
        char_max = max((len(v) for v in values), default=0) if name == "enum" else len(",".join(values))
    if name in ("datetime", "timestamp", "time"):
        dt_precision = numbers[0] if numbers else 0
    if kind == "decimal":
        precision = numbers[0] if numbers else 10
        scale = numbers[1] if len(numbers) > 1 else 0
        if not 1 <= precision <= 65 or not 0 <= scale <= min(30, precision):
            raise ValueError(f"invalid precision or scale in {declared!r}")
    if name == "bit":
        precision = numbers[0] if numbers else 1
    if unsigned and name in ("int", "integer", "mediumint"):
        kind = "int64"  # INT UNSIGNED, MEDIUMINT UNSIGNED -> INT64
    if unsigned and name == "bigint":
        kind, precision, scale = "decimal", 20, 0  # FIXED_LEN_BYTE_ARRAY(9) DECIMAL(20,0)
        precision_reported = 20
    else:
        precision_reported = precision
    if kind == "decimal" and precision > 38:
        # "Parquet doesn't support Decimal precision greater than 38": a UTF8 string.
        parquet, annotation = "BYTE_ARRAY", "STRING"
    elif kind == "decimal":
        # DECIMAL(p,s) on INT32 (p <= 9), INT64 (p <= 18), FIXED_LEN_BYTE_ARRAY above.
        parquet = "INT32" if precision <= 9 else "INT64" if precision <= 18 else "FIXED_LEN_BYTE_ARRAY"
        annotation = f"DECIMAL({precision},{scale})"
    else:
        parquet, annotation = {
            "int32": ("INT32", None),
            "int64": ("INT64", None),
            "float64": ("DOUBLE", None),
            "binary": ("BYTE_ARRAY", None),
            "string": ("BYTE_ARRAY", "STRING"),
            "timestamp": ("INT64", "TIMESTAMP_MICROS"),
        }[kind]
    ranges = {
        "tinyint": (0, 255) if unsigned else (-128, 127),
        "bool": (-128, 127),
        "boolean": (-128, 127),
        "smallint": (0, 65535) if unsigned else (-32768, 32767),
        "mediumint": (0, 2**24 - 1) if unsigned else (-(2**23), 2**23 - 1),
        "int": (0, 2**32 - 1) if unsigned else (-(2**31), 2**31 - 1),
        "integer": (0, 2**32 - 1) if unsigned else (-(2**31), 2**31 - 1),
        "bigint": (0, 2**64 - 1) if unsigned else (-(2**63), 2**63 - 1),
        "year": (0, 2155),
    }
    low, high = ranges.get(name, (0, 0))
    reported = precision_reported if kind != "binary" or name == "bit" else 0
    return ColumnType(
        MYSQL, declared, original, char_max, reported, scale, dt_precision, kind, parquet, annotation,
        json_text=name == "json", bool_as_int=bool_as_int, int_min=low, int_max=high,
    )


def column_type(family: str | None, declared: str) -> ColumnType:
    """The column type of ``declared`` for an engine family; ValueError if not known."""
    text = " ".join(str(declared).strip().lower().split())
    base, args, rest, array = _split_type(text)
    if not re.fullmatch(r"[a-z][a-z0-9_ ]*", base) or not re.fullmatch(r"[a-z ]*", rest):
        raise ValueError(f"the Offsite emulator does not know the type {declared!r}")
    if family == MYSQL:
        if array:
            raise ValueError(f"MySQL has no array type ({declared!r})")
        return _mysql_column_type(text, base, args, rest)
    if family == POSTGRES:
        return _pg_column_type(text, base, args, rest, array)
    # Engines the export does not support: keep the type, export nothing of it.
    return ColumnType(None, text, text, 0, 0, 0, 0, "string", "BYTE_ARRAY", "STRING")


# --- values -----------------------------------------------------------------------------------


_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$")


def _pg_array_literal(value: list[Any]) -> str:
    def element(item: Any) -> str:
        if item is None:
            return "NULL"
        if isinstance(item, list):
            return _pg_array_literal(item)
        if isinstance(item, bool):
            return "t" if item else "f"
        if isinstance(item, (int, float)):
            return json.dumps(item)
        if isinstance(item, dict):
            item = json.dumps(item)
        text = str(item)
        if text == "" or text.upper() == "NULL" or any(c in text for c in ' ,{}"\\'):
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return text

    return "{" + ",".join(element(item) for item in value) + "}"


def _decimal(value: Any, ctype: ColumnType) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"a {ctype.declared} value is a number or a decimal string")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r}: MySQL decimals are finite")
    return _rounded(number, ctype)


def _rounded(number: Decimal, ctype: ColumnType) -> Decimal:
    """``number`` with the column's scale; ValueError if it does not fit its precision."""
    with localcontext() as context:
        context.prec = 200
        # Both databases round half away from zero.
        rounded = number.quantize(Decimal(1).scaleb(-ctype.num_scale), rounding=ROUND_HALF_UP)
    if len(rounded.as_tuple().digits) > ctype.num_precision and rounded != 0:
        raise ValueError(f"{number} does not fit {ctype.declared}")
    return rounded


def convert(ctype: ColumnType, value: Any) -> Any:
    """The Python value the export writes for a JSON ``value`` of a column (``None`` for
    null): int, float, bool, str, bytes, Decimal or an aware UTC datetime. ValueError names
    what is wrong with the value."""
    if value is None:
        return None
    kind = ctype.kind
    if kind in ("int16", "int32", "int64"):
        if isinstance(value, bool):
            if not ctype.bool_as_int:
                raise ValueError(f"a {ctype.declared} value is an integer, not {json.dumps(value)}")
            value = int(value)
        if not isinstance(value, int):
            raise ValueError(f"a {ctype.declared} value is an integer, not {json.dumps(value)}")
        if ctype.int_max and not ctype.int_min <= value <= ctype.int_max:
            raise ValueError(f"{value} is out of range for {ctype.declared}")
        return value
    if kind in ("float32", "float64"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"a {ctype.declared} value is a number, not {json.dumps(value)}")
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"a {ctype.declared} value is true or false, not {json.dumps(value)}")
        return value
    if kind == "binary":
        if not isinstance(value, str):
            raise ValueError(f"a {ctype.declared} value is a base64 string of its bytes")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"{value!r} is not valid base64 ({ctype.declared})") from None
    if kind == "decimal":
        number = _decimal(value, ctype)
        return str(number) if ctype.parquet == "BYTE_ARRAY" else number
    if kind == "timestamp":
        if not isinstance(value, str) or not _DATETIME.match(value):
            raise ValueError(f"a {ctype.declared} value is 'YYYY-MM-DD HH:MM:SS[.ffffff]', not {json.dumps(value)}")
        y, mo, d, h, mi, s, frac = _DATETIME.match(value).groups()  # type: ignore[union-attr]
        micros = int((frac or "0").ljust(6, "0"))
        try:
            return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micros, tzinfo=timezone.utc)
        except ValueError as error:
            raise ValueError(f"{value!r}: {error}") from None
    # Strings.
    if ctype.json_text:
        return value if isinstance(value, str) else json.dumps(value)
    if ctype.pg_array and isinstance(value, list):
        return _pg_array_literal(value)
    if ctype.original_type == "numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"a {ctype.declared} value is a number or a decimal string")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value!r} is not a JSON number")
        text = str(value)
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number ({ctype.declared})") from None
        if ctype.num_precision and number.is_finite():
            # numeric(p,s) holds and prints exactly s decimal places (PostgreSQL documentation,
            # "Arbitrary Precision Numbers"): 3 is stored and exported as "3.00".
            return str(_rounded(number, ctype))
        return text
    if not isinstance(value, str):
        raise ValueError(f"a {ctype.declared} value is a string, not {json.dumps(value)}")
    return value


# --- validation -------------------------------------------------------------------------------


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ContentError(400, f"{where}: a non-empty string is required")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ContentError(400, f"{where}: a list is required")
    return value


def _object(value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ContentError(400, f"{where}: an object is required")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ContentError(400, f"{where}: unknown field(s) {unknown}")
    return value


def validate(engine: str, databases: Any) -> Content:
    """The content as it will be stored (a deep copy); ContentError(400) naming the field."""
    family = engine_family(engine)
    out: Content = []
    seen_databases: set[str] = set()
    for d, database in enumerate(_list(databases, "databases")):
        where = f"databases[{d}]"
        _object(database, where, {"name", "tables"})
        name = _name(database.get("name"), f"{where}.name")
        if name in seen_databases:
            raise ContentError(400, f"{where}.name: database {name!r} is listed twice")
        seen_databases.add(name)
        tables: list[dict[str, Any]] = []
        seen_tables: set[tuple[str | None, str]] = set()
        for t, table in enumerate(_list(database.get("tables", []), f"{where}.tables")):
            at = f"{where}.tables[{t}]"
            _object(table, at, {"schema", "name", "columns", "rows"})
            schema = table.get("schema")
            if family == POSTGRES:
                schema = _name(schema, f"{at}.schema (required for the {engine} engine)")
            elif family == MYSQL:
                if "schema" in table:
                    raise ContentError(
                        400, f"{at}.schema: {engine} tables live directly in their database; give no schema"
                    )
            elif schema is not None:
                schema = _name(schema, f"{at}.schema")
            table_name = _name(table.get("name"), f"{at}.name")
            if (schema, table_name) in seen_tables:
                raise ContentError(400, f"{at}.name: table {table_name!r} is listed twice")
            seen_tables.add((schema, table_name))
            columns = _list(table.get("columns"), f"{at}.columns")
            if not columns:
                raise ContentError(400, f"{at}.columns: a table has at least one column")
            types: list[ColumnType] = []
            seen_columns: set[str] = set()
            for c, column in enumerate(columns):
                ac = f"{at}.columns[{c}]"
                _object(column, ac, {"name", "type"})
                column_name = _name(column.get("name"), f"{ac}.name")
                if column_name in seen_columns:
                    raise ContentError(400, f"{ac}.name: column {column_name!r} is listed twice")
                seen_columns.add(column_name)
                try:
                    types.append(column_type(family, _name(column.get("type"), f"{ac}.type")))
                except ValueError as error:
                    raise ContentError(400, f"{ac}.type: {error}") from None
            rows = _list(table.get("rows", []), f"{at}.rows")
            for r, row in enumerate(rows):
                ar = f"{at}.rows[{r}]"
                if not isinstance(row, list) or len(row) != len(types):
                    raise ContentError(400, f"{ar}: a list of {len(types)} values (one per column) is required")
                for v, (ctype, value) in enumerate(zip(types, row)):
                    try:
                        convert(ctype, value)
                    except ValueError as error:
                        raise ContentError(400, f"{ar}[{v}] ({columns[v]['name']}): {error}") from None
            stored: dict[str, Any] = {"name": table_name}
            if schema is not None:
                stored = {"schema": schema, "name": table_name}
            stored["columns"] = [{"name": c["name"], "type": c["type"]} for c in columns]
            stored["rows"] = copy.deepcopy(rows)
            tables.append(stored)
        out.append({"name": name, "tables": tables})
    return out


# --- control calls ------------------------------------------------------------------------------


def _lookup(store: dict[str, Any], identifier: str) -> Any:
    return store.get(identifier) if identifier in store else store.get(identifier.lower())


def _resource(account: str, region: str, kind: str, identifier: str) -> Any:
    backend = rds_backends[account][region]
    store = {
        "instance": backend.databases,
        "cluster": backend.clusters,
        "snapshot": backend.database_snapshots,
        "cluster-snapshot": backend.cluster_snapshots,
    }[kind]
    resource = _lookup(store, identifier)
    if resource is None:
        label = {"instance": "DB instance", "cluster": "DB cluster", "snapshot": "DB snapshot",
                 "cluster-snapshot": "DB cluster snapshot"}[kind]
        raise ContentError(404, f"no {label} {identifier!r} in account {account} region {region}")
    return resource


def _check_location(
    account: Any, region: Any, kind: Any, identifier: Any, kinds: tuple[str, ...]
) -> None:
    if not isinstance(account, str) or not re.fullmatch(r"\d{12}", account):
        raise ContentError(400, "account: 12 digits are required")
    if not isinstance(region, str) or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", region):
        raise ContentError(400, "region: an AWS Region name is required")
    if kind not in kinds:
        raise ContentError(400, f"kind: one of {list(kinds)} is required")
    if not isinstance(identifier, str) or not identifier:
        raise ContentError(400, "identifier: a non-empty string is required")


def set_content(body: dict[str, Any]) -> dict[str, Any]:
    """``POST /_offsite/rds/content``: replace what a DB instance or cluster holds."""
    unknown = sorted(set(body) - {"account", "region", "kind", "identifier", "databases"})
    if unknown:
        raise ContentError(400, f"unknown field(s): {unknown}")
    account, region, kind, identifier = (body.get(k) for k in ("account", "region", "kind", "identifier"))
    _check_location(account, region, kind, identifier, KINDS)
    if "databases" not in body:
        raise ContentError(400, "databases: a list is required")
    resource = _resource(account, region, kind, identifier)
    if kind == "instance" and getattr(resource, "db_cluster_identifier", None):
        raise ContentError(
            400,
            f"identifier: DB instance {identifier!r} belongs to DB cluster "
            f"{resource.db_cluster_identifier!r}, whose volume holds its data: seed the cluster "
            '(kind "cluster")',
        )
    content = validate(resource.engine, body["databases"])
    _set(resource, content)
    tables = [t for d in content for t in d["tables"]]
    return {
        "ok": True,
        "account": account,
        "region": region,
        "kind": kind,
        "identifier": identifier,
        "engine": resource.engine,
        "databases": len(content),
        "tables": len(tables),
        "rows": sum(len(t["rows"]) for t in tables),
    }


def get_content(query: dict[str, Any]) -> dict[str, Any]:
    """``GET /_offsite/rds/content``: what a DB instance, cluster or snapshot holds."""
    account, region, kind, identifier = (query.get(k) for k in ("account", "region", "kind", "identifier"))
    _check_location(account, region, kind, identifier, READ_KINDS)
    resource = _resource(account, region, kind, identifier)
    return {
        "account": account,
        "region": region,
        "kind": kind,
        "identifier": identifier,
        "engine": resource.engine,
        "databases": copy.deepcopy(content_of(resource)),
    }


# --- hooks -------------------------------------------------------------------------------------


def _snapshot_by_reference(backend: RDSBackend, reference: str, model: type) -> Any:
    """A snapshot named by identifier (caller's account and Region) or by ARN (any account
    or Region); None if there is none."""
    if reference.startswith("arn:"):
        region, account, _, name = split_arn(reference)
        try:
            store = rds_backends[account][region].resource_map[model]
        except KeyError:
            return None
        return _lookup(store, name)
    return _lookup(backend.resource_map[model], reference)


def _created(original: Any, parent_attribute: str) -> Any:
    """Wrap CreateDBSnapshot / CreateDBClusterSnapshot: the new snapshot keeps a deep copy
    of what its instance or cluster holds now."""

    @functools.wraps(original)
    def create(self: RDSBackend, *args: Any, **kwargs: Any) -> Any:
        snapshot = original(self, *args, **kwargs)
        _set(snapshot, copy.deepcopy(content_of(getattr(snapshot, parent_attribute))))
        return snapshot

    return create


def _argument(original: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The value of parameter ``name`` in a call of ``original`` (moto's handlers pass the
    request's parameters by keyword, the other patches' wrappers by position)."""
    return inspect.signature(original).bind_partial(*args, **kwargs).arguments.get(name)


def _copied(original: Any, model: type, source_parameter: str) -> Any:
    """Wrap CopyDBSnapshot / CopyDBClusterSnapshot: the copy holds what its source holds."""

    @functools.wraps(original)
    def copy_snapshot(self: RDSBackend, *args: Any, **kwargs: Any) -> Any:
        target = original(self, *args, **kwargs)
        source = _argument(original, source_parameter, (self, *args), kwargs)
        origin = _snapshot_by_reference(self, str(source), model)
        _set(target, copy.deepcopy(content_of(origin)) if origin is not None else [])
        return target

    return copy_snapshot


def _restored(original: Any, model: type) -> Any:
    """Wrap RestoreDBInstanceFromDBSnapshot / RestoreDBClusterFromSnapshot: the new DB
    instance or cluster holds what the snapshot holds."""

    @functools.wraps(original)
    def restore(self: RDSBackend, *args: Any, **kwargs: Any) -> Any:
        restored = original(self, *args, **kwargs)
        from_snapshot_id = _argument(original, "from_snapshot_id", (self, *args), kwargs)
        snapshot = _snapshot_by_reference(self, str(from_snapshot_id), model)
        _set(restored, copy.deepcopy(content_of(snapshot)) if snapshot is not None else [])
        return restored

    return restore


def apply() -> None:
    if getattr(RDSBackend.create_db_snapshot, "_offsite_content", False):
        return
    wrapped = {
        "create_db_snapshot": _created(RDSBackend.create_db_snapshot, "database"),
        "create_db_cluster_snapshot": _created(RDSBackend.create_db_cluster_snapshot, "cluster"),
        "copy_db_snapshot": _copied(
            RDSBackend.copy_db_snapshot, DBSnapshot, "source_db_snapshot_identifier"
        ),
        "copy_db_cluster_snapshot": _copied(
            RDSBackend.copy_db_cluster_snapshot, DBClusterSnapshot, "source_db_cluster_snapshot_identifier"
        ),
        "restore_db_instance_from_db_snapshot": _restored(
            RDSBackend.restore_db_instance_from_db_snapshot, DBSnapshot
        ),
        "restore_db_cluster_from_snapshot": _restored(
            RDSBackend.restore_db_cluster_from_snapshot, DBClusterSnapshot
        ),
    }
    for name, method in wrapped.items():
        method._offsite_content = True  # type: ignore[attr-defined]
        setattr(RDSBackend, name, method)
