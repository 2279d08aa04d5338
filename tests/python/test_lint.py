"""SQLFluff is part of the tests (docs/conventions.md): the project's SQL is lint-clean.

`sqlfluff lint` with the repository's .sqlfluff (dbt templater, `dev` DuckDB target on an empty
throw-away DuckDB file, so no warehouse is needed), over the same paths as `make lint`. A second
test proves the configuration bites: a snippet breaking the house style is flagged.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlfluff.core import FluffConfig, Linter

REPO = Path(__file__).resolve().parents[2]
SQLFLUFF = str(Path(sys.executable).parent / "sqlfluff")
LINT_PATHS = ("models", "snapshots", "analyses", "tests/singular")


def _lint_paths() -> list[str]:
    return [p for p in LINT_PATHS if any((REPO / p).rglob("*.sql"))]


def test_project_sql_is_lint_clean(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        DUCKDB_PATH=str(tmp_path / "lint.duckdb"),
        DBT_TARGET="dev",
        DBT_TARGET_PATH=str(tmp_path / "target"),
        DBT_LOG_PATH=str(tmp_path / "logs"),
        DBT_PROFILES_DIR=str(REPO),
    )
    paths = _lint_paths()
    assert "models" in paths
    res = subprocess.run(
        [SQLFLUFF, "lint", *paths, "--disable-progress-bar"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )
    report = "\n".join(line for line in res.stdout.splitlines() if line.strip())
    assert res.returncode == 0, f"sqlfluff lint {' '.join(paths)} failed:\n{report[-12000:]}\n{res.stderr[-3000:]}"
    assert "FAIL" not in res.stdout


V2_PATHS = ("models/staging/offerwall_v2", "models/marts/offer_experience")


def test_v2_source_sql_is_lint_clean(tmp_path: Path) -> None:
    """The models enabled only with the v2 source (the default lint skips them as disabled), linted
    compiled with `source_model: v2` (.sqlfluff-v2)."""
    env = dict(
        os.environ,
        DUCKDB_PATH=str(tmp_path / "lint.duckdb"),
        DBT_TARGET="dev",
        DBT_TARGET_PATH=str(tmp_path / "target"),
        DBT_LOG_PATH=str(tmp_path / "logs"),
        DBT_PROFILES_DIR=str(REPO),
    )
    res = subprocess.run(
        [SQLFLUFF, "lint", *V2_PATHS, "--config", ".sqlfluff-v2", "--disable-progress-bar"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )
    report = "\n".join(line for line in res.stdout.splitlines() if line.strip())
    assert res.returncode == 0, f"sqlfluff lint (v2) failed:\n{report[-12000:]}\n{res.stderr[-3000:]}"
    assert "Skipped file" not in res.stdout + res.stderr, "v2 models were skipped instead of linted"


def test_lint_config_flags_style_breaks() -> None:
    """The house rules are on: uppercase keywords, leading commas, implicit aliases, tabs."""
    config = FluffConfig.from_path(str(REPO), overrides={"templater": "raw"})
    bad = "SELECT\n    a\n    , b c\nFROM t\n"
    codes = {v.rule_code() for v in Linter(config=config).lint_string(bad).violations}
    assert "CP01" in codes, codes  # keywords lowercase
    assert "LT04" in codes, codes  # trailing commas
    assert "AL02" in codes, codes  # explicit `as` for columns
    good = "select\n    a,\n    b as c\nfrom t\n"
    assert not Linter(config=config).lint_string(good).violations
