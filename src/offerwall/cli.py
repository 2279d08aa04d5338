"""The offerwall command line.

Flags are a contract (other tools call them): change them only with a deprecation path.
Every user error ends as one line on stderr and a non-zero exit, never a traceback; a command
that needs an optional extra says which one to install.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence

from offerwall import OfferwallError

DEFAULT_DUCKDB = "warehouse.duckdb"
# `offerwall generate` with no flags makes the default dataset, the one `make run` builds.
DEFAULT_USERS = 20_000
DEFAULT_DAYS = 120
DEFAULT_SEED = 42
DEFAULT_BAD_RATE = 0.01
DEFAULT_FRAUD_RATE = 0.03

DESCRIPTION = (
    "Offerwall warehouse tools: simulate the production source system into a DuckDB file, "
    "load it into BigQuery, benchmark the pipeline and evaluate the fraud signals."
)
EPILOG = "Run 'offerwall <command> --help' for a command's flags. Docs: README.md and docs/ in the repository."


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line is one line on stderr (no usage dump) and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _default_duckdb() -> str:
    return os.environ.get("DUCKDB_PATH", DEFAULT_DUCKDB)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="offerwall", description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="<command>")
    duckdb_help = "DuckDB file (default: $DUCKDB_PATH, else warehouse.duckdb)"

    gen = sub.add_parser(
        "generate", help="generate a fresh source system into raw (replaces it)",
        description="Generate a fresh source system: the raw tables, the fraud and bad-row labels and the "
                    "simulator's state. With no flags it makes the default dataset (the one make run builds).",
    )
    gen.add_argument("--users", type=_positive_int, default=DEFAULT_USERS, metavar="N",
                     help="users signing up over the period (default: %(default)s)")
    gen.add_argument("--days", type=_positive_int, default=DEFAULT_DAYS, metavar="N",
                     help="simulated days, ending at the simulation clock (default: %(default)s)")
    gen.add_argument("--seed", type=_non_negative_int, default=DEFAULT_SEED, metavar="N",
                     help="random seed: same flags, same bytes (default: %(default)s)")
    gen.add_argument("--bad-rate", type=_rate, default=DEFAULT_BAD_RATE, metavar="RATE",
                     help="share of deliberately bad rows, 0 = none (default: %(default)s)")
    gen.add_argument("--fraud-rate", type=_rate, default=DEFAULT_FRAUD_RATE, metavar="RATE",
                     help="share of fraudulent users (default: %(default)s)")
    gen.add_argument("--adaptive-fraud-rate", type=_rate, default=0.0, metavar="RATE",
                     help="share of users turned into adaptive fraud: rotating farms, slow bots, referral "
                          "rings, sleepers, coordinated rings (default: %(default)s)")
    gen.add_argument("--start", type=_date, default=None, metavar="YYYY-MM-DD",
                     help="first simulated day (default: 2026-01-01)")
    gen.add_argument("--duckdb", default=None, metavar="PATH", help=duckdb_help)
    gen.add_argument("--parquet", default=None, metavar="DIR",
                     help="also write the raw tables as Parquet into this folder")
    gen.add_argument("--source-model", choices=("v1", "v2"), default="v1",
                     help="v2 also writes the versioned tables and the event log into schema raw_v2 "
                          "(docs/source-redesign.md)")

    adv = sub.add_parser(
        "advance", help="move an existing source system forward the way production would",
        description="Move the source system of a DuckDB file made by generate forward by some days: new users, "
                    "completions, status changes, late rows and catalogue edits.",
    )
    span = adv.add_mutually_exclusive_group(required=True)
    span.add_argument("--days", type=_positive_int, metavar="N", help="days to simulate")
    span.add_argument("--until", type=_date, default=None, metavar="YYYY-MM-DD",
                      help="land every day up to and including this date, one day at a time; "
                           "days already landed are skipped (idempotent)")
    adv.add_argument("--duckdb", default=None, metavar="PATH", help=duckdb_help)
    adv.add_argument("--parquet", default=None, metavar="DIR",
                     help="also write the raw tables as Parquet into this folder")
    adv.add_argument("--source-model", choices=("v1", "v2"), default=None,
                     help="v2 also appends to raw_v2 (default: v2 when the source has raw_v2)")

    bq = sub.add_parser(
        "load-bigquery", help="load the raw tables into BigQuery from Parquet",
        description="Load the five raw tables into a BigQuery dataset (replacing them), from Parquet files "
                    "exported from a DuckDB file.",
    )
    bq.add_argument("--project", required=True, metavar="ID", help="GCP project id")
    bq.add_argument("--dataset", required=True, metavar="NAME", help="target dataset, e.g. raw")
    bq.add_argument("--location", default=None, metavar="LOCATION", help="dataset location, e.g. EU or US")
    # default "" (not None): only an explicit --duckdb re-exports into --parquet; with neither flag
    # the loader exports $DUCKDB_PATH (or warehouse.duckdb).
    bq.add_argument("--duckdb", default="", metavar="PATH",
                    help="export the raw tables of this DuckDB file to Parquet first")
    bq.add_argument("--parquet", default=None, metavar="DIR", help="folder of <table>.parquet files to load")
    bq.add_argument("--v2-dataset", default="raw_v2", metavar="NAME",
                    help="dataset for the v2 tables, loaded when the source has them (default: raw_v2)")
    bq.add_argument("--labels-dataset", default="labels", metavar="NAME",
                    help="dataset for the fraud labels, loaded when the source has them (default: labels)")

    bench = sub.add_parser(
        "bench", help="benchmark generation and dbt builds at several scales",
        description="Benchmark generation, a hand-written lower bound and dbt builds (full and incremental) "
                    "at several scales; prints a table, writes results.json and a plot. "
                    "Needs the bench extra: pip install 'offerwall-warehouse[bench]'.",
    )
    bench.add_argument("--scales", default="100k,1m,10m", metavar="LIST",
                       help="comma-separated raw.user_offers sizes (default: %(default)s)")
    bench.add_argument("--out", default="bench-results", metavar="DIR",
                       help="folder for results.json and the plot (default: %(default)s)")
    bench.add_argument("--seed", type=_non_negative_int, default=7, metavar="N",
                       help="random seed of the generated data (default: %(default)s)")
    bench.add_argument("--step-timeout", type=_positive_int, default=None, metavar="SECONDS",
                       help="kill a step running longer than this many seconds and report it as timed out")

    merge = sub.add_parser(
        "bench-merge", help="one benchmark report from several runs' results.json",
        description="Put benchmark runs made separately (e.g. the small scales, then 10m alone) into one "
                    "table, results.json and plot. Needs the bench extra.",
    )
    merge.add_argument("results", nargs="+", help="results.json files of earlier offerwall bench runs")
    merge.add_argument("--out", required=True, metavar="DIR", help="folder for the merged results.json and plot")

    prof = sub.add_parser(
        "bench-profile", help="the most expensive operators of one query (DuckDB profiler)",
        description="Run one query (e.g. a dbt model's compiled SQL under target/compiled/) under DuckDB's "
                    "profiler on a read-only connection and print its most expensive operators.",
    )
    prof.add_argument("duckdb", help="DuckDB file (opened read-only)")
    prof.add_argument("sql", help="file holding one query")
    prof.add_argument("--top", type=_positive_int, default=12, metavar="N",
                      help="operators to print (default: %(default)s)")

    fraud = sub.add_parser(
        "fraud-eval", help="precision and recall of the high risk tier against the generator's labels",
        description="Precision and recall of fct_user_fraud_signals' high risk tier against the generator's "
                    "fraud labels, per fraud type and overall.",
    )
    fraud.add_argument("--duckdb", default=None, metavar="PATH", help=duckdb_help)
    fraud.add_argument("--min-precision", type=float, default=None, metavar="SHARE",
                       help="exit 1 when the precision of any fraud type or overall is lower")
    fraud.add_argument("--min-recall", type=float, default=None, metavar="SHARE",
                       help="exit 1 when the recall of any fraud type or overall is lower")
    fraud.add_argument("--model", action="store_true",
                       help="also evaluate the learned model (fraud-train's): per fraud type out-of-fold and "
                            "leave-one-type-out recall (also on the users whose fraud had begun by the data's end), "
                            "high-tier precision (needs the ml extra)")
    fraud.add_argument("--seed", type=_non_negative_int, default=0, metavar="N",
                       help="folds and model seed of --model (default: %(default)s)")

    train = sub.add_parser(
        "fraud-train", help="train the learned anti-fraud model and write its scores (needs the ml extra)",
        description="Train the learned anti-fraud model on fct_user_fraud_model_scores' features, the "
                    "generator's labels and the reviewers' decisions (ops.fraud_review_decisions, when present); "
                    "record the version in ml.fraud_model_versions and the scores in ml.fraud_model_scores, "
                    "in the DuckDB file or, with --bigquery-project, in BigQuery (docs/marts.md). "
                    "Then rebuild: dbt build --select stg_ml__fraud_model_scores+",
    )
    train.add_argument("--duckdb", default=None, metavar="PATH", help=duckdb_help)
    train.add_argument("--bigquery-project", default=None, metavar="ID",
                       help="train on BigQuery instead (the emulator when $BIGQUERY_EMULATOR_HOST is set)")
    train.add_argument("--dataset-prefix", default=os.environ.get("OFFERWALL_BQ_DATASET_PREFIX", ""), metavar="PREFIX",
                       help="the marts are in <PREFIX>_marts_anti_fraud (default: $OFFERWALL_BQ_DATASET_PREFIX; "
                            "empty: production's marts_anti_fraud)")
    for flag, default, what in (("--ops-dataset", os.environ.get("OFFERWALL_OPS_DATASET", "ops"),
                                 "of the reviewers' decisions (default: $OFFERWALL_OPS_DATASET, the app's, else ops)"),
                                ("--labels-dataset", "labels", "of the fraud labels (default: labels, load-bigquery's)")):
        train.add_argument(flag, default=default, metavar="NAME", help=f"BigQuery dataset {what}")
    train.add_argument("--location", default=None, metavar="LOCATION", help="BigQuery location, e.g. EU")
    train.add_argument("--seed", type=_non_negative_int, default=0, metavar="N",
                       help="model and holdout seed (default: %(default)s)")

    lin = sub.add_parser(
        "lineage", help="draw the lineage picture from dbt's manifest (docs/architecture.md, the docs site)",
        description="Group target/manifest.json's nodes (raw, staging, intermediate areas, each mart, exposures, "
                    "metrics) and write their lineage as a Mermaid block into the markdown file and as an SVG. "
                    "Run `dbt parse` first. The SVG needs the presentation extra.",
    )
    lin.add_argument("--manifest", default="target/manifest.json", metavar="PATH",
                     help="dbt manifest to read (default: %(default)s)")
    lin.add_argument("--markdown", default="docs/architecture.md", metavar="PATH",
                     help="markdown file whose lineage markers get the Mermaid block (default: %(default)s)")
    lin.add_argument("--svg", default="docs/assets/lineage.svg", metavar="PATH",
                     help="SVG to write (default: %(default)s)")
    lin.add_argument("--check", action="store_true", help="write nothing; exit 1 when either file is not current")

    ov = sub.add_parser(
        "overview", help="render the docs site's front page (models/_overview__docs.md) with the current vars",
        description="Render docs/overview.md.jinja with dbt_project.yml's vars (thresholds, constants) into "
                    "models/_overview__docs.md, the docs site's __overview__ block.",
    )
    ov.add_argument("--repo", default=".", metavar="DIR", help="the checkout (default: %(default)s)")
    ov.add_argument("--check", action="store_true", help="write nothing; exit 1 when the file is not current")

    erase = sub.add_parser(
        "erase", help="record a GDPR erasure request (ops.gdpr_erasure_requests); the next dbt build erases the user",
        description="Append a GDPR erasure request to the ops table the warehouse reads: the DuckDB ops store "
                    "(copied into ops.gdpr_erasure_requests by every dbt invocation) or, with --bigquery-project, "
                    "the BigQuery table <project>.<ops dataset>.gdpr_erasure_requests. docs/privacy.md.",
    )
    erase.add_argument("--user-id", required=True, metavar="ID", help="the user's id, as in raw.users.id")
    erase.add_argument("--requested-at", default=None, metavar="TS",
                       help="when the user asked, ISO timestamp, UTC unless it has an offset (default: now)")
    erase.add_argument("--duckdb", default=None, metavar="PATH",
                       help=duckdb_help + "; the ops store is ops.duckdb beside it")
    erase.add_argument("--ops-duckdb", default=None, metavar="PATH",
                       help="the DuckDB ops store (default: $OPS_DUCKDB_PATH, else ops.duckdb beside --duckdb)")
    erase.add_argument("--bigquery-project", default=None, metavar="ID",
                       help="write to BigQuery instead (the emulator when $BIGQUERY_EMULATOR_HOST is set)")
    erase.add_argument("--ops-dataset", default="ops", metavar="NAME",
                       help="BigQuery dataset of the ops tables (default: %(default)s)")
    erase.add_argument("--location", default=None, metavar="LOCATION", help="BigQuery location, e.g. EU")

    deck = sub.add_parser(
        "presentation", help="build the HTML slide deck from the warehouse's marts",
        description="Build a self-contained HTML slide deck (inline CSS, JS and SVG charts) whose figures are "
                    "queried from the warehouse's marts. Needs the presentation extra.",
    )
    deck.add_argument("--duckdb", default=None, metavar="PATH", help=duckdb_help)
    deck.add_argument("--out", default="target/presentation/index.html", metavar="PATH",
                      help="HTML file to write (default: %(default)s)")
    deck.add_argument("--repo", default=".", metavar="DIR",
                      help="checkout whose docs/, manifest and benchmark results the deck reads (default: %(default)s)")
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    if getattr(args, "duckdb", "unset") is None:
        args.duckdb = _default_duckdb()
    if args.command == "generate":
        from offerwall.generator import generate

        generate(
            users=args.users,
            days=args.days,
            seed=args.seed,
            bad_rate=args.bad_rate,
            fraud_rate=args.fraud_rate,
            adaptive_fraud_rate=args.adaptive_fraud_rate,
            start=args.start,
            duckdb_path=args.duckdb,
            parquet_dir=args.parquet,
        )
        from offerwall.source_v2 import drop_v2, emit_v2

        if args.source_model == "v2":
            emit_v2(args.duckdb, fresh=True, parquet_dir=args.parquet)
        else:
            drop_v2(args.duckdb)
    elif args.command == "advance":
        from offerwall.generator import advance
        from offerwall.source_v2 import emit_v2, has_v2

        with_v2 = args.source_model == "v2" or (args.source_model is None and has_v2(args.duckdb))
        if with_v2 and not has_v2(args.duckdb):  # checked before the source moves
            raise OfferwallError(f"{args.duckdb} has no raw_v2: its source was generated with --source-model v1; "
                                 "generate it again with --source-model v2")
        if args.until is not None:
            from offerwall.generator.catch_up import advance_until

            advance_until(until=args.until, duckdb_path=args.duckdb, parquet_dir=args.parquet)
        else:
            advance(days=args.days, duckdb_path=args.duckdb, parquet_dir=args.parquet)
        if with_v2:
            emit_v2(args.duckdb, fresh=False, parquet_dir=args.parquet)
    elif args.command == "load-bigquery":
        from offerwall.bigquery_loader import load_bigquery

        load_bigquery(
            project=args.project,
            dataset=args.dataset,
            location=args.location,
            duckdb_path=args.duckdb,
            parquet_dir=args.parquet,
            v2_dataset=args.v2_dataset,
            labels_dataset=args.labels_dataset,
        )
    elif args.command == "bench":
        from offerwall.bench import run_bench

        run_bench(scales=args.scales, out_dir=args.out, seed=args.seed, step_timeout=args.step_timeout)
    elif args.command == "bench-merge":
        from offerwall.bench import merge_results

        merge_results(args.results, args.out)
    elif args.command == "bench-profile":
        from offerwall.bench import profile_query

        profile_query(args.duckdb, args.sql, args.top)
    elif args.command == "fraud-eval":
        from offerwall.fraud_eval import fraud_eval

        rc = fraud_eval(
            duckdb_path=args.duckdb,
            min_precision=args.min_precision,
            min_recall=args.min_recall,
        )
        if args.model:
            from offerwall.fraud_loto import model_eval

            print()
            model_eval(args.duckdb, args.seed)
        return rc
    elif args.command == "fraud-train":
        if args.bigquery_project:
            from offerwall.fraud_ml_bigquery import fraud_train_bigquery

            return fraud_train_bigquery(args.bigquery_project, args.dataset_prefix, args.ops_dataset,
                                        args.labels_dataset, args.location, args.seed)
        from offerwall.fraud_ml import fraud_train

        return fraud_train(args.duckdb, args.seed)
    elif args.command == "lineage":
        from offerwall.lineage import lineage

        return lineage(args.manifest, args.markdown, args.svg, check=args.check)
    elif args.command == "overview":
        from offerwall.catalog import overview

        return overview(args.repo, check=args.check)
    elif args.command == "erase":
        from offerwall.erasure import erase

        erase(
            user_id=args.user_id,
            requested_at=args.requested_at,
            duckdb_path=args.duckdb,
            ops_duckdb=args.ops_duckdb,
            bigquery_project=args.bigquery_project,
            ops_dataset=args.ops_dataset,
            location=args.location,
        )
    elif args.command == "presentation":
        from offerwall.presentation import build_deck

        build_deck(duckdb_path=args.duckdb, out_path=args.out, repo=args.repo)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except OfferwallError as exc:
        print(f"offerwall {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"offerwall {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
