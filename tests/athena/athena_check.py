#!/usr/bin/env python3
"""Checks an Athena DDL printed by `offsite athena-ddl` against exported files.

1. Parses the statement with a real Hive-dialect parser (sqlglot's Hive dialect) and
   insists on what Athena insists on (clause order and spellings sqlglot tolerates).
2. Runs the equivalent of Athena's scan with a real engine (DuckDB) over a local copy of
   the auditor's bucket: every file under each projected partition location, recursively,
   minus hidden names (Trino's Hive connector, HiveFileIterator: "Hive ignores files
   starting with _ and . as well"), JSON lines with the DDL's column types, malformed lines
   as all-NULL rows (OpenX SerDe `ignore.malformed.json`), gzip by extension.

Usage: athena_check.py DDL_FILE BUCKET_ROOT
  BUCKET_ROOT: the local directory standing for s3://<bucket>/.
Prints JSON: {"database", "table", "location", "items": [Item...], "changes": [...]}
where items are the full-export rows (`Item IS NOT NULL`) and changes the incremental
rows (`Keys IS NOT NULL`), each with its partition columns.

Pinned: sqlglot and duckdb in tests/emulator/requirements.txt.
"""
import json
import os
import re
import sys

import duckdb
import sqlglot
from sqlglot import exp

HIVE_CLAUSE_ORDER = [  # Athena/Hive CREATE EXTERNAL TABLE clause order
    exp.ExternalProperty,
    exp.PartitionedByProperty,
    exp.RowFormatSerdeProperty,
    exp.FileFormatProperty,
    exp.LocationProperty,
    exp.Property,  # TBLPROPERTIES entries (plain Property nodes, no wrapper)
]


def parse_ddl(sql):
    """Parse the DDL and return its parts; raise AssertionError on anything unexpected."""
    tree = sqlglot.parse_one(sql, read="hive")  # raises sqlglot.errors.ParseError on syntax errors
    # An unrecognised clause makes sqlglot fall back to exp.Command (with only a logged warning).
    assert isinstance(tree, exp.Create), f"not parsed as CREATE (got {type(tree).__name__})"
    assert tree.args.get("kind") == "TABLE", tree.args.get("kind")

    schema = tree.this  # exp.Schema: .this is the exp.Table, .expressions are the ColumnDefs
    table = schema.this
    props = tree.args["properties"].expressions

    # sqlglot accepts the clauses in any order; Athena does not. Check the order ourselves.
    order = [next(i for i, k in enumerate(HIVE_CLAUSE_ORDER) if isinstance(p, k)) for p in props]
    assert order == sorted(order), f"clauses out of Hive order: {[type(p).__name__ for p in props]}"
    # sqlglot is also lenient about a few spellings that Athena rejects.
    assert re.search(r"\bPARTITIONED\s+BY\b", sql, re.I), "PARTITIONED BY missing (PARTITION BY parses too)"
    assert re.search(r"\bWITH\s+SERDEPROPERTIES\b", sql, re.I), "WITH SERDEPROPERTIES missing"

    def one(kind):
        found = [p for p in props if isinstance(p, kind)]
        assert len(found) == 1, f"expected one {kind.__name__}, found {len(found)}"
        return found[0]

    one(exp.ExternalProperty)
    serde = one(exp.RowFormatSerdeProperty)
    fmt = one(exp.FileFormatProperty)
    location = one(exp.LocationProperty).this.name

    def literal_pairs(nodes):
        out = {}
        for p in nodes:
            assert isinstance(p.this, exp.Literal) and p.this.is_string, f"key not a string literal: {p.sql('hive')}"
            assert isinstance(p.args["value"], exp.Literal) and p.args["value"].is_string, p.sql("hive")
            out[p.this.name] = p.args["value"].name
        return out

    serde_props = literal_pairs(serde.args["serde_properties"].expressions)
    tblprops = literal_pairs([p for p in props if type(p) is exp.Property])
    io = fmt.this  # exp.InputOutputFormat when STORED AS INPUTFORMAT ... OUTPUTFORMAT ...
    return {
        "db": table.db,
        "name": table.name,
        "if_not_exists": bool(tree.args.get("exists")),
        # name -> DuckDB type string; identifiers keep their case (STRUCT("pk" STRUCT("S" TEXT)))
        "columns": {c.name: c.args["kind"].sql(dialect="duckdb") for c in schema.expressions},
        "partitions": {
            c.name: c.args["kind"].sql(dialect="duckdb")
            for c in one(exp.PartitionedByProperty).this.expressions
        },
        "serde": serde.this.name,
        "serde_props": serde_props,
        "input_format": io.args["input_format"].name if isinstance(io, exp.InputOutputFormat) else None,
        "output_format": io.args["output_format"].name if isinstance(io, exp.InputOutputFormat) else None,
        "location": location,
        "tblprops": tblprops,
    }


def is_hidden(rel_path):
    # Trino's Hive connector (HiveFileIterator.containsHiddenPathPartAfterIndex): any path
    # part below the listed location that starts with '_' or '.' is skipped.
    return any(part[:1] in ("_", ".") for part in rel_path.split("/"))


def load_table(con, ddl, bucket_root, table="orders"):
    """Create TEMP TABLE `table` holding what Athena's SELECT * returns (partition columns last)."""
    m = re.match(r"s3://([^/]+)/(.*)$", ddl["tblprops"]["storage.location.template"])
    assert m, ddl["tblprops"]["storage.location.template"]
    template = m.group(2).rstrip("/")
    # Template segments: 'account=${account}' -> path key 'account' holds partition column
    # 'account'; a literal segment like 'table=orders' must match as-is.
    key_to_col, literals = {}, {}
    for seg in template.split("/"):
        k, _, v = seg.partition("=")
        var = re.fullmatch(r"\$\{(\w+)\}", v)
        if var:
            assert var.group(1) in ddl["partitions"], f"template uses unknown partition {var.group(1)}"
            key_to_col[k] = var.group(1)
        elif v:
            literals[k] = v
    assert set(key_to_col.values()) == set(ddl["partitions"]), "template must use every partition column"

    # One partition's location is the template with its ${...} filled in; Athena lists it
    # recursively. DuckDB's glob does not skip hidden names, so filter them here.
    prefix_glob = os.path.join(os.path.abspath(bucket_root), re.sub(r"\$\{\w+\}", "*", template))
    depth = prefix_glob.count("/") + 1
    files = [
        path
        for (path,) in con.execute("SELECT file FROM glob(?) ORDER BY file", [prefix_glob + "/**"]).fetchall()
        if not is_hidden("/".join(path.split("/")[depth:]))
    ]
    assert files, f"no files under {prefix_glob}"

    cols = ddl["columns"]
    select = ", ".join(f'"{c}"' for c in cols)
    select += ", " + ", ".join(f'"{k}" AS "{col}"' for k, col in key_to_col.items())
    where = " AND ".join(f'"{k}" = ?' for k in literals) or "TRUE"
    sql = f"""
        CREATE OR REPLACE TEMP TABLE "{table}" AS
        SELECT {select}
        FROM read_json(?, columns = ?, format = 'newline_delimited',
                       compression = 'auto',          -- gzip chosen by the .gz extension only
                       ignore_errors = true,          -- OpenX ignore.malformed.json: bad line -> all-NULL row
                       hive_partitioning = true,
                       hive_types_autocast = false)   -- keep '111111111111' / '2026-11-22' as VARCHAR
        WHERE {where}
    """
    con.execute(sql, [files, cols, *literals.values()])


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    # `offsite athena-ddl` prints a CREATE DATABASE line and comments too: check the table.
    statements = [s for s in sqlglot.parse(text, read="hive") if s is not None]
    creates = [s.sql("hive") for s in statements if isinstance(s, exp.Create) and s.args.get("kind") == "TABLE"]
    assert len(creates) == 1, f"expected one CREATE TABLE, found {len(creates)}"
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    table_sql = next(part for part in code.split(";") if "CREATE EXTERNAL TABLE" in part)
    ddl = parse_ddl(table_sql)
    assert ddl["serde"] == "org.openx.data.jsonserde.JsonSerDe", ddl["serde"]
    assert ddl["tblprops"].get("projection.enabled") == "true", ddl["tblprops"]
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    load_table(con, ddl, argv[2], "t")
    partitions = ", ".join(f'"{p}"' for p in ddl["partitions"])

    def rows(columns, keep):
        selected = ", ".join(f'to_json("{c}")::VARCHAR' for c in columns)
        query = f'SELECT {selected}, {partitions} FROM t WHERE "{keep}" IS NOT NULL'
        out = []
        for values in con.execute(query).fetchall():
            row = {c: json.loads(v) if v is not None else None for c, v in zip(columns, values)}
            row.update(zip(ddl["partitions"], values[len(columns):]))
            out.append(row)
        return out

    print(json.dumps({
        "database": ddl["db"],
        "table": ddl["name"],
        "location": ddl["location"],
        "items": rows(["Item"], "Item"),
        "changes": rows(["Keys", "NewImage", "OldImage", "Metadata"], "Keys"),
    }))


if __name__ == "__main__":
    main(sys.argv)
