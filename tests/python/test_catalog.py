"""The catalog explains itself (issue 15):

- the docs site's front page (models/_overview__docs.md) is what docs/overview.md.jinja gives
  with the current vars, so the thresholds it shows are the ones in force, and it follows a change;
- the lineage picture of docs/architecture.md and docs/assets/lineage.svg is what the current
  manifest gives (`offerwall lineage --check`);
- `dbt docs serve` (what `make docs` runs) serves a site that opens on the overview, with the
  lineage picture loaded, in headless chromium (screenshot: target/screenshots/docs-overview.png).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from browser import SCREENSHOTS, blank_problems, browser_page
from dbt_harness import REPO, Warehouse, baseline_warehouse, copy_project
from offerwall.catalog import OUTPUT, overview, render_overview
from offerwall.lineage import graph, lineage

DBT = str(Path(sys.executable).parent / "dbt")


def test_overview_is_current_and_shows_the_vars_in_force() -> None:
    assert overview(REPO, check=True) == 0, "models/_overview__docs.md is stale: run `offerwall overview`"
    text = (REPO / OUTPUT).read_text()
    values = yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]
    assert "var(" not in text and "{{" not in text, "an unrendered var() is left on the front page"
    assert text.count("{% docs __overview__ %}") == 1 and "{% enddocs %}" in text
    expected = [
        f"| users per device | {values['anti_fraud_device_users_low']} | {values['anti_fraud_device_users_high']} | {values['anti_fraud_weight_device']} |",
        f"from a score of {values['anti_fraud_high_tier_min_score']}",
        f"({values['coins_per_usd']} coins = 1 USD)",
    ]
    missing = [e for e in expected if e not in text]
    assert not missing, missing
    for metric in ("revenue_usd", "reward_cost_usd", "margin_usd", "credited_completions", "chargeback_rate",
                   "ua_spend_usd", "roas_to_date"):  # fmt: skip
        assert f"| `{metric}` |" in text, f"{metric} missing from the glossary"


def test_overview_follows_a_threshold_change(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    shutil.copy2(REPO / "docs" / "overview.md.jinja", repo / "docs" / "overview.md.jinja")
    project = (REPO / "dbt_project.yml").read_text()
    old = yaml.safe_load(project)["vars"]["anti_fraud_high_tier_min_score"]
    (repo / "dbt_project.yml").write_text(
        project.replace(f"anti_fraud_high_tier_min_score: {old}", f"anti_fraud_high_tier_min_score: {old + 7}")
    )
    text = render_overview(repo)
    assert f"from a score of {old + 7}" in text and f"from a score of {old}," not in text


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, Path]:
    base, build = baseline_warehouse(tmp_path_factory)
    assert build.success, build.summary()
    tmp = tmp_path_factory.mktemp("catalog")
    project = copy_project(tmp / "project")
    shutil.copytree(REPO / "docs" / "assets", project / "docs" / "assets")  # asset-paths
    wh = base.copy_to(tmp / "wh", project_dir=project)
    res = wh.dbt("docs", "generate")
    assert res.success, res.summary()
    return wh, project


def test_lineage_picture_is_current(docs_site) -> None:
    wh, _ = docs_site
    manifest = wh.target / "manifest.json"
    rc = lineage(manifest, REPO / "docs" / "architecture.md", REPO / "docs" / "assets" / "lineage.svg", check=True)
    assert rc == 0, "docs/architecture.md or docs/assets/lineage.svg is stale: run `make lineage`"
    groups, edges = graph(wh.manifest())
    keys = {g.key for g in groups}
    for name in ("fct_task_completions", "fct_offer_daily_performance", "fct_ua_cohorts", "fct_fraud_review_queue",
                 "staging", "metrics"):  # fmt: skip
        assert name in keys, f"{name} missing from the lineage picture"
    assert ("fct_user_fraud_signals", "fct_fraud_review_queue") in edges


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_docs_site_opens_on_the_overview(docs_site) -> None:
    wh, project = docs_site
    assert (wh.target / "docs" / "assets" / "lineage.svg").exists(), "asset-paths did not copy the lineage picture"
    port = _free_port()
    server = subprocess.Popen(
        [DBT, "docs", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-browser",
         "--project-dir", str(project), "--profiles-dir", str(project), "--target-path", str(wh.target)],
        cwd=wh.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, f"dbt docs serve exited: {server.stdout.read() if server.stdout else ''}"
            time.sleep(0.5)
        else:
            pytest.fail("dbt docs serve did not listen within 60 s")
        with browser_page(1400, 1000) as page:
            page.goto(f"http://127.0.0.1:{port}/", wait_until="networkidle")
            page.get_by_text("Entry points per team").wait_for(timeout=30_000)
            body = page.inner_text("body")
            assert "Welcome!" not in body, "the site still opens on dbt's default page"
            for text in ("Offerwall warehouse", "Glossary of metrics", "Fraud thresholds", "How to ask for a change",
                         "fct_fraud_review_queue", "roas_to_date"):  # fmt: skip
                assert text in body, f"{text!r} not on the front page"
            loaded = page.evaluate(
                "Array.from(document.images).filter(i => i.src.includes('lineage.svg')).map(i => i.naturalWidth)"
            )
            assert loaded and all(w > 0 for w in loaded), f"lineage picture not loaded: {loaded}"
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            png = SCREENSHOTS / "docs-overview.png"
            page.screenshot(path=str(png), full_page=False)
            assert not blank_problems(png), blank_problems(png)
    finally:
        server.terminate()
        server.wait(timeout=30)
