"""Load the raw_v2 tables into BigQuery: the event log and the versions partitioned by ingestion day
and clustered, as production's outbox sink would write them (docs/source-redesign.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from offerwall.source_v2.contract import BIGQUERY_LAYOUT, V2_TABLES


def load_job_config(table: str, use_csv: bool, layout: bool = True) -> Any:
    """The load job of one v2 table: explicit schema, WRITE_TRUNCATE (a rerun replaces it), and for
    the append-only tables (when `layout`) day partitions on the ingestion time and clustering."""
    from google.cloud import bigquery

    from offerwall.bigquery_loader import bigquery_schema

    config = bigquery.LoadJobConfig(
        schema=bigquery_schema(table, V2_TABLES),
        source_format=bigquery.SourceFormat.CSV if use_csv else bigquery.SourceFormat.PARQUET,
        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
    )
    if layout and table in BIGQUERY_LAYOUT:
        field, clustering = BIGQUERY_LAYOUT[table]
        config.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY, field=field)
        config.clustering_fields = clustering
    return config


def load_v2_tables(client: Any, project: str, dataset: str, location: str | None, folder: Path, use_csv: bool,
                   retry: Any) -> dict[str, int]:
    """Load every `<folder>/<table>.parquet` of the v2 contract into `project.dataset`."""
    from google.cloud import bigquery

    from offerwall.bigquery_loader import API_TIMEOUT_SECONDS, emulator_host, load_and_count, read_raw_parquet

    ds = bigquery.Dataset(f"{project}.{dataset}")
    if location:
        ds.location = location
    ds.description = "Source system v2: versions and the user-offer event log, loaded by `offerwall load-bigquery`."
    client.create_dataset(ds, exists_ok=True, retry=retry, timeout=API_TIMEOUT_SECONDS)
    counts: dict[str, int] = {}
    for table in V2_TABLES:
        data = read_raw_parquet(folder / f"{table}.parquet", table, V2_TABLES)
        # the CI emulator refuses timePartitioning in load jobs: layout on real BigQuery only
        config = load_job_config(table, use_csv, layout=emulator_host() is None)
        counts[f"{dataset}.{table}"] = load_and_count(client, f"{project}.{dataset}.{table}", data, config,
                                                      location, retry)
    return counts
