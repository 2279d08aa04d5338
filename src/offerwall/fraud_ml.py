"""``offerwall fraud-train``: the learned anti-fraud model (needs the ``ml`` extra: scikit-learn).

Reads the features of ``fct_user_fraud_model_scores`` (built by dbt in the DuckDB file; on BigQuery
the same query and the same fit through ``offerwall.fraud_ml_bigquery``, which only reads and
writes there), the
labels (``labels.fraud_users``, the generator's ground truth, overridden by the reviewers'
latest decision in ``ops.fraud_review_decisions`` when that table exists: confirmed_fraud = 1,
cleared = 0), fits three gradient-boosted parts (see Model: one on every feature, the rules' and
the anomaly score among them; one on how rare the user's rarest features are among legitimate
users, whichever features they are; one on how rare its coordination signs are), picks the high
tier's threshold on inner folds of the training data, and writes:

- ``ml.fraud_model_versions``: one row per training (version, training data hash, rows,
  positives, holdout metrics; `coefficients` holds the model's settings and chosen threshold);
- ``ml.fraud_model_scores``: the latest version's score per user (>= 0.8: the high tier) and the
  three features that raised it most (log-odds lost when the feature is set to the legitimate
  users' median).

dbt reads the scores as the source ``ml.fraud_model_scores``; rebuild the mart after training.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

import pyarrow as pa

from offerwall import OfferwallError
from offerwall.fraud_eval import _signals_relation
from offerwall.fraud_model import HIGH_TIER, MODEL_INPUTS, TARGET_PRECISION, Model

MART = "fct_user_fraud_model_scores"
ML_SCHEMA = "ml"


@dataclass
class Dataset:
    user_ids: np.ndarray
    x: np.ndarray  # users x MODEL_INPUTS, raw values
    y: np.ndarray  # 1 = fraud (labelled or confirmed), 0 = not
    fraud_type: np.ndarray  # labelled type, "" when none
    from_review: int  # labels set by a reviewer's decision


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table]).fetchone()[0])


def mart_relation(con: duckdb.DuckDBPyConnection) -> str:
    """The schema-qualified mart (next to fct_user_fraud_signals)."""
    signals = _signals_relation(con)
    relation = signals.replace("fct_user_fraud_signals", MART)
    schema = relation.split(".")[0].strip('"')
    if not _table_exists(con, schema, MART):
        raise OfferwallError(f"no table {MART} in schema {schema}: run `dbt build` first")
    return relation


def dataset_sql(mart: str, labels: str, decisions: str | None) -> str:
    """The training rows (user, MODEL_INPUTS, labelled type, the reviewers' latest decision), one
    query for both engines: `mart`, `labels` and `decisions` are the quoted relations (no
    decisions table: no decision)."""
    cols = ", ".join(f"m.{c}" for c in MODEL_INPUTS)
    review, join = "cast(null as string)", ""
    if decisions:
        join = f"""
        left join (
            select user_id, decision
            from {decisions}
            where decision in ('confirmed_fraud', 'cleared')
            qualify row_number() over (partition by user_id order by decided_at desc, decision_id desc) = 1
        ) as r on m.user_id = r.user_id"""
        review = "r.decision"
    return f"""
        select m.user_id, {cols}, l.fraud_type, {review} as decision
        from {mart} as m
        left join (select user_id, min(fraud_type) as fraud_type from {labels} group by user_id) as l
            on m.user_id = l.user_id{join}
    """


def dataset_from_rows(rows: list[tuple], where: str) -> Dataset:
    """The Dataset of `dataset_sql`'s rows (any engine's), ordered by user id; reviewed users take
    the reviewer's decision (confirmed_fraud = 1, cleared = 0), the others their label."""
    if not rows:
        raise OfferwallError(f"{where} is empty: nothing to train on")
    rows = sorted(rows, key=lambda r: r[0])
    n_in = len(MODEL_INPUTS)
    user_ids = np.array([r[0] for r in rows], dtype=object)
    x = np.array([[np.nan if v is None else float(v) for v in r[1:1 + n_in]] for r in rows])
    x = np.nan_to_num(x, nan=0.0)
    fraud_type = np.array([r[1 + n_in] or "" for r in rows], dtype=object)
    decision = [r[2 + n_in] for r in rows]
    y = np.array([1 if t else 0 for t in fraud_type])
    reviewed = np.array([d is not None for d in decision])
    y = np.where(reviewed, np.array([1 if d == "confirmed_fraud" else 0 for d in decision]), y)
    return Dataset(user_ids, x, y, fraud_type, int(reviewed.sum()))


def load_dataset(con: duckdb.DuckDBPyConnection) -> Dataset:
    """Features and labels of every user in the mart (DuckDB)."""
    if not _table_exists(con, "labels", "fraud_users"):
        raise OfferwallError("no labels.fraud_users: the model trains on the generator's labels")
    mart = mart_relation(con)
    decisions = "ops.fraud_review_decisions" if _table_exists(con, "ops", "fraud_review_decisions") else None
    return dataset_from_rows(con.execute(dataset_sql(mart, "labels.fraud_users", decisions)).fetchall(), mart)


def precision_recall(y: np.ndarray, score: np.ndarray, threshold: float = HIGH_TIER) -> tuple[float | None, float | None]:
    flagged = score >= threshold
    precision = float(y[flagged].mean()) if flagged.any() else None
    recall = float(flagged[y == 1].mean()) if (y == 1).any() else None
    return precision, recall


def data_hash(data: Dataset) -> str:
    h = hashlib.sha256()
    h.update("\n".join(data.user_ids.tolist()).encode())
    h.update(np.ascontiguousarray(data.x).tobytes())
    h.update(data.y.astype(np.int8).tobytes())
    return h.hexdigest()


def holdout_metrics(data: Dataset, seed: int) -> dict:
    """Precision/recall of the high tier on a 30% holdout (stratified by label)."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(data.y), dtype=bool)
    for label in (0, 1):
        idx = np.flatnonzero(data.y == label)
        test[rng.choice(idx, int(round(len(idx) * 0.3)), replace=False)] = True
    model = Model(seed).fit(data.x[~test], data.y[~test])
    precision, recall = precision_recall(data.y[test], model.score(data.x[test]))
    return {"holdout_rows": int(test.sum()), "holdout_high_tier_precision": precision,
            "holdout_high_tier_recall": recall}


ALGORITHM = ("max of three gradient-boosted parts (specific: every input; generic: the rarest inputs' "
             "rarity among legitimate users; coordination: the rarity of the signup cohort's size), "
             f"high tier at a threshold for precision {TARGET_PRECISION} "
             "on inner folds of the training data")


@dataclass
class Training:
    row: dict  # the ml.fraud_model_versions row
    scores: pa.Table  # ml.fraud_model_scores (SCORE_COLUMNS)


def fit_and_score(data: Dataset, seed: int, versions_before: int) -> Training:
    """Train on the whole dataset and score it: the version row and the scores, whatever the engine."""
    metrics = holdout_metrics(data, seed)
    model = Model(seed).fit(data.x, data.y)
    digest = data_hash(data)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    version = f"v{versions_before + 1}-{digest[:8]}"
    row = {
        "model_version": version, "trained_at": now, "training_rows": len(data.y),
        "positives": int(data.y.sum()), "labels_from_review": data.from_review,
        "training_data_sha256": digest, "algorithm": ALGORITHM,
        "metrics": json.dumps(metrics), "coefficients": json.dumps(model.description()),
    }
    scores = model.score(data.x)
    table = pa.table({
        "user_id": pa.array(data.user_ids.tolist(), pa.string()),
        "model_version": pa.array([version] * len(scores), pa.string()),
        "model_score": pa.array(scores, pa.float64()),
        "top_features": pa.array(model.top_features(data.x), pa.string()),
        "scored_at": pa.array([now] * len(scores), pa.timestamp("us")),
    })
    assert table.column_names == [name for name, _ in SCORE_COLUMNS] and list(row) == [n for n, _ in VERSION_COLUMNS]
    return Training(row, table)


# The two tables' columns (name, BigQuery type), in order; the DuckDB types follow from them.
VERSION_COLUMNS = [("model_version", "STRING"), ("trained_at", "TIMESTAMP"), ("training_rows", "INT64"),
                   ("positives", "INT64"), ("labels_from_review", "INT64"), ("training_data_sha256", "STRING"),
                   ("algorithm", "STRING"), ("metrics", "STRING"), ("coefficients", "STRING")]
SCORE_COLUMNS = [("user_id", "STRING"), ("model_version", "STRING"), ("model_score", "FLOAT64"),
                 ("top_features", "STRING"), ("scored_at", "TIMESTAMP")]
_DUCKDB_TYPES = {"STRING": "varchar", "TIMESTAMP": "timestamp", "INT64": "bigint", "FLOAT64": "double"}


def train(duckdb_path: str | Path, seed: int = 0) -> dict:
    """Train on the whole mart, record the version and replace the scores; returns the version row."""
    db = Path(duckdb_path)
    if not db.exists():
        raise OfferwallError(f"DuckDB file not found: {db}")
    with duckdb.connect(str(db)) as con:
        data = load_dataset(con)
        n_versions = (con.execute(f"select count(*) from {ML_SCHEMA}.fraud_model_versions").fetchone()[0]
                      if _table_exists(con, ML_SCHEMA, "fraud_model_versions") else 0)
        result = fit_and_score(data, seed, n_versions)  # before any write: a failed fit leaves nothing
        con.execute(f"create schema if not exists {ML_SCHEMA}")
        columns = ", ".join(f"{name} {_DUCKDB_TYPES[kind]}" for name, kind in VERSION_COLUMNS)
        con.execute(f"create table if not exists {ML_SCHEMA}.fraud_model_versions ({columns})")
        con.execute(f"insert into {ML_SCHEMA}.fraud_model_versions values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    list(result.row.values()))
        con.register("new_fraud_model_scores", result.scores)
        con.execute(f"create or replace table {ML_SCHEMA}.fraud_model_scores as select * from new_fraud_model_scores")
        con.unregister("new_fraud_model_scores")
    return result.row


def report(row: dict, where: str, rebuild: str) -> None:
    metrics = json.loads(row["metrics"])
    print(f"model {row['model_version']}: {row['training_rows']} users, {row['positives']} fraudulent "
          f"({row['labels_from_review']} labels from reviews), data sha256 {row['training_data_sha256'][:16]}")
    print(f"holdout high tier (score >= {HIGH_TIER}): precision {metrics['holdout_high_tier_precision']}, "
          f"recall {metrics['holdout_high_tier_recall']}")
    print(f"scores in {where}: rebuild the mart with `dbt build {rebuild}--select stg_ml__fraud_model_scores+`")


def fraud_train(duckdb_path: str | Path, seed: int = 0) -> int:
    report(train(duckdb_path, seed), f"{ML_SCHEMA}.fraud_model_scores", "")
    return 0
