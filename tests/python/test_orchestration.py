"""The daily run on Dagster, in-process on a small generated warehouse (docs/orchestration.md).

One chain of runs keeps the dbt builds few: the base warehouse (500 users x 20 days) runs day D1
(the whole job: landing, dbt build with every test as a check, docs); a copy of that state is the
start of the failure test; the same warehouse then runs D2, and a second copy of the base runs
D1..D2 as one run: the two must end with equal marts.
"""

from __future__ import annotations

import datetime as dt

import pytest
from dagster import AssetSelection, DagsterInstance
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from dbt_harness import Warehouse, compare_warehouses, shared_project
from offerwall.orchestration import landing as landing_module
from offerwall.orchestration.dbt_project import DOCS_KEY
from offerwall.orchestration.pipeline import JOB_NAME, build_definitions
from offerwall.orchestration.settings import Settings
from orchestration_harness import (
    D1, D2, GEN, DuckDBLock, Webhook, clock, environ, events, materialized_keys, settings_env, timeline,
)


def _defs(project, wh, **extra):
    env = settings_env(project, wh, **extra)
    return build_definitions(Settings.from_env(env)), env


def _run(defs, env, *, partition=None, days=None, selection=None):
    """The daily job (hooks included) for one partition or a range of days, in-process."""
    job = defs.resolve_job_def(JOB_NAME)
    tags = {}
    if days:
        tags = {ASSET_PARTITION_RANGE_START_TAG: days[0], ASSET_PARTITION_RANGE_END_TAG: days[1]}
    instance = DagsterInstance.ephemeral()
    with environ(env):
        result = job.execute_in_process(partition_key=partition, tags=tags, instance=instance, raise_on_error=False,
                                        asset_selection=selection)
    return result, instance


def _models_only(defs):
    """Landing + dbt build, no checks and no docs (the backfill comparison checks data, not tests)."""
    graph = defs.resolve_asset_graph()
    return [k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable and k != DOCS_KEY]


def _error_text(event):
    """The message of a step failure and of its causes."""
    error, parts = event.event_specific_data.error, []
    while error is not None:
        parts.append(error.message)
        error = error.cause
    return "\n".join(parts)


def _marts(project):
    """Every mart table, from the manifest the pipeline was built from (project/target)."""
    return Warehouse(project, project).mart_relations()


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    project = shared_project(tmp_path_factory)
    root = tmp_path_factory.mktemp("orchestration")
    base = Warehouse(project, root / "base")
    base.generate(**GEN)
    a = base.copy_to(root / "a")
    defs, env = _defs(project, a)
    result, instance = _run(defs, env, partition=D1)
    after_d1 = a.copy_to(root / "after_d1")
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
    checks = [e.asset_check_evaluation_data for e in events(result, "ASSET_CHECK_EVALUATION")]
    assert len(checks) > 100, "every dbt test is an asset check"
    failed = [c for c in checks if not c.passed and c.severity.value == "ERROR"]
    assert not failed, failed[:5]
    fresh = [c for c in checks if c.check_name == landing_module.FRESHNESS_CHECK]
    assert fresh and not [c for c in fresh if c.severity.value == "ERROR" and not c.passed], fresh
    assert clock(a).date().isoformat() > D1, "D1 was landed"
    assert (chain["project"] / "target" / "static_index.html").exists()
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
    raw = [k for k in _models_only(defs) if k.path[0] == "raw"]
    result, _ = _run(defs, env, partition=D1, selection=raw)
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
    assert not materialized_keys(result), "nothing published"
    assert clock(wh) == lock_before
    assert len(hook.bodies) == 1 and hook.bodies[0]["kind"] == "step_failure"
    assert "raw_landing" in hook.bodies[0]["text"] and "DuckDB file locked" in hook.bodies[0]["text"]
    assert hook.bodies[0]["partition"] == D2
    assert wh.checksums(marts) == before


def test_stale_source_fails_its_check_and_notifies(chain):
    """Landing `none` (a CDC such as Datastream lands raw) and the CDC stopped: a partition days
    after the newest row fails the freshness checks at ERROR and alerts."""
    wh = chain["after_d1"].copy_to(chain["root"] / "stale")
    hook = Webhook()
    try:
        defs, env = _defs(chain["project"], wh, OFFERWALL_LANDING="none", OFFERWALL_ALERT_WEBHOOK_URL=hook.url)
        raw = [k for k in _models_only(defs) if k.path[0] == "raw"]
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
    raw = [k for k in _models_only(defs) if k.path[0] == "raw"]
    result, _ = _run(defs, env, partition=D1, selection=raw)
    assert not result.success
    assert not events(result, "STEP_UP_FOR_RETRY"), "not transient: no retry"
    message = _error_text(events(result, "STEP_FAILURE")[0])
    assert "raw (raw_landing)" in message and "DuckDB file not found" in message, message


def test_two_day_backfill_equals_one_run_over_both_days(chain):
    a, project, defs = chain["a"], chain["project"], chain["defs"]
    env = settings_env(project, a)
    day2, _ = _run(defs, env, partition=D2, selection=_models_only(defs))
    assert day2.success, [e.message for e in events(day2, "STEP_FAILURE")]

    b = chain["base"].copy_to(chain["root"] / "b")
    defs_b, env_b = _defs(project, b)
    both, _ = _run(defs_b, env_b, days=(D1, D2), selection=_models_only(defs_b))
    assert both.success, [e.message for e in events(both, "STEP_FAILURE")]

    assert clock(a) == clock(b)
    marts = _marts(project)
    assert marts
    print("\nbackfill check (mart: rows, hash of A = D1 then D2 | B = D1..D2 in one run):")
    for rel in marts:
        ca, cb = a.checksum(rel), b.checksum(rel)
        print(f"  {rel.name:32s} {ca.rows:7d} {ca.hash_sum:>22s} | {cb.rows:7d} {cb.hash_sum:>22s}")
    assert compare_warehouses(a, b, marts) == []
