"""Helpers for the guarantee tests: an isolated copy of the dbt project, dbt via `dbtRunner` on
its own DuckDB file / target / log paths, the generator's CLI, and order-independent checksums.

Nothing here touches the repository's `warehouse.duckdb` or `target/`: every warehouse lives in a
pytest tmp dir as `<dir>/wh.duckdb` (always that file name, so the DuckDB catalog is `wh` in every
copy and the views dbt writes into it resolve in a copy too) with `<dir>/target` and `<dir>/logs`.

Typical use (see test_guarantees_*.py):

    project = copy_project(tmp / "project")          # models, macros, seeds, ... dbt_project.yml
    wh = Warehouse(project, tmp / "a")
    wh.generate(users=2000, days=40, seed=7)
    res = wh.dbt("build"); assert res.success, res.summary()
    sums = wh.checksums(wh.mart_relations())
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OFFERWALL = str(BIN / "offerwall")

# What a dbt invocation needs from the repository (everything else stays behind).
PROJECT_ITEMS = (
    "dbt_project.yml",
    "profiles.yml",
    "models",
    "macros",
    "seeds",
    "snapshots",
    "analyses",
    "tests/generic",
    "tests/singular",
)

# `dbt build` without data tests and unit tests: for builds whose result the test checks itself,
# row by row (tests never change data; skipping them keeps the suite inside its time budget).
NO_TESTS = ("--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")

DB_FILE = "wh.duckdb"
DBT_SCHEMA = "dev"  # profiles.yml default: layers land in dev_<layer>
FLOAT_DIGITS = 6  # floats are compared rounded to this many decimals (sum order moves the last bits)

# dbt's global state (flags, event manager, adapter registry) is per process: one invocation at a time.
_DBT_LOCK = threading.Lock()


# ----------------------------------------------------------------------------------------------
# project copy
# ----------------------------------------------------------------------------------------------
def copy_project(dest: Path, source: Path | None = None) -> Path:
    """Copy the dbt project (not its target/, logs/ or any DuckDB file) into `dest`; return it.

    The source is the repository, or $GUARANTEES_PROJECT_DIR when set (e.g. a `git worktree` of
    another commit, to run these tests against it)."""
    source = Path(source or os.environ.get("GUARANTEES_PROJECT_DIR") or REPO)
    dest.mkdir(parents=True, exist_ok=True)
    for item in PROJECT_ITEMS:
        src = source / item
        if not src.exists():
            continue
        out = dest / item
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, out, ignore=shutil.ignore_patterns("__pycache__", "*.py", "*.pyc"))
        else:
            shutil.copy2(src, out)
    return dest


# ----------------------------------------------------------------------------------------------
# dbt results
# ----------------------------------------------------------------------------------------------
@dataclass
class NodeResult:
    unique_id: str
    resource_type: str
    name: str
    status: str
    message: str
    failures: int | None = None


@dataclass
class DbtResult:
    args: list[str]
    success: bool
    nodes: list[NodeResult] = field(default_factory=list)
    exception: str | None = None
    log: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Everything dbt said (log lines, node messages, the exception): for 'the output names X'."""
        parts = list(self.log)
        parts += [f"{n.unique_id}: {n.status}: {n.message}" for n in self.nodes]
        if self.exception:
            parts.append(self.exception)
        return "\n".join(parts)

    def by_status(self, *statuses: str) -> list[NodeResult]:
        return [n for n in self.nodes if n.status in statuses]

    def node(self, name: str) -> NodeResult | None:
        """The result of the node whose name (or unique_id) is `name`."""
        for n in self.nodes:
            if n.name == name or n.unique_id == name:
                return n
        return None

    def summary(self, limit: int = 20) -> str:
        """Short description of what went wrong, for assertion messages."""
        bad = self.by_status("error", "fail", "runtime error")
        skipped = self.by_status("skipped")
        counts = Counter(n.status for n in self.nodes)
        lines = [f"dbt {' '.join(self.args)} -> success={self.success} {dict(counts)}"]
        if self.exception:
            lines.append(f"exception: {self.exception}")
        for n in bad[:limit]:
            lines.append(f"  {n.status}: {n.unique_id}: {n.message}")
        if skipped:
            names = ", ".join(n.name for n in skipped if n.resource_type in ("model", "snapshot", "seed"))
            lines.append(f"  skipped {len(skipped)} nodes (models: {names or 'none'})")
        if not self.nodes and not self.exception:
            lines += [f"  log: {line}" for line in self.log if line.startswith("error") or "Error" in line][:limit]
        return "\n".join(lines)


def _node_results(result: Any) -> list[NodeResult]:
    out: list[NodeResult] = []
    for r in getattr(result, "results", None) or []:
        node = getattr(r, "node", None)
        if node is None:
            continue
        status = getattr(r, "status", "")
        status = getattr(status, "value", status)
        out.append(
            NodeResult(
                unique_id=node.unique_id,
                resource_type=str(getattr(node.resource_type, "value", node.resource_type)),
                name=node.name,
                status=str(status),
                message=str(getattr(r, "message", "") or ""),
                failures=getattr(r, "failures", None),
            )
        )
    return out


# ----------------------------------------------------------------------------------------------
# one warehouse = one DuckDB file + its own target/logs, run against one project copy
# ----------------------------------------------------------------------------------------------
class Warehouse:
    def __init__(self, project_dir: Path, root: Path) -> None:
        self.project_dir = Path(project_dir)
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = self.root / DB_FILE
        self.target = self.root / "target"
        self.logs = self.root / "logs"

    # -- generator (the CLI, exactly as production tooling calls it) ---------------------------
    def offerwall(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
        env["DUCKDB_PATH"] = str(self.db)
        proc = subprocess.run(
            [OFFERWALL, *args, "--duckdb", str(self.db)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"offerwall {' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\n"
                f"stderr:\n{proc.stderr[-3000:]}"
            )
        return proc

    def generate(
        self,
        *,
        users: int,
        days: int,
        seed: int,
        bad_rate: float = 0.0,
        fraud_rate: float = 0.0,
        start: str | None = None,
    ) -> None:
        args = [
            "generate", "--users", str(users), "--days", str(days), "--seed", str(seed),
            "--bad-rate", str(bad_rate), "--fraud-rate", str(fraud_rate),
        ]  # fmt: skip
        if start:
            args += ["--start", start]
        self.offerwall(*args)

    def advance(self, days: int) -> None:
        self.offerwall("advance", "--days", str(days))

    # -- dbt -----------------------------------------------------------------------------------
    def dbt(self, *args: str, vars: dict[str, Any] | None = None) -> DbtResult:
        """Run one dbt command in-process (dbtRunner) on this warehouse; never raises on dbt errors."""
        from dbt.cli.main import dbtRunner

        cli_args = [
            *args,
            "--project-dir", str(self.project_dir),
            "--profiles-dir", str(self.project_dir),
            "--target-path", str(self.target),
            "--log-path", str(self.logs),
        ]  # fmt: skip
        if vars:
            cli_args += ["--vars", json.dumps(vars)]
        log: list[str] = []

        def collect(event: Any) -> None:
            info = event.info
            if info.msg:
                log.append(f"{info.level}: {info.msg}")

        _seed_partial_parse(self.project_dir, self.target)
        env = {
            # relative to the warehouse dir (the cwd of the invocation): the profile is then the
            # same for every warehouse, so dbt's partial parsing carries over between them
            "DUCKDB_PATH": DB_FILE,
            "DBT_SCHEMA": DBT_SCHEMA,
            "DBT_TARGET": "dev",
            "DBT_THREADS": "2",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_USE_COLORS": "false",
            "DBT_PARTIAL_PARSE": "true",
        }
        with _DBT_LOCK, _environ(env, drop_prefixes=("DBT_",)), contextlib.chdir(self.root):
            try:
                res = dbtRunner(callbacks=[collect]).invoke(cli_args)
            finally:
                _release_duckdb()
        _last_parse[self.project_dir.resolve()] = self.target / PARTIAL_PARSE_FILE
        return DbtResult(
            args=list(args),
            success=bool(res.success),
            nodes=_node_results(res.result),
            exception=None if res.exception is None else f"{type(res.exception).__name__}: {res.exception}",
            log=log,
        )

    def manifest(self) -> dict[str, Any]:
        path = self.target / "manifest.json"
        assert path.exists(), f"no manifest at {path}: run dbt in this warehouse first"
        return json.loads(path.read_text())

    def relations(self, *, folder: str = "models/marts/", resource_types: Sequence[str] = ("model",)) -> list[Relation]:
        """Materialised nodes (not views/ephemerals) under `folder`, from this warehouse's manifest."""
        out = []
        for node in self.manifest()["nodes"].values():
            if node["resource_type"] not in resource_types:
                continue
            if not node["original_file_path"].startswith(folder):
                continue
            materialized = node["config"].get("materialized")
            if materialized in ("ephemeral", "view"):
                continue
            out.append(Relation(node["name"], node["schema"], node.get("alias") or node["name"], materialized))
        return sorted(out, key=lambda r: r.name)

    def descendants(self, unique_id: str) -> set[str]:
        """Names of every node downstream of `unique_id` (e.g. "source.offerwall.offerwall.user_offers")."""
        children = self.manifest()["child_map"]
        seen: set[str] = set()
        todo = [unique_id]
        while todo:
            for child in children.get(todo.pop(), []):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        return {uid.split(".")[-1] if uid.startswith(("model.", "snapshot.", "seed.")) else uid for uid in seen}

    def mart_relations(self) -> list[Relation]:
        """Every mart: every materialised model under models/marts (discovered, never listed)."""
        return self.relations(folder="models/marts/")

    def stateful_relations(self) -> list[Relation]:
        """Every table dbt writes: models (tables, incrementals), snapshots and seeds."""
        return self.relations(folder="", resource_types=("model", "snapshot", "seed"))

    # -- DuckDB ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(str(self.db), read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.connect(read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def execute(self, *statements: str) -> None:
        with self.connect() as con:
            for sql in statements:
                con.execute(sql)

    def copy_to(self, root: Path, project_dir: Path | None = None) -> Warehouse:
        """A byte copy of this warehouse's DuckDB file in `root` (same file name), own target/logs."""
        other = Warehouse(project_dir or self.project_dir, root)
        shutil.copy2(self.db, other.db)
        wal = self.db.with_name(self.db.name + ".wal")
        if wal.exists():
            shutil.copy2(wal, other.db.with_name(other.db.name + ".wal"))
        return other

    def columns(self, rel: Relation) -> list[tuple[str, str]]:
        return [
            (name, dtype)
            for name, dtype in self.query(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by column_name",
                [rel.schema, rel.identifier],
            )
        ]

    def checksum(self, rel: Relation) -> Checksum:
        cols = self.columns(rel)
        assert cols, f"{rel.fqn} does not exist in {self.db}"
        with self.connect(read_only=True) as con:
            n, total = con.execute(
                f"select count(*), coalesce(sum(hash({_row_text(cols)})), 0) from {rel.fqn}"
            ).fetchone()
        return Checksum(rows=int(n), hash_sum=str(total), columns=tuple(cols))

    def checksums(self, relations: Iterable[Relation]) -> dict[str, Checksum]:
        return {rel.name: self.checksum(rel) for rel in relations}

    def row_texts(self, rel: Relation) -> Counter[str]:
        cols = self.columns(rel)
        return Counter(r[0] for r in self.query(f"select {_row_text(cols)} from {rel.fqn}"))


@dataclass(frozen=True)
class Relation:
    name: str
    schema: str
    identifier: str
    materialized: str | None = None

    @property
    def fqn(self) -> str:
        return f'"{self.schema}"."{self.identifier}"'


@dataclass(frozen=True)
class Checksum:
    rows: int
    hash_sum: str
    columns: tuple[tuple[str, str], ...]


def _row_text(cols: Sequence[tuple[str, str]]) -> str:
    """One text per row over all columns (sorted by name), NULL-safe, floats rounded."""
    parts = []
    for name, dtype in sorted(cols):
        ident = '"' + name.replace('"', '""') + '"'
        if dtype.upper() in ("DOUBLE", "FLOAT", "REAL"):
            expr = f"cast(round({ident}, {FLOAT_DIGITS}) + 0.0 as varchar)"  # + 0.0: no '-0.0'
        else:
            expr = f"cast({ident} as varchar)"
        parts.append(f"coalesce({expr}, '<null>')")
    return "concat_ws(chr(31), " + ", ".join(parts) + ")"


def compare_warehouses(a: Warehouse, b: Warehouse, relations: Iterable[Relation], sample: int = 5) -> list[str]:
    """Compare each relation in a and b by checksum; for each mismatch, a description with a few
    rows only in a and only in b. Empty list = identical."""
    problems = []
    for rel in relations:
        ca, cb = a.checksum(rel), b.checksum(rel)
        if ca == cb:
            continue
        lines = [f"{rel.name}: rows {ca.rows} vs {cb.rows}, hash {ca.hash_sum} vs {cb.hash_sum}"]
        if ca.columns != cb.columns:
            lines.append(f"  columns differ: {sorted(set(ca.columns) ^ set(cb.columns))}")
        else:
            ra, rb = a.row_texts(rel), b.row_texts(rel)
            only_a, only_b = ra - rb, rb - ra
            names = "|".join(n for n, _ in sorted(ca.columns))
            lines.append(f"  {sum(only_a.values())} rows only in first, {sum(only_b.values())} only in second")
            lines.append(f"  columns: {names}")
            lines += [f"  < {row}" for row in list(only_a)[:sample]]
            lines += [f"  > {row}" for row in list(only_b)[:sample]]
        problems.append("\n".join(lines).replace(chr(31), "|"))
    return problems


PARTIAL_PARSE_FILE = "partial_parse.msgpack"
_last_parse: dict[Path, Path] = {}  # project dir -> parse state of its last invocation


def _seed_partial_parse(project_dir: Path, target: Path) -> None:
    """A new target dir starts from the parse state of the last invocation on the same project
    dir: dbt checks it (files, vars, profile) and re-parses what differs, in full when it cannot
    reuse it. Saves the ~5 s full parse of each warehouse copy."""
    last = _last_parse.get(project_dir.resolve())
    if last is not None and last.exists() and not (target / PARTIAL_PARSE_FILE).exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(last, target / PARTIAL_PARSE_FILE)


def _release_duckdb() -> None:
    """Drop dbt's adapters so dbt-duckdb closes its DuckDB file: the next invocation (or our own
    `duckdb.connect`, with another configuration) can open it."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.adapters.factory import reset_adapters

    reset_adapters()
    with DuckDBConnectionManager._LOCK:
        env, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if env is not None:
        env.close()
    gc.collect()


@contextlib.contextmanager
def _environ(values: dict[str, str], drop_prefixes: tuple[str, ...] = ()) -> Iterator[None]:
    saved = dict(os.environ)
    try:
        for key in list(os.environ):
            if key.startswith(drop_prefixes):
                del os.environ[key]
        os.environ.update(values)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# ----------------------------------------------------------------------------------------------
# shared, built-once baseline (memoised per process: several test modules share one build)
# ----------------------------------------------------------------------------------------------
BASELINE = {"users": 1500, "days": 60, "seed": 11, "bad_rate": 0.02, "fraud_rate": 0.03}
_baseline_cache: dict[str, tuple[Warehouse, DbtResult]] = {}


_project_cache: dict[str, Path] = {}


def shared_project(tmp_path_factory: Any) -> Path:
    """One copy of the dbt project per pytest process, for tests that do not edit it (a test
    that edits seeds or files makes its own with copy_project)."""
    if "project" not in _project_cache:
        _project_cache["project"] = copy_project(tmp_path_factory.mktemp("shared") / "project")
    return _project_cache["project"]


def baseline_warehouse(tmp_path_factory: Any) -> tuple[Warehouse, DbtResult]:
    """A generated (BASELINE flags) and `dbt build`-ed warehouse, built once per pytest process.
    Tests must not change it: take `wh.copy_to(...)` to mutate."""
    if "wh" not in _baseline_cache:
        root = tmp_path_factory.mktemp("baseline")
        wh = Warehouse(shared_project(tmp_path_factory), root / "wh")
        wh.generate(**BASELINE)
        build = wh.dbt("build")
        _baseline_cache["wh"] = (wh, build)
    return _baseline_cache["wh"]
