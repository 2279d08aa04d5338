"""``offerwall fraud-eval``: how well the anti-fraud mart's high risk tier finds the known fraud.

The generator writes ground truth to ``labels.fraud_users(user_id, fraud_type)``; the dbt models
never read it. This compares the mart ``fct_user_fraud_signals`` (built by dbt in the same DuckDB
file) against it:

- recall of a fraud type = labelled users of that type in the high tier / labelled users of that
  type (a labelled user with no completion is not in the mart: it counts as missed);
- precision of a fraud type = high-tier users whose ``suspected_fraud_type`` is that type and who
  are labelled fraudulent (any type) / high-tier users whose ``suspected_fraud_type`` is that type.
  The column "exact" also shows the share labelled with exactly that type;
- overall: precision = labelled users in the high tier / high-tier users, recall = labelled
  users in the high tier / labelled users.

It returns 1 when any precision (per type or overall) is below ``min_precision`` or any recall is
below ``min_recall`` (a type with no user in the high tier has no precision, and fails a given
minimum), else 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from offerwall import OfferwallError

FRAUD_TYPES = ("device_farm", "bot", "velocity", "chargeback_abuser", "country_hopper")
# generated with --adaptive-fraud-rate; the rules name none of them: recall only (shown when labelled)
ADAPTIVE_TYPES = ("rotating_farm", "slow_bot", "referral_ring", "sleeper", "coordinated_ring")
SIGNALS_TABLE = "fct_user_fraud_signals"
SIGNALS_SCHEMA_SUFFIX = "marts_anti_fraud"
LABELS_TABLE = "labels.fraud_users"
HIGH_TIER = "high"


@dataclass(frozen=True)
class Row:
    """One line of the evaluation table."""

    name: str
    labelled: int  # labelled fraud users of this type (overall: all)
    caught: int  # of those, in the high tier
    flagged: int  # high-tier users attributed to this type (overall: all high-tier users)
    flagged_fraud: int  # of those, labelled fraud of any type
    flagged_exact: int  # of those, labelled with exactly this type (overall: any type)

    @property
    def recall(self) -> float | None:
        return self.caught / self.labelled if self.labelled else None

    @property
    def precision(self) -> float | None:
        return self.flagged_fraud / self.flagged if self.flagged else None

    @property
    def exact_precision(self) -> float | None:
        return self.flagged_exact / self.flagged if self.flagged else None


def _signals_relation(con: duckdb.DuckDBPyConnection) -> str:
    """The schema-qualified fct_user_fraud_signals: `$DBT_SCHEMA_marts_anti_fraud` first, else the only one."""
    found = [
        r[0]
        for r in con.execute(
            "select table_schema from information_schema.tables where table_name = ? order by table_schema",
            [SIGNALS_TABLE],
        ).fetchall()
    ]
    if not found:
        raise OfferwallError(f"no table {SIGNALS_TABLE} in the DuckDB file: run `dbt build` first")
    preferred = f"{os.environ.get('DBT_SCHEMA', 'dev')}_{SIGNALS_SCHEMA_SUFFIX}"
    for schema in (preferred, SIGNALS_SCHEMA_SUFFIX):
        if schema in found:
            return f'"{schema}".{SIGNALS_TABLE}'
    if len(found) == 1:
        return f'"{found[0]}".{SIGNALS_TABLE}'
    raise OfferwallError(
        f"{SIGNALS_TABLE} exists in several schemas ({', '.join(found)}): set DBT_SCHEMA to pick one"
    )


def evaluate(duckdb_path: str | Path) -> list[Row]:
    """Per fraud type and overall counts of the high tier against the labels."""
    db = Path(duckdb_path)
    if not db.exists():
        raise OfferwallError(f"DuckDB file not found: {db}")
    with duckdb.connect(str(db), read_only=True) as con:
        has_labels = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'labels' and table_name = 'fraud_users'"
        ).fetchone()[0]
        if not has_labels:
            raise OfferwallError(f"{db} has no {LABELS_TABLE}: it holds no generated ground truth")
        signals = _signals_relation(con)
        users = con.execute(
            f"""
            select
                coalesce(s.user_id, l.user_id) as user_id,
                coalesce(s.risk_tier = '{HIGH_TIER}', false) as is_high,
                s.suspected_fraud_type,
                l.fraud_type
            from {signals} as s
            full outer join (select distinct user_id, fraud_type from {LABELS_TABLE}) as l
                on s.user_id = l.user_id
            """
        ).fetchall()

    rows = []
    present = {u[3] for u in users}
    for fraud_type in FRAUD_TYPES + tuple(t for t in ADAPTIVE_TYPES if t in present):
        labelled = [u for u in users if u[3] == fraud_type]
        flagged = [u for u in users if u[1] and u[2] == fraud_type]
        rows.append(
            Row(
                name=fraud_type,
                labelled=len(labelled),
                caught=sum(1 for u in labelled if u[1]),
                flagged=len(flagged),
                flagged_fraud=sum(1 for u in flagged if u[3] is not None),
                flagged_exact=sum(1 for u in flagged if u[3] == fraud_type),
            )
        )
    labelled = [u for u in users if u[3] is not None]
    flagged = [u for u in users if u[1]]
    fraud_in_flagged = sum(1 for u in flagged if u[3] is not None)
    rows.append(
        Row(
            name="overall",
            labelled=len(labelled),
            caught=sum(1 for u in labelled if u[1]),
            flagged=len(flagged),
            flagged_fraud=fraud_in_flagged,
            flagged_exact=fraud_in_flagged,
        )
    )
    return rows


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def format_table(rows: list[Row]) -> str:
    header = f"{'fraud type':<18} {'labelled':>8} {'caught':>7} {'recall':>7} {'flagged':>8} {'precision':>9} {'exact':>6}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r.name:<18} {r.labelled:>8} {r.caught:>7} {_fmt(r.recall):>7} {r.flagged:>8} "
            f"{_fmt(r.precision):>9} {_fmt(r.exact_precision):>6}"
        )
    return "\n".join(lines)


def failures(rows: list[Row], min_precision: float | None, min_recall: float | None) -> list[str]:
    """What falls short of the minimums, one line each (empty = all good)."""
    out = []
    for r in rows:
        if min_recall is not None and r.labelled and (r.recall or 0.0) < min_recall:
            out.append(f"{r.name}: recall {_fmt(r.recall)} < {min_recall}")
        if min_precision is not None and (r.labelled or r.flagged) and r.name not in ADAPTIVE_TYPES:
            if r.precision is None or r.precision < min_precision:
                out.append(f"{r.name}: precision {_fmt(r.precision)} < {min_precision}")
    return out


def fraud_eval(duckdb_path: str | Path, min_precision: float | None = None, min_recall: float | None = None) -> int:
    """Print the precision/recall table of the high risk tier; 1 when below a given minimum, else 0."""
    rows = evaluate(duckdb_path)
    print(f"High risk tier of {SIGNALS_TABLE} against {LABELS_TABLE} ({duckdb_path})")
    print(format_table(rows))
    short = failures(rows, min_precision, min_recall)
    if short:
        print("below the minimum: " + "; ".join(short))
        return 1
    if min_precision is not None or min_recall is not None:
        print(f"ok: precision >= {min_precision}, recall >= {min_recall} for every fraud type and overall")
    return 0
