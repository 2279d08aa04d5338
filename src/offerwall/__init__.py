"""Offerwall warehouse: source-system simulator, loaders, data products and benchmarks.

The dbt project at the repository root does the modelling; this package does what dbt does not:
it plays the production OLTP system (``offerwall generate`` / ``offerwall advance``), loads the
raw tables into BigQuery, and measures the pipeline.
"""

__version__ = "0.1.0"


class OfferwallError(Exception):
    """An error the user can act on: the CLI prints its message on one line and exits non-zero."""
