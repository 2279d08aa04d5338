"""The raw landing: one asset per raw table (every dbt source in the raw schema), a freshness
check on each table whose source declares a freshness, and a stale-source alert.

How raw lands (OFFERWALL_LANDING):
- `advance` (local): `offerwall advance --until <last day of the partitions>` on the DuckDB
  warehouse: the simulated replica, one day at a time, a day already landed is skipped;
- `load-bigquery` (production, batch): `offerwall load-bigquery` from the replica's Parquet export
  (WRITE_TRUNCATE full replicas: a rerun loads the same rows);
- `none` (production, managed CDC such as Datastream writing raw continuously): nothing to run;
  the asset records what is there and the freshness check says whether it kept up.
"""

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    MaterializeResult,
    PartitionsDefinition,
    RetryPolicy,
    multi_asset,
)

from dagster_dbt import DbtCliResource

from offerwall.orchestration.dbt_cli import command_vars, dbt_cli, save_parse_state
from offerwall.orchestration.failures import step_failure
from offerwall.orchestration.notify import Notifier
from offerwall.orchestration.settings import Settings
from offerwall.orchestration.warehouse import table_loads

FRESHNESS_CHECK = "fresh"
_PERIOD_HOURS = {"minute": 1 / 60, "hour": 1, "day": 24}


def source_key(props: Mapping[str, Any]) -> AssetKey:
    """A dbt source's asset key: [schema, table], e.g. raw/user_offers, ops/fraud_review_decisions."""
    return AssetKey([props["schema"], props["name"]])


def raw_sources(manifest: Mapping[str, Any], raw_schema: str) -> list[Mapping[str, Any]]:
    """The dbt sources the landing produces: every source table in the raw schema."""
    found = [s for s in manifest["sources"].values() if s["schema"] == raw_schema]
    return sorted(found, key=lambda s: s["name"])


def _hours(threshold: Mapping[str, Any] | None) -> float | None:
    if not threshold or threshold.get("count") is None or not threshold.get("period"):
        return None
    return float(threshold["count"]) * _PERIOD_HOURS[threshold["period"]]


def freshness_limits(source: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """(warn, error) hours of a source table's dbt freshness; (None, None) when it declares none."""
    freshness = source.get("freshness") or {}
    return _hours(freshness.get("warn_after")), _hours(freshness.get("error_after"))


def _run_cli(args: list[str], asset: str, what: str, attempt: int = 0, max_retries: int = 0) -> str:
    proc = subprocess.run([sys.executable, "-m", "offerwall.cli", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise step_failure(asset, what, proc.stderr or proc.stdout or f"exit code {proc.returncode}",
                           attempt, max_retries)
    return proc.stderr.strip()


# Snapshots (edits in place) are captured after each landed day, not only at the end of a run
# over several days: a run over a range then keeps the same history as one run per day.
SNAPSHOT_CAPTURE = ["build", "--select", "+resource_type:snapshot",
                    "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]


def _advance_day_by_day(context: Any, settings: Settings, dbt: DbtCliResource, manifest: Mapping[str, Any],
                        first_day: dt.date, last_day: dt.date, asset: str) -> None:
    """Land up to `last_day`; from `first_day` on, one day per call with the snapshots captured
    after each (days missing before the range land in one call, as a catch-up)."""
    from offerwall.generator.catch_up import read_clock

    retry = {"attempt": context.retry_number, "max_retries": settings.retry_max}
    try:
        day = max(read_clock(settings.duckdb_path).date(), first_day)
    except Exception as exc:  # noqa: BLE001 - a missing or locked file: diagnosed and named
        raise step_failure(asset, "reading the simulator's clock", str(exc), **retry) from exc
    while day <= last_day:
        path = str(settings.duckdb_path)
        context.log.info(_run_cli(["advance", "--until", day.isoformat(), "--duckdb", path],
                                  asset, "offerwall advance", **retry))
        if day < last_day:
            # with the wap vars of the daily build that follows (snapshots and their parents are
            # not marts: same relations), so both reuse one dbt parse
            run_vars = command_vars(wap=True)
            invocation = dbt_cli(dbt, SNAPSHOT_CAPTURE, settings, dbt_vars=run_vars, name="snapshot_capture",
                                 run_id=context.run.run_id, manifest=manifest).wait()
            save_parse_state(invocation, settings, run_vars)
            if not invocation.is_successful():
                raise step_failure(asset, f"capturing the snapshots of {day}", str(invocation.get_error()), **retry)
        day += dt.timedelta(days=1)


def build_raw_landing(
    manifest: Mapping[str, Any],
    settings: Settings,
    partitions_def: PartitionsDefinition,
    retry_policy: RetryPolicy,
) -> Any:
    sources = raw_sources(manifest, settings.raw_schema)
    if not sources:
        raise ValueError(f"the dbt manifest has no source in schema {settings.raw_schema!r}")
    engine = "duckdb" if settings.is_duckdb else "bigquery"
    specs = [
        AssetSpec(
            source_key(s), description=s.get("description") or None, group_name="raw",
            kinds={engine}, metadata={"dbt_source": s["unique_id"]},
        )
        for s in sources
    ]
    checked = [s for s in sources if s.get("loaded_at_field") and any(freshness_limits(s))]
    check_specs = [
        AssetCheckSpec(FRESHNESS_CHECK, asset=source_key(s),
                       description="newest row loaded within the source's dbt freshness of the partition's end")
        for s in checked
    ]

    @multi_asset(
        name="raw_landing", specs=specs, check_specs=check_specs, partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run(), retry_policy=retry_policy,
        description=f"Lands the replica's tables into {settings.raw_schema} ({settings.landing}).",
    )
    def raw_landing(context: AssetExecutionContext, notifier: Notifier, dbt: DbtCliResource) -> Iterator[Any]:
        window = context.partition_time_window
        first_day, last_day = window.start.date(), (window.end - dt.timedelta(days=1)).date()
        asset = f"{settings.raw_schema} (raw_landing)"
        if settings.landing == "advance":
            _advance_day_by_day(context, settings, dbt, manifest, first_day, last_day, asset)
        elif settings.landing == "load-bigquery":
            args = ["load-bigquery", "--project", str(settings.bq_project), "--dataset", settings.raw_schema,
                    "--parquet", str(settings.raw_parquet_dir)]
            if settings.bq_location:
                args += ["--location", settings.bq_location]
            context.log.info(_run_cli(args, asset, "offerwall load-bigquery", context.retry_number, settings.retry_max))

        try:
            loads = table_loads(settings, [
                (s["database"], s["schema"], s["identifier"] or s["name"], s.get("loaded_at_field")) for s in sources
            ])
        except Exception as exc:  # noqa: BLE001 - any read error is diagnosed (retry or not) and named
            raise step_failure(asset, "reading the landed tables", f"{type(exc).__name__}: {exc}",
                               context.retry_number, settings.retry_max) from exc
        # "now" of the run: the end of its last day (production runs after it; the simulated replica is
        # in simulated time, so the wall clock would call every local warehouse stale)
        reference = window.end.astimezone(dt.timezone.utc).replace(tzinfo=None)
        stale: list[str] = []
        for s in sources:
            load = loads[s["identifier"] or s["name"]]
            yield MaterializeResult(asset_key=source_key(s), metadata={
                "rows": load.rows,
                "max_loaded_at": str(load.max_loaded_at),
                "days": f"{first_day.isoformat()}..{last_day.isoformat()}",
            })
            if s not in checked:
                continue
            warn, error = freshness_limits(s)
            lag = None if load.max_loaded_at is None else (reference - load.max_loaded_at).total_seconds() / 3600
            too_old_error = lag is None or (error is not None and lag > error)
            too_old_warn = lag is None or (warn is not None and lag > warn)
            if too_old_error:  # past warn_after only: a warning on the check, no alert
                stale.append(f"{'/'.join(source_key(s).path)}: newest row {load.max_loaded_at}, "
                             f"{'no rows' if lag is None else f'{lag:.1f} h'} before {reference} "
                             f"(warn after {warn} h, error after {error} h)")
            yield AssetCheckResult(
                asset_key=source_key(s), check_name=FRESHNESS_CHECK, passed=not (too_old_warn or too_old_error),
                severity=AssetCheckSeverity.ERROR if too_old_error else AssetCheckSeverity.WARN,
                metadata={"lag_hours": -1.0 if lag is None else round(lag, 2), "reference": str(reference),
                          "warn_after_hours": warn or 0.0, "error_after_hours": error or 0.0},
            )
        if stale:
            notifier.send("stale_source", f"raw is stale for {first_day}..{last_day}: " + "; ".join(stale),
                          run_id=context.run.run_id, tables=stale)

    return raw_landing
