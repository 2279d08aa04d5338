"""What the daily production build runs, beyond `dbt build` (docs/models.md, "Tests sized to the run").

Shared by the Dagster daily job and the benchmark's incremental day, so both measure and run the
same thing:

- DAILY_BUILD_ARGS: no unit tests. They test the models' code on fixed inputs, not the day's
  data, so pull-request CI (`make test`) runs them and the daily build does not (dbt's own advice
  for production builds).
- DAILY_TEST_SCOPE: the data tests of the big incremental tables read the rows of the latest
  lookback window (macros/incremental/get_where_subquery.sql); `make test`, CI and the weekly
  full run use `full`.
"""

from __future__ import annotations

DAILY_BUILD_ARGS: tuple[str, ...] = ("--exclude-resource-type", "unit_test")
DAILY_TEST_SCOPE = "slice"
FULL_TEST_SCOPE = "full"
