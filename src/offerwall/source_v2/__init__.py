"""Source system v2: versioned offers and tasks and an append-only user-offer event log (schema raw_v2).

`emit_v2` derives the v2 tables of the same simulated world from what the v1 generator wrote
(raw.*, the simulator's memory in sim.*, labels.bad_rows). See docs/source-redesign.md.
"""

from offerwall.source_v2.contract import RAW_V2_SCHEMA, V2_TABLES, export_v2_parquet
from offerwall.source_v2.emit import drop_v2, emit_v2, has_v2

__all__ = ["RAW_V2_SCHEMA", "V2_TABLES", "drop_v2", "emit_v2", "export_v2_parquet", "has_v2"]
