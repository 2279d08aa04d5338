"""The deck's charts: matplotlib figures rendered to inline SVG text (no files, no network).
matplotlib (the presentation extra) is imported on first use, so a plain install imports this."""

from __future__ import annotations

import io
from typing import Any

from offerwall.presentation.figures import Figures

INK, MUTED, ACCENT, GOOD, BAD = "#1f2937", "#6b7280", "#2563eb", "#059669", "#dc2626"
STYLE = {
    "svg.fonttype": "none",  # text stays text: smaller, selectable
    "svg.hashsalt": "offerwall",  # same input, same bytes
    "font.size": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
}  # fmt: skip


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend with the deck's style."""
    from offerwall.extras import require

    require("presentation", "matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)
    return plt


def to_svg(fig: Any) -> str:
    plt = pyplot()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def monthly_money(f: Figures) -> str:
    plt = pyplot()
    months = [m for m, *_ in f.monthly]
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    x = range(len(months))
    w = 0.27
    ax.bar([i - w for i in x], [r for _, r, _, _ in f.monthly], w, label="revenue", color=ACCENT)
    ax.bar(list(x), [c for _, _, c, _ in f.monthly], w, label="reward cost", color=MUTED)
    ax.bar([i + w for i in x], [g for *_, g in f.monthly], w, label="margin", color=GOOD)
    ax.set_xticks(list(x), months)
    ax.set_ylabel("USD")
    ax.legend(frameon=False, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    ax.set_title("Recognised money per month (fct_offer_daily_performance)", loc="left", color=INK)
    return to_svg(fig)


def category_margin(f: Figures) -> str:
    plt = pyplot()
    cats = f.categories[:8][::-1]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.barh([c for c, _, _ in cats], [g for _, _, g in cats], color=[GOOD if g >= 0 else BAD for _, _, g in cats])
    ax.set_xlabel("margin, USD")
    ax.set_title("Margin by offer category", loc="left", color=INK)
    return to_svg(fig)


def channel_roas(f: Figures) -> str:
    plt = pyplot()
    paid = [c for c in f.channels if c[2]]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = range(len(paid))
    ax.bar([i - 0.2 for i in x], [c[4] or 0 for c in paid], 0.4, label="ROAS to date", color=ACCENT)
    ax.bar([i + 0.2 for i in x], [c[5] or 0 for c in paid], 0.4, label="ROAS d30 (elapsed cohorts)", color=GOOD)
    ax.axhline(1.0, color=BAD, linewidth=1, linestyle="--")
    ax.text(len(paid) - 0.5, 1.02, "paid back", color=BAD, ha="right", va="bottom", fontsize=9)
    ax.set_xticks(list(x), [c[0] for c in paid])
    ax.set_ylabel("margin / spend")
    ax.legend(frameon=False, loc="upper left")
    ax.set_title("Return on ad spend per paid channel (fct_ua_cohorts)", loc="left", color=INK)
    return to_svg(fig)


def risk_tiers(f: Figures) -> str:
    plt = pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(7.5, 3.2))
    colors = {"high": BAD, "medium": "#d97706", "low": GOOD}
    names = [t for t, _, _ in f.tiers]
    a.bar(names, [n for _, n, _ in f.tiers], color=[colors.get(t, MUTED) for t in names])
    a.set_yscale("log")
    a.set_title("Users per risk tier (log)", loc="left", color=INK)
    b.bar(names, [m for _, _, m in f.tiers], color=[colors.get(t, MUTED) for t in names])
    b.set_title("Money at risk, USD", loc="left", color=INK)
    fig.tight_layout()
    return to_svg(fig)
