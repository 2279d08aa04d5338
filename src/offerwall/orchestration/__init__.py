"""The daily run on Dagster: raw landing -> dbt build (tests as asset checks) -> docs site.

`definitions.py` is the code location (`dagster-webserver -m offerwall.orchestration.definitions`);
`settings.py` reads its configuration from environment variables; `serve.py` is `make orchestrate`.
See docs/orchestration.md. Needs the `orchestration` extra (`pip install -e '.[orchestration]'`).
"""

from offerwall.extras import require

require("orchestration", "dagster", "dagster_dbt")
