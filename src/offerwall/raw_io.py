"""The raw tables' contract in code (docs/source_system.md, "The contract") and their Parquet export.

One place that knows every raw table, its columns and their types on both engines, so the
generator, the BigQuery loader and the tests agree.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from offerwall import OfferwallError

RAW_SCHEMA = "raw"
LABELS_SCHEMA = "labels"

# table -> [(column, duckdb type, bigquery type)], in contract order.
RAW_TABLES: dict[str, list[tuple[str, str, str]]] = {
    "offers": [
        ("id", "BIGINT", "INT64"),
        ("name", "VARCHAR", "STRING"),
        ("advertiser", "VARCHAR", "STRING"),
        ("provider", "VARCHAR", "STRING"),
        ("category", "VARCHAR", "STRING"),
        ("platforms", "VARCHAR", "STRING"),
        ("countries", "VARCHAR", "STRING"),
        ("status", "VARCHAR", "STRING"),
        ("created_at", "TIMESTAMP", "TIMESTAMP"),
        ("updated_at", "TIMESTAMP", "TIMESTAMP"),
        ("_loaded_at", "TIMESTAMP", "TIMESTAMP"),
    ],
    "offer_tasks": [
        ("id", "BIGINT", "INT64"),
        ("offer_id", "BIGINT", "INT64"),
        ("position", "INTEGER", "INT64"),
        ("title", "VARCHAR", "STRING"),
        ("task_type", "VARCHAR", "STRING"),
        ("reward_coins", "BIGINT", "INT64"),
        ("payout_cents", "BIGINT", "INT64"),
        ("status", "VARCHAR", "STRING"),
        ("created_at", "TIMESTAMP", "TIMESTAMP"),
        ("updated_at", "TIMESTAMP", "TIMESTAMP"),
        ("_loaded_at", "TIMESTAMP", "TIMESTAMP"),
    ],
    "user_offers": [
        ("id", "BIGINT", "INT64"),
        ("user_id", "VARCHAR", "STRING"),
        ("offer_id", "BIGINT", "INT64"),
        ("offer_task_id", "BIGINT", "INT64"),
        ("status", "VARCHAR", "STRING"),
        ("reward_coins", "BIGINT", "INT64"),
        ("payout_cents", "BIGINT", "INT64"),
        ("started_at", "TIMESTAMP", "TIMESTAMP"),
        ("completed_at", "TIMESTAMP", "TIMESTAMP"),
        ("updated_at", "TIMESTAMP", "TIMESTAMP"),
        ("country", "VARCHAR", "STRING"),
        ("device_platform", "VARCHAR", "STRING"),
        ("ip_hash", "VARCHAR", "STRING"),
        ("device_hash", "VARCHAR", "STRING"),
        ("_loaded_at", "TIMESTAMP", "TIMESTAMP"),
    ],
    "users": [
        ("id", "VARCHAR", "STRING"),
        ("created_at", "TIMESTAMP", "TIMESTAMP"),
        ("country", "VARCHAR", "STRING"),
        ("platform", "VARCHAR", "STRING"),
        ("acquisition_channel", "VARCHAR", "STRING"),
        ("referrer_user_id", "VARCHAR", "STRING"),
        ("_loaded_at", "TIMESTAMP", "TIMESTAMP"),
    ],
    "ua_spend_daily": [
        ("spend_date", "DATE", "DATE"),
        ("channel", "VARCHAR", "STRING"),
        ("country", "VARCHAR", "STRING"),
        ("platform", "VARCHAR", "STRING"),
        ("spend_usd", "DECIMAL(18,2)", "NUMERIC"),
        ("_loaded_at", "TIMESTAMP", "TIMESTAMP"),
    ],
}


# The generator's ground truth that `offerwall fraud-train` learns from (schema labels), loaded into
# BigQuery beside the raw tables (dataset `labels`) so the model trains there too.
LABEL_TABLES: dict[str, list[tuple[str, str, str]]] = {
    "fraud_users": [
        ("user_id", "VARCHAR", "STRING"),
        ("fraud_type", "VARCHAR", "STRING"),
    ],
}


def create_table_ddl(table: str, schema: str = RAW_SCHEMA) -> str:
    """DuckDB `create table` for one raw table, columns in contract order."""
    cols = ",\n    ".join(f'"{name}" {dtype}' for name, dtype, _ in RAW_TABLES[table])
    return f"create table {schema}.{table} (\n    {cols}\n)"


def export_raw_parquet(duckdb_path: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Write every raw table of a DuckDB file to ``<out_dir>/<table>.parquet``; return the paths."""
    db = Path(duckdb_path)
    if not db.exists():
        raise OfferwallError(f"DuckDB file not found: {db}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(db), read_only=True) as con:
        present = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [RAW_SCHEMA]
        ).fetchall()}
        missing = [t for t in RAW_TABLES if t not in present]
        if missing:
            raise OfferwallError(f"{db} has no raw table(s) {', '.join(missing)}: run `offerwall generate` first")
        paths = write_parquet(con, RAW_SCHEMA, RAW_TABLES, out)
    return paths


def export_labels_parquet(duckdb_path: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Write the label tables of a DuckDB file (LABEL_TABLES) to ``<out_dir>/<table>.parquet``; {} when
    the file has none (a source that was not generated, e.g. a copy of the real replica)."""
    db = Path(duckdb_path)
    if not db.exists():
        raise OfferwallError(f"DuckDB file not found: {db}")
    with duckdb.connect(str(db), read_only=True) as con:
        present = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [LABELS_SCHEMA]
        ).fetchall()}
        tables = {t: cols for t, cols in LABEL_TABLES.items() if t in present}
        if not tables:
            return {}
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        return write_parquet(con, LABELS_SCHEMA, tables, out)


def write_parquet(con: duckdb.DuckDBPyConnection, schema: str, tables: dict[str, list[tuple[str, str, str]]],
                  out: Path) -> dict[str, Path]:
    """Copy each table of `schema` to ``<out>/<table>.parquet`` (zstd), columns cast to their contract type."""
    paths: dict[str, Path] = {}
    for table, columns in tables.items():
        path = out / f"{table}.parquet"
        select = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t, _ in columns)
        con.execute(f"copy (select {select} from {schema}.{table}) to '{path.as_posix()}' "
                    "(format parquet, compression zstd)")
        paths[table] = path
    return paths
