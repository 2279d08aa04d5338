"""Raw rows of the small tables (offers, offer_tasks, users, ua_spend_daily), their bad rows, and
the label tables (labels.bad_rows, labels.fraud_users). raw.user_offers rows come from replica.py.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from offerwall.generator import catalog as catm
from offerwall.generator._util import US_PER_DAY, US_PER_HOUR, hex_strings, mix64, ts_array
from offerwall.generator.population import CHANNELS, FRAUD_TYPES, ua_spend, user_id_strings_u64
from offerwall.generator.replica import ABSURD_AMOUNT, UNKNOWN_ID_BASE, loaded_after, pick_bad

OFFER_BAD_KINDS = np.array(["malformed_json", "unknown_status"], dtype=object)
TASK_BAD_KINDS = np.array(["null_key", "unknown_fk", "negative_amount", "absurd_amount", "unknown_status",
                           "conflicting_duplicate"], dtype=object)
USER_BAD_KINDS = np.array(["unknown_fk"], dtype=object)
SPEND_BAD_KINDS = np.array(["negative_amount", "absurd_amount"], dtype=object)
MALFORMED_JSON = np.array(['["android","ios"', "android, ios", '["US" "DE"]', "[US,GB]", '{"US"}', "['ios']"],
                          dtype=object)
UNKNOWN_OFFER_STATUSES = np.array(["live", "archived", "deleted"], dtype=object)
UNKNOWN_TASK_STATUSES = np.array(["deleted", "inactive", "ACTIVE!"], dtype=object)
# a conflicting duplicate task row: amounts times a factor in this range
TASK_CONFLICT_FACTOR = (1.3, 2.5)

# The catalogue's columns kept in sim.offers / sim.offer_tasks (the clean current state).
OFFER_SIM_COLUMNS = ["offer_id", "name", "advertiser", "provider", "category_code", "category", "platforms",
                     "countries", "elig_platforms", "elig_countries", "margin", "popularity", "status",
                     "created_at", "updated_at", "inactive_from"]
TASK_SIM_COLUMNS = ["task_id", "offer_id", "position", "title", "task_type_code", "task_type", "reward_coins",
                    "payout_cents", "status", "created_at", "updated_at", "reach", "step_median_us"]
# Maps the Arrow spend rows (cents) onto raw.ua_spend_daily (spend_usd as decimal).
SPEND_SELECT = "spend_date, channel, country, platform, cast(spend_cents / 100.0 as decimal(18, 2)), _loaded_at"


def spend_loaded_at(day: np.ndarray | int) -> np.ndarray | int:
    """When a day's spend is exported: 1-3 hours after the day ends (microseconds)."""
    return (day + 1) * US_PER_DAY + (1 + day % 3) * US_PER_HOUR


def user_id_pool(users: dict, seed: int) -> pa.Array:
    """Every user's raw id (u_ + 16 hex digits), indexed by user position."""
    return hex_strings(user_id_strings_u64(users["user_idx"], seed), 16, "u_")


def offer_rows(rng: np.random.Generator, offers: dict, sel: np.ndarray, clock: int, bad_rate: float,
               ensure_kinds: bool) -> tuple[pa.Table, dict]:
    """raw.offers rows of the offers at positions `sel`, with bad rows and their labels."""
    o = {k: offers[k][sel] for k in OFFER_SIM_COLUMNS}
    n = len(o["offer_id"])
    platforms, countries, status = o["platforms"].copy(), o["countries"].copy(), o["status"].copy()
    rows, kinds = (pick_bad if ensure_kinds else random_bad)(rng, n, bad_rate, OFFER_BAD_KINDS)
    mj = rows[kinds == "malformed_json"]
    which = rng.random(len(mj)) < 0.5
    platforms[mj[which]] = MALFORMED_JSON[rng.integers(0, 2, int(which.sum()))]
    countries[mj[~which]] = MALFORMED_JSON[rng.integers(2, len(MALFORMED_JSON), int((~which).sum()))]
    us = rows[kinds == "unknown_status"]
    status[us] = UNKNOWN_OFFER_STATUSES[rng.integers(0, len(UNKNOWN_OFFER_STATUSES), len(us))]
    table = pa.table({
        "id": pa.array(o["offer_id"], pa.int64()),
        "name": pa.array(o["name"].astype(object), pa.string()),
        "advertiser": pa.array(o["advertiser"].astype(object), pa.string()),
        "provider": pa.array(o["provider"].astype(object), pa.string()),
        "category": pa.array(o["category"].astype(object), pa.string()),
        "platforms": pa.array(platforms, pa.string()),
        "countries": pa.array(countries, pa.string()),
        "status": pa.array(status, pa.string()),
        "created_at": ts_array(o["created_at"]),
        "updated_at": ts_array(o["updated_at"]),
        "_loaded_at": ts_array(loaded_after(rng, o["updated_at"], clock)),
    })
    return table, {"table_name": "offers", "row_id": o["offer_id"][rows], "kind": kinds}


def task_rows(rng: np.random.Generator, tasks: dict, sel: np.ndarray, clock: int, bad_rate: float,
              ensure_kinds: bool) -> tuple[pa.Table, dict]:
    """raw.offer_tasks rows of the tasks at positions `sel`, with bad rows (conflicting duplicates too) and labels."""
    t = {k: tasks[k][sel] for k in TASK_SIM_COLUMNS}
    n = len(t["task_id"])
    offer_id, reward, payout = t["offer_id"].copy(), t["reward_coins"].copy(), t["payout_cents"].copy()
    status = t["status"].copy()
    offer_null = np.zeros(n, dtype=bool)
    rows, kinds = (pick_bad if ensure_kinds else random_bad)(rng, n, bad_rate, TASK_BAD_KINDS)
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
    status[r] = UNKNOWN_TASK_STATUSES[rng.integers(0, len(UNKNOWN_TASK_STATUSES), len(r))]
    loaded = loaded_after(rng, t["updated_at"], clock)
    # conflicting duplicates: a second row, same id/updated_at/_loaded_at, other amounts
    dup = rows[kinds == "conflicting_duplicate"]
    sel2 = np.concatenate([np.arange(n), dup])
    factor = rng.uniform(*TASK_CONFLICT_FACTOR, len(dup))
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
        "created_at": ts_array(t["created_at"][sel2]),
        "updated_at": ts_array(t["updated_at"][sel2]),
        "_loaded_at": ts_array(loaded[sel2]),
    })
    return table, {"table_name": "offer_tasks", "row_id": t["task_id"][rows], "kind": kinds}


def random_bad(rng: np.random.Generator, n: int, rate: float, kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row bad with probability `rate`, of a random kind (advance: no kind is forced to appear)."""
    if rate <= 0 or n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    rows = np.flatnonzero(rng.random(n) < rate)
    return rows, kinds[rng.integers(0, len(kinds), len(rows))]


def user_rows(rng: np.random.Generator, users: dict, sel: np.ndarray, user_pool: pa.Array, clock: int,
              bad_rate: float, ensure_kinds: bool, seed: int) -> tuple[pa.Table, dict]:
    """raw.users rows of the users at positions `sel`; a bad row refers to an unknown referrer."""
    idx = users["user_idx"][sel]
    n = len(idx)
    ref = users["referrer_idx"][sel]
    has_ref = ref >= 0
    ref_ids = user_pool.take(pa.array(np.where(has_ref, ref, 0)))
    rows, kinds = (pick_bad if ensure_kinds else random_bad)(rng, n, bad_rate, USER_BAD_KINDS)
    ghost = np.zeros(n, dtype=bool)
    ghost[rows] = True
    if ghost.any():
        ghosts = hex_strings(mix64(idx.astype(np.uint64), seed * 7919 + 78), 16, "u_")
        ref_ids = pa.compute.if_else(pa.array(ghost), ghosts, ref_ids)
    ref_ids = pa.compute.if_else(pa.array(has_ref | ghost), ref_ids, pa.scalar(None, pa.string()))
    signup = users["signup_at"][sel]
    table = pa.table({
        "id": user_pool.take(pa.array(idx)),
        "created_at": ts_array(signup),
        "country": pa.array(catm.COUNTRIES[users["country_code"][sel]].astype(object), pa.string()),
        "platform": pa.array(catm.PLATFORMS[users["platform_code"][sel]].astype(object), pa.string()),
        "acquisition_channel": pa.array(CHANNELS[users["channel_code"][sel]].astype(object), pa.string()),
        "referrer_user_id": ref_ids,
        "_loaded_at": ts_array(loaded_after(rng, signup, clock)),
    })
    return table, {"table_name": "users", "row_id": np.array(table.column("id").to_pylist(), dtype=object)[rows]
                   if len(rows) else np.empty(0, dtype=object), "kind": kinds}


def spend_rows(seed: int, users: dict, day0: int, day1: int, c_prev: int, c_now: int, bad_rate: float,
               ensure_kinds: bool) -> tuple[pa.Table, dict]:
    """Spend rows for days [day0, day1) whose export lands in (c_prev, c_now]; per-day randomness."""
    days = [d for d in range(day0, day1) if c_prev < spend_loaded_at(d) <= c_now]
    if days:
        cols = ua_spend(seed, users, days[0], days[-1] + 1)
        cols["loaded"] = spend_loaded_at(cols["spend_day"])
    else:
        cols = {k: np.empty(0, dtype=np.int64) for k in ("spend_day", "spend_cents", "loaded")}
        cols.update({k: np.empty(0, dtype=object) for k in ("channel", "country", "platform")})
    n = len(cols["spend_day"])
    rng = np.random.default_rng([seed, 4, day0, day1])
    rows, kinds = (pick_bad if ensure_kinds else random_bad)(rng, n, bad_rate, SPEND_BAD_KINDS)
    cents = cols["spend_cents"].copy()
    cents[rows[kinds == "negative_amount"]] *= -1
    cents[rows[kinds == "absurd_amount"]] = ABSURD_AMOUNT * 100
    table = pa.table({
        "spend_date": pa.array(cols["spend_day"].astype(np.int32), pa.date32()),
        "channel": pa.array(cols["channel"].astype(object), pa.string()),
        "country": pa.array(cols["country"].astype(object), pa.string()),
        "platform": pa.array(cols["platform"].astype(object), pa.string()),
        "spend_cents": pa.array(cents, pa.int64()),
        "_loaded_at": ts_array(cols["loaded"]),
    })
    days = (cols["spend_day"][rows]).astype("datetime64[D]").astype(str) if len(rows) else np.empty(0, dtype=str)
    row_id = np.char.add(np.char.add(np.char.add(np.char.add(np.char.add(np.char.add(
        days.astype(str), "|"), cols["channel"][rows].astype(str)), "|"), cols["country"][rows].astype(str)), "|"),
        cols["platform"][rows].astype(str)) if len(rows) else np.empty(0, dtype=object)
    return table, {"table_name": "ua_spend_daily", "row_id": row_id, "kind": kinds}


def labels_table(parts: list[dict]) -> pa.Table:
    """labels.bad_rows rows from the label parts of each table and window."""
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


def fraud_labels(users: dict, sel: np.ndarray, user_pool: pa.Array) -> pa.Table:
    """labels.fraud_users rows of the fraudulent users among `sel`."""
    f = sel & (users["fraud_code"] >= 0)
    return pa.table({
        "user_id": user_pool.take(pa.array(users["user_idx"][f])),
        "fraud_type": pa.array(FRAUD_TYPES[users["fraud_code"][f]].astype(object), pa.string()),
    })
