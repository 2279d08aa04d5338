"""Configuration of the daily run, read once from environment variables (each has a default).

| variable | default | meaning |
|---|---|---|
| OFFERWALL_SCHEDULE_CRON | `0 6 * * *` | when the daily run starts (its dbt tests read the slice the run wrote) |
| OFFERWALL_FULL_TESTS_CRON | `0 7 * * 0` | when the weekly run with the whole test suite starts (same job, test_scope full) |
| OFFERWALL_SCHEDULE_TIMEZONE | `UTC` | timezone of that cron expression (IANA name) |
| OFFERWALL_SCHEDULE_RUNNING | `0` | `1`: the schedule is on as soon as it is deployed |
| OFFERWALL_PARTITIONS_START | `2026-01-01` | first daily partition (a UTC day of the warehouse) |
| OFFERWALL_LANDING | `advance` | `advance` (simulator), `load-bigquery` (replica export), `none` (Datastream lands raw) |
| OFFERWALL_RAW_PARQUET_DIR | | load-bigquery: the folder of the replica's `<table>.parquet` export |
| OFFERWALL_RAW_SCHEMA | `raw` | dbt sources in this schema are what the landing asset produces |
| OFFERWALL_RETRY_MAX | `3` | retries of a step that failed for a transient reason |
| OFFERWALL_RETRY_DELAY_SECONDS | `30` | first retry delay; doubles each time (exponential backoff, jittered) |
| OFFERWALL_ALERT_WEBHOOK_URL | | POST a JSON message here on failure or stale source (Slack-style `text`); unset: log only |
| DBT_PROJECT_DIR, DBT_PROFILES_DIR, DBT_TARGET | repo root, repo root, `dev` | the dbt project and target |
| OFFERWALL_DBT_TARGET_PATH | `<project>/target` | dbt artifacts (manifest, docs site) |
| DUCKDB_PATH | `warehouse.duckdb` | the local warehouse (target dev) |
| BQ_PROJECT, BQ_LOCATION | | production: the GCP project and location (load-bigquery, freshness queries) |
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path


from offerwall import OfferwallError

REPO = Path(__file__).resolve().parents[3]
LANDING_MODES = ("advance", "load-bigquery", "none")


def _int(env: dict[str, str], name: str, default: int, minimum: int = 0) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise OfferwallError(f"{name} must be a whole number, got {text!r}") from None
    if value < minimum:
        raise OfferwallError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: dict[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise OfferwallError(f"{name} must be a number of seconds, got {text!r}") from None
    if value < 0:
        raise OfferwallError(f"{name} must not be negative, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    schedule_cron: str = "0 6 * * *"
    full_tests_cron: str = "0 7 * * 0"
    schedule_timezone: str = "UTC"
    schedule_running: bool = False
    partitions_start: dt.date = dt.date(2026, 1, 1)
    landing: str = "advance"
    raw_parquet_dir: str | None = None
    raw_schema: str = "raw"
    retry_max: int = 3
    retry_delay_seconds: float = 30.0
    alert_webhook_url: str | None = None
    dbt_project_dir: Path = REPO
    dbt_profiles_dir: Path = REPO
    dbt_target: str = "dev"
    dbt_target_path: Path = field(default_factory=lambda: REPO / "target")
    duckdb_path: Path = field(default_factory=lambda: Path("warehouse.duckdb").resolve())
    bq_project: str | None = None
    bq_location: str | None = None

    def __post_init__(self) -> None:
        from dagster._utils.schedules import is_valid_cron_string

        if not is_valid_cron_string(self.schedule_cron):
            raise OfferwallError(f"OFFERWALL_SCHEDULE_CRON is not a cron expression: {self.schedule_cron!r}")
        if not is_valid_cron_string(self.full_tests_cron):
            raise OfferwallError(f"OFFERWALL_FULL_TESTS_CRON is not a cron expression: {self.full_tests_cron!r}")
        try:
            zoneinfo.ZoneInfo(self.schedule_timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise OfferwallError(
                f"OFFERWALL_SCHEDULE_TIMEZONE is not an IANA timezone: {self.schedule_timezone!r}"
            ) from None
        if self.landing not in LANDING_MODES:
            raise OfferwallError(f"OFFERWALL_LANDING must be one of {', '.join(LANDING_MODES)}, got {self.landing!r}")
        if self.landing == "load-bigquery" and not (self.raw_parquet_dir and self.bq_project):
            raise OfferwallError("OFFERWALL_LANDING=load-bigquery needs OFFERWALL_RAW_PARQUET_DIR and BQ_PROJECT")

    @property
    def is_duckdb(self) -> bool:
        return self.dbt_target == "dev"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        project = Path(env.get("DBT_PROJECT_DIR") or REPO).resolve()
        start_text = env.get("OFFERWALL_PARTITIONS_START", "").strip()
        try:
            start = dt.date.fromisoformat(start_text) if start_text else cls.partitions_start
        except ValueError:
            raise OfferwallError(f"OFFERWALL_PARTITIONS_START must be YYYY-MM-DD, got {start_text!r}") from None
        return cls(
            schedule_cron=env.get("OFFERWALL_SCHEDULE_CRON", "").strip() or cls.schedule_cron,
            full_tests_cron=env.get("OFFERWALL_FULL_TESTS_CRON", "").strip() or cls.full_tests_cron,
            schedule_timezone=env.get("OFFERWALL_SCHEDULE_TIMEZONE", "").strip() or cls.schedule_timezone,
            schedule_running=env.get("OFFERWALL_SCHEDULE_RUNNING", "0").strip().lower() in ("1", "true", "yes"),
            partitions_start=start,
            landing=env.get("OFFERWALL_LANDING", "").strip() or cls.landing,
            raw_parquet_dir=env.get("OFFERWALL_RAW_PARQUET_DIR") or None,
            raw_schema=env.get("OFFERWALL_RAW_SCHEMA", "").strip() or cls.raw_schema,
            retry_max=_int(env, "OFFERWALL_RETRY_MAX", cls.retry_max),
            retry_delay_seconds=_float(env, "OFFERWALL_RETRY_DELAY_SECONDS", cls.retry_delay_seconds),
            alert_webhook_url=env.get("OFFERWALL_ALERT_WEBHOOK_URL") or None,
            dbt_project_dir=project,
            dbt_profiles_dir=Path(env.get("DBT_PROFILES_DIR") or project).resolve(),
            dbt_target=env.get("DBT_TARGET", "").strip() or "dev",
            dbt_target_path=Path(env.get("OFFERWALL_DBT_TARGET_PATH") or project / "target").resolve(),
            duckdb_path=Path(env.get("DUCKDB_PATH") or "warehouse.duckdb").resolve(),
            bq_project=env.get("BQ_PROJECT") or None,
            bq_location=env.get("BQ_LOCATION") or None,
        )
