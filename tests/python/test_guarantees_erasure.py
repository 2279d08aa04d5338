"""Guarantee 7: erasure.

A GDPR deletion request (a row in the seed `gdpr_erasure_requests`: user_id, requested_at) removes
or anonymises the user in every mart on the next plain `dbt build`: incremental models included
(rows they already hold are rewritten, no --full-refresh), and it stays that way when the user's
later data arrives. The erased users' ids, and the device/IP hashes only they used, appear in no
mart; nothing else in the warehouse keeps them either, except the erasure list itself.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import NO_TESTS, Relation, Warehouse, baseline_warehouse, copy_project

SEED = "seeds/gdpr_erasure_requests.csv"
ERASURE_LIST_MODELS = {"gdpr_erasure_requests", "stg_gdpr__erasure_requests"}  # must hold the ids


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


def _write_requests(project: Path, users: list[str], requested_at: str) -> None:
    path = project / SEED
    with path.open(newline="") as f:
        header = next(csv.reader(f))
    assert header == ["user_id", "requested_at"], f"{SEED} header is {header}"
    text = path.read_text()
    with path.open("a", newline="") as f:
        if text and not text.endswith("\n"):
            f.write("\n")
        writer = csv.writer(f, lineterminator="\n")
        for user in users:
            writer.writerow([user, requested_at])


def test_erasure_reaches_every_mart_incrementally(baseline: tuple[Warehouse, Any], tmp_path: Path) -> None:
    wh, build = baseline
    assert build.success, build.summary()
    marts = wh.mart_relations()
    users = _pick_users(wh)
    hashes = _own_hashes(wh, users)
    before = _occurrences(wh, marts, users)
    assert before, "precondition: the users to erase appear in the marts before the request"

    project = copy_project(tmp_path / "project")
    watermark = wh.scalar("select max(_loaded_at) from raw.user_offers")
    _write_requests(project, users, watermark.isoformat(sep=" "))
    erased = wh.copy_to(tmp_path / "erased", project_dir=project)

    res = erased.dbt("build", *NO_TESTS)  # the next ordinary build: no --full-refresh
    assert res.success, res.summary()
    fct = res.node("fct_task_completions")
    assert fct is not None and fct.status == "success", fct
    # the tests that guard the erasure list and the fact it rewrites (the rest of the project's
    # tests ran on the baseline)
    tests = erased.dbt("test", "--select", "gdpr_erasure_requests", "stg_gdpr__erasure_requests", "fct_task_completions")
    assert tests.success and tests.nodes, tests.summary()
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
    statuses = {r[0] for r in erased.query(
        f"select status from {fct_rel.fqn} where completion_id in ({', '.join(map(str, reversed_ids))})"
    )}
    assert statuses == {"reversed"}, f"the late chargebacks did not reach fct_task_completions: {statuses}"
    left = _occurrences(erased, marts, users)
    assert not left, f"erased user ids back in the marts after new data arrived:\n" + "\n".join(left)
