"""`offerwall load-bigquery`: load the five raw tables into a BigQuery dataset.

Each table is one BigQuery load job with the explicit schema from ``raw_io.RAW_TABLES`` and
``WRITE_TRUNCATE``: the raw tables are full replicas, so a rerun replaces each table with the same
rows (idempotent) and a failed job leaves the previous table untouched. The dataset is created when
it is missing. On real BigQuery each table is partitioned by day of ``_loaded_at`` and clustered by
its key (``RAW_CLUSTERING``); a table with another layout (e.g. from an older, unpartitioned load) is
deleted first, since a load job cannot change a table's partitioning.

Where the rows come from:
- ``parquet_dir`` alone: the ``<table>.parquet`` files in that folder (e.g. from
  ``offerwall generate --parquet DIR``);
- ``duckdb_path`` (and no ``parquet_dir``): the raw schema of that DuckDB file, exported to Parquet in
  a temporary folder first; with neither, ``$DUCKDB_PATH`` (default ``warehouse.duckdb``);
- both: export the DuckDB file into ``parquet_dir``, then load it.
A generated source's fraud labels (``labels.fraud_users``, the ground truth ``offerwall fraud-train``
learns from) go along: exported to ``<folder>/labels/`` and loaded into the dataset ``labels``
(``--labels-dataset``), replaced like the raw tables; a source without them loads none.

Where it goes:
- real BigQuery: Application Default Credentials (``gcloud auth application-default login``, a
  service-account key in ``GOOGLE_APPLICATION_CREDENTIALS`` or Workload Identity), Parquet load jobs;
- the local emulator, when ``BIGQUERY_EMULATOR_HOST`` is set (e.g. ``http://127.0.0.1:9070``):
  anonymous credentials and that endpoint. The emulator only accepts CSV load jobs, so the same rows
  are sent as CSV there (the one emulator-only switch; the schema and dispositions are the same).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import socket
import tempfile
import urllib.parse
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from offerwall import OfferwallError
from offerwall.raw_io import LABEL_TABLES, LABELS_SCHEMA, RAW_TABLES, export_labels_parquet, export_raw_parquet
from offerwall.source_v2.contract import RAW_V2_SCHEMA, export_v2_parquet

EMULATOR_ENV = "BIGQUERY_EMULATOR_HOST"
# BigQuery type -> the Arrow type a Parquet file needs to load into it without conversion.
ARROW_TYPES: dict[str, pa.DataType] = {
    "INT64": pa.int64(),
    "STRING": pa.string(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "DATE": pa.date32(),
    "NUMERIC": pa.decimal128(38, 9),
    "FLOAT64": pa.float64(),
    "BOOL": pa.bool_(),
}
# Bounded waits: a transient error is retried for a couple of minutes, then reported.
API_TIMEOUT_SECONDS = 60.0
API_RETRY_DEADLINE_SECONDS = 180.0
LOAD_TIMEOUT_SECONDS = 1800.0
# Layout of the raw tables on BigQuery: day partitions on `_loaded_at` (when replication wrote the
# row; the incremental models filter on it) and clustering on the key (ua_spend_daily has no id:
# its natural key, date x channel x country x platform). BigQuery allows at most 4 clustering columns.
RAW_PARTITION_FIELD = "_loaded_at"
RAW_CLUSTERING: dict[str, list[str]] = {
    "offers": ["id"],
    "offer_tasks": ["id"],
    "user_offers": ["id"],
    "users": ["id"],
    "ua_spend_daily": ["spend_date", "channel", "country", "platform"],
}
CREDENTIALS_HELP = (
    "no Google Cloud credentials found: run `gcloud auth application-default login`, "
    "or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file "
    f"(or {EMULATOR_ENV} to use the local emulator)"
)


def emulator_host() -> str | None:
    """The emulator endpoint from $BIGQUERY_EMULATOR_HOST (scheme added when missing), or None."""
    host = os.environ.get(EMULATOR_ENV, "").strip()
    if not host:
        return None
    return host if "://" in host else f"http://{host}"


def bigquery_schema(table: str, contract: dict | None = None) -> list[Any]:
    """The explicit BigQuery schema of one raw table (all columns NULLABLE, contract order)."""
    from google.cloud import bigquery

    return [bigquery.SchemaField(name, bq_type, mode="NULLABLE") for name, _, bq_type in (contract or RAW_TABLES)[table]]


def arrow_schema(table: str, contract: dict | None = None) -> pa.Schema:
    return pa.schema([(name, ARROW_TYPES[bq_type]) for name, _, bq_type in (contract or RAW_TABLES)[table]])


def read_raw_parquet(path: Path, table: str, contract: dict | None = None) -> pa.Table:
    """One raw table's Parquet file, checked against the contract and cast to the BigQuery types.

    `contract`: {table: columns} of the table's schema (default the raw one, RAW_TABLES)."""
    contract = contract or RAW_TABLES
    if not path.is_file():
        raise OfferwallError(f"missing {path}: expected one <table>.parquet per raw table")
    data = pq.read_table(path)
    expected = [name for name, _, _ in contract[table]]
    if data.column_names != expected:
        raise OfferwallError(
            f"{path} has columns {data.column_names}, the raw contract says {expected}"
        )
    target = arrow_schema(table, contract)
    columns = []
    for name, field in zip(expected, target, strict=True):
        column = data.column(name)
        if pa.types.is_timestamp(column.type) and column.type.tz is None:
            # Raw timestamps are UTC wall-clock times: label them UTC, do not shift them.
            column = column.cast(pa.timestamp("us")).cast(field.type)
        try:
            columns.append(column.cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise OfferwallError(f"{path}: column {name} cannot be read as {field.type}: {exc}") from None
    return pa.Table.from_arrays(columns, schema=target)


def _csv_value(value: Any, column: str, table: str) -> str:
    """One value in the CSV spelling BigQuery (and the emulator) load: NULL is an empty field."""
    if value is None:
        return ""
    if isinstance(value, str):
        if "\n" in value or "\r" in value:
            raise OfferwallError(f"{table}.{column} holds a line break, which a CSV load cannot carry")
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def to_csv_bytes(data: pa.Table, table: str) -> bytes:
    """The table as headerless CSV (strings always quoted, so '' and NULL stay apart)."""
    columns = data.column_names
    values = [data.column(c).to_pylist() for c in columns]
    out = io.StringIO()
    for row in zip(*values, strict=True):
        out.write(",".join(_csv_value(v, c, table) for v, c in zip(row, columns, strict=True)))
        out.write("\n")
    return out.getvalue().encode("utf-8")


def to_parquet_bytes(data: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(data, sink, compression="zstd")
    return sink.getvalue()


def make_client(project: str, location: str | None) -> Any:
    """A BigQuery client: the emulator when $BIGQUERY_EMULATOR_HOST is set, else real GCP (ADC)."""
    from google.cloud import bigquery

    host = emulator_host()
    if host:
        return emulator_client(project, location, host)
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/bigquery"])
    except DefaultCredentialsError:
        raise OfferwallError(CREDENTIALS_HELP) from None
    return bigquery.Client(project=project, location=location, credentials=credentials)


def emulator_client(project: str, location: str | None, endpoint: str) -> Any:
    """A client of the BigQuery emulator at `endpoint` (anonymous credentials), checked reachable."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    _check_reachable(endpoint)
    return bigquery.Client(
        project=project,
        location=location,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": endpoint},
    )


def _check_reachable(url: str, timeout: float = 5.0) -> None:
    """Fail at once (not after the client's minutes of retries) when nothing listens at `url`."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout):
            pass
    except OSError as exc:
        raise OfferwallError(f"cannot reach {url} (the BigQuery emulator): {_one_line(exc)}") from None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def load_job_config(table: str, use_csv: bool, layout: bool = True) -> Any:
    """The load job of one raw table: explicit schema, WRITE_TRUNCATE (a rerun replaces the rows), and
    (when `layout`) day partitions on `_loaded_at` and clustering on the table's key."""
    from google.cloud import bigquery

    config = bigquery.LoadJobConfig(
        schema=bigquery_schema(table),
        source_format=bigquery.SourceFormat.CSV if use_csv else bigquery.SourceFormat.PARQUET,
        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
    )
    if layout:
        config.time_partitioning = bigquery.TimePartitioning(
            type_=bigquery.TimePartitioningType.DAY, field=RAW_PARTITION_FIELD
        )
        config.clustering_fields = RAW_CLUSTERING[table]
    return config


def layout_differs(existing: Any, config: Any) -> bool:
    """Whether an existing table's partitioning or clustering differs from what the load job asks for.

    BigQuery refuses a load job whose partitioning spec differs from the destination's (also with
    WRITE_TRUNCATE), e.g. onto a raw table an older loader created unpartitioned."""
    want_p, have_p = config.time_partitioning, existing.time_partitioning
    spec = lambda p: None if p is None else ((p.type_ or "DAY").upper(), p.field)  # noqa: E731
    clusters = list(config.clustering_fields or []), list(existing.clustering_fields or [])
    return spec(want_p) != spec(have_p) or clusters[0] != clusters[1]


def _drop_if_layout_differs(client: Any, table_id: str, config: Any, retry: Any) -> bool:
    """Delete `table_id` when its layout differs from `config`'s (the load then recreates it); True if deleted.

    The raw tables are full replicas, so nothing is lost: the next load job writes every row again."""
    from google.api_core import exceptions as gexc

    try:
        existing = client.get_table(table_id, retry=retry, timeout=API_TIMEOUT_SECONDS)
    except gexc.NotFound:
        return False
    if not layout_differs(existing, config):
        return False
    client.delete_table(table_id, not_found_ok=True, retry=retry, timeout=API_TIMEOUT_SECONDS)
    return True


def _export(duckdb_path: str, out: Path) -> Path:
    export_raw_parquet(duckdb_path, out)
    export_v2_parquet(duckdb_path, out / RAW_V2_SCHEMA)  # nothing when the source has no raw_v2
    export_labels_parquet(duckdb_path, out / LABELS_SCHEMA)  # nothing when it has no labels
    return out


def _resolve_parquet(duckdb_path: str | None, parquet_dir: str | None, scratch: Path) -> Path:
    if duckdb_path:
        return _export(duckdb_path, Path(parquet_dir) if parquet_dir else scratch)
    if parquet_dir:
        folder = Path(parquet_dir)
        if not folder.is_dir():
            raise OfferwallError(f"Parquet folder not found: {folder}")
        return folder
    return _export(os.environ.get("DUCKDB_PATH", "warehouse.duckdb"), scratch)


def load_and_count(client: Any, table_id: str, data: pa.Table, config: Any, location: str | None,
                   retry: Any) -> int:
    """One load job of `data` into `table_id` (CSV on the emulator, else Parquet, as `config` says);
    the rows now in the table, checked equal to the rows sent."""
    from google.cloud import bigquery

    use_csv = config.source_format == bigquery.SourceFormat.CSV
    payload = to_csv_bytes(data, table_id) if use_csv else to_parquet_bytes(data)
    job = client.load_table_from_file(io.BytesIO(payload), table_id, job_config=config, location=location,
                                      rewind=True, timeout=LOAD_TIMEOUT_SECONDS)
    job.result(retry=retry, timeout=LOAD_TIMEOUT_SECONDS)
    loaded = client.get_table(table_id, retry=retry, timeout=API_TIMEOUT_SECONDS).num_rows
    if config.write_disposition == bigquery.WriteDisposition.WRITE_TRUNCATE and loaded != data.num_rows:
        raise OfferwallError(f"{table_id}: loaded {loaded} rows, the source has {data.num_rows}")
    return int(loaded)


def load_labels(client: Any, project: str, dataset: str, location: str | None, folder: Path, use_csv: bool,
                retry: Any) -> dict[str, int]:
    """Load the label tables found in `folder` (the generator's ground truth, read by `offerwall
    fraud-train --bigquery-project`) into `project.dataset`: explicit schema, WRITE_TRUNCATE."""
    from google.cloud import bigquery

    ds = bigquery.Dataset(f"{project}.{dataset}")
    if location:
        ds.location = location
    ds.description = "Fraud labels (the generator's ground truth), loaded by `offerwall load-bigquery`."
    client.create_dataset(ds, exists_ok=True, retry=retry, timeout=API_TIMEOUT_SECONDS)
    counts: dict[str, int] = {}
    for table in LABEL_TABLES:
        if not (folder / f"{table}.parquet").is_file():
            continue
        config = bigquery.LoadJobConfig(
            schema=bigquery_schema(table, LABEL_TABLES),
            source_format=bigquery.SourceFormat.CSV if use_csv else bigquery.SourceFormat.PARQUET,
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
            create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
        )
        data = read_raw_parquet(folder / f"{table}.parquet", table, LABEL_TABLES)
        counts[f"{dataset}.{table}"] = load_and_count(client, f"{project}.{dataset}.{table}", data, config,
                                                      location, retry)
    return counts


def load_bigquery(
    project: str,
    dataset: str,
    location: str | None = None,
    duckdb_path: str | None = None,
    parquet_dir: str | None = None,
    v2_dataset: str = RAW_V2_SCHEMA,
    labels_dataset: str = LABELS_SCHEMA,
) -> dict[str, int]:
    """Load every raw table into `project.dataset`; return {table: rows now in BigQuery}.

    When the source has v2 tables (a `raw_v2/` folder of Parquet files, exported from a source
    generated with --source-model v2) they are loaded into `project.v2_dataset` too, partitioned
    and clustered (docs/source-redesign.md); their counts are keyed `<v2_dataset>.<table>`. So are
    the fraud labels (a `labels/` folder, exported from a generated source) into
    `project.labels_dataset`, keyed `<labels_dataset>.<table>`."""
    from google.api_core import exceptions as gexc
    from google.cloud import bigquery

    use_csv = emulator_host() is not None
    retry = bigquery.DEFAULT_RETRY.with_deadline(API_RETRY_DEADLINE_SECONDS)
    with tempfile.TemporaryDirectory(prefix="offerwall-bq-") as scratch:
        folder = _resolve_parquet(duckdb_path, parquet_dir, Path(scratch))
        tables = {t: read_raw_parquet(folder / f"{t}.parquet", t) for t in RAW_TABLES}

        client = make_client(project, location)
        try:
            ds = bigquery.Dataset(f"{project}.{dataset}")
            if location:
                ds.location = location
            ds.description = "Replica of the offerwall OLTP tables, loaded by `offerwall load-bigquery`."
            client.create_dataset(ds, exists_ok=True, retry=retry, timeout=API_TIMEOUT_SECONDS)

            counts: dict[str, int] = {}
            for table, data in tables.items():
                # the CI emulator refuses timePartitioning in load jobs: layout on real BigQuery only
                config = load_job_config(table, use_csv, layout=not use_csv)
                table_id = f"{project}.{dataset}.{table}"
                if _drop_if_layout_differs(client, table_id, config, retry):
                    print(f"recreating {table_id}: its partitioning/clustering differed from the raw layout")
                counts[table] = load_and_count(client, table_id, data, config, location, retry)
            if (folder / RAW_V2_SCHEMA).is_dir():
                from offerwall.source_v2.bigquery import load_v2_tables

                counts.update(load_v2_tables(client, project, v2_dataset, location, folder / RAW_V2_SCHEMA,
                                             use_csv, retry))
            if (folder / LABELS_SCHEMA).is_dir():
                counts.update(load_labels(client, project, labels_dataset, location, folder / LABELS_SCHEMA,
                                          use_csv, retry))
        except gexc.GoogleAPIError as exc:
            raise OfferwallError(f"BigQuery refused the load: {_one_line(exc)}") from None
        except OSError as exc:  # connection refused, DNS, ...
            where = emulator_host() or "BigQuery"
            raise OfferwallError(f"cannot reach {where}: {_one_line(exc)}") from None
        finally:
            client.close()
    for table, rows in counts.items():
        where = table if "." in table else f"{dataset}.{table}"  # v2 tables: <v2_dataset>.<table>
        print(f"loaded {project}.{where}: {rows} rows")
    return counts
