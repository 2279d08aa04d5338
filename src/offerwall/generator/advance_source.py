"""`advance`: move the source system of a DuckDB file forward the way production would."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from offerwall import OfferwallError
from offerwall.generator import catalog as catm
from offerwall.generator._util import US_PER_DAY, from_us
from offerwall.generator.activity import Catalog
from offerwall.generator.duckdb_io import (
    connect, create_from, duckdb_errors_are_user_errors, insert, read_arrays, to_arrow,
)
from offerwall.generator.population import build_users
from offerwall.generator.raw_rows import (
    OFFER_SIM_COLUMNS, SPEND_SELECT, TASK_SIM_COLUMNS, fraud_labels, labels_table, offer_rows, spend_rows, task_rows,
    user_id_pool, user_rows,
)
from offerwall.generator.replica import still_open
from offerwall.generator.sim_state import (
    OPEN_COMPLETION_INT64, SIM_SCHEMA, open_completions_table, read_state, store_catalog, write_state,
)
from offerwall.generator.windows import WINDOW_DAYS, Replica, emit_user_offers, simulate_windows
from offerwall.raw_io import LABELS_SCHEMA, RAW_SCHEMA, export_raw_parquet

SIGNUP_GROWTH_PER_DAY = 1.004  # the daily signup rate grows this much per day of every advance
NEW_OFFERS_PER_WEEK = 0.02  # new offers per week, as a share of the catalogue
SPEND_DAYS_BACK = 2  # spend days before the old clock whose export may land in the new days
# Random stream ids: [seed, stream, old clock day, ...]; 1 is a window's (windows.RNG_WINDOW).
RNG_NEW_USERS_AND_CATALOG = 3
RNG_OPEN_COMPLETIONS = 6
RNG_SMALL_TABLES = 7


def _edit_catalog(rng: np.random.Generator, offers: dict, tasks: dict, vers: dict, bad_ids: dict,
                  c_prev: int, c_now: int, days: int) -> tuple[dict, dict, dict, dict, dict]:
    """Edits in place (rows made bad stay as they are) and new offers; the old and new catalogue."""
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
    n_new_off = int(rng.poisson(len(offers["offer_id"]) * NEW_OFFERS_PER_WEEK * days / 7.0))
    next_offer = int(offers["offer_id"].max()) + 1
    next_task = int(tasks["task_id"].max()) + 1
    nof = catm.build_offers(rng, n_new_off, next_offer, c_prev, c_now, None, 0.0)
    ntk = catm.build_tasks(rng, nof, next_task)
    offers_all = {k: np.concatenate([offers[k], nof[k].astype(offers[k].dtype)]) for k in OFFER_SIM_COLUMNS}
    tasks_all = {k: np.concatenate([tasks[k], ntk[k].astype(tasks[k].dtype)]) for k in TASK_SIM_COLUMNS}
    vlist = [vers] + new_versions + [catm.initial_versions(ntk)]
    vers_all = {k: np.concatenate([v[k].astype(vers[k].dtype) for v in vlist]) for k in vers}
    return old_off, old_task, offers_all, tasks_all, vers_all


def _replicated_after(table: pa.Table, c_prev: int) -> pa.Table:
    """An edited row reaches the replica after the previous load: its new _loaded_at is never at
    or before the previous clock (else a load day that was already read would change in place)."""
    idx = table.schema.get_field_index("_loaded_at")
    floor = pa.scalar(c_prev + 1, type=pa.int64()).cast(table.schema.field(idx).type)
    return table.set_column(idx, "_loaded_at", pc.max_element_wise(table.column(idx), floor))


@duckdb_errors_are_user_errors
def advance(*, days: int, duckdb_path: str | Path = "warehouse.duckdb", parquet_dir: str | Path | None = None) -> dict:
    """Move an existing source system forward `days` days the way production would."""
    if days < 1:
        raise OfferwallError(f"--days must be at least 1, got {days}")
    path = Path(duckdb_path)
    if not path.exists():
        raise OfferwallError(f"DuckDB file not found: {path} (run `offerwall generate` first)")
    t_begin = time.perf_counter()
    con = connect(path)
    try:
        state = read_state(con, path)
        seed = state["seed"]
        bad_rate = state["bad_rate"]
        c_prev = state["clock_us"]
        c_now = c_prev + days * US_PER_DAY
        rng = np.random.default_rng([seed, RNG_NEW_USERS_AND_CATALOG, c_prev // US_PER_DAY, days])

        pop = read_arrays(con, f"select * from {SIM_SCHEMA}.users order by user_idx")
        offers = read_arrays(con, f"select * from {SIM_SCHEMA}.offers order by offer_id")
        tasks = read_arrays(con, f"select * from {SIM_SCHEMA}.offer_tasks order by task_id")
        vers = read_arrays(con, f"select * from {SIM_SCHEMA}.task_versions")
        bad_ids = {t: set(r[0] for r in con.execute(
            f"select row_id from {LABELS_SCHEMA}.bad_rows where table_name = ?", [t]).fetchall())
            for t in ("offers", "offer_tasks")}

        # new signups at the recent daily rate
        per_day = state["users"] / state["days"]
        growth = SIGNUP_GROWTH_PER_DAY ** (state["advances"] * days)
        n_new = int(rng.poisson(per_day * days * growth))
        n_old = len(pop["user_idx"])
        new = build_users(rng, n_new, n_old, c_prev, c_now, seed, state["fraud_rate"], state["household_pool"],
                          first_farm=int(pop["farm_group"].max(initial=-1)) + 1,
                          adaptive_rate=state.get("adaptive_fraud_rate", 0.0),
                          first_ring=int(pop.get("ring_group", np.array([-1])).max(initial=-1)) + 1)
        # referrals of new users may point to any earlier user (build_users uses indexes < own index)
        # a state written before adaptive fraud existed has no ring columns: nobody there is in a ring
        for k, none in (("ring_group", -1), ("ring_pos", -1), ("wake_at", 0)):
            pop.setdefault(k, np.full(n_old, none, dtype=np.int64))
        pop = {k: np.concatenate([pop[k], new[k].astype(pop[k].dtype)]) for k in pop}
        pool = user_id_pool(pop, seed)

        old_off, old_task, offers_all, tasks_all, vers_all = _edit_catalog(
            rng, offers, tasks, vers, bad_ids, c_prev, c_now, days)
        cat = Catalog(offers_all, tasks_all, vers_all)
        replica = Replica(c_prev, c_now, pool, bad_rate, seed)

        con.execute("begin")
        bad_parts: list[dict] = []
        n_rows = 0

        def put(target: str, table: pa.Table, select: str = "*") -> None:
            insert(con, target, table, select)

        # rows of completions from before that the replica copies now
        old = read_arrays(con, f"select * from {SIM_SCHEMA}.open_completions order by id")
        if len(old["id"]):
            for k in OPEN_COMPLETION_INT64:
                old[k] = old[k].astype(np.int64)
            orng = np.random.default_rng([seed, RNG_OPEN_COMPLETIONS, c_prev // US_PER_DAY])
            rows, labels = emit_user_offers(put, orng, old, old["id"], replica)
            n_rows += rows
            bad_parts.append(labels)
            con.execute(f"delete from {SIM_SCHEMA}.open_completions")
            reopen = still_open(old, c_now)
            if reopen.any():
                insert(con, f"{SIM_SCHEMA}.open_completions", open_completions_table(old, reopen))

        window_rows, next_id, window_parts = simulate_windows(
            con, pop, cat, c_prev, WINDOW_DAYS, state["next_completion_id"], replica, "advance")
        n_rows += window_rows
        bad_parts += window_parts

        # offers and tasks: replace the rows of edited ones, add the new ones
        srng = np.random.default_rng([seed, RNG_SMALL_TABLES, c_prev // US_PER_DAY])
        ch_o = np.flatnonzero(offers_all["updated_at"][:len(old_off["offer_id"])] != old_off["updated_at"])
        ch_t = np.flatnonzero(tasks_all["updated_at"][:len(old_task["task_id"])] != old_task["updated_at"])
        con.execute(f"delete from {RAW_SCHEMA}.offers where id in (select unnest(?))",
                    [offers_all["offer_id"][ch_o].tolist()])
        con.execute(f"delete from {RAW_SCHEMA}.offer_tasks where id in (select unnest(?))",
                    [tasks_all["task_id"][ch_t].tolist()])
        # edited rows come back clean; only brand-new offers/tasks can be born bad
        new_o = np.arange(len(old_off["offer_id"]), len(offers_all["offer_id"]))
        new_t = np.arange(len(old_task["task_id"]), len(tasks_all["task_id"]))
        no = offer_rows(srng, offers_all, new_o, c_now, bad_rate, False)
        nt = task_rows(srng, tasks_all, new_t, c_now, bad_rate, False)
        t_off = pa.concat_tables([_replicated_after(offer_rows(srng, offers_all, ch_o, c_now, 0.0, False)[0], c_prev),
                                  no[0]])
        t_task = pa.concat_tables([_replicated_after(task_rows(srng, tasks_all, ch_t, c_now, 0.0, False)[0], c_prev),
                                   nt[0]])
        bad_parts += [no[1], nt[1]]
        insert(con, f"{RAW_SCHEMA}.offers", t_off)
        insert(con, f"{RAW_SCHEMA}.offer_tasks", t_task)

        new_sel = np.arange(n_old, len(pop["user_idx"]))
        t_user, l_user = user_rows(srng, pop, new_sel, pool, c_now, bad_rate, False, seed)
        insert(con, f"{RAW_SCHEMA}.users", t_user)
        bad_parts.append(l_user)
        t_spend, l_spend = spend_rows(seed, pop, c_prev // US_PER_DAY - SPEND_DAYS_BACK, c_now // US_PER_DAY, c_prev,
                                      c_now, bad_rate, False)
        insert(con, f"{RAW_SCHEMA}.ua_spend_daily", t_spend, SPEND_SELECT)
        bad_parts.append(l_spend)
        in_new = np.zeros(len(pop["user_idx"]), dtype=bool)
        in_new[new_sel] = True
        insert(con, f"{LABELS_SCHEMA}.fraud_users", fraud_labels(pop, in_new, pool))
        insert(con, f"{LABELS_SCHEMA}.bad_rows", labels_table(bad_parts))

        store_catalog(con, offers_all, tasks_all)
        create_from(con, f"{SIM_SCHEMA}.task_versions", to_arrow(vers_all))
        create_from(con, f"{SIM_SCHEMA}.users", to_arrow(pop))
        state.update(clock=from_us(c_now).isoformat(), clock_us=c_now, next_completion_id=next_id,
                     n_users=len(pop["user_idx"]), advances=state["advances"] + 1)
        write_state(con, state)
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
