"""The source-system simulator: plays the production OLTP database and its replica into `raw`.

`generate` builds a fresh source system; `advance` moves it forward the way production would.
See docs/source_system.md.
"""

from offerwall.generator.sim import advance, generate

__all__ = ["advance", "generate"]
