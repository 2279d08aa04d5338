"""Guarantee 8: no secrets in the repository, no raw PII in the marts.

1. Every file git would commit (tracked, plus untracked files that are not ignored) is scanned for
   private keys, GCP service-account JSON, cloud/API keys and tokens, and high-entropy values
   assigned to secret-looking names. A planted-secret self-test proves the scanner can fail.
2. On a built warehouse: no mart column is named like raw PII (email, phone, IP address, ...),
   no mart text value looks like an email address or an IP address, and the device/IP columns
   are the anonymised `*_hash` ones.
"""

from __future__ import annotations

import math
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from dbt_harness import REPO, Relation, Warehouse, baseline_warehouse

# Patterns are written so that this file does not match itself (no literal key material here).
SECRET_PATTERNS: dict[str, re.Pattern[str]] = {
    "private key block": re.compile(r"-{5}BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-{5}"),
    "GCP service-account JSON": re.compile(r"\"type\"\s*:\s*\"service_account\""),
    "GCP private_key_id": re.compile(r"\"private_key_id\"\s*:\s*\"[0-9a-f]{40}\""),
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"(?i)aws_?secret_?access_?key\s*[:=]\s*['\"]?[A-Za-z0-9/+=]{40}\b"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    "Google OAuth token": re.compile(r"\bya29\.[0-9A-Za-z_\-]{20,}|\b1//0[0-9A-Za-z_\-]{30,}"),
    "GitHub token": re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"),
    "Stripe key": re.compile(r"\b[sr]k_live_[0-9A-Za-z]{20,}\b"),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
    "URL with password": re.compile(r"\b[a-z][a-z0-9+.\-]*://[^/\s:@'\"]+:[^/\s:@'\"{}$]{6,}@[^\s'\"]+"),
}
# `password: "hunter2hunter2..."`-style assignments; the value must look random to count.
ASSIGNMENT = re.compile(
    r"(?i)\b[\w.\-]*(secret|token|passw(or)?d|api[_\-]?key|access[_\-]?key|private[_\-]?key|credential)s?[\w\-]*"
    r"['\"]?\s*[:=]\s*['\"]?([A-Za-z0-9+/=_\-.]{20,})"
)
MIN_ENTROPY_BITS = 3.5  # per character; English words and ids stay below, keys and tokens above
SECRET_FILE_NAMES = re.compile(r"(^|/)(\.env(\..+)?|.*\.(pem|key|p12|pfx|jks)|.*service[-_]?account.*\.json|credentials\.json|id_(rsa|dsa|ecdsa|ed25519))$")
MAX_BYTES = 2_000_000


def shannon_entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


def scan_text(text: str) -> list[str]:
    """Names of the secret kinds found in `text` (with the offending line number)."""
    found = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for name, pattern in SECRET_PATTERNS.items():
            if pattern.search(line):
                found.append(f"line {lineno}: {name}")
        for match in ASSIGNMENT.finditer(line):
            value = match.group(3)
            looks_random = re.search(r"[0-9]", value) and re.search(r"[A-Za-z]", value)  # not a word or a name
            if looks_random and shannon_entropy(value) >= MIN_ENTROPY_BITS:
                found.append(f"line {lineno}: high-entropy value assigned to {match.group(0).split('=')[0].split(':')[0].strip()!r}")
    return found


def scan_files(root: Path, files: list[str]) -> dict[str, list[str]]:
    findings: dict[str, list[str]] = {}
    for rel in files:
        if SECRET_FILE_NAMES.search(rel):
            findings.setdefault(rel, []).append("file name of a secret (key, .env, service account)")
        path = root / rel
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        hits = scan_text(data.decode("utf-8", errors="replace"))
        if hits:
            findings.setdefault(rel, []).extend(hits)
    return findings


def repo_files() -> list[str]:
    """What git tracks plus what it would add (untracked, not ignored)."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    return sorted({f for f in out.split("\0") if f})


def test_repository_holds_no_secrets() -> None:
    files = repo_files()
    assert len(files) > 20, f"git ls-files found only {len(files)} files: not the repository?"
    assert "profiles.yml" in files
    findings = scan_files(REPO, files)
    assert not findings, "secrets in the repository:\n" + "\n".join(
        f"  {path}: {'; '.join(hits)}" for path, hits in sorted(findings.items())
    )


def test_scanner_finds_planted_secrets(tmp_path: Path) -> None:
    """The scanner must be able to fail: each planted fake secret is found, innocent text is not."""
    dashes = "-" * 5
    planted = {
        "key.txt": f"{dashes}BEGIN RSA PRIVATE KEY{dashes}\nMIIEow\n{dashes}END RSA PRIVATE KEY{dashes}\n",
        "sa.json": '{"type": ' + '"service_account", "private_key_id": "' + "ab12" * 10 + '"}',
        "aws.cfg": "aws_access_key_id = " + "AKIA" + "Q7ZX2M4N8P6R3T5V" + "\n",
        "aws2.cfg": "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "9f8Zq2Lk3d" + "\n",
        "gh.sh": "export GH=" + "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6" + "\n",
        "g.py": "KEY = '" + "AIza" + "SyD4x9Q2b7LmN3pR8tV1wZ6cF0hJ5kM2nP4" + "'\n",
        "conf.yml": "client_secret: " + "Zq8xnV2xL7wP4rT9" + "kM3bJ6hF1dS5gY0u" + "\n",
        "db.env.txt": "DATABASE_URL=postgres://app:" + "S3cr3tPassw0rd" + "@db.internal:5432/app\n",
    }
    for name, text in planted.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "innocent.sql").write_text(
        "-- a token of thanks; password policy is in docs\nselect user_id, ip_hash from marts\n"
        "password: \"{{ env_var('BQ_PASSWORD') }}\"\napi_key: placeholder\n"
    )
    (tmp_path / "service-account.json").write_text("{}")
    findings = scan_files(tmp_path, sorted(p.name for p in tmp_path.iterdir()))
    missed = sorted(set(planted) - set(findings))
    assert not missed, f"scanner missed planted secrets in {missed}; found {findings}"
    assert "innocent.sql" not in findings, findings["innocent.sql"]
    assert "service-account.json" in findings


# ------------------------------------------------------------------------------------------------
# marts expose only anonymised ids
# ------------------------------------------------------------------------------------------------
PII_COLUMN = re.compile(
    r"(?i)(^|_)(e_?mail|phone|msisdn|ip|ip_?addr(ess)?|ipv[46]|first_?name|last_?name|full_?name|"
    r"street|address|birth|dob|passport|ssn|password|device_?id|idfa|gaid|imei|mac_?addr(ess)?)($|_)"
)
IP_OR_DEVICE_ID = re.compile(r"(?i)(^|_)(ip|device)(_(address|addr|id|fingerprint|ua))?$")
EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
IPV4 = r"(^|[^0-9.])((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])([^0-9.]|$)"
IPV6 = r"(?i)\b([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    wh, build = baseline_warehouse(tmp_path_factory)
    assert build.success, build.summary()
    return wh


def _text_columns(wh: Warehouse, rel: Relation) -> list[str]:
    return [name for name, dtype in wh.columns(rel) if dtype.upper() == "VARCHAR"]


def test_marts_have_no_pii_columns(built: Warehouse) -> None:
    marts = built.mart_relations()
    assert marts, "no marts found in the manifest"
    bad = {
        rel.name: [name for name, _ in built.columns(rel) if PII_COLUMN.search(name) and not name.endswith("_hash")]
        for rel in marts
    }
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, f"mart columns named like raw PII (expose *_hash or nothing): {bad}"
    ip_like = {
        rel.name: [n for n, _ in built.columns(rel) if IP_OR_DEVICE_ID.search(n) and not n.endswith("_hash")]
        for rel in marts
    }
    ip_like = {k: v for k, v in ip_like.items() if v}
    assert not ip_like, f"IP/device columns that are not the anonymised *_hash: {ip_like}"


def test_marts_hold_no_emails_or_ip_addresses(built: Warehouse) -> None:
    hits = []
    checked = 0
    for rel in built.mart_relations():
        for col in _text_columns(built, rel):
            checked += 1
            ident = f'"{col}"'
            n, example = built.query(
                f"select count(*), min({ident}) from {rel.fqn} "
                f"where regexp_matches({ident}, ?) or regexp_matches({ident}, ?) or regexp_matches({ident}, ?)",
                [EMAIL, IPV4, IPV6],
            )[0]
            if n:
                hits.append(f"{rel.name}.{col}: {n} values like {example!r}")
    assert checked > 0, "no text columns in the marts: nothing was checked"
    assert not hits, "raw PII in the marts:\n" + "\n".join(hits)


def test_mart_user_ids_are_the_sources_opaque_ids(built: Warehouse) -> None:
    """Every user_id in a mart is an anonymised id from the source (or an erasure surrogate):
    the marts never derive or expose another identifier for a person."""
    known = (
        "select trim(id) from raw.users where id is not null "
        "union all select trim(user_id) from raw.user_offers where user_id is not null"
    )
    checked = []
    for rel in built.mart_relations():
        cols = [c for c in _text_columns(built, rel) if c == "user_id" or c.endswith("_user_id")]
        for col in cols:
            checked.append(f"{rel.name}.{col}")
            unknown = built.query(
                f'select distinct "{col}" from {rel.fqn} where "{col}" is not null '
                f'and "{col}" not in ({known}) and not starts_with("{col}", ?) limit 5',
                [_project_var(built, "erased_user_prefix")],
            )
            assert not unknown, f"{rel.name}.{col} holds ids that are not source user ids: {unknown}"
    assert checked, "no user id columns in the marts"


def _project_var(wh: Warehouse, name: str) -> str:
    import yaml

    return str(yaml.safe_load((wh.project_dir / "dbt_project.yml").read_text())["vars"][name])
