"""Why a step failed, and whether trying again can help.

Transient (retried with exponential backoff by the steps' RetryPolicy): a BigQuery 5xx or rate
limit, a DuckDB file locked by another process, a dropped connection. Everything else (a model's
SQL error, a failing dbt test, a missing file, bad configuration) fails fast: retrying would only
delay the alert. The message always names the asset and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dagster import Failure, MetadataValue

# (pattern, reason) — searched case-insensitively in the error text of a step.
TRANSIENT_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"could not set lock on file|conflicting lock|database is locked", "DuckDB file locked by another process"),
    (r"\b50[0234]\b[^\n]*(internal|bad gateway|service unavailable|unavailable|timeout|backend|error)",
     "BigQuery server error (5xx)"),
    (r"backendError|internalError|InternalServerError|ServiceUnavailable|BadGateway|GatewayTimeout",
     "BigQuery server error (5xx)"),
    (r"rateLimitExceeded|\b429\b|too many requests", "BigQuery rate limit"),
    (r"connection (reset|aborted|refused)|remote end closed connection|timed out", "network error"),
)


@dataclass(frozen=True)
class Diagnosis:
    transient: bool
    reason: str


def classify(text: str) -> Diagnosis:
    """Transient or not, and a short reason, from the error text of a failed step."""
    for pattern, reason in TRANSIENT_PATTERNS:
        if re.search(pattern, text, flags=re.IGNORECASE):
            return Diagnosis(True, reason)
    return Diagnosis(False, first_line(text) or "unknown error")


def first_line(text: str, limit: int = 300) -> str:
    for line in text.strip().splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def step_failure(asset: str, what: str, detail: str, attempt: int = 0, max_retries: int = 0) -> Failure:
    """A Failure naming the asset and the reason; retried only when the reason is transient and
    retries are left (`attempt` = the step's retry number), so the last message is this one too."""
    diagnosis = classify(detail)
    retry = diagnosis.transient and attempt < max_retries
    if retry:
        kind = f"transient: retry {attempt + 1} of {max_retries} with backoff"
    elif diagnosis.transient:
        kind = f"transient, still failing after {max_retries} retries"
    else:
        kind = "not transient: not retried"
    return Failure(
        description=f"{asset}: {what} failed: {diagnosis.reason} ({kind})",
        metadata={
            "asset": asset,
            "reason": diagnosis.reason,
            "transient": diagnosis.transient,
            "detail": MetadataValue.md(f"```\n{detail[-4000:]}\n```"),
        },
        allow_retries=retry,
    )
