"""The lineage stays readable (issue 9), checked on the parsed manifest (`dbt parse`, no data):

- no intermediate model depends on a mart, directly or through other models: the layers run
  staging -> intermediate -> marts, never back;
- no macro calls ref(): every dependency of a model is one of its own import CTEs;
- every macro under macros/ has a description (so it appears in the docs site);
- the CI emulator's target is named only in macros/ci/ (plus dbt_project.yml, rendered before
  macros exist), and macros/bigquery/ holds only BigQuery-specific macros;
- every model an exposure reads is `access: public`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dbt_harness import REPO, Warehouse, copy_project

REF_CALL = re.compile(r"\bref\s*\(")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("lineage")
    wh = Warehouse(copy_project(tmp / "project"), tmp / "wh")
    res = wh.dbt("parse")
    assert res.success, res.summary()
    return wh.manifest()


def _project_models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["package_name"] == "offerwall"
    }


def _layer(node: dict[str, Any]) -> str:
    return node["original_file_path"].split("/")[1]  # models/<layer>/...


def test_layers_are_known(manifest: dict[str, Any]) -> None:
    layers = {_layer(node) for node in _project_models(manifest).values()}
    assert {"staging", "intermediate", "marts"} <= layers, layers


def test_no_intermediate_model_downstream_of_a_mart(manifest: dict[str, Any]) -> None:
    models = _project_models(manifest)
    children = manifest["child_map"]
    offenders = []
    for uid, node in models.items():
        if _layer(node) != "marts":
            continue
        seen: set[str] = set()
        todo = [uid]
        while todo:
            for child in children.get(todo.pop(), []):
                if child in models and child not in seen:
                    seen.add(child)
                    todo.append(child)
        offenders += [f"{models[c]['name']} <- {node['name']}" for c in seen if _layer(models[c]) == "intermediate"]
    assert not offenders, f"intermediate models downstream of a mart: {sorted(offenders)}"


def test_intermediate_models_read_no_mart_directly(manifest: dict[str, Any]) -> None:
    models = _project_models(manifest)
    bad = [
        f"{node['name']} refs {models[parent]['name']}"
        for node in models.values()
        if _layer(node) == "intermediate"
        for parent in node["depends_on"]["nodes"]
        if parent in models and _layer(models[parent]) == "marts"
    ]
    assert not bad, bad


def _project_macros(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        m["name"]: m
        for m in manifest["macros"].values()
        if m["package_name"] == "offerwall" and m["original_file_path"].startswith("macros/")
    }


def test_no_macro_calls_ref(manifest: dict[str, Any]) -> None:
    macros = _project_macros(manifest)
    assert macros, "no project macro found"
    calling = sorted(name for name, m in macros.items() if REF_CALL.search(m["macro_sql"]))
    assert not calling, f"macros calling ref(): {calling}"


def test_every_macro_is_documented(manifest: dict[str, Any]) -> None:
    undocumented = sorted(name for name, m in _project_macros(manifest).items() if not m["description"].strip())
    assert not undocumented, f"macros without a description in macros/*.yml: {undocumented}"


def test_emulator_switches_live_in_one_place() -> None:
    outside = sorted(
        str(path.relative_to(REPO))
        for folder in ("macros", "models", "snapshots", "tests/generic", "tests/singular")
        for path in (REPO / folder).rglob("*.sql")
        if "bigquery_emulator" in path.read_text() and not path.is_relative_to(REPO / "macros" / "ci")
    )
    assert not outside, f"emulator switches outside macros/ci/: {outside}"


def test_bigquery_folder_holds_only_bigquery_macros(manifest: dict[str, Any]) -> None:
    misplaced = sorted(
        name
        for name, m in _project_macros(manifest).items()
        if m["original_file_path"].startswith("macros/bigquery/") and not name.startswith("bigquery")
    )
    assert not misplaced, f"all-engine macros under macros/bigquery/: {misplaced}"


def test_exposed_models_are_public(manifest: dict[str, Any]) -> None:
    models = manifest["nodes"]
    exposed = {uid for exp in manifest["exposures"].values() for uid in exp["depends_on"]["nodes"] if uid in models}
    assert exposed, "no exposure reads a model"
    private = sorted(models[uid]["name"] for uid in exposed if models[uid]["access"] != "public")
    assert not private, f"models read by an exposure but not access: public: {private}"


def test_no_model_named_without_its_kind(manifest: dict[str, Any]) -> None:
    """Marts are fct_ (events, aggregates) or dim_ (dimensions), per docs/conventions.md."""
    marts = [n["name"] for n in _project_models(manifest).values() if _layer(n) == "marts"]
    unprefixed = sorted(name for name in marts if not name.startswith(("fct_", "dim_")))
    assert not unprefixed, unprefixed
