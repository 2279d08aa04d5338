"""The web app's data-access layer: every page reads the marts through these functions only.

The backends (DuckDB locally, BigQuery in production) live in offerwall.app.warehouse; this
module re-exports what the pages need. The functions return pandas DataFrames of mart rows,
filtered and ordered, never re-aggregated: every number a page shows is a mart's number.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pandas as pd

from offerwall.app.warehouse import (  # noqa: F401 (re-exported: the pages' one import)
    MARTS,
    STALE_AFTER,
    BigQueryWarehouse,
    DuckDBWarehouse,
    NoWarehouse,
    Result,
    Warehouse,
    WarehouseBusy,
    WarehouseError,
    from_env,
)

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
        where.append("queue.review_status = $status")
        params["status"] = status
    if fraud_type:
        where.append("queue.suspected_fraud_type = $fraud_type")
        params["fraud_type"] = fraud_type
    sql = f"""
        select
            queue.*,
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
        return wh.query("select * from {fct_offer_task_price_changes} order by changed_date desc, offer_task_id")
    return wh.query("select * from {fct_offer_task_price_changes} where offer_id = $offer_id "
                    "order by changed_date desc, offer_task_id", {"offer_id": int(offer_id)})


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
    frame = wh.query("select distinct acquisition_channel, country, platform from {fct_ua_cohort_roas_weekly}").frame
    return {c: sorted(set(frame[c].dropna())) for c in ("acquisition_channel", "country", "platform")}


def cohort_roas_weekly(wh: Warehouse, channel: str = "all", country: str = "all", platform: str = "all") -> Result:
    sql = """
        select * from {fct_ua_cohort_roas_weekly}
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


def curve_signup_weeks(wh: Warehouse) -> list[dt.date]:
    """The signup weeks of the cohort curves, latest first."""
    frame = wh.query("select distinct signup_week from {fct_ua_cohort_curves} order by signup_week desc").frame
    return [pd.Timestamp(v).date() for v in frame["signup_week"]]


def _channel_week_filter(channel: str | None, signup_week: dt.date | None) -> tuple[str, dict[str, Any]]:
    where, params = [], {}
    if channel and channel != "all":
        where.append("acquisition_channel = $channel")
        params["channel"] = channel
    if signup_week is not None:
        where.append("signup_week = $signup_week")
        params["signup_week"] = signup_week
    return ("where " + " and ".join(where) if where else ""), params


def cohort_curves(wh: Warehouse, channel: str | None = None, signup_week: dt.date | None = None) -> Result:
    """fct_ua_cohort_curves (issue 11) for one channel and/or signup week ("all"/None: every one)."""
    where, params = _channel_week_filter(channel, signup_week)
    return wh.query(f"select * from {{fct_ua_cohort_curves}} {where} "
                    "order by acquisition_channel, signup_week, day_since_signup", params)


def retention_after_first_reward(wh: Warehouse, channel: str | None = None,
                                 signup_week: dt.date | None = None) -> Result:
    """fct_ua_retention_after_first_reward for one channel and/or signup week."""
    where, params = _channel_week_filter(channel, signup_week)
    return wh.query(f"select * from {{fct_ua_retention_after_first_reward}} {where} "
                    "order by acquisition_channel, signup_week, day_since_first_reward", params)


def incentive_hunters(wh: Warehouse, channel: str | None = None, signup_week: dt.date | None = None) -> Result:
    """One row per cohort of the retention mart: its rewarded users and incentive hunters (the
    mart repeats them on every row of a cohort; day 0 is the row every shown cohort has)."""
    where, params = _channel_week_filter(channel, signup_week)
    where = f"{where} and day_since_first_reward = 0" if where else "where day_since_first_reward = 0"
    sql = f"""
        select acquisition_channel, signup_week, users, rewarded_users, incentive_hunters,
            incentive_hunter_share, rewarded_users_excl_suspected_fraud,
            incentive_hunters_excl_suspected_fraud, incentive_hunter_share_excl_suspected_fraud
        from {{fct_ua_retention_after_first_reward}}
        {where}
        order by signup_week desc, acquisition_channel
    """
    return wh.query(sql, params)


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


BUILD_RUN_COLUMNS = ("run_id", "publish_id", "published_at", "run_by", "git_commit", "target_name",
                     "marts", "total_rows")


def build_runs(wh: Warehouse, limit: int = 10) -> Result:
    """The run log ops.build_runs (one row per published build), latest first. A warehouse that
    was never published through publish_marts (or predates the run log) raises WarehouseError."""
    return wh.query(f"select {', '.join(BUILD_RUN_COLUMNS)} from {{build_runs}} "
                    "order by published_at desc, run_id desc limit $limit", {"limit": int(limit)})


def _string_type(wh: Warehouse) -> str:
    return "string" if isinstance(wh, BigQueryWarehouse) else "varchar"
