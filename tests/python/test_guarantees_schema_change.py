"""Guarantee 5: schema change.

The product adds columns to its tables all the time: a new column in a raw table must not break
the build (nor change any mart). A contract column disappearing must fail the build with an error
that names the column, and the marts keep their last good numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dbt_harness import NO_TESTS, Warehouse, baseline_warehouse, compare_warehouses

NEW_COLUMNS = {
    "user_offers": ("promo_code", "varchar", "'SPRING'"),
    "offers": ("store_rating", "double", "4.5"),
    "users": ("marketing_opt_in", "boolean", "true"),
}
DROPPED = ("user_offers", "payout_cents")  # contract column of raw.user_offers (docs/source_system.md)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, Any]:
    return baseline_warehouse(tmp_path_factory)


def test_new_raw_column_does_not_break_the_build(baseline: tuple[Warehouse, Any], tmp_path: Path) -> None:
    wh, build = baseline
    assert build.success, build.summary()
    changed = wh.copy_to(tmp_path / "added")
    changed.execute(
        *(
            f"alter table raw.{table} add column {column} {dtype} default {default}"
            for table, (column, dtype, default) in NEW_COLUMNS.items()
        )
    )
    res = changed.dbt("build")
    assert res.success, res.summary()
    marts = wh.mart_relations()
    problems = compare_warehouses(wh, changed, marts)
    assert not problems, "a new raw column changed the marts:\n" + "\n".join(problems)
    for rel in marts:
        names = {name for name, _ in changed.columns(rel)}
        leaked = names & {column for column, _, _ in NEW_COLUMNS.values()}
        assert not leaked, f"{rel.name} picked up new raw columns {leaked}: marts have contracts"


def test_dropped_contract_column_fails_naming_it(baseline: tuple[Warehouse, Any], tmp_path: Path) -> None:
    wh, build = baseline
    assert build.success, build.summary()
    table, column = DROPPED
    changed = wh.copy_to(tmp_path / "dropped")
    changed.execute(f"alter table raw.{table} drop column {column}")
    res = changed.dbt("build", *NO_TESTS)  # the models fail; the marts' tests would be skipped anyway
    assert not res.success, f"the build passed without raw.{table}.{column}"
    errors = res.by_status("error", "fail", "runtime error")
    assert errors or res.exception, res.summary()
    named = [n.unique_id for n in errors if column in n.message] + (
        ["(exception)"] if res.exception and column in res.exception else []
    )
    assert named, f"no error names the missing column {column!r}:\n{res.summary()}"
    marts = wh.mart_relations()
    downstream = wh.descendants(f"source.offerwall.offerwall.{table}") & {m.name for m in marts}
    assert "fct_task_completions" in downstream, downstream
    rebuilt = sorted(n.name for n in res.nodes if n.status == "success" and n.name in downstream)
    assert not rebuilt, f"marts rebuilt without raw.{table}.{column}: {rebuilt}"
    problems = compare_warehouses(wh, changed, marts)
    assert not problems, f"marts changed by a failed build:\n" + "\n".join(problems)
