"""`offerwall fraud-train --bigquery-project` without a BigQuery: the one training query on both
dialects, the labels' export for load-bigquery, the Parquet payload real BigQuery gets, and the
errors. The run on the emulator (train, rebuild the mart, same scores as DuckDB on the same data)
is test_bigquery_emulator_e2e.py::test_fraud_train_on_bigquery_scores_the_mart_as_duckdb_would."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from bq_emulator import OFFERWALL, base_env

from offerwall import OfferwallError, fraud_ml
from offerwall.bigquery_loader import to_parquet_bytes
from offerwall.fraud_ml_bigquery import _typed, marts_dataset
from offerwall.fraud_model import MODEL_INPUTS
from offerwall.raw_io import export_labels_parquet


def small_warehouse(path: Path) -> None:
    """Four users in the mart (u4 has no features at all), labels for u1 and u9 (not in the mart),
    and decisions: u1 cleared after being confirmed, u2 confirmed, u3 only 'needs_more_info'."""
    features = ", ".join(f"{c} double" for c in MODEL_INPUTS)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema labels; create schema ops")
        con.execute(f"create table marts.mart (user_id varchar, {features})")
        values = ", ".join(["1.5"] * len(MODEL_INPUTS))
        nulls = ", ".join(["null"] * len(MODEL_INPUTS))
        con.execute(f"insert into marts.mart values ('u3', {values}), ('u1', {values}), ('u2', {values}), "
                    f"('u4', {nulls})")
        con.execute("create table labels.fraud_users (user_id varchar, fraud_type varchar)")
        con.execute("insert into labels.fraud_users values ('u1', 'bot'), ('u9', 'bot')")
        con.execute("create table ops.fraud_review_decisions (decision_id varchar, user_id varchar, "
                    "decision varchar, decided_at timestamp)")
        con.execute("insert into ops.fraud_review_decisions values "
                    "('d1', 'u1', 'confirmed_fraud', '2026-01-01 10:00'), ('d2', 'u1', 'cleared', '2026-01-01 11:00'), "
                    "('d3', 'u2', 'confirmed_fraud', '2026-01-01 10:00'), ('d4', 'u3', 'needs_more_info', '2026-01-02')")


def test_the_training_query_is_one_text_for_both_engines(tmp_path):
    sql = fraud_ml.dataset_sql("`p.ci_marts_anti_fraud.m`", "`p.labels.fraud_users`", "`p.ops.fraud_review_decisions`")
    sqlglot.parse_one(sql, read="bigquery")  # BigQuery SQL (the emulator runs it in the e2e test)
    db = tmp_path / "small.duckdb"
    small_warehouse(db)
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(fraud_ml.dataset_sql("marts.mart", "labels.fraud_users",
                                                "ops.fraud_review_decisions")).fetchall()
        plain = con.execute(fraud_ml.dataset_sql("marts.mart", "labels.fraud_users", None)).fetchall()
    data = fraud_ml.dataset_from_rows(rows, "marts.mart")
    # every user of the mart once, by id; a label of a user outside the mart adds nobody
    assert data.user_ids.tolist() == ["u1", "u2", "u3", "u4"]
    # the latest confirmed/cleared decision wins over the label; 'needs_more_info' decides nothing
    assert data.y.tolist() == [0, 1, 0, 0] and data.from_review == 2
    assert data.fraud_type.tolist() == ["bot", "", "", ""]
    assert np.all(data.x[:3] == 1.5) and np.all(data.x[3] == 0.0)  # missing features read as 0
    without = fraud_ml.dataset_from_rows(plain, "marts.mart")
    assert without.y.tolist() == [1, 0, 0, 0] and without.from_review == 0
    # the order rows arrive in does not matter (BigQuery returns them in any order)
    assert fraud_ml.data_hash(fraud_ml.dataset_from_rows(rows[::-1], "m")) == fraud_ml.data_hash(data)
    with pytest.raises(OfferwallError, match="empty"):
        fraud_ml.dataset_from_rows([], "marts.mart")


def test_marts_dataset_follows_generate_schema_name():
    assert marts_dataset("") == "marts_anti_fraud"  # production
    assert marts_dataset("dbt_alice") == "dbt_alice_marts_anti_fraud"


def test_labels_are_exported_for_load_bigquery_when_the_source_has_them(tmp_path):
    db = tmp_path / "small.duckdb"
    small_warehouse(db)
    paths = export_labels_parquet(db, tmp_path / "pq" / "labels")
    assert sorted(pq.read_table(paths["fraud_users"]).to_pylist(), key=lambda r: r["user_id"]) == [
        {"user_id": "u1", "fraud_type": "bot"}, {"user_id": "u9", "fraud_type": "bot"}]
    bare = tmp_path / "bare.duckdb"
    duckdb.connect(str(bare)).close()
    assert export_labels_parquet(bare, tmp_path / "none") == {} and not (tmp_path / "none").exists()


def test_parquet_payload_for_real_bigquery_has_the_tables_types():
    """Real BigQuery gets Parquet (the emulator CSV): INT64, FLOAT64, STRING and UTC timestamps
    that keep the naive UTC wall-clock time."""
    at = dt.datetime(2026, 3, 1, 10, 0, 0)
    scores = pa.table({"user_id": ["u1"], "model_version": ["v1-abc"], "model_score": [0.123456789012345678],
                       "top_features": ["a:+1.00"], "scored_at": pa.array([at], pa.timestamp("us"))})
    typed = _typed(scores, fraud_ml.SCORE_COLUMNS)
    back = pq.read_table(pa.BufferReader(to_parquet_bytes(typed)))
    assert back.schema.field("model_score").type == pa.float64()
    assert back.schema.field("scored_at").type == pa.timestamp("us", tz="UTC")
    row = back.to_pylist()[0]
    assert row["scored_at"] == at.replace(tzinfo=dt.UTC) and row["model_score"] == 0.123456789012345678
    version = pa.Table.from_pylist([{name: 1 if kind == "INT64" else at if kind == "TIMESTAMP" else "x"
                                     for name, kind in fraud_ml.VERSION_COLUMNS}])
    assert [f.type for f in _typed(version, fraud_ml.VERSION_COLUMNS).schema] == [
        {"INT64": pa.int64(), "TIMESTAMP": pa.timestamp("us", tz="UTC"), "STRING": pa.string()}[kind]
        for _, kind in fraud_ml.VERSION_COLUMNS]


@pytest.mark.parametrize("setting", ["no credentials", "unreachable emulator"])
def test_fraud_train_on_bigquery_fails_in_one_clear_line(tmp_path, setting):
    from emulator_process import free_port

    extra = {} if setting == "no credentials" else {"BIGQUERY_EMULATOR_HOST": f"http://127.0.0.1:{free_port()}"}
    proc = subprocess.run([OFFERWALL, "fraud-train", "--bigquery-project", "p"], env=base_env(tmp_path, extra),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    expected = "no Google Cloud credentials" if setting == "no credentials" else "cannot reach http://127.0.0.1:"
    assert lines[0].startswith("offerwall fraud-train: error: ") and expected in lines[0], lines[0]
    bad = subprocess.run([OFFERWALL, "fraud-train", "--bigquery-project", "p", "--ops-dataset", "ops`; drop"],
                         env=base_env(tmp_path, extra), capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "invalid BigQuery ops dataset" in bad.stderr
