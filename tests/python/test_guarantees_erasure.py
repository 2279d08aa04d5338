"""Guarantee 7: erasure.

A GDPR deletion request (a row of the source `ops.gdpr_erasure_requests`: user_id, requested_at,
written by `offerwall erase` into the ops store) removes or anonymises the user in every mart on
the next plain `dbt build`: incremental models included (rows they already hold are rewritten, no
--full-refresh), and it stays that way when the user's later data arrives. The erased users' ids,
and the device/IP hashes only they used, appear in no mart; nothing else in the warehouse keeps
them either, except the erasure list itself (the ops table and its staging model). The requests
are data, never a file in git: no tracked file holds an erasure list or an erased user's id.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import NO_TESTS, REPO, Relation, Warehouse, baseline_warehouse

from offerwall.app.decisions import DuckDBDecisionStore, make_decision
from offerwall.app.identity import service

ERASURE_SOURCE = "source:ops.gdpr_erasure_requests"
ERASURE_LIST_MODELS = {"stg_ops__gdpr_erasure_requests"}  # must hold the ids (as does the source)
USER_ID = re.compile(r"\bu_[0-9a-f]{16}\b")  # the generator's user ids (offerwall.generator.raw_rows)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, Any]:
    return baseline_warehouse(tmp_path_factory)


def _pick_users(wh: Warehouse) -> list[str]:
    """The users whose erasure is hardest to get right: the heaviest completers (many incremental
    rows), a fraudster (in the anti-fraud marts) and a referrer (in other users' rows)."""
    fct = _model(wh, "fct_task_completions")
    heavy = [r[0] for r in wh.query(f"select user_id from {fct.fqn} group by 1 order by count(*) desc, 1 limit 3")]
    fraud = wh.query(
        f"select f.user_id from labels.fraud_users as f join {fct.fqn} as c on c.user_id = f.user_id "
        "group by 1 order by count(*) desc, 1 limit 1"
    )
    referrer = wh.query(
        f"select trim(referrer_user_id) from raw.users as u join {fct.fqn} as c on c.user_id = trim(u.referrer_user_id) "
        "where referrer_user_id is not null group by 1 order by count(*) desc, 1 limit 1"
    )
    picked = heavy + [r[0] for r in fraud + referrer]
    assert len(picked) == 5, f"could not pick 5 users to erase: {picked}"
    return sorted(set(picked))


def _model(wh: Warehouse, name: str) -> Relation:
    for node in wh.manifest()["nodes"].values():
        if node["resource_type"] in ("model", "seed", "snapshot") and node["name"] == name:
            return Relation(node["name"], node["schema"], node.get("alias") or node["name"], node["config"]["materialized"])
    raise AssertionError(f"{name} not in the manifest")


def _own_hashes(wh: Warehouse, users: list[str]) -> list[str]:
    """ip/device hashes that only the erased users ever used: they identify them."""
    placeholders = ", ".join("?" for _ in users)
    rows = wh.query(
        f"""
        select h from (
            select ip_hash as h, trim(user_id) as u from raw.user_offers
            union all select device_hash, trim(user_id) from raw.user_offers
        )
        where h is not null
        group by h
        having bool_and(u in ({placeholders}))
        """,
        users,
    )
    return [r[0] for r in rows]


def _occurrences(wh: Warehouse, relations: list[Relation], values: list[str]) -> list[str]:
    placeholders = ", ".join("?" for _ in values)
    hits = []
    for rel in relations:
        for name, dtype in wh.columns(rel):
            if dtype.upper() == "VARCHAR":
                where = f'trim("{name}") in ({placeholders})'
            elif dtype.upper() == "VARCHAR[]":  # e.g. the users sharing a device
                where = f'list_has_any(list_transform("{name}", lambda x: trim(x)), [{placeholders}])'
            else:
                continue
            n = wh.scalar(f"select count(*) from {rel.fqn} where {where}", values)
            if n:
                hits.append(f"{rel.name}.{name}: {n} rows")
    return hits


def _all_relations(wh: Warehouse) -> list[Relation]:
    """Every model (tables, incrementals and views), snapshot and seed dbt made, but the erasure list."""
    out = []
    for node in wh.manifest()["nodes"].values():
        if node["resource_type"] in ("model", "snapshot", "seed") and node["name"] not in ERASURE_LIST_MODELS:
            if node["config"].get("materialized") != "ephemeral":
                out.append(Relation(node["name"], node["schema"], node.get("alias") or node["name"], node["config"]["materialized"]))
    return out


def _write_requests(wh: Warehouse, users: list[str], requested_at: str) -> None:
    """Through the production path: `offerwall erase` appends to the ops store beside wh's file."""
    for user in users:
        proc = wh.offerwall("erase", "--user-id", user, "--requested-at", requested_at)
        assert "recorded" in proc.stdout, proc.stdout
    stored = {r[0] for r in duckdb_rows(wh.root / "ops.duckdb", "select user_id from gdpr_erasure_requests")}
    assert stored == set(users), f"the ops store holds {stored}, expected {users}"


def duckdb_rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [p for p in out.split("\0") if p]


def _tracked_text(suffixes: tuple[str, ...]) -> dict[str, str]:
    texts = {}
    for rel in _tracked_files():
        path = REPO / rel
        if rel.endswith(suffixes) and path.is_file():
            texts[rel] = path.read_text(errors="replace")
    return texts


def test_no_erasure_list_in_git() -> None:
    """Erasure requests are data (ops.gdpr_erasure_requests), never a file in git: no tracked
    erasure list (a seed or any CSV named after erasure/GDPR), no seed feeds the erasure, and no
    tracked CSV, SQL or YAML holds a user id of the generator's form."""
    files = _tracked_files()
    assert files, "git ls-files listed nothing: not a checkout?"
    lists = [f for f in files if re.search(r"(gdpr|erasure|forget)", f, re.I) and f.endswith((".csv", ".tsv", ".parquet", ".json"))]
    assert not lists, f"erasure lists tracked in git: {lists}"
    texts = _tracked_text((".csv", ".sql", ".yml", ".yaml"))
    assert any(rel.endswith(".sql") for rel in texts), "precondition: the scan read the project's SQL"
    hits = {rel: USER_ID.findall(text)[:3] for rel, text in texts.items() if USER_ID.search(text)}
    assert not hits, f"user ids in tracked files: {hits}"
    source = (REPO / "models/staging/ops/stg_ops__gdpr_erasure_requests.sql").read_text()
    assert "source('ops', 'gdpr_erasure_requests')" in source and "ref(" not in source


def test_erasure_reaches_every_mart_incrementally(baseline: tuple[Warehouse, Any], tmp_path: Path) -> None:
    wh, build = baseline
    assert build.success, build.summary()
    marts = wh.mart_relations()
    users = _pick_users(wh)
    hashes = _own_hashes(wh, users)
    before = _occurrences(wh, marts, users)
    assert before, "precondition: the users to erase appear in the marts before the request"

    watermark = wh.scalar("select max(_loaded_at) from raw.user_offers")
    erased = wh.copy_to(tmp_path / "erased")
    # reviewers decided about two of them before the request (the app's ops store): the decisions
    # and their free-text notes must not bring the ids back (stg_ops__fraud_review_decisions)
    store = DuckDBDecisionStore(erased.root / "ops.duckdb")
    for user in users[:2]:
        store.save(make_decision(user_id=user, decision="needs_more_info", reviewer=service("tester"), note=user,
                                 decided_at=watermark - dt.timedelta(days=1)))
    _write_requests(erased, users, watermark.isoformat(sep=" "))

    res = erased.dbt("build", *NO_TESTS)  # the next ordinary build: no --full-refresh
    assert res.success, res.summary()
    fct = res.node("fct_task_completions")
    assert fct is not None and fct.status == "success", fct
    # the tests that guard the erasure list and the fact it rewrites (the rest of the project's
    # tests ran on the baseline)
    tests = erased.dbt("test", "--select", ERASURE_SOURCE, "stg_ops__gdpr_erasure_requests", "fct_task_completions")
    assert tests.success and tests.nodes, tests.summary()
    # the request reached the warehouse through the source (the on-run-start copy of the ops store)
    listed = {r[0] for r in erased.query("select user_id from ops.gdpr_erasure_requests")}
    assert listed == set(users), f"ops.gdpr_erasure_requests holds {listed}"
    stg = _model(erased, "stg_ops__gdpr_erasure_requests")
    assert erased.scalar(f"select count(*) from {stg.fqn}") == len(users)
    review = _model(erased, "fct_fraud_review_status")
    reviewed = erased.query(f"select user_id, latest_note from {review.fqn}")
    assert len(reviewed) == 2 and all(u.startswith("erased_user_") and note is None for u, note in reviewed), reviewed
    left = _occurrences(erased, marts, users)
    assert not left, f"erased user ids still in the marts after the next build:\n" + "\n".join(left)
    if hashes:
        left = _occurrences(erased, marts, hashes)
        assert not left, f"ip/device hashes only the erased users used are still in the marts:\n" + "\n".join(left)

    rest = [rel for rel in _all_relations(erased) if rel.name not in {m.name for m in marts}]
    left = _occurrences(erased, rest, users)
    assert not left, "erased user ids still in the warehouse outside the marts:\n" + "\n".join(left)

    # later data of an erased user (chargebacks of their credited completions) is erased too
    late = [watermark + dt.timedelta(minutes=30), watermark + dt.timedelta(hours=1)]
    with erased.connect() as con:
        con.execute(
            "insert into raw.user_offers select * replace ('reversed' as status, ? as updated_at, ? as _loaded_at) "
            "from raw.user_offers where trim(user_id) = ? and status = 'credited' "
            "qualify row_number() over (partition by id order by updated_at desc, _loaded_at desc) = 1 "
            "order by id limit 3",
            [*late, users[0]],
        )
        reversed_ids = [r[0] for r in con.execute("select id from raw.user_offers where _loaded_at = ?", [late[1]]).fetchall()]
    assert reversed_ids, f"precondition: {users[0]} has credited completions to reverse"
    res = erased.dbt("build", *NO_TESTS)
    assert res.success, res.summary()
    fct_rel = _model(erased, "fct_task_completions")
    # no tracked file of the repository holds an erased id (the list lives in the ops store only)
    texts = _tracked_text((".csv", ".sql", ".yml", ".yaml", ".md", ".py", ".json", ".txt"))
    leaked = sorted(rel for rel, text in texts.items() if any(user in text for user in users))
    assert not leaked, f"erased user ids in files git tracks: {leaked}"
    statuses = {r[0] for r in erased.query(
        f"select status from {fct_rel.fqn} where completion_id in ({', '.join(map(str, reversed_ids))})"
    )}
    assert statuses == {"reversed"}, f"the late chargebacks did not reach fct_task_completions: {statuses}"
    left = _occurrences(erased, marts, users)
    assert not left, f"erased user ids back in the marts after new data arrived:\n" + "\n".join(left)
