"""The generator's own memory in schema sim (and the schemas it replaces), so that `advance` can
continue where the last run stopped: sim.state, the catalogue, the users, the credits and the
completions whose rows the replica has not copied yet.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pyarrow as pa

from offerwall import OfferwallError
from offerwall.generator._util import NEVER, from_us, ts_array
from offerwall.generator.duckdb_io import create_from, to_arrow
from offerwall.generator.raw_rows import OFFER_SIM_COLUMNS, TASK_SIM_COLUMNS
from offerwall.generator.replica import still_open
from offerwall.raw_io import LABELS_SCHEMA, RAW_SCHEMA, RAW_TABLES, create_table_ddl

SIM_SCHEMA = "sim"
# 2: sim.open_completions names its status timeline columns (settled_at, ..., reversed_loaded_at).
GENERATOR_VERSION = 2

# sim.open_completions: a completion with its planned status timeline, in table column order.
OPEN_COMPLETION_COLUMNS = {
    "id": "bigint", "user_idx": "bigint", "offer_id": "bigint", "offer_task_id": "bigint",
    "task_type_code": "bigint", "reward_coins": "bigint", "payout_cents": "bigint", "started_at": "bigint",
    "started_null": "boolean", "completed_at": "bigint", "rejected": "boolean", "settled_at": "bigint",
    "reversed_at": "bigint", "pending_loaded_at": "bigint", "settled_loaded_at": "bigint",
    "reversed_loaded_at": "bigint", "country_code": "bigint", "platform_code": "bigint", "ip": "ubigint",
    "device": "ubigint",
}
# Columns read back as int64 (a column of NEVER values can come back as another integer type).
OPEN_COMPLETION_INT64 = ("reversed_at", "reversed_loaded_at")


def create_schemas(con: duckdb.DuckDBPyConnection) -> None:
    """Drop and recreate raw, labels and sim with their empty tables; other schemas stay."""
    for schema in (RAW_SCHEMA, LABELS_SCHEMA, SIM_SCHEMA):
        con.execute(f"drop schema if exists {schema} cascade")
        con.execute(f"create schema {schema}")
    for table in RAW_TABLES:
        con.execute(create_table_ddl(table))
    con.execute(f"create table {LABELS_SCHEMA}.fraud_users (user_id varchar, fraud_type varchar)")
    con.execute(f"create table {LABELS_SCHEMA}.bad_rows (table_name varchar, row_id varchar, kind varchar)")
    columns = ", ".join(f"{name} {dtype}" for name, dtype in OPEN_COMPLETION_COLUMNS.items())
    con.execute(f"create table {SIM_SCHEMA}.open_completions ({columns})")
    con.execute(f"""create table {SIM_SCHEMA}.credits (
        id bigint, completed_at timestamp, credited_at timestamp, reversed_at timestamp)""")


def open_completions_table(comp: dict, rows: np.ndarray) -> pa.Table:
    """The completions at `rows` (a mask or positions) as sim.open_completions rows."""
    return to_arrow({k: comp[k][rows] for k in OPEN_COMPLETION_COLUMNS})


def keep_state(put, comp: dict, ids: np.ndarray, c_now: int) -> None:
    """Remember open completions (rows not yet replicated) and every credit (time, planned reversal)."""
    comp = dict(comp, id=ids)
    open_ = still_open(comp, c_now)
    if open_.any():
        put(f"{SIM_SCHEMA}.open_completions", open_completions_table(comp, open_))
    cred = ~comp["rejected"]
    put(f"{SIM_SCHEMA}.credits", pa.table({
        "id": pa.array(ids[cred], pa.int64()),
        "completed_at": ts_array(comp["completed_at"][cred]),
        "credited_at": ts_array(comp["settled_at"][cred]),
        "reversed_at": ts_array(comp["reversed_at"][cred], comp["reversed_at"][cred] == NEVER),
    }))


def store_catalog(con: duckdb.DuckDBPyConnection, offers: dict, tasks: dict) -> None:
    """Replace sim.offers and sim.offer_tasks with the clean current catalogue."""
    create_from(con, f"{SIM_SCHEMA}.offers", to_arrow({k: offers[k] for k in OFFER_SIM_COLUMNS}))
    create_from(con, f"{SIM_SCHEMA}.offer_tasks", to_arrow({k: tasks[k] for k in TASK_SIM_COLUMNS}))


def write_state(con: duckdb.DuckDBPyConnection, state: dict) -> None:
    """Replace sim.state: the clock, the next completion id and every parameter (as JSON)."""
    con.execute(f"create or replace table {SIM_SCHEMA}.state (seed bigint, clock timestamp, "
                "next_completion_id bigint, n_users bigint, advances integer, params varchar)")
    con.execute(f"insert into {SIM_SCHEMA}.state values (?, ?, ?, ?, ?, ?)", [
        state["seed"], from_us(state["clock_us"]), state["next_completion_id"], state["n_users"],
        state["advances"], json.dumps(state, sort_keys=True),
    ])


def read_state(con: duckdb.DuckDBPyConnection, path) -> dict:
    """The parameters of sim.state; a file this generator cannot continue is a one-line error."""
    try:
        rows = con.execute(f"select params from {SIM_SCHEMA}.state").fetchall()
    except duckdb.CatalogException:
        rows = []
    row = rows[0] if rows else None
    if row is None:
        raise OfferwallError(f"{path} has no simulator state (sim.state): run `offerwall generate` first")
    state = json.loads(row[0])
    if state.get("generator_version") != GENERATOR_VERSION:
        raise OfferwallError(f"{path} was made by generator version {state.get('generator_version')}, this is "
                             f"version {GENERATOR_VERSION}: run `offerwall generate` again")
    return state
