"""Adaptive fraud in the population (issue 18): drawn from its own random stream, so the users of
a rate-0 run are exactly the users of a run without it; groups are well formed."""

from __future__ import annotations

import numpy as np

from offerwall.generator import adaptive
from offerwall.generator.population import build_users

T0, T1 = 1_767_225_600_000_000, 1_767_225_600_000_000 + 40 * 86_400_000_000


def _users(rate: float) -> dict:
    rng = np.random.default_rng([9, 0])
    return build_users(rng, 4000, 0, T0, T1, 9, 0.03, 3400, adaptive_rate=rate)


def test_rate_zero_changes_nothing_and_adaptive_users_were_legitimate():
    base, adapt = _users(0.0), _users(0.04)
    assert (base["fraud_code"] < adaptive.F_ROTATING_FARM).all()
    assert (base["ring_group"] == -1).all() and (base["wake_at"] == 0).all()
    classic = base["fraud_code"] >= 0
    # the classic fraud users and every column they have are untouched
    assert np.array_equal(adapt["fraud_code"][classic], base["fraud_code"][classic])
    for col in ("signup_at", "country_code", "channel_code", "starts", "farm_group"):
        assert np.array_equal(adapt[col][classic], base[col][classic]), col
    new = adapt["fraud_code"] >= adaptive.F_ROTATING_FARM
    assert (base["fraud_code"][new] == -1).all()
    assert abs(new.sum() - 0.04 * 4000) <= 0.04 * 4000 * 0.25


def test_groups_and_referral_chains():
    users = _users(0.04)
    fr, grp = users["fraud_code"], users["ring_group"]
    for code in (adaptive.F_ROTATING_FARM, adaptive.F_REFERRAL_RING, adaptive.F_COORDINATED):
        lo, hi = adaptive.GROUP_SIZE[code]
        groups = np.unique(grp[fr == code])
        assert len(groups) and (groups >= 0).all()
        for g in groups:
            members = np.flatnonzero(grp == g)
            assert lo <= len(members) < hi
            assert (users["ring_pos"][members] == np.arange(len(members))).all()
            assert len(set(users["country_code"][members].tolist())) == 1
            if code == adaptive.F_REFERRAL_RING:  # each member referred by the previous one
                assert (users["referrer_idx"][members[1:]] == users["user_idx"][members[:-1]]).all()
    sleepers = fr == adaptive.F_SLEEPER
    days = (users["wake_at"][sleepers] - users["signup_at"][sleepers]) / 86_400_000_000
    assert sleepers.any() and (days >= adaptive.SLEEP_DAYS[0]).all() and (days < adaptive.SLEEP_DAYS[1]).all()


class _Catalog:
    """Every offer valuable (3 tasks) and live through the whole period."""

    def __init__(self, n: int = 5):
        self.n_tasks = np.full(n, 3)
        self.offers = {"created_at": np.zeros(n, dtype=np.int64), "inactive_from": np.full(n, 1 << 62)}


def test_fraud_starts_when_the_fraud_first_acts():
    """fraud_starts (what fraud-eval's observable population reads) is the moment the generator
    first makes each user act as fraud: signup for most types, a sleeper's first burst, a
    coordinated ring's first session (the first extra start extra_starts gives its members)."""
    users = _users(0.04)
    seed = 9
    starts = adaptive.fraud_starts(users, seed)
    fr = users["fraud_code"]
    assert (starts[fr < 0] == -1).all()
    plain = (fr >= 0) & (fr != adaptive.F_SLEEPER) & (fr != adaptive.F_COORDINATED)
    assert np.array_equal(starts[plain], users["signup_at"][plain])
    sleep = fr == adaptive.F_SLEEPER
    assert sleep.any() and np.array_equal(starts[sleep], users["wake_at"][sleep])
    assert (starts[sleep] >= users["signup_at"][sleep] + adaptive.SLEEP_DAYS[0] * 86_400_000_000).all()
    who, at, _ = adaptive.extra_starts(users, _Catalog(), 0, 1 << 62, seed)
    ring = np.flatnonzero(fr == adaptive.F_COORDINATED)
    assert len(ring)
    for member in ring:
        acts = at[who == member]
        # the session starts at the planned time plus each member's jitter (within the spread)
        assert starts[member] <= acts.min() < starts[member] + adaptive.COORDINATED_SPREAD
        assert starts[member] > users["signup_at"][member]
