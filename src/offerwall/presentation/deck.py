"""The deck's single HTML file: inline CSS and a few lines of JS (arrow keys, #<n> in the URL
picks the slide, `?all` shows every slide one below the other for printing)."""

from __future__ import annotations

from html import escape

CSS = """
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; background: #f3f4f6; color: #1f2937; }
section { display: none; width: 100vw; height: 100vh; padding: 3.5vh 5vw; background: #fff; overflow: hidden; position: relative; }
section.active, body.all section { display: block; }
body.all section { height: auto; min-height: 100vh; border-bottom: 2px solid #e5e7eb; }
h2 { margin: 0 0 1.6vh; font-size: 2.1rem; color: #111827; border-bottom: 4px solid #2563eb; display: inline-block; }
h3 { margin: 1.4vh 0 0.6vh; font-size: 1.1rem; color: #374151; }
p, li { font-size: 1.05rem; line-height: 1.45; }
.lead { font-size: 1.6rem; color: #2563eb; }
.muted { color: #6b7280; font-size: 0.9rem; }
.kpis { display: flex; gap: 1.2vw; flex-wrap: wrap; margin: 1.5vh 0; }
.kpi { background: #eff6ff; border-radius: 10px; padding: 1.2vh 1.4vw; min-width: 11vw; }
.kpi b { display: block; font-size: 1.7rem; color: #1d4ed8; }
.kpi span { color: #4b5563; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 1vh 0; font-size: 0.95rem; }
table.small { font-size: 0.78rem; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 0.35em 0.7em; text-align: left; vertical-align: top; }
th { background: #f9fafb; }
.row { display: flex; gap: 2vw; align-items: flex-start; }
.row svg { max-width: 48vw; height: auto; }
.lineage svg { width: 100%; height: auto; max-height: 62vh; }
svg { max-width: 100%; height: auto; }
pre { background: #111827; color: #e5e7eb; padding: 1vh 1vw; border-radius: 8px; }
footer { position: absolute; bottom: 1.5vh; right: 2vw; color: #9ca3af; font-size: 0.8rem; }
"""

JS = """
(function () {
  var slides = document.querySelectorAll('section');
  if (location.search.indexOf('all') >= 0) { document.body.classList.add('all'); return; }
  function show(n) {
    n = Math.max(1, Math.min(slides.length, n || 1));
    slides.forEach(function (s, i) { s.classList.toggle('active', i === n - 1); });
    if (location.hash !== '#' + n) history.replaceState(null, '', '#' + n);
    window.currentSlide = n;
  }
  function fromHash() { show(parseInt(location.hash.slice(1), 10)); }
  document.addEventListener('keydown', function (e) {
    if (['ArrowRight', 'PageDown', ' '].indexOf(e.key) >= 0) show(window.currentSlide + 1);
    if (['ArrowLeft', 'PageUp'].indexOf(e.key) >= 0) show(window.currentSlide - 1);
  });
  document.addEventListener('click', function (e) { if (e.target.tagName !== 'A') show(window.currentSlide + 1); });
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();
"""


def render(title: str, slides: list[tuple[str, str]]) -> str:
    sections = "\n".join(
        f'<section id="slide-{i}" data-title="{escape(t)}"><h2>{escape(t)}</h2>{body}'
        f"<footer>{i} / {len(slides)}</footer></section>"
        for i, (t, body) in enumerate(slides, start=1)
    )
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body>\n{sections}\n<script>{JS}</script></body></html>\n"
    )
