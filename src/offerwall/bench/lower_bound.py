"""The lower bound: benchmarks/lower_bound.sql, one hand-written DuckDB script that computes
fct_task_completions, fct_offer_daily_performance and fct_user_ltv straight from raw (no dbt) into
schema lower_bound, and the check that it gives the dbt build's answers (same rows, same totals).
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import duckdb

from offerwall import OfferwallError

LOWER_BOUND_SCHEMA = "lower_bound"
# The facts the lower bound recomputes.
CHECKED_TABLES = ("fct_task_completions", "fct_offer_daily_performance", "fct_user_ltv")
# Relative tolerance of a sum comparison (floating point sums in a different order).
SUM_REL_TOL = 1e-9
SUM_ABS_TOL = 1e-6

# Columns of fct_task_completions that come from the task version valid at the completion, i.e.
# from snapshot history. raw holds only the current state of a task, so once a day of edits in
# place has been snapshotted the lower bound cannot know them: left out of the after-day check.
HISTORY_COLUMNS = {
    "fct_task_completions": ("offer_task_version_id", "task_type", "task_position", "has_amount_mismatch"),
}

# Columns the dbt facts take from models outside the three facts' rules (issue 11: expected
# margin from int_completions_expected_margin's learned outcome rates, the fraud tier from
# fct_user_fraud_signals). The lower bound does not recompute them: left out of every check,
# column set included, and reported as out of scope.
OUT_OF_SCOPE_COLUMNS = {
    "fct_offer_daily_performance": ("expected_margin_usd",),
    "fct_user_ltv": (
        "risk_tier", "is_suspected_fraud", "expected_margin_usd_to_date",
        "margin_usd_d7_excl_suspected_fraud", "margin_usd_d30_excl_suspected_fraud",
        "margin_usd_d90_excl_suspected_fraud", "margin_usd_to_date_excl_suspected_fraud",
    ),
}


def lower_bound_sql_path(project: Path) -> Path:
    path = project / "benchmarks" / "lower_bound.sql"
    if not path.is_file():
        raise OfferwallError(f"lower bound script missing: {path}")
    return path


def project_vars(project: Path) -> dict:
    """The `vars` of the project's dbt_project.yml (the business constants)."""
    import yaml

    data = yaml.safe_load((project / "dbt_project.yml").read_text()) or {}
    return dict(data.get("vars") or {})


def render_lower_bound(project: Path, out_path: Path) -> Path:
    """The lower-bound script with each {{ var('name') }} replaced by its dbt_project.yml value.

    The script is plain DuckDB SQL apart from those vars (and loops over list vars): rendering
    keeps it in step with the models' constants instead of repeating them as literals.
    """
    import jinja2

    values = project_vars(project)

    def var(name: str, default=None):
        if name in values:
            return values[name]
        if default is not None:
            return default
        raise OfferwallError(f"lower bound needs var {name!r}, not set in dbt_project.yml")

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    sql = env.from_string(lower_bound_sql_path(project).read_text()).render(var=var)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(sql)
    return out_path


def run_lower_bound(db_path: str, sql_path: str) -> None:
    """Execute the rendered lower-bound script against a DuckDB file (its raw schema)."""
    from offerwall.bench.duckdb_settings import duckdb_config

    sql = Path(sql_path).read_text()
    # the dbt build's DuckDB settings (memory limit, threads; the same default spill folder): same engine
    with duckdb.connect(db_path, config=duckdb_config()) as con:
        con.execute(sql)


def lower_bound_cmd(db_path: Path, sql_path: Path) -> list[str]:
    """The child command of a lower-bound step: run_lower_bound in its own Python process."""
    code = "import sys; from offerwall.bench.lower_bound import run_lower_bound; run_lower_bound(*sys.argv[1:])"
    return [sys.executable, "-c", code, str(db_path), str(sql_path)]


def _find_relation(con, table: str, exclude_schema: str) -> str | None:
    rows = con.execute(
        "select table_schema from information_schema.tables where table_name = ? and table_schema <> ? "
        "order by table_schema",
        [table, exclude_schema],
    ).fetchall()
    if len(rows) > 1:
        raise OfferwallError(f"{table} exists in several schemas ({', '.join(r[0] for r in rows)})")
    return f'"{rows[0][0]}"."{table}"' if rows else None


def _columns(con, relation_schema: str, table: str) -> dict[str, str]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [relation_schema, table],
    ).fetchall()
    return {name: dtype for name, dtype in rows}


_NUMERIC = re.compile(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UBIGINT|UINTEGER|FLOAT|DOUBLE|REAL|DECIMAL.*)$")


def compare_totals(db_path: Path, skip_columns: dict[str, tuple[str, ...]] | None = None) -> dict:
    """Row counts and per-column totals of the lower bound's facts against the dbt build's.

    Every column the two tables share gets a total: numbers are summed, booleans counted as
    trues, anything else (text, timestamps, dates) summed as DuckDB hash() values, which
    compares the multiset of values. A table matches when the column sets, the row counts and
    every total agree (sums of numbers within SUM_REL_TOL). `skip_columns` names columns per
    table to leave out (reported as skipped), e.g. those that need snapshot history;
    OUT_OF_SCOPE_COLUMNS are always left out, column set included.
    """
    skip_columns = skip_columns or {}
    out: dict = {"ok": True, "tables": {}}
    with duckdb.connect(str(db_path), read_only=True) as con:
        for table in CHECKED_TABLES:
            entry: dict = {"ok": False}
            out["tables"][table] = entry
            dbt_rel = _find_relation(con, table, LOWER_BOUND_SCHEMA)
            lb_rel = f'"{LOWER_BOUND_SCHEMA}"."{table}"'
            lb_exists = con.execute(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [LOWER_BOUND_SCHEMA, table],
            ).fetchone()[0]
            if dbt_rel is None or not lb_exists:
                missing = [name for name, gone in (("dbt model", dbt_rel is None), ("lower bound table", not lb_exists))
                           if gone]
                entry["error"] = "missing: " + " and ".join(missing)
                out["ok"] = False
                continue
            dbt_schema = dbt_rel.split(".")[0].strip('"')
            out_of_scope = OUT_OF_SCOPE_COLUMNS.get(table, ())
            dbt_cols = {c: t for c, t in _columns(con, dbt_schema, table).items() if c not in out_of_scope}
            entry["out_of_scope_columns"] = list(out_of_scope)
            lb_cols = _columns(con, LOWER_BOUND_SCHEMA, table)
            skipped = [c for c in skip_columns.get(table, ()) if c in dbt_cols]
            entry["skipped_columns"] = skipped
            entry["columns_only_in_dbt"] = sorted(set(dbt_cols) - set(lb_cols))
            entry["columns_only_in_lower_bound"] = sorted(set(lb_cols) - set(dbt_cols))
            compared = [c for c in dbt_cols if c in lb_cols and c not in skipped]
            exprs = ["count(*)::double"]
            kinds = []
            for col in compared:
                dtype = dbt_cols[col].upper()
                if dtype == "BOOLEAN":
                    exprs.append(f'count(*) filter (where "{col}")::double')
                    kinds.append("number")
                elif _NUMERIC.match(dtype):
                    exprs.append(f'coalesce(sum("{col}"), 0)::double')
                    kinds.append("number")
                else:
                    exprs.append(f'coalesce(sum(hash("{col}")::hugeint), 0)::varchar')
                    kinds.append("hash")
            select = ", ".join(exprs)
            dbt_vals = con.execute(f"select {select} from {dbt_rel}").fetchone()
            lb_vals = con.execute(f"select {select} from {lb_rel}").fetchone()
            entry["relation"] = dbt_rel.replace('"', "")
            entry["rows"] = {"dbt": int(dbt_vals[0]), "lower_bound": int(lb_vals[0])}
            entry["sums"] = {}
            entry["hashes_equal"] = {}
            mismatches = []
            if dbt_vals[0] != lb_vals[0]:
                mismatches.append("row count")
            for col, kind, a, b in zip(compared, kinds, dbt_vals[1:], lb_vals[1:]):
                if kind == "number":
                    entry["sums"][col] = {"dbt": a, "lower_bound": b}
                    same = math.isclose(a, b, rel_tol=SUM_REL_TOL, abs_tol=SUM_ABS_TOL)
                else:
                    same = a == b
                    entry["hashes_equal"][col] = same
                if not same:
                    mismatches.append(col)
            if entry["columns_only_in_dbt"] or entry["columns_only_in_lower_bound"]:
                mismatches.append("column set")
            entry["mismatches"] = mismatches
            entry["ok"] = not mismatches
            out["ok"] = out["ok"] and entry["ok"]
    return out


def totals_summary(check: dict) -> str:
    """The tables that differ and why, on one line."""
    parts = []
    for table, entry in check["tables"].items():
        if entry.get("ok"):
            continue
        parts.append(f"{table}: {entry.get('error') or ', '.join(entry.get('mismatches', []))}")
    return "; ".join(parts)
