"""The pull-request CI files say what docs/bigquery.md promises (they cannot run here)."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"


def workflow(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps_text(job: dict) -> str:
    return "\n".join(str(step.get("run", "")) + str(step.get("uses", "")) for step in job["steps"])


def test_pull_requests_run_lint_and_make_test():
    ci = workflow("ci.yml")
    assert "pull_request" in ci["on"]
    text = "\n".join(steps_text(job) for job in ci["jobs"].values())
    assert "make lint" in text and "make test" in text


def test_slim_ci_builds_modified_deferred_and_skips_without_gcp():
    slim = workflow("slim-ci.yml")
    assert "pull_request" in slim["on"]
    assert slim["permissions"]["id-token"] == "write"  # Workload Identity, no key file
    job = slim["jobs"]["slim-ci"]
    text = steps_text(job)
    assert "state:modified+" in text and "--defer" in text and "--state" in text
    assert "google-github-actions/auth" in text
    # Every step that needs GCP is guarded by the "configured" check; the check itself is not.
    guarded = [s for s in job["steps"] if "configured == 'true'" in str(s.get("if", ""))]
    assert len(guarded) == len(job["steps"]) - 1
    assert "BQ_DATASET" in slim["env"] and "ci_pr_" in slim["env"]["BQ_DATASET"]
    assert "credentials_json" not in (WORKFLOWS / "slim-ci.yml").read_text()


def test_deploy_builds_production_and_publishes_docs_and_manifest():
    deploy = workflow("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    text = "\n".join(steps_text(job) for job in deploy["jobs"].values())
    assert "dbt build --target prod" in text
    assert "dbt docs generate" in text
    assert "manifest.json" in (WORKFLOWS / "deploy.yml").read_text()
    assert "deploy-pages" in text


def test_pr_template_asks_what_a_reviewer_needs():
    template = (REPO / ".github" / "pull_request_template.md").read_text().lower()
    for question in ("full refresh", "downstream", "bytes billed", "grants"):
        assert question in template, question


def test_workplace_ci_still_runs_only_make_test():
    lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    commands = [line for line in lines if line and not line.startswith(("#", "set ", "cd "))]
    assert commands == ["make test"]
