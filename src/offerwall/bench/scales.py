"""A scale (a number of raw.user_offers rows) -> the `offerwall generate` flags that produce it.

The generator is driven by users and days; the days stay fixed (the generator's reference run is
`--users 1000000 --days 90` -> >= 10M rows) and users grow linearly with the scale:
users = ceil(rows / rows_per_user). rows_per_user is measured at the start of every benchmark by
a pilot `generate` of CALIBRATION_USERS users over SCALE_DAYS days with the same seed and rates
(about a second), so the mapping follows the generator as it changes. The rows a scale really
produced are counted and reported next to its target. See docs/benchmark.md, "Scale mapping".
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
from pathlib import Path

import duckdb

from offerwall import OfferwallError
from offerwall.bench.step_runner import run_step, tail

SCALE_DAYS = 90
CALIBRATION_USERS = 5_000
MIN_USERS = 50
BAD_RATE = 0.01
FRAUD_RATE = 0.03


def parse_scale(text: str) -> int:
    """'100k' -> 100_000, '1m' -> 1_000_000, '2.5M' -> 2_500_000, '5000' -> 5000."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not match:
        raise OfferwallError(f"bad scale {text!r}: expected a row count such as 100k, 1m or 10m")
    number = float(match.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    rows = int(round(number))
    if rows < 1:
        raise OfferwallError(f"bad scale {text!r}: must be at least 1 row")
    return rows


def parse_scales(text: str) -> list[tuple[str, int]]:
    labels = [part.strip() for part in text.split(",") if part.strip()]
    if not labels:
        raise OfferwallError("no scale given: pass --scales such as 100k,1m,10m")
    scales = [(label.lower(), parse_scale(label)) for label in labels]
    seen = [label for label, _ in scales]
    if len(set(seen)) != len(seen):
        raise OfferwallError(f"scale given twice in {text!r}")
    return scales


def generator_flags(rows: int, seed: int, rows_per_user: float) -> dict[str, int | float]:
    """The `offerwall generate` flags aiming at about `rows` raw.user_offers rows."""
    if rows_per_user <= 0:
        raise OfferwallError(f"calibration gave {rows_per_user} user_offers rows per user: generator broken?")
    users = max(MIN_USERS, math.ceil(rows / rows_per_user))
    return {"users": users, "days": SCALE_DAYS, "seed": seed, "bad_rate": BAD_RATE, "fraud_rate": FRAUD_RATE}


def generate_cmd(flags: dict, db_path: Path) -> list[str]:
    """The child command of the generate step."""
    return [
        sys.executable, "-m", "offerwall.cli", "generate",
        "--users", str(flags["users"]), "--days", str(flags["days"]), "--seed", str(flags["seed"]),
        "--bad-rate", str(flags["bad_rate"]), "--fraud-rate", str(flags["fraud_rate"]),
        "--duckdb", str(db_path),
    ]


def raw_row_counts(db_path: Path) -> dict[str, int]:
    """Rows per raw table of a DuckDB file."""
    from offerwall.raw_io import RAW_SCHEMA, RAW_TABLES

    with duckdb.connect(str(db_path), read_only=True) as con:
        return {t: con.execute(f"select count(*) from {RAW_SCHEMA}.{t}").fetchone()[0] for t in RAW_TABLES}


def calibrate(out_dir: Path, seed: int, project: Path) -> dict:
    """Measure raw.user_offers rows per user: a pilot generate of CALIBRATION_USERS users."""
    work = out_dir / "calibration"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    db_path = work / "warehouse.duckdb"
    flags = {"users": CALIBRATION_USERS, "days": SCALE_DAYS, "seed": seed, "bad_rate": BAD_RATE,
             "fraud_rate": FRAUD_RATE}
    res = run_step("calibration", generate_cmd(flags, db_path), cwd=project, env=dict(os.environ),
                   log_path=work / "generate.log")
    if not res.ok:
        raise OfferwallError(f"calibration generate failed (exit {res.returncode}):\n{tail(res.log)}")
    rows = raw_row_counts(db_path)["user_offers"]
    db_path.unlink()
    return {"users": CALIBRATION_USERS, "days": SCALE_DAYS, "user_offers": rows,
            "rows_per_user": rows / CALIBRATION_USERS}
