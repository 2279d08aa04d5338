"""`generate` and `advance`: play production into a DuckDB file (schemas raw, labels, sim)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import queue
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from tqdm import tqdm

from offerwall import OfferwallError
from offerwall.generator import catalog as catm
from offerwall.generator._util import (
    NEVER, US_PER_DAY, US_PER_HOUR, from_us, hex_strings, mix64, to_us, ts_array,
)
from offerwall.generator.activity import Catalog, simulate_window
from offerwall.generator.population import (
    CHANNELS, FRAUD_TYPES, HOUSEHOLD_SHARE, build_users, ua_spend, user_id_strings_u64,
)
from offerwall.generator.replica import (
    ABSURD_AMOUNT, UNKNOWN_ID_BASE, loaded_after, pick_bad, replica_events, still_open, user_offer_rows,
)
from offerwall.raw_io import LABELS_SCHEMA, RAW_SCHEMA, RAW_TABLES, create_table_ddl, export_raw_parquet

SIM_SCHEMA = "sim"
DEFAULT_START = dt.date(2026, 1, 1)
WINDOW_DAYS = 7
SIGNUPS_PER_BATCH_DAY = 150_000  # a generate batch spans the days in which about this many users sign up (1-7)
DUCKDB_MEMORY_LIMIT = "1GB"  # the generator's own DuckDB connection; keeps peak memory bounded
GENERATOR_VERSION = 1

OFFER_BAD_KINDS = np.array(["malformed_json", "unknown_status"], dtype=object)
TASK_BAD_KINDS = np.array(["null_key", "unknown_fk", "negative_amount", "absurd_amount", "unknown_status",
                           "conflicting_duplicate"], dtype=object)
USER_BAD_KINDS = np.array(["unknown_fk"], dtype=object)
SPEND_BAD_KINDS = np.array(["negative_amount", "absurd_amount"], dtype=object)
MALFORMED_JSON = np.array(['["android","ios"', "android, ios", '["US" "DE"]', "[US,GB]", '{"US"}', "['ios']"],
                          dtype=object)

_OFFER_SIM_COLS = ["offer_id", "name", "advertiser", "provider", "category_code", "category", "platforms",
                   "countries", "elig_platforms", "elig_countries", "margin", "popularity", "status",
                   "created_at", "updated_at", "inactive_from"]
_TASK_SIM_COLS = ["task_id", "offer_id", "position", "title", "task_type_code", "task_type", "reward_coins",
                  "payout_cents", "status", "created_at", "updated_at", "reach", "step_median_us"]


# ----------------------------------------------------------------------------------------------
# small IO helpers
def _arrow(cols: dict) -> pa.Table:
    out = {}
    for k, v in cols.items():
        if isinstance(v, (pa.Array, pa.ChunkedArray)):
            out[k] = v
        elif v.dtype == object or v.dtype.kind == "U":
            out[k] = pa.array(v.astype(object) if v.dtype.kind == "U" else v, pa.string())
        else:
            out[k] = pa.array(v)
    return pa.table(out)


def _insert(con: duckdb.DuckDBPyConnection, target: str, table: pa.Table, select: str = "*") -> None:
    con.register("_chunk", table)
    try:
        con.execute(f"insert into {target} select {select} from _chunk")
    finally:
        try:
            con.unregister("_chunk")
        except duckdb.Error:
            pass


def _create_from(con: duckdb.DuckDBPyConnection, target: str, table: pa.Table) -> None:
    con.register("_chunk", table)
    try:
        con.execute(f"create or replace table {target} as select * from _chunk")
    finally:
        con.unregister("_chunk")


class _Writer:
    """Inserts Arrow tables into DuckDB on a background thread, in order, while numpy builds the next batch."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is None:
                try:
                    _insert(self.con, *item)
                except BaseException as exc:  # re-raised by close() on the caller's thread
                    self.error = exc

    def insert(self, target: str, table: pa.Table, select: str = "*") -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((target, table, select))

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def __enter__(self) -> "_Writer":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()  # waits for the last batch; raises the writer's own error
        else:  # the caller failed: stop the writer, keep the caller's error
            self.error = self.error or exc
            self.queue.put(None)
            self.thread.join()


def _read(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, np.ndarray]:
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


def _ts(us: np.ndarray) -> pa.Array:
    return ts_array(us)


def _progress(total: int, long_work: bool, desc: str) -> tqdm:
    show = sys.stderr.isatty() or long_work
    return tqdm(total=total, desc=desc, unit="window", disable=not show, file=sys.stderr, leave=False)


# ----------------------------------------------------------------------------------------------
# raw rows of the small tables
def _offer_rows(rng: np.random.Generator, offers: dict, sel: np.ndarray, clock: int, bad_rate: float,
                ensure_kinds: bool) -> tuple[pa.Table, dict]:
    o = {k: offers[k][sel] for k in _OFFER_SIM_COLS}
    n = len(o["offer_id"])
    platforms, countries, status = o["platforms"].copy(), o["countries"].copy(), o["status"].copy()
    rows, kinds = pick_bad(rng, n, bad_rate, OFFER_BAD_KINDS) if ensure_kinds else _random_bad(rng, n, bad_rate, OFFER_BAD_KINDS)
    mj = rows[kinds == "malformed_json"]
    which = rng.random(len(mj)) < 0.5
    platforms[mj[which]] = MALFORMED_JSON[rng.integers(0, 2, int(which.sum()))]
    countries[mj[~which]] = MALFORMED_JSON[rng.integers(2, len(MALFORMED_JSON), int((~which).sum()))]
    us = rows[kinds == "unknown_status"]
    status[us] = np.array(["live", "archived", "deleted"], dtype=object)[rng.integers(0, 3, len(us))]
    table = pa.table({
        "id": pa.array(o["offer_id"], pa.int64()),
        "name": pa.array(o["name"].astype(object), pa.string()),
        "advertiser": pa.array(o["advertiser"].astype(object), pa.string()),
        "provider": pa.array(o["provider"].astype(object), pa.string()),
        "category": pa.array(o["category"].astype(object), pa.string()),
        "platforms": pa.array(platforms, pa.string()),
        "countries": pa.array(countries, pa.string()),
        "status": pa.array(status, pa.string()),
        "created_at": _ts(o["created_at"]),
        "updated_at": _ts(o["updated_at"]),
        "_loaded_at": _ts(loaded_after(rng, o["updated_at"], clock)),
    })
    return table, {"table_name": "offers", "row_id": o["offer_id"][rows], "kind": kinds}


def _task_rows(rng: np.random.Generator, tasks: dict, sel: np.ndarray, clock: int, bad_rate: float,
               ensure_kinds: bool) -> tuple[pa.Table, dict]:
    t = {k: tasks[k][sel] for k in _TASK_SIM_COLS}
    n = len(t["task_id"])
    offer_id, reward, payout = t["offer_id"].copy(), t["reward_coins"].copy(), t["payout_cents"].copy()
    status = t["status"].copy()
    offer_null = np.zeros(n, dtype=bool)
    rows, kinds = pick_bad(rng, n, bad_rate, TASK_BAD_KINDS) if ensure_kinds else _random_bad(rng, n, bad_rate, TASK_BAD_KINDS)
    offer_null[rows[kinds == "null_key"]] = True
    r = rows[kinds == "unknown_fk"]
    offer_id[r] = UNKNOWN_ID_BASE + rng.integers(0, 1_000_000, len(r))
    r = rows[kinds == "negative_amount"]
    half = rng.random(len(r)) < 0.5
    reward[r[half]] *= -1
    payout[r[~half]] *= -1
    r = rows[kinds == "absurd_amount"]
    half = rng.random(len(r)) < 0.5
    reward[r[half]] = ABSURD_AMOUNT
    payout[r[~half]] = ABSURD_AMOUNT
    r = rows[kinds == "unknown_status"]
    status[r] = np.array(["deleted", "inactive", "ACTIVE!"], dtype=object)[rng.integers(0, 3, len(r))]
    loaded = loaded_after(rng, t["updated_at"], clock)
    # conflicting duplicates: a second row, same id/updated_at/_loaded_at, other amounts
    dup = rows[kinds == "conflicting_duplicate"]
    sel2 = np.concatenate([np.arange(n), dup])
    factor = rng.uniform(1.3, 2.5, len(dup))
    reward = np.concatenate([reward, np.round(reward[dup] * factor).astype(np.int64)])
    payout = np.concatenate([payout, np.round(payout[dup] * factor).astype(np.int64)])
    table = pa.table({
        "id": pa.array(t["task_id"][sel2], pa.int64()),
        "offer_id": pa.array(offer_id[sel2], pa.int64(), mask=offer_null[sel2]),
        "position": pa.array(t["position"][sel2], pa.int32()),
        "title": pa.array(t["title"][sel2].astype(object), pa.string()),
        "task_type": pa.array(t["task_type"][sel2].astype(object), pa.string()),
        "reward_coins": pa.array(reward, pa.int64()),
        "payout_cents": pa.array(payout, pa.int64()),
        "status": pa.array(status[sel2], pa.string()),
        "created_at": _ts(t["created_at"][sel2]),
        "updated_at": _ts(t["updated_at"][sel2]),
        "_loaded_at": _ts(loaded[sel2]),
    })
    return table, {"table_name": "offer_tasks", "row_id": t["task_id"][rows], "kind": kinds}


def _random_bad(rng: np.random.Generator, n: int, rate: float, kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if rate <= 0 or n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    rows = np.flatnonzero(rng.random(n) < rate)
    return rows, kinds[rng.integers(0, len(kinds), len(rows))]


def _user_rows(rng: np.random.Generator, users: dict, sel: np.ndarray, user_pool: pa.Array, clock: int,
               bad_rate: float, ensure_kinds: bool, seed: int) -> tuple[pa.Table, dict]:
    idx = users["user_idx"][sel]
    n = len(idx)
    ref = users["referrer_idx"][sel]
    has_ref = ref >= 0
    ref_ids = user_pool.take(pa.array(np.where(has_ref, ref, 0)))
    rows, kinds = (pick_bad if ensure_kinds else _random_bad)(rng, n, bad_rate, USER_BAD_KINDS)
    ghost = np.zeros(n, dtype=bool)
    ghost[rows] = True
    if ghost.any():
        ghosts = hex_strings(mix64(idx.astype(np.uint64), seed * 7919 + 78), 16, "u_")
        ref_ids = pa.compute.if_else(pa.array(ghost), ghosts, ref_ids)
    ref_ids = pa.compute.if_else(pa.array(has_ref | ghost), ref_ids, pa.scalar(None, pa.string()))
    signup = users["signup_at"][sel]
    table = pa.table({
        "id": user_pool.take(pa.array(idx)),
        "created_at": _ts(signup),
        "country": pa.array(catm.COUNTRIES[users["country_code"][sel]].astype(object), pa.string()),
        "platform": pa.array(catm.PLATFORMS[users["platform_code"][sel]].astype(object), pa.string()),
        "acquisition_channel": pa.array(CHANNELS[users["channel_code"][sel]].astype(object), pa.string()),
        "referrer_user_id": ref_ids,
        "_loaded_at": _ts(loaded_after(rng, signup, clock)),
    })
    return table, {"table_name": "users", "row_id": np.array(table.column("id").to_pylist(), dtype=object)[rows]
                   if len(rows) else np.empty(0, dtype=object), "kind": kinds}


def _spend_rows(seed: int, users: dict, day0: int, day1: int, c_prev: int, c_now: int, bad_rate: float,
                ensure_kinds: bool) -> tuple[pa.Table, dict]:
    """Spend rows for days [day0, day1) whose export lands in (c_prev, c_now]; per-day randomness."""
    load_of = lambda day: (day + 1) * US_PER_DAY + (1 + day % 3) * US_PER_HOUR  # noqa: E731  export time
    days = [d for d in range(day0, day1) if c_prev < load_of(d) <= c_now]
    if days:
        cols = ua_spend(seed, users, days[0], days[-1] + 1)
        cols["loaded"] = (cols["spend_day"] + 1) * US_PER_DAY + (1 + cols["spend_day"] % 3) * US_PER_HOUR
    else:
        cols = {k: np.empty(0, dtype=np.int64) for k in ("spend_day", "spend_cents", "loaded")}
        cols.update({k: np.empty(0, dtype=object) for k in ("channel", "country", "platform")})
    n = len(cols["spend_day"])
    rng = np.random.default_rng([seed, 4, day0, day1])
    rows, kinds = (pick_bad if ensure_kinds else _random_bad)(rng, n, bad_rate, SPEND_BAD_KINDS)
    cents = cols["spend_cents"].copy()
    cents[rows[kinds == "negative_amount"]] *= -1
    cents[rows[kinds == "absurd_amount"]] = ABSURD_AMOUNT * 100
    table = pa.table({
        "spend_date": pa.array(cols["spend_day"].astype(np.int32), pa.date32()),
        "channel": pa.array(cols["channel"].astype(object), pa.string()),
        "country": pa.array(cols["country"].astype(object), pa.string()),
        "platform": pa.array(cols["platform"].astype(object), pa.string()),
        "spend_cents": pa.array(cents, pa.int64()),
        "_loaded_at": _ts(cols["loaded"]),
    })
    days = (cols["spend_day"][rows]).astype("datetime64[D]").astype(str) if len(rows) else np.empty(0, dtype=str)
    row_id = np.char.add(np.char.add(np.char.add(np.char.add(np.char.add(np.char.add(
        days.astype(str), "|"), cols["channel"][rows].astype(str)), "|"), cols["country"][rows].astype(str)), "|"),
        cols["platform"][rows].astype(str)) if len(rows) else np.empty(0, dtype=object)
    return table, {"table_name": "ua_spend_daily", "row_id": row_id, "kind": kinds}


_SPEND_SELECT = ("spend_date, channel, country, platform, cast(spend_cents / 100.0 as decimal(18, 2)), _loaded_at")


def _labels_table(parts: list[dict]) -> pa.Table:
    names, ids, kinds = [], [], []
    for p in parts:
        m = len(p["kind"])
        names.append(np.full(m, p["table_name"], dtype=object))
        ids.append(np.asarray(p["row_id"]).astype(str).astype(object))
        kinds.append(np.asarray(p["kind"], dtype=object))
    return pa.table({
        "table_name": pa.array(np.concatenate(names) if names else [], pa.string()),
        "row_id": pa.array(np.concatenate(ids) if ids else [], pa.string()),
        "kind": pa.array(np.concatenate(kinds) if kinds else [], pa.string()),
    })


# ----------------------------------------------------------------------------------------------
# completions: simulate, id, emit replica rows
_OPEN_COLS = ["id", "user_idx", "offer_id", "offer_task_id", "task_type_code", "reward_coins", "payout_cents",
              "started_at", "started_null", "completed_at", "rejected", "e1", "e2", "l0", "l1", "l2",
              "country_code", "platform_code", "ip", "device"]


def _emit(put, rng, comp: dict, ids: np.ndarray, c_prev: int, c_now: int, user_pool: pa.Array, bad_rate: float,
          seed: int) -> tuple[int, dict]:
    idx, ev = replica_events(comp, ids, c_prev, c_now)
    table, labels = user_offer_rows(rng, comp, ids, idx, ev, user_pool, bad_rate, seed, c_now)
    if table.num_rows:
        put(f"{RAW_SCHEMA}.user_offers", table)
    return table.num_rows, {"table_name": "user_offers", "row_id": labels["row_id"], "kind": labels["kind"]}


def _keep_state(put, comp: dict, ids: np.ndarray, c_now: int) -> None:
    """Remember open completions (rows not yet replicated) and every credit (time, planned reversal)."""
    comp = dict(comp, id=ids)
    open_ = still_open(comp, c_now)
    if open_.any():
        put(f"{SIM_SCHEMA}.open_completions", _arrow({k: comp[k][open_] for k in _OPEN_COLS}))
    cred = ~comp["rejected"]
    put(f"{SIM_SCHEMA}.credits", pa.table({
        "id": pa.array(ids[cred], pa.int64()),
        "completed_at": _ts(comp["completed_at"][cred]),
        "credited_at": _ts(comp["e1"][cred]),
        "reversed_at": ts_array(comp["e2"][cred], comp["e2"][cred] == NEVER),
    }))


def _create_schemas(con) -> None:
    for schema in (RAW_SCHEMA, LABELS_SCHEMA, SIM_SCHEMA):
        con.execute(f"drop schema if exists {schema} cascade")
        con.execute(f"create schema {schema}")
    for table in RAW_TABLES:
        con.execute(create_table_ddl(table))
    con.execute(f"create table {LABELS_SCHEMA}.fraud_users (user_id varchar, fraud_type varchar)")
    con.execute(f"create table {LABELS_SCHEMA}.bad_rows (table_name varchar, row_id varchar, kind varchar)")
    con.execute(f"""create table {SIM_SCHEMA}.open_completions (
        id bigint, user_idx bigint, offer_id bigint, offer_task_id bigint, task_type_code bigint,
        reward_coins bigint, payout_cents bigint, started_at bigint, started_null boolean,
        completed_at bigint, rejected boolean, e1 bigint, e2 bigint, l0 bigint, l1 bigint, l2 bigint,
        country_code bigint, platform_code bigint, ip ubigint, device ubigint)""")
    con.execute(f"""create table {SIM_SCHEMA}.credits (
        id bigint, completed_at timestamp, credited_at timestamp, reversed_at timestamp)""")


def _user_pool(users: dict, seed: int) -> pa.Array:
    return hex_strings(user_id_strings_u64(users["user_idx"], seed), 16, "u_")


def _fraud_labels(users: dict, sel: np.ndarray, user_pool: pa.Array) -> pa.Table:
    f = sel & (users["fraud_code"] >= 0)
    return pa.table({
        "user_id": user_pool.take(pa.array(users["user_idx"][f])),
        "fraud_type": pa.array(FRAUD_TYPES[users["fraud_code"][f]].astype(object), pa.string()),
    })


def _store_catalog(con, offers: dict, tasks: dict) -> None:
    _create_from(con, f"{SIM_SCHEMA}.offers", _arrow({k: offers[k] for k in _OFFER_SIM_COLS}))
    _create_from(con, f"{SIM_SCHEMA}.offer_tasks", _arrow({k: tasks[k] for k in _TASK_SIM_COLS}))


def _validate(users: int, days: int, seed: int, bad_rate: float, fraud_rate: float) -> None:
    if users < 1:
        raise OfferwallError(f"--users must be at least 1, got {users}")
    if days < 1:
        raise OfferwallError(f"--days must be at least 1, got {days}")
    if seed < 0:
        raise OfferwallError(f"--seed must not be negative, got {seed}")
    for name, rate in (("--bad-rate", bad_rate), ("--fraud-rate", fraud_rate)):
        if not 0.0 <= rate <= 1.0:
            raise OfferwallError(f"{name} must be between 0 and 1, got {rate}")


def _connect(path: str | Path) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(path))
        con.execute(f"set memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        return con
    except duckdb.Error as exc:
        raise OfferwallError(f"cannot open DuckDB file {path}: {str(exc).splitlines()[0]}") from None


# ----------------------------------------------------------------------------------------------
def _duckdb_errors_are_user_errors(fn):
    """A DuckDB failure (disk full, file locked by another process...) becomes a one-line OfferwallError."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except duckdb.Error as exc:
            raise OfferwallError(f"DuckDB: {str(exc).splitlines()[0]}") from exc
    return wrapper


@_duckdb_errors_are_user_errors
def generate(*, users: int, days: int, seed: int, bad_rate: float, fraud_rate: float,
             start: dt.date | None = None, duckdb_path: str | Path = "warehouse.duckdb",
             parquet_dir: str | Path | None = None) -> dict:
    """Generate a fresh source system: the five raw tables, labels and the simulator's state.

    Simulates [start, start + days); the simulation clock is the end. Same arguments, same data.
    Replaces the schemas raw, labels and sim of the DuckDB file; other schemas are left alone.
    """
    _validate(users, days, seed, bad_rate, fraud_rate)
    t_begin = time.perf_counter()
    start = start or DEFAULT_START
    t0 = to_us(start)
    clock = t0 + days * US_PER_DAY
    rng = np.random.default_rng([seed, 0])

    # catalogue, with its edit history over the simulated period
    n_offers = int(np.clip(round(3 * math.sqrt(users)), 120, 3000))
    offers = catm.build_offers(rng, n_offers, 1, t0 - 365 * US_PER_DAY, t0 - US_PER_DAY,
                               (t0, max(t0 + 1, clock - US_PER_DAY)), 0.2)
    tasks = catm.build_tasks(rng, offers, 1)
    versions = [catm.initial_versions(tasks)]
    new_versions, _ = catm.edit_catalog(rng, offers, tasks, t0, clock, days / 7.0)
    versions += new_versions
    vers = {k: np.concatenate([v[k] for v in versions]) for k in versions[0]}
    cat = Catalog(offers, tasks, vers)

    pop = build_users(rng, users, 0, t0, clock, seed, fraud_rate, int(users * HOUSEHOLD_SHARE) + 1)
    pool = _user_pool(pop, seed)

    try:
        Path(duckdb_path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OfferwallError(f"cannot create the folder of {duckdb_path}: {exc.strerror}") from None
    con = _connect(duckdb_path)
    bad_parts: list[dict] = []
    try:
        # Replace raw/labels/sim in one short transaction, then append batch by batch (auto-commit keeps
        # DuckDB's memory bounded); sim.state is written last, so a failed run never looks like a source.
        con.execute("begin")
        _create_schemas(con)
        con.execute("commit")
        next_id = 1
        n_rows = 0
        # a week per batch, fewer days when signups are dense (bounded memory per batch)
        window_days = int(np.clip(days * SIGNUPS_PER_BATCH_DAY // users, 1, WINDOW_DAYS))
        windows = list(range(t0, clock, window_days * US_PER_DAY))
        long_work = users * days >= 5_000_000
        writer = _Writer(con)

        def simulate(w0: int) -> tuple[np.random.Generator, dict]:
            wrng = np.random.default_rng([seed, 1, w0 // US_PER_DAY])
            w1 = min(w0 + window_days * US_PER_DAY, clock)
            return wrng, simulate_window(wrng, pop, cat, w0, w1, clock, seed)

        # three stages in flight: simulate week k+1 | build replica rows of week k | DuckDB appends week k-1
        with writer, _progress(len(windows), long_work, "generate") as bar, ThreadPoolExecutor(1) as pool_exec:
            ahead = pool_exec.submit(simulate, windows[0])
            for i in range(len(windows)):
                wrng, comp = ahead.result()
                if i + 1 < len(windows):
                    ahead = pool_exec.submit(simulate, windows[i + 1])
                ids = next_id + np.arange(len(comp["user_idx"]), dtype=np.int64)
                next_id += len(ids)
                rows, labels = _emit(writer.insert, wrng, comp, ids, -1, clock, pool, bad_rate, seed)
                n_rows += rows
                bad_parts.append(labels)
                _keep_state(writer.insert, comp, ids, clock)
                del comp
                bar.update(1)
                bar.set_postfix(rows=n_rows)

        everything = np.ones(len(pop["user_idx"]), dtype=bool)
        srng = np.random.default_rng([seed, 5])
        t_off, l_off = _offer_rows(srng, offers, np.arange(n_offers), clock, bad_rate, True)
        t_task, l_task = _task_rows(srng, tasks, np.arange(len(tasks["task_id"])), clock, bad_rate, True)
        t_user, l_user = _user_rows(srng, pop, np.flatnonzero(everything), pool, clock, bad_rate, True, seed)
        t_spend, l_spend = _spend_rows(seed, pop, t0 // US_PER_DAY, clock // US_PER_DAY, -1, clock, bad_rate, True)
        _insert(con, f"{RAW_SCHEMA}.offers", t_off)
        _insert(con, f"{RAW_SCHEMA}.offer_tasks", t_task)
        _insert(con, f"{RAW_SCHEMA}.users", t_user)
        _insert(con, f"{RAW_SCHEMA}.ua_spend_daily", t_spend, _SPEND_SELECT)
        _insert(con, f"{LABELS_SCHEMA}.fraud_users", _fraud_labels(pop, everything, pool))
        _insert(con, f"{LABELS_SCHEMA}.bad_rows", _labels_table([l_off, l_task, l_user, l_spend] + bad_parts))

        _store_catalog(con, offers, tasks)
        _create_from(con, f"{SIM_SCHEMA}.task_versions", _arrow(vers))
        _create_from(con, f"{SIM_SCHEMA}.users", _arrow(pop))
        state = {
            "generator_version": GENERATOR_VERSION, "seed": seed, "users": users, "days": days,
            "bad_rate": bad_rate, "fraud_rate": fraud_rate, "start": start.isoformat(),
            "clock": from_us(clock).isoformat(), "clock_us": clock, "next_completion_id": next_id,
            "n_users": len(pop["user_idx"]), "household_pool": int(users * HOUSEHOLD_SHARE) + 1,
            "advances": 0,
        }
        _write_state(con, state)
        con.execute("checkpoint")
    finally:
        con.close()
    if parquet_dir is not None:
        export_raw_parquet(duckdb_path, parquet_dir)
    elapsed = time.perf_counter() - t_begin
    print(f"offerwall generate: {n_rows:,} user_offers rows in {elapsed:.1f} s "
          f"({n_rows / max(elapsed, 1e-9):,.0f} rows/s), clock {from_us(clock).isoformat()}", file=sys.stderr)
    return state


def _write_state(con, state: dict) -> None:
    con.execute(f"create or replace table {SIM_SCHEMA}.state (seed bigint, clock timestamp, "
                "next_completion_id bigint, n_users bigint, advances integer, params varchar)")
    con.execute(f"insert into {SIM_SCHEMA}.state values (?, ?, ?, ?, ?, ?)", [
        state["seed"], from_us(state["clock_us"]), state["next_completion_id"], state["n_users"],
        state["advances"], json.dumps(state, sort_keys=True),
    ])


def _read_state(con, path) -> dict:
    try:
        rows = con.execute(f"select params from {SIM_SCHEMA}.state").fetchall()
    except duckdb.CatalogException:
        rows = []
    row = rows[0] if rows else None
    if row is None:
        raise OfferwallError(f"{path} has no simulator state (sim.state): run `offerwall generate` first")
    return json.loads(row[0])


@_duckdb_errors_are_user_errors
def advance(*, days: int, duckdb_path: str | Path = "warehouse.duckdb", parquet_dir: str | Path | None = None) -> dict:
    """Move an existing source system forward `days` days the way production would."""
    if days < 1:
        raise OfferwallError(f"--days must be at least 1, got {days}")
    path = Path(duckdb_path)
    if not path.exists():
        raise OfferwallError(f"DuckDB file not found: {path} (run `offerwall generate` first)")
    t_begin = time.perf_counter()
    con = _connect(path)
    try:
        state = _read_state(con, path)
        seed = state["seed"]
        bad_rate = state["bad_rate"]
        c_prev = state["clock_us"]
        c_now = c_prev + days * US_PER_DAY
        rng = np.random.default_rng([seed, 3, c_prev // US_PER_DAY, days])

        pop = _read(con, f"select * from {SIM_SCHEMA}.users order by user_idx")
        offers = _read(con, f"select * from {SIM_SCHEMA}.offers order by offer_id")
        tasks = _read(con, f"select * from {SIM_SCHEMA}.offer_tasks order by task_id")
        vers = _read(con, f"select * from {SIM_SCHEMA}.task_versions")
        bad_ids = {t: set(r[0] for r in con.execute(
            f"select row_id from {LABELS_SCHEMA}.bad_rows where table_name = ?", [t]).fetchall())
            for t in ("offers", "offer_tasks")}

        # new signups at the recent daily rate
        per_day = state["users"] / state["days"]
        n_new = int(rng.poisson(per_day * days * 1.004 ** (state["advances"] * days)))
        n_old = len(pop["user_idx"])
        new = build_users(rng, n_new, n_old, c_prev, c_now, seed, state["fraud_rate"], state["household_pool"],
                          first_farm=int(pop["farm_group"].max(initial=-1)) + 1)
        # referrals of new users may point to any earlier user (build_users uses indexes < own index)
        pop = {k: np.concatenate([pop[k], new[k].astype(pop[k].dtype)]) for k in pop}
        pool = _user_pool(pop, seed)

        # catalogue edits in place (rows already made bad stay as they are) and new offers
        old_off = {k: v.copy() for k, v in offers.items()}
        old_task = {k: v.copy() for k, v in tasks.items()}
        keep_bad_o = np.isin(offers["offer_id"].astype(str), list(bad_ids["offers"]))
        keep_bad_t = np.isin(tasks["task_id"].astype(str), list(bad_ids["offer_tasks"]))
        new_versions, _ = catm.edit_catalog(rng, offers, tasks, c_prev, c_now, days / 7.0)
        for k in offers:  # undo edits on offers/tasks whose raw row is a deliberately bad one
            offers[k] = np.where(keep_bad_o, old_off[k], offers[k]) if offers[k].ndim == 1 else offers[k]
        for k in tasks:
            tasks[k] = np.where(keep_bad_t, old_task[k], tasks[k])
        new_versions = [{k: v[~np.isin(nv["task_id"].astype(str), list(bad_ids["offer_tasks"]))]
                         for k, v in nv.items()} for nv in new_versions]
        n_new_off = int(rng.poisson(len(offers["offer_id"]) * 0.02 * days / 7.0))
        next_offer = int(offers["offer_id"].max()) + 1
        next_task = int(tasks["task_id"].max()) + 1
        nof = catm.build_offers(rng, n_new_off, next_offer, c_prev, c_now, None, 0.0)
        ntk = catm.build_tasks(rng, nof, next_task)
        offers_all = {k: np.concatenate([offers[k], nof[k].astype(offers[k].dtype)]) for k in _OFFER_SIM_COLS}
        tasks_all = {k: np.concatenate([tasks[k], ntk[k].astype(tasks[k].dtype)]) for k in _TASK_SIM_COLS}
        vlist = [vers] + new_versions + [catm.initial_versions(ntk)]
        vers_all = {k: np.concatenate([v[k].astype(vers[k].dtype) for v in vlist]) for k in vers}
        cat = Catalog(offers_all, tasks_all, vers_all)

        con.execute("begin")
        bad_parts: list[dict] = []
        n_rows = 0

        def put(target: str, table: pa.Table, select: str = "*") -> None:
            _insert(con, target, table, select)

        # rows of completions from before that the replica copies now
        old = _read(con, f"select * from {SIM_SCHEMA}.open_completions order by id")
        if len(old["id"]):
            for k in ("e2", "l2"):
                old[k] = old[k].astype(np.int64)
            orng = np.random.default_rng([seed, 6, c_prev // US_PER_DAY])
            rows, labels = _emit(put, orng, old, old["id"], c_prev, c_now, pool, bad_rate, seed)
            n_rows += rows
            bad_parts.append(labels)
            con.execute(f"delete from {SIM_SCHEMA}.open_completions")
            reopen = still_open(old, c_now)
            if reopen.any():
                _insert(con, f"{SIM_SCHEMA}.open_completions", _arrow({k: old[k][reopen] for k in _OPEN_COLS}))

        next_id = state["next_completion_id"]
        w0 = c_prev
        n_windows = -(-(c_now - c_prev) // (WINDOW_DAYS * US_PER_DAY))
        bar = _progress(n_windows, len(pop["user_idx"]) * days >= 5_000_000, "advance")
        while w0 < c_now:
            bar.update(1)
            w1 = min(w0 + WINDOW_DAYS * US_PER_DAY, c_now)
            wrng = np.random.default_rng([seed, 1, w0 // US_PER_DAY])
            comp = simulate_window(wrng, pop, cat, w0, w1, c_now, seed)
            ids = next_id + np.arange(len(comp["user_idx"]), dtype=np.int64)
            next_id += len(ids)
            rows, labels = _emit(put, wrng, comp, ids, c_prev, c_now, pool, bad_rate, seed)
            n_rows += rows
            bad_parts.append(labels)
            _keep_state(put, comp, ids, c_now)
            w0 = w1
        bar.close()

        # offers and tasks: replace the rows of edited ones, add the new ones
        srng = np.random.default_rng([seed, 7, c_prev // US_PER_DAY])
        ch_o = np.flatnonzero(offers_all["updated_at"][:len(old_off["offer_id"])] != old_off["updated_at"])
        ch_t = np.flatnonzero(tasks_all["updated_at"][:len(old_task["task_id"])] != old_task["updated_at"])
        con.execute(f"delete from {RAW_SCHEMA}.offers where id in (select unnest(?))",
                    [offers_all["offer_id"][ch_o].tolist()])
        con.execute(f"delete from {RAW_SCHEMA}.offer_tasks where id in (select unnest(?))",
                    [tasks_all["task_id"][ch_t].tolist()])
        # edited rows come back clean; only brand-new offers/tasks can be born bad
        new_o = np.arange(len(old_off["offer_id"]), len(offers_all["offer_id"]))
        new_t = np.arange(len(old_task["task_id"]), len(tasks_all["task_id"]))
        no = _offer_rows(srng, offers_all, new_o, c_now, bad_rate, False)
        nt = _task_rows(srng, tasks_all, new_t, c_now, bad_rate, False)
        t_off = pa.concat_tables([_offer_rows(srng, offers_all, ch_o, c_now, 0.0, False)[0], no[0]])
        t_task = pa.concat_tables([_task_rows(srng, tasks_all, ch_t, c_now, 0.0, False)[0], nt[0]])
        bad_parts += [no[1], nt[1]]
        _insert(con, f"{RAW_SCHEMA}.offers", t_off)
        _insert(con, f"{RAW_SCHEMA}.offer_tasks", t_task)

        new_sel = np.arange(n_old, len(pop["user_idx"]))
        t_user, l_user = _user_rows(srng, pop, new_sel, pool, c_now, bad_rate, False, seed)
        _insert(con, f"{RAW_SCHEMA}.users", t_user)
        bad_parts.append(l_user)
        t_spend, l_spend = _spend_rows(seed, pop, c_prev // US_PER_DAY - 2, c_now // US_PER_DAY, c_prev, c_now,
                                       bad_rate, False)
        _insert(con, f"{RAW_SCHEMA}.ua_spend_daily", t_spend, _SPEND_SELECT)
        bad_parts.append(l_spend)
        in_new = np.zeros(len(pop["user_idx"]), dtype=bool)
        in_new[new_sel] = True
        _insert(con, f"{LABELS_SCHEMA}.fraud_users", _fraud_labels(pop, in_new, pool))
        _insert(con, f"{LABELS_SCHEMA}.bad_rows", _labels_table(bad_parts))

        _store_catalog(con, offers_all, tasks_all)
        _create_from(con, f"{SIM_SCHEMA}.task_versions", _arrow(vers_all))
        _create_from(con, f"{SIM_SCHEMA}.users", _arrow(pop))
        state.update(clock=from_us(c_now).isoformat(), clock_us=c_now, next_completion_id=next_id,
                     n_users=len(pop["user_idx"]), advances=state["advances"] + 1)
        _write_state(con, state)
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
        export_raw_parquet(duckdb_path, parquet_dir)
    elapsed = time.perf_counter() - t_begin
    print(f"offerwall advance: {n_rows:,} new user_offers rows in {elapsed:.1f} s, clock {from_us(c_now).isoformat()}",
          file=sys.stderr)
    return state

