"""The web app's data-access layer: every page reads the marts through these functions only.

One interface, two backends:
- `DuckDBWarehouse`: the file `make run` built. Each query opens a short-lived read-only
  connection and closes it, so a dbt build (one writer) can start at any moment; while a build
  holds the file, a query retries briefly and then serves the last result it got for the same
  query (flagged `stale`) instead of failing. A result is reused while the file (and its WAL)
  is unchanged since it was read: a page reload costs no query until the next build.
- `BigQueryWarehouse`: the production datasets (or a developer's `<prefix>_marts_*`), from
  environment variables (docs/app.md). Also used against the BigQuery emulator.

The functions return pandas DataFrames of mart rows, filtered and ordered, never re-aggregated:
every number a page shows is a mart's number.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

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
    "fct_ua_cohort_curves": "marts_user_acquisition",
    "fct_ua_ltv_forecast": "marts_user_acquisition",
    "fct_ua_ltv_forecast_accuracy": "marts_user_acquisition",
    "fct_ua_max_cac": "marts_user_acquisition",
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
        return sql.format(**{m: self.relation(m) for m in MARTS})


# ----------------------------------------------------------------------------------------------
# BigQuery
class BigQueryWarehouse:
    """The marts on BigQuery. Datasets: <prefix>_marts_* (a developer's or CI's) or marts_*
    (production, OFFERWALL_BQ_DATASET_PREFIX empty)."""

    def __init__(self, project: str, dataset_prefix: str = "", client=None, location: str | None = None):
        from google.cloud import bigquery

        self.project = project
        self.dataset_prefix = dataset_prefix
        self.client = client or bigquery.Client(project=project, location=location)

    def describe(self) -> str:
        return f"BigQuery {self.project} ({self.dataset_prefix or 'production'} datasets)"

    def relation(self, mart: str) -> str:
        if mart not in MARTS:
            raise KeyError(f"unknown mart {mart}")
        return f"`{self.project}.{_schema(self.dataset_prefix, MARTS[mart])}.{mart}`"

    def query(self, sql: str, params: dict[str, Any] | None = None) -> Result:
        from google.api_core import exceptions as gexc
        from google.cloud import bigquery

        rendered = sql.format(**{m: self.relation(m) for m in MARTS})
        # DuckDB's $name parameters become BigQuery's @name.
        for name in (params or {}):
            rendered = rendered.replace(f"${name}", f"@{name}")
        config = bigquery.QueryJobConfig(query_parameters=[
            bigquery.ScalarQueryParameter(name, _bq_type(value), value)
            for name, value in (params or {}).items()])
        try:
            rows = self.client.query(rendered, job_config=config).result()
        except gexc.NotFound as exc:
            raise WarehouseError(f"BigQuery: {exc.message}. Has `dbt build` run on this target?") from None
        frame = pd.DataFrame([dict(row.items()) for row in rows],
                             columns=[field.name for field in rows.schema])
        return Result(frame)


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
        if env.get("BQ_EMULATOR_ENDPOINT"):
            client = _emulator_client(project, env["BQ_EMULATOR_ENDPOINT"])
        return BigQueryWarehouse(project, env.get("OFFERWALL_BQ_DATASET_PREFIX", ""), client,
                                 env.get("BQ_LOCATION"))
    raise WarehouseError(f"OFFERWALL_APP_BACKEND must be duckdb or bigquery, got {backend!r}")


def _emulator_client(project: str, endpoint: str):
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    return bigquery.Client(project=project, credentials=AnonymousCredentials(),
                           client_options=ClientOptions(api_endpoint=endpoint))


# ----------------------------------------------------------------------------------------------
# The data-access functions the pages call.
@dataclasses.dataclass
class Freshness:
    as_of: dt.datetime | None        # the data's own watermark (latest completion loaded)
    built_at: dt.datetime | None     # when the marts were last written (DuckDB: file mtime)
    stale: bool
    message: str | None


def freshness(wh: Warehouse, now: dt.datetime | None = None) -> Freshness:
    """How current the marts are; a stale build is reported, never hidden. Stale = the raw
    replica holds data loaded after the marts' watermark (a build is due), or the marts were
    last written more than STALE_AFTER ago (DuckDB: the file's modification time)."""
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    res = wh.query("select max(loaded_at) as as_of from {fct_task_completions}")
    as_of = _timestamp(res.frame["as_of"].iloc[0]) if len(res.frame) else None
    built_for = wh.query("select max(as_of_date) as as_of_date from {fct_user_ltv}").frame["as_of_date"].iloc[0]
    built_for = None if built_for is None or pd.isna(built_for) else pd.Timestamp(built_for).date()
    built_at, raw_latest = None, None
    if isinstance(wh, DuckDBWarehouse):
        built_at = dt.datetime.fromtimestamp(wh.path.stat().st_mtime, dt.timezone.utc).replace(tzinfo=None)
        try:
            raw = wh.query("select max(_loaded_at) as loaded from raw.user_offers")
            raw_latest = _timestamp(raw.frame["loaded"].iloc[0])
        except WarehouseError:
            raw_latest = None
    messages = []
    if res.stale:
        messages.append("A dbt build is running: showing the data read before it started.")
    if as_of is None:
        messages.append("The warehouse has no completions yet.")
    if built_for is not None and raw_latest is not None and raw_latest.date() > built_for:
        messages.append(
            f"Stale build: raw data is loaded up to {raw_latest:%Y-%m-%d %H:%M} UTC but the marts were "
            f"built as of {built_for}. Rebuild them: `make run` (or `dbt build`).")
    if built_at is not None and now - built_at > STALE_AFTER:
        messages.append(
            f"Stale build: the marts were last built {(now - built_at).total_seconds() / 3600:.0f} hours ago "
            f"({built_at:%Y-%m-%d %H:%M} UTC).")
    stale = bool(messages)
    return Freshness(as_of, built_at, stale, " ".join(messages) or None)


def _timestamp(value) -> dt.datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime().replace(tzinfo=None)


# Anti-fraud
REVIEW_STATUSES = ("unreviewed", "confirmed_fraud", "cleared", "needs_more_info")


def review_queue(wh: Warehouse, *, status: str | None = None, fraud_type: str | None = None,
                 limit: int = 200) -> Result:
    """The queue in review order, with each user's review status (latest decision wins)."""
    where, params = [], {"limit": int(limit)}
    if status:
        where.append("coalesce(status.review_status, 'unreviewed') = $status")
        params["status"] = status
    if fraud_type:
        where.append("queue.suspected_fraud_type = $fraud_type")
        params["fraud_type"] = fraud_type
    sql = f"""
        select
            queue.*,
            coalesce(status.review_status, 'unreviewed') as review_status,
            status.latest_reviewer,
            status.latest_decided_at,
            status.decisions as review_decisions,
            status.has_disagreement
        from {{fct_fraud_review_queue}} as queue
        left join {{fct_fraud_review_status}} as status
            on queue.user_id = status.user_id
        {"where " + " and ".join(where) if where else ""}
        order by queue.review_rank
        limit $limit
    """
    return wh.query(sql, params)


def fraud_types(wh: Warehouse) -> list[str]:
    frame = wh.query("select distinct suspected_fraud_type from {fct_fraud_review_queue} order by 1").frame
    return [v for v in frame.iloc[:, 0].tolist() if v is not None]


def user_signals(wh: Warehouse, user_id: str) -> Result:
    return wh.query("select * from {fct_user_fraud_signals} where user_id = $user_id", {"user_id": user_id})


def queue_entry(wh: Warehouse, user_id: str) -> Result:
    return wh.query("select * from {fct_fraud_review_queue} where user_id = $user_id", {"user_id": user_id})


def linked_accounts(wh: Warehouse, user_id: str, limit: int = 50) -> Result:
    """Other users seen on one of the user's devices or IPs: (linked_user_id, link, shared_key)."""
    sql = """
        with mine as (
            select distinct device_hash, ip_hash from {fct_task_completions} where user_id = $user_id
        ),
        links as (
            select distinct c.user_id as linked_user_id, 'device' as link, c.device_hash as shared_key
            from {fct_task_completions} as c
            inner join mine on c.device_hash = mine.device_hash
            where c.user_id <> $user_id and c.device_hash is not null
            union distinct
            select distinct c.user_id as linked_user_id, 'ip' as link, c.ip_hash as shared_key
            from {fct_task_completions} as c
            inner join mine on c.ip_hash = mine.ip_hash
            where c.user_id <> $user_id and c.ip_hash is not null
        )
        select links.*, signals.risk_tier, signals.risk_score
        from links
        left join {fct_user_fraud_signals} as signals on links.linked_user_id = signals.user_id
        order by links.link, links.linked_user_id
        limit $limit
    """
    return wh.query(sql, {"user_id": user_id, "limit": int(limit)})


def completion_timeline(wh: Warehouse, user_id: str) -> Result:
    sql = """
        select completed_at, offer_id, task_type, status, payout_usd, reward_usd, country,
               minutes_to_complete
        from {fct_task_completions}
        where user_id = $user_id
        order by completed_at
    """
    return wh.query(sql, {"user_id": user_id})


def review_outcomes(wh: Warehouse) -> Result:
    return wh.query("select * from {fct_fraud_review_outcomes} order by risk_tier, suspected_fraud_type")


# Offer management
def margin_monitor(wh: Warehouse, statuses: list[str] | None = None) -> Result:
    params: dict[str, Any] = {}
    where = ""
    if statuses:
        names = [f"$s{i}" for i in range(len(statuses))]
        params = {f"s{i}": s for i, s in enumerate(statuses)}
        where = f"where margin_status in ({', '.join(names)})"
    return wh.query(f"select * from {{fct_offer_margin_monitor}} {where} order by margin_usd", params)


def offer_daily(wh: Warehouse, offer_id: int) -> Result:
    sql = """
        select completed_date, completions, revenue_usd, margin_usd, margin_pct, reversal_rate
        from {fct_offer_daily_performance}
        where offer_id = $offer_id
        order by completed_date
    """
    return wh.query(sql, {"offer_id": int(offer_id)})


def price_changes(wh: Warehouse, offer_id: int | None = None) -> Result:
    if offer_id is None:
        return wh.query("select * from {fct_offer_task_price_changes} order by changed_at desc")
    return wh.query("select * from {fct_offer_task_price_changes} where offer_id = $offer_id "
                    "order by changed_at desc", {"offer_id": int(offer_id)})


def funnel_drop_offs(wh: Warehouse, abnormal_only: bool = True) -> Result:
    where = "where is_abnormal_drop_off" if abnormal_only else ""
    return wh.query(f"select * from {{fct_offer_funnel_drop_offs}} {where} order by z_score")


def reward_recommendations(wh: Warehouse, offer_id: int | None = None,
                           recommendation: str | None = None) -> Result:
    where, params = [], {}
    if offer_id is not None:
        where.append("offer_id = $offer_id")
        params["offer_id"] = int(offer_id)
    if recommendation:
        where.append("recommendation = $recommendation")
        params["recommendation"] = recommendation
    sql = f"""
        select * from {{fct_task_reward_recommendations}}
        {"where " + " and ".join(where) if where else ""}
        order by reward_change_usd, offer_id, task_position
    """
    return wh.query(sql, params)


# User acquisition
def ua_dimensions(wh: Warehouse) -> dict[str, list[str]]:
    frame = wh.query("select distinct acquisition_channel, country, platform from {fct_ua_cohort_curves}").frame
    return {c: sorted(set(frame[c].dropna())) for c in ("acquisition_channel", "country", "platform")}


def cohort_curves(wh: Warehouse, channel: str = "all", country: str = "all", platform: str = "all") -> Result:
    sql = """
        select * from {fct_ua_cohort_curves}
        where acquisition_channel = $channel and country = $country and platform = $platform
        order by cohort_week, fraud_scope
    """
    return wh.query(sql, {"channel": channel, "country": country, "platform": platform})


def ltv_forecast(wh: Warehouse, channel: str | None = None) -> Result:
    if channel and channel != "all":
        return wh.query("select * from {fct_ua_ltv_forecast} where acquisition_channel = $channel "
                        "order by cohort_date", {"channel": channel})
    return wh.query("select * from {fct_ua_ltv_forecast} order by cohort_date, acquisition_channel")


def ltv_accuracy(wh: Warehouse) -> Result:
    return wh.query("select * from {fct_ua_ltv_forecast_accuracy} "
                    "order by forecast_basis, acquisition_channel")


def max_cac(wh: Warehouse, country: str | None = "all") -> Result:
    if country:
        return wh.query("select * from {fct_ua_max_cac} where country = $country "
                        "order by acquisition_channel", {"country": country})
    return wh.query("select * from {fct_ua_max_cac} order by acquisition_channel, country")


# Alerts
def anomalies(wh: Warehouse, day: dt.date | None = None, series_type: str | None = None,
              anomalies_only: bool = True) -> Result:
    """The anomalies of one day (default: the latest complete day)."""
    where, params = [], {}
    if day is None:
        where.append("is_latest_day")
    else:
        where.append("metric_date = $day")
        params["day"] = day
    if series_type:
        where.append("series_type = $series_type")
        params["series_type"] = series_type
    if anomalies_only:
        where.append("is_anomaly")
    sql = f"""
        select anomalies.*, offers.offer_name
        from {{fct_daily_anomalies}} as anomalies
        left join {{dim_offers}} as offers
            on anomalies.series_type = 'offer'
            and anomalies.series_key = cast(offers.offer_id as {_string_type(wh)})
        where {" and ".join(where)}
        order by abs(anomalies.z_score) desc
    """
    return wh.query(sql, params)


def anomaly_series(wh: Warehouse, series_type: str, series_key: str, metric: str) -> Result:
    sql = """
        select metric_date, metric_value, baseline_mean, baseline_stddev, is_anomaly
        from {fct_daily_anomalies}
        where series_type = $series_type and series_key = $series_key and metric = $metric
        order by metric_date
    """
    return wh.query(sql, {"series_type": series_type, "series_key": series_key, "metric": metric})


def _string_type(wh: Warehouse) -> str:
    return "string" if isinstance(wh, BigQueryWarehouse) else "varchar"
