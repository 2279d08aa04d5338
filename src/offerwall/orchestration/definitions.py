"""The code location Dagster loads: `dagster-webserver -m offerwall.orchestration.definitions`.

Configured from environment variables (settings.py lists them); the pipeline is in pipeline.py.
"""

from offerwall.orchestration.pipeline import build_definitions
from offerwall.orchestration.settings import Settings

defs = build_definitions(Settings.from_env())
