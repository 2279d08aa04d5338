"""`emit_v2`: write (generate) or extend (advance) schema raw_v2 of a DuckDB file from its v1 source."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import duckdb

from offerwall import OfferwallError
from offerwall.source_v2 import events, versions
from offerwall.source_v2.contract import RAW_V2_SCHEMA, V2_TABLES, create_table_ddl, export_v2_parquet

EPOCH = dt.datetime(1970, 1, 1)


def _state(con: duckdb.DuckDBPyConnection) -> tuple[int, dt.datetime]:
    try:
        row = con.execute("select seed, clock from sim.state").fetchone()
    except duckdb.CatalogException:
        row = None
    if row is None:
        raise OfferwallError("no simulator state (sim.state): run `offerwall generate` first")
    return int(row[0]), row[1]


def _v2_clock(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """The clock raw_v2 was last emitted at (None: no raw_v2 yet)."""
    try:
        row = con.execute(f"select clock from sim.v2_emitted").fetchone()
    except duckdb.CatalogException:
        return None
    return row[0] if row else None


def has_v2(duckdb_path: str | Path) -> bool:
    """Whether the source in `duckdb_path` carries raw_v2 (was generated with --source-model v2)."""
    if not Path(duckdb_path).exists():
        return False
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return _v2_clock(con) is not None


def drop_v2(duckdb_path: str | Path) -> None:
    """Remove raw_v2 (a v1 `generate` replaces the source: an old raw_v2 would describe another world)."""
    if Path(duckdb_path).exists():
        with duckdb.connect(str(duckdb_path)) as con:
            con.execute(f"drop schema if exists {RAW_V2_SCHEMA} cascade")


def emit_v2(duckdb_path: str | Path, *, fresh: bool, parquet_dir: str | Path | None = None) -> dict[str, int]:
    """Emit raw_v2 for the source in `duckdb_path` (see _emit_v2); DuckDB failures become one-line errors."""
    try:
        return _emit_v2(duckdb_path, fresh=fresh, parquet_dir=parquet_dir)
    except duckdb.Error as exc:
        raise OfferwallError(f"DuckDB: {str(exc).splitlines()[0]}") from exc


def _emit_v2(duckdb_path: str | Path, *, fresh: bool, parquet_dir: str | Path | None = None) -> dict[str, int]:
    """Emit raw_v2 for the source system in `duckdb_path`; return {table: rows added}.

    fresh=True (after `generate`): replace raw_v2 with the whole history up to the clock.
    fresh=False (after `advance`): append what the v1 source gained since raw_v2's own clock (one
    advance or several made with --source-model v1 in between); raw_v2 must exist.
    """
    t_begin = time.perf_counter()
    con = duckdb.connect(str(duckdb_path))
    try:
        seed, clock = _state(con)
        con.execute("begin")
        if fresh:
            con.execute(f"drop schema if exists {RAW_V2_SCHEMA} cascade")
            floor = EPOCH
        else:
            floor = _v2_clock(con)
            if floor is None:
                raise OfferwallError(
                    f"{duckdb_path} has no {RAW_V2_SCHEMA}: its source was generated with --source-model v1; "
                    "generate it again with --source-model v2")
        con.execute(f"create schema if not exists {RAW_V2_SCHEMA}")
        for table in V2_TABLES:
            con.execute(create_table_ddl(table))
        before = {t: con.execute(f"select count(*) from {RAW_V2_SCHEMA}.{t}").fetchone()[0] for t in V2_TABLES}
        con.execute(f"set variable v2_seed = {seed}")
        con.execute("set variable v2_clock = ?::timestamp", [clock])
        con.execute("set variable v2_floor = ?::timestamp", [floor])

        # users and spend keep their v1 shape: the v2 tables are their replica
        con.execute(f"delete from {RAW_V2_SCHEMA}.users")
        con.execute(f"insert into {RAW_V2_SCHEMA}.users select * from raw.users")
        con.execute(f"delete from {RAW_V2_SCHEMA}.ua_spend_daily")
        con.execute(f"insert into {RAW_V2_SCHEMA}.ua_spend_daily select * from raw.ua_spend_daily")
        # versions first: events reference them
        con.execute(versions.TASK_VERSIONS_SQL)
        con.execute(versions.OFFER_VERSIONS_SQL)
        con.execute(events.BATCH_SQL)
        con.execute(events.COMPLETION_EVENTS_SQL)
        con.execute(events.NEW_STARTS_SQL)
        con.execute(events.SESSIONS_SQL)
        con.execute(events.SHOWN_REWARD_SQL)
        con.execute(events.EXPERIENCE_EVENTS_SQL)
        con.execute(f"create or replace table sim.v2_emitted as select ?::timestamp as clock", [clock])
        added = {t: con.execute(f"select count(*) from {RAW_V2_SCHEMA}.{t}").fetchone()[0] - before[t]
                 for t in V2_TABLES}
        con.execute("commit")
    except BaseException:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass
        raise
    finally:
        con.close()
    if parquet_dir is not None:
        export_v2_parquet(duckdb_path, Path(parquet_dir) / RAW_V2_SCHEMA)
    elapsed = time.perf_counter() - t_begin
    print(f"offerwall v2: {added['user_offer_events']:,} events, {added['offer_task_versions']:,} task versions, "
          f"{added['offer_versions']:,} offer versions added to {RAW_V2_SCHEMA} in {elapsed:.1f} s", file=sys.stderr)
    return added
