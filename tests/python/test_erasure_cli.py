"""`offerwall erase`: a GDPR erasure request becomes a row of the ops store's gdpr_erasure_requests
(docs/privacy.md). Values reach SQL only as bound parameters: an injection string is stored as the
plain id it is; empty, oversized and malformed input is refused with one line on stderr."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from offerwall.cli import main
from offerwall.erasure import MAX_USER_ID_CHARS, ops_store_path

INJECTIONS = [
    "u_1'; drop table gdpr_erasure_requests; --",
    "u_2' or '1'='1",
    'u_3"); delete from gdpr_erasure_requests; --',
    "u_4\\'; select 1; --",
]


def _rows(path: Path) -> list[tuple[str, dt.datetime]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select user_id, requested_at from gdpr_erasure_requests order by all").fetchall()
    finally:
        con.close()


def test_erase_appends_to_the_ops_store_beside_the_warehouse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    rc = main(["erase", "--user-id", "  u_example_0001 ", "--requested-at", "2026-03-01T12:00:00+02:00",
               "--duckdb", str(warehouse)])
    assert rc == 0
    store = tmp_path / "wh" / "ops.duckdb"
    assert _rows(store) == [("u_example_0001", dt.datetime(2026, 3, 1, 10, 0))]  # trimmed, in UTC
    assert "recorded" in capsys.readouterr().out
    assert not warehouse.exists(), "erase must not touch the warehouse file (a build may hold it)"
    # the same request again: nothing new; a later request for the same user: kept (earliest counts)
    assert main(["erase", "--user-id", "u_example_0001", "--requested-at", "2026-03-01 10:00:00",
                 "--duckdb", str(warehouse)]) == 0
    assert "already recorded" in capsys.readouterr().out
    assert main(["erase", "--user-id", "u_example_0001", "--requested-at", "2026-03-04 09:00:00",
                 "--duckdb", str(warehouse)]) == 0
    assert len(_rows(store)) == 2


def test_ops_store_path_follows_the_dbt_rule(tmp_path: Path) -> None:
    assert ops_store_path(tmp_path / "w.duckdb", env={}) == tmp_path / "ops.duckdb"
    assert ops_store_path(tmp_path / "w.duckdb", env={"OPS_DUCKDB_PATH": "/x/o.duckdb"}) == Path("/x/o.duckdb")
    assert ops_store_path(tmp_path / "w.duckdb", tmp_path / "mine.duckdb", env={"OPS_DUCKDB_PATH": "/x"}) == tmp_path / "mine.duckdb"


@pytest.mark.parametrize("user_id", INJECTIONS)
def test_injection_strings_are_stored_as_plain_ids(tmp_path: Path, user_id: str) -> None:
    store = tmp_path / "ops.duckdb"
    assert main(["erase", "--user-id", "u_keep", "--requested-at", "2026-01-01", "--ops-duckdb", str(store)]) == 0
    assert main(["erase", "--user-id", user_id, "--requested-at", "2026-01-02", "--ops-duckdb", str(store)]) == 0
    assert _rows(store) == sorted([("u_keep", dt.datetime(2026, 1, 1)), (user_id, dt.datetime(2026, 1, 2))])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--user-id", "   "], "--user-id is empty"),
        (["--user-id", "u_" + "a" * MAX_USER_ID_CHARS], f"at most {MAX_USER_ID_CHARS}"),
        (["--user-id", "u_1\nu_2"], "control characters"),
        (["--user-id", "u_1", "--requested-at", "yesterday"], "expected an ISO timestamp"),
        (["--user-id", "u_1", "--bigquery-project", "p`; drop table x; --"], "invalid BigQuery project"),
    ],
)
def test_bad_input_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import offerwall.bigquery_loader as loader

    monkeypatch.setattr(loader, "make_client", lambda project, location: _NoClient())
    store = tmp_path / "ops.duckdb"
    rc = main(["erase", *argv, "--ops-duckdb", str(store)])
    err = capsys.readouterr().err
    assert rc == 1 and message in err and err.count("\n") == 1, err
    assert not store.exists(), "a refused request wrote the ops store"


class _NoClient:
    def query(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("a refused request reached BigQuery")
