"""DuckDB's memory limit and threads for the dbt build: environment variables with defaults.

profiles.yml (`dev` target, `settings:`) reads the same variables with the same defaults, and
dbt-duckdb SETs them on its connections; the benchmark's child processes inherit the environment,
its lower-bound script applies them too (same engine settings on both sides), and results.json
records them. DuckDB's buffer manager stays under memory_limit and spills beyond it to its default
folder for a database file, `<file>.tmp`; the default limit leaves room for dbt's own Python under
4 GiB (docs/benchmark.md, "Memory").

The spill folder is not a setting here: DuckDB refuses to SET temp_directory once it has spilled
(dbt-duckdb SETs `settings` on every new cursor), and a connect-time config would make DuckDB refuse
other connections to the file in the same process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

MEMORY_LIMIT_ENV, THREADS_ENV = "DUCKDB_MEMORY_LIMIT", "DUCKDB_THREADS"
DUCKDB_DEFAULTS = {MEMORY_LIMIT_ENV: "3GB", THREADS_ENV: "4"}


def duckdb_config(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """memory_limit and threads under `env` (default: this process's environment)."""
    env = os.environ if env is None else env
    return {
        "memory_limit": env.get(MEMORY_LIMIT_ENV) or DUCKDB_DEFAULTS[MEMORY_LIMIT_ENV],
        "threads": env.get(THREADS_ENV) or DUCKDB_DEFAULTS[THREADS_ENV],
    }


def duckdb_settings(db_path: str | Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """What a dbt build on `db_path` runs with: duckdb_config() and the spill folder (DuckDB's default)."""
    return {**duckdb_config(env), "temp_directory": f"{db_path}.tmp"}
