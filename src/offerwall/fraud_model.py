"""The learned anti-fraud model's estimator (``offerwall.fraud_ml`` reads the data, trains and
writes; ``offerwall.fraud_loto`` evaluates): its inputs, the rarity transform, three
gradient-boosted parts and the high tier's threshold chosen on inner folds (docs/marts.md,
"Coordination and learning")."""

from __future__ import annotations

import os

import numpy as np

# many small gradient-boosting fits: OpenMP threads only add waiting (tenfold on a busy machine);
# set before scikit-learn is imported (lazily, by _boosting)
os.environ.setdefault("OMP_NUM_THREADS", "1")

from offerwall import OfferwallError

# the mart's features (macro fraud_model_features()) and two scores the model reads too
FEATURES = (
    "completions_per_active_day", "peak_day_share", "distinct_devices", "networks_per_completion",
    "distinct_countries", "completions_per_offer", "valuable_share", "avg_speed_ratio", "speed_ratio_cv",
    "reversal_rate", "rejection_rate", "days_to_first_completion", "days_active_after_first_reward",
    "graph_degree", "component_size", "component_referral_links", "component_device_links",
    "component_coactivity_links", "component_members_per_signup_day", "component_task_overlap",
    "component_days_active_after_first_reward", "signup_cohort_size", "user_referral_links",
    "user_device_links", "user_network_links", "user_coactivity_links", "user_task_overlap",
)
MODEL_INPUTS = FEATURES + ("rules_risk_score", "anomaly_score")
HIGH_TIER = 0.8  # dbt var fraud_model_high_tier_min_score
TOP_FEATURES = 3


# inputs whose LOW values are the suspicious side (chosen by hand from what each means: a fast
# task, a very regular pace, a first completion right after signup, leaving soon after the reward)
LOW_IS_ODD = frozenset({"avg_speed_ratio", "speed_ratio_cv", "days_to_first_completion",
                        "days_active_after_first_reward", "component_days_active_after_first_reward"})
TOP_RARITIES = 3  # the generic part reads the user's three rarest inputs, whichever they are
# signs of coordination shared by every kind of ring (not by one type): the coordination part reads
# only their rarity, so what it learns from the rings it saw applies to a ring it never saw
COORDINATION_INPUTS = ("signup_cohort_size",)
RARITY_LEVELS = (1.5, 2.0, 2.5)  # ...and how many inputs are rarer than 1 in 30, 100, 300
TARGET_PRECISION = 0.92  # the high tier's precision the threshold aims at on the training data
INNER_FOLDS = 3
BOOSTING = {"max_iter": 80, "learning_rate": 0.15, "max_leaf_nodes": 8, "min_samples_leaf": 10, "max_bins": 64,
            "l2_regularization": 1.0}


class Rarity:
    """How rare a user's value of each input is among the training data's legitimate users.

    rarity = -log10((legitimate users at least as odd + 1) / (legitimate users + 1)), on the odd
    side of each input (LOW_IS_ODD): 0 for a typical value, 2 for 1 in 100, about log10(n) beyond
    every legitimate user. The scale is the same for every input, so a model that learned "a user
    this rare in some input is fraud" applies it to an input no fraud it saw was rare in.
    """

    def __init__(self):
        self.direction = np.array([-1.0 if name in LOW_IS_ODD else 1.0 for name in MODEL_INPUTS])

    def _odd(self, x: np.ndarray) -> np.ndarray:
        return np.log1p(np.maximum(x, 0.0)) * self.direction

    def fit(self, x: np.ndarray, y: np.ndarray) -> Rarity:
        self.legit = np.sort(self._odd(x[y == 0]), axis=0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        v = self._odd(x)
        n = len(self.legit)
        out = np.empty_like(v)
        for j in range(v.shape[1]):
            at_least = n - np.searchsorted(self.legit[:, j], v[:, j] - 1e-12, side="left")
            out[:, j] = -np.log10((at_least + 1) / (n + 1))
        return out


def _boosting(seed: int):
    try:
        from sklearn.ensemble import HistGradientBoostingClassifier
    except ImportError:  # pragma: no cover - depends on the install
        raise OfferwallError("the learned model needs scikit-learn: pip install 'offerwall-warehouse[ml]'") from None
    return HistGradientBoostingClassifier(random_state=seed, **BOOSTING)


PARTS = ("specific", "generic", "coordination")


class _Part:
    """Gradient boosting on a view of the inputs (`view`: raw inputs -> the part's columns)."""

    def __init__(self, name: str, seed: int):
        self.name = name
        self.seed = seed

    def view(self, x: np.ndarray) -> np.ndarray:
        if self.name == "specific":
            return x
        rarity = self.rarity.transform(x)
        if self.name == "coordination":
            return rarity[:, [MODEL_INPUTS.index(name) for name in COORDINATION_INPUTS]]
        top = -np.sort(-rarity, axis=1)[:, :TOP_RARITIES]
        counts = np.stack([(rarity >= level).sum(axis=1) for level in RARITY_LEVELS], axis=1)
        scores = x[:, [MODEL_INPUTS.index("rules_risk_score"), MODEL_INPUTS.index("anomaly_score")]]
        return np.hstack([top, rarity.sum(axis=1, keepdims=True), counts, scores])

    def fit(self, x: np.ndarray, y: np.ndarray) -> _Part:
        self.rarity = Rarity().fit(x, y)
        self.typical = np.median(x[y == 0], axis=0)
        self.gb = _boosting(self.seed).fit(self.view(x), y)
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.gb.predict_proba(self.view(x))[:, 1]


def _log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def precision_threshold(y: np.ndarray, score: np.ndarray, target: float = TARGET_PRECISION) -> float:
    """The lowest score whose users at or above it are fraud at `target` precision or more
    (HIGH_TIER when no threshold reaches it or there is no fraud)."""
    order = np.argsort(-score, kind="stable")
    s, hit = score[order], y[order]
    precision = np.cumsum(hit) / np.arange(1, len(hit) + 1)
    last = s[:-1] != s[1:] if len(s) > 1 else np.array([], dtype=bool)
    ends = np.append(last, True)  # a threshold keeps every tie
    ok = np.flatnonzero(ends & (precision >= target) & (np.cumsum(hit) > 0))
    return float(s[ok[-1]]) if len(ok) else HIGH_TIER


class Model:
    """Three gradient-boosted parts; the score is the largest of their probabilities, rescaled so
    that the high tier (score >= HIGH_TIER) starts at a threshold chosen on the training data.

    - `specific` reads every input (the rules' and the anomaly score among them): it learns the
      patterns of the labelled types;
    - `generic` reads only how rare the user's rarest inputs are among legitimate users (Rarity:
      the three rarest, whichever inputs they are, their sum, how many are rarer than 1 in 30,
      100 and 300) and the rules' and the anomaly score,
      so a type it was never shown still scores high when it is rare in an input of its own
      (what leave-one-type-out measures).
    - `coordination` reads only the rarity of COORDINATION_INPUTS (the size of the user's signup
      cohort: linked accounts made within hours of each other). Boosting on every input explains
      each ring by whichever input tells it apart best (a coordinated ring by its co-activity, a
      device farm by its shared devices and the rules), so a ring type left out of training, which
      shares only the coordination with the others, can score low in both parts above; a part
      with nothing else to read learns "a cohort this rare is fraud" from every ring it saw.
    - threshold: `INNER_FOLDS`-fold out-of-fold scores of the training data alone give the lowest
      raw score at which the high tier reaches TARGET_PRECISION; raw scores are mapped piecewise
      linearly (0 -> 0, threshold -> HIGH_TIER, 1 -> 1). The evaluated users never take part.
    A score is explained by the part that gave it: for each input, how much that part's log-odds
    falls when the input is set to the legitimate users' median (the top three, log-odds).
    """

    def __init__(self, seed: int = 0, tune_threshold: bool = True):
        self.seed = seed
        self.tune_threshold = tune_threshold
        self.threshold = HIGH_TIER

    def _fit_parts(self, x: np.ndarray, y: np.ndarray) -> list[_Part]:
        return [_Part(name, self.seed).fit(x, y) for name in PARTS]

    def fit(self, x: np.ndarray, y: np.ndarray) -> Model:
        if len(set(y.tolist())) < 2:
            raise OfferwallError("the training data has a single class: generate with --fraud-rate > 0")
        self.parts = self._fit_parts(x, y)
        if self.tune_threshold and y.sum() >= INNER_FOLDS:
            raw = np.empty(len(y))
            for test in _inner_folds(y, self.seed):
                parts = self._fit_parts(x[~test], y[~test])
                raw[test] = np.max([part.score(x[test]) for part in parts], axis=0)
            self.threshold = min(max(precision_threshold(y, raw), 0.05), 0.99)
        return self

    @property
    def specific(self) -> _Part:
        return self.parts[PARTS.index("specific")]

    @property
    def generic(self) -> _Part:
        return self.parts[PARTS.index("generic")]

    @property
    def coordination(self) -> _Part:
        return self.parts[PARTS.index("coordination")]

    def part_scores(self, x: np.ndarray) -> np.ndarray:
        """parts x users: each part's probability."""
        return np.array([part.score(x) for part in self.parts])

    def raw_score(self, x: np.ndarray) -> np.ndarray:
        return self.part_scores(x).max(axis=0)

    def score(self, x: np.ndarray) -> np.ndarray:
        raw, t = self.raw_score(x), self.threshold
        return np.where(raw < t, raw / t * HIGH_TIER, HIGH_TIER + (raw - t) / (1 - t) * (1 - HIGH_TIER))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """users x MODEL_INPUTS: the fall in log-odds of the part that gave the score when the
        input is set to the legitimate median (0 or less: the input did not raise the score)."""
        out = np.zeros((len(x), len(MODEL_INPUTS)))
        best = np.argmax(self.part_scores(x), axis=0)  # ties: the first part (specific)
        for k, part in enumerate(self.parts):
            rows = best == k
            if not rows.any():
                continue
            xs = x[rows]
            base = _log_odds(part.score(xs))
            for j in range(len(MODEL_INPUTS)):
                typical = xs.copy()
                typical[:, j] = part.typical[j]
                out[rows, j] = base - _log_odds(part.score(typical))
        return out

    def top_features(self, x: np.ndarray, k: int = TOP_FEATURES) -> list[str]:
        contrib = self.contributions(x)
        order = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
        return ["; ".join(f"{MODEL_INPUTS[j]}:{contrib[i, j]:+.2f}" for j in row if contrib[i, j] > 0.005)
                for i, row in enumerate(order)]

    def description(self) -> dict:
        return {"threshold": round(float(self.threshold), 4), "target_precision": TARGET_PRECISION,
                "boosting": BOOSTING, "top_rarities": TOP_RARITIES, "low_is_odd": sorted(LOW_IS_ODD),
                "parts": list(PARTS), "coordination_inputs": list(COORDINATION_INPUTS)}


def _inner_folds(y: np.ndarray, seed: int, k: int = INNER_FOLDS) -> list[np.ndarray]:
    """Boolean test masks of k folds stratified by label."""
    rng = np.random.default_rng([seed, 18])
    fold = np.empty(len(y), dtype=np.int64)
    for label in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == label))
        fold[idx] = np.arange(len(idx)) % k
    return [fold == f for f in range(k)]
