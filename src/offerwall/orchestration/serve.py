"""`make orchestrate`: Dagster (UI + daemon, `dagster dev`) on 127.0.0.1:$PORT over the local warehouse.

1. DAGSTER_HOME (default .dagster/ in the repository, gitignored) gets a dagster.yaml: one run at
   a time (the DuckDB file has one writer), no telemetry.
2. The warehouse `make run` built must exist ($DUCKDB_PATH).
3. The first time (no run of the daily job in the instance), the partition of the warehouse's next
   day runs once in this process (land it, dbt build, docs), so the UI opens on a completed run.
   OFFERWALL_FIRST_RUN=0 skips it.
4. `dagster dev -h 127.0.0.1 -p $PORT -m offerwall.orchestration.definitions`: the webserver, and
   the daemon that runs the schedule, sensors, queued runs and backfills launched from the UI.
"""

import os
import sys
from pathlib import Path

from offerwall import OfferwallError
from offerwall.orchestration.settings import REPO, Settings

DAGSTER_YAML = """\
# Written by `make orchestrate` (src/offerwall/orchestration/serve.py) when missing.
run_queue:
  max_concurrent_runs: 1   # one writer on the DuckDB file; runs wait in the queue
telemetry:
  enabled: false
"""


def dagster_home() -> Path:
    home = Path(os.environ.get("DAGSTER_HOME") or REPO / ".dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def first_run(settings: Settings) -> None:
    """Run the partition of the warehouse's next day, unless the instance already has a run."""
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    from offerwall.generator.catch_up import read_clock
    from offerwall.orchestration.pipeline import JOB_NAME, build_definitions

    instance = DagsterInstance.get()
    done = instance.get_runs(RunsFilter(job_name=JOB_NAME, statuses=[DagsterRunStatus.SUCCESS]), limit=1)
    if done:
        print(f"orchestrate: the instance already has a completed {JOB_NAME} run", file=sys.stderr)
        return
    defs = build_definitions(settings)
    job = defs.resolve_job_def(JOB_NAME)
    day = read_clock(settings.duckdb_path).date().isoformat()
    if day not in job.partitions_def.get_partition_keys():
        print(f"orchestrate: {day} is not a partition yet (first {settings.partitions_start}, last = yesterday); "
              "no first run", file=sys.stderr)
        return
    print(f"orchestrate: first run of {JOB_NAME} for {day} (lands that day, dbt build, docs)...", file=sys.stderr)
    result = job.execute_in_process(partition_key=day, instance=instance, raise_on_error=False)
    print(f"orchestrate: run {result.run_id[:8]} {'succeeded' if result.success else 'FAILED'}", file=sys.stderr)


def main() -> int:
    home = dagster_home()
    settings = Settings.from_env()
    if settings.is_duckdb and not settings.duckdb_path.exists():
        raise OfferwallError(f"no warehouse at {settings.duckdb_path}: run `make run` first")
    if os.environ.get("OFFERWALL_FIRST_RUN", "1") != "0":
        first_run(settings)
    port = os.environ.get("PORT") or "3000"
    dagster = Path(sys.executable).parent / "dagster"
    args = [str(dagster), "dev", "-h", "127.0.0.1", "-p", port, "-m", "offerwall.orchestration.definitions"]
    print(f"orchestrate: Dagster UI on http://127.0.0.1:{port} (instance {home})", file=sys.stderr, flush=True)
    os.execv(args[0], args)
    return 0  # not reached


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OfferwallError as exc:
        print(f"orchestrate: error: {exc}", file=sys.stderr)
        sys.exit(1)
