"""`make presentation`: the slide deck, built on the baseline warehouse (dbt_harness), is one
self-contained HTML file of 10-15 slides whose figures are the marts' own, and every slide
renders non-blank in headless chromium (screenshots: target/screenshots/presentation/).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from browser import SCREENSHOTS, blank_problems, browser_page
from dbt_harness import OFFERWALL, REPO, Warehouse, baseline_warehouse
from offerwall.presentation import build_deck
from offerwall.presentation.slides import usd

OM = '"dev_marts_offer_management"'
UA = '"dev_marts_user_acquisition"'
AF = '"dev_marts_anti_fraud"'


@pytest.fixture(scope="module")
def deck(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, Path, str]:
    wh, build = baseline_warehouse(tmp_path_factory)
    assert build.success, build.summary()
    out = tmp_path_factory.mktemp("deck") / "presentation" / "index.html"
    build_deck(wh.db, out, repo=REPO, manifest=wh.target / "manifest.json")
    return wh, out, out.read_text()


def _slides(html: str) -> list[str]:
    return re.findall(r'<section id="slide-\d+" data-title="([^"]*)"', html)


def test_deck_is_one_self_contained_file_of_10_to_15_slides(deck) -> None:
    _, _, html = deck
    titles = _slides(html)
    assert 10 <= len(titles) <= 15, titles
    # nothing fetched from elsewhere: no external script, stylesheet, image or font
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html), "the deck loads an external resource"
    assert "url(http" not in html and "@import" not in html
    assert html.count("<svg") >= 5, "charts and the lineage picture are inline SVG"
    for topic in ("business", "Architecture", "Offer Management", "User Acquisition", "Anti-Fraud",
                  "Guarantees", "Performance", "redesign", "next"):  # fmt: skip
        assert any(topic.lower() in t.lower() for t in titles), f"no slide about {topic}: {titles}"


def test_deck_figures_are_the_marts_figures(deck) -> None:
    wh, _, html = deck
    margin = wh.scalar(f"select sum(margin_usd) from {OM}.fct_offer_daily_performance")
    spend = wh.scalar(f"select sum(spend_usd) from {UA}.fct_ua_cohorts")
    queue = wh.scalar(f"select count(*) from {AF}.fct_fraud_review_queue")
    assert margin and spend and queue, (margin, spend, queue)
    assert usd(float(margin)) in html, f"total margin {usd(float(margin))} not in the deck"
    assert usd(float(spend)) in html, f"UA spend {usd(float(spend))} not in the deck"
    assert f"<b>{queue:,}</b> high-tier users" in html
    months = [str(m)[:7] for (m,) in wh.query(
        f"select distinct strftime(completed_date, '%Y-%m') from {OM}.fct_offer_daily_performance order by 1")]  # fmt: skip
    assert all(m in html for m in months), months  # the monthly chart's axis


def test_every_slide_renders_non_blank_in_chromium(deck) -> None:
    _, out, html = deck
    titles = _slides(html)
    shots = SCREENSHOTS / "presentation"
    shots.mkdir(parents=True, exist_ok=True)
    problems = []
    with browser_page() as page:
        for i, title in enumerate(titles, start=1):
            page.goto(f"{out.as_uri()}#{i}")
            page.reload()
            visible = page.locator(f"#slide-{i}")
            assert visible.is_visible(), f"slide {i} ({title}) is not shown at #{i}"
            assert page.locator("section:visible").count() == 1, "more than one slide shown at once"
            png = shots / f"slide-{i:02d}.png"
            page.screenshot(path=str(png))
            problems += blank_problems(png)
        page.keyboard.press("ArrowRight")
        assert page.evaluate("window.currentSlide") == len(titles), "the last slide is the last"
    assert not problems, problems


def test_cli_builds_the_deck_and_names_a_missing_warehouse(deck, tmp_path: Path) -> None:
    wh = deck[0]
    out = tmp_path / "deck.html"
    proc = subprocess.run([OFFERWALL, "presentation", "--duckdb", str(wh.db), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.exists() and len(_slides(out.read_text())) == len(_slides(deck[2]))
    missing = subprocess.run([OFFERWALL, "presentation", "--duckdb", str(tmp_path / "none.duckdb"), "--out", str(out)],
                             cwd=REPO, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert missing.returncode == 1 and "make run" in missing.stderr and "Traceback" not in missing.stderr


def test_context_reads_guarantees_benchmark_and_redesign_from_the_docs(tmp_path: Path) -> None:
    from offerwall.presentation.context import read_context

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guarantees.md").write_text(
        "## The guarantees\n\n| # | Guarantee | Test | What |\n|---|---|---|---|\n"
        "| 1 | Idempotent | `test_x.py` | twice |\n| 2 | History | `test_y.py` | edits |\n\nafter\n"
    )
    (docs / "benchmark.md").write_text("## Latest figures\n\n| scale | full build s |\n|---|---|\n| 1m | 22.9 |\n")
    (docs / "source-redesign.md").write_text(
        "# Redesign\n\n- **edited in place**: bad\n- **one mutable row**: worse\n\n## The design\n\n"
        "### Immutable versions\n\n- **not a problem**: detail\n\n### Event log\n\n## Other\n\n### Not design\n"
    )
    ctx = read_context(tmp_path)
    assert ctx.guarantees == [("Idempotent", "test_x.py"), ("History", "test_y.py")]
    assert ctx.bench_header == ["scale", "full build s"] and ctx.bench_rows == [["1m", "22.9"]]
    assert ctx.bench_source.startswith("docs/benchmark.md")
    assert ctx.redesign_intro == ["edited in place", "one mutable row"]
    assert ctx.redesign == ["Immutable versions", "Event log"]
    empty = read_context(tmp_path / "nothing")
    assert not empty.guarantees and not empty.bench_rows and not empty.redesign and not empty.layers
