"""The teams' web app (issue 12, docs/app.md) on a small generated warehouse.

One warehouse (1,500 users x 100 days: some cohorts reach day 90, so the LTV forecast has
held-out cohorts) built once with `dbt build` serves the module:
- the app's marts build and pass their tests, and the decisions source exists (empty) on a
  fresh warehouse;
- the data-access layer returns the marts' rows (filtered, ordered, never re-aggregated) and
  reports no warehouse / a stale build / a busy warehouse;
- the decisions store is append-only, idempotent per decision_id, keeps concurrent decisions,
  and the review loop closes: decisions -> dbt build -> status (latest wins) and outcomes;
- a dbt build and the app (another process reading and saving) run at the same time and both
  succeed;
- every page renders with AppTest, its filters work, a decision is written and read back;
- one real-browser check (Debian chromium via playwright): every page loads, a screenshot of
  each is saved under target/app_screenshots and is not blank, and a decision made through the
  page reaches ops.fraud_review_decisions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from dbt_harness import REPO, Warehouse, shared_project
from offerwall.app import data, decisions, identity

PAGES = REPO / "src" / "offerwall" / "app" / "views"
SCREENSHOTS = REPO / "target" / "app_screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
APP_MODELS = {
    "stg_ops__fraud_review_decisions", "fct_fraud_review_status", "fct_fraud_review_outcomes",
    "fct_daily_anomalies", "fct_task_reward_recommendations", "fct_offer_margin_monitor",
    "fct_offer_task_price_changes", "fct_offer_funnel_drop_offs", "fct_ua_cohort_roas_weekly",
    "fct_ua_ltv_forecast", "fct_ua_ltv_forecast_accuracy", "fct_ua_max_cac", "fct_ua_cohort_curves",
    "fct_ua_retention_after_first_reward",
}
REVIEW_LOOP = ["--select", "stg_ops__fraud_review_decisions+", "--exclude-resource-type", "unit_test"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    os.environ.pop("OPS_DUCKDB_PATH", None)  # the ops store is <warehouse dir>/ops.duckdb
    wh = Warehouse(shared_project(tmp_path_factory), tmp_path_factory.mktemp("app") / "wh")
    wh.generate(users=1500, days=100, seed=5, bad_rate=0.0, fraud_rate=0.05)
    res = wh.dbt("build", "--exclude-resource-type", "unit_test")
    return wh, res


ROLE_MAP = """
[users]
"carol@example.com" = ["anti_fraud_reviewer", "anti_fraud", "offer_management", "user_acquisition"]
"dan@example.com" = ["anti_fraud_reviewer"]
"eve@example.com" = ["anti_fraud_reviewer"]
"iap-user@example.com" = ["anti_fraud_reviewer", "analyst"]
"viewer@example.com" = ["anti_fraud"]
"om@example.com" = ["offer_management"]
"""


@pytest.fixture
def env(built, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The app's environment for this warehouse, with a fresh ops store per test; the local user
    carol@example.com, a reviewer who sees every page (ROLE_MAP)."""
    wh, _ = built
    ops = tmp_path / "ops.duckdb"
    roles = tmp_path / "roles.toml"
    roles.write_text(ROLE_MAP)
    monkeypatch.setenv("DUCKDB_PATH", str(wh.db))
    monkeypatch.setenv("DBT_SCHEMA", "dev")
    monkeypatch.setenv("OPS_DUCKDB_PATH", str(ops))
    monkeypatch.setenv("OFFERWALL_APP_USER", "carol@example.com")
    monkeypatch.setenv("OFFERWALL_APP_ROLES", str(roles))
    monkeypatch.delenv("OFFERWALL_APP_TRUST_PROXY_HEADER", raising=False)
    monkeypatch.delenv("OFFERWALL_APP_BACKEND", raising=False)
    return wh, ops


def reader(built) -> data.DuckDBWarehouse:
    wh, _ = built
    return data.DuckDBWarehouse(wh.db, "dev")


# ----------------------------------------------------------------------------------------------
# build
def test_app_marts_build_and_pass_their_tests_on_a_fresh_warehouse(built) -> None:
    wh, res = built
    names = {n.name for n in res.nodes}
    assert APP_MODELS <= names, APP_MODELS - names
    failed = [n for n in res.nodes if n.status in ("error", "fail")
              and any(m in n.name or m in n.unique_id for m in APP_MODELS | {"ops_fraud_review"})]
    assert not failed, res.summary()
    # the source exists, empty: created by on-run-start, not by the app
    assert wh.scalar("select count(*) from ops.fraud_review_decisions") == 0
    assert wh.scalar('select count(*) from "dev_marts_anti_fraud"."fct_fraud_review_outcomes"') == 0


# ----------------------------------------------------------------------------------------------
# data-access layer
def test_queue_is_in_review_order_with_status_and_filters(built) -> None:
    w = reader(built)
    queue = data.review_queue(w, limit=1000).frame
    assert len(queue) > 0
    assert queue["review_rank"].tolist() == sorted(queue["review_rank"])
    assert set(queue["review_status"]) == {"unreviewed"}
    kind = queue["suspected_fraud_type"].iloc[0]
    only = data.review_queue(w, fraud_type=kind, limit=1000).frame
    assert len(only) == (queue["suspected_fraud_type"] == kind).sum()
    assert data.review_queue(w, status="cleared").frame.empty
    assert data.review_queue(w, fraud_type="no_such_type").frame.empty
    assert data.review_queue(w, limit=3).frame["review_rank"].tolist() == [1, 2, 3]


def test_user_evidence_lookups(built) -> None:
    wh, _ = built
    w = reader(built)
    user = data.review_queue(w, limit=1).frame["user_id"].iloc[0]
    assert data.user_signals(w, user).frame["user_id"].tolist() == [user]
    timeline = data.completion_timeline(w, user).frame
    assert len(timeline) == wh.scalar('select count(*) from "dev_marts_core"."fct_task_completions" '
                                      "where user_id = ?", [user])
    links = data.linked_accounts(w, user).frame
    assert user not in set(links["linked_user_id"])
    assert set(links["link"]) <= {"device", "ip"}
    assert data.user_signals(w, "u_does_not_exist").frame.empty


def test_pages_get_the_marts_numbers_unchanged(built) -> None:
    """The layer filters and orders; the numbers are the marts' own."""
    wh, _ = built
    w = reader(built)
    recs = data.reward_recommendations(w).frame
    mart = wh.query('select offer_task_id, recommended_reward_usd from "dev_marts_offer_management".'
                    '"fct_task_reward_recommendations"')
    assert {k: float(v) for k, v in zip(recs["offer_task_id"], recs["recommended_reward_usd"])} == {
        k: float(v) for k, v in mart}
    lower = data.reward_recommendations(w, recommendation="lower").frame
    assert set(lower["recommendation"]) <= {"lower"}
    monitor = data.margin_monitor(w, ["healthy"]).frame
    assert set(monitor["margin_status"]) == {"healthy"}
    curves = data.cohort_roas_weekly(w, "all", "all", "all").frame
    assert set(curves["fraud_scope"]) == {"all_users", "excluding_suspected_fraud"}
    assert data.cohort_roas_weekly(w, "no_channel", "all", "all").frame.empty
    latest = data.anomalies(w, anomalies_only=False).frame
    assert latest["metric_date"].nunique() == 1
    assert data.anomalies(w).frame["is_anomaly"].all()


def test_ua_curves_and_retention_are_the_marts_rows_filtered(built) -> None:
    wh, _ = built
    w = reader(built)
    mart = '"dev_marts_user_acquisition".'
    curves = data.cohort_curves(w).frame
    assert len(curves) == wh.scalar(f"select count(*) from {mart}fct_ua_cohort_curves") > 0
    channel = "meta"
    week = data.curve_signup_weeks(w)[-1]  # the oldest week: every mart has it
    one = data.cohort_curves(w, channel, week).frame
    assert set(one["acquisition_channel"]) == {channel} and set(one["signup_week"].dt.date) == {week}
    assert one["day_since_signup"].tolist() == sorted(one["day_since_signup"])
    assert one["cumulative_roas"].tolist() == [r[0] for r in wh.query(
        f"select cumulative_roas from {mart}fct_ua_cohort_curves where acquisition_channel = ? and signup_week = ? "
        "order by day_since_signup", [channel, week])]
    retention = data.retention_after_first_reward(w, channel).frame
    assert len(retention) == wh.scalar(f"select count(*) from {mart}fct_ua_retention_after_first_reward "
                                       "where acquisition_channel = ?", [channel]) > 0
    hunters = data.incentive_hunters(w).frame  # one row per cohort, the mart's own figures
    assert len(hunters) == wh.scalar(f"select count(distinct (acquisition_channel, signup_week)) "
                                     f"from {mart}fct_ua_retention_after_first_reward")
    assert hunters["incentive_hunters"].notna().any() and hunters["incentive_hunters"].isna().any()
    assert data.cohort_curves(w, "no_channel").frame.empty
    assert data.retention_after_first_reward(w, "all", dt.date(2000, 1, 3)).frame.empty


def test_reward_recommendation_is_the_largest_reward_keeping_the_target_margin(built) -> None:
    w = reader(built)
    recs = data.reward_recommendations(w).frame
    assert len(recs) > 0
    for r in recs.itertuples():
        payout, rate, target = float(r.payout_usd), r.reversal_rate, r.target_margin_pct
        def margin(reward_usd: float) -> float:  # recovery share 0: a reversed reward is lost
            return 1 - reward_usd / (payout * (1 - rate)) if payout * (1 - rate) > 0 else -1
        coins = int(r.recommended_reward_coins)
        if payout > 0 and coins > 0:
            assert margin(coins / 1000) >= target - 1e-9, r
        if payout > 0:
            assert margin((coins + 1) / 1000) < target + 1e-9, r


def test_ltv_forecast_is_measured_on_held_out_cohorts(built) -> None:
    w = reader(built)
    forecast = data.ltv_forecast(w).frame
    assert forecast["is_holdout"].any() and forecast["is_training"].any()
    assert not (forecast["is_holdout"] & forecast["is_training"]).any()
    # the holdout dates are the latest mature ones
    assert forecast.loc[forecast.is_holdout, "cohort_date"].min() > forecast.loc[forecast.is_training, "cohort_date"].max()
    accuracy = data.ltv_accuracy(w).frame
    overall = accuracy[accuracy.acquisition_channel == "all"].set_index("forecast_basis")
    assert {"d7", "d30"} <= set(overall.index)
    assert (overall["wape"] >= 0).all() and overall["holdout_cohorts"].min() > 0
    cac = data.max_cac(w).frame
    assert len(cac) > 0 and set(cac["country"]) == {"all"}


class RecordingBigQueryClient:
    """Stands in for google.cloud.bigquery.Client offline: records each query job it is given
    and answers with no rows (the emulator test runs the same queries for real)."""

    class Rows(list):
        schema: list = []

    def __init__(self) -> None:
        self.jobs: list[tuple[str, object]] = []

    def query(self, sql, job_config=None):
        self.jobs.append((sql, job_config))
        rows = self.Rows()
        return type("Job", (), {"result": lambda self: rows, "num_dml_affected_rows": 1})()


def test_bigquery_backend_sends_query_parameters_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production (no BQ_EMULATOR_ENDPOINT) binds the pages' values as typed query parameters,
    never pastes them into the SQL; the emulator (which takes none) gets typed literals instead
    (tests/python/test_bigquery_emulator_e2e.py runs that path)."""
    from google.cloud import bigquery

    env = {"OFFERWALL_APP_BACKEND": "bigquery", "BQ_PROJECT": "p", "OFFERWALL_BQ_DATASET_PREFIX": "dbt_a",
           "OFFERWALL_OPS_DATASET": "ops_x", "BQ_LOCATION": "EU"}
    client = RecordingBigQueryClient()
    made_with = []
    monkeypatch.setattr(bigquery, "Client", lambda **kwargs: made_with.append(kwargs) or client)
    prod = data.from_env(env)
    assert made_with == [{"project": "p", "location": "EU"}]  # Application Default Credentials
    assert isinstance(prod, data.BigQueryWarehouse) and not prod.inline_parameters
    data.anomalies(prod, day=dt.date(2024, 5, 6), series_type="o'ffer")
    data.margin_monitor(prod, [f"s{i}" for i in range(11)])  # $s1 is not a prefix of $s10
    data.review_outcomes(prod)
    (anomalies_sql, anomalies_cfg), (monitor_sql, monitor_cfg), (outcomes_sql, outcomes_cfg) = client.jobs
    assert "`p.dbt_a_marts_core.fct_daily_anomalies`" in anomalies_sql
    assert "metric_date = @day" in anomalies_sql and "series_type = @series_type" in anomalies_sql
    assert "o'ffer" not in anomalies_sql and "$" not in anomalies_sql
    assert {(q.name, q.type_, q.value) for q in anomalies_cfg.query_parameters} == {
        ("day", "DATE", dt.date(2024, 5, 6)), ("series_type", "STRING", "o'ffer")}
    assert "in (@s0, @s1, @s2" in monitor_sql and "@s10)" in monitor_sql
    assert [q.value for q in monitor_cfg.query_parameters] == [f"s{i}" for i in range(11)]
    assert outcomes_cfg is None  # no parameters, no parameter list (the emulator refuses an empty one)

    store = decisions.store_from_env(prod, env)
    assert store.table == "`p.ops_x.fraud_review_decisions`" and not store.inline_parameters
    decision = decisions.make_decision(user_id="u1", decision="cleared", reviewer=identity.service("ann"), note="it's ok",
                                       risk_score=42.5, decided_at=dt.datetime(2024, 5, 6, 7, 8, 9))
    assert store.save(decision).written
    insert_sql, insert_cfg = client.jobs[-1]
    assert "it's ok" not in insert_sql and "@decision_id" in insert_sql
    assert {q.name: (q.type_, q.value) for q in insert_cfg.query_parameters} == {
        "decision_id": ("STRING", decision.decision_id), "user_id": ("STRING", "u1"),
        "decision": ("STRING", "cleared"), "reviewer": ("STRING", "ann"),
        "decided_at": ("TIMESTAMP", dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)),  # naive = UTC
        "note": ("STRING", "it's ok"),
        "risk_score_at_decision": ("FLOAT64", 42.5), "score_version": ("STRING", decision.score_version)}

    monkeypatch.undo()  # the emulator's client is a real one (anonymous, on the endpoint)
    with socket.socket() as listener:  # something listening: the client checks the endpoint is reachable
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
        emulator = data.from_env({**env, "BQ_EMULATOR_ENDPOINT": endpoint})
    assert emulator.inline_parameters and decisions.store_from_env(emulator, env).inline_parameters
    assert emulator.client._connection.API_BASE_URL == endpoint
    emulator.client = client
    data.anomalies(emulator, day=dt.date(2024, 5, 6), series_type="o'ffer")
    sql, config = client.jobs[-1]
    assert config is None
    assert "metric_date = date '2024-05-06'" in sql and r"series_type = 'o\'ffer'" in sql


def test_no_warehouse_and_stale_build_are_reported(built, tmp_path: Path) -> None:
    wh, _ = built
    with pytest.raises(data.NoWarehouse, match="make run"):
        data.freshness(data.DuckDBWarehouse(tmp_path / "missing.duckdb"))
    fresh = data.freshness(reader(built))
    assert not fresh.stale and fresh.message is None and fresh.as_of is not None
    old = data.freshness(reader(built), now=dt.datetime.now() + dt.timedelta(days=3))
    assert old.stale and "last built" in old.message
    copy = wh.copy_to(tmp_path / "copy")
    copy.execute("update raw.user_offers set _loaded_at = _loaded_at + interval 2 day "
                 "where _loaded_at = (select max(_loaded_at) from raw.user_offers)")
    late = data.freshness(data.DuckDBWarehouse(copy.db, "dev"))
    assert late.stale and "raw data is loaded up to" in late.message


def test_busy_warehouse_serves_the_last_read(built, tmp_path: Path) -> None:
    wh, _ = built
    copy = wh.copy_to(tmp_path / "busy")
    w = data.DuckDBWarehouse(copy.db, "dev", busy_wait_s=0.3)
    first = data.review_queue(w, limit=5)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(copy.db)!r})
        print("locked", flush=True)
        time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert not data.review_queue(w, limit=5).stale  # file unchanged: the cached read, no lock needed
        os.utime(copy.db)  # ... the build writes the file
        again = data.review_queue(w, limit=5)
        assert again.stale and again.frame.equals(first.frame)
        with pytest.raises(data.WarehouseBusy, match="being rebuilt"):
            data.review_queue(w, limit=6)  # never read before: nothing to serve
    finally:
        holder.kill()
        holder.wait()


# ----------------------------------------------------------------------------------------------
# decisions
def test_decisions_are_append_only_and_a_second_save_writes_nothing(tmp_path: Path) -> None:
    store = decisions.DuckDBDecisionStore(tmp_path / "ops.duckdb")
    assert store.all().empty  # no store yet: empty, not an error
    d = decisions.make_decision(user_id="u_1", decision="cleared", reviewer=identity.service("ann"), note="ok",
                                risk_score=91.5)
    assert store.save(d).written
    assert not store.save(d).written  # the same decision_id again: a second click
    rows = store.for_user("u_1")
    assert rows["decision_id"].tolist() == [d.decision_id]
    assert rows.iloc[0]["risk_score_at_decision"] == 91.5 and rows.iloc[0]["score_version"] == "v1"
    with pytest.raises(decisions.DecisionError, match="one of"):
        decisions.make_decision(user_id="u_1", decision="fraud", reviewer=identity.service("ann"))


def test_concurrent_decisions_from_two_processes_are_all_kept(tmp_path: Path) -> None:
    ops = tmp_path / "ops.duckdb"
    script = textwrap.dedent(f"""
        import sys
        from offerwall.app import decisions, identity
        store = decisions.DuckDBDecisionStore({str(ops)!r})
        for i in range(15):
            store.save(decisions.make_decision(user_id="u_same", decision=sys.argv[1],
                                               reviewer=identity.service(sys.argv[2])))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, decision, reviewer])
             for decision, reviewer in (("confirmed_fraud", "ann"), ("cleared", "bob"))]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    rows = decisions.DuckDBDecisionStore(ops).for_user("u_same")
    assert len(rows) == 30 and rows["decision_id"].is_unique
    assert rows.groupby("reviewer").size().to_dict() == {"ann": 15, "bob": 15}


def test_review_loop_latest_decision_wins_and_outcomes_count_it(built, env) -> None:
    wh, ops = env
    w = reader(built)
    users = data.review_queue(w, limit=3).frame["user_id"].tolist()
    store = decisions.DuckDBDecisionStore(ops)
    t0 = dt.datetime(2026, 1, 1, 12)
    saves = [
        (users[0], "confirmed_fraud", "ann", t0),
        (users[1], "cleared", "bob", t0),
        # two reviewers on one user: both kept, the later one wins
        (users[2], "needs_more_info", "ann", t0),
        (users[2], "confirmed_fraud", "bob", t0 + dt.timedelta(minutes=1)),
    ]
    for user, decision, reviewer, at in saves:
        assert store.save(decisions.make_decision(user_id=user, decision=decision, reviewer=identity.service(reviewer),
                                                  risk_score=95.0, decided_at=at)).written
    res = wh.dbt("build", *REVIEW_LOOP, vars={"ops_duckdb_path": str(ops)})
    assert res.success, res.summary()
    assert wh.scalar("select count(*) from ops.fraud_review_decisions") == 4
    status = dict(wh.query('select user_id, review_status from "dev_marts_anti_fraud"."fct_fraud_review_status"'))
    assert status == {users[0]: "confirmed_fraud", users[1]: "cleared", users[2]: "confirmed_fraud"}
    assert wh.scalar('select decisions from "dev_marts_anti_fraud"."fct_fraud_review_status" '
                     "where user_id = ?", [users[2]]) == 2
    overall = wh.query('select reviewed_users, confirmed_fraud_users, cleared_users, disputed_users, '
                       'score_precision from "dev_marts_anti_fraud"."fct_fraud_review_outcomes" '
                       "where risk_tier = 'all' and suspected_fraud_type = 'all'")
    assert overall == [(3, 2, 1, 1, pytest.approx(2 / 3))]
    queue = data.review_queue(reader(built), limit=3).frame.set_index("user_id")
    assert queue.loc[users[2], "review_status"] == "confirmed_fraud"
    assert queue.loc[users[2], "review_decisions"] == 2
    reset_review_loop(wh, ops)


def test_dbt_build_and_the_app_run_at_the_same_time(built, env) -> None:
    """The app (another process: reads the marts, saves decisions in a loop) and a dbt build
    of the review loop overlap; both succeed, every decision is kept."""
    wh, ops = env
    user = data.review_queue(reader(built), limit=1).frame["user_id"].iloc[0]
    stop = ops.with_name("stop")
    script = textwrap.dedent(f"""
        import pathlib, sys, time
        from offerwall.app import data, decisions, identity
        w = data.DuckDBWarehouse({str(wh.db)!r}, "dev", busy_wait_s=2)
        store = decisions.DuckDBDecisionStore({str(ops)!r})
        reads = stale = saves = 0
        while not pathlib.Path({str(stop)!r}).exists() or saves < 5:
            r = data.review_queue(w, limit=20)
            reads += 1; stale += r.stale
            saves += store.save(decisions.make_decision(user_id={user!r}, decision="cleared",
                                                     reviewer=identity.service("app"))).written
            time.sleep(0.05)
        print(reads, stale, saves)
    """)
    app = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        res = wh.dbt("build", *REVIEW_LOOP, vars={"ops_duckdb_path": str(ops)})
    finally:
        stop.touch()
        out, err = app.communicate(timeout=120)
    assert res.success, res.summary()
    assert app.returncode == 0, err[-2000:]
    reads, stale, saves = map(int, out.split())
    assert reads > 0 and saves >= 5
    assert len(decisions.DuckDBDecisionStore(ops).for_user(user)) == saves
    copied = wh.scalar("select count(*) from ops.fraud_review_decisions")
    assert 0 < copied <= saves  # the build copied the store as it was when the build started
    reset_review_loop(wh, ops)


# ----------------------------------------------------------------------------------------------
# pages (AppTest)
def reset_review_loop(wh: Warehouse, ops: Path) -> None:
    """Back to no decisions for the other tests. Without an ops store dbt leaves the warehouse's
    copy as it is (a fresh warehouse gets it empty), so empty the copy first."""
    wh.execute("delete from ops.fraud_review_decisions")
    res = wh.dbt("build", *REVIEW_LOOP, vars={"ops_duckdb_path": str(ops.with_name("none.duckdb"))})
    assert res.success and wh.scalar("select count(*) from ops.fraud_review_decisions") == 0


def run_page(name: str):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=120).run()


@pytest.mark.parametrize("page", ["anti_fraud", "offer_management", "user_acquisition", "alerts"])
def test_each_page_renders(env, page: str) -> None:
    at = run_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert len(at.title) == 1
    assert len(at.dataframe) >= 1 or (page == "alerts" and at.info)


def test_no_warehouse_message_on_every_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OFFERWALL_APP_USER", "someone@example.com")  # no role map: reads every page
    monkeypatch.delenv("OFFERWALL_APP_ROLES", raising=False)
    monkeypatch.delenv("OFFERWALL_APP_TRUST_PROXY_HEADER", raising=False)
    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "nothing.duckdb"))
    monkeypatch.setenv("OPS_DUCKDB_PATH", str(tmp_path / "ops.duckdb"))
    for page in ("anti_fraud", "offer_management", "user_acquisition", "alerts"):
        at = run_page(page)
        assert not at.exception
        assert any("make run" in e.value for e in at.error), page


def test_anti_fraud_page_filters_decides_and_reads_back(env) -> None:
    wh, ops = env
    at = run_page("anti_fraud")
    queue = at.dataframe[0].value
    kind = queue["suspected_fraud_type"].iloc[0]
    at.selectbox(key="fraud_type").set_value(kind).run()
    assert set(at.dataframe[0].value["suspected_fraud_type"]) == {kind}
    at.selectbox(key="status").set_value("cleared").run()
    assert any("No user in the queue matches" in i.value for i in at.info)
    at.selectbox(key="status").set_value("all").run()

    user = at.selectbox(key="picked_user").value
    at.radio(key=f"choice:{user}").set_value("confirmed_fraud")
    at.text_area(key=f"note:{user}").set_value("device farm")
    at.button[0].click().run()  # the form's submit button
    assert any("Saved: confirmed_fraud" in s.value for s in at.success), [e.value for e in at.error]
    rows = decisions.DuckDBDecisionStore(ops).for_user(user)
    assert rows[["decision", "reviewer", "note"]].values.tolist() == [["confirmed_fraud", "carol@example.com", "device farm"]]
    # read back on the page, then a second click on save writes nothing
    assert any(len(df.value) == 1 and "decision_id" in df.value.columns for df in at.dataframe)
    at.button[0].click().run()
    assert any("Already saved" in w.value for w in at.warning)
    assert len(decisions.DuckDBDecisionStore(ops).for_user(user)) == 1


def test_two_reviewers_on_one_user_both_kept(env, monkeypatch: pytest.MonkeyPatch) -> None:
    wh, ops = env
    sessions = [run_page("anti_fraud") for _ in range(2)]
    user = sessions[0].selectbox(key="picked_user").value
    for at, (decision, reviewer) in zip(sessions, [("cleared", "dan"), ("confirmed_fraud", "eve")]):
        monkeypatch.setenv("OFFERWALL_APP_USER", f"{reviewer}@example.com")  # each session's user
        at.radio(key=f"choice:{user}").set_value(decision)
        at.button[0].click().run()
        assert any("Saved:" in s.value for s in at.success), [e.value for e in at.error]
    rows = decisions.DuckDBDecisionStore(ops).for_user(user)
    assert sorted(rows["reviewer"]) == ["dan@example.com", "eve@example.com"] and rows["decision_id"].is_unique


def test_anti_fraud_page_unknown_user(env) -> None:
    wh, ops = env
    at = run_page("anti_fraud")
    at.text_input(key="typed_user").set_value("u_not_a_user").run()
    assert any("Unknown user" in e.value for e in at.error)
    assert not at.button  # no decision form for an unknown user
    assert decisions.DuckDBDecisionStore(ops).all().empty


def test_offer_and_ua_and_alerts_filters(env) -> None:
    at = run_page("offer_management")
    at.multiselect(key="statuses").set_value(["healthy"]).run()
    assert set(at.dataframe[0].value["margin_status"]) == {"healthy"}
    at.selectbox(key="recommendation").set_value("can_raise").run()
    assert set(at.dataframe[-1].value["recommendation"]) == {"can_raise"}

    at = run_page("user_acquisition")
    channel = [c for c in at.selectbox(key="channel").options if c != "all"][0]
    at.selectbox(key="channel").set_value(channel).run()
    assert set(at.dataframe[0].value["acquisition_channel"]) == {channel}
    assert not at.exception

    at = run_page("alerts")
    at.selectbox(key="series_type").set_value("provider").run()
    assert not at.exception
    if at.dataframe:
        assert set(at.dataframe[0].value["series_type"]) == {"provider"}
    else:
        assert any("No anomaly" in i.value for i in at.info)


def charts_by_x(at) -> dict[str, "pd.DataFrame"]:
    """The page's Altair charts, by the field on their x axis: the data each one draws."""
    import json

    import pandas as pd
    import pyarrow as pa

    charts = {}
    for chart in at.get("vega_lite_chart"):
        x = json.loads(chart.proto.spec).get("encoding", {}).get("x", {}).get("field")
        frames = [pa.ipc.open_stream(d.data.data).read_pandas() for d in chart.proto.datasets]
        charts[x] = frames[0] if frames else pd.DataFrame()
    return charts


def test_ua_page_charts_the_curves_and_the_retention_after_first_reward(built, env) -> None:
    wh, _ = built
    mart = '"dev_marts_user_acquisition".'
    at = run_page("user_acquisition")
    assert not at.exception and not at.error, [e.value for e in at.error]
    charts = charts_by_x(at)
    curves, retention = charts["day_since_signup"], charts["day_since_first_reward"]
    assert set(curves["measure"]) == {"cumulative_roas", "cumulative_roas_excl_suspected_fraud"}
    assert (curves["measure"] == "cumulative_roas").sum() == wh.scalar(
        f"select count(cumulative_roas) from {mart}fct_ua_cohort_curves")
    assert set(retention["measure"]) == {"retention_rate", "retention_rate_excl_suspected_fraud"}
    assert (retention["measure"] == "retention_rate").sum() == wh.scalar(
        f"select count(retention_rate) from {mart}fct_ua_retention_after_first_reward")
    assert any("incentive_hunter_share" in df.value.columns for df in at.dataframe)

    # the channel filter applies to both charts and the incentive hunters
    at.selectbox(key="channel").set_value("tiktok").run()
    charts = charts_by_x(at)
    assert set(charts["day_since_signup"]["acquisition_channel"]) == {"tiktok"}
    assert set(charts["day_since_first_reward"]["acquisition_channel"]) == {"tiktok"}
    hunters = next(df.value for df in at.dataframe if "incentive_hunter_share" in df.value.columns)
    assert set(hunters["acquisition_channel"]) == {"tiktok"}

    # the signup-week filter: the oldest week has both; the youngest curve week's first-reward
    # window has not closed yet (curves show a week from day 7, retention from day 6 + 7)
    weeks = [dt.date.fromisoformat(w) for w in at.selectbox(key="signup_week").options if w != "all"]
    at.selectbox(key="signup_week").set_value(weeks[-1]).run()
    charts = charts_by_x(at)
    assert set(charts["day_since_first_reward"]["signup_week"].dt.date) == {weeks[-1]}
    assert set(charts["day_since_signup"]["signup_week"].dt.date) == {weeks[-1]}
    retained = {r[0] for r in wh.query(f"select distinct signup_week from {mart}fct_ua_retention_after_first_reward")}
    young = [w for w in weeks if w not in retained]
    assert young, "every curve week has retention rows: no young week to check the empty message on"
    at.selectbox(key="signup_week").set_value(young[0]).run()
    assert not at.exception and not at.error
    assert any("first-reward window" in i.value for i in at.info), [i.value for i in at.info]
    assert "day_since_first_reward" not in charts_by_x(at)
    assert "day_since_signup" in charts_by_x(at)


# ----------------------------------------------------------------------------------------------
# the real browser
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _not_blank(png: Path) -> float:
    from PIL import Image, ImageStat

    image = Image.open(png).convert("L")
    return ImageStat.Stat(image).stddev[0]


def test_browser_every_page_loads_and_a_decision_reaches_the_source(built, env) -> None:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: `make chromium` installs it (make test does)"
    from playwright.sync_api import sync_playwright

    wh, ops = env
    port = _free_port()
    # deployed behind the proxy: the header is trusted and names the reviewer; the local user
    # configured beside it is not used
    roles = ops.with_name("browser_roles.toml")
    roles.write_text(ROLE_MAP)
    app_env = {**os.environ, "OFFERWALL_APP_TRUST_PROXY_HEADER": "1", "OFFERWALL_APP_ROLES": str(roles),
               "OFFERWALL_APP_USER": "carol@example.com"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "streamlit"), "run", str(PAGES.parent / "streamlit_app.py"),
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        env=app_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline and server.poll() is None, "streamlit did not start"
            time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, extra_http_headers={
                identity.IAP_HEADER: "accounts.google.com:iap-user@example.com"})
            for path, title in [("", "Anti-Fraud review"), ("offer_management", "Offer Management"),
                                ("user_acquisition", "User Acquisition"), ("alerts", "Alerts")]:
                page.goto(f"http://127.0.0.1:{port}/{path}")
                page.get_by_role("heading", name=title).wait_for(timeout=60_000)
                page.wait_for_selector('[data-testid="stDataFrame"]', timeout=60_000)
                page.wait_for_timeout(1500)  # charts draw after the data arrives
                assert not page.locator('[data-testid="stException"]').count(), path
                assert not page.get_by_text("Page not found").count(), path
                shot = SCREENSHOTS / f"{path or 'anti_fraud'}.png"
                page.screenshot(path=str(shot), full_page=True)
                assert _not_blank(shot) > 10, f"{shot} looks blank"

            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_role("heading", name="Anti-Fraud review").wait_for(timeout=60_000)
            radio = page.locator('[data-testid="stRadio"]')
            radio.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            radio.get_by_text("cleared", exact=True).click()
            page.get_by_role("button", name="Save decision").click()
            page.get_by_text("Saved: cleared").wait_for(timeout=60_000)
            page.screenshot(path=str(SCREENSHOTS / "anti_fraud_decided.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    saved = decisions.DuckDBDecisionStore(ops).all()
    assert saved[["decision", "reviewer"]].values.tolist() == [["cleared", "iap-user@example.com"]]
    # ... and a build brings it into the warehouse's source table
    res = wh.dbt("build", *REVIEW_LOOP, vars={"ops_duckdb_path": str(ops)})
    assert res.success, res.summary()
    assert wh.query("select decision, reviewer from ops.fraud_review_decisions") == [("cleared", "iap-user@example.com")]
    reset_review_loop(wh, ops)


# ----------------------------------------------------------------------------------------------
# who may see and change what (issue 16)
IAP = {identity.IAP_HEADER: "accounts.google.com:iap-user@example.com"}


def test_identity_comes_from_the_proxy_only_when_trusted(tmp_path: Path) -> None:
    roles = tmp_path / "roles.toml"
    roles.write_text(ROLE_MAP)
    local = {"OFFERWALL_APP_USER": "carol@example.com", "OFFERWALL_APP_ROLES": str(roles)}
    trusted = {**local, "OFFERWALL_APP_TRUST_PROXY_HEADER": "1"}
    who = identity.resolve({"x-goog-authenticated-user-email": IAP[identity.IAP_HEADER]}, trusted)
    assert (who.email, who.source, who.may_record) == ("iap-user@example.com", "iap", True)
    # not behind the proxy: anyone could send the header, so it is ignored
    who = identity.resolve(IAP, local)
    assert (who.email, who.source) == ("carol@example.com", "local")
    with pytest.raises(identity.IdentityError, match="Identity-Aware Proxy"):
        identity.resolve({}, trusted)  # behind the proxy the local user is no fallback
    with pytest.raises(identity.IdentityError, match="OFFERWALL_APP_USER"):
        identity.resolve(IAP, {"OFFERWALL_APP_ROLES": str(roles)})
    with pytest.raises(identity.IdentityError, match="role map"):
        identity.resolve(IAP, {"OFFERWALL_APP_TRUST_PROXY_HEADER": "1"})
    # not in the role map: no role; no role map (local): read-only
    assert identity.resolve({}, {**local, "OFFERWALL_APP_USER": "stranger@example.com"}).roles == frozenset()
    read_only = identity.resolve({}, {"OFFERWALL_APP_USER": "dev@example.com"})
    assert read_only.roles == {"analyst"} and not read_only.may_record
    assert all(read_only.may_see(page) for page in identity.PAGE_ROLES)
    om = identity.resolve({}, {**local, "OFFERWALL_APP_USER": "OM@example.com"})
    assert om.may_see("offer_management") and not om.may_see("anti_fraud") and not om.may_record
    example = identity.load_roles(REPO / "docs" / "app_roles.example.toml")  # the documented example loads
    assert identity.REVIEWER in example["dev@localhost"] and example["fin@example.com"] == {"analyst"}
    bad = tmp_path / "bad.toml"
    bad.write_text('[users]\n"x@example.com" = ["admin"]\n')
    with pytest.raises(identity.IdentityError, match="unknown roles"):
        identity.resolve({}, {**local, "OFFERWALL_APP_ROLES": str(bad)})


def test_pages_refuse_a_missing_identity_and_a_user_without_the_role(env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OFFERWALL_APP_USER")
    for page in ("anti_fraud", "offer_management", "user_acquisition", "alerts"):
        at = run_page(page)
        assert not at.exception and not at.dataframe, page  # no data at all
        assert any("No user" in e.value for e in at.error), page
    monkeypatch.setenv("OFFERWALL_APP_TRUST_PROXY_HEADER", "1")  # behind the proxy, no header
    at = run_page("anti_fraud")
    assert not at.dataframe and any("Identity-Aware Proxy" in e.value for e in at.error)
    monkeypatch.delenv("OFFERWALL_APP_TRUST_PROXY_HEADER")
    monkeypatch.setenv("OFFERWALL_APP_USER", "om@example.com")
    at = run_page("anti_fraud")
    assert not at.dataframe and any("no role that sees this page" in e.value for e in at.error)
    at = run_page("offer_management")
    assert at.dataframe and not at.error


def test_a_reviewer_without_the_role_cannot_record(env, monkeypatch: pytest.MonkeyPatch) -> None:
    wh, ops = env
    monkeypatch.setenv("OFFERWALL_APP_USER", "viewer@example.com")  # anti_fraud, not reviewer
    at = run_page("anti_fraud")
    assert at.dataframe and not at.error  # sees the queue and the evidence
    assert not [b for b in at.button if b.label == "Save decision"]
    assert any("may read the evidence but not record" in i.value for i in at.info)
    # the store's gate too: no Decision without an identity holding the role, and no typed name
    viewer = identity.resolve({}, os.environ)
    user = at.selectbox(key="picked_user").value
    with pytest.raises(decisions.DecisionError, match="may not record"):
        decisions.make_decision(user_id=user, decision="cleared", reviewer=viewer)
    with pytest.raises(decisions.DecisionError, match="authenticated identity"):
        decisions.make_decision(user_id=user, decision="cleared", reviewer="viewer@example.com")
    # ... and the stores refuse a Decision not made that way (built by hand, or by another identity)
    made = decisions.make_decision(user_id=user, decision="cleared", reviewer=identity.service("ann"))
    store = decisions.DuckDBDecisionStore(ops)
    for forged in (dataclasses.replace(made, by=None), dataclasses.replace(made, by=viewer),
                   dataclasses.replace(made, reviewer="someone-else")):
        with pytest.raises(decisions.DecisionError, match="Refused"):
            store.save(forged)
    assert decisions.DuckDBDecisionStore(ops).all().empty


@pytest.mark.parametrize("trust", [True, False])
def test_the_decision_row_carries_the_authenticated_identity(env, monkeypatch: pytest.MonkeyPatch,
                                                             trust: bool) -> None:
    """Behind the proxy the header's user is the reviewer; otherwise the header is ignored."""
    from offerwall.app import common

    wh, ops = env
    monkeypatch.setattr(common, "_request_headers", lambda: dict(IAP))
    if trust:
        monkeypatch.setenv("OFFERWALL_APP_TRUST_PROXY_HEADER", "1")
    at = run_page("anti_fraud")
    user = at.selectbox(key="picked_user").value
    at.radio(key=f"choice:{user}").set_value("cleared")
    at.button[0].click().run()
    assert any("Saved:" in s.value for s in at.success), [e.value for e in at.error]
    expected = "iap-user@example.com" if trust else "carol@example.com"
    assert decisions.DuckDBDecisionStore(ops).for_user(user)["reviewer"].tolist() == [expected]


HOSTILE = ["'; drop table ops.fraud_review_decisions; --", "' or '1'='1", "u_1\" or \"1\"=\"1",
           "Ünïcødé ✓ 用户 🙂", "tab\there\x0bvt\x1besc\x7fdel", "$user_id {fct_user_fraud_signals} @decision_id"]


def test_hostile_input_is_data_not_sql(built, env) -> None:
    wh, ops = env
    w = reader(built)
    queue_rows = wh.scalar('select count(*) from "dev_marts_anti_fraud"."fct_fraud_review_queue"')
    store = decisions.DuckDBDecisionStore(ops)
    reviewer = identity.service("ann")
    for text in HOSTILE:
        assert data.review_queue(w, status=text, fraud_type=text).frame.empty
        assert data.user_signals(w, text).frame.empty and data.linked_accounts(w, text).frame.empty
        assert data.cohort_roas_weekly(w, text, text, text).frame.empty
        assert data.anomalies(w, series_type=text).frame.empty
        assert store.save(decisions.make_decision(user_id=text, decision="needs_more_info", reviewer=reviewer,
                                                  note=text)).written
    for text in HOSTILE:  # stored and read back verbatim
        assert store.for_user(text)[["user_id", "note"]].values.tolist() == [[text, text]]
    assert len(store.all()) == len(HOSTILE)
    assert wh.scalar('select count(*) from "dev_marts_anti_fraud"."fct_fraud_review_queue"') == queue_rows

    # the page: a hostile typed id is an unknown user; a hostile note is saved as written
    at = run_page("anti_fraud")
    at.text_input(key="typed_user").set_value(HOSTILE[0]).run()
    assert not at.exception and any("Unknown user" in e.value for e in at.error)
    at.text_input(key="typed_user").set_value("").run()
    user = at.selectbox(key="picked_user").value
    at.text_area(key=f"note:{user}").set_value(HOSTILE[1])
    at.button[0].click().run()
    assert store.for_user(user)["note"].tolist() == [HOSTILE[1]]
    assert wh.scalar('select count(*) from "dev_marts_anti_fraud"."fct_fraud_review_queue"') == queue_rows


def test_an_oversized_note_is_refused_with_a_message(env) -> None:
    wh, ops = env
    with pytest.raises(decisions.DecisionError, match="limit is 2000"):
        decisions.make_decision(user_id="u_1", decision="cleared", reviewer=identity.service("ann"), note="x" * 2001)
    assert decisions.make_decision(user_id="u_1", decision="cleared", reviewer=identity.service("ann"),
                                   note="x" * 2000).note == "x" * 2000
    with pytest.raises(decisions.DecisionError, match="not a user id"):
        decisions.make_decision(user_id="u" * 201, decision="cleared", reviewer=identity.service("ann"))
    at = run_page("anti_fraud")
    user = at.selectbox(key="picked_user").value
    at.text_area(key=f"note:{user}").set_value("y" * 5000)
    at.button[0].click().run()
    assert any("limit is 2000" in e.value and "nothing was saved" in e.value for e in at.error)
    assert decisions.DuckDBDecisionStore(ops).all().empty


def test_alerts_page_shows_the_run_log(built, env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    wh, _ = env
    copy = wh.copy_to(tmp_path / "published")
    copy.execute("insert into ops.build_runs (run_id, publish_id, published_at, run_by, git_commit, target_name, "
                 "dbt_version, marts, total_rows, mart_row_counts) values ('r1', 'p1', timestamp '2026-01-02 03:04:05', "
                 "'dagster:run-1', 'abc123', 'dev', '1.11', 20, 12345, '{}')")
    monkeypatch.setenv("DUCKDB_PATH", str(copy.db))
    runs = data.build_runs(data.DuckDBWarehouse(copy.db, "dev")).frame
    assert runs.columns.tolist() == list(data.BUILD_RUN_COLUMNS)
    assert runs[["run_id", "run_by", "git_commit", "total_rows"]].values.tolist() == [
        ["r1", "dagster:run-1", "abc123", 12345]]
    at = run_page("alerts")
    assert any("run_by" in df.value.columns and df.value["run_by"].tolist() == ["dagster:run-1"]
               for df in at.dataframe)
    copy.execute("drop table ops.build_runs")  # a warehouse from before the run log
    at = run_page("alerts")
    assert not at.exception and any("No run log" in w.value for w in at.warning)
