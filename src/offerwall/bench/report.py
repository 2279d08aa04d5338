"""The benchmark's report: the table on stdout, the log-log plot of time vs rows, and the merge
of several runs into one report. matplotlib (the bench extra) is imported only to draw the plot.
"""

from __future__ import annotations

import json
from pathlib import Path

from offerwall.bench.formatting import fmt_mib, fmt_ratio, fmt_rows, fmt_seconds
from offerwall.bench.scale_run import STEP_ORDER
from offerwall.extras import require


def format_table(scales: list[dict]) -> str:
    header = [
        "scale", "user_offers", "gen s", "gen rows/s", "gen MiB", "lower bnd s", "parse s", "full build s", "full MiB",
        "full/LB", "advance s", "incr build s", "incr/full", "incr MiB", "totals",
    ]
    rows = [header]
    for sc in scales:
        st = sc["steps"]
        ra = sc["ratios"]

        def w(name: str) -> str:
            return fmt_seconds(st[name]["wall_seconds"]) if st.get(name) else "-"

        def m(name: str) -> str:
            return fmt_mib(st[name]["peak_rss_bytes"]) if st.get(name) else "-"

        checks = [c for c in (sc.get("totals_check"), sc.get("totals_check_after_day")) if c is not None]
        totals = "-" if not checks else ("same" if all(c["ok"] for c in checks) else "DIFFER")
        gen_rate = ra["generate_rows_per_second"]
        rows.append([
            sc["label"], fmt_rows(sc.get("rows")), w("generate"),
            "-" if gen_rate is None else f"{gen_rate / 1e3:.0f}k", m("generate"),
            w("lower_bound"), w("dbt_parse"), w("full_build"), m("full_build"),
            fmt_ratio(ra["full_build_over_lower_bound"]) if not ra.get("full_build_over_lower_bound_at_least")
            else ">=" + fmt_ratio(ra["full_build_over_lower_bound_at_least"]),
            w("advance"), w("incremental_build"), fmt_ratio(ra["incremental_over_full_build"], pct=True),
            m("incremental_build"), totals,
        ])
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = ["  ".join(str(v).rjust(widths[i]) for i, v in enumerate(r)) for r in rows]
    lines.insert(1, "  ".join("-" * wd for wd in widths))
    return "\n".join(lines)


def plot(scales: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name in STEP_ORDER:
        xs, ys = [], []
        for sc in scales:
            s = sc["steps"].get(name)
            if s and s["ok"] and sc.get("rows"):
                xs.append(sc["rows"])
                ys.append(max(s["wall_seconds"], 1e-3))
        if xs:
            ax.plot(xs, ys, marker="o", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("raw.user_offers rows")
    ax.set_ylabel("wall time (s)")
    ax.set_title("offerwall bench: time vs rows (log-log)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_report(results: dict, json_path: Path, png_path: Path) -> None:
    print()
    print(format_table(results["scales"]))
    settings = results.get("duckdb_settings") or results["scales"][-1].get("duckdb_settings")
    if settings:
        print(f"\nDuckDB (dbt and lower bound): memory_limit {settings['memory_limit']}, "
              f"threads {settings['threads']} (DUCKDB_MEMORY_LIMIT, DUCKDB_THREADS)")
    largest = results["scales"][-1]
    print(f"\ntargets at {largest['label']}:")
    for name, t in largest["targets"].items():
        verdict = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        print(f"  {name:34s} {verdict}")
    print(f"\nresults: {json_path}\nplot:    {png_path}")


def merge_results(paths: list[str], out_dir: str) -> dict:
    """One report from several runs' results.json (e.g. small scales, then 10m on its own).

    Scales keep their own run's figures (each from one run on one machine); sorted by rows.
    """
    require("bench", "matplotlib")
    runs = [json.loads(Path(p).read_text()) for p in paths]
    scales = sorted((sc for run in runs for sc in run["scales"]), key=lambda sc: sc.get("rows") or sc["target_rows"])
    merged = {"merged_from": [str(Path(p).resolve()) for p in paths], "runs": [
        {k: v for k, v in run.items() if k != "scales"} for run in runs
    ], "scales": scales}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / "results.json", out / "time_vs_rows.png"
    json_path.write_text(json.dumps(merged, indent=2, default=str))
    plot(scales, png_path)
    print_report(merged, json_path, png_path)
    return merged
