"""Source system v2 on BigQuery, offline: the v2 models compile to valid BigQuery SQL (the same
checker as test_bigquery_compile.py), the event model is partitioned by ingestion day and
clustered, its incremental branch prunes on ingested_at, and `load-bigquery` creates the v2 tables
partitioned and clustered."""

from __future__ import annotations

from pathlib import Path

import pytest
from bq_emulator import DBT, bq_emulator, run  # noqa: F401
from test_bigquery_compile import ACCESS_GROUPS, bigquery_sql_problems, manifest, offline_env

from offerwall.source_v2.bigquery import load_job_config
from offerwall.source_v2.contract import BIGQUERY_LAYOUT, V2_TABLES


@pytest.fixture(scope="module")
def compiled_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("bq-compile-v2")
    target_path = tmp / "target"
    run(
        [DBT, "compile", "--target", "bigquery", "--no-introspect", "--no-populate-cache",
         "--target-path", str(target_path),
         "--vars", "{assume_incremental: true, source_model: v2, access_groups: %s}" % ACCESS_GROUPS],
        offline_env(tmp),
    )
    return target_path


def test_v2_nodes_are_valid_bigquery(compiled_v2):
    nodes = [n for n in manifest(compiled_v2)["nodes"].values() if n["resource_type"] in ("model", "test")]
    v2_nodes = [n for n in nodes if "offerwall_v2" in n["original_file_path"] or "offer_experience" in n["original_file_path"]]
    assert len([n for n in v2_nodes if n["resource_type"] == "model"]) >= 17
    failures = [f"{n['unique_id']}: {p}" for n in nodes for p in bigquery_sql_problems(n.get("compiled_code") or "")]
    assert not failures, "\n".join(failures)
    # the switch: v1 base models read the v2 projections, the version models the v2 versions
    by_name = {n["name"]: n for n in nodes if n["resource_type"] == "model"}
    assert "stg_offerwall_v2__user_offers_as_v1" in by_name["base_offerwall__user_offers"]["compiled_code"]
    assert "stg_offerwall_v2__offer_task_versions_as_v1" in by_name["int_offer_task_versions"]["compiled_code"]
    assert "`snp_offerwall__offer_tasks`" not in by_name["int_offer_task_versions"]["compiled_code"]  # no snapshot read


def test_v2_event_model_is_partitioned_clustered_and_prunes(compiled_v2):
    node = next(n for n in manifest(compiled_v2)["nodes"].values() if n["name"] == "base_offerwall_v2__user_offer_events")
    config = node["config"]
    assert config["materialized"] == "incremental" and config["incremental_strategy"] == "merge"
    assert config["partition_by"]["field"] == "ingested_at" and config["partition_by"]["granularity"] == "day"
    assert config["cluster_by"] == ["event_type", "user_id"]
    code = " ".join(node["compiled_code"].split())
    assert "where ingested_at >= (" in code and "max(ingested_at)" in code


def test_load_bigquery_creates_v2_tables_partitioned_and_clustered():
    for table in V2_TABLES:
        config = load_job_config(table, use_csv=False)
        assert [f.name for f in config.schema] == [c for c, _, _ in V2_TABLES[table]]
        if table in BIGQUERY_LAYOUT:
            field, clustering = BIGQUERY_LAYOUT[table]
            assert config.time_partitioning.field == field and config.time_partitioning.type_ == "DAY"
            assert config.clustering_fields == clustering
        else:
            assert config.time_partitioning is None


@pytest.mark.emulator
def test_load_bigquery_loads_raw_v2_next_to_raw(bq_emulator, tmp_path):  # noqa: F811
    """A source generated with --source-model v2: `load-bigquery` loads raw and raw_v2, row for row."""
    import duckdb
    from bq_emulator import OFFERWALL, base_env, bq_client, query_rows

    db = tmp_path / "wh.duckdb"
    env = base_env(tmp_path, bq_emulator.env())
    run([OFFERWALL, "generate", "--users", "60", "--days", "5", "--seed", "3", "--bad-rate", "0.02",
         "--fraud-rate", "0.05", "--duckdb", str(db), "--source-model", "v2"], env)
    proc = run([OFFERWALL, "load-bigquery", "--project", bq_emulator.project, "--dataset", "raw_l",
                "--v2-dataset", "raw_v2_l", "--duckdb", str(db)], env)
    client = bq_client(bq_emulator)
    with duckdb.connect(str(db), read_only=True) as con:
        for table in V2_TABLES:
            expected = con.execute(f"select count(*) from raw_v2.{table}").fetchone()[0]
            assert f"raw_v2_l.{table}: {expected} rows" in proc.stdout, proc.stdout
            assert query_rows(client, f"select count(*) as n from raw_v2_l.{table}")[0]["n"] == expected
        raw_rows = con.execute("select count(*) from raw.user_offers").fetchone()[0]
    assert query_rows(client, "select count(*) as n from raw_l.user_offers")[0]["n"] == raw_rows
    client.close()
