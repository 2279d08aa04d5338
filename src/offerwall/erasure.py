"""`offerwall erase`: record a GDPR erasure request in the source ops.gdpr_erasure_requests.

Erasure requests are data, never a file in git (docs/privacy.md). This appends one request
(user_id, requested_at) to the ops table the warehouse reads:

- DuckDB: the ops store file (``--ops-duckdb``, else $OPS_DUCKDB_PATH, else ops.duckdb beside the
  warehouse file, the same rule as dbt's on-run-start and the app). dbt copies the store's
  gdpr_erasure_requests into the warehouse's ops.gdpr_erasure_requests at the start of every
  invocation (macros/ops/ops_sources.sql); the next `dbt build` erases the user everywhere.
- BigQuery: ``<project>.<ops dataset>.gdpr_erasure_requests`` (created by dbt's on-run-start;
  created here too when missing, with the same columns), appended by a load job.

The table is append-only: a request is never updated or deleted (the list is the proof the
warehouse erased the user; removing a row would bring the id back on the next build). On DuckDB,
asking twice for the same user at the same instant writes nothing the second time; a later
request for an already listed user is kept, and the earliest counts downstream.
Values reach SQL only as bound parameters (DuckDB) or travel as row data (BigQuery insertAll).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offerwall import OfferwallError

TABLE = "gdpr_erasure_requests"
MAX_USER_ID_CHARS = 128
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_\-.]+$")  # GCP project ids and dataset names
_DDL = f"""
    create table if not exists {TABLE} (
        user_id varchar not null,
        requested_at timestamp not null
    )
"""


@dataclass(frozen=True)
class ErasureResult:
    user_id: str
    requested_at: dt.datetime
    written: bool  # False: this exact request (user, instant) was already recorded
    where: str


def clean_user_id(user_id: str) -> str:
    value = (user_id or "").strip()
    if not value:
        raise OfferwallError("--user-id is empty")
    if len(value) > MAX_USER_ID_CHARS:
        raise OfferwallError(f"--user-id is {len(value)} characters long; at most {MAX_USER_ID_CHARS}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise OfferwallError("--user-id contains control characters")
    return value


def parse_requested_at(text: str | None) -> dt.datetime:
    """ISO timestamp (UTC when it has no offset) as naive UTC; now when None."""
    if text is None:
        return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise OfferwallError(f"--requested-at: expected an ISO timestamp like 2026-03-01T10:00:00, got {text!r}") from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def ops_store_path(warehouse: str | Path | None = None, ops_duckdb: str | Path | None = None,
                   env: dict[str, str] | None = None) -> Path:
    """--ops-duckdb, else $OPS_DUCKDB_PATH, else ops.duckdb beside the warehouse file."""
    env = dict(os.environ if env is None else env)
    if ops_duckdb:
        return Path(ops_duckdb)
    if env.get("OPS_DUCKDB_PATH"):
        return Path(env["OPS_DUCKDB_PATH"])
    return Path(warehouse or env.get("DUCKDB_PATH") or "warehouse.duckdb").parent / "ops.duckdb"


def erase_duckdb(ops_path: str | Path, user_id: str, requested_at: dt.datetime,
                 busy_wait_s: float = 20.0) -> ErasureResult:
    """Append the request to the DuckDB ops store (retrying while dbt copies the file)."""
    import duckdb

    path = Path(ops_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + busy_wait_s
    delay = 0.02
    while True:
        try:
            con = duckdb.connect(str(path))
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise OfferwallError(f"could not open the ops store {path}: {str(exc).splitlines()[0]}") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
    try:
        con.execute(_DDL)
        con.execute("begin")
        exists = con.execute(
            f"select count(*) from {TABLE} where user_id = ? and requested_at = ?", [user_id, requested_at]
        ).fetchone()[0]
        if not exists:
            con.execute(f"insert into {TABLE} (user_id, requested_at) values (?, ?)", [user_id, requested_at])
        con.execute("commit")
    finally:
        con.close()
    return ErasureResult(user_id, requested_at, not exists, f"DuckDB ops store {path}")


def erase_bigquery(client: Any, project: str, dataset: str, user_id: str, requested_at: dt.datetime) -> ErasureResult:
    """Append the request to <project>.<dataset>.gdpr_erasure_requests.

    The row travels as data in an appending load job (one CSV line, the loader's quoting),
    never inside SQL text, and load jobs are free (the emulator supports them too; it has
    neither query parameters nor streaming inserts). A repeated request adds a row, which is
    harmless: staging keeps one row per user, the earliest. No UPDATE or DELETE exists on
    this path."""
    import io

    from google.api_core.exceptions import GoogleAPIError
    from google.cloud import bigquery

    from offerwall.bigquery_loader import _csv_value

    for name, value in (("project", project), ("ops dataset", dataset)):
        if not _IDENTIFIER.match(value or ""):
            raise OfferwallError(f"invalid BigQuery {name}: {value!r}")
    table = f"{project}.{dataset}.{TABLE}"
    try:
        client.query(f"create table if not exists `{table}` (user_id string, requested_at timestamp)").result()
        line = f"{_csv_value(user_id, 'user_id', TABLE)},{_csv_value(requested_at, 'requested_at', TABLE)}\n"
        config = bigquery.LoadJobConfig(
            schema=[bigquery.SchemaField("user_id", "STRING"), bigquery.SchemaField("requested_at", "TIMESTAMP")],
            source_format=bigquery.SourceFormat.CSV,
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
        )
        client.load_table_from_file(io.BytesIO(line.encode("utf-8")), table, job_config=config, rewind=True).result()
    except GoogleAPIError as exc:
        raise OfferwallError(f"BigQuery refused the request: {str(exc).splitlines()[0]}") from None
    return ErasureResult(user_id, requested_at, True, f"BigQuery `{table}`")


def erase(*, user_id: str, requested_at: str | None = None, duckdb_path: str | None = None,
          ops_duckdb: str | None = None, bigquery_project: str | None = None, ops_dataset: str = "ops",
          location: str | None = None) -> ErasureResult:
    """The CLI's entry: validate, append to the ops store or the BigQuery ops table, report."""
    user = clean_user_id(user_id)
    at = parse_requested_at(requested_at)
    if bigquery_project:
        from offerwall.bigquery_loader import make_client

        result = erase_bigquery(make_client(bigquery_project, location), bigquery_project, ops_dataset, user, at)
    else:
        result = erase_duckdb(ops_store_path(duckdb_path, ops_duckdb), user, at)
    verb = "recorded" if result.written else "already recorded"
    print(f"erasure request {verb}: requested_at {at.isoformat(sep=' ')} in {result.where}; "
          "the next dbt build erases the user everywhere (docs/privacy.md)")
    return result
