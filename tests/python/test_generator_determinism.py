"""The generator's output is pinned: same arguments, same tables, row for row and in the same order.

The digests below were computed with the generator before its write path was made faster (one insert
per window, two DuckDB threads); the faster one (whole row groups, one thread) must give the very
same raw, labels and sim tables. A deliberate change of the generated data changes these digests:
recompute them with `digests()` and say why in the commit. Floats are hashed at 12 significant
digits: the sim tables' float columns come from numpy's exp/log, whose last bits differ between
CPUs (the first pins, taken on another machine, failed on an AVX-512 one for sim.offer_tasks
alone; the raw and labels tables, which users see, never differed).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from offerwall.generator import advance, duckdb_io, generate

ARGS = dict(users=600, days=20, seed=11, bad_rate=0.05, fraud_rate=0.05)
GENERATED = {
    "labels.bad_rows": "1bacfc752164cb93", "labels.fraud_users": "2f9ddaba01b5d04b",
    "raw.offer_tasks": "04035544c0dfb7fa", "raw.offers": "c68fa27308bddad7",
    "raw.ua_spend_daily": "78129dc4f55e2db1", "raw.user_offers": "bdee6381ca4d040f",
    "raw.users": "4ed3050c46bd5d6e", "sim.credits": "444bdaa798360291",
    "sim.offer_tasks": "43beaf3d7c28f085", "sim.offers": "aaaa52e760d56142",
    "sim.open_completions": "58164f2c00acf628", "sim.state": "b8c22cab8083300f",
    "sim.task_versions": "9ef5ceeed7f03d34", "sim.users": "ef988f4b6a837ec0",
}
ADVANCED_9_DAYS = {
    "labels.bad_rows": "abcde87c776b7767", "labels.fraud_users": "9e7b470f304ea3b3",
    "raw.offer_tasks": "041cf85389f6be39", "raw.offers": "8115cf3421dda73f",
    "raw.ua_spend_daily": "a1a95dcc9ae96d03", "raw.user_offers": "4e6ff0cf86e8ebe4",
    "raw.users": "67325cef37fa5007", "sim.credits": "a885126a3d162d96",
    "sim.offer_tasks": "52c0ff86f6dedbb1", "sim.offers": "76e3909db336b54c",
    "sim.open_completions": "1f0aa31b7e2d2f2e", "sim.state": "70ae04179079d338",
    "sim.task_versions": "5290c0b2d0aa857e", "sim.users": "a1a60bee5d1506a2",
}


def _stable(value):
    """Floats to 12 significant digits: numpy's exp/log/power give last-bit differences between
    CPUs (SIMD kernels), which are not a change of the generated data."""
    return f"{value:.12g}" if isinstance(value, float) else value


def digests(path: Path) -> dict[str, str]:
    """Per table of raw, labels and sim: sha256 of its rows in storage (insertion) order."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("select schema_name, table_name from duckdb_tables() "
                             "where schema_name in ('raw', 'labels', 'sim') order by 1, 2").fetchall()
        for schema, table in tables:
            h = hashlib.sha256()
            for row in con.execute(f"select * from {schema}.{table} order by rowid").fetchall():
                h.update(repr(tuple(_stable(v) for v in row)).encode())
            out[f"{schema}.{table}"] = h.hexdigest()[:16]
    return out


@pytest.mark.parametrize("rows_per_insert", [duckdb_io.ROW_GROUP_ROWS, 1000])
def test_generate_and_advance_give_the_pinned_tables(tmp_path, monkeypatch, rows_per_insert):
    # 1000 rows per insert: the writer's whole-group appends and its rest at close are exercised
    monkeypatch.setattr(duckdb_io, "ROW_GROUP_ROWS", rows_per_insert)
    path = tmp_path / "w.duckdb"
    generate(duckdb_path=path, **ARGS)
    assert digests(path) == GENERATED
    advance(days=9, duckdb_path=path)
    assert digests(path) == ADVANCED_9_DAYS


def test_background_writer_keeps_each_tables_rows_in_order(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create table a (x bigint)")
    con.execute("create table b (x bigint, y varchar)")
    sizes = [3, 0, 11, 5, 7, 1, 13]
    with duckdb_io.BackgroundWriter(con, rows_per_insert=4) as writer:
        start = 0
        for n in sizes:
            writer.insert("a", pa.table({"x": pa.array(range(start, start + n), pa.int64())}))
            writer.insert("b", pa.table({"v": pa.array([-i for i in range(start, start + n)], pa.int64())}),
                          "v, cast(v as varchar)")
            start += n
    assert [r[0] for r in con.execute("select x from a order by rowid").fetchall()] == list(range(start))
    assert con.execute("select x, y from b order by rowid").fetchall() == [(-i, str(-i)) for i in range(start)]
    con.close()


def test_background_writer_reports_a_failed_insert(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create table a (x bigint)")
    with pytest.raises(duckdb.Error):
        with duckdb_io.BackgroundWriter(con, rows_per_insert=4) as writer:
            writer.insert("a", pa.table({"x": [1, 2]}))
            writer.insert("missing_table", pa.table({"x": [1, 2]}))  # buffered: fails when flushed
    con.close()
