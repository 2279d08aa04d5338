"""Users (signups, channels, countries, platforms, referrals, fraud) and UA spend."""

from __future__ import annotations

import numpy as np

from offerwall.generator import adaptive
from offerwall.generator._util import US_PER_DAY, US_PER_HOUR, mix64
from offerwall.generator.adaptive import ADAPTIVE_TYPES, RNG_ADAPTIVE
from offerwall.generator.catalog import COUNTRIES, COUNTRY_VALUE, COUNTRY_WEIGHTS, PLATFORM_WEIGHTS, PLATFORMS

CHANNELS = np.array(["organic", "referral", "google_ads", "meta", "tiktok", "apple_search_ads"])
CHANNEL_WEIGHTS = np.array([0.35, 0.10, 0.18, 0.17, 0.12, 0.08])
PAID_CHANNELS = np.array([2, 3, 4, 5])
_PAID_POS = np.array([-1, -1, 0, 1, 2, 3])  # channel code -> position in PAID_CHANNELS
# user quality (expected activity multiplier) and cost per acquired user (USD, for a US user)
CHANNEL_QUALITY = np.array([1.0, 1.25, 0.9, 0.8, 0.5, 1.3])
CHANNEL_CAC_USD = np.array([0.0, 0.0, 3.2, 2.6, 1.4, 4.5])

# the five original types (drawn by --fraud-rate with FRAUD_MIX), then adaptive.py's five
FRAUD_TYPES = np.array(["device_farm", "bot", "velocity", "chargeback_abuser", "country_hopper", *ADAPTIVE_TYPES])
FRAUD_MIX = np.array([0.30, 0.18, 0.17, 0.20, 0.15])
F_NONE, F_FARM, F_BOT, F_VELOCITY, F_CHARGEBACK, F_HOPPER = -1, 0, 1, 2, 3, 4

# weekly seasonality (Mon..Sun) and time of day (UTC hour) of activity and signups
DOW_WEIGHTS = np.array([0.92, 0.90, 0.93, 0.96, 1.02, 1.15, 1.14])
HOUR_WEIGHTS = np.array([0.55, 0.45, 0.38, 0.35, 0.36, 0.42, 0.55, 0.70, 0.82, 0.90, 0.96, 1.0,
                         1.02, 1.02, 1.04, 1.06, 1.10, 1.18, 1.25, 1.30, 1.28, 1.15, 0.95, 0.72])
HOUSEHOLD_SHARE = 0.85  # households (shared IPs) per user


def daily_weights(day0: int, n_days: int) -> np.ndarray:
    """Relative signup volume per day: slow growth and weekly seasonality (day0 = days since epoch)."""
    days = day0 + np.arange(n_days)
    dow = (days + 3) % 7  # 1970-01-01 was a Thursday
    return DOW_WEIGHTS[dow] * (1.004 ** np.arange(n_days))


def signup_times(rng: np.random.Generator, n: int, t0: int, t1: int) -> np.ndarray:
    n_days = max(1, -(-(t1 - t0) // US_PER_DAY))
    w = daily_weights(t0 // US_PER_DAY, n_days)
    day = rng.choice(n_days, n, p=w / w.sum())
    hour = rng.choice(24, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    t = t0 + day * US_PER_DAY + hour * US_PER_HOUR + rng.integers(0, US_PER_HOUR, n)
    return np.minimum(t, t1 - 1)


def build_users(rng: np.random.Generator, n: int, first_idx: int, t0: int, t1: int, seed: int,
                fraud_rate: float, household_pool: int, first_farm: int = 0, adaptive_rate: float = 0.0,
                first_ring: int = 0) -> dict[str, np.ndarray]:
    """n users signing up in [t0, t1); user_idx continues from first_idx in signup order.

    Device farms are numbered from first_farm and adaptive rings from first_ring, so groups of a
    later advance never merge with older ones. A share `adaptive_rate` of the legitimate users
    become adaptive fraud (adaptive.py), from their own random stream.
    """
    signup = signup_times(rng, n, t0, t1)
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_WEIGHTS)
    platform = rng.choice(3, n, p=PLATFORM_WEIGHTS)
    channel = rng.choice(len(CHANNELS), n, p=CHANNEL_WEIGHTS)
    platform = np.where(channel == 5, 1, platform)
    platform = np.where(((channel == 3) | (channel == 4)) & (platform == 2), 0, platform)

    fraud = np.full(n, F_NONE, dtype=np.int64)
    n_fraud = int(round(n * fraud_rate))
    if n_fraud:
        who = rng.choice(n, n_fraud, replace=False)
        fraud[who] = rng.choice(len(FRAUD_MIX), n_fraud, p=FRAUD_MIX)
    farm = fraud == F_FARM
    farm_group = np.full(n, -1, dtype=np.int64)
    farm_idx = np.flatnonzero(farm)
    if len(farm_idx) < 5:  # too few to form a farm: they become bots
        fraud[farm_idx] = F_BOT
    elif len(farm_idx):
        sizes = rng.integers(5, 41, len(farm_idx))
        grp = np.searchsorted(np.cumsum(sizes), np.arange(len(farm_idx)), side="right")
        counts = np.bincount(grp)
        last = grp.max()
        if counts[last] < 5 and last > 0:
            grp[grp == last] = last - 1
        farm_group[farm_idx] = first_farm + grp
        n_grp = grp.max() + 1
        # a farm signs up in a burst, from one country and platform, through a paid channel
        base = rng.integers(t0, max(t0 + 1, t1 - 3 * US_PER_DAY), n_grp)
        signup[farm_idx] = np.minimum(base[grp] + rng.integers(0, 3 * US_PER_DAY, len(farm_idx)), t1 - 1)
        country[farm_idx] = rng.choice(len(COUNTRIES), n_grp, p=COUNTRY_WEIGHTS)[grp]
        platform[farm_idx] = 0
        channel[farm_idx] = rng.choice([2, 3, 4], n_grp)[grp]

    order = np.argsort(signup, kind="stable")
    cols = dict(signup=signup, country=country, platform=platform, channel=channel, fraud=fraud, farm_group=farm_group)
    cols = {k: v[order] for k, v in cols.items()}
    idx = first_idx + np.arange(n, dtype=np.int64)
    ch = cols["channel"]
    # referrals point to an earlier user
    referrer = np.floor(rng.random(n) * idx).astype(np.int64)
    is_ref = (ch == 1) & (idx > 0)
    ch = np.where((ch == 1) & (idx == 0), 0, ch)
    referrer = np.where(is_ref, referrer, -1)

    fr = cols["fraud"]
    quality = CHANNEL_QUALITY[ch] * (0.6 + 0.4 * COUNTRY_VALUE[cols["country"]])
    starts = rng.lognormal(np.log(2.2), 1.15, n) * quality
    tau = rng.lognormal(np.log(9.0), 0.8, n)
    starts = np.minimum(starts, 2.5 * tau)  # legit users: a few completions per active day at most
    retained = np.where(rng.random(n) < 0.3, starts * rng.uniform(0.005, 0.03, n), 0.0)
    fraud_starts = rng.uniform(12, 30, n)
    fraud_tau = rng.uniform(2, 8, n)
    is_f = fr >= 0
    starts = np.where(is_f, fraud_starts, starts)
    tau = np.where(is_f, fraud_tau, tau)
    retained = np.where(is_f, 0.0, retained)
    starts = np.where(fr == F_VELOCITY, 0.0, starts)

    salt = seed * 7919
    has_dev2 = (rng.random(n) < 0.2) & ~is_f
    household = (mix64(rng.integers(0, max(household_pool, 1), n).astype(np.uint64), salt + 11)).astype(np.uint64)
    travel = (rng.random(n) < 0.03) & ~is_f
    out = {
        "user_idx": idx,
        "signup_at": cols["signup"].astype(np.int64),
        "country_code": cols["country"].astype(np.int64),
        "platform_code": cols["platform"].astype(np.int64),
        "channel_code": ch.astype(np.int64),
        "referrer_idx": referrer,
        "fraud_code": fr.astype(np.int64),
        "farm_group": cols["farm_group"],
        "starts": starts,
        "tau_days": tau,
        "retained_per_day": retained,
        "has_device2": has_dev2,
        "household_ip": household,
        "travel_country": np.where(travel, (cols["country"] + rng.integers(1, len(COUNTRIES), n)) % len(COUNTRIES), -1),
        "hop_countries": np.where(fr == F_HOPPER, rng.integers(5, 9, n), 0).astype(np.int64),
    }
    adaptive.assign([seed, RNG_ADAPTIVE, 0, first_idx], out, adaptive_rate, first_ring)
    return out


def user_id_strings_u64(user_idx: np.ndarray, seed: int) -> np.ndarray:
    """The anonymised user id's 64-bit value (a bijection of the index, so ids never collide)."""
    return mix64(np.asarray(user_idx, dtype=np.uint64), seed * 7919 + 1)


def ua_spend(seed: int, users: dict, day0: int, day1: int) -> dict[str, np.ndarray]:
    """Daily spend per date x paid channel x country x platform for days [day0, day1) (days since epoch).

    Spend follows the users each paid cell brought (CAC differs per channel and country, with noise);
    some paid cells have spend and no users (campaigns that bought nothing). Randomness is per day, so a
    day's rows do not depend on which run (generate or advance) exports them.
    """
    n_days = max(day1 - day0, 0)
    n_c, n_p, n_ch = len(COUNTRIES), len(PLATFORMS), len(PAID_CHANNELS)
    shape = (n_days, n_ch, n_c, n_p)
    day = users["signup_at"] // US_PER_DAY
    ch_pos = _PAID_POS[users["channel_code"]]
    paid = (ch_pos >= 0) & (day >= day0) & (day < day1)
    flat = np.ravel_multi_index(
        (day[paid] - day0, ch_pos[paid], users["country_code"][paid], users["platform_code"][paid]), shape
    ) if n_days else np.empty(0, dtype=np.int64)
    counts = np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape)
    cell = (n_ch, n_c, n_p)
    noise = np.empty(shape)
    idle_u = np.empty(shape)
    idle_amount = np.empty(shape)
    for d in range(n_days):  # one small draw per day (720 cells), not per row
        rng = np.random.default_rng([seed, 2, day0 + d])
        noise[d] = rng.lognormal(0.0, 0.25, cell)
        idle_u[d] = rng.random(cell)
        idle_amount[d] = rng.uniform(1.0, 25.0, cell)
    cac = CHANNEL_CAC_USD[PAID_CHANNELS][None, :, None, None] * (0.25 + COUNTRY_VALUE[None, None, :, None])
    spend = counts * cac * noise
    # platforms a channel can buy: apple_search_ads only iOS, meta/tiktok mobile only
    allowed = np.ones((n_ch, n_p), dtype=bool)
    allowed[3, [0, 2]] = False
    allowed[1:3, 2] = False
    idle = (counts == 0) & (idle_u < 0.12) & allowed[None, :, None, :]
    spend = np.where(idle, idle_amount, spend)
    keep = spend > 0
    d, c, k, p = np.nonzero(keep)
    return {
        "spend_day": (day0 + d).astype(np.int64),
        "channel": CHANNELS[PAID_CHANNELS[c]],
        "country": COUNTRIES[k],
        "platform": PLATFORMS[p],
        "spend_cents": np.round(spend[keep] * 100).astype(np.int64),
        "users": counts[keep],
    }
