"""User activity: offer starts, the task funnel, completion times, status timelines and replication lag.

One function, `simulate_window`, plays every user over a time window; `generate` calls it week by
week and `advance` over its new days, so both behave the same way.
"""

from __future__ import annotations

import numpy as np

from offerwall.generator import adaptive
from offerwall.generator._util import NEVER, US_PER_DAY, US_PER_MINUTE, US_PER_SECOND, group_positions, mix64
from offerwall.generator.catalog import (
    COUNTRIES, HOLD_MEDIAN_DAYS, T_DEPOSIT, T_PURCHASE, VALUABLE_TYPES,
)
from offerwall.generator.population import (
    DOW_WEIGHTS, F_BOT, F_CHARGEBACK, F_FARM, F_HOPPER, F_NONE, F_VELOCITY, HOUR_WEIGHTS,
)

_W = DOW_WEIGHTS[:, None] * HOUR_WEIGHTS[None, :]
_W_MAX = _W.max()
OVERSAMPLE = _W_MAX / _W.mean()
VELOCITY_DAYS = 14
CHARGEBACK_WINDOW_DAYS = 90
_VALUABLE = np.zeros(16, dtype=bool)
_VALUABLE[VALUABLE_TYPES] = True


class Catalog:
    """Offers, tasks and task versions as arrays indexed by position (ids are contiguous from 1)."""

    def __init__(self, offers: dict, tasks: dict, versions: dict):
        self.offers = offers
        self.tasks = tasks
        n_off = len(offers["offer_id"])
        t_off = tasks["offer_id"] - 1
        self.n_tasks = np.bincount(t_off, minlength=n_off)
        self.first_task = np.cumsum(self.n_tasks) - self.n_tasks
        width = max(int(self.n_tasks.max()), 1)
        self.reach = np.zeros((n_off, width))
        self.reach[t_off, tasks["position"] - 1] = tasks["reach"]
        # tasks in (offer, position) order with a key that rises inside an offer as reach falls
        self.reach_key = t_off * 2.0 + (1.0 - tasks["reach"])
        order = np.lexsort((versions["valid_from"], versions["task_id"]))
        self.v = {k: v[order] for k, v in versions.items()}
        self.v_key = self.v["task_id"] * (1 << 31) + self.v["valid_from"] // US_PER_SECOND - 946684800

    def version_at(self, task_id: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Index into versions of the task version valid at time t (-1 if none)."""
        key = task_id * (1 << 31) + t // US_PER_SECOND - 946684800
        i = np.searchsorted(self.v_key, key, side="right") - 1
        ok = (i >= 0) & (self.v["task_id"][np.maximum(i, 0)] == task_id)
        return np.where(ok, i, -1)


def _seasonal_accept(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    day = t // US_PER_DAY
    dow = (day + 3) % 7
    hour = (t % US_PER_DAY) // (3600 * US_PER_SECOND)
    return rng.random(len(t)) < _W[dow, hour] / _W_MAX


def _starts(rng: np.random.Generator, users: dict, t0: int, t1: int) -> tuple[np.ndarray, np.ndarray]:
    """(user position, start time) of offer starts in [t0, t1)."""
    s = users["signup_at"]
    live = np.flatnonzero(s < t1)
    s = s[live].astype(np.float64)
    tau = users["tau_days"][live] * US_PER_DAY
    a0 = np.maximum(t0 - s, 0.0)
    a1 = t1 - s
    decay0 = np.exp(-a0 / tau)
    decay1 = np.exp(-a1 / tau)
    n_exp = rng.poisson(users["starts"][live] * (decay0 - decay1) * OVERSAMPLE)
    n_ret = rng.poisson(users["retained_per_day"][live] * (a1 - a0) / US_PER_DAY * OVERSAMPLE)
    ue = np.repeat(np.arange(len(live)), n_exp)
    ur = np.repeat(np.arange(len(live)), n_ret)
    u = rng.random(len(ue))
    age_e = -tau[ue] * np.log(decay0[ue] - u * (decay0[ue] - decay1[ue]))
    age_r = a0[ur] + rng.random(len(ur)) * (a1[ur] - a0[ur])
    who = np.concatenate([live[ue], live[ur]])
    t = np.concatenate([s[ue] + age_e, s[ur] + age_r]).astype(np.int64)
    t = np.clip(t, t0, t1 - 1)
    keep = _seasonal_accept(rng, t)
    who, t = who[keep], t[keep]

    # velocity fraudsters: a few active days with dozens of completions each
    vel = np.flatnonzero((users["fraud_code"] == F_VELOCITY) & (users["signup_at"] < t1))
    if len(vel):
        vw, vt = [], []
        sday = users["signup_at"][vel] // US_PER_DAY
        for d in range(VELOCITY_DAYS):
            day_start = (sday + d) * US_PER_DAY
            active = mix64(users["user_idx"][vel].astype(np.uint64) * np.uint64(64) + np.uint64(d), 99) % np.uint64(100)
            on = (active < np.uint64(40)) | (d == 0)
            n = np.where(on, rng.poisson(20, len(vel)), 0)
            w = np.repeat(vel, n)
            tt = np.repeat(np.maximum(day_start, users["signup_at"][vel]), n)
            tt = tt + (rng.random(len(w)) * (np.repeat(day_start, n) + US_PER_DAY - tt)).astype(np.int64)
            inside = (tt >= t0) & (tt < t1)
            vw.append(w[inside])
            vt.append(tt[inside])
        who = np.concatenate([who, *vw])
        t = np.concatenate([t, *vt])
    return who, t


def _choose_offers(rng: np.random.Generator, cat: Catalog, country: np.ndarray, platform: np.ndarray,
                   bot: np.ndarray) -> np.ndarray:
    offers = cat.offers
    out = np.empty(len(country), dtype=np.int64)
    group = country * 3 + platform
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(len(COUNTRIES) * 3 + 1))
    live = offers["status"] != "ended"
    valuable = cat.n_tasks >= 3
    for g in range(len(COUNTRIES) * 3):
        rows = order[bounds[g]:bounds[g + 1]]
        if not len(rows):
            continue
        c, p = divmod(g, 3)
        elig = ((offers["elig_countries"] >> c) & 1).astype(bool) & ((offers["elig_platforms"] >> p) & 1).astype(bool)
        w = offers["popularity"] * elig * np.where(live, 1.0, 0.05)
        if w.sum() <= 0:
            w = offers["popularity"].copy()
        wb = w * np.where(valuable, 4.0, 0.2)
        cw, cwb = np.cumsum(w), np.cumsum(wb)
        u = rng.random(len(rows))
        b = bot[rows]
        pick = np.searchsorted(cw, u * cw[-1], side="right")
        pick_b = np.searchsorted(cwb, u * cwb[-1], side="right")
        out[rows] = np.minimum(np.where(b, pick_b, pick), len(w) - 1)
    return out


def simulate_window(rng: np.random.Generator, users: dict, cat: Catalog, t0: int, t1: int, horizon: int,
                    seed: int) -> dict[str, np.ndarray]:
    """Every completion of offers started in [t0, t1) that completes before `horizon` (the clock).

    Returns completion columns (not yet ided), with each completion's planned status timeline,
    possibly after the clock: pending at completed_at, credited or rejected at settled_at,
    reversed at reversed_at (NEVER if not), and when the replica copies each of those three
    rows (pending_loaded_at, settled_loaded_at, reversed_loaded_at).
    """
    who, start_t = _starts(rng, users, t0, t1)
    # adaptive fraud (none unless generated with --adaptive-fraud-rate): rings' sessions, sleepers' bursts
    extra_who, extra_t, forced = adaptive.extra_starts(users, cat, t0, t1, seed)
    forced = np.concatenate([np.full(len(who), adaptive.NO_OFFER), forced])
    who, start_t = np.concatenate([who, extra_who]), np.concatenate([start_t, extra_t])
    fraud = users["fraud_code"][who]
    country = users["country_code"][who]
    platform = users["platform_code"][who]
    is_bot = fraud == F_BOT
    picky = is_bot | np.isin(fraud, adaptive.VALUABLE_PICKERS) | (forced == adaptive.PICK_VALUABLE)
    offer_pos = _choose_offers(rng, cat, country, platform, picky)
    offer_pos = np.where(forced >= 0, forced, offer_pos)
    offers = cat.offers
    ok = (start_t >= offers["created_at"][offer_pos]) & (start_t < offers["inactive_from"][offer_pos])
    # starts in time order, so completion ids roughly follow time like an auto-increment
    keep_sorted = np.flatnonzero(ok)[np.argsort(start_t[ok], kind="stable")]
    who, start_t, fraud, country, platform, offer_pos, is_bot, forced = (
        a[keep_sorted] for a in (who, start_t, fraud, country, platform, offer_pos, is_bot, forced)
    )
    # funnel: how many tasks of the offer this start completes (reach falls with position)
    u = rng.random(len(who))
    depth = np.searchsorted(cat.reach_key, offer_pos * 2.0 + (1.0 - u), side="right") - cat.first_task[offer_pos]
    full = cat.n_tasks[offer_pos]
    depth = np.where(is_bot & (rng.random(len(who)) < 0.7), full, depth)
    depth = np.where((forced >= 0) | (fraud == adaptive.F_SLOW_BOT), full, depth)
    depth = np.maximum(depth, 1)
    start_no = np.repeat(np.arange(len(who)), depth)
    pos = group_positions(depth)
    task_idx = cat.first_task[offer_pos][start_no] + pos
    ttype = cat.tasks["task_type_code"][task_idx]
    fr = fraud[start_no]
    bot = is_bot[start_no]
    step = rng.lognormal(0.0, 0.8, len(task_idx)) * cat.tasks["step_median_us"][task_idx]
    # a real person needs minutes for anything valuable; velocity grinders chain quick tasks
    floor = np.where(_VALUABLE[ttype], 3 * US_PER_MINUTE, 20 * US_PER_SECOND)
    step = np.maximum(np.where(fr == F_VELOCITY, step * 0.1, step), floor)
    step = np.where(bot, rng.uniform(2, 8, len(task_idx)) * US_PER_SECOND, step).astype(np.int64)
    slow = fr == adaptive.F_SLOW_BOT
    if slow.any():
        step[slow] = adaptive.slow_steps([seed, adaptive.RNG_ADAPTIVE, 3, t0 // US_PER_DAY], int(slow.sum()))
    cum = np.cumsum(step)
    first = np.cumsum(depth) - depth
    cum = cum - np.repeat(cum[first] - step[first], depth)
    started = start_t[start_no]
    completed = started + cum
    task_id = cat.tasks["task_id"][task_idx]
    v = cat.version_at(task_id, completed)
    stop = (completed >= horizon) | (v < 0) | ~cat.v["active"][np.maximum(v, 0)]
    stop |= completed >= offers["inactive_from"][offer_pos][start_no]
    # once a task can't complete, the later tasks of that start don't either
    stop = np.maximum.accumulate(start_no * 2 + stop) - start_no * 2 > 0
    keep = ~stop
    n = int(keep.sum())
    uidx = who[start_no][keep]
    fr, bot, ttype, started, completed, task_id, v = (a[keep] for a in (fr, bot, ttype, started, completed, task_id, v))
    offer_id = offers["offer_id"][offer_pos][start_no][keep]
    country = country[start_no][keep]
    platform = platform[start_no][keep]

    # where the completion comes from (country from the IP, device, IP)
    travel = users["travel_country"][uidx]
    abroad = (travel >= 0) & (rng.random(n) < 0.12)
    country = np.where(abroad, travel, country)
    hop = fr == F_HOPPER
    n_hop = np.maximum(users["hop_countries"][uidx], 1)
    country = np.where(hop, (country + 7 * (rng.integers(0, 1 << 30, n) % n_hop)) % len(COUNTRIES), country)
    salt = seed * 7919
    uu = uidx.astype(np.uint64)
    dev2 = users["has_device2"][uidx] & (rng.random(n) < 0.3)
    device = np.where(dev2, mix64(uu, salt + 21), mix64(uu, salt + 20))
    mobile_ip = rng.random(n) < 0.25
    ip = np.where(mobile_ip, mix64(uu, salt + 31), users["household_ip"][uidx])
    farm = fr == F_FARM
    grp = users["farm_group"][uidx].astype(np.uint64)
    device = np.where(farm, mix64(grp, salt + 22), device)
    farm_ip = rng.random(n) < 0.9
    ip = np.where(farm & farm_ip, mix64(grp, salt + 32), ip)
    ip = np.where(farm & ~farm_ip, mix64(rng.integers(0, 1 << 62, n).astype(np.uint64), salt + 33), ip)
    started_null = (rng.random(n) < 0.03) & (fr == F_NONE)

    # status timeline: pending -> credited [-> reversed within 90 days] or pending -> rejected
    p_rej = np.where(fr == F_NONE, 0.025, np.where(fr == F_BOT, 0.30, 0.22))
    valuable_buy = (ttype == T_PURCHASE) | (ttype == T_DEPOSIT)
    p_rev = np.where(fr == F_CHARGEBACK, 0.85, np.where(valuable_buy, 0.07, 0.03))
    p_rev = np.where((fr >= 0) & (fr != F_CHARGEBACK), 0.06, p_rev)
    adaptive.adjust([seed, adaptive.RNG_ADAPTIVE, 4, t0 // US_PER_DAY], users, uidx, fr, completed, device, ip,
                    p_rej, p_rev, seed)
    rejected = rng.random(n) < p_rej
    hold_days = rng.lognormal(np.log(HOLD_MEDIAN_DAYS[ttype]), 0.8)
    hold_days = np.where(rng.random(n) < 0.10, hold_days + rng.uniform(5, 25, n), hold_days)
    hold = (hold_days * US_PER_DAY).astype(np.int64)
    rej_delay = (rng.lognormal(np.log(1.5), 0.7, n) * US_PER_DAY).astype(np.int64)
    reversed_ = ~rejected & (rng.random(n) < p_rev)
    rev_days = np.where(
        fr == F_CHARGEBACK,
        5.0 + np.minimum(rng.exponential(4.0, n), 35.0),
        np.where(rng.random(n) < 0.55, rng.uniform(1, 30, n), rng.uniform(30, CHARGEBACK_WINDOW_DAYS - 0.01, n)),
    )
    settled = completed + np.where(rejected, rej_delay, hold)
    reversed_at = np.where(reversed_, settled + (rev_days * US_PER_DAY).astype(np.int64), NEVER)
    # replication: minutes usually; some rows arrive days late
    lags = (rng.exponential(25.0, (3, n)) * US_PER_MINUTE).astype(np.int64) + US_PER_SECOND
    late = rng.random((3, n)) < 0.04
    lags = np.where(late, (rng.uniform(1, 12, (3, n)) * US_PER_DAY).astype(np.int64), lags)

    # a reversed completion's credited row always reaches the replica before the reversal
    lags[1] = np.where(reversed_, np.minimum(lags[1], (reversed_at - settled) // 2), lags[1])
    return {
        "user_idx": uidx,
        "offer_id": offer_id,
        "offer_task_id": task_id,
        "task_type_code": ttype,
        "reward_coins": cat.v["reward_coins"][v],
        "payout_cents": cat.v["payout_cents"][v],
        "started_at": started,
        "started_null": started_null,
        "completed_at": completed,
        "rejected": rejected,
        "settled_at": settled,
        "reversed_at": reversed_at,
        "pending_loaded_at": completed + lags[0],
        "settled_loaded_at": settled + lags[1],
        "reversed_loaded_at": np.where(reversed_, reversed_at + lags[2], NEVER),
        "country_code": country.astype(np.int64),
        "platform_code": platform.astype(np.int64),
        "ip": ip.astype(np.uint64),
        "device": device.astype(np.uint64),
    }
