"""The source-system simulator: plays the production OLTP database and its replica into `raw`.

`generate` builds a fresh source system; `advance` moves it forward the way production would.
See docs/source_system.md.
"""

from offerwall.generator.advance_source import advance
from offerwall.generator.new_source import generate

__all__ = ["advance", "generate"]
