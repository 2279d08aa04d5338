"""Figures as the report prints them: seconds, MiB, ratios, row counts."""

from __future__ import annotations


def fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def fmt_mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 1024**2:.0f}"


def fmt_ratio(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.1f}%" if pct else f"{value:.2f}x"


def fmt_rows(value: int | None) -> str:
    if value is None:
        return "-"
    if value >= 1_000_000:
        return f"{value / 1e6:.2f}M"
    if value >= 1_000:
        return f"{value / 1e3:.1f}k"
    return str(value)
