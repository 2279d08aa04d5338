"""The v2 source tables' contract in code (docs/source-redesign.md): names, columns, types, BigQuery layout.

Schema `raw_v2` (BigQuery dataset `raw_v2`). Versions are immutable and effective-dated (a change
is a new row); the event log is append-only with an idempotency key, the event time and the
ingestion time. `users` and `ua_spend_daily` keep their v1 shape.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from offerwall import OfferwallError
from offerwall.raw_io import RAW_TABLES, write_parquet

RAW_V2_SCHEMA = "raw_v2"
SCHEMA_VERSION = 1  # of the event payload and the version rows; see "Schema evolution" in the doc

# event types of user_offer_events and the status a completion has after each (None: not a completion event)
EVENT_TYPES: dict[str, str | None] = {
    "offer_impression": None,
    "offer_started": None,
    "task_completed": "pending",
    "credited": "credited",
    "reversed": "reversed",
    "rejected": "rejected",
}

# table -> [(column, duckdb type, bigquery type)]
V2_TABLES: dict[str, list[tuple[str, str, str]]] = {
    "offer_versions": [
        ("offer_version_id", "BIGINT", "INT64"),
        ("offer_id", "BIGINT", "INT64"),
        ("version_number", "INTEGER", "INT64"),
        ("name", "VARCHAR", "STRING"),
        ("advertiser", "VARCHAR", "STRING"),
        ("provider", "VARCHAR", "STRING"),
        ("category", "VARCHAR", "STRING"),
        ("platforms", "VARCHAR", "STRING"),
        ("countries", "VARCHAR", "STRING"),
        ("status", "VARCHAR", "STRING"),
        ("valid_from", "TIMESTAMP", "TIMESTAMP"),
        ("created_at", "TIMESTAMP", "TIMESTAMP"),
        ("schema_version", "INTEGER", "INT64"),
        ("_ingested_at", "TIMESTAMP", "TIMESTAMP"),
    ],
    "offer_task_versions": [
        ("offer_task_version_id", "BIGINT", "INT64"),
        ("offer_task_id", "BIGINT", "INT64"),
        ("offer_id", "BIGINT", "INT64"),
        ("version_number", "INTEGER", "INT64"),
        ("position", "INTEGER", "INT64"),
        ("title", "VARCHAR", "STRING"),
        ("task_type", "VARCHAR", "STRING"),
        ("reward_coins", "BIGINT", "INT64"),
        ("payout_cents", "BIGINT", "INT64"),
        ("status", "VARCHAR", "STRING"),
        ("valid_from", "TIMESTAMP", "TIMESTAMP"),
        ("created_at", "TIMESTAMP", "TIMESTAMP"),
        ("schema_version", "INTEGER", "INT64"),
        ("_ingested_at", "TIMESTAMP", "TIMESTAMP"),
    ],
    "user_offer_events": [
        # envelope
        ("idempotency_key", "VARCHAR", "STRING"),
        ("event_type", "VARCHAR", "STRING"),
        ("schema_version", "INTEGER", "INT64"),
        ("event_time", "TIMESTAMP", "TIMESTAMP"),
        ("ingested_at", "TIMESTAMP", "TIMESTAMP"),
        # who and what
        ("user_id", "VARCHAR", "STRING"),
        ("offer_id", "BIGINT", "INT64"),
        ("offer_version_id", "BIGINT", "INT64"),
        ("user_offer_id", "VARCHAR", "STRING"),
        ("impression_id", "VARCHAR", "STRING"),
        ("completion_id", "BIGINT", "INT64"),
        ("offer_task_id", "BIGINT", "INT64"),
        ("offer_task_version_id", "BIGINT", "INT64"),
        # completion payload (task_completed / credited / reversed / rejected)
        ("reward_coins", "BIGINT", "INT64"),
        ("payout_cents", "BIGINT", "INT64"),
        ("started_at", "TIMESTAMP", "TIMESTAMP"),
        ("completed_at", "TIMESTAMP", "TIMESTAMP"),
        ("country", "VARCHAR", "STRING"),
        ("device_platform", "VARCHAR", "STRING"),
        ("ip_hash", "VARCHAR", "STRING"),
        ("device_hash", "VARCHAR", "STRING"),
        ("reason", "VARCHAR", "STRING"),
        # personalised display (offer_impression)
        ("placement", "VARCHAR", "STRING"),
        ("position", "INTEGER", "INT64"),
        ("shown_reward_coins", "BIGINT", "INT64"),
        ("base_reward_coins", "BIGINT", "INT64"),
        ("experiment_id", "VARCHAR", "STRING"),
        ("variant_id", "VARCHAR", "STRING"),
    ],
    # unchanged from v1: the same contract
    "users": RAW_TABLES["users"],
    "ua_spend_daily": RAW_TABLES["ua_spend_daily"],
}

# BigQuery layout of the append-only tables: (partition column by day, clustering columns)
BIGQUERY_LAYOUT: dict[str, tuple[str, list[str]]] = {
    "user_offer_events": ("ingested_at", ["event_type", "user_id", "offer_id"]),
    "offer_task_versions": ("_ingested_at", ["offer_task_id"]),
    "offer_versions": ("_ingested_at", ["offer_id"]),
}


def create_table_ddl(table: str) -> str:
    cols = ",\n    ".join(f'"{name}" {dtype}' for name, dtype, _ in V2_TABLES[table])
    return f"create table if not exists {RAW_V2_SCHEMA}.{table} (\n    {cols}\n)"


def export_v2_parquet(duckdb_path: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Write every raw_v2 table of a DuckDB file to ``<out_dir>/<table>.parquet``; {} when there is no raw_v2."""
    db = Path(duckdb_path)
    if not db.exists():
        raise OfferwallError(f"DuckDB file not found: {db}")
    out = Path(out_dir)
    with duckdb.connect(str(db), read_only=True) as con:
        present = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [RAW_V2_SCHEMA]
        ).fetchall()}
        if not present:
            return {}
        missing = [t for t in V2_TABLES if t not in present]
        if missing:
            raise OfferwallError(f"{db} has a partial {RAW_V2_SCHEMA} (no {', '.join(missing)}): "
                                 "run `offerwall generate --source-model v2` again")
        out.mkdir(parents=True, exist_ok=True)
        paths = write_parquet(con, RAW_V2_SCHEMA, V2_TABLES, out)
    return paths
