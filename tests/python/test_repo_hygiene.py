"""The repository stands on its own and its package stays readable and installable:

- nothing committed points outside the repository (a clone has no sibling `shared` folder);
- no Python module under src/ is over MAX_MODULE_LINES lines;
- test infrastructure (the emulator harness) is not in the installed package;
- with only the core dependencies (no extra installed), every module of the package imports and
  every command prints its help; a command that needs an extra says which one in one line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "offerwall"
MAX_MODULE_LINES = 400
# Spelled in two parts so that this file does not match itself (nor `grep -r` for the path).
OUTSIDE_REFERENCES = ("../" + "shared", "..\\" + "shared", "SOURCE_" + "SYSTEM.md", "CONVEN" + "TIONS.md")


def git_files() -> list[str]:
    """Tracked files plus untracked ones git would add (not ignored)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                         cwd=REPO, capture_output=True, check=True).stdout.decode()
    return sorted({f for f in out.split("\0") if f and (REPO / f).is_file()})


def test_nothing_in_the_repository_points_outside_it() -> None:
    files = git_files()
    assert "README.md" in files and "docs/source_system.md" in files
    found = []
    for rel in files:
        data = (REPO / rel).read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        for lineno, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            if any(ref in line for ref in OUTSIDE_REFERENCES):
                found.append(f"{rel}:{lineno}: {line.strip()[:120]}")
    assert not found, "references outside the repository:\n" + "\n".join(found)


def test_the_contract_and_conventions_are_the_projects_own_documents() -> None:
    from offerwall.raw_io import RAW_TABLES

    contract = (REPO / "docs" / "source_system.md").read_text()
    for table, columns in RAW_TABLES.items():
        assert f"raw.{table}" in contract, table
        for column, _, _ in columns:
            assert f"| {column} |" in contract or f"| `{column}` |" in contract, f"raw.{table}.{column}"
    assert (REPO / "docs" / "conventions.md").is_file()
    index = (REPO / "docs" / "README.md").read_text()
    assert "conventions.md" in index and "source_system.md" in index


def test_no_module_is_too_long() -> None:
    lengths = {str(p.relative_to(REPO)): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert len(lengths) > 10
    too_long = {path: n for path, n in lengths.items() if n > MAX_MODULE_LINES}
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines: {too_long}"


def test_test_infrastructure_is_not_in_the_package() -> None:
    assert not (PACKAGE / "emulator.py").exists()
    names = {p.stem for p in PACKAGE.rglob("*.py")}
    assert not {n for n in names if n.startswith("test") or "emulator" in n}


def _extra_only_modules() -> set[str]:
    """Import names of what only the optional extras install (not the core dependencies)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = {_dist_name(d) for d in project["dependencies"]}
    extras = {_dist_name(d) for deps in project["optional-dependencies"].values() for d in deps}
    extras -= core | {_dist_name(project["name"])}
    import_names = {"sqlfluff-templater-dbt": "sqlfluff_templater_dbt"}
    return {import_names.get(d, d.replace("-", "_")) for d in extras}


def _dist_name(requirement: str) -> str:
    name = requirement
    for sep in "[<>=~!; ":
        name = name.split(sep)[0]
    return name.strip().lower()


# Runs with every extra-only module blocked, as on `pip install .` without extras.
_PLAIN_INSTALL = r"""
import contextlib, importlib, io, json, pkgutil, sys
blocked = set(json.loads(sys.argv[1]))

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} is not installed (blocked by the test)")
        return None

sys.meta_path.insert(0, Block())
import offerwall
from offerwall.cli import build_parser, main
from offerwall import OfferwallError
modules, needs_extra = [], {}
def skip_extra_packages(name):
    needs_extra.setdefault(name, None)
for info in pkgutil.walk_packages(offerwall.__path__, "offerwall.", onerror=skip_extra_packages):
    try:
        importlib.import_module(info.name)
        modules.append(info.name)
    except OfferwallError as exc:  # a subpackage of an extra: one line naming it
        needs_extra[info.name] = str(exc)
helps = {}
parser = build_parser()
commands = sorted(parser._subparsers._group_actions[0].choices)
for argv in [["--help"]] + [[c, "--help"] for c in commands]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main(argv)
        except SystemExit as exc:
            helps[" ".join(argv)] = (exc.code, len(out.getvalue()))
err = io.StringIO()
with contextlib.redirect_stderr(err):
    rc = main(["bench", "--scales", "1k", "--out", sys.argv[2]])
print(json.dumps({"modules": modules, "needs_extra": needs_extra, "helps": helps, "bench": [rc, err.getvalue()]}))
"""


def test_a_plain_install_imports_everything_and_names_the_extra(tmp_path: Path) -> None:
    blocked = _extra_only_modules()
    assert {"psutil", "matplotlib", "pytest"} <= blocked
    proc = subprocess.run([sys.executable, "-c", _PLAIN_INSTALL, json.dumps(sorted(blocked)), str(tmp_path / "b")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "offerwall.bench.runner" in report["modules"] and "offerwall.generator.windows" in report["modules"]
    # A subpackage that needs an extra (orchestration, app, ...) says which one, in one line.
    for name, message in report["needs_extra"].items():
        assert message and "\n" not in message and "offerwall-warehouse[" in message, (name, message)
    assert report["helps"] and all(code == 0 and length > 100 for code, length in report["helps"].values())
    rc, err = report["bench"]
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert "offerwall-warehouse[bench]" in err
