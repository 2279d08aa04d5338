"""Adaptive fraud: patterns written to dodge the one-rule-per-type anti-fraud score.

`generate --adaptive-fraud-rate R` turns a share R of the legitimate users into five adaptive
fraud types, labelled in labels.fraud_users like the others:

- rotating_farm: a farm whose phones are passed around (each device is used by exactly two
  members, one after the other) and whose every completion comes from a fresh mobile IP;
- slow_bot: a bot that completes whole valuable offers at a human, very regular pace (4-6 min a
  task) over weeks, so no "fast" and no "velocity" signal;
- referral_ring: accounts that sign up one after another, each referred by the previous one,
  grab the valuable offers' rewards and leave;
- sleeper: a normal-looking user for 3-5 weeks, then a week-long burst of valuable offers that
  are charged back;
- coordinated_ring: accounts with nothing in common (own device, own network, normal speed) that
  start the same offer, all its tasks in the same order, within minutes of each other, a few
  times.

They use their own random streams ([seed, RNG_ADAPTIVE, ...]), so with a rate of 0 (the default)
the generated data is exactly what it was before they existed.
"""

from __future__ import annotations

import numpy as np

from offerwall.generator._util import US_PER_DAY, US_PER_MINUTE, US_PER_SECOND, mix64

RNG_ADAPTIVE = 18
ADAPTIVE_TYPES = ("rotating_farm", "slow_bot", "referral_ring", "sleeper", "coordinated_ring")
F_ROTATING_FARM, F_SLOW_BOT, F_REFERRAL_RING, F_SLEEPER, F_COORDINATED = 5, 6, 7, 8, 9
ADAPTIVE_MIX = np.array([0.22, 0.18, 0.22, 0.16, 0.22])
GROUP_SIZE = {F_ROTATING_FARM: (6, 16), F_REFERRAL_RING: (5, 13), F_COORDINATED: (8, 17)}
COORDINATED_SESSIONS = 5  # times a coordinated ring acts together
COORDINATED_SPREAD = 20 * US_PER_MINUTE  # members start within this of the ring's time
SLEEP_DAYS = (21, 36)  # a sleeper behaves for this many days
BURST_DAYS, BURST_STARTS_PER_DAY = 7, 4
SLEEPER_REVERSAL = 0.6
PICK_VALUABLE, NO_OFFER = -2, -1  # an extra start's offer: choose a valuable one; a normal start
VALUABLE_PICKERS = (F_SLOW_BOT, F_REFERRAL_RING)  # choose offers like a bot (valuable ones)


def assign(rng_seed: list[int], users: dict, rate: float, first_group: int) -> None:
    """Turn a share `rate` of the legitimate users into adaptive fraud (in place).

    Group types take runs of consecutive legitimate signups (they sign up together). Adds the
    columns `ring_group` and `ring_pos` (group and position in it, -1 when none) and `wake_at`
    (a sleeper's first burst time, else 0).
    """
    n = len(users["user_idx"])
    users["ring_group"] = np.full(n, -1, dtype=np.int64)
    users["ring_pos"] = np.full(n, -1, dtype=np.int64)
    users["wake_at"] = np.zeros(n, dtype=np.int64)
    n_adapt = int(round(n * rate))
    if n_adapt == 0:
        return
    rng = np.random.default_rng(rng_seed)
    fraud = users["fraud_code"]
    legit = np.flatnonzero(fraud < 0)
    wanted = np.round(ADAPTIVE_MIX * n_adapt).astype(np.int64)
    group = first_group
    taken = np.zeros(n, dtype=bool)
    for code, count in zip(range(F_ROTATING_FARM, F_COORDINATED + 1), wanted):
        left = int(count)
        tries = 0
        while left > 0 and tries < 1000:
            tries += 1
            lo, hi = GROUP_SIZE.get(code, (1, 2))
            size = min(int(rng.integers(lo, hi)), left) if code in GROUP_SIZE else 1
            if code in GROUP_SIZE and size < lo:
                break
            at = int(rng.integers(0, max(len(legit) - size, 1)))
            members = legit[at:at + size]
            if len(members) < size or taken[members].any():
                continue
            taken[members] = True
            fraud[members] = code
            if code in GROUP_SIZE:
                users["ring_group"][members] = group
                users["ring_pos"][members] = np.arange(size)
                group += 1
            left -= size
    _shape(rng, users, taken)


def _shape(rng: np.random.Generator, users: dict, taken: np.ndarray) -> None:
    """Activity parameters of the adaptive users (the simulator reads them like everyone's)."""
    fr = users["fraud_code"]
    n = len(fr)
    grp = users["ring_group"]
    for code in (F_ROTATING_FARM, F_REFERRAL_RING, F_COORDINATED):
        for g in np.unique(grp[fr == code]):
            members = np.flatnonzero(grp == g)
            users["country_code"][members] = users["country_code"][members[0]]
            if code == F_REFERRAL_RING:  # each member recruited by the previous one
                users["channel_code"][members[1:]] = 1
                users["referrer_idx"][members[1:]] = users["user_idx"][members[:-1]]
            if code == F_ROTATING_FARM:
                users["platform_code"][members] = 0
    starts = users["starts"]
    tau = users["tau_days"]
    farm = fr == F_ROTATING_FARM
    starts[farm], tau[farm] = rng.uniform(10, 25, farm.sum()), rng.uniform(3, 8, farm.sum())
    slow = fr == F_SLOW_BOT
    starts[slow], tau[slow] = rng.uniform(25, 45, slow.sum()), rng.uniform(25, 45, slow.sum())
    ring = fr == F_REFERRAL_RING
    starts[ring], tau[ring] = rng.uniform(4, 9, ring.sum()), rng.uniform(2, 5, ring.sum())
    coord = fr == F_COORDINATED
    starts[coord] = rng.uniform(0.5, 3, coord.sum())  # a little normal activity besides the ring's
    sleep = fr == F_SLEEPER
    users["wake_at"][sleep] = users["signup_at"][sleep] + rng.integers(*SLEEP_DAYS, sleep.sum()) * US_PER_DAY
    users["retained_per_day"][taken] = 0.0
    users["has_device2"][taken] = False
    users["travel_country"][taken] = -1


def extra_starts(users: dict, cat, t0: int, t1: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user position, start time, offer) of the rings' sessions and the sleepers' bursts in [t0, t1).

    The offer is an offer position (the ring's offer, all its tasks) or PICK_VALUABLE (choose like a bot).
    """
    fr = users.get("fraud_code")
    empty = np.empty(0, dtype=np.int64)
    if "ring_group" not in users or not (fr >= F_ROTATING_FARM).any():
        return empty, empty, empty
    who, at, offer = [], [], []
    valuable = np.flatnonzero(cat.n_tasks >= 3)
    grp = users["ring_group"]
    for g in np.unique(grp[fr == F_COORDINATED]):
        members, grng, times = _ring_sessions(users, int(g), seed)
        for t in times:
            live = valuable[(cat.offers["created_at"][valuable] <= t)
                            & (cat.offers["inactive_from"][valuable] > t + US_PER_DAY)]
            if not (t0 <= t < t1) or not len(live):
                continue
            jitter = grng.integers(0, COORDINATED_SPREAD, len(members))
            who.append(members)
            at.append(np.minimum(t + jitter, t1 - 1))
            offer.append(np.full(len(members), live[int(grng.integers(0, len(live)))]))
    sleepers = np.flatnonzero((fr == F_SLEEPER) & (users["wake_at"] < t1)
                              & (users["wake_at"] + BURST_DAYS * US_PER_DAY > t0))
    if len(sleepers):
        srng = np.random.default_rng([seed, RNG_ADAPTIVE, 2, t0 // US_PER_DAY])
        n = srng.poisson(BURST_STARTS_PER_DAY * BURST_DAYS, len(sleepers))
        w = np.repeat(sleepers, n)
        t = users["wake_at"][w] + (srng.random(len(w)) * BURST_DAYS * US_PER_DAY).astype(np.int64)
        inside = (t >= t0) & (t < t1)
        who.append(w[inside])
        at.append(t[inside])
        offer.append(np.full(int(inside.sum()), PICK_VALUABLE))
    if not who:
        return empty, empty, empty
    return np.concatenate(who), np.concatenate(at).astype(np.int64), np.concatenate(offer).astype(np.int64)


def _ring_sessions(users: dict, group: int, seed: int) -> tuple[np.ndarray, np.random.Generator, np.ndarray]:
    """A coordinated ring's members, its random stream (positioned after the session times) and the
    planned times of its sessions (from a day after its last member signed up)."""
    members = np.flatnonzero(users["ring_group"] == group)
    grng = np.random.default_rng([seed, RNG_ADAPTIVE, 1, group])
    first = int(users["signup_at"][members].max())
    days = np.sort(grng.uniform(1, 40, COORDINATED_SESSIONS))
    return members, grng, first + (days * US_PER_DAY).astype(np.int64)


def fraud_starts(users: dict, seed: int) -> np.ndarray:
    """When each user's fraudulent behaviour begins (microseconds; -1 for a legitimate user).

    Signup for every type but two: a sleeper's first burst (wake_at) and a coordinated ring's
    first planned session. Before that moment the account acts like anyone: nothing in the data
    can tell it apart (fraud-eval's "observable" population).
    """
    fr = users["fraud_code"]
    out = np.where(fr >= 0, users["signup_at"], -1).astype(np.int64)
    if "ring_group" not in users:
        return out
    sleep = fr == F_SLEEPER
    out[sleep] = users["wake_at"][sleep]
    grp = users["ring_group"]
    for g in np.unique(grp[fr == F_COORDINATED]):
        members, _, times = _ring_sessions(users, int(g), seed)
        out[members] = times[0]
    return out


def adjust(rng_seed: list[int], users: dict, uidx: np.ndarray, fr: np.ndarray, completed: np.ndarray,
           device: np.ndarray, ip: np.ndarray, p_rej: np.ndarray, p_rev: np.ndarray, seed: int) -> None:
    """Devices, networks and fates of the adaptive users' completions (in place)."""
    if not (fr >= F_ROTATING_FARM).any():
        return
    rng = np.random.default_rng(rng_seed)
    n = len(fr)
    adaptive = fr >= F_ROTATING_FARM
    p_rej[adaptive] = 0.025  # nothing the advertiser rejects more than usual
    p_rev[adaptive] = 0.03
    farm = np.flatnonzero(fr == F_ROTATING_FARM)
    if len(farm):
        grp = users["ring_group"][uidx[farm]]
        pos = users["ring_pos"][uidx[farm]]
        day = completed[farm] // US_PER_DAY
        slot = (pos + (day % 2)).astype(np.uint64)  # phones passed on: each used by two members
        device[farm] = mix64(grp.astype(np.uint64) * np.uint64(64) + slot, seed * 7919 + 24)
        ip[farm] = mix64(rng.integers(0, 1 << 62, len(farm)).astype(np.uint64), seed * 7919 + 34)
    sleeper = (fr == F_SLEEPER) & (completed >= users["wake_at"][uidx])
    p_rev[sleeper] = SLEEPER_REVERSAL


def slow_steps(rng_seed: list[int], n: int) -> np.ndarray:
    """A slow bot's time per task: 4-6 minutes, much more regular than a person."""
    return (np.random.default_rng(rng_seed).uniform(4, 6, n) * 60 * US_PER_SECOND).astype(np.int64)
