"""Guarantee 10: warnings that mean something (issue 10, reproduction 8).

On a normal load (the generator's steady share of bad rows) `dbt build` shows no warning, so a
new problem changes what a build shows. The quarantine share of each raw table is judged against
its own trailing baseline (tests/singular/staging__quarantine_share_jump.sql): a jump warns, and
the build stays green below the error level. A status with a trailing tab is cleaned like one
with spaces.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dbt_harness import Relation, Warehouse, baseline_warehouse


def model(wh: Warehouse, name: str) -> Relation:
    for node in wh.manifest()["nodes"].values():
        if node["resource_type"] == "model" and node["name"] == name:
            return Relation(node["name"], node["schema"], node.get("alias") or node["name"])
    raise AssertionError(f"{name} not in the manifest")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, Any]:
    wh, build = baseline_warehouse(tmp_path_factory)
    assert build.success, build.summary()
    return wh, build


def test_a_normal_build_shows_no_warning(baseline: tuple[Warehouse, Any], tmp_path: Path) -> None:
    """Reproduction 8: 6 warnings fired on every build."""
    base, build = baseline
    warned = [n.name for n in build.by_status("warn")]
    assert not warned, f"the first build warns on normal data: {warned}"
    # the next day's load (same share of bad rows) against the recorded baseline: still silent
    wh = base.copy_to(tmp_path / "next")
    wh.advance(3)
    res = wh.dbt("build")
    assert res.success, res.summary()
    warned = [n.name for n in res.by_status("warn")]
    assert not warned, f"a normal daily build warns: {warned}"


def test_a_jump_in_the_quarantine_share_warns(baseline: tuple[Warehouse, Any], tmp_path: Path) -> None:
    base, _ = baseline
    wh = base.copy_to(tmp_path / "jump")
    # 4% of completions get an unknown status: far above the baseline, below the 10% error level
    # (appended as new versions, like a real load: the raw load guards accept it)
    wh.execute(
        "insert into raw.user_offers select * replace ('CREDITED_V2' as status, updated_at + interval 1 minute as updated_at, "
        "(select max(_loaded_at) from raw.user_offers) + interval 1 hour as _loaded_at) from raw.user_offers where id % 25 = 0"
    )
    res = wh.dbt("build")
    assert res.success, res.summary()
    jump = res.node("staging__quarantine_share_jump")
    assert jump is not None and jump.status == "warn", res.summary()
    error = [n for n in res.nodes if n.name == "user_offers_quarantine_share_error"]
    assert error and error[0].status == "pass", error


def test_a_trailing_tab_is_cleaned(baseline: tuple[Warehouse, Any], tmp_path: Path) -> None:
    base, _ = baseline
    wh = base.copy_to(tmp_path / "tab")
    cid = wh.scalar("select min(id) from raw.user_offers where status = 'credited'")
    wh.execute(f"update raw.user_offers set status = 'credited' || chr(9), country = country || chr(9) where id = {cid}")
    res = wh.dbt("build", "--select", "base_offerwall__user_offers+", "--exclude-resource-type", "test",
                 "--exclude-resource-type", "unit_test")  # fmt: skip
    assert res.success, res.summary()
    stg = model(base, "stg_offerwall__user_offers")
    rows = wh.query(f"select status, length(country) from {stg.fqn} where completion_id = ?", [cid])
    assert rows == [("credited", 2)], f"completion {cid} with a tab: {rows}"
