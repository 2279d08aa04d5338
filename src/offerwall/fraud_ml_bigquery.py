"""``offerwall fraud-train --bigquery-project``: the learned anti-fraud model trained and scored on BigQuery.

The same model as on DuckDB (``offerwall.fraud_ml``: one query, one Dataset, one fit); only where
the rows come from and where the two tables go differ:

- reads ``<project>.<prefix>_marts_anti_fraud.fct_user_fraud_model_scores`` (dbt's dataset for the
  marts: ``marts_anti_fraud`` in production, prefix empty), the labels ``<project>.labels.fraud_users``
  (put there by ``offerwall load-bigquery``) and, when the table exists, the reviewers' decisions
  ``<project>.ops.fraud_review_decisions`` (written by the web app's BigQuery backend);
- appends the version row to ``<project>.ml.fraud_model_versions`` and replaces
  ``<project>.ml.fraud_model_scores`` (the source dbt's ``stg_ml__fraud_model_scores`` reads), each by
  one load job with an explicit schema: WRITE_APPEND / WRITE_TRUNCATE, so a failed job leaves the
  previous table as it was and a rerun replaces the scores again.

Client, credentials and the emulator (``BIGQUERY_EMULATOR_HOST``, where load jobs are CSV) are the
loader's (``offerwall.bigquery_loader``); no query parameters, so the emulator runs it unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa

from offerwall import OfferwallError
from offerwall.fraud_ml import (
    MART, ML_SCHEMA, SCORE_COLUMNS, VERSION_COLUMNS, dataset_from_rows, dataset_sql, fit_and_score, report,
)

MARTS_LAYER = "marts_anti_fraud"  # dbt_project.yml: the anti_fraud marts' +schema
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_\-.]+$")  # GCP project ids and dataset names (as offerwall erase)


def marts_dataset(dataset_prefix: str) -> str:
    """The dataset dbt builds the anti-fraud marts in (macros/generate_schema_name.sql)."""
    return f"{dataset_prefix}_{MARTS_LAYER}" if dataset_prefix else MARTS_LAYER


def _exists(client: Any, table_id: str) -> bool:
    from google.api_core.exceptions import NotFound

    try:
        client.get_table(table_id)
    except NotFound:
        return False
    return True


def _load_config(columns: list[tuple[str, str]], append: bool, use_csv: bool) -> Any:
    from google.cloud import bigquery

    return bigquery.LoadJobConfig(
        schema=[bigquery.SchemaField(name, kind, mode="NULLABLE") for name, kind in columns],
        source_format=bigquery.SourceFormat.CSV if use_csv else bigquery.SourceFormat.PARQUET,
        write_disposition=(bigquery.WriteDisposition.WRITE_APPEND if append
                           else bigquery.WriteDisposition.WRITE_TRUNCATE),
        create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
    )


def _typed(table: pa.Table, columns: list[tuple[str, str]]) -> pa.Table:
    """`table` in the Arrow types a Parquet load into `columns` needs (timestamps labelled UTC)."""
    from offerwall.bigquery_loader import ARROW_TYPES

    schema = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in columns])
    arrays = []
    for name, field in zip(table.column_names, schema, strict=True):
        column = table.column(name)
        if pa.types.is_timestamp(column.type) and column.type.tz is None:
            column = column.cast(pa.timestamp("us")).cast(field.type)  # naive UTC: label, do not shift
        arrays.append(column.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def train_bigquery(project: str, dataset_prefix: str = "", ops_dataset: str = "ops", labels_dataset: str = "labels",
                   location: str | None = None, seed: int = 0, client: Any = None) -> dict:
    """Train on the BigQuery mart, append the version row and replace the scores; returns the version row."""
    from google.api_core.exceptions import GoogleAPIError
    from google.cloud import bigquery

    from offerwall.bigquery_loader import API_RETRY_DEADLINE_SECONDS, emulator_host, load_and_count, make_client

    for name, value in (("project", project), ("ops dataset", ops_dataset), ("labels dataset", labels_dataset),
                        ("marts dataset", marts_dataset(dataset_prefix))):
        if not _IDENTIFIER.match(value or ""):
            raise OfferwallError(f"invalid BigQuery {name}: {value!r}")
    mart = f"{project}.{marts_dataset(dataset_prefix)}.{MART}"
    labels = f"{project}.{labels_dataset}.fraud_users"
    decisions = f"{project}.{ops_dataset}.fraud_review_decisions"
    versions, scores = f"{project}.{ML_SCHEMA}.fraud_model_versions", f"{project}.{ML_SCHEMA}.fraud_model_scores"
    own_client = client is None
    client = client or make_client(project, location)
    use_csv = emulator_host() is not None  # the emulator takes CSV load jobs only (as load-bigquery)
    retry = bigquery.DEFAULT_RETRY.with_deadline(API_RETRY_DEADLINE_SECONDS)
    try:
        if not _exists(client, mart):
            raise OfferwallError(f"no table {mart}: run `dbt build` on this target first")
        if not _exists(client, labels):
            raise OfferwallError(f"no table {labels}: the model trains on the generator's labels "
                                 f"(`offerwall load-bigquery` loads them into the dataset {labels_dataset})")
        sql = dataset_sql(f"`{mart}`", f"`{labels}`", f"`{decisions}`" if _exists(client, decisions) else None)
        data = dataset_from_rows([tuple(row.values()) for row in client.query(sql).result()], mart)

        ds = bigquery.Dataset(f"{project}.{ML_SCHEMA}")
        if location:
            ds.location = location
        ds.description = "The learned anti-fraud model's versions and scores, written by `offerwall fraud-train`."
        client.create_dataset(ds, exists_ok=True)
        before = client.get_table(versions).num_rows if _exists(client, versions) else 0
        result = fit_and_score(data, seed, int(before or 0))

        version_row = pa.Table.from_pylist([result.row])
        load_and_count(client, versions, _typed(version_row, VERSION_COLUMNS),
                       _load_config(VERSION_COLUMNS, append=True, use_csv=use_csv), location, retry)
        load_and_count(client, scores, _typed(result.scores, SCORE_COLUMNS),
                       _load_config(SCORE_COLUMNS, append=False, use_csv=use_csv), location, retry)
    except GoogleAPIError as exc:
        raise OfferwallError(f"BigQuery refused the training's read or write: {' '.join(str(exc).split())}") from None
    finally:
        if own_client:
            client.close()
    return result.row


def fraud_train_bigquery(project: str, dataset_prefix: str, ops_dataset: str, labels_dataset: str,
                         location: str | None, seed: int) -> int:
    row = train_bigquery(project, dataset_prefix, ops_dataset, labels_dataset, location, seed)
    report(row, f"{project}.{ML_SCHEMA}.fraud_model_scores", "--target <your BigQuery target> ")
    return 0
