"""Page load time of the web app (issue 12; a benchmark figure, not a timed test).

Starts the app (`streamlit run`, like `make app`) on a built warehouse and loads every page in
headless Debian chromium (playwright), N times each: the time from navigation until the page's
title and first table are on screen and Streamlit's "running" indicator is gone. The first load
of a page (cold: new connection, nothing cached by the data layer) is reported apart from the
median of the following ones. Also times each page's data-access calls alone.

    .venv/bin/offerwall generate --users 60000 --days 120 --seed 42 --bad-rate 0.01 \\
        --fraud-rate 0.03 --duckdb /tmp/bench/warehouse.duckdb
    DUCKDB_PATH=/tmp/bench/warehouse.duckdb .venv/bin/dbt build --exclude-resource-type unit_test
    .venv/bin/python benchmarks/app_page_load.py --duckdb /tmp/bench/warehouse.duckdb --runs 5
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = [("", "Anti-Fraud review", "anti_fraud"), ("offer_management", "Offer Management", "offer_management"),
         ("user_acquisition", "User Acquisition", "user_acquisition"), ("alerts", "Alerts", "alerts")]


def data_layer_seconds(duckdb_path: str) -> dict[str, float]:
    sys.path.insert(0, str(REPO / "src"))
    from offerwall.app import data

    def page_calls(name: str, w) -> None:
        data.freshness(w)
        if name == "anti_fraud":
            queue = data.review_queue(w, limit=200).frame
            data.fraud_types(w)
            user = queue["user_id"].iloc[0]
            data.user_signals(w, user), data.queue_entry(w, user), data.linked_accounts(w, user)
            data.completion_timeline(w, user), data.review_outcomes(w)
        elif name == "offer_management":
            monitor = data.margin_monitor(w, ["negative", "thin"]).frame
            if len(monitor):
                data.offer_daily(w, monitor["offer_id"].iloc[0])
            data.price_changes(w), data.funnel_drop_offs(w), data.reward_recommendations(w)
        elif name == "user_acquisition":
            data.ua_dimensions(w), data.cohort_roas_weekly(w), data.ltv_accuracy(w)
            data.ltv_forecast(w, "all"), data.max_cac(w)
        else:
            data.anomalies(w)

    out = {}
    for _, _, name in PAGES:
        w = data.DuckDBWarehouse(duckdb_path, os.environ.get("DBT_SCHEMA", "dev"))
        start = time.perf_counter()
        page_calls(name, w)
        out[name] = time.perf_counter() - start
    return out


def browser_seconds(duckdb_path: str, runs: int, chromium: str) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"OFFERWALL_APP_USER": "bench@localhost",  # a local user (no role map: reads every page)
           **os.environ, "DUCKDB_PATH": duckdb_path,
           "OPS_DUCKDB_PATH": str(Path(tempfile.mkdtemp()) / "ops.duckdb")}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "streamlit"), "run", str(REPO / "src/offerwall/app/streamlit_app.py"),
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times: dict[str, list[float]] = {name: [] for _, _, name in PAGES}
    try:
        for _ in range(120):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
            for _ in range(runs):
                for path, title, name in PAGES:
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    start = time.perf_counter()
                    page.goto(f"http://127.0.0.1:{port}/{path}")
                    page.get_by_role("heading", name=title).wait_for(timeout=300_000)
                    page.wait_for_selector('[data-testid="stDataFrame"]', timeout=300_000)
                    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=300_000)
                    times[name].append(time.perf_counter() - start)
                    page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duckdb", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", default=str(REPO / "target" / "app_page_load.json"))
    args = parser.parse_args()
    import duckdb

    con = duckdb.connect(args.duckdb, read_only=True)
    rows = con.execute("select count(*) from raw.user_offers").fetchone()[0]
    con.close()
    layer = data_layer_seconds(args.duckdb)
    browser = browser_seconds(args.duckdb, args.runs, args.chromium)
    result = {"user_offers_rows": rows, "runs": args.runs, "data_layer_s": layer, "browser_s": browser}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"warehouse: {rows:,} raw.user_offers rows; {args.runs} loads per page")
    print("| page | data layer (cold) s | browser first load s | browser median of the rest s |")
    print("|---|---|---|---|")
    for _, _, name in PAGES:
        t = browser[name]
        rest = statistics.median(t[1:]) if len(t) > 1 else float("nan")
        print(f"| {name} | {layer[name]:.2f} | {t[0]:.2f} | {rest:.2f} |")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
