"""The ``offerwall`` command line.

Flags are a contract (other tools call them): change them only with a deprecation path.
Every user error ends as one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence

from offerwall import OfferwallError

DEFAULT_DUCKDB = "warehouse.duckdb"


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
    parser = _Parser(prog="offerwall", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    gen = sub.add_parser("generate", help="generate a fresh source system into raw (replaces it)")
    gen.add_argument("--users", type=_positive_int, required=True, help="users signing up over the period")
    gen.add_argument("--days", type=_positive_int, required=True, help="simulated days, ending at the simulation clock")
    gen.add_argument("--seed", type=_non_negative_int, required=True, help="random seed: same flags, same bytes")
    gen.add_argument("--bad-rate", type=_rate, required=True, help="share of deliberately bad rows (0 = none)")
    gen.add_argument("--fraud-rate", type=_rate, required=True, help="share of fraudulent users")
    gen.add_argument("--start", type=_date, default=None, help="first simulated day (default 2026-01-01)")
    gen.add_argument("--duckdb", default=None, help="DuckDB file (default $DUCKDB_PATH or warehouse.duckdb)")
    gen.add_argument("--parquet", default=None, help="also write the raw tables as Parquet into this folder")
    gen.add_argument("--source-model", choices=("v1", "v2"), default="v1",
                     help="v2 also writes the versioned tables and the event log into schema raw_v2 "
                          "(docs/source-redesign.md)")

    adv = sub.add_parser("advance", help="move an existing source system forward the way production would")
    adv.add_argument("--days", type=_positive_int, required=True, help="days to simulate")
    adv.add_argument("--duckdb", default=None, help="DuckDB file (default $DUCKDB_PATH or warehouse.duckdb)")
    adv.add_argument("--parquet", default=None, help="also write the raw tables as Parquet into this folder")
    adv.add_argument("--source-model", choices=("v1", "v2"), default=None,
                     help="v2 also appends to raw_v2 (default: v2 when the source has raw_v2)")

    bq = sub.add_parser("load-bigquery", help="load the raw tables into BigQuery from Parquet")
    bq.add_argument("--project", required=True, help="GCP project id")
    bq.add_argument("--dataset", required=True, help="target dataset, e.g. raw")
    bq.add_argument("--location", default=None, help="dataset location, e.g. EU or US")
    # default "" (not None): only an explicit --duckdb re-exports into --parquet; with neither flag
    # the loader exports $DUCKDB_PATH (or warehouse.duckdb).
    bq.add_argument("--duckdb", default="", help="export the raw tables of this DuckDB file to Parquet first")
    bq.add_argument("--parquet", default=None, help="folder of <table>.parquet files to load")
    bq.add_argument("--v2-dataset", default="raw_v2",
                    help="dataset for the v2 tables, loaded when the source has them (default raw_v2)")

    bench = sub.add_parser("bench", help="benchmark generation and dbt builds at several scales")
    bench.add_argument("--scales", default="100k,1m,10m", help="comma-separated user_offers sizes (e.g. 100k,1m,10m)")
    bench.add_argument("--out", default="bench-results", help="folder for results.json and the plot")
    bench.add_argument("--seed", type=_non_negative_int, default=7)
    bench.add_argument("--step-timeout", type=_positive_int, default=None,
                       help="kill a step running longer than this many seconds and report it as timed out")

    fraud = sub.add_parser("fraud-eval", help="precision and recall of the high risk tier against the generator's labels")
    fraud.add_argument("--duckdb", default=None, help="DuckDB file (default $DUCKDB_PATH or warehouse.duckdb)")
    fraud.add_argument("--min-precision", type=float, default=None, help="exit 1 when the precision of any fraud type or overall is lower")
    fraud.add_argument("--min-recall", type=float, default=None, help="exit 1 when the recall of any fraud type or overall is lower")
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
        )
    elif args.command == "bench":
        from offerwall.bench import run_bench

        run_bench(scales=args.scales, out_dir=args.out, seed=args.seed, step_timeout=args.step_timeout)
    elif args.command == "fraud-eval":
        from offerwall.fraud_eval import fraud_eval

        return fraud_eval(
            duckdb_path=args.duckdb,
            min_precision=args.min_precision,
            min_recall=args.min_recall,
        )
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
