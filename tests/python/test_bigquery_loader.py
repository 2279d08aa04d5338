"""`offerwall load-bigquery`: round trip through the BigQuery emulator, reruns, errors, Parquet path."""

from __future__ import annotations

import datetime as dt
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bq_emulator import OFFERWALL, base_env, bq_client, bq_emulator, query_rows, run  # noqa: F401

from offerwall import OfferwallError
from offerwall.bigquery_loader import read_raw_parquet, to_csv_bytes, to_parquet_bytes
from offerwall.raw_io import RAW_TABLES, create_table_ddl, export_raw_parquet

N_COMPLETIONS = 1000  # bulk rows on top of the hand-made awkward ones


def make_raw_duckdb(path: Path, completions: int = N_COMPLETIONS) -> None:
    """A raw schema with every awkward value a CSV or Parquet load can get wrong, plus bulk rows."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        for table in RAW_TABLES:
            con.execute(create_table_ddl(table))
        con.execute(
            """insert into raw.offers values
            (1, 'Rise of "Kings", part 2', 'Acme', ' direct', 'Game ', '["android","ios"]', null,
             'active', '2026-01-01 00:00:00', '2026-01-02 03:04:05.123456', '2026-01-03 00:00:00'),
            (2, '', null, 'x', 'SURVEY', '[]', '["US","de"]', 'paused',
             '2026-01-01', '2026-01-01', '2026-01-01'),
            (3, 'Ünïcödé ✓, comma', 'a,b', 'p', 'game', '{not json', '["FR"]', 'ended',
             '2025-12-31 23:59:59.999999', '2026-01-01', '2026-01-01')"""
        )
        con.execute(
            """insert into raw.offer_tasks values
            (10, 1, 1, 'Install, open', ' install', 500, -120, 'active', '2026-01-01', '2026-01-01', '2026-01-01'),
            (11, 1, 2, 'Reach level 25', 'level', 9223372036854775807, 0, 'disabled',
             '2026-01-01', '2026-01-01', '2026-01-01')"""
        )
        con.execute(
            f"""insert into raw.user_offers
            select i, 'u' || (i % 97), 1 + i % 3, case when i % 50 = 0 then null else 10 + i % 2 end,
                   ['pending', 'credited', 'reversed', 'rejected'][1 + i % 4], 500 + i, 120 - i % 300,
                   case when i % 7 = 0 then null else timestamp '2026-01-01' + to_seconds(i * 61) end,
                   timestamp '2026-01-01 00:00:00.000001' + to_seconds(i * 67), timestamp '2026-01-02' + to_seconds(i),
                   case when i % 5 = 0 then ' de' else 'US' end, ' Android ', 'ip' || (i % 13), 'dev' || (i % 17),
                   timestamp '2026-02-01'
            from range(1, {completions + 1}) t(i)"""
        )
        con.execute(
            """insert into raw.users values
            ('u1', '2026-01-01 01:00:00', 'DE', 'android', 'organic', null, '2026-01-02'),
            ('u2', '2026-01-01 02:00:00', 'US', 'ios', 'referral', 'u1', '2026-01-02'),
            (null, '2026-01-01 02:00:00', 'US', 'ios', 'meta', '', '2026-01-02')"""
        )
        con.execute(
            """insert into raw.ua_spend_daily values
            ('2026-01-01', 'meta', 'US', 'ios', 1234.56, '2026-01-02'),
            ('2026-01-02', 'meta', 'US', 'ios', -0.01, '2026-01-03'),
            ('2026-01-03', 'tiktok', 'DE', 'android', 0, '2026-01-04')"""
        )


def duckdb_rows(path: Path, table: str) -> list[tuple]:
    cols = ", ".join(f'"{c}"' for c, _, _ in RAW_TABLES[table])
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"select {cols} from raw.{table}").fetchall()


def normalise(value: object) -> object:
    """BigQuery returns aware UTC timestamps and NUMERIC with 9 decimals; DuckDB naive/2 decimals."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return value.normalize() if value != 0 else Decimal(0)
    return value


def sort_key(row: tuple) -> tuple:
    return tuple((v is None, str(v)) for v in row)


@pytest.fixture(scope="module")
def raw_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("raw") / "source.duckdb"
    make_raw_duckdb(path)
    return path


@pytest.mark.emulator
def test_load_round_trips_every_value_and_rerun_is_idempotent(bq_emulator, raw_db, tmp_path):  # noqa: F811
    env = base_env(tmp_path, bq_emulator.env())
    cmd = [OFFERWALL, "load-bigquery", "--project", bq_emulator.project, "--dataset", "raw_rt",
           "--location", "US", "--duckdb", str(raw_db)]
    client = bq_client(bq_emulator)
    for attempt in (1, 2):  # the second run must replace, not append
        proc = run(cmd, env)
        for table in RAW_TABLES:
            expected = len(duckdb_rows(raw_db, table))
            assert f"raw_rt.{table}: {expected} rows" in proc.stdout, (attempt, proc.stdout)
            got = query_rows(client, f"select count(*) as n from raw_rt.{table}")[0]["n"]
            assert got == expected, (attempt, table, got, expected)
    assert len(duckdb_rows(raw_db, "user_offers")) == N_COMPLETIONS

    for table, columns in RAW_TABLES.items():
        names = [c for c, _, _ in columns]
        got = [
            tuple(normalise(r[c]) for c in names)
            for r in query_rows(client, f"select * from raw_rt.{table}")
        ]
        want = [tuple(normalise(v) for v in row) for row in duckdb_rows(raw_db, table)]
        assert sorted(got, key=sort_key) == sorted(want, key=sort_key), table

    # The schema is the contract's, not whatever a CSV or Parquet file suggests.
    for table, columns in RAW_TABLES.items():
        schema = client.get_table(f"{bq_emulator.project}.raw_rt.{table}").schema
        assert [(f.name, f.field_type) for f in schema] == [
            (c, {"INT64": "INTEGER"}.get(t, t)) for c, _, t in columns
        ]
    client.close()


@pytest.mark.emulator
def test_load_from_parquet_folder_only(bq_emulator, raw_db, tmp_path):  # noqa: F811
    folder = tmp_path / "parquet"
    export_raw_parquet(raw_db, folder)
    env = base_env(tmp_path, bq_emulator.env())
    run([OFFERWALL, "load-bigquery", "--project", bq_emulator.project, "--dataset", "raw_pq",
         "--parquet", str(folder)], env)
    client = bq_client(bq_emulator)
    n = query_rows(client, "select count(*) as n from raw_pq.user_offers")[0]["n"]
    assert n == N_COMPLETIONS
    client.close()


def test_missing_credentials_is_one_clear_line(raw_db, tmp_path):
    env = base_env(tmp_path)  # no emulator host, no key file, empty gcloud config, no metadata server
    proc = subprocess.run(
        [OFFERWALL, "load-bigquery", "--project", "p", "--dataset", "raw", "--duckdb", str(raw_db)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("offerwall load-bigquery: error: no Google Cloud credentials"), lines[0]
    assert "Traceback" not in proc.stderr


def test_unreachable_emulator_is_one_clear_line(raw_db, tmp_path):
    from emulator_process import free_port

    env = base_env(tmp_path, {"BIGQUERY_EMULATOR_HOST": f"http://127.0.0.1:{free_port()}"})
    proc = subprocess.run(
        [OFFERWALL, "load-bigquery", "--project", "p", "--dataset", "raw", "--duckdb", str(raw_db)],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "cannot reach http://127.0.0.1:" in proc.stderr


def test_missing_parquet_file_and_wrong_columns_are_clear_errors(raw_db, tmp_path):
    folder = tmp_path / "pq"
    export_raw_parquet(raw_db, folder)
    (folder / "users.parquet").unlink()
    with pytest.raises(OfferwallError, match="missing .*users.parquet"):
        read_raw_parquet(folder / "users.parquet", "users")
    pq.write_table(pa.table({"id": [1], "name": ["x"]}), folder / "offers.parquet")
    with pytest.raises(OfferwallError, match="has columns"):
        read_raw_parquet(folder / "offers.parquet", "offers")


def test_parquet_payload_for_real_bigquery_has_bigquery_types(raw_db, tmp_path):
    """The production path sends Parquet: UTC timestamps, NUMERIC-compatible decimals, same values."""
    folder = tmp_path / "pq"
    export_raw_parquet(raw_db, folder)
    for table in RAW_TABLES:
        data = read_raw_parquet(folder / f"{table}.parquet", table)
        back = pq.read_table(pa.BufferReader(to_parquet_bytes(data)))
        assert back.schema == data.schema
        assert back.num_rows == len(duckdb_rows(raw_db, table))
        for (name, _, bq_type), field in zip(RAW_TABLES[table], back.schema, strict=True):
            if bq_type == "TIMESTAMP":
                assert field.type == pa.timestamp("us", tz="UTC"), (table, name)
            if bq_type == "NUMERIC":
                assert field.type.precision <= 38 and field.type.scale <= 9, (table, name)
    # A naive raw timestamp is read as UTC wall-clock time, not shifted by the machine's zone.
    offers = read_raw_parquet(folder / "offers.parquet", "offers").to_pylist()
    first = next(r for r in offers if r["id"] == 1)
    assert first["updated_at"] == dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC)


def test_csv_keeps_null_and_empty_string_apart(raw_db, tmp_path):
    folder = tmp_path / "pq"
    export_raw_parquet(raw_db, folder)
    text = to_csv_bytes(read_raw_parquet(folder / "offers.parquet", "offers"), "offers").decode()
    line = next(line for line in text.splitlines() if line.startswith("2,"))
    # name is '' (quoted empty), advertiser is NULL (empty field)
    assert line.startswith('2,"",,"x",'), line
    assert '"Rise of ""Kings"", part 2"' in text
    bad = pa.table({"name": ["two\nlines"]})
    with pytest.raises(OfferwallError, match="line break"):
        to_csv_bytes(bad, "offers")


# --- layout on BigQuery: day partitions on _loaded_at, clustered by the key --------------------
def test_raw_load_jobs_partition_by_loaded_day_and_cluster_by_key():
    from google.cloud import bigquery

    from offerwall.bigquery_loader import RAW_CLUSTERING, load_job_config

    assert set(RAW_CLUSTERING) == set(RAW_TABLES)
    for table, columns in RAW_TABLES.items():
        names = [c for c, _, _ in columns]
        config = load_job_config(table, use_csv=False)
        assert [f.name for f in config.schema] == names
        assert config.source_format == bigquery.SourceFormat.PARQUET
        assert config.write_disposition == bigquery.WriteDisposition.WRITE_TRUNCATE
        assert config.time_partitioning.type_ == "DAY" and config.time_partitioning.field == "_loaded_at"
        assert config.clustering_fields == RAW_CLUSTERING[table]
        assert set(config.clustering_fields) <= set(names) and len(config.clustering_fields) <= 4
        assert config.clustering_fields == (["id"] if "id" in names else
                                            ["spend_date", "channel", "country", "platform"])
        # the emulator refuses partitioning: no layout in its (CSV) job, the same schema
        plain = load_job_config(table, use_csv=True, layout=False)
        assert plain.time_partitioning is None and plain.clustering_fields is None
        assert [f.name for f in plain.schema] == names


class _FakeTables:
    """The two table calls the loader makes before a load job, recorded (no network)."""

    def __init__(self, existing: dict):
        self.existing = existing
        self.deleted: list[str] = []

    def get_table(self, table_id, retry=None, timeout=None):
        from google.api_core.exceptions import NotFound

        if table_id not in self.existing:
            raise NotFound(table_id)
        return self.existing[table_id]

    def delete_table(self, table_id, not_found_ok=False, retry=None, timeout=None):
        self.deleted.append(table_id)
        self.existing.pop(table_id, None)


def test_a_raw_table_with_another_layout_is_recreated_the_same_one_kept():
    """BigQuery refuses a load whose partitioning differs from the existing table's (WRITE_TRUNCATE too):
    an unpartitioned table from an older load is dropped first; a table already laid out is loaded into."""
    from google.cloud import bigquery

    from offerwall.bigquery_loader import _drop_if_layout_differs, layout_differs, load_job_config

    config = load_job_config("user_offers", use_csv=False)
    old = bigquery.Table("p.raw.user_offers")  # as the loader created it before: no layout
    same = bigquery.Table("p.raw.users")
    same.time_partitioning = bigquery.TimePartitioning(type_="DAY", field="_loaded_at")
    same.clustering_fields = ["id"]
    other_field = bigquery.Table("p.raw.offers")
    other_field.time_partitioning = bigquery.TimePartitioning(type_="DAY", field="updated_at")
    other_field.clustering_fields = ["id"]
    unclustered = bigquery.Table("p.raw.offer_tasks")
    unclustered.time_partitioning = bigquery.TimePartitioning(type_="DAY", field="_loaded_at")

    assert layout_differs(old, config)
    assert not layout_differs(same, load_job_config("users", use_csv=False))
    assert layout_differs(other_field, load_job_config("offers", use_csv=False))
    assert layout_differs(unclustered, load_job_config("offer_tasks", use_csv=False))
    # no layout wanted (the emulator) and none there: nothing to do
    assert not layout_differs(old, load_job_config("user_offers", use_csv=True, layout=False))

    fake = _FakeTables({"p.raw.user_offers": old, "p.raw.users": same})
    assert _drop_if_layout_differs(fake, "p.raw.user_offers", config, retry=None)
    assert not _drop_if_layout_differs(fake, "p.raw.users", load_job_config("users", use_csv=False), retry=None)
    assert not _drop_if_layout_differs(fake, "p.raw.offers", load_job_config("offers", use_csv=False), retry=None)
    assert fake.deleted == ["p.raw.user_offers"]
