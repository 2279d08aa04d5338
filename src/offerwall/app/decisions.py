"""The Anti-Fraud reviewers' decisions: append-only rows of ops.fraud_review_decisions.

- Append-only: a decision is never updated or deleted. Two reviewers deciding the same user
  at the same time write two rows (two decision_ids); the latest decided_at wins downstream
  (stg_ops__fraud_review_decisions, fct_fraud_review_status).
- Idempotent save: the page makes the decision_id when it shows the form, so a second click on
  "save" (or a retried request) carries the same id and is reported, not written twice.
- DuckDB: the rows live in a small file of their own, the ops store (OPS_DUCKDB_PATH, default
  ops.duckdb beside the warehouse), so a save never waits for a dbt build holding the
  warehouse. Each save opens the file, inserts, and closes it (milliseconds); if dbt's
  on-run-start is copying the file at that moment, the save retries. dbt copies the store
  into the warehouse's ops.fraud_review_decisions at the start of every build
  (macros/ops/ops_sources.sql).
- BigQuery: the rows go straight into <project>.<ops dataset>.fraud_review_decisions.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time
import uuid
from pathlib import Path
from typing import Protocol

import pandas as pd

from .identity import REVIEWER, Identity

DECISIONS = ("confirmed_fraud", "cleared", "needs_more_info")
TABLE = "fraud_review_decisions"
COLUMNS = ("decision_id", "user_id", "decision", "reviewer", "decided_at", "note",
           "risk_score_at_decision", "score_version")
SCORE_VERSION = os.environ.get("OFFERWALL_SCORE_VERSION", "v1")  # = dbt var anti_fraud_score_version
MAX_NOTE = 2000      # characters; a longer note is refused, not cut
MAX_USER_ID = 200


class DecisionError(ValueError):
    """A decision the store refuses, with a message for the reviewer."""


@dataclasses.dataclass(frozen=True)
class Decision:
    decision_id: str
    user_id: str
    decision: str
    reviewer: str
    decided_at: dt.datetime
    note: str
    risk_score_at_decision: float | None
    score_version: str
    # who recorded it: the stores save only a decision whose `by` holds the reviewer role and is
    # the row's reviewer (make_decision sets both); not a column
    by: Identity | None = dataclasses.field(default=None, compare=False, repr=False)

    def row(self) -> dict:
        return {c: getattr(self, c) for c in COLUMNS}


def _authorised(decision: Decision) -> Decision:
    """The stores' own gate (behind make_decision's): refuse a decision not made by an identity
    with the reviewer role, or whose reviewer column is not that identity."""
    by = decision.by
    if not isinstance(by, Identity) or not by.may_record or by.email != decision.reviewer:
        raise DecisionError("Refused: a decision is saved only when made by make_decision for a "
                            f"signed-in user with the role {REVIEWER}, as that user.")
    return decision


@dataclasses.dataclass(frozen=True)
class SaveResult:
    decision: Decision
    written: bool        # False: this decision_id was already saved (a second click)


def new_decision_id() -> str:
    return str(uuid.uuid4())


def make_decision(*, user_id: str, decision: str, reviewer: Identity, note: str = "",
                  risk_score: float | None = None, score_version: str = SCORE_VERSION,
                  decision_id: str | None = None, decided_at: dt.datetime | None = None) -> Decision:
    """The one way to a Decision: `reviewer` is the authenticated Identity (offerwall.app.identity),
    never a typed name; it must hold the role anti_fraud_reviewer. The row's reviewer is its email."""
    if not isinstance(reviewer, Identity):
        raise DecisionError("The reviewer is the authenticated identity, not a name.")
    if not reviewer.may_record:
        raise DecisionError(f"{reviewer.email} may not record fraud decisions: that needs the role "
                            f"{REVIEWER} in the app's role map.")
    user_id = (user_id or "").strip()
    note = (note or "").strip()
    if not user_id:
        raise DecisionError("No user selected.")
    if len(user_id) > MAX_USER_ID:
        raise DecisionError(f"The user id is longer than {MAX_USER_ID} characters: not a user id.")
    if decision not in DECISIONS:
        raise DecisionError(f"Decision must be one of {', '.join(DECISIONS)}, got {decision!r}.")
    if len(note) > MAX_NOTE:
        raise DecisionError(f"The note has {len(note)} characters; the limit is {MAX_NOTE}. "
                            "Shorten it (nothing was saved).")
    return Decision(
        decision_id=decision_id or new_decision_id(),
        user_id=user_id,
        decision=decision,
        reviewer=reviewer.email,
        decided_at=decided_at or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
        note=note,
        risk_score_at_decision=None if risk_score is None else float(risk_score),
        score_version=score_version,
        by=reviewer,
    )


class DecisionStore(Protocol):
    def save(self, decision: Decision) -> SaveResult: ...
    def for_user(self, user_id: str) -> pd.DataFrame: ...
    def all(self) -> pd.DataFrame: ...
    def describe(self) -> str: ...


_DDL = f"""
    create table if not exists {TABLE} (
        decision_id varchar primary key,
        user_id varchar not null,
        decision varchar not null,
        reviewer varchar not null,
        decided_at timestamp not null,
        note varchar,
        risk_score_at_decision double,
        score_version varchar
    )
"""


class DuckDBDecisionStore:
    """The ops store file: short-lived read-write connections, retried while another process
    (a concurrent save, dbt's on-run-start copy) holds the file for a moment."""

    def __init__(self, path: str | Path, busy_wait_s: float = 20.0):
        self.path = Path(path)
        self.busy_wait_s = busy_wait_s

    def describe(self) -> str:
        return f"DuckDB ops store {self.path}"

    def _run(self, fn, create: bool):
        import duckdb

        if not create and not self.path.exists():
            return None
        deadline = time.monotonic() + self.busy_wait_s
        delay = 0.02
        while True:
            try:
                con = duckdb.connect(str(self.path))
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise DecisionError(
                        f"Could not open the decisions store {self.path}: {str(exc).splitlines()[0]}"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        try:
            con.execute(_DDL)
            return fn(con)
        finally:
            con.close()

    def save(self, decision: Decision) -> SaveResult:
        row = list(_authorised(decision).row().values())

        def insert(con) -> bool:
            con.execute("begin")
            exists = con.execute(f"select count(*) from {TABLE} where decision_id = ?",
                                 [decision.decision_id]).fetchone()[0]
            if exists:
                con.execute("rollback")
                return False
            con.execute(f"insert into {TABLE} ({', '.join(COLUMNS)}) values ({', '.join('?' * len(COLUMNS))})",
                        row)
            con.execute("commit")
            return True

        return SaveResult(decision, bool(self._run(insert, create=True)))

    def _select(self, where: str = "", params: list | None = None) -> pd.DataFrame:
        frame = self._run(lambda con: con.execute(
            f"select {', '.join(COLUMNS)} from {TABLE} {where} order by decided_at desc, decision_id desc",
            params or []).df(), create=False)
        return frame if frame is not None else pd.DataFrame(columns=list(COLUMNS))

    def for_user(self, user_id: str) -> pd.DataFrame:
        return self._select("where user_id = ?", [user_id])

    def all(self) -> pd.DataFrame:
        return self._select()


class BigQueryDecisionStore:
    """<project>.<dataset>.fraud_review_decisions on BigQuery (created by dbt's on-run-start)."""

    def __init__(self, client, project: str, dataset: str = "ops", inline_parameters: bool = False):
        self.client = client
        self.table = f"`{project}.{dataset}.{TABLE}`"
        self.inline_parameters = inline_parameters  # the emulator (BigQueryWarehouse's setting)

    def describe(self) -> str:
        return f"BigQuery {self.table}"

    def _query(self, sql: str, params: dict):
        from .warehouse import run_query

        types = {"risk_score_at_decision": "FLOAT64", "decided_at": "TIMESTAMP"}
        return run_query(self.client, sql, params, {k: types.get(k, "STRING") for k in params},
                         self.inline_parameters).result()

    def save(self, decision: Decision) -> SaveResult:
        params = _authorised(decision).row()
        # One DML statement: inserts unless the decision_id is already there (a second click).
        sql = f"""
            insert into {self.table} ({', '.join(COLUMNS)})
            select {', '.join('@' + c for c in COLUMNS)}
            from (select 1)
            where not exists (select 1 from {self.table} where decision_id = @decision_id)
        """
        job = self._query(sql, params)
        written = (getattr(job, "num_dml_affected_rows", None) or 0) > 0
        if getattr(job, "num_dml_affected_rows", None) is None:  # emulator: ask again
            written = True
        return SaveResult(decision, written)

    def _select(self, where: str = "", params: dict | None = None) -> pd.DataFrame:
        from .warehouse import _typed_frame

        rows = self._query(f"select {', '.join(COLUMNS)} from {self.table} {where} "
                           "order by decided_at desc, decision_id desc", params or {})
        return _typed_frame(rows)  # typed as the DuckDB store's frame

    def for_user(self, user_id: str) -> pd.DataFrame:
        return self._select("where user_id = @user_id", {"user_id": user_id})

    def all(self) -> pd.DataFrame:
        return self._select()


def ops_duckdb_path(env: dict[str, str] | None = None) -> Path:
    """OPS_DUCKDB_PATH, else ops.duckdb beside the warehouse file (as dbt's on-run-start)."""
    env = dict(os.environ if env is None else env)
    if env.get("OPS_DUCKDB_PATH"):
        return Path(env["OPS_DUCKDB_PATH"])
    return Path(env.get("DUCKDB_PATH", "warehouse.duckdb")).parent / "ops.duckdb"


def store_from_env(warehouse=None, env: dict[str, str] | None = None) -> DecisionStore:
    env = dict(os.environ if env is None else env)
    if env.get("OFFERWALL_APP_BACKEND", "duckdb") == "bigquery":
        from .data import BigQueryWarehouse

        if not isinstance(warehouse, BigQueryWarehouse):
            raise DecisionError("the BigQuery decisions store needs the BigQuery warehouse")
        return BigQueryDecisionStore(warehouse.client, warehouse.project, env.get("OFFERWALL_OPS_DATASET", "ops"),
                                     inline_parameters=warehouse.inline_parameters)
    return DuckDBDecisionStore(ops_duckdb_path(env))
