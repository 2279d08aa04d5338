"""The daily run's configuration: settings from the environment, the schedule, the retry policy,
the failure classification, the asset graph built from the manifest, and `make orchestrate`
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
from dagster import AssetKey, Backoff, RunRequest, build_schedule_context

from dbt_harness import REPO, Warehouse, shared_project
from offerwall import OfferwallError
from offerwall.orchestration.failures import classify
from offerwall.orchestration.pipeline import JOB_NAME, build_definitions
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
    assert default.alert_webhook_url is None and default.retry_max == 3
    custom = Settings.from_env({
        "OFFERWALL_SCHEDULE_CRON": "15 4 * * 1-5", "OFFERWALL_SCHEDULE_TIMEZONE": "Europe/Berlin",
        "OFFERWALL_RETRY_MAX": "5", "OFFERWALL_ALERT_WEBHOOK_URL": "https://hooks.example.com/x",
    })
    assert (custom.schedule_cron, custom.schedule_timezone, custom.retry_max) == ("15 4 * * 1-5", "Europe/Berlin", 5)
    assert custom.alert_webhook_url == "https://hooks.example.com/x"


@pytest.mark.parametrize("env, names", [
    ({"OFFERWALL_SCHEDULE_CRON": "every morning"}, "OFFERWALL_SCHEDULE_CRON"),
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
    (sched,) = list(defs.schedules)
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
