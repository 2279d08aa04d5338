"""Who is using the app, and what they may see and do (issue 16; docs/app.md "Identity and roles").

- Identity: in production the app runs behind Identity-Aware Proxy and OFFERWALL_APP_TRUST_PROXY_HEADER=1;
  the user is IAP's `X-Goog-Authenticated-User-Email` header (`accounts.google.com:alice@example.com`).
  The header is trusted only then: without that setting anyone could send it, so it is ignored
  and the configured local user (OFFERWALL_APP_USER) is the identity. No identity: refused.
- Roles: a TOML role map (OFFERWALL_APP_ROLES, docs/app_roles.example.toml) lists each user's
  roles. A user who is not in it has no role: every page is refused. Without a role map, the
  local user may read every page and record nothing; behind the proxy a role map is required.
- Recording a fraud decision needs the role anti_fraud_reviewer; decisions.make_decision takes
  this Identity (never a typed name) and refuses one without that role.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

IAP_HEADER = "X-Goog-Authenticated-User-Email"
IAP_PREFIX = "accounts.google.com:"
REVIEWER = "anti_fraud_reviewer"
ROLES = (REVIEWER, "anti_fraud", "offer_management", "user_acquisition", "analyst")
# page (url path) -> the roles that see it
PAGE_ROLES = {
    "anti_fraud": frozenset({REVIEWER, "anti_fraud", "analyst"}),
    "offer_management": frozenset({"offer_management", "analyst"}),
    "user_acquisition": frozenset({"user_acquisition", "analyst"}),
    "alerts": frozenset(ROLES),
}
MAX_EMAIL = 254


class IdentityError(PermissionError):
    """No usable identity or role map, with a message for the user."""


@dataclasses.dataclass(frozen=True)
class Identity:
    email: str
    roles: frozenset[str]
    source: str  # "iap" (the proxy's header), "local" (OFFERWALL_APP_USER) or "service" (a CLI)

    @property
    def may_record(self) -> bool:
        return REVIEWER in self.roles

    def may_see(self, page: str) -> bool:
        return bool(self.roles & PAGE_ROLES[page])


def service(name: str) -> Identity:
    """A non-human identity that records decisions (review_sample's label oracle, tests)."""
    if not name.strip():
        raise IdentityError("a service identity needs a name")
    return Identity(name.strip(), frozenset({REVIEWER}), "service")


def load_roles(path: str | Path) -> dict[str, frozenset[str]]:
    """The role map: `[users]` "email" = ["role", ...]. Unknown roles are an error (a typo must
    not silently grant or drop access)."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise IdentityError(f"The role map {path} (OFFERWALL_APP_ROLES) does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise IdentityError(f"The role map {path} is not valid TOML: {exc}") from None
    users = doc.get("users", {})
    if not isinstance(users, dict):
        raise IdentityError(f"The role map {path}: [users] must be a table of email = [roles].")
    out = {}
    for email, roles in users.items():
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise IdentityError(f"The role map {path}: {email!r} must map to a list of role names.")
        unknown = sorted(set(roles) - set(ROLES))
        if unknown:
            raise IdentityError(f"The role map {path}: {email!r} has unknown roles {unknown} "
                                f"(known: {', '.join(ROLES)}).")
        out[email.strip().lower()] = frozenset(roles)
    return out


def resolve(headers: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None) -> Identity:
    """The user of this request: the proxy's header when trusted, else the local user."""
    env = dict(os.environ if env is None else env)
    trusted = env.get("OFFERWALL_APP_TRUST_PROXY_HEADER", "") == "1"
    if trusted:
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        value = (lowered.get(IAP_HEADER.lower()) or "").strip()
        if not value:
            raise IdentityError(f"No authenticated user: the app expects Identity-Aware Proxy's {IAP_HEADER} "
                                "header and the request has none. Open the app through its proxy URL.")
        email, source = value.removeprefix(IAP_PREFIX).strip(), "iap"
    else:
        email, source = (env.get("OFFERWALL_APP_USER") or "").strip(), "local"
        if not email:
            raise IdentityError("No user: set OFFERWALL_APP_USER to your email to run the app locally "
                                "(behind Identity-Aware Proxy set OFFERWALL_APP_TRUST_PROXY_HEADER=1).")
    if len(email) > MAX_EMAIL or any(ord(c) < 32 for c in email):
        raise IdentityError("The user's identity is not a valid email address.")
    roles_path = (env.get("OFFERWALL_APP_ROLES") or "").strip()
    if roles_path:
        roles = load_roles(roles_path).get(email.lower(), frozenset())
    elif trusted:
        raise IdentityError("No role map: behind the proxy the app needs OFFERWALL_APP_ROLES "
                            "(docs/app.md, 'Identity and roles').")
    else:
        roles = frozenset({"analyst"})  # local, no role map: read every page, record nothing
    return Identity(email, roles, source)
