"""Every figure the deck shows, read from the warehouse `make run` built (DuckDB, read only).

Nothing here is typed by hand: totals, monthly margin, per-channel ROAS, the risk tiers and the
quarantine counts are queried from the marts and staging when the deck is built.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from offerwall import OfferwallError

RAW_TABLES = ("users", "offers", "offer_tasks", "user_offers", "ua_spend_daily")


@dataclass
class Figures:
    as_of: str
    raw_rows: dict[str, int]
    quarantined: dict[str, int]  # raw table -> rows quarantined
    quarantine_reasons: list[tuple[str, str, int]]  # table, reason, rows (largest first)
    totals: dict[str, float]
    monthly: list[tuple[str, float, float, float]]  # month, revenue, reward cost, margin
    categories: list[tuple[str, float, float]]  # category, revenue, margin
    top_offers: list[tuple[str, str, str, float, float | None]]  # name, provider, category, margin, margin %
    channels: list[tuple[str, int, float | None, float, float | None, float | None]]  # channel, users, spend, margin to date, roas to date, roas d30
    tiers: list[tuple[str, int, float]]  # risk tier, users, money at risk
    fraud_types: list[tuple[str, int]]  # suspected type in the high tier, users
    queue_size: int
    fraud_eval: list[tuple[str, int, float | None, float | None]] = field(default_factory=list)  # type, labelled, recall, precision


class _Warehouse:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        rows = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        self.schemas: dict[str, list[str]] = {}
        for schema, table in rows:
            self.schemas.setdefault(table, []).append(schema)

    def rel(self, table: str) -> str:
        """Schema-qualified relation: `$DBT_SCHEMA_<layer>` first, else the only schema holding it."""
        found = sorted(self.schemas.get(table, []))
        if not found:
            raise OfferwallError(f"no table {table} in the warehouse: run `make run` (or dbt build) first")
        prefix = os.environ.get("DBT_SCHEMA", "dev") + "_"
        preferred = [s for s in found if s.startswith(prefix)] or found
        return f'"{preferred[0]}".{table}'

    def has(self, table: str) -> bool:
        return table in self.schemas

    def all(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def one(self, sql: str) -> tuple:
        return self.con.execute(sql).fetchone()


def read_figures(duckdb_path: str | Path) -> Figures:
    db = Path(duckdb_path)
    if not db.exists():
        raise OfferwallError(f"DuckDB file not found: {db} (run `make run` first)")
    with duckdb.connect(str(db), read_only=True) as con:
        wh = _Warehouse(con)
        figures = _read(wh)
        has_labels = "labels" in wh.schemas.get("fraud_users", [])
    if has_labels:
        figures.fraud_eval = _fraud_eval(db)
    return figures


def _read(wh: _Warehouse) -> Figures:
    perf = wh.rel("fct_offer_daily_performance")
    cohorts = wh.rel("fct_ua_cohorts")
    signals = wh.rel("fct_user_fraud_signals")

    raw_rows = {t: wh.one(f"select count(*) from raw.{t}")[0] for t in RAW_TABLES if "raw" in wh.schemas.get(t, [])}
    quarantined: dict[str, int] = {}
    reasons: list[tuple[str, str, int]] = []
    for t in RAW_TABLES:
        name = f"stg_offerwall__{t}_quarantine"
        if wh.has(name):
            for reason, n in wh.all(f"select reason, count(*) from {wh.rel(name)} group by reason"):
                quarantined[t] = quarantined.get(t, 0) + n
                reasons.append((t, reason, n))
    reasons.sort(key=lambda r: -r[2])

    rev, cost, margin, completions, credited, reversed_ = wh.one(
        f"""select sum(revenue_usd), sum(reward_cost_usd), sum(margin_usd), sum(completions),
                   sum(credited_completions), sum(reversed_completions) from {perf}"""
    )
    spend, paid_margin = wh.one(
        f"select sum(spend_usd), sum(case when is_paid_channel then margin_usd_to_date else 0 end) from {cohorts}"
    )
    as_of = wh.one(f"select max(as_of_date) from {cohorts}")[0]
    totals = {
        "revenue_usd": float(rev or 0),
        "reward_cost_usd": float(cost or 0),
        "margin_usd": float(margin or 0),
        "completions": int(completions or 0),
        "credited_completions": int(credited or 0),
        "chargeback_rate": (reversed_ / (credited + reversed_)) if (credited or 0) + (reversed_ or 0) else 0.0,
        "ua_spend_usd": float(spend or 0),
        "roas_to_date": float(paid_margin) / float(spend) if spend else 0.0,
        "offers": wh.one(f"select count(distinct offer_id) from {perf}")[0],
        "users": wh.one(f"select count(*) from {wh.rel('dim_users')}")[0],
    }
    monthly = [
        (str(m)[:7], float(r), float(c), float(g))
        for m, r, c, g in wh.all(
            f"""select date_trunc('month', completed_date) as m, sum(revenue_usd), sum(reward_cost_usd),
                       sum(margin_usd) from {perf} group by m order by m"""
        )
    ]
    categories = [
        (c or "(none)", float(r), float(g))
        for c, r, g in wh.all(
            f"select category, sum(revenue_usd), sum(margin_usd) from {perf} group by category order by 3 desc"
        )
    ]
    top_offers = [
        (n, p, c, float(g), (float(g) / float(r)) if r else None)
        for n, p, c, g, r in wh.all(
            f"""select offer_name, provider, category, sum(margin_usd), sum(revenue_usd) from {perf}
                group by offer_id, offer_name, provider, category order by 4 desc limit 5"""
        )
    ]
    channels = [
        (ch, int(u), None if s is None else float(s), float(m),
         (float(m) / float(s)) if s else None, None if r30 is None else float(r30))
        for ch, u, s, m, r30 in wh.all(
            f"""select acquisition_channel, sum(users), sum(spend_usd), sum(margin_usd_to_date),
                       sum(margin_usd_d30) / nullif(sum(case when margin_usd_d30 is not null then spend_usd end), 0)
                from {cohorts} group by acquisition_channel order by 2 desc"""
        )
    ]  # fmt: skip
    tiers = [
        (t, int(n), float(m or 0))
        for t, n, m in wh.all(
            f"""select risk_tier, count(*), sum(money_at_risk_usd) from {signals} group by risk_tier
                order by case risk_tier when 'high' then 1 when 'medium' then 2 else 3 end"""
        )
    ]
    fraud_types = [
        (t, int(n))
        for t, n in wh.all(
            f"""select suspected_fraud_type, count(*) from {signals} where risk_tier = 'high'
                group by 1 order by 2 desc"""
        )
    ]
    queue_size = wh.one(f"select count(*) from {wh.rel('fct_fraud_review_queue')}")[0]
    return Figures(
        as_of=str(as_of), raw_rows=raw_rows, quarantined=quarantined, quarantine_reasons=reasons,
        totals=totals, monthly=monthly, categories=categories, top_offers=top_offers,
        channels=channels, tiers=tiers, fraud_types=fraud_types, queue_size=int(queue_size),
    )  # fmt: skip


def _fraud_eval(db: Path) -> list[tuple[str, int, float | None, float | None]]:
    from offerwall.fraud_eval import evaluate

    return [(r.name, r.labelled, r.recall, r.precision) for r in evaluate(db)]
