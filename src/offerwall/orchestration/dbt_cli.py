"""Every dbt command of the daily run goes through `dbt_cli`: write-audit-publish vars and dbt's
parse state.

Write-audit-publish (docs/guarantees.md): the build, the snapshot capture and the publish run with
`--vars '{"wap": true}'` (marts built into private `<schema>_wap_marts_*` schemas, copied out by
`publish_marts`); the docs site runs without it, so it describes the published marts.

Parse state: dbt re-parses the whole project (about a minute on a busy machine) when its vars or
its profile differ from the last parse. Each dbt command runs in its own target directory
(dagster-dbt's rule, artifacts kept apart), seeded with the last parse state of the same vars and
saved back after it: the wap commands reuse each other's parse, the plain ones (`dbt parse`,
docs) theirs, instead of alternating full parses.
"""

from __future__ import annotations

import contextlib
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

from offerwall.orchestration.settings import Settings

WAP_VARS = {"wap": True}
PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's file name; target/partial_parse.msgpack is `dbt parse`'s


def parse_state(settings: Settings, wap: bool) -> Path:
    """Where the last parse state of the plain or the wap commands is kept."""
    return settings.dbt_target_path / ("partial_parse_wap.msgpack" if wap else PARTIAL_PARSE)


def dbt_cli(
    dbt: DbtCliResource,
    args: Sequence[str],
    settings: Settings,
    *,
    wap: bool,
    name: str,
    run_id: str = "",
    context: Any = None,
    manifest: Mapping[str, Any] | None = None,
    translator: DagsterDbtTranslator | None = None,
) -> DbtCliInvocation:
    """Start `dbt <args>` (+ the wap vars) in a fresh target dir seeded with the matching parse state."""
    target = settings.dbt_target_path / f"{name}-{run_id[:7]}-{uuid.uuid4().hex[:7]}"
    target.mkdir(parents=True, exist_ok=True)
    state = parse_state(settings, wap)
    if state.exists():
        shutil.copy2(state, target / PARTIAL_PARSE)
    full_args = [*args, *(["--vars", json.dumps(WAP_VARS)] if wap else [])]
    kwargs: dict[str, Any] = {"target_path": target, "raise_on_error": False}
    if context is not None:
        kwargs["context"] = context
    else:
        kwargs["manifest"] = manifest
        if translator is not None:
            kwargs["dagster_dbt_translator"] = translator
    return dbt.cli(full_args, **kwargs)


def save_parse_state(invocation: DbtCliInvocation, settings: Settings, wap: bool) -> None:
    """Keep the parse state the command wrote (atomically: a reader sees the old or the new file)."""
    written = Path(invocation.target_path) / PARTIAL_PARSE
    if not written.exists():
        return
    state = parse_state(settings, wap)
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
