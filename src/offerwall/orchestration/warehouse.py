"""What the orchestration reads from the warehouse itself: the newest load time of a raw table.

DuckDB locally (a short read-only connection, so dbt can open the file right after), BigQuery in
production (one `select max(...)` per table, a few bytes billed: the column is a timestamp).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from offerwall.orchestration.settings import Settings


@dataclass(frozen=True)
class TableLoad:
    rows: int
    max_loaded_at: dt.datetime | None  # UTC, naive


def _naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def table_loads(settings: Settings, tables: list[tuple[str, str, str, str | None]]) -> dict[str, TableLoad]:
    """Row count and max(loaded_at_field) of each (database, schema, table, loaded_at_field)."""
    out: dict[str, TableLoad] = {}
    if settings.is_duckdb:
        import duckdb

        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            for _database, schema, table, column in tables:
                latest = f'max("{column}")' if column else "null"
                rows, newest = con.execute(f'select count(*), {latest} from "{schema}"."{table}"').fetchone()
                out[table] = TableLoad(int(rows), _naive_utc(newest))
        return out
    from google.cloud import bigquery

    client = bigquery.Client(project=settings.bq_project, location=settings.bq_location)
    for database, schema, table, column in tables:
        latest = f"max(`{column}`)" if column else "null"
        sql = f"select count(*) as n, {latest} as newest from `{database}.{schema}.{table}`"
        row = next(iter(client.query(sql).result()))
        out[table] = TableLoad(int(row["n"]), _naive_utc(row["newest"]))
    return out
