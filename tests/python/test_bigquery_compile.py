"""The project compiled for real BigQuery with no network, and every compiled query checked.

`dbt compile --target bigquery --no-introspect --no-populate-cache --vars '{assume_incremental: true}'`
with dummy credentials (a static oauth-secrets token, never used: nothing is sent), then every
compiled model, snapshot and test is parsed with sqlglot's BigQuery dialect and regenerated with
unsupported constructs raising, plus checks for DuckDB-only spellings sqlglot would silently accept.
Also checks the BigQuery configs the manifest carries: datasets per target, labels, grants,
partitioning and clustering of the completion fact.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlglot
from bq_emulator import DBT, base_env, run, run_parallel
from sqlglot import exp
from sqlglot.errors import ErrorLevel
from sqlglot.tokens import TokenType

# BigQuery functions sqlglot does not model (it parses them as anonymous functions). A function
# used in a model that is neither modelled by sqlglot nor listed here fails the check: add it
# only after checking the BigQuery docs (a DuckDB-only function would fail on the real service).
KNOWN_BIGQUERY_FUNCTIONS: frozenset[str] = frozenset(
    {
        "approx_top_count",
        "farm_fingerprint",
        "generate_uuid",
        "json_extract_string_array",
        "json_value_array",
        "safe_divide",
        "timestamp_trunc",
    }
)
# The members of some of docs/access.md's groups (the deploy job passes the real ones the same
# way); offer_management and user_acquisition are left out: their marts then get only the app.
ACCESS_GROUPS = '{anti_fraud: ["group:fraud@example.com"], analysts: ["group:analysts@example.com"], app: ["serviceAccount:app@offline-project.iam.gserviceaccount.com"]}'
# The policy tag of identifier-like columns (docs/access.md), from the environment.
POLICY_TAG_ENV = {
    "OFFERWALL_POLICY_TAG_TAXONOMY": "projects/offline-project/locations/eu/taxonomies/123",
    "OFFERWALL_POLICY_TAG_IDENTIFIERS": "456",
}
IDENTIFIER_TAG = "projects/offline-project/locations/eu/taxonomies/123/policyTags/456"
PRODUCTION_DATASETS = {
    "staging",
    "intermediate",
    "marts_core",
    "marts_offer_management",
    "marts_user_acquisition",
    "marts_anti_fraud",
    "audit",  # raw load profile, build log (write-audit-publish, docs/guarantees.md)
}


def bigquery_sql_problems(sql: str) -> list[str]:
    """What real BigQuery would reject in one compiled query, as far as we can tell offline."""
    problems: list[str] = []
    try:
        trees = sqlglot.parse(sql, read="bigquery", error_level=ErrorLevel.RAISE)
    except sqlglot.errors.SqlglotError as exc:
        return [f"does not parse as BigQuery: {str(exc)[:300]}"]
    tokens = sqlglot.Dialect.get_or_raise("bigquery").tokenize(sql)
    if any(tok.token_type == TokenType.DCOLON for tok in tokens):
        problems.append("uses the `::` cast (DuckDB/Postgres), BigQuery needs cast(x as T)")
    for tree in trees:
        if tree is None:
            continue
        if any(True for _ in tree.find_all(exp.ILike)):
            problems.append("uses ILIKE, which BigQuery does not have")
        for func in tree.find_all(exp.Anonymous):
            name = func.name.lower()
            if name not in KNOWN_BIGQUERY_FUNCTIONS:
                problems.append(f"calls {name}(), not a BigQuery function sqlglot or this test knows")
        try:
            tree.sql(dialect="bigquery", unsupported_level=ErrorLevel.RAISE)
        except sqlglot.errors.SqlglotError as exc:
            problems.append(f"has a construct BigQuery does not support: {str(exc)[:300]}")
    return problems


def offline_env(tmp: Path, dataset: str = "ci_offline") -> dict[str, str]:
    return base_env(
        tmp,
        {
            "BQ_PROJECT": "offline-project",
            "BQ_DATASET": dataset,
            "BQ_AUTH_METHOD": "oauth-secrets",
            "BQ_TOKEN": "offline-compile-sends-nothing",
            **POLICY_TAG_ENV,
        },
    )


def manifest(target_path: Path) -> dict:
    return json.loads((target_path / "manifest.json").read_text())


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("bq-compile")
    target_path = tmp / "target"
    run(
        [DBT, "compile", "--target", "bigquery", "--no-introspect", "--no-populate-cache",
         "--target-path", str(target_path),
         "--vars", "{assume_incremental: true, access_groups: %s}" % ACCESS_GROUPS],
        offline_env(tmp),
    )
    return target_path


def test_every_compiled_node_is_valid_bigquery(compiled):
    nodes = manifest(compiled)["nodes"].values()
    checked = {"model": 0, "snapshot": 0, "test": 0}
    failures = []
    for node in nodes:
        kind = node["resource_type"]
        if kind not in checked:
            continue
        code = node.get("compiled_code")
        assert code, f"{node['unique_id']} was not compiled"
        checked[kind] += 1
        failures += [f"{node['unique_id']}: {p}" for p in bigquery_sql_problems(code)]
    assert not failures, "\n".join(failures)
    models = [n for n in nodes if n["resource_type"] == "model"]
    assert checked["model"] == len(models) > 0
    assert checked["test"] > 0


def test_incremental_branch_is_what_was_compiled(compiled):
    """assume_incremental compiles the incremental branch: the fact reads only new rows."""
    nodes = manifest(compiled)["nodes"].values()
    incremental = [n for n in nodes if n["resource_type"] == "model"
                   and n["config"]["materialized"] == "incremental"]
    assert incremental, "no incremental model"
    for node in incremental:
        # The incremental branch refers to the existing table itself ({{ this }}).
        this = f"`offline-project`.`{node['schema']}`.`{node['alias']}`"
        assert this in node["compiled_code"], (node["unique_id"], this)


def test_incremental_base_prunes_raw_partitions(compiled):
    """The incremental base reads raw.user_offers through a constant `_loaded_at` filter (the
    watermark written into the SQL when the model compiles), which BigQuery prunes to the
    partitions loaded since; a subquery or a column on the right would scan every partition."""
    nodes = manifest(compiled)["nodes"].values()
    node = next(n for n in nodes if n["name"] == "base_offerwall__user_offers")
    assert node["config"]["materialized"] == "incremental"
    code = node["compiled_code"]
    source = re.search(r"from `offline-project`\.`raw`\.`user_offers`\s+where (.+)", code)
    assert source, "the raw table is read without a filter"
    assert re.fullmatch(r"_loaded_at > timestamp '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d'\s*", source.group(1)), (
        f"not a constant filter on the partitioning column: {source.group(1)!r}"
    )
    assert "select" not in source.group(1).lower()


def test_the_checker_rejects_what_bigquery_would_reject():
    assert bigquery_sql_problems("select 1 +")
    assert any("::" in p for p in bigquery_sql_problems("select x::int as y from t"))
    assert any("ILIKE" in p for p in bigquery_sql_problems("select * from t where a ilike 'x%'"))
    assert any("list_value" in p for p in bigquery_sql_problems("select list_value(1, 2) as l"))
    assert bigquery_sql_problems(
        "select safe_divide(a, b) as r, timestamp_diff(x, y, second) as s from `p`.`d`.`t` "
        "qualify row_number() over (partition by a order by x desc) = 1"
    ) == []


def test_datasets_per_target(tmp_path):
    """prod: one dataset per layer; any other target: under the developer's own prefix."""
    layers = {}
    targets = (("prod", "analytics"), ("bigquery", "dbt_alice"))
    run_parallel([
        ([DBT, "parse", "--target", target, "--target-path", str(tmp_path / target)],
         offline_env(tmp_path / f"env-{target}", dataset))
        for target, dataset in targets
    ])
    for target, _ in targets:
        nodes = [n for n in manifest(tmp_path / target)["nodes"].values()
                 if n["resource_type"] in ("model", "snapshot", "seed")]
        layers[target] = {n["unique_id"]: n["schema"] for n in nodes}
        assert all(n["database"] == "offline-project" for n in nodes)
    prod, dev = layers["prod"], layers["bigquery"]
    assert set(prod) == set(dev)
    assert PRODUCTION_DATASETS & set(prod.values()) >= {"staging", "marts_core"}
    assert set(prod.values()) <= PRODUCTION_DATASETS | {"snapshots", "seeds"}
    for uid, schema in prod.items():
        assert dev[uid] == f"dbt_alice_{schema}", uid


def test_labels_grants_partitioning(compiled):
    models = [n for n in manifest(compiled)["nodes"].values() if n["resource_type"] == "model"]
    for node in models:
        labels = node["config"].get("labels") or {}
        assert labels.get("layer"), f"{node['unique_id']} has no layer label"
        folder = node["fqn"][1]
        if folder == "marts":
            domain = node["fqn"][2]
            assert labels["domain"] == domain, node["unique_id"]
            grants = node["config"].get("grants") or {}
            app = "serviceAccount:app@offline-project.iam.gserviceaccount.com"
            expected = {  # docs/access.md, for the groups ACCESS_GROUPS gives
                "anti_fraud": ["group:fraud@example.com", app],
                "core": ["group:analysts@example.com", "group:fraud@example.com", app],
                "offer_management": [app],
                "user_acquisition": [app],
            }
            assert grants == {"roles/bigquery.dataViewer": sorted(expected[domain])}, node["unique_id"]
        else:
            assert not node["config"].get("grants"), f"{node['unique_id']}: only marts carry grants"
        # Descriptions reach the BigQuery console on every real target.
        assert node["config"]["persist_docs"] == {"relation": True, "columns": True}

    fact = next(n for n in models if n["name"] == "fct_task_completions")
    # identifier-like columns carry the policy tag from the environment (docs/access.md)
    for name in ("fct_task_completions", "base_offerwall__user_offers"):
        node = next(n for n in models if n["name"] == name)
        for column in ("ip_hash", "device_hash"):
            assert node["columns"][column].get("policy_tags") == [IDENTIFIER_TAG], (name, column)
    assert fact["config"]["partition_by"]["field"] == "completed_date"
    assert fact["config"]["partition_by"].get("granularity", "day") == "day"
    assert fact["config"]["cluster_by"]
    assert fact["config"]["incremental_strategy"] == "merge"



def sqlfluff_bigquery_problems(sql: str) -> list[str]:
    """SQLFluff's BigQuery dialect (the issue's lint dialect) on one compiled query."""
    from sqlfluff.core import FluffConfig, Linter

    linter = Linter(config=FluffConfig(overrides={"dialect": "bigquery", "templater": "raw"}))
    parsed = linter.parse_string(sql if sql.endswith("\n") else sql + "\n")
    problems = [str(v)[:200] for v in parsed.violations]
    if parsed.tree is None:
        return problems or ["no parse tree"]
    problems += [f"unparsable: {seg.raw[:120]!r}" for seg in parsed.tree.recursive_crawl("unparsable")]
    return problems


def test_sqlfluff_bigquery_dialect_parses_every_compiled_model(compiled):
    """The source SQL is linted for style with the dbt templater (test_lint.py, `dev` target);
    here every model as compiled for BigQuery must parse with SQLFluff's BigQuery dialect."""
    nodes = [n for n in manifest(compiled)["nodes"].values() if n["resource_type"] in ("model", "snapshot")]
    assert nodes
    failures = [
        f"{n['unique_id']}: {p}" for n in nodes for p in sqlfluff_bigquery_problems(n["compiled_code"])
    ]
    assert not failures, "\n".join(failures)
    # The check bites: DuckDB's double-quoted relation names are strings to BigQuery.
    assert sqlfluff_bigquery_problems('select "a"."b" from "db"."s"."t"')
