"""The daily run's definitions, built from a Settings (definitions.py builds them from the environment).

    raw_landing (raw/<table> + freshness checks) -> dbt_build (every dbt node, wap: marts written
        and tested privately; tests = checks) -> publish/marts (publish_marts) -> docs/dbt_docs_site
    ops/fraud_review_decisions: the app's table (external)

One daily-partitioned job `daily_warehouse` and two schedules of it (cron and timezone from settings):
the daily run, whose dbt tests read the slice it wrote (test_scope slice), and a weekly run of the
same job with the whole test suite (test_scope full). Retries with exponential backoff for
transient failures, alerts on failure and on a stale source.
`build_definitions(settings)` makes it all; tests pass their own Settings.
"""

import datetime as dt
from typing import Any

from dagster import (
    AssetSelection,
    AssetSpec,
    Backoff,
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    Definitions,
    Jitter,
    RetryPolicy,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
)
from dagster_dbt import DbtCliResource

from offerwall.orchestration.dbt_project import (
    build_dbt_assets,
    build_docs_site,
    build_publish,
    dbt_executable,
    load_manifest,
)
from offerwall.orchestration.landing import build_raw_landing, raw_sources, source_key
from offerwall.orchestration.notify import Notifier, build_run_failure_sensor, notify_on_failure
from offerwall.orchestration.settings import Settings

JOB_NAME = "daily_warehouse"
FULL_TESTS_SCHEDULE = f"{JOB_NAME}_full_tests"
TEST_SCOPE_TAG = "offerwall/test_scope"
# The app's table (created by the app, read by dbt): declared even before a model reads it.
APP_DECISIONS = AssetSpec(
    ["ops", "fraud_review_decisions"], group_name="app", kinds={"app"},
    description="Written by the Anti-Fraud review app, one row per reviewer decision (append-only); "
                "read by dbt as source ops.fraud_review_decisions. Not materialised by the daily run.",
)


def retry_policy(settings: Settings) -> RetryPolicy:
    """Retries of a transient failure: delay, 2 x delay, 4 x delay, ... (+-jitter). A Failure that
    is not transient (failures.step_failure) is not retried whatever this says."""
    return RetryPolicy(
        max_retries=settings.retry_max, delay=settings.retry_delay_seconds,
        backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS,
    )


def daily_partitions(settings: Settings) -> DailyPartitionsDefinition:
    """One partition per UTC day of the warehouse (the day whose data the run lands)."""
    return DailyPartitionsDefinition(start_date=settings.partitions_start.isoformat(), timezone="UTC")


def partition_for(scheduled: dt.datetime) -> str:
    """The partition a scheduled run builds: the last UTC day complete at the scheduled time."""
    return (scheduled.astimezone(dt.timezone.utc).date() - dt.timedelta(days=1)).isoformat()


def test_scope_run_config(test_scope: str) -> dict[str, Any]:
    """The run config that sets the dbt step's test scope (DbtBuildConfig.test_scope)."""
    return {"ops": {"dbt_build": {"config": {"test_scope": test_scope}}}}


def scheduled_request(settings: Settings, scheduled: dt.datetime, test_scope: str) -> RunRequest | SkipReason:
    """A scheduled run of the last complete UTC day, its dbt tests at `test_scope`."""
    day = partition_for(scheduled)
    if day < settings.partitions_start.isoformat():
        return SkipReason(f"{day} is before the first partition {settings.partitions_start}")
    return RunRequest(run_key=day, partition_key=day, run_config=test_scope_run_config(test_scope),
                      tags={TEST_SCOPE_TAG: test_scope})


def external_sources(manifest: dict[str, Any], settings: Settings) -> list[AssetSpec]:
    """Every dbt source outside raw (nobody here lands it) plus the app's decisions table."""
    specs = {APP_DECISIONS.key: APP_DECISIONS}
    for s in manifest["sources"].values():
        key = source_key(s)
        if s["schema"] != settings.raw_schema and key not in specs:
            specs[key] = AssetSpec(key, group_name=s["schema"], description=s.get("description") or None)
    return list(specs.values())


def build_definitions(settings: Settings) -> Definitions:
    manifest = load_manifest(settings)
    partitions = daily_partitions(settings)
    retries = retry_policy(settings)
    landing = build_raw_landing(manifest, settings, partitions, retries)
    dbt_build = build_dbt_assets(manifest, settings, partitions, retries)
    publish = build_publish(dbt_build, manifest, settings, partitions, retries)
    docs = build_docs_site(publish, manifest, settings, partitions, retries)

    job = define_asset_job(
        JOB_NAME, selection=AssetSelection.assets(landing, dbt_build, publish, docs),
        hooks={notify_on_failure}, tags={"offerwall/warehouse": settings.dbt_target},
        description="Land raw, dbt build with its tests into private mart schemas (wap), publish the marts "
                    "when everything passed, then the docs site. One partition = one day.",
    )

    status = DefaultScheduleStatus.RUNNING if settings.schedule_running else DefaultScheduleStatus.STOPPED

    @schedule(
        name=f"{JOB_NAME}_schedule", cron_schedule=settings.schedule_cron, job=job,
        execution_timezone=settings.schedule_timezone, default_status=status,
        description=f"Every day at {settings.schedule_cron} ({settings.schedule_timezone}): the day that just ended; "
                    "the dbt tests of the big tables read the slice the run wrote (test_scope slice).",
    )
    def daily_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        return scheduled_request(settings, context.scheduled_execution_time, "slice")

    @schedule(
        name=FULL_TESTS_SCHEDULE, cron_schedule=settings.full_tests_cron, job=job,
        execution_timezone=settings.schedule_timezone, default_status=status,
        description=f"At {settings.full_tests_cron} ({settings.schedule_timezone}, weekly by default): the same job "
                    "for the day that just ended, every dbt test on every row (test_scope full).",
    )
    def full_tests_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        return scheduled_request(settings, context.scheduled_execution_time, "full")

    notifier = Notifier(webhook_url=settings.alert_webhook_url)
    return Definitions(
        assets=[landing, dbt_build, publish, docs, *external_sources(manifest, settings)],
        jobs=[job],
        schedules=[daily_schedule, full_tests_schedule],
        sensors=[build_run_failure_sensor(notifier, job)],
        resources={
            "dbt": DbtCliResource(
                project_dir=str(settings.dbt_project_dir), profiles_dir=str(settings.dbt_profiles_dir),
                target=settings.dbt_target, dbt_executable=dbt_executable(),
            ),
            "notifier": notifier,
        },
    )

