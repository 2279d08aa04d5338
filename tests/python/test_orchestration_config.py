"""The daily run's configuration: settings from the environment, the schedules (daily with the
tests on the run's slice, weekly with the whole suite) and the dbt vars they lead to, the retry
policy, the failure classification, the asset graph built from the manifest, and `make orchestrate`
answering HTTP on 127.0.0.1 (docs/orchestration.md)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import zoneinfo

import pytest
from dagster import AssetKey, Backoff, DagsterInvalidConfigError, RunRequest, build_schedule_context, materialize
from dagster_dbt import DbtCliResource

from dbt_harness import REPO, Warehouse, shared_project
from offerwall import OfferwallError
from offerwall.daily_run import DAILY_BUILD_ARGS
from offerwall.orchestration import dbt_project
from offerwall.orchestration.dbt_cli import PARTIAL_PARSE, command_vars, dbt_cli, parse_state, save_parse_state
from offerwall.orchestration.dbt_project import DbtBuildConfig, build_dbt_assets, load_manifest
from offerwall.orchestration.failures import classify
from offerwall.orchestration.pipeline import (
    FULL_TESTS_SCHEDULE,
    JOB_NAME,
    TEST_SCOPE_TAG,
    build_definitions,
    daily_partitions,
    retry_policy,
)
from offerwall.orchestration.settings import Settings
from orchestration_harness import GEN, TODAY, settings_env


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return shared_project(tmp_path_factory)


@pytest.fixture(scope="module")
def warehouse(project, tmp_path_factory):
    wh = Warehouse(project, tmp_path_factory.mktemp("orch_config") / "wh")
    wh.generate(**GEN)
    return wh


def test_settings_defaults_and_overrides():
    default = Settings.from_env({})
    assert (default.schedule_cron, default.schedule_timezone, default.landing) == ("0 6 * * *", "UTC", "advance")
    assert default.full_tests_cron == "0 7 * * 0"
    assert default.alert_webhook_url is None and default.retry_max == 3
    custom = Settings.from_env({
        "OFFERWALL_SCHEDULE_CRON": "15 4 * * 1-5", "OFFERWALL_SCHEDULE_TIMEZONE": "Europe/Berlin",
        "OFFERWALL_RETRY_MAX": "5", "OFFERWALL_ALERT_WEBHOOK_URL": "https://hooks.example.com/x",
        "OFFERWALL_FULL_TESTS_CRON": "0 3 * * 6",
    })
    assert custom.full_tests_cron == "0 3 * * 6"
    assert (custom.schedule_cron, custom.schedule_timezone, custom.retry_max) == ("15 4 * * 1-5", "Europe/Berlin", 5)
    assert custom.alert_webhook_url == "https://hooks.example.com/x"


@pytest.mark.parametrize("env, names", [
    ({"OFFERWALL_SCHEDULE_CRON": "every morning"}, "OFFERWALL_SCHEDULE_CRON"),
    ({"OFFERWALL_FULL_TESTS_CRON": "sundays"}, "OFFERWALL_FULL_TESTS_CRON"),
    ({"OFFERWALL_SCHEDULE_TIMEZONE": "Mars/Olympus"}, "OFFERWALL_SCHEDULE_TIMEZONE"),
    ({"OFFERWALL_LANDING": "ftp"}, "OFFERWALL_LANDING"),
    ({"OFFERWALL_LANDING": "load-bigquery"}, "OFFERWALL_RAW_PARQUET_DIR"),
    ({"OFFERWALL_RETRY_MAX": "-1"}, "OFFERWALL_RETRY_MAX"),
    ({"OFFERWALL_PARTITIONS_START": "yesterday"}, "OFFERWALL_PARTITIONS_START"),
])
def test_bad_settings_are_named(env, names):
    with pytest.raises(OfferwallError, match=names):
        Settings.from_env(env)


@pytest.mark.parametrize("text, transient", [
    ('IO Error: Could not set lock on file "wh.duckdb": Conflicting lock is held', True),
    ("google.api_core.exceptions.ServiceUnavailable: 503 POST https://bigquery.googleapis.com/...", True),
    ("500 Internal Server Error: backendError", True),
    ("Quota exceeded: rateLimitExceeded", True),
    ("Runtime Error in model fct_x: Binder Error: column y not found", False),
    ("Failure in test unique_fct_x_id: Got 3 results, configured to fail if != 0", False),
    ("404 Not found: Dataset p:raw was not found", False),
])
def test_failures_are_classified(text, transient):
    assert classify(text).transient is transient


def test_definitions_schedule_retries_and_graph(project, warehouse):
    env = settings_env(project, warehouse, OFFERWALL_SCHEDULE_CRON="30 5 * * *",
                       OFFERWALL_SCHEDULE_TIMEZONE="Europe/Berlin", OFFERWALL_RETRY_MAX="4")
    defs = build_definitions(Settings.from_env(env))
    job = defs.resolve_job_def(JOB_NAME)
    sched = next(s for s in defs.schedules if s.name == f"{JOB_NAME}_schedule")
    assert sched.cron_schedule == "30 5 * * *" and sched.execution_timezone == "Europe/Berlin"
    assert sched.job_name == JOB_NAME
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    d, repo = TODAY - dt.timedelta(days=5), defs.get_repository_def()
    for hour, days_back in [(5, 1), (0, 2)]:  # 00:30 in Berlin is still the day before in UTC
        when = dt.datetime(d.year, d.month, d.day, hour, 30, tzinfo=berlin)
        (request,) = sched.evaluate_tick(build_schedule_context(scheduled_execution_time=when, repository_def=repo)).run_requests
        assert isinstance(request, RunRequest) and request.partition_key == (d - dt.timedelta(days=days_back)).isoformat()
    too_early = dt.datetime(2020, 1, 1, 5, 30, tzinfo=berlin)
    assert not sched.evaluate_tick(build_schedule_context(scheduled_execution_time=too_early, repository_def=repo)).run_requests
    assert job.partitions_def.get_partition_keys()[0] == env["OFFERWALL_PARTITIONS_START"]

    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable:
            policy = defs.resolve_assets_def(key).node_def.retry_policy
            assert policy.max_retries == 4 and policy.backoff == Backoff.EXPONENTIAL, key
    manifest = Warehouse(project, project).manifest()
    raw = {AssetKey([s["schema"], s["name"]]) for s in manifest["sources"].values() if s["schema"] == "raw"}
    assert raw and all(graph.get(k).is_materializable for k in raw), "the landing produces every raw source"
    assert not graph.get(AssetKey(["ops", "fraud_review_decisions"])).is_materializable, "the app's table: external"
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    by_name = {k.path[-1]: k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    assert {n["name"] for n in models} <= set(by_name), "every dbt model is an asset"
    publish = graph.get(AssetKey(["publish", "marts"]))
    assert {by_name[n["name"]] for n in models} <= set(publish.parent_keys), "publish waits for the whole build"
    docs = graph.get(AssetKey(["docs", "dbt_docs_site"]))
    assert set(docs.parent_keys) == {publish.key}, "the docs site describes the published marts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_orchestrate_serves_the_ui_on_localhost(project, warehouse, tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "DAGSTER_"))}
    env.update(settings_env(project, warehouse), PORT=str(port), DAGSTER_HOME=str(tmp_path / "dagster_home"),
               OFFERWALL_FIRST_RUN="0")
    proc = subprocess.Popen(["make", "--no-print-directory", "orchestrate"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline, answer = time.monotonic() + 150, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                query = json.dumps({"query": "{ workspaceOrError { ... on Workspace { locationEntries "
                                             "{ name loadStatus } } } }"}).encode()
                request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=query,
                                                 headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    answer = json.loads(response.read())
                entries = answer["data"]["workspaceOrError"]["locationEntries"]
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    break
            except (OSError, KeyError, ValueError):
                pass
            time.sleep(2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    assert answer is not None, f"no HTTP answer on 127.0.0.1:{port}\n{out[-3000:]}"
    entries = answer["data"]["workspaceOrError"]["locationEntries"]
    assert entries and all(e["loadStatus"] == "LOADED" for e in entries), (entries, out[-3000:])
    assert (tmp_path / "dagster_home" / "dagster.yaml").exists()


def _tick(sched, when, repo):
    return sched.evaluate_tick(build_schedule_context(scheduled_execution_time=when, repository_def=repo)).run_requests


def test_daily_schedule_tests_the_slice_weekly_schedule_the_whole_suite(project, warehouse):
    env = settings_env(project, warehouse, OFFERWALL_SCHEDULE_TIMEZONE="Europe/Berlin")
    defs = build_definitions(Settings.from_env(env))
    repo = defs.get_repository_def()
    by_name = {s.name: s for s in defs.schedules}
    assert set(by_name) == {f"{JOB_NAME}_schedule", FULL_TESTS_SCHEDULE}
    daily, weekly = by_name[f"{JOB_NAME}_schedule"], by_name[FULL_TESTS_SCHEDULE]
    assert (weekly.job_name, weekly.cron_schedule, weekly.execution_timezone) == (JOB_NAME, "0 7 * * 0", "Europe/Berlin")
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    d = TODAY - dt.timedelta(days=5)
    for hour, days_back in [(7, 1), (0, 2)]:  # the weekly run picks the partition as the daily one does
        when = dt.datetime(d.year, d.month, d.day, hour, 0, tzinfo=berlin)
        for sched, scope in [(daily, "slice"), (weekly, "full")]:
            (request,) = _tick(sched, when, repo)
            assert isinstance(request, RunRequest)
            assert request.partition_key == (d - dt.timedelta(days=days_back)).isoformat(), sched.name
            assert request.run_config == {"ops": {"dbt_build": {"config": {"test_scope": scope}}}}, sched.name
            assert request.tags[TEST_SCOPE_TAG] == scope
    assert not _tick(weekly, dt.datetime(2020, 1, 5, 7, 0, tzinfo=berlin), repo), "before the first partition"
    custom = build_definitions(Settings.from_env({**env, "OFFERWALL_FULL_TESTS_CRON": "30 2 1 * *"}))
    assert next(s for s in custom.schedules if s.name == FULL_TESTS_SCHEDULE).cron_schedule == "30 2 1 * *"


class _Invocation:
    """What the dbt step and save_parse_state use of a dbt invocation (no dbt runs)."""

    def __init__(self, target_path):
        self.target_path = target_path

    def stream(self):
        return iter(())

    def wait(self):
        return self

    def is_successful(self):
        return True


class _RecordingDbt:
    """Stands for DbtCliResource in dbt_cli: records each command's args and keyword arguments."""

    def __init__(self):
        self.calls = []

    def cli(self, args, **kwargs):
        self.calls.append((list(args), kwargs))
        return _Invocation(kwargs["target_path"])


def _passed_vars(args):
    return json.loads(args[args.index("--vars") + 1])


def test_dbt_cli_passes_the_vars_and_keeps_one_parse_state_per_var_set(tmp_path):
    settings = Settings(dbt_target_path=tmp_path)
    daily, full, plain = command_vars(wap=True), command_vars(wap=True, test_scope="full"), command_vars(wap=False)
    assert daily == {"wap": True, "test_scope": "slice"} and full == {"wap": True, "test_scope": "full"}
    assert plain == {}
    with pytest.raises(ValueError, match="test_scope"):
        command_vars(wap=True, test_scope="everything")
    assert parse_state(settings, plain) == tmp_path / PARTIAL_PARSE, "the plain commands share `dbt parse`'s state"
    assert len({parse_state(settings, v) for v in (daily, full, plain)}) == 3, "one state per var set"
    assert parse_state(settings, {"test_scope": "slice", "wap": True}) == parse_state(settings, daily)
    parse_state(settings, daily).write_bytes(b"daily state")
    parse_state(settings, full).write_bytes(b"full state")

    dbt = _RecordingDbt()
    build = dbt_cli(dbt, ["build"], settings, dbt_vars=daily, name="dbt_build", run_id="run1", manifest={})
    args, kwargs = dbt.calls[-1]
    assert args[0] == "build" and _passed_vars(args) == daily
    assert (kwargs["target_path"] / PARTIAL_PARSE).read_bytes() == b"daily state", "seeded with its vars' state"
    (build.target_path / PARTIAL_PARSE).write_bytes(b"daily state, re-parsed")
    save_parse_state(build, settings, daily)
    assert parse_state(settings, daily).read_bytes() == b"daily state, re-parsed"
    assert parse_state(settings, full).read_bytes() == b"full state", "the weekly run's state is left alone"

    dbt_cli(dbt, ["build"], settings, dbt_vars=full, name="dbt_build", run_id="run2", manifest={})
    args, kwargs = dbt.calls[-1]
    assert _passed_vars(args) == full and (kwargs["target_path"] / PARTIAL_PARSE).read_bytes() == b"full state"
    dbt_cli(dbt, ["docs", "generate", "--static"], settings, dbt_vars=plain, name="docs", run_id="run3", manifest={})
    args, kwargs = dbt.calls[-1]
    assert "--vars" not in args and not (kwargs["target_path"] / PARTIAL_PARSE).exists()


def test_the_dbt_step_passes_the_runs_test_scope_to_dbt(project, warehouse, tmp_path, monkeypatch):
    """The run config of each schedule and of the launchpad, through the real dbt step, to the
    vars of its `dbt build` (dbt_cli recorded instead of run)."""
    settings = Settings.from_env(settings_env(project, warehouse))
    defs = build_definitions(settings)
    repo = defs.get_repository_def()
    when = dt.datetime.combine(TODAY - dt.timedelta(days=5), dt.time(7), tzinfo=dt.timezone.utc)
    scheduled = {s.name: _tick(s, when, repo)[0] for s in defs.schedules}
    assets = build_dbt_assets(load_manifest(settings), settings, daily_partitions(settings), retry_policy(settings))
    calls = []

    def recording_dbt_cli(dbt, args, settings, *, dbt_vars, name, **kwargs):
        calls.append((list(args), dict(dbt_vars), name))
        return _Invocation(tmp_path)

    monkeypatch.setattr(dbt_project, "dbt_cli", recording_dbt_cli)
    dbt = defs.resources["dbt"]
    assert isinstance(dbt, DbtCliResource)
    daily = ["build", *DAILY_BUILD_ARGS]  # the daily run leaves the unit tests to CI
    assert "unit_test" in DAILY_BUILD_ARGS
    cases = [
        (scheduled[f"{JOB_NAME}_schedule"].run_config, daily, "slice"),
        (scheduled[FULL_TESTS_SCHEDULE].run_config, ["build"], "full"),
        ({}, daily, "slice"),  # the launchpad's defaults
        ({"ops": {"dbt_build": {"config": {"full_refresh": True}}}}, ["build", "--full-refresh"], "full"),
        ({"ops": {"dbt_build": {"config": {"full_refresh": True, "test_scope": "slice"}}}},
         ["build", "--full-refresh"], "full"),
    ]
    for run_config, args, scope in cases:
        calls.clear()
        result = materialize([assets], partition_key=scheduled[FULL_TESTS_SCHEDULE].partition_key,
                             run_config=run_config, resources={"dbt": dbt})
        assert result.success
        assert calls == [(args, {"wap": True, "test_scope": scope}, "dbt_build")], run_config
    with pytest.raises(DagsterInvalidConfigError):
        materialize([assets], partition_key=scheduled[FULL_TESTS_SCHEDULE].partition_key, resources={"dbt": dbt},
                    run_config={"ops": {"dbt_build": {"config": {"test_scope": "everything"}}}})


def test_dbt_build_config_scope():
    assert DbtBuildConfig().effective_test_scope() == "slice"
    assert DbtBuildConfig(test_scope="full").effective_test_scope() == "full"
    assert DbtBuildConfig(full_refresh=True).effective_test_scope() == "full", "a full refresh tests every row"
