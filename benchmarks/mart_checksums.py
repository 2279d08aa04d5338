"""Order-independent checksums of every mart table of a DuckDB warehouse, to prove a refactor
keeps the marts' numbers.

    python benchmarks/mart_checksums.py warehouse.duckdb > before.json      # before the change
    python benchmarks/mart_checksums.py warehouse.duckdb --compare before.json \
        --rename fraud_review_queue=fct_fraud_review_queue                  # after: exit 1 on a diff

A mart is every base table in a schema whose name contains `marts_`. Each checksum is the row
count and the sum of hash() of each row's text over its columns sorted by name (floats rounded
to 6 decimals), the same as tests/python/dbt_harness.py uses. Marts only in the new warehouse
are listed as new, not as differences.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))
from dbt_harness import _row_text  # noqa: E402  (one definition of the row text)


def checksums(db: str) -> dict[str, dict[str, object]]:
    con = duckdb.connect(db, read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema like '%marts_%' and table_type = 'BASE TABLE'"
            " order by table_name"
        ).fetchall()
        out = {}
        for schema, table in tables:
            cols = con.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchall()
            n, total = con.execute(
                f'select count(*), coalesce(sum(hash({_row_text(cols)})), 0) from "{schema}"."{table}"'
            ).fetchone()
            out[table] = {"rows": int(n), "hash_sum": str(total), "columns": sorted(c for c, _ in cols)}
        return out
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duckdb", help="warehouse file")
    parser.add_argument("--compare", help="baseline JSON written by an earlier run")
    parser.add_argument("--rename", action="append", default=[], help="old=new mart name in the baseline")
    args = parser.parse_args()
    now = checksums(args.duckdb)
    if not args.compare:
        json.dump(now, sys.stdout, indent=2)
        print()
        return 0
    base = json.loads(Path(args.compare).read_text())
    for pair in args.rename:
        old, new = pair.split("=", 1)
        base[new] = base.pop(old)
    failed = False
    for name, before in sorted(base.items()):
        after = now.get(name)
        same = after == before
        failed |= not same
        detail = "" if same else f"  before {before['rows']} rows {before['hash_sum']}, after {after}"
        print(f"{'equal ' if same else 'DIFFER'} {name}: {before['rows']} rows{detail}")
    for name in sorted(set(now) - set(base)):
        print(f"new    {name}: {now[name]['rows']} rows")
    print("all baseline marts equal" if not failed else "SOME MARTS DIFFER")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
