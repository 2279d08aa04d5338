"""The BigQuery production path end to end, on the local BigQuery-API emulator.

generate (DuckDB) -> load-bigquery -> dbt build --target bigquery_emulator (seeds, snapshots,
models, data and unit tests) -> advance -> load-bigquery again -> dbt build again (incremental
merge and snapshot paths) and, after each build, every mart equals the DuckDB build of the same
raw data, row for row.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from bq_emulator import DBT, OFFERWALL, base_env, bq_client, bq_emulator, run, run_parallel  # noqa: F401

pytestmark = pytest.mark.emulator

# Small but complete: every raw table, bad rows and fraud patterns present.
GENERATE = ["--users", "200", "--days", "21", "--seed", "11", "--bad-rate", "0.02", "--fraud-rate", "0.05"]
ADVANCE_DAYS = "4"
SCHEMA_PREFIX = "ci"
RAW_DATASET = "raw"  # var raw_schema
# `cast(x as numeric)` is DECIMAL(18,3) on DuckDB and NUMERIC (9 decimals) on BigQuery, so a
# value derived from a rounded one (e.g. a median of minutes_to_complete) can differ in the
# third decimal. Anything beyond that is a real difference.
NUMERIC_ABS_TOL = 2e-3
NUMERIC_REL_TOL = 1e-6
# Surrogate keys that hash a timestamp's text (dbt snapshots' dbt_scd_id): each engine spells the
# timestamp differently, so the ids differ while the rows they name are the same. Left out of
# the comparison; the relationships tests check them on each engine.
ENGINE_SPECIFIC_ID_SUFFIX = "_version_id"


def normalise(value: Any) -> Any:
    """One spelling per value across engines (DuckDB rows vs BigQuery rows)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        # BigQuery has no NULL array (a NULL written to an ARRAY column reads back as []): an
        # empty array and NULL are the same value across the two engines.
        return tuple(normalise(v) for v in value) or None
    if isinstance(value, dict):
        return tuple(sorted((k, normalise(v)) for k, v in value.items()))
    return str(value)


def sort_key(row: tuple) -> tuple:
    """Order rows the same way on both engines: numbers coarsely (they may differ in the last
    decimals), everything else exactly."""
    return tuple(
        (0, round(v, 1), "") if isinstance(v, float) else (1, 0.0, "") if v is None else (2, 0.0, str(v))
        for v in row
    )


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=NUMERIC_REL_TOL, abs_tol=NUMERIC_ABS_TOL)
    return a == b


def differing_rows(d_rows: list[tuple], b_rows: list[tuple]) -> list[tuple[tuple, tuple]]:
    pairs = zip(sorted(d_rows, key=sort_key), sorted(b_rows, key=sort_key), strict=True)
    return [(d, b) for d, b in pairs if not all(same_value(x, y) for x, y in zip(d, b, strict=True))]


def mart_relations(target_path: Path) -> dict[str, tuple[str, str]]:
    """{model name: (schema, alias)} of every mart model in a build's manifest."""
    nodes = json.loads((target_path / "manifest.json").read_text())["nodes"].values()
    return {
        n["name"]: (n["schema"], n["alias"])
        for n in nodes
        if n["resource_type"] == "model" and n["fqn"][1] == "marts"
    }


# Known cross-engine differences, each with its reason (not compared, everything else is):
# the speed ratios of the learned anti-fraud model divide by a task type's median minutes, and
# the emulator's translation of BigQuery's median differs from DuckDB's on an even number of
# values, and the anomaly score is built from those features (issue 18 follow-up: one median
# definition that the emulator translates the same).
NOT_COMPARED = {"avg_speed_ratio", "speed_ratio_cv", "anomaly_score"}


def compared(columns: list[str]) -> list[int]:
    return [i for i, c in enumerate(columns)
            if not c.endswith(ENGINE_SPECIFIC_ID_SUFFIX) and c not in NOT_COMPARED]


def duckdb_table(db: Path, schema: str, table: str) -> tuple[list[str], list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        cur = con.execute(f'select * from "{schema}"."{table}"')
        columns = [d[0] for d in cur.description]
        keep = compared(columns)
        return columns, [tuple(normalise(row[i]) for i in keep) for row in cur.fetchall()]


def bigquery_table(client: Any, project: str, schema: str, table: str) -> tuple[list[str], list[tuple]]:
    result = client.query(f"select * from `{project}`.`{schema}`.`{table}`").result()
    columns = [f.name for f in result.schema]
    keep = [columns[i] for i in compared(columns)]
    return columns, [tuple(normalise(row[c]) for c in keep) for row in result]


def assert_marts_agree(db: Path, client: Any, project: str, duck_target: Path, bq_target: Path) -> int:
    duck_marts, bq_marts = mart_relations(duck_target), mart_relations(bq_target)
    assert duck_marts.keys() == bq_marts.keys()
    assert "fct_task_completions" in bq_marts
    total = 0
    problems = []
    for name in sorted(bq_marts):
        d_cols, d_rows = duckdb_table(db, *duck_marts[name])
        b_cols, b_rows = bigquery_table(client, project, *bq_marts[name])
        if d_cols != b_cols:
            problems.append(f"{name}: columns differ\n  duckdb   {d_cols}\n  bigquery {b_cols}")
            continue
        if len(d_rows) != len(b_rows):
            problems.append(f"{name}: {len(d_rows)} rows on DuckDB, {len(b_rows)} on BigQuery")
        elif diff := differing_rows(d_rows, b_rows):
            problems.append(
                f"{name}: {len(diff)} of {len(d_rows)} rows differ, e.g.\n  duckdb   {diff[0][0]}"
                f"\n  bigquery {diff[0][1]}\n  columns  {[c for c in d_cols if not c.endswith(ENGINE_SPECIFIC_ID_SUFFIX)]}"
            )
        total += len(d_rows)
    assert not problems, "\n".join(problems)
    return total


def test_bigquery_build_on_emulator_matches_duckdb(bq_emulator, tmp_path):  # noqa: F811
    db = tmp_path / "wh.duckdb"
    pq = tmp_path / "parquet"
    env = base_env(tmp_path, {**bq_emulator.env(), "DBT_SCHEMA": SCHEMA_PREFIX})
    project = bq_emulator.project
    client = bq_client(bq_emulator)
    load = [OFFERWALL, "load-bigquery", "--project", project, "--dataset", RAW_DATASET,
            "--duckdb", str(db), "--parquet", str(pq)]

    run([OFFERWALL, "generate", *GENERATE, "--duckdb", str(db)], env)
    completions_before = None
    for step in ("initial", "after advance"):
        if step == "after advance":
            run([OFFERWALL, "advance", "--days", ADVANCE_DAYS, "--duckdb", str(db)], env)
        run(load, env)
        duck_target = tmp_path / f"target-duckdb-{step.replace(' ', '-')}"
        bq_target = tmp_path / f"target-bq-{step.replace(' ', '-')}"
        run_parallel([  # side by side, each with its own log folder
            ([DBT, "build", "--target", "dev", "--target-path", str(duck_target)],
             {**env, "DBT_LOG_PATH": str(duck_target / "logs")}),
            ([DBT, "build", "--target", "bigquery_emulator", "--target-path", str(bq_target)],
             {**env, "DBT_LOG_PATH": str(bq_target / "logs")}),
        ])

        rows = assert_marts_agree(db, client, project, duck_target, bq_target)
        assert rows > 0

        fact = f"`{project}`.`{SCHEMA_PREFIX}_marts_core`.`fct_task_completions`"
        completions = next(iter(client.query(f"select count(*) as n from {fact}").result())).n
        assert completions > 0
        if completions_before is None:
            completions_before = completions
        else:
            # advance adds completions; the second build merged them into the existing table.
            assert completions > completions_before
            fact_sql = next((bq_target / "run").rglob("fct_task_completions.sql")).read_text().lower()
            assert "merge into" in fact_sql, "second build did not take the incremental merge path"

        # The snapshots hold the same history on both engines.
        for snap in ("snp_offerwall__offers", "snp_offerwall__offer_tasks"):
            with duckdb.connect(str(db), read_only=True) as con:
                d = con.execute(f"select count(*) from {SCHEMA_PREFIX}_snapshots.{snap}").fetchone()[0]
            b = next(iter(client.query(
                f"select count(*) as n from `{project}`.`{SCHEMA_PREFIX}_snapshots`.`{snap}`").result())).n
            assert d == b > 0, (step, snap, d, b)

    # The emulator target is the one place descriptions are not persisted (CI-only switch).
    nodes = json.loads((bq_target / "manifest.json").read_text())["nodes"].values()
    assert all(n["config"]["persist_docs"] == {"relation": False, "columns": False}
               for n in nodes if n["resource_type"] == "model")
    client.close()
