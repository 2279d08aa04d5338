"""The daily run on Dagster, in-process on a small generated warehouse (docs/orchestration.md).

One chain of runs keeps the dbt builds few (three full builds, one with the tests): the base
warehouse (500 users x 20 days) runs day D1 (the whole job: landing, dbt build with write-audit-
publish and every test as a check, publish, docs); copies of that state start the failure tests
(a landing that keeps failing: no dbt at all; a load the raw guards reject: the build stops at
its first model); the same warehouse then runs D2, and a second copy of the base runs D1..D2 as
one run, both without the dbt tests: the two must end with equal marts (the private ones the
builds wrote; the daily run test shows the publish copies them as they are), up to BUILD_DEPENDENT.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from dagster import AssetSelection, DagsterInstance, Definitions, define_asset_job
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from dbt_harness import DBT_SCHEMA, Relation, Warehouse, _row_text, compare_warehouses, shared_project
from offerwall.orchestration import landing as landing_module
from offerwall.orchestration.dbt_cli import command_vars, parse_state
from offerwall.orchestration.dbt_project import DOCS_KEY, PUBLISH_KEY
from offerwall.orchestration.pipeline import JOB_NAME, build_definitions
from offerwall.orchestration.settings import Settings
from orchestration_harness import (
    D1, D2, GEN, DuckDBLock, Webhook, clock, environ, events, materialized_keys, settings_env, timeline,
)


# Marts whose content depends on how many builds ran, not only on the data: the backfill (one
# build over D1..D2) and the daily runs (a build after D1 and one after D2) differ there by design.
# (columns not compared, rows compared (SQL filter or None), why); the test checks the difference.
BUILD_DEPENDENT: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "fct_fraud_flag_history": (
        ("first_flagged_date", "first_flagged_risk_score", "first_flagged_fraud_type"),
        "user_id in (select user_id from {signals} where risk_tier = 'high')",
        "state kept across builds: the as-of date, score and type of the first BUILD that put a user in the "
        "high tier, and a user flagged once keeps the row. Daily runs flag D1's high-risk users at D1; one "
        "build over D1..D2 first sees them at D2, and never sees a user high on D1 only. Compared: the "
        "users high at the end, without their first-flag columns.",
    ),
    "fct_fraud_review_queue": (
        ("first_flagged_date", "is_new_since_last_build"),
        None,
        "first_flagged_date / is_new_since_last_build come from fct_fraud_flag_history (above).",
    ),
}


def _defs(project, wh, **extra):
    """The definitions over one warehouse, built in its environment: the `dbt parse` that makes
    the manifest then has the runs' profile, and they reuse its parse state."""
    env = settings_env(project, wh, **extra)
    with environ(env):
        return build_definitions(Settings.from_env(env)), env


def _run(defs, env, *, partition=None, days=None, selection=None, checks=True):
    """The daily job (hooks included) for one partition or a range of days, in-process.
    checks=False: the selected assets without the dbt tests (dbt builds them without any test; the
    landing's freshness checks stay, they are part of its step)."""
    job = defs.resolve_job_def(JOB_NAME)
    if not checks:
        fresh = [k for k in defs.resolve_asset_graph().asset_check_keys
                 if k.name == landing_module.FRESHNESS_CHECK and k.asset_key in set(selection)]
        subset = define_asset_job(
            f"{JOB_NAME}_without_tests", partitions_def=job.partitions_def,
            selection=AssetSelection.assets(*selection).without_checks() | AssetSelection.checks(*fresh),
        )
        without = Definitions(assets=list(defs.assets), resources=defs.resources, jobs=[subset])
        job, selection = without.resolve_job_def(subset.name), None
    tags = {}
    if days:
        tags = {ASSET_PARTITION_RANGE_START_TAG: days[0], ASSET_PARTITION_RANGE_END_TAG: days[1]}
    instance = DagsterInstance.ephemeral()
    with environ(env):
        result = job.execute_in_process(partition_key=partition, tags=tags, instance=instance, raise_on_error=False,
                                        asset_selection=selection)
    return result, instance


def _models_only(defs):
    """Landing + dbt build: no checks, no publish, no docs. The backfill comparison checks the data
    the build wrote (the private marts; the daily run test shows the publish copies them as they
    are), not tests; each dbt command left out saves a dbt start (~30 s on a busy machine)."""
    graph = defs.resolve_asset_graph()
    return [k for k in graph.get_all_asset_keys()
            if graph.get(k).is_materializable and k not in (DOCS_KEY, PUBLISH_KEY)]


def _raw_only(defs):
    return [k for k in _models_only(defs) if k.path[0] == "raw"]


def _error_text(event):
    """The message of a step failure and of its causes."""
    error, parts = event.event_specific_data.error, []
    while error is not None:
        parts.append(error.message)
        error = error.cause
    return "\n".join(parts)


def _marts(project):
    """Every published mart table, from the manifest the pipeline was built from (project/target,
    parsed without wap: the schemas analysts read)."""
    return Warehouse(project, project).mart_relations()


def _private(rel):
    """Where the wap build writes a mart: <schema>_wap_marts_<team> instead of <schema>_marts_<team>."""
    assert rel.schema.startswith(f"{DBT_SCHEMA}_marts_"), rel
    return Relation(rel.name, rel.schema.replace(f"{DBT_SCHEMA}_marts_", f"{DBT_SCHEMA}_wap_marts_", 1),
                    rel.identifier, rel.materialized)


def _compared(wh, rel, marts):
    """(rows, hash) of a mart, without the BUILD_DEPENDENT columns and rows."""
    exclude, where, _ = BUILD_DEPENDENT.get(rel.name, ((), None, ""))
    cols = [c for c in wh.columns(rel) if c[0] not in exclude]
    assert cols, f"{rel.fqn} does not exist in {wh.db}"
    sql = f"select count(*), coalesce(sum(hash({_row_text(cols)})), 0) from {rel.fqn}"
    if where:
        signals = next(m for m in marts if m.name == "fct_user_fraud_signals")
        sql += " where " + where.format(signals=signals.fqn)
    n, total = wh.query(sql)[0]
    return int(n), str(total)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    project = shared_project(tmp_path_factory)
    root = tmp_path_factory.mktemp("orchestration")
    base = Warehouse(project, root / "base")
    base.generate(**GEN)
    a = base.copy_to(root / "a")
    defs, env = _defs(project, a)
    result, instance = _run(defs, env, partition=D1)
    after_d1 = a.copy_to(root / "after_d1")  # the failure tests start here; a goes on to D2
    return {"project": project, "root": root, "base": base, "a": a, "after_d1": after_d1, "defs": defs,
            "d1": result, "d1_instance": instance}


def test_daily_run_materialises_every_asset_and_check(chain):
    result, defs, a = chain["d1"], chain["defs"], chain["a"]
    assert result.success, [e.message for e in events(result, "STEP_FAILURE")]
    graph = defs.resolve_asset_graph()
    expected = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    assert expected <= materialized_keys(result)
    dbt_nodes = [n for n in Warehouse(chain["project"], chain["project"]).manifest()["nodes"].values()
                 if n["resource_type"] in ("model", "seed", "snapshot")]
    names = {k.split("/")[-1] for k in expected}
    assert dbt_nodes and {n["name"] for n in dbt_nodes} <= names, "every dbt model, seed and snapshot"
    assert any(k.startswith("raw/") for k in expected) and "docs/dbt_docs_site" in expected
    assert PUBLISH_KEY.to_user_string() in expected
    checks = [e.asset_check_evaluation_data for e in events(result, "ASSET_CHECK_EVALUATION")]
    assert len(checks) > 100, "every dbt test is an asset check"
    failed = [c for c in checks if not c.passed and c.severity.value == "ERROR"]
    assert not failed, failed[:5]
    fresh = [c for c in checks if c.check_name == landing_module.FRESHNESS_CHECK]
    assert fresh and not [c for c in fresh if c.severity.value == "ERROR" and not c.passed], fresh
    assert clock(a).date().isoformat() > D1, "D1 was landed"
    assert (chain["project"] / "target" / "static_index.html").exists()
    # write-audit-publish: the build wrote every mart privately, the publish copied each one out
    marts = _marts(chain["project"])
    assert len(marts) > 20
    for rel in marts:
        assert a.checksum(_private(rel)) == a.checksum(rel), f"published {rel.name} = its private build"
    # the run log names this Dagster run as who published, and counts every published mart
    run_by, commit, counted = a.query("select run_by, git_commit, marts from ops.build_runs order by published_at")[-1]
    assert run_by == f"dagster:{JOB_NAME}:{result.run_id}" and commit and counted == len(marts), (run_by, commit, counted)
    # tests sized to the run: the daily build ran with test_scope slice, so the data tests of the
    # big tables (var test_slice_columns) read the latest lookback window, the others every row
    (build_dir,) = (chain["project"] / "target").glob(f"dbt_build-{result.run_id[:7]}-*")
    run_results = json.loads((build_dir / "run_results.json").read_text())
    assert run_results["args"]["vars"] == {"wap": True, "test_scope": "slice"}, run_results["args"]["vars"]
    tests = [r for r in run_results["results"] if r["unique_id"].startswith("test.") and r.get("compiled_code")]
    sliced = [r["unique_id"] for r in tests if "max(loaded_at) - interval" in r["compiled_code"]]
    assert any("fct_task_completions" in t for t in sliced) and len(sliced) < len(tests), (len(sliced), len(tests))
    assert parse_state(Settings.from_env(settings_env(chain["project"], a)), command_vars(wap=True)).exists()
    steps = timeline(chain["d1_instance"], result.run_id)
    print("\nrun timeline (step, start s, duration s):")
    for step, at, took in steps:
        print(f"  {step:45s} {at:7.1f} {took:7.1f}")
    assert [s for s, _, _ in steps][:1] == ["raw_landing (step_success)"]


def test_transient_failure_is_retried_and_the_run_succeeds(chain, monkeypatch):
    wh = chain["base"].copy_to(chain["root"] / "retry")
    defs, env = _defs(chain["project"], wh)
    lock = DuckDBLock(wh.db)
    real = landing_module._advance_day_by_day

    def first_attempt_locked(*args, **kwargs):
        try:
            return real(*args, **kwargs)
        finally:
            lock.release()  # the lock is gone after the first attempt failed on it

    monkeypatch.setattr(landing_module, "_advance_day_by_day", first_attempt_locked)
    result, _ = _run(defs, env, partition=D1, selection=_raw_only(defs))
    retried = events(result, "STEP_UP_FOR_RETRY")
    assert result.success and len(retried) == 1, [e.message for e in events(result, "STEP_FAILURE")]
    assert "DuckDB file locked" in retried[0].message or "DuckDB file locked" in str(retried[0].event_specific_data)
    assert clock(wh).date().isoformat() > D1


def test_step_that_keeps_failing_fails_the_run_notifies_and_publishes_nothing(chain):
    wh = chain["after_d1"].copy_to(chain["root"] / "failing")
    hook = Webhook()
    try:
        defs, env = _defs(chain["project"], wh, OFFERWALL_ALERT_WEBHOOK_URL=hook.url)
        marts = _marts(chain["project"])
        before = wh.checksums(marts)
        lock_before = clock(wh)
        lock = DuckDBLock(wh.db)
        try:
            result, _ = _run(defs, env, partition=D2)
        finally:
            lock.release()
    finally:
        hook.close()
    assert not result.success
    failures = events(result, "STEP_FAILURE")
    assert [e.step_key for e in failures] == ["raw_landing"]
    message = _error_text(failures[0])
    assert "raw (raw_landing)" in message and "DuckDB file locked" in message, message
    assert len(events(result, "STEP_UP_FOR_RETRY")) == 2, "OFFERWALL_RETRY_MAX=2 retries, then failed"
    assert not materialized_keys(result), "nothing materialised"
    assert {e.step_key for e in events(result, "STEP_START")} == {"raw_landing"}, "dbt, publish, docs never start"
    assert clock(wh) == lock_before
    assert len(hook.bodies) == 1 and hook.bodies[0]["kind"] == "step_failure"
    assert "raw_landing" in hook.bodies[0]["text"] and "DuckDB file locked" in hook.bodies[0]["text"]
    assert hook.bodies[0]["partition"] == D2
    assert wh.checksums(marts) == before, "the published marts are unchanged"


def test_rejected_build_fails_the_run_and_publishes_nothing(chain):
    """A load the raw guards reject (a day of spend missing): the dbt step fails at its first
    model, the publish and docs steps never run, the published marts keep D1's numbers."""
    wh = chain["after_d1"].copy_to(chain["root"] / "rejected")
    missing = wh.scalar("select min(spend_date) + 3 from raw.ua_spend_daily")
    wh.execute(f"delete from raw.ua_spend_daily where spend_date = date '{missing}'")
    marts = _marts(chain["project"])
    fact = _private(next(m for m in marts if m.name == "fct_task_completions"))
    before, fact_before = wh.checksums(marts), wh.checksum(fact)
    hook = Webhook()
    try:
        defs, env = _defs(chain["project"], wh, OFFERWALL_ALERT_WEBHOOK_URL=hook.url)
        result, _ = _run(defs, env, partition=D2)
    finally:
        hook.close()
    assert not result.success
    failures = events(result, "STEP_FAILURE")
    assert [e.step_key for e in failures] == ["dbt_build"]
    message = _error_text(failures[0])
    assert "audit_raw_load_profile" in message and "ua_spend_daily" in message, message
    assert not events(result, "STEP_UP_FOR_RETRY"), "a rejected load is not transient"
    started = {e.step_key for e in events(result, "STEP_START")}
    assert started == {"raw_landing", "dbt_build"}, "publish and docs never start"
    done = materialized_keys(result)
    assert PUBLISH_KEY.to_user_string() not in done and DOCS_KEY.to_user_string() not in done
    assert "fct_task_completions" not in {k.split("/")[-1] for k in done}
    assert wh.checksum(fact) == fact_before, "the guard stops the build before the private fact"
    assert wh.checksums(marts) == before, "the published marts are unchanged"
    assert [b["kind"] for b in hook.bodies] == ["step_failure"] and "dbt_build" in hook.bodies[0]["text"]


def test_stale_source_fails_its_check_and_notifies(chain):
    """Landing `none` (a CDC such as Datastream lands raw) and the CDC stopped: a partition days
    after the newest row fails the freshness checks at ERROR and alerts."""
    wh = chain["after_d1"].copy_to(chain["root"] / "stale")
    hook = Webhook()
    try:
        defs, env = _defs(chain["project"], wh, OFFERWALL_LANDING="none", OFFERWALL_ALERT_WEBHOOK_URL=hook.url)
        raw = _raw_only(defs)
        late = (dt.date.fromisoformat(D1) + dt.timedelta(days=5)).isoformat()
        result, _ = _run(defs, env, partition=late, selection=raw)
    finally:
        hook.close()
    assert result.success, "a stale source is a failed check and an alert, not a failed landing"
    fresh = [e.asset_check_evaluation_data for e in events(result, "ASSET_CHECK_EVALUATION")]
    assert fresh and all(not c.passed and c.severity.value == "ERROR" for c in fresh)
    assert [b["kind"] for b in hook.bodies] == ["stale_source"]
    assert all("/".join(k.path) in hook.bodies[0]["text"] for k in raw)


def test_permanent_error_fails_fast_without_retry(chain, tmp_path):
    missing = Warehouse(chain["project"], tmp_path / "nowhere")  # no DuckDB file
    defs, env = _defs(chain["project"], missing)
    result, _ = _run(defs, env, partition=D1, selection=_raw_only(defs))
    assert not result.success
    assert not events(result, "STEP_UP_FOR_RETRY"), "not transient: no retry"
    message = _error_text(events(result, "STEP_FAILURE")[0])
    assert "raw (raw_landing)" in message and "DuckDB file not found" in message, message


def test_two_day_backfill_equals_one_run_over_both_days(chain):
    a, project, defs = chain["a"], chain["project"], chain["defs"]
    env = settings_env(project, a)
    day2, _ = _run(defs, env, partition=D2, selection=_models_only(defs), checks=False)
    assert day2.success, [e.message for e in events(day2, "STEP_FAILURE")]

    b = chain["base"].copy_to(chain["root"] / "b")
    defs_b, env_b = _defs(project, b)
    both, _ = _run(defs_b, env_b, days=(D1, D2), selection=_models_only(defs_b), checks=False)
    assert both.success, [e.message for e in events(both, "STEP_FAILURE")]

    assert clock(a) == clock(b)
    marts = [_private(m) for m in _marts(project)]  # what the wap builds wrote
    assert marts and set(BUILD_DEPENDENT) <= {m.name for m in marts}
    print("\nbackfill check (mart: rows, hash of A = D1 then D2 | B = D1..D2 in one run;"
          " * = BUILD_DEPENDENT columns/rows left out):")
    problems = []
    for rel in marts:
        (na, ha), (nb, hb) = _compared(a, rel, marts), _compared(b, rel, marts)
        star = "*" if rel.name in BUILD_DEPENDENT else " "
        print(f"  {rel.name:32s}{star} {na:7d} {ha:>22s} | {nb:7d} {hb:>22s}")
        if (na, ha) != (nb, hb):
            problems.append(f"{rel.name}: A {na} rows {ha} vs B {nb} rows {hb}")
            if rel.name not in BUILD_DEPENDENT:  # say which rows and columns differ
                problems += compare_warehouses(a, b, [rel])
    assert problems == []

    # the build-dependent difference is the one described: B's single build flagged every user at
    # D2's as-of; A's build after D1 had already flagged some of them a day earlier
    history = next(m for m in marts if m.name == "fct_fraud_flag_history")
    b_dates = b.query(f"select min(first_flagged_date), max(first_flagged_date) from {history.fqn}")[0]
    assert b_dates[0] == b_dates[1], "one build: one first-flag date"
    earlier = a.scalar(f"select count(*) from {history.fqn} where first_flagged_date < date '{b_dates[1]}'")
    assert earlier > 0, "the D1 build flagged users before D2"
    a_later = a.scalar(f"select count(*) from {history.fqn} where first_flagged_date > date '{b_dates[1]}'")
    assert a_later == 0
