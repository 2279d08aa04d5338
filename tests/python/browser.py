"""Headless chromium for the tests that look at a page (the slide deck, the docs site): Debian's
chromium (`make chromium` installs it) driven by playwright, and a check that a screenshot is not
blank. Screenshots go under the repository's target/screenshots/ so a run leaves them to look at.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from dbt_harness import REPO

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = REPO / "target" / "screenshots"


@contextlib.contextmanager
def browser_page(width: int = 1280, height: int = 720) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"no chromium at {CHROMIUM}: run `make chromium`"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


def blank_problems(png: Path) -> list[str]:
    """Why a screenshot looks blank (empty list: it does not): almost one colour, or almost all
    background."""
    with Image.open(png) as img:
        gray = img.convert("L")
        hist = gray.histogram()
    total = sum(hist)
    background = max(hist)
    colours = sum(1 for n in hist if n)
    problems = []
    if colours < 16:
        problems.append(f"{png.name}: only {colours} grey levels")
    if (total - background) / total < 0.02:
        problems.append(f"{png.name}: {100 * (total - background) / total:.2f}% of pixels differ from the background")
    return problems
