"""Issue 18: adaptive fraud in the generator, the account graph, the anomaly score, the learned
model (training, scoring, explanations) and its leave-one-type-out evaluation, on one small
generated warehouse (the hand-made graph and anomaly cases are dbt unit tests in
models/intermediate/anti_fraud/_anti_fraud__models.yml, run by this build too)."""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pytest

from dbt_harness import NO_TESTS, REPO, Warehouse, shared_project
from offerwall import OfferwallError, fraud_loto, fraud_ml, fraud_model
from offerwall.generator.adaptive import ADAPTIVE_TYPES

MART = "dev_marts_anti_fraud.fct_user_fraud_model_scores"
QUEUE = "dev_marts_anti_fraud.fct_fraud_review_queue"


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> Warehouse:
    """1500 users x 45 days with 3% classic and 4% adaptive fraud, built up to the model mart."""
    w = Warehouse(shared_project(tmp_path_factory), tmp_path_factory.mktemp("fraudml") / "wh")
    w.offerwall("generate", "--users", "1500", "--days", "45", "--seed", "5", "--bad-rate", "0",
                "--fraud-rate", "0.03", "--adaptive-fraud-rate", "0.04")
    res = w.dbt("build", "--select", "+fct_user_fraud_model_scores", "+fct_fraud_review_queue", *NO_TESTS)
    assert res.success, res.summary()
    return w


def test_adaptive_types_are_labelled(wh):
    types = dict(wh.query("select fraud_type, count(*) from labels.fraud_users group by 1"))
    for t in ADAPTIVE_TYPES:
        assert types.get(t, 0) > 0, f"no {t} in {types}"


def test_coordinated_ring_shares_nothing_but_acts_together(wh):
    # no device or IP shared with another member...
    shared = wh.scalar("""
        select count(*) from (
            select device_hash from raw.user_offers join labels.fraud_users using (user_id)
            where fraud_type = 'coordinated_ring' group by device_hash having count(distinct user_id) > 1
            union all
            select ip_hash from raw.user_offers join labels.fraud_users using (user_id)
            where fraud_type = 'coordinated_ring' group by ip_hash having count(distinct user_id) > 1
        )""")
    assert shared == 0
    # ...yet linked by co-activity in the graph
    linked = wh.scalar(f"""
        select avg(case when component_coactivity_links > 0 then 1.0 else 0 end)
        from {MART} join labels.fraud_users using (user_id) where fraud_type = 'coordinated_ring'""")
    assert linked >= 0.5


def test_rotating_farm_devices_each_serve_at_most_two_members(wh):
    per_device = wh.query("""
        select count(distinct user_id) from raw.user_offers join labels.fraud_users using (user_id)
        where fraud_type = 'rotating_farm' group by device_hash""")
    assert per_device and max(r[0] for r in per_device) <= 2
    # the rules (device sharing starts at 2 users) see nothing; the graph sees one component per farm
    sizes = wh.query(f"""
        select min(component_size), max(rules_risk_score) from {MART}
        join labels.fraud_users using (user_id) where fraud_type = 'rotating_farm'""")[0]
    assert sizes[0] >= 5


def test_co_sequence_links_join_rings_once_they_act_and_few_legitimate_users(wh):
    """co_sequence (int_user_sequence_links): the same tasks in the same order, started together
    at a rare moment. It links the coordinated ring members whose ring has acted together (its
    first session is before the data's end), none of those whose ring has not, and hardly any
    legitimate user."""
    with duckdb.connect(str(wh.db), read_only=True) as con:
        observable = fraud_loto.observable_fraud(con)
    linked = {u for (u,) in wh.query("""
        select user_a_id from dev_intermediate.int_user_sequence_links
        union select user_b_id from dev_intermediate.int_user_sequence_links""")}
    ring = [u for (u,) in wh.query("select user_id from labels.fraud_users where fraud_type = 'coordinated_ring'")]
    acted = [u for u in ring if u in observable]
    assert acted and np.mean([u in linked for u in acted]) >= 0.8
    assert not any(u in linked for u in ring if u not in observable)
    legit = [u for (u,) in wh.query("""
        select distinct user_id from dev_intermediate.int_task_completions_versioned
        where user_id not in (select user_id from labels.fraud_users)""")]
    assert np.mean([u in linked for u in legit]) < 0.005


def test_referral_ring_is_a_referral_chain(wh):
    referred = wh.scalar(f"""
        select avg(case when component_referral_links >= 4 then 1.0 else 0 end)
        from {MART} join labels.fraud_users using (user_id) where fraud_type = 'referral_ring'""")
    assert referred >= 0.8


def test_components_are_connected_and_labelled_by_their_least_member(wh):
    rows = wh.query("select user_id, component_id from dev_intermediate.int_fraud_graph_components")
    assert all(comp <= user for user, comp in rows)
    # every link joins two users of the same component
    split = wh.scalar("""
        select count(*) from dev_intermediate.int_user_links as l
        join dev_intermediate.int_fraud_graph_components as a on l.user_a_id = a.user_id
        join dev_intermediate.int_fraud_graph_components as b on l.user_b_id = b.user_id
        where a.component_id != b.component_id and a.is_converged and b.is_converged""")
    assert split == 0


def test_signup_cohorts_gather_the_rings_not_legitimate_users(wh):
    """The coordination signal (int_fraud_signup_cohorts -> signup_cohort_size): linked accounts
    made within hours of each other. Every ring type that links its members (referral chain,
    passed-on devices) sits in a cohort of several; legitimate links join accounts made days
    apart, so hardly any legitimate user is in a cohort of 3 or more."""
    rows = wh.query(f"""
        select coalesce(l.fraud_type, 'legit'), m.signup_cohort_size, coalesce(c.cohort_size, 1)
        from {MART} as m
        left join (select user_id, min(fraud_type) as fraud_type from labels.fraud_users group by 1) as l
            using (user_id)
        left join dev_intermediate.int_fraud_signup_cohorts as c using (user_id)""")
    assert all(r[1] == r[2] for r in rows)  # the mart carries the cohort's size (1 = none)
    sizes: dict[str, list[int]] = {}
    for fraud_type, size, _ in rows:
        sizes.setdefault(fraud_type, []).append(size)
    for ring in ("referral_ring", "rotating_farm"):
        assert np.median(sizes[ring]) >= 4, (ring, sizes[ring])
    legit = np.array(sizes["legit"])
    assert (legit >= 3).mean() < 0.01 and (legit == 1).mean() > 0.9


def test_anomaly_score_ranks_fraud_above_legitimate_users(wh):
    fraud, legit = wh.query(f"""
        select
            median(case when l.user_id is not null then anomaly_score end),
            median(case when l.user_id is null then anomaly_score end)
        from {MART} as m left join labels.fraud_users as l using (user_id)""")[0]
    assert fraud > 2 * legit


def test_model_columns_are_empty_until_trained(wh):
    tiers = dict(wh.query(f"select model_risk_tier, count(*) from {MART} group by 1"))
    assert set(tiers) == {"not_scored"}
    # the review queue shows the model beside the rules: nothing yet
    queue = wh.query(f"select model_risk_tier, count(*), count(model_score), count(model_top_features), "
                     f"count(model_version) from {QUEUE} group by 1")
    assert [row[0] for row in queue] == ["not_scored"] and queue[0][1] > 0 and queue[0][2:] == (0, 0, 0)


def test_features_match_the_dbt_macro():
    text = (REPO / "macros" / "anti_fraud" / "fraud_model_features.sql").read_text(encoding="utf-8")
    assert tuple(re.findall(r"'name': '(\w+)'", text)) == fraud_model.FEATURES


def test_train_records_a_version_and_scores_every_user(wh):
    row = fraud_ml.train(wh.db, seed=0)
    assert row["training_rows"] == wh.scalar(f"select count(*) from {MART}")
    assert row["positives"] > 0 and len(row["training_data_sha256"]) == 64
    with duckdb.connect(str(wh.db), read_only=True) as con:
        versions = con.execute("select model_version, training_data_sha256 from ml.fraud_model_versions").fetchall()
        scores = con.execute("select count(*), min(model_score), max(model_score), "
                             "count(case when top_features like '%:+%' then 1 end) from ml.fraud_model_scores").fetchone()
    assert versions == [(row["model_version"], row["training_data_sha256"])]
    assert scores[0] == row["training_rows"] and 0 <= scores[1] <= scores[2] <= 1
    assert scores[3] > 0  # explanations name features with a positive contribution
    # the same data trains the same hash; a second training is a second version
    again = fraud_ml.train(wh.db, seed=0)
    assert again["training_data_sha256"] == row["training_data_sha256"] and again["model_version"] != row["model_version"]
    # the mart picks the scores up
    res = wh.dbt("build", "--select", "stg_ml__fraud_model_scores+")
    assert res.success, res.summary()
    assert wh.scalar(f"select count(*) from {MART} where model_risk_tier = 'not_scored'") == 0
    assert wh.scalar(f"select count(distinct model_version) from {MART}") == 1
    # the review queue carries the model's score and, for its high tier, the features that raised it
    queue = wh.query(f"""
        select q.model_score, q.model_risk_tier, q.model_version, q.model_top_features, s.model_score
        from {QUEUE} as q join ml.fraud_model_scores as s using (user_id)""")
    assert queue and len(queue) == wh.scalar(f"select count(*) from {QUEUE}")
    assert all(r[0] == pytest.approx(r[4]) and r[2] == again["model_version"] for r in queue)
    high = [r for r in queue if r[1] == "high"]
    assert high and all(r[0] >= fraud_model.HIGH_TIER for r in high)
    assert all(re.fullmatch(r"\w+:\+\d+\.\d\d(; \w+:\+\d+\.\d\d){0,2}", r[3]) for r in high)


def test_review_decisions_override_the_labels(wh):
    with duckdb.connect(str(wh.db), read_only=True) as con:
        before = fraud_ml.load_dataset(con)
    legit_user = before.user_ids[before.y == 0][0]
    wh.execute(
        "create schema if not exists ops",
        "create or replace table ops.fraud_review_decisions (decision_id varchar, user_id varchar, "
        "decision varchar, reviewer varchar, decided_at timestamp, note varchar, "
        "risk_score_at_decision double, score_version varchar)",
        f"insert into ops.fraud_review_decisions values "
        f"('d1', '{legit_user}', 'cleared', 'r', '2026-01-01', '', null, null), "
        f"('d2', '{legit_user}', 'confirmed_fraud', 'r', '2026-01-02', '', null, null)",
    )
    try:
        with duckdb.connect(str(wh.db), read_only=True) as con:
            after = fraud_ml.load_dataset(con)
        i = int(np.flatnonzero(after.user_ids == legit_user)[0])
        assert after.y[i] == 1 and after.from_review == 1
        assert after.y.sum() == before.y.sum() + 1
    finally:
        wh.execute("drop table ops.fraud_review_decisions")


def test_leave_one_type_out_evaluation(wh):
    with duckdb.connect(str(wh.db), read_only=True) as con:
        data = fraud_ml.load_dataset(con)
        observable = fraud_loto.observable_fraud(con)
    report = fraud_loto.evaluate_model(data, seed=0, observable=observable)
    types = {r.fraud_type for r in report.rows}
    assert types == set(t for t in data.fraud_type.tolist() if t)
    by_type = {r.fraud_type: r for r in report.rows}
    # seen types the rules already catch are found out-of-fold; the model beats the base rate
    assert by_type["device_farm"].recall >= 0.8
    assert report.high_tier_precision is not None and report.high_tier_precision > 3 * data.y.mean()
    # the high tier is precise out-of-fold (issue 18's target), and types the model never saw are
    # still caught when they are rare in a feature of their own (device farm: its shared devices;
    # velocity: its pace), whichever type was left out
    assert report.high_tier_precision >= 0.9
    assert by_type["device_farm"].loto_recall >= 0.8 and by_type["velocity"].loto_recall >= 0.8
    # ring types the model never saw are caught by what every ring shares, a signup cohort (on this
    # warehouse, without the cohort: referral ring 0.00, rotating farm 0.77; with the cohort but no
    # coordination part: referral ring 0.22)
    for ring in ("referral_ring", "rotating_farm", "coordinated_ring"):
        assert by_type[ring].loto_recall >= 0.8, (ring, by_type[ring])
    # beside the plain recall, the recall on the users whose fraud had begun by the data's end:
    # only sleepers (not awake yet) and coordinated rings (not acted yet) can be left out
    for r in report.rows:
        assert r.observable is not None and r.observable <= r.labelled
        if r.fraud_type not in ("sleeper", "coordinated_ring"):
            assert r.observable == r.labelled and r.loto_recall_observable == r.loto_recall, r
    assert by_type["sleeper"].observable < by_type["sleeper"].labelled  # 45 days: not every sleeper woke
    table = fraud_loto.format_report(report)
    assert "LOTO recall" in table and "rotating_farm" in table and "LOTO recall obs." in table


def test_observable_fraud_needs_the_generators_state(tmp_path):
    with duckdb.connect(str(tmp_path / "no_sim.duckdb")) as con:
        con.execute("create schema sim")
        assert fraud_loto.observable_fraud(con) is None


def test_high_tier_threshold_never_sees_the_evaluated_fold(wh):
    with duckdb.connect(str(wh.db), read_only=True) as con:
        data = fraud_ml.load_dataset(con)
    scores = fraud_loto.out_of_fold_scores(data, seed=0)
    # flip every label of fold 0: its users' out-of-fold scores must not move (the models and the
    # thresholds that scored them were fitted on the other folds only)
    fold0 = fraud_loto._folds(data.y, 0) == 0
    flipped = fraud_ml.Dataset(data.user_ids, data.x, np.where(fold0, 1 - data.y, data.y), data.fraud_type, 0)
    again = fraud_loto.out_of_fold_scores(flipped, seed=0, folds=fraud_loto._folds(data.y, 0))
    np.testing.assert_allclose(again[fold0], scores[fold0])
    assert not np.allclose(again[~fold0], scores[~fold0])


def test_precision_threshold_is_the_lowest_score_at_the_target():
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    assert fraud_model.precision_threshold(y, score, target=1.0) == 0.7
    assert fraud_model.precision_threshold(y, score, target=0.8) == 0.5  # 4 of 5
    # a tie is kept whole: 0.7 and 0.6 share a score, so 1.0 precision stops at 0.8
    assert fraud_model.precision_threshold(y, np.array([0.9, 0.8, 0.7, 0.7, 0.5, 0.4, 0.3, 0.2]), target=1.0) == 0.8
    assert fraud_model.precision_threshold(np.zeros(3, dtype=int), np.array([0.9, 0.5, 0.1])) == fraud_model.HIGH_TIER


def test_model_maps_its_threshold_to_the_high_tier():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(fraud_model.MODEL_INPUTS))) ** 2
    y = (x[:, 0] + rng.normal(scale=0.5, size=400) > 2.5).astype(int)
    model = fraud_model.Model(seed=0).fit(x, y)
    raw, score = model.raw_score(x), model.score(x)
    assert ((raw >= model.threshold) == (score >= fraud_model.HIGH_TIER)).all()
    assert (np.diff(score[np.argsort(raw)]) >= -1e-12).all() and 0 <= score.min() <= score.max() <= 1
    # the rarity of the generic part is measured against the legitimate users only
    rarity = fraud_model.Rarity().fit(x, y).transform(x)
    assert rarity.min() >= 0 and rarity[y == 1, 0].mean() > rarity[y == 0, 0].mean()


def test_train_refuses_a_warehouse_without_the_mart(tmp_path):
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).execute("create schema labels; create table labels.fraud_users (user_id varchar, "
                                    "fraud_type varchar)").close()
    with pytest.raises(OfferwallError, match="dbt build"):
        fraud_ml.train(db)


def _rings_world(seed: int = 0):
    """Hand-made inputs: 600 legitimate users (signup cohort of 1, a few of 2 or 3; a third of them
    the rarest of all in one input, as real users are) and three ring types that share a signup
    cohort of several accounts: `a` (most of it: a third of its members are in no cohort) is told
    apart best by its co-activity links, `b` by shared devices and a high rules score; `c` has
    nothing odd but its cohort: for the specific part it is like no fraud it saw, for the generic
    part one rare input, like many legitimate users."""
    rng = np.random.default_rng(seed)
    names = fraud_model.MODEL_INPUTS
    col = names.index

    def users(n: int) -> np.ndarray:
        x = np.abs(rng.normal(size=(n, len(names))))
        x[:, col("signup_cohort_size")] = 1
        return x

    legit = users(600)
    legit[:20, col("signup_cohort_size")] = 2
    legit[20:23, col("signup_cohort_size")] = 3
    others = [col(name) for name in fraud_model.FEATURES if name != "signup_cohort_size"]
    legit[np.arange(200), rng.choice(others, 200)] = 20
    a, b, c = users(30), users(30), users(30)
    a[:20, col("signup_cohort_size")], a[:, col("user_coactivity_links")] = 12, 6
    b[:20, col("signup_cohort_size")], b[:, col("user_device_links")], b[:, col("rules_risk_score")] = 9, 5, 99
    c[:, col("signup_cohort_size")] = 5
    return legit, a, b, c


def test_coordination_part_catches_a_ring_type_it_never_saw(monkeypatch):
    legit, a, b, c = _rings_world()
    x = np.vstack([legit, a, b])
    y = np.r_[np.zeros(len(legit)), np.ones(len(a) + len(b))].astype(int)
    model = fraud_model.Model(seed=0).fit(x, y)
    # the coordination part reads one column: the cohort size's rarity among legitimate users
    view = model.coordination.view(c)
    assert view.shape == (len(c), len(fraud_model.COORDINATION_INPUTS))
    np.testing.assert_allclose(view[:, 0], model.coordination.rarity.transform(c)[:, fraud_model.MODEL_INPUTS.index(
        "signup_cohort_size")])
    # `c` shares nothing with `a` and `b` but the cohort: the coordination part flags it, so does the
    # model, and its explanation names the cohort
    assert model.coordination.score(c).min() > 0.9
    assert (model.score(c) >= fraud_model.HIGH_TIER).mean() >= 0.9
    assert all(t.startswith("signup_cohort_size:") for t in model.top_features(c))
    # the legitimate users, cohorts of 2 and 3 included, stay below the high tier
    assert (model.score(legit) >= fraud_model.HIGH_TIER).mean() < 0.02
    # without the coordination part the two others miss most of `c` (what it is for)
    monkeypatch.setattr(fraud_model, "PARTS", ("specific", "generic"))
    two_parts = fraud_model.Model(seed=0).fit(x, y)
    assert (two_parts.score(c) >= fraud_model.HIGH_TIER).mean() < 0.5
