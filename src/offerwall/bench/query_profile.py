"""Where a query spends its time: DuckDB's profiler (the JSON form of EXPLAIN ANALYZE) on one query,
e.g. a dbt model's compiled SQL from target/compiled/ (offerwall bench-profile)."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import duckdb


def profile_query(db_path: str, sql_path: str, top: int = 12) -> list[dict]:
    """Run one query under DuckDB's profiler and return its most expensive operators.

    The query runs as `create temp table ... as <sql>` on a read-only connection, so the file is
    not changed. Operator seconds are summed over threads.
    """
    sql = Path(sql_path).read_text().strip().rstrip(";")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "profile.json"
        with duckdb.connect(db_path, read_only=True) as con:
            con.execute("pragma enable_profiling = 'json'")
            con.execute(f"pragma profiling_output = '{out.as_posix()}'")
            started = time.perf_counter()
            con.execute(f"create temp table _profiled as {sql}")
            wall = time.perf_counter() - started
            con.execute("pragma disable_profiling")
        tree = json.loads(out.read_text())
    operators: list[dict] = []

    def walk(node: dict) -> None:
        extra = node.get("extra_info") or {}
        detail = {k: extra[k] for k in ("Projections", "Conditions", "Aggregates", "Table", "Join Type") if k in extra}
        operators.append({"operator": node.get("name"), "seconds": float(node.get("timing") or 0.0),
                          "rows": node.get("intermediate_rows"), "detail": str(detail)[:300]})
        for child in node.get("children", []):
            walk(child)

    for node in tree.get("operator", tree.get("children", [])):
        walk(node)
    total = sum(op["seconds"] for op in operators) or 1.0
    operators.sort(key=lambda op: op["seconds"], reverse=True)
    print(f"{Path(sql_path).name}: {wall:.1f} s wall, {total:.1f} s in operators")
    for op in operators[:top]:
        print(f"  {op['seconds']:7.2f} s {100 * op['seconds'] / total:5.1f}%  {op['operator']:<16} "
              f"rows={op['rows']}  {op['detail'][:150]}")
    return operators[:top]
