"""Telling people: a webhook (Slack/Teams/Chat-style JSON `text`) when configured, always the log.

Fired by the daily job's failure hook (a step failed for good: asset, partition, reason), by the
raw freshness check (stale source) and by a run-failure sensor (a run that died outside any step,
e.g. its process was killed). A notification that cannot be delivered is logged, never raised: it
must not turn a failure into a different one.
"""

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from dagster import (
    ConfigurableResource,
    DagsterRunStatus,
    HookContext,
    RunFailureSensorContext,
    failure_hook,
    run_failure_sensor,
)

log = logging.getLogger("offerwall.orchestration")
WEBHOOK_TIMEOUT_SECONDS = 10


class Notifier(ConfigurableResource):
    """Sends alerts to `webhook_url` (env OFFERWALL_ALERT_WEBHOOK_URL); with none, to the log only."""

    webhook_url: str | None = None

    def send(self, kind: str, text: str, **fields: Any) -> bool:
        """Log the alert and POST it to the webhook; True when a webhook accepted it."""
        log.error("[%s] %s", kind, text)
        if not self.webhook_url:
            return False
        body = json.dumps({"text": f"[offerwall daily run] {text}", "kind": kind, **fields}, default=str)
        request = urllib.request.Request(
            self.webhook_url, data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
                return 200 <= response.status < 300
        except (urllib.error.URLError, OSError) as exc:
            log.error("alert webhook not reached (%s): %s", type(exc).__name__, exc)
            return False


def _exception_text(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    description = getattr(exc, "description", None)
    return description or f"{type(exc).__name__}: {exc}"


@failure_hook(required_resource_keys={"notifier"})
def notify_on_failure(context: HookContext) -> None:
    """A step failed for good (after its retries): name the run, the step's assets and the reason."""
    run = context.instance.get_run_by_id(context.run_id)
    tags = run.tags if run else {}
    partition = tags.get("dagster/partition") or "{}..{}".format(
        tags.get("dagster/asset_partition_range_start", "?"), tags.get("dagster/asset_partition_range_end", "?")
    )
    reason = _exception_text(context.op_exception)
    context.resources.notifier.send(
        "step_failure",
        f"run {context.run_id[:8]} of {context.job_name} (partition {partition}) failed at step "
        f"{context.step_key}: {reason}",
        run_id=context.run_id, job=context.job_name, step=context.step_key, partition=partition, reason=reason,
    )


def build_run_failure_sensor(notifier: Notifier, monitored_job: Any) -> Any:
    @run_failure_sensor(
        name="notify_on_run_crash",
        monitored_jobs=[monitored_job],
        description="Alerts on a daily run that failed outside any step (killed, out of memory); "
        "step failures are alerted by the job's failure hook.",
    )
    def notify_on_run_crash(context: RunFailureSensorContext) -> None:
        if context.dagster_run.status != DagsterRunStatus.FAILURE or context.get_step_failure_events():
            return  # a step failure: the failure hook already told people
        notifier.send(
            "run_failure",
            f"run {context.dagster_run.run_id[:8]} of {context.dagster_run.job_name} failed: "
            f"{context.failure_event.message}",
            run_id=context.dagster_run.run_id,
        )

    return notify_on_run_crash
