"""Every dbt command of the daily run goes through `dbt_cli`: its vars and dbt's parse state.

Write-audit-publish (docs/guarantees.md): the build, the snapshot capture and the publish run with
`--vars '{"test_scope": "slice", "wap": true}'` (marts built into private `<schema>_wap_marts_*`
schemas, copied out by `publish_marts`); the docs site runs without vars, so it describes the
published marts.

Test scope (macros/incremental/get_where_subquery.sql): the build's data tests of the big tables
read the slice the run wrote (`slice`, the daily run) or the whole table (`full`: the weekly
schedule, a launchpad run asking for it, a full refresh). The commands that run no test carry the
daily scope, so on a daily run every wap command has the same vars.

Parse state: dbt re-parses the whole project (about a minute on a busy machine) when its vars or
its profile differ from the last parse. Each dbt command runs in its own target directory
(dagster-dbt's rule, artifacts kept apart), seeded with the last parse state of the same vars and
saved back after it: one state per var set (`parse_state`), so the daily wap commands reuse
each other's parse, the plain ones (`dbt parse`, docs) theirs, and the weekly full-scope build its
own, instead of alternating full parses.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from dagster_dbt import DagsterDbtTranslator, DbtCliResource
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

from offerwall.daily_run import DAILY_TEST_SCOPE, FULL_TEST_SCOPE
from offerwall.orchestration.settings import Settings

WAP_VARS = {"wap": True}
TEST_SCOPES = (DAILY_TEST_SCOPE, FULL_TEST_SCOPE)
PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's file name; target/partial_parse.msgpack is `dbt parse`'s


def command_vars(*, wap: bool, test_scope: str = DAILY_TEST_SCOPE) -> dict[str, Any]:
    """The `--vars` of a command: none for the plain ones (`dbt parse`, docs); the wap commands
    carry the test scope (the build's; the daily one for the commands that run no test)."""
    if not wap:
        return {}
    if test_scope not in TEST_SCOPES:
        raise ValueError(f"test_scope must be one of {', '.join(TEST_SCOPES)}, not {test_scope!r}")
    return {**WAP_VARS, "test_scope": test_scope}


def _vars_json(dbt_vars: Mapping[str, Any]) -> str:
    return json.dumps(dict(dbt_vars), sort_keys=True)


def parse_state(settings: Settings, dbt_vars: Mapping[str, Any]) -> Path:
    """Where the last parse state of the commands run with these vars is kept: dbt's own file for
    no vars (what `dbt parse` writes), else one file per var set (dbt re-parses in full when the
    vars differ from the state's)."""
    if not dbt_vars:
        return settings.dbt_target_path / PARTIAL_PARSE
    key = hashlib.sha256(_vars_json(dbt_vars).encode()).hexdigest()[:12]
    return settings.dbt_target_path / f"partial_parse_vars_{key}.msgpack"


def dbt_cli(
    dbt: DbtCliResource,
    args: Sequence[str],
    settings: Settings,
    *,
    dbt_vars: Mapping[str, Any],
    name: str,
    run_id: str = "",
    context: Any = None,
    manifest: Mapping[str, Any] | None = None,
    translator: DagsterDbtTranslator | None = None,
) -> DbtCliInvocation:
    """Start `dbt <args> --vars <dbt_vars>` in a fresh target dir seeded with the parse state of those vars."""
    target = settings.dbt_target_path / f"{name}-{run_id[:7]}-{uuid.uuid4().hex[:7]}"
    target.mkdir(parents=True, exist_ok=True)
    state = parse_state(settings, dbt_vars)
    if state.exists():
        shutil.copy2(state, target / PARTIAL_PARSE)
    full_args = [*args, *(["--vars", _vars_json(dbt_vars)] if dbt_vars else [])]
    kwargs: dict[str, Any] = {"target_path": target, "raise_on_error": False}
    if context is not None:
        kwargs["context"] = context
    else:
        kwargs["manifest"] = manifest
        if translator is not None:
            kwargs["dagster_dbt_translator"] = translator
    return dbt.cli(full_args, **kwargs)


def save_parse_state(invocation: DbtCliInvocation, settings: Settings, dbt_vars: Mapping[str, Any]) -> None:
    """Keep the parse state the command (run with `dbt_vars`) wrote, atomically: a reader sees the
    old or the new file."""
    written = Path(invocation.target_path) / PARTIAL_PARSE
    if not written.exists():
        return
    state = parse_state(settings, dbt_vars)
    partial = state.with_name(f"{state.name}.{uuid.uuid4().hex[:7]}.tmp")
    shutil.copy2(written, partial)
    os.replace(partial, state)


def git_commit(project_dir: Path) -> str:
    """The project's commit for the run log (ops.build_runs), or "unknown" outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_dir, capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


@contextlib.contextmanager
def run_log_identity(run_id: str, job_name: str, project_dir: Path) -> Iterator[None]:
    """While a dbt command starts (it copies the environment), name who ran it and the commit for
    ops.build_runs: OFFERWALL_RUN_BY / OFFERWALL_GIT_COMMIT as deployed, else this Dagster run
    and the checkout's commit. The previous values are restored afterwards."""
    values = {
        "OFFERWALL_RUN_BY": os.environ.get("OFFERWALL_RUN_BY") or f"dagster:{job_name}:{run_id}",
        "OFFERWALL_GIT_COMMIT": os.environ.get("OFFERWALL_GIT_COMMIT") or git_commit(project_dir),
    }
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
