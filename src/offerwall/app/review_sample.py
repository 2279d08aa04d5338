"""Close the review loop on generated data: decide a sample of the review queue (spread evenly over it) the way a
perfect reviewer would (the generator's labels.fraud_users: labelled -> confirmed_fraud, else
cleared), write the decisions through the app's store, rebuild the review-loop models and print
fct_fraud_review_outcomes. A demonstration and a check of the loop, not part of the app.

    python -m offerwall.app.review_sample --duckdb warehouse.duckdb --sample 200
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from . import data, decisions, identity


def decide_sample(warehouse: Path, ops: Path, sample: int, schema: str = "dev",
                  reviewer: str = "label-oracle") -> dict[str, int]:
    wh = data.DuckDBWarehouse(warehouse, schema)
    queue = data.review_queue(wh, limit=1_000_000).frame
    if sample < len(queue):  # spread over the whole queue, not just its head
        step = len(queue) / sample
        queue = queue.iloc[[int(i * step) for i in range(sample)]]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        labelled = {u for (u,) in con.execute("select user_id from labels.fraud_users").fetchall()}
    finally:
        con.close()
    store = decisions.DuckDBDecisionStore(ops)
    counts = {"confirmed_fraud": 0, "cleared": 0}
    # reviewers work at the data's "now" (the generator's clock), one decision a minute
    start = data.freshness(wh).as_of or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    for i, row in enumerate(queue.itertuples()):
        verdict = "confirmed_fraud" if row.user_id in labelled else "cleared"
        store.save(decisions.make_decision(
            user_id=row.user_id, decision=verdict, reviewer=identity.service(reviewer),
            note="decided by the generator's label",
            risk_score=row.risk_score, decided_at=start + dt.timedelta(minutes=i)))
        counts[verdict] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duckdb", default=os.environ.get("DUCKDB_PATH", "warehouse.duckdb"))
    parser.add_argument("--ops", default=None, help="ops store (default: ops.duckdb beside the warehouse)")
    parser.add_argument("--sample", type=int, default=200, help="queue users to decide, in review order")
    parser.add_argument("--no-build", action="store_true", help="only write the decisions")
    args = parser.parse_args(argv)
    warehouse = Path(args.duckdb)
    ops = Path(args.ops) if args.ops else warehouse.parent / "ops.duckdb"
    counts = decide_sample(warehouse, ops, args.sample)
    print(f"decided {sum(counts.values())} queue users into {ops}: {counts}")
    if args.no_build:
        return 0
    dbt = str(Path(sys.executable).parent / "dbt")
    env = {**os.environ, "DUCKDB_PATH": str(warehouse), "OPS_DUCKDB_PATH": str(ops)}
    subprocess.run([dbt, "build", "-q", "--select", "stg_ops__fraud_review_decisions+",
                    "--exclude-resource-type", "unit_test"], env=env, check=True)
    frame = data.review_outcomes(data.DuckDBWarehouse(warehouse, env.get("DBT_SCHEMA", "dev"))).frame
    print(frame.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
