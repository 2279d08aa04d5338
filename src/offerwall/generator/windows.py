"""The one window loop of `generate` and `advance`: simulate the activity of a time range window by
window, turn each window's completions into raw.user_offers rows and remember what stays open.

Three stages are in flight: a worker thread simulates window k+1, this thread builds the replica
rows of window k, and a writer thread appends window k-1 to DuckDB. Each window has its own random
stream (seeded by the seed and the window's first day), so the output does not depend on the
threads and a window gives the same rows in `generate` and in `advance`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from offerwall.generator._util import US_PER_DAY
from offerwall.generator.activity import Catalog, simulate_window
from offerwall.generator.duckdb_io import BackgroundWriter, progress
from offerwall.generator.replica import replica_events, user_offer_rows
from offerwall.generator.sim_state import keep_state
from offerwall.raw_io import RAW_SCHEMA

WINDOW_DAYS = 7  # a window is at most a week
RNG_WINDOW = 1  # random stream id of a window: [seed, RNG_WINDOW, first day of the window]


@dataclass
class Replica:
    """What the replica copies in (c_prev, c_now], of users with raw ids `user_pool`."""

    c_prev: int  # -1 for a fresh source system
    c_now: int
    user_pool: pa.Array
    bad_rate: float
    seed: int


def emit_user_offers(put, rng: np.random.Generator, comp: dict, ids: np.ndarray, replica: Replica) -> tuple[int, dict]:
    """Append the raw.user_offers rows the replica copies of these completions; (rows, bad-row labels)."""
    idx, ev = replica_events(comp, ids, replica.c_prev, replica.c_now)
    table, labels = user_offer_rows(rng, comp, ids, idx, ev, replica.user_pool, replica.bad_rate, replica.seed,
                                    replica.c_now)
    if table.num_rows:
        put(f"{RAW_SCHEMA}.user_offers", table)
    return table.num_rows, {"table_name": "user_offers", "row_id": labels["row_id"], "kind": labels["kind"]}


def simulate_windows(con: duckdb.DuckDBPyConnection, users: dict, cat: Catalog, start: int, window_days: int,
                     next_id: int, replica: Replica, desc: str,
                     prelude: Callable[[BackgroundWriter], None] | None = None) -> tuple[int, int, list[dict]]:
    """Play [start, replica.c_now) in windows of `window_days` days; completion ids from `next_id`.

    `prelude(writer)`, when given, runs on this thread while the first window is simulated: work that
    does not depend on the windows (e.g. the small tables), queued to the same writer.
    Returns the user_offers rows written, the next free completion id and the bad-row labels.
    """
    seed, c_now = replica.seed, replica.c_now
    windows = list(range(start, c_now, window_days * US_PER_DAY))
    days = -(-(c_now - start) // US_PER_DAY)

    def simulate(w0: int) -> tuple[np.random.Generator, dict]:
        rng = np.random.default_rng([seed, RNG_WINDOW, w0 // US_PER_DAY])
        w1 = min(w0 + window_days * US_PER_DAY, c_now)
        return rng, simulate_window(rng, users, cat, w0, w1, c_now, seed)

    n_rows = 0
    bad_parts: list[dict] = []
    if not windows:
        if prelude is not None:
            with BackgroundWriter(con) as writer:
                prelude(writer)
        return n_rows, next_id, bad_parts
    with BackgroundWriter(con) as writer, progress(len(windows), len(users["user_idx"]) * days, desc) as bar, \
            ThreadPoolExecutor(1) as ahead_pool:
        ahead = ahead_pool.submit(simulate, windows[0])
        if prelude is not None:
            prelude(writer)
        for i in range(len(windows)):
            rng, comp = ahead.result()
            if i + 1 < len(windows):
                ahead = ahead_pool.submit(simulate, windows[i + 1])
            ids = next_id + np.arange(len(comp["user_idx"]), dtype=np.int64)
            next_id += len(ids)
            rows, labels = emit_user_offers(writer.insert, rng, comp, ids, replica)
            n_rows += rows
            bad_parts.append(labels)
            keep_state(writer.insert, comp, ids, c_now)
            del comp
            bar.update(1)
            bar.set_postfix(rows=n_rows)
    return n_rows, next_id, bad_parts
