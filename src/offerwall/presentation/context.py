"""What the deck reads from the checkout besides the warehouse: the project's shape from dbt's
manifest, the guarantees table of docs/guarantees.md, the benchmark figures (a results.json of
`offerwall bench` when present, else the "Latest figures" table of docs/benchmark.md) and the
source-system redesign (docs/source-redesign.md). Missing pieces become an explicit
"not available" line on their slide, never a made-up figure.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

BENCH_RESULTS = ("bench-results/results.json", "target/bench/results.json")


@dataclass
class Context:
    layers: dict[str, int] = field(default_factory=dict)  # models per layer
    resources: dict[str, int] = field(default_factory=dict)  # data tests, unit tests, snapshots, ...
    metrics: list[tuple[str, str]] = field(default_factory=list)  # metric name, label
    guarantees: list[tuple[str, str]] = field(default_factory=list)  # guarantee, test
    pytest_tests: int = 0
    bench_source: str = ""
    bench_header: list[str] = field(default_factory=list)
    bench_rows: list[list[str]] = field(default_factory=list)
    redesign: list[str] = field(default_factory=list)  # headings of the design
    redesign_intro: list[str] = field(default_factory=list)  # the v1 problems, one line each


def read_context(repo: Path, manifest: Path | None = None) -> Context:
    ctx = Context()
    manifest = manifest or repo / "target" / "manifest.json"
    if manifest.exists():
        _manifest(ctx, json.loads(manifest.read_text()))
    guarantees = repo / "docs" / "guarantees.md"
    if guarantees.exists():
        ctx.guarantees = _guarantees(guarantees.read_text())
    tests = repo / "tests" / "python"
    if tests.is_dir():
        ctx.pytest_tests = sum(len(re.findall(r"^def test_", p.read_text(), re.M)) for p in tests.glob("test_*.py"))
    _bench(ctx, repo)
    redesign = repo / "docs" / "source-redesign.md"
    if redesign.exists():
        _redesign(ctx, redesign.read_text())
    return ctx


def _manifest(ctx: Context, manifest: dict) -> None:
    project = manifest["metadata"].get("project_name")
    layers: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for node in manifest["nodes"].values():
        if node.get("package_name") != project:
            continue
        kinds[node["resource_type"]] += 1
        if node["resource_type"] == "model":
            layers[node["original_file_path"].split("/")[1]] += 1
    ctx.layers = dict(sorted(layers.items()))
    ctx.resources = {
        "models": kinds["model"],
        "data tests": kinds["test"],
        "unit tests": len(manifest.get("unit_tests", {})),
        "snapshots": kinds["snapshot"],
        "sources": len(manifest.get("sources", {})),
        "exposures": len(manifest.get("exposures", {})),
        "metrics": len(manifest.get("metrics", {})),
    }
    ctx.metrics = sorted((m["name"], m.get("label") or m["name"]) for m in manifest.get("metrics", {}).values())


def _table(text: str, after: str) -> list[list[str]]:
    """Rows (cells stripped) of the first markdown table after the line starting with `after`."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(after)), None)
    if start is None:
        return []
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not set("".join(cells)) <= set("-: "):
                rows.append(cells)
        elif rows:
            break
    return rows


def _guarantees(text: str) -> list[tuple[str, str]]:
    rows = _table(text, "## The guarantees")
    return [(r[1], r[2].strip("`")) for r in rows[1:] if len(r) >= 3]


def _bench(ctx: Context, repo: Path) -> None:
    for rel in BENCH_RESULTS:
        path = repo / rel
        if path.exists():
            from offerwall.bench.report import format_table

            table = format_table(json.loads(path.read_text())["scales"]).splitlines()
            ctx.bench_source = rel
            ctx.bench_header = table[0].split()
            ctx.bench_rows = [line.split() for line in table[2:]]
            return
    doc = repo / "docs" / "benchmark.md"
    if doc.exists():
        rows = _table(doc.read_text(), "## Latest figures")
        if rows:
            ctx.bench_source = "docs/benchmark.md (Latest figures)"
            ctx.bench_header, ctx.bench_rows = rows[0], rows[1:]


def _redesign(ctx: Context, text: str) -> None:
    """The bold lead of each bullet before the first section (the v1 problems), and the headings
    of the first section that has subsections (the design)."""
    sections = re.split(r"^## ", text, flags=re.M)
    ctx.redesign_intro = re.findall(r"^- \*\*(.+?)\*\*", sections[0], re.M)[:4]
    for section in sections[1:]:
        headings = re.findall(r"^### (.+)$", section, re.M)
        if headings:
            ctx.redesign = [h.strip() for h in headings][:6]
            break
