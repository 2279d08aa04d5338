"""The access matrix of docs/access.md is what the project grants (issue 16, least privilege and
column-level protection), checked offline on the manifest of `dbt parse --target bigquery`:

- every mart's table grants (roles/bigquery.dataViewer) are exactly the members of the groups the
  matrix gives `read` on its dataset; no other model carries grants; with no `access_groups` no
  grant at all;
- `ip_hash` and `device_hash` carry the policy tag built from the environment on every table
  model that stores them, no view carries a policy tag, and on DuckDB (or without the env vars)
  the tags are empty;
- the Offer Management, Offer Experience and User Acquisition marts neither carry nor read an
  identifier-like column (left out, not masked).
What the emulator and this test cannot check (IAM, Data Catalog enforcement) is in docs/access.md.
"""

from __future__ import annotations

import json
import re

import pytest
from bq_emulator import DBT, REPO, base_env, run_parallel
from test_bigquery_compile import POLICY_TAG_ENV, IDENTIFIER_TAG, manifest, offline_env

GROUPS = ("pipeline", "anti_fraud", "offer_management", "user_acquisition", "analysts", "app", "privacy")
IDENTIFIER_COLUMNS = ("ip_hash", "device_hash")
IDENTIFIER_LIKE = re.compile(r"(^|_)(ip|ip_hash|device_hash|device_id|email|phone|ip_address|note)($|_)")
OTHER_TEAMS = ("offer_management", "user_acquisition", "offer_experience")


def member(group: str) -> str:
    return f"group:{group}@example.com"


def access_matrix() -> dict[str, dict[str, str]]:
    """docs/access.md's matrix: dataset / object -> group -> right."""
    lines = (REPO / "docs" / "access.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| dataset / object |"))
    header = [cell.strip().strip("`") for cell in lines[start].strip("|").split("|")]
    assert tuple(header[1:]) == GROUPS, header
    matrix = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        for name in re.findall(r"`([^`]+)`", cells[0]):
            matrix[name] = dict(zip(GROUPS, cells[1:], strict=True))
    return matrix


@pytest.fixture(scope="module")
def manifests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("access")
    groups = json.dumps({g: [member(g)] for g in GROUPS})
    bare = {k: v for k, v in offline_env(tmp / "env-bare").items() if k not in POLICY_TAG_ENV}
    commands = {
        "bigquery": ([DBT, "parse", "--target", "prod", "--target-path", str(tmp / "bigquery"),
                      "--vars", "{access_groups: %s}" % groups], offline_env(tmp / "env-bq")),
        "bare": ([DBT, "parse", "--target", "prod", "--target-path", str(tmp / "bare")], bare),
    }
    run_parallel(list(commands.values()))
    duckdb_env = {**base_env(tmp / "env-duckdb"), **POLICY_TAG_ENV}
    run_parallel([([DBT, "parse", "--target-path", str(tmp / "duckdb"),
                    "--vars", "{access_groups: %s}" % groups], duckdb_env)])
    return {name: manifest(tmp / name) for name in ("bigquery", "bare", "duckdb")}


def _models(m: dict) -> list[dict]:
    return [n for n in m["nodes"].values() if n["resource_type"] == "model" and n["package_name"] == "offerwall"]


def test_matrix_is_complete() -> None:
    matrix = access_matrix()
    for dataset in ("marts_core", "marts_anti_fraud", "marts_offer_management", "marts_user_acquisition",
                    "marts_offer_experience", "raw", "staging", "intermediate", "ops.fraud_review_decisions",
                    "ops.gdpr_erasure_requests", "ops.build_runs"):
        assert dataset in matrix, f"docs/access.md has no row for {dataset}"
    for dataset, rights in matrix.items():
        assert set(rights.values()) <= {"read", "write", "append", "tag", "-"}, (dataset, rights)
    # least privilege: raw/staging/intermediate for the pipeline only; nobody but the app writes decisions
    for dataset in ("raw", "staging", "intermediate", "snapshots", "audit"):
        assert {g for g, r in matrix[dataset].items() if r != "-"} == {"pipeline"}, dataset
    assert {g: r for g, r in matrix["ops.fraud_review_decisions"].items() if r != "-"} == {"pipeline": "read", "app": "append"}
    assert {g for g, r in matrix["marts_anti_fraud"].items() if r == "read"} == {"anti_fraud", "app"}


def test_mart_grants_follow_the_matrix(manifests: dict[str, dict]) -> None:
    matrix = access_matrix()
    marts = [n for n in _models(manifests["bigquery"]) if n["fqn"][1] == "marts"]
    assert len(marts) > 20
    for node in marts:
        dataset = node["schema"]  # prod: the dataset is the folder's, marts_<team>
        assert dataset in matrix, f"{node['name']}: dataset {dataset} is not in docs/access.md"
        readers = sorted(member(g) for g, right in matrix[dataset].items() if right == "read")
        assert node["config"].get("grants") == {"roles/bigquery.dataViewer": readers}, node["name"]
    for node in _models(manifests["bigquery"]):
        if node["fqn"][1] != "marts":
            assert not node["config"].get("grants"), f"{node['name']}: only marts carry table grants"
    assert not [n["name"] for n in _models(manifests["bare"]) if n["config"].get("grants")], \
        "grants without access_groups"
    assert not [n["name"] for n in _models(manifests["duckdb"]) if n["config"].get("grants")], "grants on DuckDB"


def test_identifier_columns_carry_the_policy_tag(manifests: dict[str, dict]) -> None:
    tagged = {}
    for node in _models(manifests["bigquery"]):
        materialized = node["config"]["materialized"]
        for name, column in node["columns"].items():
            tags = column.get("policy_tags") or []
            if tags:
                assert materialized in ("table", "incremental"), f"{node['name']}.{name}: a view cannot carry a policy tag"
                tagged[(node["name"], name)] = tags
        if materialized in ("table", "incremental"):
            for name in IDENTIFIER_COLUMNS:
                if name in node["columns"]:
                    assert node["columns"][name].get("policy_tags") == [IDENTIFIER_TAG], (node["name"], name)
    stored = ("fct_task_completions", "base_offerwall__user_offers", "int_task_completions_versioned")  # tables that store the hashes
    assert {(model, column) for model in stored for column in ("ip_hash", "device_hash")} <= set(tagged)
    assert set(map(tuple, tagged.values())) == {(IDENTIFIER_TAG,)}
    # a table model that selects the hashes through must document them (so they get the tag):
    # the others only count or join on them
    counts_only = {
        "int_user_behaviour_features", "int_user_completion_stats", "int_user_links", "fct_user_fraud_signals",
        "fct_fraud_review_queue",
    }  # int_user_completion_stats: counts them and hashes them into a per-user fingerprint
    for node in _models(manifests["bigquery"]):
        if node["config"]["materialized"] in ("table", "incremental") and "ip_hash" in node["raw_code"]:
            assert node["name"] in counts_only or all(
                c in node["columns"] for c in IDENTIFIER_COLUMNS
            ), f"{node['name']} reads ip_hash but does not declare (and tag) it"
    for name in ("bare", "duckdb"):
        leftovers = [(n["name"], c) for n in _models(manifests[name]) for c, col in n["columns"].items() if col.get("policy_tags")]
        assert not leftovers, f"policy tags on {name}: {leftovers}"


def test_other_teams_marts_carry_no_identifier(manifests: dict[str, dict]) -> None:
    checked = 0
    for node in _models(manifests["bigquery"]):
        if node["fqn"][1] != "marts" or node["fqn"][2] not in OTHER_TEAMS:
            continue
        checked += 1
        bad = [c for c in node["columns"] if IDENTIFIER_LIKE.search(c)]
        assert not bad, f"{node['name']} carries identifier-like columns {bad}"
        assert not re.search(r"\b(ip_hash|device_hash)\b", node["raw_code"]), f"{node['name']} reads ip/device hashes"
    assert checked >= 8, f"only {checked} marts of the other teams found"
