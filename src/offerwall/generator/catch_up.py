"""`offerwall advance --until DATE`: land every simulated day up to and including DATE, idempotently.

The orchestrator's daily partitions call this with the partition's date: a day already landed is
never landed twice (the simulator's clock says what is landed), and the days are always simulated
one at a time, so the raw tables after `--until D` are the same bytes however the days were split
into runs (one run over a week, or seven daily runs, in any order).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import duckdb

from offerwall import OfferwallError
from offerwall.generator import advance


def read_clock(duckdb_path: str | Path) -> dt.datetime:
    """The simulator's clock of a DuckDB file made by `offerwall generate`: every day before it is landed."""
    path = Path(duckdb_path)
    if not path.exists():
        raise OfferwallError(f"DuckDB file not found: {path} (run `offerwall generate` first)")
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            row = con.execute("select clock from sim.state").fetchone()
    except duckdb.CatalogException:
        row = None
    except duckdb.Error as exc:
        raise OfferwallError(f"DuckDB: {str(exc).splitlines()[0]}") from exc
    if row is None:
        raise OfferwallError(f"{path} has no simulator state (sim.state): run `offerwall generate` first")
    return row[0]


def advance_until(*, until: dt.date, duckdb_path: str | Path, parquet_dir: str | Path | None = None) -> int:
    """Land each day after the clock up to and including `until`, one day per `advance`; return
    how many days were landed (0 when `until` is already landed)."""
    landed = 0
    while True:
        clock = read_clock(duckdb_path)
        if clock.date() > until:
            break
        # the Parquet export, if asked for, is written once at the end (it is a full copy of raw)
        advance(days=1, duckdb_path=duckdb_path, parquet_dir=None)
        landed += 1
    if landed == 0:
        print(f"offerwall advance: {until.isoformat()} is already landed (clock {clock.isoformat()}), nothing to do",
              file=sys.stderr)
    if parquet_dir is not None:
        from offerwall.raw_io import export_raw_parquet

        export_raw_parquet(duckdb_path, parquet_dir)
    return landed
