#!/usr/bin/env python3
"""Checks the Athena DDL `offsite athena-ddl --rds` prints against the RDS exports' files.

1. Parses every statement with a real Hive-dialect parser (sqlglot's Hive dialect): each
   table is `CREATE EXTERNAL TABLE ... PARTITIONED BY (...) STORED AS PARQUET LOCATION ...
   TBLPROPERTIES (...)` in Athena's clause order, with partition projection on and a
   `storage.location.template` that names every partition column.
2. Runs the equivalent of Athena's scan with a real engine (DuckDB) over a local copy of the
   auditor's bucket: the template becomes a pattern (each `${column}` one path segment or
   part of one; a column used twice must have the same value both times), every file under a
   matching location is read, recursively, minus hidden names (Trino's Hive connector,
   HiveFileIterator: "Hive ignores files starting with _ and . as well": RDS's `_SUCCESS`
   markers), as Parquet by column name (Athena's default for Parquet), with the partition
   values from the path.

Usage: rds_athena_check.py DDL_FILE BUCKET_ROOT
  BUCKET_ROOT: the local directory standing for s3://<bucket>/.
Prints JSON: {"tables": {"<db>.<table>": {"columns": {...}, "partitions": [...],
"rows": [{column: value, ..., partition: value}]}}} with values as JSON (decimals and
timestamps as strings).

Pinned: sqlglot and duckdb in tests/emulator/requirements.txt.
"""
import json
import os
import re
import sys

import duckdb
import sqlglot
from sqlglot import exp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from athena_check import HIVE_CLAUSE_ORDER, is_hidden  # noqa: E402


def parse_table(statement):
    """The parts of one CREATE EXTERNAL TABLE; AssertionError on anything Athena would refuse."""
    tree = sqlglot.parse_one(statement, read="hive")
    assert isinstance(tree, exp.Create) and tree.args.get("kind") == "TABLE", statement[:80]
    schema = tree.this
    props = tree.args["properties"].expressions
    order = [next(i for i, k in enumerate(HIVE_CLAUSE_ORDER) if isinstance(p, k)) for p in props]
    assert order == sorted(order), f"clauses out of Hive order: {[type(p).__name__ for p in props]}"
    assert re.search(r"\bPARTITIONED\s+BY\b", statement, re.I), "PARTITIONED BY missing"
    assert re.search(r"\bSTORED\s+AS\s+PARQUET\b", statement, re.I), "not STORED AS PARQUET"
    assert any(isinstance(p, exp.ExternalProperty) for p in props), "not EXTERNAL"
    partitions = [c.name for c in next(p for p in props if isinstance(p, exp.PartitionedByProperty)).this.expressions]
    tblprops = {}
    for p in props:
        if type(p) is exp.Property:
            assert isinstance(p.this, exp.Literal) and isinstance(p.args["value"], exp.Literal), p.sql("hive")
            tblprops[p.this.name] = p.args["value"].name
    assert tblprops.get("projection.enabled") == "true", tblprops
    for column in partitions:
        assert f"projection.{column}.type" in tblprops, f"no projection for {column}"
    template = tblprops["storage.location.template"]
    used = set(re.findall(r"\$\{(\w+)\}", template))
    assert used == set(partitions), f"the template must use every partition column: {used} vs {partitions}"
    return {
        "name": f"{schema.this.db}.{schema.this.name}",
        "columns": {c.name: c.args["kind"].sql(dialect="duckdb") for c in schema.expressions},
        "partitions": partitions,
        "template": template,
    }


def location_pattern(template):
    """A regex over bucket-relative paths matching the files under any projected location."""
    m = re.match(r"s3://[^/]+/(.*)$", template)
    assert m, template
    seen = set()

    def group(match):
        name = match.group(1)
        if name in seen:
            return f"(?P={name})"
        seen.add(name)
        return f"(?P<{name}>[^/]+?)"

    parts = re.split(r"(\$\{\w+\})", m.group(1).rstrip("/"))
    regex = "".join(group(re.match(r"\$\{(\w+)\}", p)) if p.startswith("${") else re.escape(p) for p in parts)
    return re.compile(regex + r"/(?P<rest>.+)$")


def scan(con, table, bucket_root):
    pattern = location_pattern(table["template"])
    root = os.path.abspath(bucket_root)
    files = []
    for directory, _, names in os.walk(root):
        for name in names:
            rel = os.path.relpath(os.path.join(directory, name), root)
            m = pattern.match(rel)
            if m and not is_hidden(m.group("rest")):
                files.append((os.path.join(root, rel), {p: m.group(p) for p in table["partitions"]}))
    assert files, f"no files match {table['template']}"
    rows = []
    columns = table["columns"]
    for path, partition in sorted(files):
        select = ", ".join(f'CAST("{c}" AS {t})::VARCHAR' if t.startswith("DECIMAL") or t.startswith("TIMESTAMP")
                           else f'to_json("{c}")::VARCHAR' for c, t in columns.items())
        for values in con.execute(f"SELECT {select} FROM read_parquet(?)", [path]).fetchall():
            row = {}
            for (column, kind), value in zip(columns.items(), values):
                if value is None:
                    row[column] = None
                elif kind.startswith("DECIMAL") or kind.startswith("TIMESTAMP"):
                    row[column] = value
                else:
                    row[column] = json.loads(value)
            row.update(partition)
            rows.append(row)
    return rows


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    statements = [part.strip() for part in code.split(";") if "CREATE EXTERNAL TABLE" in part]
    assert statements, "no CREATE EXTERNAL TABLE"
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    out = {}
    for statement in statements:
        table = parse_table(statement)
        out[table["name"]] = {
            "columns": table["columns"],
            "partitions": table["partitions"],
            "rows": scan(con, table, argv[2]),
        }
    print(json.dumps({"tables": out}))


if __name__ == "__main__":
    main(sys.argv)
