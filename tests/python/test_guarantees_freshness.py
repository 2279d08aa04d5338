"""Guarantee 6: freshness.

`dbt source freshness` passes on a fresh replica, warns once the newest `_loaded_at` of a table is
older than its configured `warn_after`, and errors once it is older than its `error_after`. The
thresholds are read from the project (the manifest), so the test follows the configuration.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import Warehouse, baseline_warehouse

PERIOD = {"minute": dt.timedelta(minutes=1), "hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, Any]:
    return baseline_warehouse(tmp_path_factory)


def _after(rule: dict[str, Any] | None) -> dt.timedelta | None:
    if not rule or rule.get("count") is None or rule.get("period") is None:
        return None
    return int(rule["count"]) * PERIOD[rule["period"]]


def thresholds(wh: Warehouse) -> dict[str, tuple[dt.timedelta, dt.timedelta]]:
    """raw table -> (warn_after, error_after), for every source table with freshness configured."""
    out = {}
    for source in wh.manifest()["sources"].values():
        freshness = source.get("freshness") or {}
        warn, error = _after(freshness.get("warn_after")), _after(freshness.get("error_after"))
        assert source.get("loaded_at_field"), f"source {source['name']} has no loaded_at_field"
        if warn and error:
            out[source["name"]] = (warn, error)
    return out


def _age_tables(wh: Warehouse, ages: dict[str, dt.timedelta]) -> None:
    """Shift each table's `_loaded_at` so that its newest row is `age` old (UTC, naive, like raw)."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    wh.execute(
        *(
            f"update raw.{table} set _loaded_at = _loaded_at + "
            f"(timestamp '{(now - age).isoformat(sep=' ')}' - (select max(_loaded_at) from raw.{table}))"
            for table, age in ages.items()
        )
    )


def _freshness(wh: Warehouse) -> tuple[bool, dict[str, str]]:
    res = wh.dbt("source", "freshness")
    statuses = {n.name: n.status for n in res.nodes}
    assert statuses, res.summary()
    return res.success, statuses


def test_source_freshness_warns_then_errors(baseline: tuple[Warehouse, Any], tmp_path: Path) -> None:
    wh, build = baseline
    assert build.success, build.summary()
    limits = thresholds(wh)
    assert {"user_offers", "offers", "offer_tasks"} <= set(limits), f"freshness configured only for {sorted(limits)}"
    for table, (warn, error) in limits.items():
        assert warn < error, f"{table}: warn_after {warn} is not before error_after {error}"

    copy = wh.copy_to(tmp_path / "freshness")

    # fresh: newest row at half the warn threshold
    _age_tables(copy, {t: warn / 2 for t, (warn, _) in limits.items()})
    ok, statuses = _freshness(copy)
    assert ok and all(statuses[t] == "pass" for t in limits), statuses

    # stale: between warn and error -> warn (the command still succeeds)
    _age_tables(copy, {t: (warn + error) / 2 for t, (warn, error) in limits.items()})
    ok, statuses = _freshness(copy)
    assert all(statuses[t] == "warn" for t in limits), statuses
    assert ok, f"warnings must not fail `dbt source freshness`: {statuses}"

    # very stale: past error_after -> error, the command fails
    _age_tables(copy, {t: error + dt.timedelta(hours=1) for t, (_, error) in limits.items()})
    ok, statuses = _freshness(copy)
    assert all(statuses[t] == "error" for t in limits), statuses
    assert not ok, "a source past error_after must fail `dbt source freshness`"

    # one stale table is enough to fail the run, and only that table errors
    stale = "user_offers"
    _age_tables(copy, {t: (warn / 2 if t != stale else error + dt.timedelta(hours=1)) for t, (warn, error) in limits.items()})
    ok, statuses = _freshness(copy)
    assert not ok and statuses[stale] == "error", statuses
    assert all(statuses[t] == "pass" for t in limits if t != stale), statuses
