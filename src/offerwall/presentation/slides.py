"""The slides: (title, HTML body) pairs built from the warehouse's figures and the checkout's
context. Every number comes from `Figures` or `Context`; the prose only explains them."""

from __future__ import annotations

from html import escape

from offerwall.presentation import charts
from offerwall.presentation.context import Context
from offerwall.presentation.figures import Figures

Slide = tuple[str, str]


def usd(x: float | None) -> str:
    return "-" if x is None else f"${x:,.0f}"


def pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _kpis(items: list[tuple[str, str]]) -> str:
    return '<div class="kpis">' + "".join(
        f'<div class="kpi"><b>{escape(v)}</b><span>{escape(k)}</span></div>' for k, v in items
    ) + "</div>"


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def build_slides(f: Figures, ctx: Context, lineage_svg: str | None) -> list[Slide]:
    t = f.totals
    return [
        ("Offerwall warehouse", f"""
            <p class="lead">One warehouse, three teams, one vocabulary.</p>
            {_kpis([("users", f"{t['users']:,}"), ("offers", f"{t['offers']:,}"), ("completions", f"{t['completions']:,}"),
                    ("recognised margin", usd(t["margin_usd"])), ("data as of", f.as_of)])}
            <p class="muted">Every figure in this deck is queried from the marts when the deck is built
            (<code>make presentation</code>), from the warehouse <code>make run</code> built.</p>"""),
        ("The business and its data", f"""
            {_list(["Users complete advertisers' offer tasks for coins (1000 coins = 1 USD).",
                    "Advertisers pay a payout per credited task; margin = payout - reward.",
                    "Completions go pending -> credited, and may be reversed (chargeback) or rejected (anti-fraud).",
                    "The company buys users per channel x country x platform (UA spend)."])}
            <h3>The replicated production tables (<code>raw</code>)</h3>
            {_table(["table", "rows", "quarantined"], [[k, f"{v:,}", f"{f.quarantined.get(k, 0):,}"] for k, v in f.raw_rows.items()])}"""),
        ("Architecture: layers", f"""
            <div class="lineage">{lineage_svg or '<p class="muted">lineage picture not available: run <code>make lineage</code></p>'}</div>
            <p>{", ".join(f"{escape(k)}: {v} models" for k, v in ctx.layers.items()) or "manifest not available (dbt parse)"}.
            Staging cleans and quarantines; intermediate joins point in time; marts are contracts.</p>"""),
        ("Architecture: trust by construction", _list([
            "<b>Snapshots, point in time</b>: offers and tasks are edited in place; snapshots keep every version and each completion joins the version valid at its time.",
            f"<b>Quarantine</b>: a bad raw row lands in its table's quarantine model with its reason, never silently dropped ({sum(f.quarantined.values()):,} rows now; top reason: {escape(f.quarantine_reasons[0][1]) + ' in ' + escape(f.quarantine_reasons[0][0]) if f.quarantine_reasons else 'none'}).",
            "<b>Write-audit-publish</b>: marts are built and tested before they replace the published ones; a failed audit leaves the last good numbers.",
            "<b>Incremental</b>: the completion fact merges a lookback window; a test proves incremental = full refresh.",
            "<b>BigQuery path</b>: the same SQL through dbt cross-database macros and adapter.dispatch; partitioned, clustered marts, per-team datasets; CI builds on a BigQuery emulator.",
        ])),
        ("One vocabulary: the metrics layer", f"""
            <p>MetricFlow semantic models over the marts: one definition of each metric, sliced by day/week/month,
            offer provider and category, acquisition channel, country, platform, risk tier.</p>
            <pre>mf query --metrics margin_usd --group-by metric_time__month</pre>
            {_table(["metric", "label"], [list(m) for m in ctx.metrics], "small") if ctx.metrics else '<p class="muted">manifest not available</p>'}"""),
        ("Offer Management gets", f"""
            {_kpis([("revenue", usd(t["revenue_usd"])), ("reward cost", usd(t["reward_cost_usd"])),
                    ("margin", usd(t["margin_usd"])), ("chargeback rate", pct(t["chargeback_rate"]))])}
            <div class="row">{charts.monthly_money(f)}{charts.category_margin(f)}</div>"""),
        ("Offer Management: best offers and the funnel", f"""
            {_table(["offer", "provider", "category", "margin", "margin %"],
                    [[n, p, c, usd(g), pct(m)] for n, p, c, g, m in f.top_offers])}
            <p>Per offer and day (<code>fct_offer_daily_performance</code>) and per task step
            (<code>fct_offer_task_funnel</code>: users reaching each step, conversion, margin per started user).</p>"""),
        ("User Acquisition gets", f"""
            {_kpis([("UA spend", usd(t["ua_spend_usd"])), ("ROAS to date (paid)", f"{t['roas_to_date']:.2f}")])}
            <div class="row">{charts.channel_roas(f)}
            {_table(["channel", "users", "spend", "margin to date", "ROAS"],
                    [[c, f"{u:,}", usd(s), usd(m), "-" if r is None else f"{r:.2f}"] for c, u, s, m, r, _ in f.channels], "small")}</div>
            <p class="muted">Cohorts per signup day x channel x country x platform: CAC, ROAS d7/d30/d90 (blank until elapsed), payback day.</p>"""),
        ("Anti-Fraud gets", f"""
            <div class="row">{charts.risk_tiers(f)}
            {_table(["suspected type (high tier)", "users"], [[k, f"{n:,}"] for k, n in f.fraud_types], "small")}</div>
            <p>Review queue: <b>{f.queue_size:,}</b> high-tier users ordered by money at risk, with the signals behind each score.</p>
            {_table(["fraud type", "labelled", "recall", "precision"], [[n, f"{lab:,}", pct(r), pct(p)] for n, lab, r, p in f.fraud_eval], "small")
             if f.fraud_eval else ""}"""),
        ("Guarantees, and the test behind each", f"""
            {_table(["guarantee", "test"], [[g, tst] for g, tst in ctx.guarantees], "small")}
            <p>{", ".join(f"{v:,} {escape(k)}" for k, v in ctx.resources.items() if k in ("data tests", "unit tests"))}
            in dbt; {ctx.pytest_tests} pytest tests; SQLFluff lint. All in <code>make test</code>.</p>"""),
        ("Performance", (
            f'{_table(ctx.bench_header, ctx.bench_rows, "small")}<p class="muted">source: {escape(ctx.bench_source)}'
            " (<code>offerwall bench</code>: generation, a hand-written lower bound, full and incremental dbt builds)</p>"
        ) if ctx.bench_rows else '<p class="muted">no benchmark figures (run <code>offerwall bench</code>)</p>'),
        ("The source-system redesign", (
            "<h3>Why: the v1 source</h3>" + _list([escape(x) for x in ctx.redesign_intro])
            + "<h3>The design</h3>" + _list([escape(x) for x in ctx.redesign])
            + '<p class="muted">docs/source-redesign.md</p>'
        ) if ctx.redesign else _list([
            "Offers and tasks: immutable, effective-dated versions instead of edits in place.",
            "Completions: an append-only event log per user-offer instead of one mutable row.",
            "What each user was shown (offers, order, reward) recorded, so funnels start at the display.",
        ]) + '<p class="muted">The design: docs/source-redesign.md (not in this checkout yet).</p>'),
        ("What comes next", _list([
            "Access: per-team datasets and row-level policies on BigQuery.",
            "Anti-fraud: coordination-graph features and a learned model, evaluated leaving one fraud type out.",
            "Incremental end to end: every large model merges only what changed.",
            "Source v2 in production: immutable versions and an event log replace in-place edits.",
            "Where to go: <code>make app</code>, <code>make orchestrate</code>, <code>make docs</code>, <code>mf query</code>.",
        ])),
    ]
