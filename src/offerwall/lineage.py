"""The warehouse's lineage in one picture, drawn from dbt's manifest (never by hand).

`offerwall lineage` reads target/manifest.json (`dbt parse` writes it) and groups its nodes:
the raw sources, snapshots and seeds, staging as one box, intermediate per area, each mart
model on its own (grouped by team folder), the exposures and the metrics layer. Edges are the
manifest's dependencies between groups. It writes:

- a Mermaid flowchart between the markers of docs/architecture.md (GitHub renders it);
- docs/assets/lineage.svg (matplotlib), which the docs site's overview shows (asset-paths).

`--check` writes nothing and exits 1 when either file is not what the manifest gives
(tests/python/test_catalog.py runs it).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from offerwall import OfferwallError

BEGIN, END = "<!-- lineage:begin (offerwall lineage writes this block) -->", "<!-- lineage:end -->"
STAGES = ("sources", "staging", "history + intermediate", "core marts", "team marts", "consumers")


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    stage: str  # one of STAGES: the picture's column
    team: str = ""  # mart folder (core, offer_management, ...)


def _group(node: dict) -> Group | None:
    kind = node["resource_type"]
    if kind == "source":
        return Group("raw", f"raw ({node['source_name']})", "sources")
    if kind == "snapshot":
        return Group("snapshots", "snapshots", "history + intermediate")
    if kind == "seed":
        return Group("seeds", "seeds", "sources")
    if kind == "exposure":
        return Group(f"exp_{node['name']}", node.get("label") or node["name"], "consumers")
    if kind in ("semantic_model", "metric"):
        return Group("metrics", "metrics layer (MetricFlow)", "consumers")
    if kind != "model":
        return None
    parts = node["original_file_path"].split("/")  # models/<layer>/<folder>/...
    layer = parts[1]
    if layer == "staging":
        return Group("staging", "staging + quarantine", "staging")
    if layer == "intermediate":
        area = parts[2] if len(parts) > 3 else "intermediate"
        return Group(f"int_{area}", f"intermediate/{area}", "history + intermediate")
    if layer == "marts":
        team = parts[2] if len(parts) > 3 else "marts"
        return Group(node["name"], node["name"], "core marts" if team == "core" else "team marts", team)
    return Group(layer, layer, "history + intermediate")


def graph(manifest: dict) -> tuple[list[Group], list[tuple[str, str]]]:
    """Groups (sorted by stage, team, key) and the edges between them (sorted)."""
    nodes = {}
    for section in ("nodes", "sources", "exposures", "metrics", "semantic_models"):
        for uid, node in manifest.get(section, {}).items():
            if node.get("package_name") == manifest["metadata"].get("project_name", node.get("package_name")):
                group = _group(node)
                if group:
                    nodes[uid] = group
    edges = set()
    for section in ("nodes", "exposures", "metrics", "semantic_models"):
        for uid, node in manifest.get(section, {}).items():
            if uid not in nodes:
                continue
            for parent in node.get("depends_on", {}).get("nodes", []):
                if parent in nodes and nodes[parent].key != nodes[uid].key:
                    edges.add((nodes[parent].key, nodes[uid].key))
    groups = sorted(set(nodes.values()), key=lambda g: (STAGES.index(g.stage), g.team, g.key, g.label))
    used = {k for e in edges for k in e}
    return [g for g in groups if g.key in used], sorted(edges)


def mermaid(groups: list[Group], edges: list[tuple[str, str]]) -> str:
    lines = ["```mermaid", "flowchart LR"]
    by_team: dict[str, list[Group]] = defaultdict(list)
    for g in groups:
        if g.stage.endswith("marts"):
            by_team[g.team].append(g)
        else:
            lines.append(f'    {g.key}["{g.label}"]')
    for team, members in by_team.items():
        lines.append(f"    subgraph marts_{team}[marts/{team}]")
        lines += [f'        {g.key}["{g.label}"]' for g in members]
        lines.append("    end")
    lines += [f"    {a} --> {b}" for a, b in edges]
    lines.append("```")
    return "\n".join(lines) + "\n"


def svg(groups: list[Group], edges: list[tuple[str, str]]) -> str:
    from offerwall.presentation.charts import pyplot, to_svg

    plt = pyplot()

    columns = {s: [g for g in groups if g.stage == s] for s in STAGES}
    height = max(len(c) for c in columns.values())
    pos = {}
    for x, stage in enumerate(STAGES):
        members = columns[stage]
        for i, g in enumerate(members):
            pos[g.key] = (x * 2.9, height - (i + 0.5) * height / max(len(members), 1))
    fig, ax = plt.subplots(figsize=(16, max(4, height * 0.5)))
    for a, b in edges:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        ax.annotate("", (x1 - 1.15, y1), (x0 + 1.15, y0),
                    arrowprops={"arrowstyle": "->", "color": "#9ca3af", "lw": 0.7})  # fmt: skip
    colors = dict(zip(STAGES, ("#e5e7eb", "#dbeafe", "#e0e7ff", "#d1fae5", "#a7f3d0", "#fef3c7")))
    for g in groups:
        x, y = pos[g.key]
        ax.text(x, y, g.label, ha="center", va="center", fontsize=8,
                bbox={"boxstyle": "round,pad=0.3", "fc": colors[g.stage], "ec": "#6b7280", "lw": 0.6})  # fmt: skip
    for x, stage in enumerate(STAGES):
        ax.text(x * 2.9, height + 0.4, stage, ha="center", fontsize=10, fontweight="bold")
    ax.set_xlim(-1.6, (len(STAGES) - 1) * 2.9 + 1.6)
    ax.set_ylim(-0.2, height + 0.8)
    ax.axis("off")
    return to_svg(fig)


def _with_block(markdown: str, block: str) -> str:
    if BEGIN not in markdown or END not in markdown:
        raise OfferwallError(f"the markdown file has no lineage markers ({BEGIN} ... {END})")
    head, rest = markdown.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{block}{END}{tail}"


def lineage(manifest_path: str | Path, markdown_path: str | Path, svg_path: str | Path, check: bool = False) -> int:
    manifest_path, markdown_path, svg_path = Path(manifest_path), Path(markdown_path), Path(svg_path)
    if not manifest_path.exists():
        raise OfferwallError(f"no manifest at {manifest_path}: run `dbt parse` first")
    groups, edges = graph(json.loads(manifest_path.read_text()))
    if not edges:
        raise OfferwallError(f"{manifest_path} holds no dependencies between the project's models")
    wanted_md = _with_block(markdown_path.read_text(), mermaid(groups, edges))
    wanted_svg = svg(groups, edges)
    stale = [p for p, text in ((markdown_path, wanted_md), (svg_path, wanted_svg))
             if not p.exists() or p.read_text() != text]  # fmt: skip
    if check:
        for p in stale:
            print(f"{p} is not current: run `offerwall lineage` (make lineage)")
        return 1 if stale else 0
    markdown_path.write_text(wanted_md)
    svg_path.parent.mkdir(parents=True, exist_ok=True)
    svg_path.write_text(wanted_svg)
    print(f"lineage: {len(groups)} boxes, {len(edges)} edges -> {markdown_path}, {svg_path}")
    return 0
