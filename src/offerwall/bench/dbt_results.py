"""What a dbt build's run_results.json says: time per node kind, the slowest nodes, the failures."""

from __future__ import annotations

import json
from pathlib import Path


def dbt_node_timings(run_results: Path, top: int = 8) -> list[dict]:
    """The slowest nodes of a dbt run from its run_results.json (execution seconds)."""
    if not run_results.is_file():
        return []
    data = json.loads(run_results.read_text())
    nodes = []
    for result in data.get("results", []):
        nodes.append(
            {
                "node": result.get("unique_id"),
                "status": result.get("status"),
                "seconds": round(float(result.get("execution_time") or 0.0), 3),
            }
        )
    nodes.sort(key=lambda n: n["seconds"], reverse=True)
    return nodes[:top]


def dbt_time_by_kind(run_results: Path) -> dict[str, float]:
    """Execution seconds summed per node kind (model, test, snapshot, seed, unit_test)."""
    if not run_results.is_file():
        return {}
    totals: dict[str, float] = {}
    for result in json.loads(run_results.read_text()).get("results", []):
        kind = str(result.get("unique_id", "?")).split(".")[0]
        totals[kind] = round(totals.get(kind, 0.0) + float(result.get("execution_time") or 0.0), 3)
    return totals


def dbt_failures(run_results: Path) -> list[str]:
    """Each node that errored or failed, as "<unique_id>: <status>"."""
    if not run_results.is_file():
        return []
    return [
        f"{r.get('unique_id')}: {r.get('status')}"
        for r in json.loads(run_results.read_text()).get("results", [])
        if r.get("status") in ("error", "fail")
    ]
