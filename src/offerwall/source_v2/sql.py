"""SQL snippets shared by the v2 emitters: seeded randomness, time conversion, the run's clock.

Randomness is a pure function of (seed, salt, keys) through DuckDB's `hash`, so the same seed
and the same v1 rows give the same v2 rows. The emitters read three DuckDB variables set per run:
`v2_seed`, `v2_clock` (the simulation clock, the latest ingestion time possible) and `v2_floor`
(the previous clock: everything emitted in this run is ingested after it).
"""

from __future__ import annotations

from offerwall.source_v2.contract import RAW_V2_SCHEMA, SCHEMA_VERSION

__all__ = ["RAW_V2_SCHEMA", "SCHEMA_VERSION", "ts", "u", "pick", "lag_us", "ingested"]


def ts(micros: str) -> str:
    """int64 microseconds (the simulator's time axis) -> TIMESTAMP."""
    return f"make_timestamp({micros})"


def _hash(salt: str, *keys: str) -> str:
    return f"hash(getvariable('v2_seed'), '{salt}', {', '.join(keys)})"


def u(salt: str, *keys: str) -> str:
    """Uniform [0, 1) from (seed, salt, keys)."""
    return f"(({_hash(salt, *keys)} % 1000003) / 1000003.0)"


def pick(salt: str, choices: list[str], *keys: str) -> str:
    """One of `choices` (SQL string literals), uniformly, from (seed, salt, keys)."""
    items = ", ".join(f"'{c}'" for c in choices)
    return f"[{items}][1 + cast({_hash(salt, *keys)} % {len(choices)} as integer)]"


def lag_us(salt: str, *keys: str) -> str:
    """An outbox relay's delivery lag: 1 s to about 2 minutes, in microseconds."""
    return f"cast(1000000 + {u(salt, *keys)} * 120000000 as bigint)"


def ingested(event_time: str, salt: str, *keys: str) -> str:
    """Ingestion time of an event: event time plus the relay lag, inside (v2_floor, v2_clock]."""
    natural = f"{event_time} + to_microseconds({lag_us(salt, *keys)})"
    floor = "getvariable('v2_floor') + interval 1 microsecond"
    return f"least(greatest({natural}, {floor}), getvariable('v2_clock'))"
