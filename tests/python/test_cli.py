"""The offerwall command line reads like a finished tool: plain help text, `generate` with no flags
makes the `make run` dataset, and a command that needs an optional extra says which one in one line.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pytest

from offerwall import cli
from offerwall.cli import build_parser, main

REPO = Path(__file__).resolve().parents[2]
# reStructuredText / Sphinx markup that must not reach a terminal.
MARKUP = re.compile(r"``|:(func|class|mod|meth|ref|doc):`|\.\. \w+::")


def _subcommands() -> list[str]:
    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(action.choices)


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    return capsys.readouterr().out


def test_the_commands_are_the_documented_ones() -> None:
    assert _subcommands() == ["advance", "bench", "bench-merge", "bench-profile", "erase", "fraud-eval",
                              "fraud-train", "generate", "lineage", "load-bigquery", "overview", "presentation"]


@pytest.mark.parametrize("argv", [["--help"], *([name, "--help"] for name in _subcommands())])
def test_help_has_no_markup(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(argv, capsys)
    assert text.startswith("usage: offerwall")
    assert not MARKUP.search(text), MARKUP.search(text).group(0)
    if argv == ["--help"]:
        for name in _subcommands():
            assert name in text


def _make_defaults() -> dict[str, str]:
    """USERS ?= 20000 style defaults of the Makefile (what `make run` passes to generate)."""
    text = (REPO / "Makefile").read_text()
    return dict(re.findall(r"^(?:export )?([A-Z_]+) \?= (\S+)$", text, flags=re.M))


def test_generate_defaults_are_the_make_run_values() -> None:
    make = _make_defaults()
    args = build_parser().parse_args(["generate"])
    assert args.users == int(make["USERS"]) == 20_000
    assert args.days == int(make["DAYS"]) == 120
    assert args.seed == int(make["SEED"]) == 42
    assert args.bad_rate == float(make["BAD_RATE"]) == 0.01
    assert args.fraud_rate == float(make["FRAUD_RATE"]) == 0.03
    assert "$(CURDIR)/warehouse.duckdb" in make["DUCKDB_PATH"] and cli.DEFAULT_DUCKDB == "warehouse.duckdb"


@pytest.mark.parametrize("env_path", [None, "from-env.duckdb"])
def test_generate_with_no_flags_generates_the_default_dataset(env_path: str | None, monkeypatch, tmp_path) -> None:
    calls: list[dict] = []
    monkeypatch.setattr("offerwall.generator.generate", lambda **kwargs: calls.append(kwargs))
    if env_path is None:
        monkeypatch.delenv("DUCKDB_PATH", raising=False)
    else:
        monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / env_path))
    assert main(["generate"]) == 0
    assert calls == [{
        "users": 20_000, "days": 120, "seed": 42, "bad_rate": 0.01, "fraud_rate": 0.03, "adaptive_fraud_rate": 0.0,
        "start": None,
        "duckdb_path": "warehouse.duckdb" if env_path is None else str(tmp_path / env_path), "parquet_dir": None,
    }]


def test_generate_help_shows_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    text = " ".join(_help(["generate", "--help"], capsys).split())
    for flag, value in (("--users", "20000"), ("--days", "120"), ("--seed", "42"), ("--bad-rate", "0.01"),
                        ("--fraud-rate", "0.03")):
        assert re.search(rf"{flag} \S+ .*?\(default: {re.escape(value)}\)", text), flag


# --- optional extras: a plain install (no [bench]) gets one line naming the extra ----------------------------


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("missing", ["psutil", "matplotlib"])
def test_bench_without_the_bench_extra_says_what_to_install(missing: str, monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # `import <missing>` now raises ImportError
    assert main(["bench", "--scales", "3k", "--out", str(tmp_path / "out")]) == 1
    line = _one_line_error(capsys)
    assert line.startswith(f"offerwall bench: error: {missing} is not installed: ")
    assert missing in line and "offerwall-warehouse[bench]" in line
    assert not (tmp_path / "out").exists()  # stopped before any work


def test_bench_merge_without_matplotlib_says_what_to_install(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    (tmp_path / "r.json").write_text('{"scales": []}')
    assert main(["bench-merge", str(tmp_path / "r.json"), "--out", str(tmp_path / "m")]) == 1
    line = _one_line_error(capsys)
    assert "matplotlib" in line and "[bench]" in line
