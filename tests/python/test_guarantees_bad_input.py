"""Guarantee 4: bad input, nothing lost.

On generated data with every kind of deliberately bad row (the generator's ground truth is
`labels.bad_rows`; the models never read it):
- the build stays green;
- each labelled bad row is in its table's quarantine model with its reason (= its kind), but
  a users row whose only defect is an unknown referrer: it is kept with referrer NULL
  (guarantee 12, test_guarantees_parents.py);
- text case/space noise is cleaned in staging, not quarantined;
- every raw row is accounted for: raw = staged + quarantined + superseded (older versions and
  exact copies of an id whose latest version is staged or quarantined), and every staged
  completion reaches fct_task_completions;
- the warn-level share test is silent on a normal load (guarantee 10); an error-level one, at the threshold var
  `quarantine_error_share`, fails the build on a broken export and the marts keep their last good
  numbers instead of publishing wrong ones.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import Relation, Warehouse, baseline_warehouse, compare_warehouses

from offerwall.raw_io import RAW_TABLES

BAD_KINDS = {
    "null_key",
    "unknown_fk",
    "negative_amount",
    "absurd_amount",
    "completed_before_started",
    "completed_in_future",
    "unknown_status",
    "malformed_json",
    "conflicting_duplicate",
}
# How a quarantine row names its raw row, in the form labels.bad_rows.row_id uses (compared lowercased).
QUARANTINE_KEY = {
    "offers": "cast(offer_id as varchar)",
    "offer_tasks": "cast(offer_task_id as varchar)",
    "user_offers": "cast(completion_id as varchar)",
    "users": "user_id",
    "ua_spend_daily": "strftime(spend_date, '%Y-%m-%d') || '|' || channel || '|' || country || '|' || platform",
}
# Models that carry every raw row (base) and the staged rows, per raw table.
# Labelled bad rows the warehouse keeps on purpose (never dropped for a parent): (table, kind).
KEPT_KINDS = {("users", "unknown_fk")}
STAGING_ID = {
    "offers": "offer_id",
    "offer_tasks": "offer_task_id",
    "user_offers": "completion_id",
    "users": "user_id",
    "ua_spend_daily": None,  # grain key, no id column
}
# A broken upstream export: a new version of every 4th completion, with a status nobody knows (appended
# like a real load, so the raw load guards let it through to the quarantine share tests)
BROKEN_EXPORT = (
    "insert into raw.user_offers select * replace ('CREDITED_V2' as status, updated_at + interval 1 minute as updated_at, "
    "_loaded_at + interval 1 minute as _loaded_at) from raw.user_offers where id % 4 = 0"
)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, Any]:
    return baseline_warehouse(tmp_path_factory)


def model(wh: Warehouse, name: str) -> Relation:
    for node in wh.manifest()["nodes"].values():
        if node["resource_type"] == "model" and node["name"] == name:
            return Relation(node["name"], node["schema"], node.get("alias") or node["name"], node["config"]["materialized"])
    raise AssertionError(f"model {name} not in the manifest")


def quarantine(wh: Warehouse, table: str) -> Relation:
    return model(wh, f"stg_offerwall__{table}_quarantine")


def test_build_stays_green_and_labels_cover_every_kind(baseline: tuple[Warehouse, Any]) -> None:
    wh, build = baseline
    assert build.success, build.summary()
    assert not build.by_status("error", "fail", "runtime error", "skipped"), build.summary()
    kinds = {k for (k,) in wh.query("select distinct kind from labels.bad_rows")}
    assert BAD_KINDS <= kinds, f"the generator made no bad rows of kind {sorted(BAD_KINDS - kinds)}"


def test_every_bad_row_is_quarantined_with_its_reason(baseline: tuple[Warehouse, Any]) -> None:
    wh, build = baseline
    assert build.success, build.summary()
    reasons: dict[tuple[str, str], set[str]] = defaultdict(set)
    for table, key_sql in QUARANTINE_KEY.items():
        rel = quarantine(wh, table)
        for key, reason in wh.query(f"select lower({key_sql}), reason from {rel.fqn}"):
            assert reason, f"{rel.name}: a quarantined row without a reason (key {key})"
            reasons[(table, key)].add(reason)

    labels = wh.query("select table_name, lower(row_id), kind from labels.bad_rows")
    assert labels, "labels.bad_rows is empty"
    missing: Counter[tuple[str, str]] = Counter()
    wrong: Counter[tuple[str, str, str]] = Counter()
    examples: dict[Any, str] = {}
    for table, row_id, kind in labels:
        if (table, kind) in KEPT_KINDS:
            continue
        got = reasons.get((table, row_id))
        if not got:
            missing[(table, kind)] += 1
            examples.setdefault((table, kind), row_id)
        elif kind not in got:
            wrong[(table, kind, ",".join(sorted(got)))] += 1
            examples.setdefault((table, kind, ",".join(sorted(got))), row_id)
    assert not missing and not wrong, (
        f"of {len(labels)} labelled bad rows:\n"
        + "".join(f"  not in quarantine: {t}/{k}: {n} rows (e.g. {examples[(t, k)]})\n" for (t, k), n in missing.items())
        + "".join(
            f"  quarantined as {r!r} instead of {k!r}: {t}: {n} rows (e.g. {examples[(t, k, r)]})\n"
            for (t, k, r), n in wrong.items()
        )
    )


def test_every_raw_row_is_accounted_for(baseline: tuple[Warehouse, Any]) -> None:
    wh, build = baseline
    assert build.success, build.summary()
    problems = []
    for table in RAW_TABLES:
        base = model(wh, f"base_offerwall__{table}")
        staged = model(wh, f"stg_offerwall__{table}")
        quar = quarantine(wh, table)
        raw_n = wh.scalar(f"select count(*) from raw.{table}")
        staged_n = wh.scalar(f"select count(*) from {staged.fqn}")
        quar_n = wh.scalar(f"select count(*) from {quar.fqn}")
        superseded_n = wh.scalar(f"select count(*) from {base.fqn} where disposition = 'superseded'")
        other = wh.query(f"select disposition, count(*) from {base.fqn} where disposition not in ('staged', 'quarantined', 'superseded') group by 1")
        if raw_n != staged_n + quar_n + superseded_n or other:
            problems.append(
                f"{table}: raw {raw_n} != staged {staged_n} + quarantined {quar_n} + superseded {superseded_n}"
                f" (other dispositions: {other})"
            )
        key = STAGING_ID[table]
        if key:
            # a superseded row is an older copy of an id that survives, staged or quarantined
            orphans = wh.scalar(
                f"select count(*) from {base.fqn} as b where disposition = 'superseded' and not exists "
                f"(select 1 from {base.fqn} as s where s.{key} is not distinct from b.{key} "
                f"and s.disposition in ('staged', 'quarantined'))"
            )
            if orphans:
                problems.append(f"{table}: {orphans} superseded rows whose id is neither staged nor quarantined")
            dupes = wh.scalar(f"select count(*) - count(distinct {key}) from {staged.fqn}")
            if dupes:
                problems.append(f"{table}: {dupes} duplicate ids in {staged.name}")
    fct = model(wh, "fct_task_completions")
    stg_n = wh.scalar(f"select count(*) from {model(wh, 'stg_offerwall__user_offers').fqn}")
    fct_n = wh.scalar(f"select count(*) from {fct.fqn}")
    lost = wh.scalar(
        f"select count(*) from {model(wh, 'stg_offerwall__user_offers').fqn} as s "
        f"where not exists (select 1 from {fct.fqn} as f where f.completion_id = s.completion_id)"
    )
    if lost or stg_n != fct_n:
        problems.append(f"fct_task_completions has {fct_n} rows for {stg_n} staged completions ({lost} missing)")
    assert not problems, "\n".join(problems)


def test_text_noise_is_cleaned_not_quarantined(baseline: tuple[Warehouse, Any]) -> None:
    wh, build = baseline
    assert build.success, build.summary()
    noisy_completions = """
        select distinct cast(id as varchar) as row_id from raw.user_offers
        where country <> upper(trim(country)) or device_platform <> lower(trim(device_platform))
    """
    noisy_offers = "select distinct cast(id as varchar) as row_id from raw.offers where category <> lower(trim(category))"
    assert wh.scalar(f"select count(*) from ({noisy_completions})") > 0, "raw.user_offers has no case/space noise"
    assert wh.scalar(f"select count(*) from ({noisy_offers})") > 0, "raw.offers has no case/space noise"

    stg_uo = model(wh, "stg_offerwall__user_offers")
    stg_of = model(wh, "stg_offerwall__offers")
    dirty = {
        "stg user_offers.country": f"select count(*) from {stg_uo.fqn} where country <> upper(trim(country))",
        "stg user_offers.device_platform": f"select count(*) from {stg_uo.fqn} where device_platform <> lower(trim(device_platform))",
        "stg offers.category": f"select count(*) from {stg_of.fqn} where category <> lower(trim(category))",
    }
    left = {name: n for name, sql in dirty.items() if (n := wh.scalar(sql))}
    assert not left, f"noise left after staging: {left}"

    # a noisy row with no defect of its own is staged (or is an older copy of a staged id), never quarantined
    for table, noisy, key in (("user_offers", noisy_completions, "completion_id"), ("offers", noisy_offers, "offer_id")):
        quar = quarantine(wh, table)
        quarantined_for_noise = wh.query(
            f"""
            select q.reason, count(*) from ({noisy}) as n
            join {quar.fqn} as q on cast(q.{key} as varchar) = n.row_id
            where n.row_id not in (select row_id from labels.bad_rows where table_name = '{table}')
                and q.reason not in ('parent_quarantined')
            group by 1
            """
        )
        assert not quarantined_for_noise, f"{table}: clean-but-noisy rows quarantined: {quarantined_for_noise}"


def test_clean_rows_are_not_quarantined(baseline: tuple[Warehouse, Any]) -> None:
    """Quarantine holds the labelled bad rows and the rows that depend on them, nothing else: a clean
    row in quarantine would silently disappear from the marts."""
    wh, build = baseline
    assert build.success, build.summary()
    unexplained = {}
    for table, key_sql in QUARANTINE_KEY.items():
        quar = quarantine(wh, table)
        rows = wh.query(
            f"""
            select reason, count(*) from {quar.fqn}
            where lower({key_sql}) not in (select lower(row_id) from labels.bad_rows where table_name = '{table}')
                and reason <> 'parent_quarantined'
            group by 1
            """
        )
        if rows:
            unexplained[table] = rows
    assert not unexplained, f"quarantined rows that the generator did not make bad: {unexplained}"


def _quarantine_tests(wh: Warehouse, table: str) -> dict[str, str]:
    """severity -> test node name of the quarantine_share_below tests on this table's quarantine."""
    target = f"model.offerwall.stg_offerwall__{table}_quarantine"
    out = {}
    for node in wh.manifest()["nodes"].values():
        meta = node.get("test_metadata") or {}
        if node["resource_type"] == "test" and meta.get("name") == "quarantine_share_below":
            if target in node["depends_on"]["nodes"] and meta.get("kwargs", {}).get("model", "").find(f"{table}_quarantine") >= 0:
                out[str(node["config"]["severity"]).lower()] = node["name"]
    return out


def test_quarantine_share_tests_pass_on_a_normal_load(baseline: tuple[Warehouse, Any]) -> None:
    wh, build = baseline
    assert build.success, build.summary()
    tests = _quarantine_tests(wh, "user_offers")
    assert {"warn", "error"} <= set(tests), f"user_offers quarantine share tests by severity: {tests}"
    warn, error = build.node(tests["warn"]), build.node(tests["error"])
    # quarantine_warn_share sits far above the normal bad rate: silent on a normal load
    assert warn is not None and warn.status == "pass", f"{tests['warn']}: {warn}"
    assert error is not None and error.status == "pass", f"{tests['error']}: {error}"


def test_quarantine_error_threshold_is_the_var(baseline: tuple[Warehouse, Any], tmp_path: Path) -> None:
    wh, build = baseline
    assert build.success, build.summary()
    tests = _quarantine_tests(wh, "user_offers")
    assert "error" in tests, tests
    share = wh.scalar(f"select count(*) from {quarantine(wh, 'user_offers').fqn}") / wh.scalar("select count(*) from raw.user_offers")
    assert share > 0
    copy = wh.copy_to(tmp_path / "threshold")
    below = copy.dbt("test", "--select", tests["error"], vars={"quarantine_error_share": share / 2})
    # (the project's on-run hooks are nodes of the result too: look at the test only)
    assert not below.success and [n.status for n in below.nodes if n.resource_type == "test"] == ["fail"], below.summary()
    above = copy.dbt("test", "--select", tests["error"], vars={"quarantine_error_share": min(1.0, share * 2)})
    assert above.success and [n.status for n in above.nodes if n.resource_type == "test"] == ["pass"], above.summary()


def test_broken_export_stops_the_pipeline(baseline: tuple[Warehouse, Any], tmp_path: Path) -> None:
    wh, build = baseline
    assert build.success, build.summary()
    marts = wh.mart_relations()
    broken = wh.copy_to(tmp_path / "broken")
    broken.execute(BROKEN_EXPORT)
    # The export's rows carry load times behind the incremental base's watermark (a replay keeps
    # the original ones), so a daily build cannot see them: the row reconciliation of the source
    # (raw = staged + superseded + quarantined) stops it; a full refresh reads them and the
    # quarantine share stops it. Either way nothing downstream is rebuilt.
    res = broken.dbt("build")
    assert not res.success, "a build on a broken export (25% unknown statuses) must fail"
    failed = {n.name for n in res.by_status("fail", "error")}
    assert any(name.startswith("source_rows_reconcile_offerwall_user_offers") for name in failed), sorted(failed)
    res = broken.dbt("build", "--full-refresh")
    assert not res.success, "a full refresh on a broken export (25% unknown statuses) must fail"
    failed = {n.name for n in res.by_status("fail", "error")}
    error_test = _quarantine_tests(wh, "user_offers")["error"]
    assert error_test in failed, f"expected {error_test} to fail; failed: {sorted(failed)}"
    # fed by the completions (every model also depends on the raw load profile, which reads every
    # raw table: descendants of the source would be every model)
    downstream = wh.descendants("model.offerwall.base_offerwall__user_offers") & {m.name for m in marts}
    assert "fct_task_completions" in downstream, downstream
    rebuilt = sorted(n.name for n in res.nodes if n.status == "success" and n.name in downstream)
    assert not rebuilt, f"marts rebuilt from the broken export (they must keep the last good numbers): {rebuilt}"
    problems = compare_warehouses(wh, broken, marts)
    assert not problems, "marts changed after a failed build:\n" + "\n".join(problems)
