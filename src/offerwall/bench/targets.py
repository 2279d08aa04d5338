"""The ratios of one scale and the targets of issue 6 (at the largest scale, 10M rows, 2 cores)."""

from __future__ import annotations

TARGET_GEN_ROWS_PER_S = 500_000
TARGET_FULL_OVER_LOWER_BOUND = 3.0
TARGET_INCREMENTAL_OVER_FULL = 0.15
TARGET_PEAK_BYTES = 4 * 1024**3


def ratios(scale: dict) -> dict:
    """Generation rows/s, full build / lower bound, incremental / full build and the peak memory."""
    steps = scale["steps"]

    def wall(name: str) -> float | None:
        s = steps.get(name)
        return s["wall_seconds"] if s and s["ok"] else None

    def timed_out(name: str) -> float | None:
        s = steps.get(name)
        return s["wall_seconds"] if s and (s.get("extra") or {}).get("timed_out") else None

    full, lb, incr = wall("full_build"), wall("lower_bound"), wall("incremental_build")
    gen = steps.get("generate")
    peak = max((s["peak_rss_bytes"] for s in steps.values() if s), default=None)
    full_cut = timed_out("full_build")
    return {
        "generate_rows_per_second": gen["extra"].get("user_offers_per_second") if gen and gen["ok"] else None,
        "full_build_over_lower_bound": full / lb if full and lb else None,
        # a full build killed at the step timeout: the ratio is at least this
        "full_build_over_lower_bound_at_least": full_cut / lb if full_cut and lb else None,
        "incremental_over_full_build": incr / full if full and incr else None,
        "peak_rss_bytes": peak,
    }


def evaluate_targets(scale: dict) -> dict:
    """Each target: the measured value, the target and whether it is met (None when unknown)."""
    r = scale["ratios"]
    checks = {
        "generate_rows_per_second >= 500k": (r["generate_rows_per_second"], TARGET_GEN_ROWS_PER_S, "ge"),
        "full_build / lower_bound <= 3x": (
            r["full_build_over_lower_bound"] or r.get("full_build_over_lower_bound_at_least"),
            TARGET_FULL_OVER_LOWER_BOUND, "le",
        ),
        "incremental / full_build <= 15%": (r["incremental_over_full_build"], TARGET_INCREMENTAL_OVER_FULL, "le"),
        "peak memory <= 4 GiB": (r["peak_rss_bytes"], TARGET_PEAK_BYTES, "le"),
    }
    out = {}
    for name, (value, target, op) in checks.items():
        met = None if value is None else (value >= target if op == "ge" else value <= target)
        out[name] = {"value": value, "target": target, "met": met}
    if r["full_build_over_lower_bound"] is None and r.get("full_build_over_lower_bound_at_least"):
        # only a lower bound of the ratio is known: it can prove a miss, never a hit
        entry = out["full_build / lower_bound <= 3x"]
        entry["value_is_at_least"] = True
        entry["met"] = False if entry["value"] > TARGET_FULL_OVER_LOWER_BOUND else None
    return out
