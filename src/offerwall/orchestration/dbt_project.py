"""The dbt side: the manifest (parsed when missing or older than the project's files), the
translator from dbt nodes to asset keys and groups, the `dbt build` asset over the whole project
(its data tests and unit tests become asset checks), the publish asset and the docs site.

Write-audit-publish (docs/guarantees.md): `dbt_build` runs `dbt build --vars '{wap: true, ...}'`, so
the marts are written and tested in private `<schema>_wap_marts_*` schemas; `publish/marts` runs
`dbt run-operation publish_marts --vars '{wap: true, ...}'` after it, which copies them to the
published schemas only if that build was complete and green. A failed build or a failed error
check fails the dbt step: the publish step does not run, and publish_marts would refuse anyway.

Tests sized to the run: the build's var `test_scope` is `slice` on a daily run (the data tests of
the big tables read the slice the run wrote) and `full` (every row) when the run config asks for
it (the weekly schedule, the launchpad) or for a full refresh.

Nothing here names a model: the assets are whatever the manifest holds.
"""

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from dagster import (
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    Config,
    MaterializeResult,
    PartitionsDefinition,
    RetryPolicy,
    asset,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from offerwall import OfferwallError
from offerwall.daily_run import DAILY_BUILD_ARGS
from offerwall.orchestration.dbt_cli import (
    DAILY_TEST_SCOPE,
    command_vars,
    dbt_cli,
    run_log_identity,
    save_parse_state,
)
from offerwall.orchestration.failures import step_failure
from offerwall.orchestration.landing import source_key
from offerwall.orchestration.settings import Settings

PROJECT_INPUTS = ("dbt_project.yml", "models", "macros", "seeds", "snapshots", "tests", "analyses", "docs/dbt")
PROJECT_SUFFIXES = (".sql", ".yml", ".yaml", ".md", ".csv")  # what dbt parses (not tests/python/*.py)
DOCS_KEY = AssetKey(["docs", "dbt_docs_site"])
PUBLISH_KEY = AssetKey(["publish", "marts"])


def dbt_executable() -> str:
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def _newest_input(project_dir: Path) -> float:
    newest = 0.0
    for item in PROJECT_INPUTS:
        path = project_dir / item
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            newest = max([newest, *(p.stat().st_mtime for p in path.rglob("*")
                                    if p.suffix in PROJECT_SUFFIXES and p.is_file())])
    return newest


def ensure_manifest(settings: Settings) -> Path:
    """target/manifest.json, re-parsed (`dbt parse`) when missing or older than a project file."""
    manifest = settings.dbt_target_path / "manifest.json"
    if manifest.exists() and manifest.stat().st_mtime >= _newest_input(settings.dbt_project_dir):
        return manifest
    proc = subprocess.run(
        [dbt_executable(), "parse", "--project-dir", str(settings.dbt_project_dir),
         "--profiles-dir", str(settings.dbt_profiles_dir), "--target", settings.dbt_target,
         "--target-path", str(settings.dbt_target_path), "--log-path", str(settings.dbt_target_path / "logs"),
         "--quiet"],
        capture_output=True, text=True, cwd=settings.dbt_project_dir,
    )
    if proc.returncode != 0 or not manifest.exists():
        raise OfferwallError(f"dbt parse failed for {settings.dbt_project_dir}: {(proc.stdout + proc.stderr)[-2000:]}")
    return manifest


def load_manifest(settings: Settings) -> dict[str, Any]:
    return json.loads(ensure_manifest(settings).read_text())


class OfferwallTranslator(DagsterDbtTranslator):
    """Sources keyed [schema, table] (raw/users, ops/fraud_review_decisions), models by name;
    groups follow the folders (staging, intermediate, marts_<domain>, snapshots, seeds)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return source_key(dbt_resource_props)
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        kind = dbt_resource_props["resource_type"]
        if kind in ("snapshot", "seed"):
            return f"{kind}s"
        parts = Path(dbt_resource_props.get("original_file_path", "")).parts
        if len(parts) >= 2 and parts[0] == "models":
            return "_".join(parts[1:3]) if parts[1] == "marts" and len(parts) >= 4 else parts[1]
        return super().get_group_name(dbt_resource_props)


TRANSLATOR = OfferwallTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


class DbtBuildConfig(Config):
    """Launchpad options of the dbt step. full_refresh: rebuild incremental models from raw (after
    raw rows were re-landed with their original load times, which an incremental run cannot see).
    test_scope: `slice` (the daily run: the data tests of the big tables in var test_slice_columns
    read the latest lookback window, the slice the run wrote) or `full` (every test reads every
    row: the weekly schedule). A full refresh rewrites every row, so it tests them all."""

    full_refresh: bool = False
    test_scope: Literal["slice", "full"] = DAILY_TEST_SCOPE

    def effective_test_scope(self) -> str:
        return "full" if self.full_refresh else self.test_scope


# dbt's header of a node's error ("Compilation Error in model x (models/x.sql)"): the node is named already
_ERROR_HEADER = re.compile(r"^\s*(\w+ Error) in \w+ \S+ \([^)]*\)\s*")


def _one_line(message: str) -> str:
    """A node's error on one line, the reason first: the failure's first line (what the alert and
    the run's summary show) then says why, e.g. which raw table the load guards rejected."""
    text = _ERROR_HEADER.sub(lambda m: f"{m.group(1)}: ", message.strip())
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _failed_nodes(run_results: Mapping[str, Any] | None, limit: int = 10) -> str:
    if not run_results:
        return ""
    bad = [r for r in run_results.get("results", []) if r.get("status") in ("error", "fail", "runtime error")]
    lines = [f"{r['unique_id']}: {r['status']}: {_one_line(r.get('message') or '')}" for r in bad[:limit]]
    if len(bad) > limit:
        lines.append(f"... and {len(bad) - limit} more")
    return "\n".join(lines)


def build_dbt_assets(
    manifest: Mapping[str, Any], settings: Settings, partitions_def: PartitionsDefinition, retry_policy: RetryPolicy
) -> Any:
    @dbt_assets(
        manifest=manifest, dagster_dbt_translator=TRANSLATOR, partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run(), retry_policy=retry_policy, name="dbt_build",
    )
    def dbt_build(context: AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig) -> Iterator[Any]:
        build_vars = command_vars(wap=True, test_scope=config.effective_test_scope())
        # the daily run's command: no unit tests (they test code, CI runs them); the full run has them
        args = ["build", *(["--full-refresh"] if config.full_refresh else []),
                *(DAILY_BUILD_ARGS if build_vars["test_scope"] == DAILY_TEST_SCOPE else ())]
        context.log.info(f"dbt build, test scope {build_vars['test_scope']}")
        invocation = dbt_cli(dbt, args, settings, dbt_vars=build_vars, name="dbt_build", run_id=context.run.run_id,
                             context=context)
        yield from invocation.stream()
        save_parse_state(invocation, settings, build_vars)
        if not invocation.is_successful():
            try:
                results = invocation.get_artifact("run_results.json")
            except Exception:  # noqa: BLE001 - no run results: dbt failed before running anything
                results = None
            error = invocation.get_error()
            detail = _failed_nodes(results) or (str(error) if error else "") or "dbt build failed"
            raise step_failure("dbt build (every model, snapshot, seed and test)", "dbt build", detail,
                               context.retry_number, retry_policy.max_retries)

    return dbt_build


def published_marts(manifest: Mapping[str, Any]) -> list[str]:
    """What publish_marts copies: every table/incremental model under models/marts (its published
    relation: the manifest is parsed without wap)."""
    return sorted(
        f"{n['schema']}.{n.get('alias') or n['name']}" for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["original_file_path"].startswith("models/marts/")
        and n["config"].get("materialized") in ("table", "incremental")
    )


def _messages(invocation: Any) -> list[str]:
    """dbt's own log lines of an invocation (run-operation reports its refusal there)."""
    lines = []
    for event in invocation.stream_raw_events():
        info = event.raw_event.get("info", {})
        if info.get("msg") and info.get("level") in ("info", "warn", "error"):
            lines.append(f"{info['level']}: {info['msg']}")
    return lines


def build_publish(dbt_build: Any, manifest: Mapping[str, Any], settings: Settings,
                  partitions_def: PartitionsDefinition, retry_policy: RetryPolicy) -> Any:
    marts = published_marts(manifest)

    @asset(
        key=PUBLISH_KEY, deps=[dbt_build], group_name="publish", partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run(), retry_policy=retry_policy, kinds={"dbt"},
        description="Write-audit-publish: `dbt run-operation publish_marts --vars '{wap: true}'` copies the "
                    "marts the build wrote and tested privately (<schema>_wap_marts_*) to the schemas "
                    "analysts read, only after a complete, green build (docs/guarantees.md).",
    )
    def publish_marts(context: AssetExecutionContext, dbt: DbtCliResource) -> MaterializeResult:
        # ops.build_runs records who ran the publish (this job's run) and the commit
        # runs no test: the daily run's vars (its parse state), whatever the build's test scope
        publish_vars = command_vars(wap=True)
        with run_log_identity(context.run.run_id, context.run.job_name, settings.dbt_project_dir):
            invocation = dbt_cli(dbt, ["run-operation", "publish_marts"], settings, dbt_vars=publish_vars,
                                 name="publish_marts", run_id=context.run.run_id, manifest=manifest,
                                 translator=TRANSLATOR)
        lines = _messages(invocation)
        invocation.wait()
        save_parse_state(invocation, settings, publish_vars)
        if not invocation.is_successful():
            refused = [line for line in lines if "not published" in line.lower() or line.startswith("error")]
            error = invocation.get_error()
            detail = "\n".join(refused[-10:]) or (str(error) if error else "") or "publish_marts failed"
            raise step_failure("publish/marts", "dbt run-operation publish_marts", detail,
                               context.retry_number, retry_policy.max_retries)
        published = next((line for line in lines if "Published " in line), "")
        return MaterializeResult(metadata={"marts": len(marts), "published": ", ".join(marts),
                                           "dbt": published[:2000]})

    return publish_marts


def build_docs_site(publish: Any, manifest: Mapping[str, Any], settings: Settings,
                    partitions_def: PartitionsDefinition, retry_policy: RetryPolicy) -> Any:
    @asset(
        key=DOCS_KEY, deps=[publish], group_name="docs", partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run(), retry_policy=retry_policy, kinds={"dbt"},
        description="The data catalog: `dbt docs generate --static` (one HTML file, the project's target), "
                    "after the publish, without wap: it describes the published marts.",
    )
    def dbt_docs_site(context: AssetExecutionContext, dbt: DbtCliResource) -> MaterializeResult:
        docs_vars = command_vars(wap=False)
        invocation = dbt_cli(dbt, ["docs", "generate", "--static"], settings, dbt_vars=docs_vars, name="dbt_docs_site",
                             run_id=context.run.run_id, manifest=manifest, translator=TRANSLATOR)
        invocation.wait()
        save_parse_state(invocation, settings, docs_vars)
        site = invocation.target_path / "static_index.html"
        if not invocation.is_successful() or not site.exists():
            error = invocation.get_error()
            raise step_failure("docs/dbt_docs_site", "dbt docs generate", str(error or "no static_index.html written"),
                               context.retry_number, retry_policy.max_retries)
        settings.dbt_target_path.mkdir(parents=True, exist_ok=True)
        published = settings.dbt_target_path / "static_index.html"
        shutil.copy2(site, published)
        return MaterializeResult(metadata={"path": str(published), "bytes": published.stat().st_size})

    return dbt_docs_site

