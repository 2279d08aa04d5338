"""`offerwall presentation` / `make presentation`: a self-contained HTML slide deck whose figures
and charts are computed from the warehouse's marts at build time.

    figures.py  the numbers, queried from the DuckDB warehouse
    context.py  what the checkout says (manifest, guarantees, benchmark, source redesign)
    charts.py   matplotlib charts as inline SVG
    slides.py   the slides' content
    deck.py     the single HTML file (inline CSS/JS)
"""

from __future__ import annotations

from pathlib import Path

from offerwall.presentation.context import read_context
from offerwall.presentation.deck import render
from offerwall.presentation.figures import read_figures
from offerwall.presentation.slides import build_slides

LINEAGE_SVG = "docs/assets/lineage.svg"


def build_deck(
    duckdb_path: str | Path, out_path: str | Path, repo: str | Path = ".", manifest: str | Path | None = None
) -> Path:
    """Write the deck; `manifest` defaults to <repo>/target/manifest.json."""
    repo = Path(repo)
    figures = read_figures(duckdb_path)
    ctx = read_context(repo, Path(manifest) if manifest else None)
    svg_path = repo / LINEAGE_SVG
    lineage_svg = svg_path.read_text() if svg_path.exists() else None
    slides = build_slides(figures, ctx, lineage_svg)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render("Offerwall warehouse", slides))
    print(f"presentation: {len(slides)} slides -> {out}")
    for i, (title, _) in enumerate(slides, start=1):
        print(f"  {i:2d}. {title}")
    return out
