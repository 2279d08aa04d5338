"""The offer catalogue: offers from several providers and categories, 1-20 tasks each, and their edits.

Everything is vectorised over offers/tasks (numpy); the catalogue is small (hundreds to thousands of
offers) but is built the same way as the big tables.
"""

from __future__ import annotations

import numpy as np

from offerwall.generator._util import NEVER, US_PER_DAY, US_PER_HOUR, US_PER_MINUTE

COUNTRIES = np.array(["US", "GB", "DE", "CA", "FR", "BR", "IN", "PH", "ID", "MX", "AU", "NL", "PL", "ES", "IT"])
COUNTRY_WEIGHTS = np.array([30, 8, 7, 5, 5, 8, 10, 5, 4, 4, 3, 2, 3, 3, 3], dtype=float)
COUNTRY_WEIGHTS /= COUNTRY_WEIGHTS.sum()
# value of a user from this country (payouts, CAC scale with it)
COUNTRY_VALUE = np.array([1.0, 0.8, 0.8, 0.85, 0.7, 0.3, 0.15, 0.2, 0.15, 0.3, 0.85, 0.7, 0.35, 0.5, 0.5])
PLATFORMS = np.array(["android", "ios", "desktop"])
PLATFORM_WEIGHTS = np.array([0.55, 0.30, 0.15])

CATEGORIES = np.array(["game", "survey", "app", "shopping", "finance", "casino"])
CATEGORY_WEIGHTS = np.array([0.40, 0.15, 0.20, 0.10, 0.08, 0.07])
CATEGORY_POPULARITY = np.array([1.5, 1.2, 1.0, 0.5, 0.4, 0.4])
PROVIDERS = np.array(["direct", "adgem", "ayet", "torox", "lootably", "revu", "bitlabs", "cpx"])
PROVIDER_WEIGHTS = np.array([0.14, 0.20, 0.15, 0.14, 0.12, 0.10, 0.08, 0.07])

TASK_TYPES = np.array(["install", "signup", "level", "purchase", "deposit", "survey", "other"])
T_INSTALL, T_SIGNUP, T_LEVEL, T_PURCHASE, T_DEPOSIT, T_SURVEY, T_OTHER = range(7)
# probability to go on from the previous task to a task of this type (funnel by position)
CONTINUE_P = np.array([0.80, 0.62, 0.74, 0.10, 0.08, 0.45, 0.55])
# median time from the previous task (or from started_at) to completing a task of this type
STEP_MEDIAN_US = np.array(
    [4 * US_PER_MINUTE, 9 * US_PER_MINUTE, 2 * US_PER_HOUR, 2 * US_PER_DAY, 1 * US_PER_DAY,
     14 * US_PER_MINUTE, 50 * US_PER_MINUTE],
    dtype=np.float64,
)
# median days a completion of this type stays pending before it is credited
HOLD_MEDIAN_DAYS = np.array([0.6, 1.0, 1.5, 9.0, 7.0, 2.0, 1.5])
VALUABLE_TYPES = np.array([T_SIGNUP, T_LEVEL, T_PURCHASE, T_DEPOSIT])

LEVEL_REWARD_MAX = 30_000  # coins ($30) for the hardest level of a game
LEVELS = np.array([5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 100, 125, 150, 200, 250, 300, 400, 500, 750, 1000])

_ADJ = np.array(["Merge", "Coin", "Dragon", "Royal", "Candy", "Pixel", "Epic", "Lucky", "Magic", "Tiny", "Super",
                 "Idle", "Star", "Word", "Bubble", "Farm", "City", "Block", "Gold", "Ocean"])
_NOUN = np.array(["Quest", "Saga", "Kingdom", "Blast", "Heroes", "Empire", "Tycoon", "Legends", "Rush", "Mania",
                  "Puzzle", "Wars", "Club", "Story", "Island", "Master", "Party", "World"])
_BRAND = np.array(["Acme", "Nimbus", "Orbit", "Vertex", "Lumen", "Kraken", "Juniper", "Falcon", "Zenith", "Maple",
                   "Cobalt", "Harbor", "Quanta", "Sable", "Tango", "Umbra", "Vivid", "Willow", "Yonder", "Zephyr"])
_BRAND_SUFFIX = np.array(["Games", "Studios", "Labs", "Media", "Interactive", "Apps", "Finance", "Retail"])
_CATEGORY_PROMO = {
    "survey": "Survey", "shopping": "Cashback", "finance": "Account", "casino": "Casino",
}


def _chars(*parts: np.ndarray | str) -> np.ndarray:
    out = np.asarray(parts[0]).astype(object)
    for p in parts[1:]:
        out = out + np.asarray(p).astype(object)
    return out.astype(str)


def messy_text(rng: np.random.Generator, clean: np.ndarray, share: float) -> np.ndarray:
    """Case/space noise on a share of values (normal mess, not a bad row)."""
    n = len(clean)
    kind = np.where(rng.random(n) < share, rng.integers(1, 6, n), 0)
    title = np.char.capitalize(clean.astype(str))
    upper = np.char.upper(clean.astype(str))
    return np.select(
        [kind == 1, kind == 2, kind == 3, kind == 4, kind == 5],
        [title, upper, _chars(" ", clean), _chars(clean, " "), _chars(" ", title, " ")],
        clean.astype(str),
    )


def _countries_json(mask: np.ndarray) -> np.ndarray:
    """bool [n, countries] -> JSON array text; all-False -> '[]'."""
    parts = np.where(mask, np.char.add(np.char.add('"', COUNTRIES), '",'), "")
    body = parts[:, 0].astype(object)
    for j in range(1, mask.shape[1]):
        body = body + parts[:, j].astype(object)
    body = np.char.rstrip(body.astype(str), ",")
    return np.char.add(np.char.add("[", body), "]")


def _platforms_json(mask: np.ndarray) -> np.ndarray:
    parts = np.where(mask, np.char.add(np.char.add('"', PLATFORMS), '",'), "")
    body = parts[:, 0].astype(object) + parts[:, 1].astype(object) + parts[:, 2].astype(object)
    return np.char.add(np.char.add("[", np.char.rstrip(body.astype(str), ",")), "]")


def build_offers(rng: np.random.Generator, n: int, first_id: int, created_lo: int, created_hi: int,
                 created_window: tuple[int, int] | None, window_share: float) -> dict[str, np.ndarray]:
    """n offers; created uniformly in [created_lo, created_hi), a window_share of them inside created_window."""
    ids = first_id + np.arange(n, dtype=np.int64)
    cat = rng.choice(len(CATEGORIES), n, p=CATEGORY_WEIGHTS)
    prov = rng.choice(len(PROVIDERS), n, p=PROVIDER_WEIGHTS)
    # survey walls come from survey providers more often
    prov = np.where((cat == 1) & (rng.random(n) < 0.6), rng.choice([6, 7], n), prov)
    created = rng.integers(created_lo, created_hi, n)
    if created_window is not None:
        inside = rng.random(n) < window_share
        created = np.where(inside, rng.integers(created_window[0], created_window[1], n), created)
    # targeting: platforms (NULL = every platform) and countries (NULL or [] = worldwide)
    plat_mask = np.zeros((n, 3), dtype=bool)
    pk = rng.random(n)
    plat_mask[:, 0] = pk < 0.85
    plat_mask[:, 1] = (pk > 0.25) | (pk < 0.5)
    plat_mask[:, 2] = (cat == 1) | (cat >= 3) | (rng.random(n) < 0.15)
    plat_mask[~plat_mask.any(1), 0] = True
    plat_null = (cat == 1) & (rng.random(n) < 0.5)
    plat_mask[plat_null] = True
    worldwide = rng.random(n) < 0.4
    n_countries = rng.integers(1, 7, n)
    scores = rng.random((n, len(COUNTRIES))) ** (1.0 / COUNTRY_WEIGHTS[None, :])  # weighted sample w/o replacement
    ranks = np.argsort(np.argsort(-scores, axis=1), axis=1)
    ctry_mask = (ranks < n_countries[:, None]) & ~worldwide[:, None]
    countries_json = _countries_json(ctry_mask)
    empty_ww = worldwide & (rng.random(n) < 0.5)
    countries_text = np.where(empty_ww, "[]", countries_json).astype(object)
    countries_text[worldwide & ~empty_ww] = None
    elig_countries = np.where(worldwide[:, None], True, ctry_mask)
    platforms_text = _platforms_json(plat_mask).astype(object)
    platforms_text[plat_null] = None

    names = _chars(_ADJ[rng.integers(0, len(_ADJ), n)], " ", _NOUN[rng.integers(0, len(_NOUN), n)])
    promo = np.array([_CATEGORY_PROMO.get(c, "") for c in CATEGORIES])[cat]
    names = np.where(promo != "", _chars(_BRAND[rng.integers(0, len(_BRAND), n)], " ", promo), names)
    advertiser = _chars(_BRAND[rng.integers(0, len(_BRAND), n)], " ", _BRAND_SUFFIX[rng.integers(0, len(_BRAND_SUFFIX), n)])
    # margin share of payout: 20-50% usually, some offers margin-negative
    margin = np.where(rng.random(n) < 0.07, rng.uniform(-0.30, -0.02, n), rng.uniform(0.20, 0.50, n))
    popularity = rng.lognormal(0.0, 1.2, n) * CATEGORY_POPULARITY[cat]
    return {
        "offer_id": ids,
        "name": names,
        "advertiser": advertiser,
        "provider": PROVIDERS[prov],
        "category_code": cat.astype(np.int64),
        "category": messy_text(rng, CATEGORIES[cat], 0.35),
        "platforms": platforms_text,
        "countries": countries_text,
        "elig_platforms": (plat_mask * (1 << np.arange(3))).sum(1).astype(np.int64),
        "elig_countries": (elig_countries * (1 << np.arange(len(COUNTRIES)))).sum(1).astype(np.int64),
        "margin": margin,
        "popularity": popularity,
        "status": np.full(n, "active", dtype=object),
        "created_at": created.astype(np.int64),
        "updated_at": created.astype(np.int64),
        "inactive_from": np.full(n, NEVER, dtype=np.int64),
    }


def build_tasks(rng: np.random.Generator, offers: dict[str, np.ndarray], first_id: int) -> dict[str, np.ndarray]:
    """1-20 tasks per offer, ids contiguous per offer in position order."""
    cat = offers["category_code"]
    n_off = len(cat)
    lo = np.array([2, 1, 1, 1, 1, 2])[cat]
    hi = np.array([20, 3, 6, 3, 4, 5])[cat]
    n_tasks = np.minimum(lo + rng.geometric(np.array([0.12, 0.7, 0.4, 0.6, 0.5, 0.45])[cat]) - 1, hi)
    n_tasks = np.where(cat == 1, np.where(rng.random(n_off) < 0.8, 1, n_tasks), n_tasks)
    offer_idx = np.repeat(np.arange(n_off), n_tasks)
    pos = np.arange(len(offer_idx)) - np.repeat(np.cumsum(n_tasks) - n_tasks, n_tasks)
    n_of = n_tasks[offer_idx]
    c = cat[offer_idx]
    last = pos == n_of - 1
    has_buy = (rng.random(n_off) < np.array([0.25, 0.0, 0.3, 1.0, 1.0, 1.0])[cat])[offer_idx]
    ttype = np.select(
        [
            (c == 0) & (pos == 0),
            (c == 0) & last & has_buy & (pos > 0),
            c == 0,
            c == 1,
            (c == 2) & (pos == 0),
            (c == 2) & (pos == 1),
            (c == 2) & last & has_buy,
            c == 2,
            (c == 3) & (pos == 0),
            c == 3,
            (c == 4) & (pos == 0),
            (c == 4) & (pos == 1) & (n_of > 2),
            c == 4,
            (c == 5) & (pos == 0),
            c == 5,
        ],
        [T_INSTALL, T_PURCHASE, T_LEVEL, T_SURVEY, T_INSTALL, T_SIGNUP, T_PURCHASE, T_OTHER,
         T_SIGNUP, T_PURCHASE, T_SIGNUP, T_OTHER, T_DEPOSIT, T_SIGNUP, T_DEPOSIT],
        T_OTHER,
    )
    n = len(ttype)
    base = np.select(
        [ttype == T_INSTALL, ttype == T_SIGNUP, ttype == T_SURVEY, ttype == T_OTHER,
         ttype == T_PURCHASE, ttype == T_DEPOSIT],
        [rng.uniform(30, 300, n), rng.uniform(100, 900, n), rng.uniform(150, 2000, n), rng.uniform(100, 1500, n),
         rng.uniform(2000, 20000, n), rng.uniform(5000, 60000, n)],
        0.0,
    )
    # level rewards grow geometrically, the last level of an offer worth at most LEVEL_REWARD_MAX coins
    level_base = rng.uniform(80, 300, n_off)
    max_growth = (LEVEL_REWARD_MAX / level_base) ** (1.0 / np.maximum(n_tasks - 1, 1))
    growth = np.minimum(rng.uniform(1.25, 1.7, n_off), max_growth)[offer_idx]
    level_reward = level_base[offer_idx] * growth ** pos
    reward = np.where(ttype == T_LEVEL, level_reward, base)
    # rewards rise with position inside an offer (cummax per offer, then strictly rising)
    key = offer_idx.astype(np.float64) * 1e9 + reward
    reward = np.maximum.accumulate(key) - offer_idx.astype(np.float64) * 1e9
    reward = np.round(reward / 10.0) * 10 + pos * 10
    reward_coins = reward.astype(np.int64)
    margin = offers["margin"][offer_idx] + rng.uniform(-0.04, 0.04, n)
    margin = np.minimum(margin, 0.6)
    payout_cents = np.round(reward_coins / 10.0 / (1.0 - margin)).astype(np.int64)
    payout_cents = np.maximum(payout_cents, 1)

    level_no = LEVELS[np.minimum(pos, len(LEVELS) - 1)]
    amount = (np.round(reward_coins / 1000.0 * 3 / 5) * 5).astype(np.int64) + 5
    title = np.select(
        [ttype == T_INSTALL, ttype == T_SIGNUP, ttype == T_LEVEL, ttype == T_PURCHASE, ttype == T_DEPOSIT,
         ttype == T_SURVEY, (ttype == T_OTHER) & (c == 4)],
        [np.full(n, "Install and open"), np.full(n, "Register an account"),
         _chars("Reach level ", level_no.astype(str)), _chars("Make a purchase of $", amount.astype(str)),
         _chars("Deposit $", amount.astype(str)), np.full(n, "Complete the survey"),
         np.full(n, "Verify your identity")],
        np.where(rng.random(n) < 0.5, "Use the app for 3 days", "Complete the tutorial"),
    )
    cont = np.where(pos == 0, 1.0, CONTINUE_P[ttype] * rng.uniform(0.85, 1.1, n))
    cont = np.where(pos == 0, 1.0, np.clip(cont, 0.0, 0.97))
    logc = np.log(cont)
    cum = np.cumsum(logc)
    start_of = np.repeat(np.cumsum(n_tasks) - n_tasks, n_tasks)
    reach = np.exp(cum - (cum[start_of] - logc[start_of]))
    step_median = STEP_MEDIAN_US[ttype] * np.where(ttype == T_LEVEL, 1.35 ** pos, 1.0)
    created = offers["created_at"][offer_idx] + rng.integers(0, 10 * US_PER_MINUTE, n)
    return {
        "task_id": first_id + np.arange(n, dtype=np.int64),
        "offer_id": offers["offer_id"][offer_idx],
        "position": (pos + 1).astype(np.int64),
        "title": title.astype(str),
        "task_type_code": ttype.astype(np.int64),
        "task_type": TASK_TYPES[ttype],
        "reward_coins": reward_coins,
        "payout_cents": payout_cents,
        "status": np.full(n, "active", dtype=object),
        "created_at": created.astype(np.int64),
        "updated_at": created.astype(np.int64),
        "reach": reach,
        "step_median_us": step_median,
    }


def edit_catalog(rng: np.random.Generator, offers: dict, tasks: dict, t0: int, t1: int,
                 weeks: float) -> tuple[list[dict], np.ndarray]:
    """Edits in place during [t0, t1): reward/payout changes, tasks disabled, offers paused or ended.

    Mutates offers/tasks (current state) and returns the new task versions (for completions'
    amounts at their own time) and the ids of offers whose row changed.
    """
    n_t = len(tasks["task_id"])
    active_t = tasks["status"] == "active"
    lo_t = np.maximum(tasks["created_at"], t0)
    ok = active_t & (lo_t < t1)
    p_edit = 1.0 - (1.0 - 0.03) ** weeks
    versions: list[dict] = []
    # up to two amount edits per task in the window, then maybe a disable
    for _ in range(2):
        pick = ok & (rng.random(n_t) < p_edit)
        at = rng.integers(0, 1 << 62, n_t) % np.maximum(t1 - lo_t, 1) + lo_t
        at = np.maximum(at, tasks["updated_at"] + 1)
        pick &= at < t1
        r_fac = rng.uniform(0.7, 1.35, n_t)
        p_fac = np.where(rng.random(n_t) < 0.5, r_fac, rng.uniform(0.75, 1.3, n_t))
        new_r = np.maximum(np.round(tasks["reward_coins"] * r_fac / 10) * 10, 10).astype(np.int64)
        new_p = np.maximum(np.round(tasks["payout_cents"] * p_fac), 1).astype(np.int64)
        tasks["reward_coins"] = np.where(pick, new_r, tasks["reward_coins"])
        tasks["payout_cents"] = np.where(pick, new_p, tasks["payout_cents"])
        tasks["updated_at"] = np.where(pick, at, tasks["updated_at"])
        versions.append(_versions(tasks, pick))
    p_dis = 1.0 - (1.0 - 0.008) ** weeks
    dis = ok & (tasks["position"] > 1) & (rng.random(n_t) < p_dis)
    at = tasks["updated_at"] + (rng.random(n_t) * np.maximum(t1 - tasks["updated_at"], 1)).astype(np.int64)
    dis &= at < t1
    tasks["status"] = np.where(dis, "disabled", tasks["status"]).astype(object)
    tasks["updated_at"] = np.where(dis, at, tasks["updated_at"])
    versions.append(_versions(tasks, dis))

    # offers: some end, some pause
    n_o = len(offers["offer_id"])
    lo_o = np.maximum(offers["created_at"], t0)
    live = (offers["status"] != "ended") & (lo_o < t1)
    u = rng.random(n_o)
    p_end = 1.0 - (1.0 - 0.012) ** weeks
    p_pause = 1.0 - (1.0 - 0.006) ** weeks
    end = live & (u < p_end)
    pause = live & ~end & (offers["status"] == "active") & (u < p_end + p_pause)
    at = lo_o + (rng.random(n_o) * np.maximum(t1 - lo_o, 1)).astype(np.int64)
    at = np.maximum(at, offers["updated_at"] + 1)
    changed = (end | pause) & (at < t1)
    offers["status"] = np.where(changed & end, "ended", np.where(changed & pause, "paused", offers["status"])).astype(object)
    offers["inactive_from"] = np.where(changed, np.minimum(offers["inactive_from"], at), offers["inactive_from"])
    offers["updated_at"] = np.where(changed, at, offers["updated_at"])
    return versions, offers["offer_id"][changed]


def _versions(tasks: dict, pick: np.ndarray) -> dict:
    return {
        "task_id": tasks["task_id"][pick],
        "valid_from": tasks["updated_at"][pick],
        "reward_coins": tasks["reward_coins"][pick],
        "payout_cents": tasks["payout_cents"][pick],
        "active": (tasks["status"][pick] == "active"),
    }


def initial_versions(tasks: dict) -> dict:
    return _versions(tasks, np.ones(len(tasks["task_id"]), dtype=bool))
