"""`generate`: a fresh source system in a DuckDB file (schemas raw, labels and sim replaced)."""

from __future__ import annotations

import datetime as dt
import functools
import math
import sys
import time
from pathlib import Path

import numpy as np

from offerwall import OfferwallError
from offerwall.generator import catalog as catm
from offerwall.generator._util import US_PER_DAY, from_us, to_us
from offerwall.generator.activity import Catalog
from offerwall.generator.duckdb_io import (
    BackgroundWriter, connect, create_from, duckdb_errors_are_user_errors, insert, to_arrow,
)
from offerwall.generator.population import HOUSEHOLD_SHARE, build_users
from offerwall.generator.raw_rows import (
    SPEND_SELECT, fraud_labels, labels_table, offer_rows, spend_rows, task_rows, user_id_pool, user_rows,
)
from offerwall.generator.sim_state import (
    GENERATOR_VERSION, SIM_SCHEMA, create_schemas, store_catalog, write_state,
)
from offerwall.generator.windows import WINDOW_DAYS, Replica, simulate_windows
from offerwall.raw_io import LABELS_SCHEMA, RAW_SCHEMA, export_raw_parquet

DEFAULT_START = dt.date(2026, 1, 1)
# Offers in the catalogue: OFFERS_PER_SQRT_USER x sqrt(users), within [MIN_OFFERS, MAX_OFFERS].
OFFERS_PER_SQRT_USER = 3
MIN_OFFERS, MAX_OFFERS = 120, 3000
CATALOG_HISTORY_DAYS = 365  # offers were created over the year before the first simulated day
OFFERS_CREATED_DURING_RUN = 0.2  # share of the offers created during the simulated period
# A window spans the days in which about this many users sign up (1 to WINDOW_DAYS days): bounded memory.
SIGNUPS_PER_WINDOW = 150_000
# Random stream ids: [seed, stream, ...]; 1 is a window's (windows.RNG_WINDOW).
RNG_CATALOG_AND_USERS = 0
RNG_SMALL_TABLES = 5


def validate(users: int, days: int, seed: int, bad_rate: float, fraud_rate: float) -> None:
    """One-line errors for arguments the generator cannot use."""
    if users < 1:
        raise OfferwallError(f"--users must be at least 1, got {users}")
    if days < 1:
        raise OfferwallError(f"--days must be at least 1, got {days}")
    if seed < 0:
        raise OfferwallError(f"--seed must not be negative, got {seed}")
    for name, rate in (("--bad-rate", bad_rate), ("--fraud-rate", fraud_rate)):
        if not 0.0 <= rate <= 1.0:
            raise OfferwallError(f"{name} must be between 0 and 1, got {rate}")


@duckdb_errors_are_user_errors
def generate(*, users: int, days: int, seed: int, bad_rate: float, fraud_rate: float,
             adaptive_fraud_rate: float = 0.0, start: dt.date | None = None,
             duckdb_path: str | Path = "warehouse.duckdb",
             parquet_dir: str | Path | None = None) -> dict:
    """Generate a fresh source system: the five raw tables, labels and the simulator's state.

    Simulates [start, start + days); the simulation clock is the end. Same arguments, same data.
    Replaces the schemas raw, labels and sim of the DuckDB file; other schemas are left alone.
    """
    validate(users, days, seed, bad_rate, fraud_rate)
    if not 0.0 <= adaptive_fraud_rate <= 1.0:
        raise OfferwallError(f"--adaptive-fraud-rate must be between 0 and 1, got {adaptive_fraud_rate}")
    t_begin = time.perf_counter()
    start = start or DEFAULT_START
    t0 = to_us(start)
    clock = t0 + days * US_PER_DAY
    rng = np.random.default_rng([seed, RNG_CATALOG_AND_USERS])

    # catalogue, with its edit history over the simulated period
    n_offers = int(np.clip(round(OFFERS_PER_SQRT_USER * math.sqrt(users)), MIN_OFFERS, MAX_OFFERS))
    offers = catm.build_offers(rng, n_offers, 1, t0 - CATALOG_HISTORY_DAYS * US_PER_DAY, t0 - US_PER_DAY,
                               (t0, max(t0 + 1, clock - US_PER_DAY)), OFFERS_CREATED_DURING_RUN)
    tasks = catm.build_tasks(rng, offers, 1)
    versions = [catm.initial_versions(tasks)]
    new_versions, _ = catm.edit_catalog(rng, offers, tasks, t0, clock, days / 7.0)
    versions += new_versions
    vers = {k: np.concatenate([v[k] for v in versions]) for k in versions[0]}
    cat = Catalog(offers, tasks, vers)

    household_pool = int(users * HOUSEHOLD_SHARE) + 1
    pop = build_users(rng, users, 0, t0, clock, seed, fraud_rate, household_pool,
                      adaptive_rate=adaptive_fraud_rate)
    pool = user_id_pool(pop, seed)

    try:
        Path(duckdb_path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OfferwallError(f"cannot create the folder of {duckdb_path}: {exc.strerror}") from None
    con = connect(duckdb_path)
    try:
        # Replace raw/labels/sim in one short transaction, then append batch by batch (auto-commit keeps
        # DuckDB's memory bounded); sim.state is written last, so a failed run never looks like a source.
        con.execute("begin")
        create_schemas(con)
        con.execute("commit")
        window_days = int(np.clip(days * SIGNUPS_PER_WINDOW // users, 1, WINDOW_DAYS))
        small_labels: list[dict] = []

        def small_tables(writer: BackgroundWriter) -> None:
            """The tables that do not depend on the windows (their own random stream), built while
            the first window is simulated and written by the writer before the windows' rows."""
            everything = np.ones(len(pop["user_idx"]), dtype=bool)
            srng = np.random.default_rng([seed, RNG_SMALL_TABLES])
            t_off, l_off = offer_rows(srng, offers, np.arange(n_offers), clock, bad_rate, True)
            t_task, l_task = task_rows(srng, tasks, np.arange(len(tasks["task_id"])), clock, bad_rate, True)
            t_user, l_user = user_rows(srng, pop, np.flatnonzero(everything), pool, clock, bad_rate, True, seed)
            t_spend, l_spend = spend_rows(seed, pop, t0 // US_PER_DAY, clock // US_PER_DAY, -1, clock, bad_rate,
                                          True)
            small_labels.extend([l_off, l_task, l_user, l_spend])
            for target, table, select in (
                (f"{RAW_SCHEMA}.offers", t_off, "*"), (f"{RAW_SCHEMA}.offer_tasks", t_task, "*"),
                (f"{RAW_SCHEMA}.users", t_user, "*"), (f"{RAW_SCHEMA}.ua_spend_daily", t_spend, SPEND_SELECT),
                (f"{LABELS_SCHEMA}.fraud_users", fraud_labels(pop, everything, pool), "*"),
            ):
                writer.call(functools.partial(insert, target=target, table=table, select=select))
            writer.call(functools.partial(store_catalog, offers=offers, tasks=tasks))
            writer.call(functools.partial(create_from, target=f"{SIM_SCHEMA}.task_versions", table=to_arrow(vers)))
            writer.call(functools.partial(create_from, target=f"{SIM_SCHEMA}.users", table=to_arrow(pop)))

        n_rows, next_id, bad_parts = simulate_windows(
            con, pop, cat, t0, window_days, 1, Replica(-1, clock, pool, bad_rate, seed), "generate",
            prelude=small_tables)
        insert(con, f"{LABELS_SCHEMA}.bad_rows", labels_table(small_labels + bad_parts))
        state = {
            "generator_version": GENERATOR_VERSION, "seed": seed, "users": users, "days": days,
            "bad_rate": bad_rate, "fraud_rate": fraud_rate,
            "adaptive_fraud_rate": adaptive_fraud_rate, "start": start.isoformat(),
            "clock": from_us(clock).isoformat(), "clock_us": clock, "next_completion_id": next_id,
            "n_users": len(pop["user_idx"]), "household_pool": household_pool, "advances": 0,
        }
        write_state(con, state)
        con.execute("checkpoint")
    finally:
        con.close()
    if parquet_dir is not None:
        export_raw_parquet(duckdb_path, parquet_dir)
    elapsed = time.perf_counter() - t_begin
    print(f"offerwall generate: {n_rows:,} user_offers rows in {elapsed:.1f} s "
          f"({n_rows / max(elapsed, 1e-9):,.0f} rows/s), clock {from_us(clock).isoformat()}", file=sys.stderr)
    return state
