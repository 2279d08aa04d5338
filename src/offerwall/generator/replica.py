"""What the replica holds: rows per status change, exact duplicates, late arrivals, text noise and bad rows."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from offerwall.generator._util import NEVER, US_PER_DAY, US_PER_HOUR, hex_strings, mix64, ts_array
from offerwall.generator.catalog import COUNTRIES, PLATFORMS

STATUSES = np.array(["pending", "credited", "rejected", "reversed"])
S_PENDING, S_CREDITED, S_REJECTED, S_REVERSED = range(4)
UNKNOWN_STATUSES = np.array(["approved", "on_hold", "cancelled", "error", "unknown"])
STATUS_POOL = pa.array(np.concatenate([STATUSES, UNKNOWN_STATUSES]).tolist(), pa.string())
BAD_KINDS_USER_OFFERS = np.array([
    "null_key", "unknown_fk", "negative_amount", "absurd_amount", "completed_before_started",
    "completed_in_future", "unknown_status", "conflicting_duplicate",
])
EXACT_DUPLICATE_SHARE = 0.015
TEXT_NOISE_SHARE = 0.06
ABSURD_AMOUNT = 1_000_000_000
UNKNOWN_ID_BASE = 900_000_000
# A completion's three status rows (events 0, 1, 2: pending, credited or rejected, reversed):
# when each happened (NEVER if it does not) and when the replica copies it.
EVENT_AT = ("completed_at", "settled_at", "reversed_at")
EVENT_LOADED_AT = ("pending_loaded_at", "settled_loaded_at", "reversed_loaded_at")


def _variants(values: np.ndarray, upper: bool) -> pa.Array:
    """Per value: clean, lower/upper, title, leading space, trailing space (5 variants each)."""
    v = values.astype(str)
    other = np.char.lower(v) if upper else np.char.upper(v)
    out = np.stack([v, other, np.char.capitalize(np.char.lower(v)), np.char.add(" ", v), np.char.add(v, " ")], axis=1)
    return pa.array(out.reshape(-1))


COUNTRY_VARIANTS = _variants(COUNTRIES, upper=True)
PLATFORM_VARIANTS = _variants(PLATFORMS, upper=False)


def noisy_codes(rng: np.random.Generator, codes: np.ndarray) -> np.ndarray:
    """Index into a *_VARIANTS pool: mostly the clean value, a share with case/space noise."""
    n = len(codes)
    variant = np.where(rng.random(n) < TEXT_NOISE_SHARE, rng.integers(1, 5, n), 0)
    return codes * 5 + variant


def replica_events(comp: dict, ids: np.ndarray, c_prev: int, c_now: int) -> tuple[np.ndarray, np.ndarray]:
    """(completion index, event number 0/1/2) of status rows the replica copies in (c_prev, c_now].

    Event k's row is copied at EVENT_LOADED_AT[k] unless the next status change happened first (then the replica
    never saw that state). Ordered like an append-only replica: by load time, then id.
    """
    e = [comp[c] for c in EVENT_AT]
    lo = [comp[c] for c in EVENT_LOADED_AT]
    nxt = [comp["settled_at"], comp["reversed_at"], np.full(len(ids), NEVER, dtype=np.int64)]
    idx, ev = [], []
    for k in range(3):
        vis = (e[k] != NEVER) & (lo[k] < nxt[k]) & (lo[k] > c_prev) & (lo[k] <= c_now)
        w = np.flatnonzero(vis)
        idx.append(w)
        ev.append(np.full(len(w), k, dtype=np.int64))
    idx_a, ev_a = np.concatenate(idx), np.concatenate(ev)
    loaded = np.choose(ev_a, [comp[c][idx_a] for c in EVENT_LOADED_AT]) if len(idx_a) else idx_a
    order = np.argsort(loaded, kind="stable")
    return idx_a[order], ev_a[order]


def still_open(comp: dict, c_now: int) -> np.ndarray:
    """Completions with a status row the replica has not copied yet at c_now."""
    e = [comp[c] for c in EVENT_AT]
    lo = [comp[c] for c in EVENT_LOADED_AT]
    nxt = [comp["settled_at"], comp["reversed_at"], np.full(len(e[0]), NEVER, dtype=np.int64)]
    out = np.zeros(len(e[0]), dtype=bool)
    for k in range(3):
        out |= (e[k] != NEVER) & (lo[k] < nxt[k]) & (lo[k] > c_now)
    return out


def user_offer_rows(rng: np.random.Generator, comp: dict, ids: np.ndarray, idx: np.ndarray, ev: np.ndarray,
                    user_pool: pa.Array, bad_rate: float, seed: int, c_now: int) -> tuple[pa.Table, dict]:
    """Arrow rows of raw.user_offers for the chosen events, with exact duplicates and bad rows."""
    # exact duplicates (at-least-once copy)
    dup = rng.random(len(idx)) < EXACT_DUPLICATE_SHARE
    rep = np.where(dup, 2, 1)
    idx, ev = np.repeat(idx, rep), np.repeat(ev, rep)
    n = len(idx)
    c = {k: comp[k][idx] for k in ("user_idx", "offer_id", "offer_task_id", "reward_coins", "payout_cents",
                                  "started_at", "started_null", "completed_at", "rejected", "country_code",
                                  "platform_code", "ip", "device")}
    rid = ids[idx]
    updated = np.choose(ev, [comp[c][idx] for c in EVENT_AT]) if n else idx
    loaded = np.choose(ev, [comp[c][idx] for c in EVENT_LOADED_AT]) if n else idx
    status = np.select([ev == 0, (ev == 1) & c["rejected"], ev == 1], [S_PENDING, S_REJECTED, S_CREDITED], S_REVERSED)
    status_text = status.astype(np.int32)  # code into STATUS_POOL
    user_null = np.zeros(n, dtype=bool)
    user_unknown = np.zeros(n, dtype=bool)
    task_null = np.zeros(n, dtype=bool)
    started_null = c["started_null"].copy()
    reward, payout = c["reward_coins"].copy(), c["payout_cents"].copy()
    task_id = c["offer_task_id"].copy()
    started, completed = c["started_at"].copy(), c["completed_at"].copy()
    labels = {"row_id": np.empty(0, dtype=np.int64), "kind": np.empty(0, dtype=object)}
    extra = np.empty(0, dtype=np.int64)
    if bad_rate > 0 and n:
        bad = np.flatnonzero(rng.random(n) < bad_rate)
        n_k = len(BAD_KINDS_USER_OFFERS)
        if len(bad) < n_k:  # every kind present whenever there is mess at all
            bad = np.unique(np.concatenate([bad, rng.choice(n, min(n, n_k), replace=False)]))
        kind = (rng.permutation(len(bad)) % n_k)
        half = rng.random(len(bad)) < 0.5
        k = lambda name: bad[kind == int(np.flatnonzero(BAD_KINDS_USER_OFFERS == name)[0])]  # noqa: E731
        h = lambda name: half[kind == int(np.flatnonzero(BAD_KINDS_USER_OFFERS == name)[0])]  # noqa: E731
        r = k("null_key"); user_null[r[h("null_key")]] = True; task_null[r[~h("null_key")]] = True  # noqa: E702
        r = k("unknown_fk"); user_unknown[r[h("unknown_fk")]] = True  # noqa: E702
        task_id[r[~h("unknown_fk")]] = UNKNOWN_ID_BASE + rng.integers(0, 1_000_000, int((~h("unknown_fk")).sum()))
        r = k("negative_amount"); reward[r[h("negative_amount")]] *= -1  # noqa: E702
        payout[r[~h("negative_amount")]] *= -1
        r = k("absurd_amount"); reward[r[h("absurd_amount")]] = ABSURD_AMOUNT  # noqa: E702
        payout[r[~h("absurd_amount")]] = ABSURD_AMOUNT
        r = k("completed_before_started")
        started_null[r] = False
        started[r] = completed[r] + (rng.uniform(1, 72, len(r)) * US_PER_HOUR).astype(np.int64)
        r = k("completed_in_future")
        completed[r] = loaded[r] + (rng.uniform(1, 30, len(r)) * US_PER_DAY).astype(np.int64)
        r = k("unknown_status")
        status_text[r] = len(STATUSES) + rng.integers(0, len(UNKNOWN_STATUSES), len(r))
        extra = k("conflicting_duplicate")
        labels = {"row_id": rid[bad], "kind": BAD_KINDS_USER_OFFERS[kind].astype(object)}
        # a bad row's started_at can't also be "unknown" for the started/completed kinds
    m = len(rid)
    user_id = user_pool.take(pa.array(c["user_idx"]))
    if user_unknown.any():
        ghost = hex_strings(mix64(rid.astype(np.uint64), seed * 7919 + 77), 16, "u_")
        user_id = pc.if_else(pa.array(user_unknown), ghost, user_id)
    if user_null.any():
        user_id = pc.if_else(pa.array(user_null), pa.scalar(None, pa.string()), user_id)
    country = COUNTRY_VARIANTS.take(pa.array(noisy_codes(rng, c["country_code"])))
    platform = PLATFORM_VARIANTS.take(pa.array(noisy_codes(rng, c["platform_code"])))
    table = pa.table({
        "id": pa.array(rid, pa.int64()),
        "user_id": user_id,
        "offer_id": pa.array(c["offer_id"], pa.int64()),
        "offer_task_id": pa.array(task_id, pa.int64(), mask=task_null),
        "status": STATUS_POOL.take(pa.array(status_text)),
        "reward_coins": pa.array(reward, pa.int64()),
        "payout_cents": pa.array(payout, pa.int64()),
        "started_at": ts_array(started, started_null),
        "completed_at": ts_array(completed),
        "updated_at": ts_array(updated),
        "country": country,
        "device_platform": platform,
        "ip_hash": hex_strings(mix64(c["ip"], 5)),
        "device_hash": hex_strings(mix64(c["device"], 6)),
        "_loaded_at": ts_array(loaded),
    })
    assert m == table.num_rows
    if len(extra):  # conflicting duplicates: same id, updated_at and _loaded_at, other amounts
        factor = rng.uniform(1.5, 3.0, len(extra))
        twin = table.take(pa.array(extra))
        twin = twin.set_column(5, "reward_coins", pa.array(np.round(reward[extra] * factor).astype(np.int64)))
        twin = twin.set_column(6, "payout_cents", pa.array(np.round(payout[extra] * factor).astype(np.int64)))
        table = pa.concat_tables([table, twin])
    return table, labels


def pick_bad(rng: np.random.Generator, n: int, rate: float, kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows (positions) made bad in a small table and their kind; every kind appears when rate > 0."""
    if rate <= 0 or n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    k = min(n, max(int(np.ceil(rate * n)), len(kinds)))
    rows = np.sort(rng.choice(n, k, replace=False))
    kind = kinds[rng.permutation(k) % len(kinds)]
    return rows, kind


def loaded_after(rng: np.random.Generator, t: np.ndarray, clock: int) -> np.ndarray:
    """Replication time of a row last changed at t: minutes later, never after the clock."""
    lag = (rng.exponential(20.0, len(t)) * 60_000_000).astype(np.int64) + 1_000_000
    return np.minimum(t + lag, clock)
