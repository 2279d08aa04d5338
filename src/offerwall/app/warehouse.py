"""The app's two warehouse backends behind one interface (see offerwall.app.data).

- `DuckDBWarehouse`: the file `make run` built. Each query opens a short-lived read-only
  connection and closes it, so a dbt build (one writer) can start at any moment; while a build
  holds the file, a query retries briefly and then serves the last result it got for the same
  query (flagged `stale`) instead of failing. A result is reused while the file (and its WAL)
  is unchanged since it was read: a page reload costs no query until the next build.
- `BigQueryWarehouse`: the production datasets (or a developer's `<prefix>_marts_*`), from
  environment variables (docs/app.md). Also used against the BigQuery emulator.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

# The ops tables the app reads ({build_runs}: the run log written by publish_marts), in the
# ops schema (dbt var ops_schema; on BigQuery the dataset OFFERWALL_OPS_DATASET).
OPS_SCHEMA = "ops"
OPS_TABLES = ("build_runs",)

# The marts the app reads, by layer (dbt folder). The queue's name after issue 9's rename.
MARTS = {
    "fct_fraud_review_queue": "marts_anti_fraud",
    "fct_user_fraud_signals": "marts_anti_fraud",
    "fct_fraud_review_status": "marts_anti_fraud",
    "fct_fraud_review_outcomes": "marts_anti_fraud",
    "fct_task_completions": "marts_core",
    "dim_offers": "marts_core",
    "dim_users": "marts_core",
    "fct_daily_anomalies": "marts_core",
    "fct_offer_daily_performance": "marts_offer_management",
    "fct_offer_margin_monitor": "marts_offer_management",
    "fct_offer_task_price_changes": "marts_offer_management",
    "fct_offer_funnel_drop_offs": "marts_offer_management",
    "fct_task_reward_recommendations": "marts_offer_management",
    "fct_user_ltv": "marts_user_acquisition",
    "fct_ua_cohort_roas_weekly": "marts_user_acquisition",
    "fct_ua_ltv_forecast": "marts_user_acquisition",
    "fct_ua_ltv_forecast_accuracy": "marts_user_acquisition",
    "fct_ua_max_cac": "marts_user_acquisition",
    "fct_ua_cohort_curves": "marts_user_acquisition",
    "fct_ua_retention_after_first_reward": "marts_user_acquisition",
}
# A warehouse whose data watermark (as_of) is older than this is reported as stale.
STALE_AFTER = dt.timedelta(hours=int(os.environ.get("OFFERWALL_APP_STALE_HOURS", "36")))


class WarehouseError(Exception):
    """A condition the page shows as a message (no warehouse yet, a mart missing...)."""


class NoWarehouse(WarehouseError):
    pass


class WarehouseBusy(WarehouseError):
    pass


@dataclasses.dataclass
class Result:
    frame: pd.DataFrame
    stale: bool = False          # served from the last good read: a dbt build holds the file


class Warehouse(Protocol):
    """What a backend provides: run a read query against fully qualified mart names."""

    def relation(self, mart: str) -> str: ...
    def query(self, sql: str, params: dict[str, Any] | None = None) -> Result: ...
    def describe(self) -> str: ...


# ----------------------------------------------------------------------------------------------
# DuckDB
def _schema(prefix: str, layer: str) -> str:
    return f"{prefix}_{layer}" if prefix else layer


class DuckDBWarehouse:
    """Read-only, short-lived connections to the warehouse file; retry, then last good result."""

    def __init__(self, path: str | Path, schema_prefix: str = "dev", busy_wait_s: float = 3.0):
        self.path = Path(path)
        self.schema_prefix = schema_prefix
        self.busy_wait_s = busy_wait_s
        self._last_good: dict[tuple, tuple[tuple, pd.DataFrame]] = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"DuckDB {self.path}"

    def _connect(self):
        import duckdb

        if not self.path.exists():
            raise NoWarehouse(
                f"No warehouse at {self.path}. Build it first: `make run` (then `make app`).")
        deadline = time.monotonic() + self.busy_wait_s
        delay = 0.05
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=True)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise WarehouseError(f"cannot open {self.path}: {str(exc).splitlines()[0]}") from None
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        "The warehouse is being rebuilt (a dbt build holds the file); "
                        "try again in a minute.") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def relation(self, mart: str) -> str:
        if mart not in MARTS:
            raise KeyError(f"unknown mart {mart}")
        return f'"{_schema(self.schema_prefix, MARTS[mart])}"."{mart}"'

    def _version(self) -> tuple:
        """Changes whenever dbt writes the file (or its write-ahead log)."""
        wal = self.path.with_name(self.path.name + ".wal")
        main = self.path.stat()
        return (main.st_mtime_ns, main.st_size, wal.stat().st_mtime_ns if wal.exists() else None)

    def query(self, sql: str, params: dict[str, Any] | None = None) -> Result:
        import duckdb

        key = (sql, tuple(sorted((params or {}).items())))
        version = self._version() if self.path.exists() else None
        cached = self._last_good.get(key)
        if cached is not None and cached[0] == version:  # the file has not changed since
            return Result(cached[1].copy())
        try:
            con = self._connect()
        except WarehouseBusy:
            if cached is not None:
                return Result(cached[1].copy(), stale=True)
            raise
        try:
            frame = con.execute(self._render(sql), params or {}).df()
        except duckdb.CatalogException as exc:
            raise WarehouseError(
                "The warehouse has no such mart yet (built by an older version?): "
                f"{str(exc).splitlines()[0]}. Rebuild it: `make run`.") from None
        finally:
            con.close()
        self._last_good[key] = (version, frame)
        return Result(frame.copy())

    def _render(self, sql: str) -> str:
        # {mart} placeholders -> qualified names; $name parameters are DuckDB's own syntax.
        return sql.format(**{m: self.relation(m) for m in MARTS},
                          **{t: f'"{OPS_SCHEMA}"."{t}"' for t in OPS_TABLES})


# ----------------------------------------------------------------------------------------------
# BigQuery
class BigQueryWarehouse:
    """The marts on BigQuery. Datasets: <prefix>_marts_* (a developer's or CI's) or marts_*
    (production, OFFERWALL_BQ_DATASET_PREFIX empty)."""

    def __init__(self, project: str, dataset_prefix: str = "", client=None, location: str | None = None,
                 inline_parameters: bool = False, ops_dataset: str = OPS_SCHEMA):
        from google.cloud import bigquery

        self.project = project
        self.dataset_prefix = dataset_prefix
        self.ops_dataset = ops_dataset
        self.client = client or bigquery.Client(project=project, location=location)
        # The emulator does not take query parameters: they are written into the SQL as typed
        # literals instead (from_env sets this with BQ_EMULATOR_ENDPOINT only).
        self.inline_parameters = inline_parameters

    def describe(self) -> str:
        return f"BigQuery {self.project} ({self.dataset_prefix or 'production'} datasets)"

    def relation(self, mart: str) -> str:
        if mart not in MARTS:
            raise KeyError(f"unknown mart {mart}")
        return f"`{self.project}.{_schema(self.dataset_prefix, MARTS[mart])}.{mart}`"

    def query(self, sql: str, params: dict[str, Any] | None = None) -> Result:
        from google.api_core import exceptions as gexc

        params = params or {}
        rendered = sql.format(**{m: self.relation(m) for m in MARTS},
                              **{t: f"`{self.project}.{self.ops_dataset}.{t}`" for t in OPS_TABLES})
        # DuckDB's $name parameters become BigQuery's @name.
        rendered = re.sub(r"\$(\w+)", lambda m: f"@{m.group(1)}" if m.group(1) in params else m.group(0), rendered)
        types = {name: _bq_type(value) for name, value in params.items()}
        try:
            rows = run_query(self.client, rendered, params, types, self.inline_parameters).result()
        except gexc.NotFound as exc:
            raise WarehouseError(f"BigQuery: {exc.message}. Has `dbt build` run on this target?") from None
        return Result(_typed_frame(rows))


def _typed_frame(rows) -> pd.DataFrame:
    """BigQuery rows as a frame typed like DuckDB's `.df()`, so a page gets the same frame from
    either backend: NUMERIC -> float64, DATE / DATETIME / TIMESTAMP -> datetime64 (TIMESTAMP as
    naive UTC, like the marts' DuckDB timestamps), INT64 -> int64 and BOOL -> bool (Int64 and
    boolean when they hold NULLs).
    Without this a NUMERIC column is Python Decimals and a DATE column dt.date objects."""
    fields = list(rows.schema)
    frame = pd.DataFrame([list(row.values()) for row in rows], columns=[f.name for f in fields], dtype=object)
    for field in fields:
        if field.mode == "REPEATED":
            continue
        column = frame[field.name]
        kind = field.field_type
        if kind in ("NUMERIC", "BIGNUMERIC", "FLOAT", "FLOAT64"):
            frame[field.name] = pd.Series([None if v is None else float(v) for v in column],
                                          index=frame.index, dtype="float64")
        elif kind in ("INTEGER", "INT64"):
            frame[field.name] = column.astype("Int64" if column.isna().any() else "int64")
        elif kind in ("BOOL", "BOOLEAN"):
            frame[field.name] = column.astype("boolean" if column.isna().any() else "bool")
        elif kind in ("DATE", "DATETIME"):
            frame[field.name] = pd.to_datetime(column)
        elif kind == "TIMESTAMP":
            frame[field.name] = pd.to_datetime(column, utc=True).dt.tz_convert(None)
    return frame


def run_query(client, sql: str, params: dict[str, Any], types: dict[str, str], inline: bool = False):
    """A BigQuery query job with @name parameters of the given types: as query parameters
    (production), or, with `inline`, written into the SQL as literals of the same types (the
    emulator, which does not take query parameters)."""
    from google.cloud import bigquery

    if not params:
        return client.query(sql)
    if inline:
        return client.query(re.sub(r"@(\w+)", lambda m: _bq_literal(params[m.group(1)], types[m.group(1)])
                                   if m.group(1) in params else m.group(0), sql))
    config = bigquery.QueryJobConfig(query_parameters=[
        bigquery.ScalarQueryParameter(name, types[name], value) for name, value in params.items()])
    return client.query(sql, job_config=config)


def _bq_literal(value: Any, kind: str) -> str:
    """`value` as a BigQuery literal of type `kind` (the types _bq_type gives)."""
    if value is None:
        return f"cast(null as {kind})"
    if kind == "BOOL":
        return "true" if value else "false"
    if kind == "INT64":
        return f"cast({int(value)} as int64)"
    if kind == "FLOAT64":
        return f"cast('{float(value)!r}' as float64)"
    if kind == "TIMESTAMP":
        if value.tzinfo is not None:  # a naive datetime is UTC, as for a query parameter
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return f"timestamp '{value.isoformat(sep=' ')}+00'"
    if kind == "DATE":
        return f"date '{value.isoformat()}'"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{text}'"


def _bq_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, dt.datetime):
        return "TIMESTAMP"
    if isinstance(value, dt.date):
        return "DATE"
    return "STRING"


# ----------------------------------------------------------------------------------------------
def from_env(env: dict[str, str] | None = None) -> Warehouse:
    """The warehouse the app reads, from the environment (docs/app.md):
    OFFERWALL_APP_BACKEND=duckdb (default; DUCKDB_PATH, DBT_SCHEMA) or bigquery (BQ_PROJECT,
    OFFERWALL_BQ_DATASET_PREFIX, BQ_LOCATION; BQ_EMULATOR_ENDPOINT for the emulator)."""
    env = dict(os.environ if env is None else env)
    backend = env.get("OFFERWALL_APP_BACKEND", "duckdb")
    if backend == "duckdb":
        return DuckDBWarehouse(env.get("DUCKDB_PATH", "warehouse.duckdb"), env.get("DBT_SCHEMA", "dev"))
    if backend == "bigquery":
        project = env.get("BQ_PROJECT")
        if not project:
            raise WarehouseError("OFFERWALL_APP_BACKEND=bigquery needs BQ_PROJECT")
        client = None
        emulator = env.get("BQ_EMULATOR_ENDPOINT")
        if emulator:
            from offerwall.bigquery_loader import emulator_client

            client = emulator_client(project, env.get("BQ_LOCATION"), emulator)
        return BigQueryWarehouse(project, env.get("OFFERWALL_BQ_DATASET_PREFIX", ""), client,
                                 env.get("BQ_LOCATION"), inline_parameters=bool(emulator),
                                 ops_dataset=env.get("OFFERWALL_OPS_DATASET", OPS_SCHEMA))
    raise WarehouseError(f"OFFERWALL_APP_BACKEND must be duckdb or bigquery, got {backend!r}")
