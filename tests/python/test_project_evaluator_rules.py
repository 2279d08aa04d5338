"""dbt Labs' dbt-project-evaluator rules, checked on the parsed manifest (`dbt parse`, no data).

The package itself needs the dbt hub (unreachable here), so the rules that apply to this project
are re-stated as tests over manifest.json. Each rule names its evaluator model. Intentional
exceptions sit in EXCEPTIONS with the reason; docs/conventions.md lists the same ones.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pytest

from dbt_harness import Warehouse, copy_project

MAX_CHAINED_VIEWS = 4  # fct_chained_views_dependencies: at most this many views in a row
PK_TESTS = {"unique", "unique_combination_of_columns"}

# (rule, model name) -> why this model may break the rule. Keep docs/conventions.md in step.
_FK_CHECK = "a row's disposition checks its parent rows (unknown or quarantined parent) in the base layer"
_ERASURE = "GDPR: the erasure list replaces an erased user's id where the row is first read, as the base models do"
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("staging_dependent_on_staging", "base_offerwall__offer_tasks"): _FK_CHECK,
    ("staging_dependent_on_staging", "base_offerwall__user_offers"): _FK_CHECK,
    ("staging_dependent_on_staging", "stg_ops__fraud_review_decisions"): _ERASURE,
    ("staging_dependent_on_staging", "stg_ml__fraud_model_scores"): _ERASURE,
    ("sources_without_freshness", "ml.fraud_model_scores"):
        "absent until the model is first trained; dbt source freshness errors on a missing table",
    ("sources_without_freshness", "ops.gdpr_erasure_requests"):
        "erasure requests are rare and irregular: days without one say nothing about a stalled pipeline",
    ("sources_without_freshness", "ops.build_runs"):
        "empty until the first publish (dbt source freshness errors on an empty table); publish's gate catches a missed build",
    ("source_fanout", "ops.build_runs"):
        "the run log is written by publish_marts and shown by the app and the docs site; no model needs to read it",
    ("root_models", "dim_dates"):
        "the calendar is generated from vars (MetricFlow's time spine), it has no upstream data",
}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("evaluator")
    wh = Warehouse(copy_project(tmp / "project"), tmp / "wh")
    res = wh.dbt("parse")
    assert res.success, res.summary()
    return wh.manifest()


def _models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        uid: n for uid, n in manifest["nodes"].items()
        if n["resource_type"] == "model" and n["package_name"] == "offerwall"
    }


def _kind(node: dict[str, Any]) -> str:
    """base / staging / intermediate / marts / other, from the folder (as the evaluator does)."""
    parts = PurePosixPath(node["original_file_path"]).parts  # models/<layer>/...
    if parts[1] == "staging":
        return "base" if "base" in parts[2:-1] else "staging"
    return parts[1] if parts[1] in ("intermediate", "marts") else "other"


def _violations(rule: str, found: list[tuple[str, str]]) -> list[str]:
    return sorted(f"{name}: {what}" for name, what in found if (rule, name) not in EXCEPTIONS)


def test_marts_and_intermediate_read_no_source(manifest: dict[str, Any]) -> None:
    """fct_marts_or_intermediate_dependent_on_source."""
    found = [
        (n["name"], parent)
        for n in _models(manifest).values()
        if _kind(n) in ("intermediate", "marts")
        for parent in n["depends_on"]["nodes"] if parent.startswith("source.")
    ]
    assert not _violations("marts_or_intermediate_dependent_on_source", found), found


def test_staging_reads_nothing_downstream(manifest: dict[str, Any]) -> None:
    """fct_staging_dependent_on_marts_or_intermediate."""
    models = _models(manifest)
    found = [
        (n["name"], models[p]["name"])
        for n in models.values() if _kind(n) in ("base", "staging")
        for p in n["depends_on"]["nodes"] if p in models and _kind(models[p]) in ("intermediate", "marts")
    ]
    assert not _violations("staging_dependent_on_downstream", found), found


def test_staging_reads_no_other_staging(manifest: dict[str, Any]) -> None:
    """fct_staging_dependent_on_staging. A staging model reading its own quarantine companion
    (stg_x reads stg_x_quarantine, so the quarantine-share test runs before stg_x is built) is
    the project's pattern, not a violation; any other staging-to-staging edge must be listed."""
    models = _models(manifest)
    found = []
    for n in models.values():
        if _kind(n) not in ("base", "staging"):
            continue
        for p in n["depends_on"]["nodes"]:
            parent = models.get(p)
            if parent is None or _kind(parent) != _kind(n):
                continue
            if parent["name"] == f"{n['name']}_quarantine":
                continue
            found.append((n["name"], f"reads {parent['name']}"))
    assert not _violations("staging_dependent_on_staging", found), found


def test_each_source_table_feeds_one_model(manifest: dict[str, Any]) -> None:
    """fct_source_fanout and fct_unused_sources: one base/staging model per source table."""
    models = _models(manifest)
    found = []
    for uid, source in manifest["sources"].items():
        if source["package_name"] != "offerwall":
            continue
        # models/audit/ profiles every raw table before anything is built (the volume guards of
        # write-audit-publish): an intentional second reader, documented in docs/conventions.md.
        readers = [
            models[c]["name"] for c in manifest["child_map"].get(uid, [])
            if c in models and not models[c]["original_file_path"].startswith("models/audit/")
        ]
        if len(readers) != 1:
            found.append((f"{source['source_name']}.{source['name']}", f"read by {readers}"))
    assert not _violations("source_fanout", found), found


def test_every_model_has_a_parent(manifest: dict[str, Any]) -> None:
    """fct_root_models: a model with no parent hard-codes its data."""
    found = [(n["name"], "no parent") for n in _models(manifest).values() if not n["depends_on"]["nodes"]]
    assert not _violations("root_models", found), found


def test_every_model_has_a_primary_key_test(manifest: dict[str, Any]) -> None:
    """fct_missing_primary_key_tests: unique (+ not_null) on a column, or unique_combination_of_columns."""
    tested: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        if node["resource_type"] == "test" and meta.get("name") in PK_TESTS and node.get("attached_node"):
            tested.setdefault(node["attached_node"], set()).add(meta["name"])
    assert tested, "no primary-key test found at all: the manifest shape changed"
    found = [(n["name"], "no unique test") for uid, n in _models(manifest).items() if uid not in tested]
    assert not _violations("missing_primary_key_tests", found), found


def test_every_model_and_source_is_documented(manifest: dict[str, Any]) -> None:
    """fct_undocumented_models, fct_undocumented_sources, fct_undocumented_source_tables."""
    found = [(n["name"], "no description") for n in _models(manifest).values() if not n["description"].strip()]
    found += [
        (f"{s['source_name']}.{s['name']}", "no description")
        for s in manifest["sources"].values()
        if s["package_name"] == "offerwall" and not (s["description"].strip() and s["source_description"].strip())
    ]
    assert not _violations("undocumented", found), found


def test_every_source_declares_freshness(manifest: dict[str, Any]) -> None:
    """fct_sources_without_freshness."""
    found = [
        (f"{s['source_name']}.{s['name']}", "no freshness")
        for s in manifest["sources"].values()
        if s["package_name"] == "offerwall"
        and not (s.get("loaded_at_field") and any(
            ((s.get("freshness") or {}).get(level) or {}).get("count") for level in ("warn_after", "error_after")))
    ]
    assert not _violations("sources_without_freshness", found), found


def test_models_sit_in_the_folder_of_their_kind(manifest: dict[str, Any]) -> None:
    """fct_model_naming_conventions and fct_model_directories."""
    prefixes = {"base": ("base_",), "staging": ("stg_",), "intermediate": ("int_",), "marts": ("fct_", "dim_")}
    found = [
        (n["name"], f"{_kind(n)} model in {n['original_file_path']}")
        for n in _models(manifest).values()
        if not n["name"].startswith(prefixes.get(_kind(n), ("",)))
    ]
    assert not _violations("model_naming_conventions", found), found


def test_yaml_sits_beside_its_model(manifest: dict[str, Any]) -> None:
    """fct_test_directories / docs placement: a model's YAML is in the model's own folder."""
    found = []
    for n in _models(manifest).values():
        patch = (n.get("patch_path") or "").split("://")[-1]
        if not patch:
            found.append((n["name"], "no YAML"))
        elif PurePosixPath(patch).parent != PurePosixPath(n["original_file_path"]).parent:
            found.append((n["name"], f"YAML in {patch}"))
    assert not _violations("test_directories", found), found


def test_no_long_chains_of_views(manifest: dict[str, Any]) -> None:
    """fct_chained_views_dependencies: more than a few views in a row re-run their whole chain."""
    models = _models(manifest)

    def depth(uid: str, seen: tuple[str, ...] = ()) -> int:
        node = models[uid]
        if node["config"]["materialized"] not in ("view", "ephemeral"):
            return 0
        parents = [p for p in node["depends_on"]["nodes"] if p in models and p not in seen]
        return 1 + max((depth(p, seen + (uid,)) for p in parents), default=0)

    found = [(models[u]["name"], f"{d} views in a row") for u in models if (d := depth(u)) > MAX_CHAINED_VIEWS]
    assert not _violations("chained_views_dependencies", found), found
