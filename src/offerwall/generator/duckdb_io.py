"""The generator's DuckDB side: its connection, Arrow tables in and out, and a background writer."""

from __future__ import annotations

import functools
import queue
import sys
import threading
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from tqdm import tqdm

from offerwall import OfferwallError

DUCKDB_MEMORY_LIMIT = "1GB"  # the generator's own DuckDB connection; keeps peak memory bounded
# The writer appends whole DuckDB row groups (122,880 rows, DuckDB's default row_group_size) and one
# thread per insert: an append that ends mid row group makes every later commit rewrite that partial
# group, and two insert threads each leave their own partial group. Aligned, single-threaded appends
# cost up to half the write CPU (most with small windows) and give a smaller file (docs/benchmark.md,
# "Generator: where its time goes").
ROW_GROUP_ROWS = 122_880
PROGRESS_BAR_WORK = 5_000_000  # users x days from which the progress bar shows even without a terminal


def to_arrow(cols: dict) -> pa.Table:
    """numpy columns (text as object or unicode arrays) -> an Arrow table."""
    out = {}
    for k, v in cols.items():
        if isinstance(v, (pa.Array, pa.ChunkedArray)):
            out[k] = v
        elif v.dtype == object or v.dtype.kind == "U":
            out[k] = pa.array(v.astype(object) if v.dtype.kind == "U" else v, pa.string())
        else:
            out[k] = pa.array(v)
    return pa.table(out)


def insert(con: duckdb.DuckDBPyConnection, target: str, table: pa.Table, select: str = "*") -> None:
    """Append an Arrow table to `target` (`select` maps its columns when they differ)."""
    con.register("_chunk", table)
    try:
        con.execute(f"insert into {target} select {select} from _chunk")
    finally:
        try:
            con.unregister("_chunk")
        except duckdb.Error:
            pass


def create_from(con: duckdb.DuckDBPyConnection, target: str, table: pa.Table) -> None:
    """Replace `target` with the contents of an Arrow table."""
    con.register("_chunk", table)
    try:
        con.execute(f"create or replace table {target} as select * from _chunk")
    finally:
        con.unregister("_chunk")


class BackgroundWriter:
    """Appends Arrow tables to DuckDB on a background thread, in order, while numpy builds the next batch.

    Rows are buffered per target and appended in whole row groups (ROW_GROUP_ROWS); close() appends the
    rest. Each target's rows keep their order, so the tables are the same as with one insert per call.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, rows_per_insert: int | None = None):
        self.con = con
        self.rows_per_insert = rows_per_insert or ROW_GROUP_ROWS
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.pending: dict[tuple[str, str], list[pa.Table]] = {}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _append(self, target: str, table: pa.Table, select: str) -> None:
        """Buffer `table`; insert the whole row groups buffered so far, keep the rest."""
        key = (target, select)
        parts = self.pending.setdefault(key, [])
        parts.append(table)
        buffered = sum(t.num_rows for t in parts)
        ready = buffered - buffered % self.rows_per_insert
        if ready:
            rows = pa.concat_tables(parts)
            insert(self.con, target, rows.slice(0, ready), select)
            rest = rows.slice(ready)
            self.pending[key] = [rest] if rest.num_rows else []

    def _flush(self) -> None:
        for (target, select), parts in self.pending.items():
            if parts:
                insert(self.con, target, pa.concat_tables(parts), select)
        self.pending.clear()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                if self.error is None:
                    try:
                        self._flush()
                    except BaseException as exc:  # re-raised by close() on the caller's thread
                        self.error = exc
                return
            if self.error is None:
                try:
                    if callable(item):
                        item(self.con)
                    else:
                        self._append(*item)
                except BaseException as exc:  # re-raised by close() on the caller's thread
                    self.error = exc

    def insert(self, target: str, table: pa.Table, select: str = "*") -> None:
        """Append `table` to `target` (buffered into whole row groups)."""
        if self.error is not None:
            raise self.error
        self.queue.put((target, table, select))

    def call(self, fn) -> None:
        """Run fn(connection) on the writer's thread, after what was queued before (e.g. a one-off table)."""
        if self.error is not None:
            raise self.error
        self.queue.put(fn)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def __enter__(self) -> "BackgroundWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()  # appends the buffered rest; raises the writer's own error
        else:  # the caller failed: stop the writer (nothing more is written), keep the caller's error
            self.error = self.error or exc
            self.queue.put(None)
            self.thread.join()


def read_arrays(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, np.ndarray]:
    """A query's result as numpy columns (text as object arrays, timestamps as int64 microseconds)."""
    t = con.sql(sql).to_arrow_table()
    out = {}
    for name in t.column_names:
        col = t.column(name)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            out[name] = np.array(col.to_pylist(), dtype=object)
        elif pa.types.is_timestamp(col.type):
            out[name] = col.cast(pa.int64()).to_numpy()
        else:
            out[name] = col.to_numpy(zero_copy_only=False)
    return out


def progress(total: int, users_x_days: int, desc: str) -> tqdm:
    """A progress bar over windows on stderr: shown on a terminal or for a long run."""
    show = sys.stderr.isatty() or users_x_days >= PROGRESS_BAR_WORK
    return tqdm(total=total, desc=desc, unit="window", disable=not show, file=sys.stderr, leave=False)


def connect(path: str | Path) -> duckdb.DuckDBPyConnection:
    """The generator's connection, with its memory limit; a file that cannot be opened is a user error."""
    try:
        con = duckdb.connect(str(path))
        con.execute(f"set memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        con.execute("set threads = 1")  # one insert thread: whole row groups (ROW_GROUP_ROWS)
        return con
    except duckdb.Error as exc:
        raise OfferwallError(f"cannot open DuckDB file {path}: {str(exc).splitlines()[0]}") from None


def duckdb_errors_are_user_errors(fn):
    """A DuckDB failure (disk full, file locked by another process...) becomes a one-line OfferwallError."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except duckdb.Error as exc:
            raise OfferwallError(f"DuckDB: {str(exc).splitlines()[0]}") from exc
    return wrapper
