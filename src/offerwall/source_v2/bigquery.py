"""Load the raw_v2 tables into BigQuery: the event log and the versions partitioned by ingestion day
and clustered, as production's outbox sink would write them (docs/source-redesign.md)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from offerwall import OfferwallError
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

    from offerwall.bigquery_loader import (
        API_TIMEOUT_SECONDS, LOAD_TIMEOUT_SECONDS, emulator_host, read_raw_parquet, to_csv_bytes, to_parquet_bytes,
    )

    ds = bigquery.Dataset(f"{project}.{dataset}")
    if location:
        ds.location = location
    ds.description = "Source system v2: versions and the user-offer event log, loaded by `offerwall load-bigquery`."
    client.create_dataset(ds, exists_ok=True, retry=retry, timeout=API_TIMEOUT_SECONDS)
    counts: dict[str, int] = {}
    for table in V2_TABLES:
        data = read_raw_parquet(folder / f"{table}.parquet", table, V2_TABLES)
        payload = to_csv_bytes(data, table) if use_csv else to_parquet_bytes(data)
        job = client.load_table_from_file(
            io.BytesIO(payload), f"{project}.{dataset}.{table}",
            # the CI emulator refuses timePartitioning in load jobs: layout on real BigQuery only
            job_config=load_job_config(table, use_csv, layout=emulator_host() is None),
            location=location, rewind=True, timeout=LOAD_TIMEOUT_SECONDS,
        )
        job.result(retry=retry, timeout=LOAD_TIMEOUT_SECONDS)
        loaded = client.get_table(f"{project}.{dataset}.{table}", retry=retry, timeout=API_TIMEOUT_SECONDS).num_rows
        if loaded != data.num_rows:
            raise OfferwallError(f"{dataset}.{table}: loaded {loaded} rows, the source has {data.num_rows}")
        counts[f"{dataset}.{table}"] = int(loaded)
    return counts
