"""Optional dependencies: a command that needs one says in one line which extra installs it."""

from __future__ import annotations

import importlib

from offerwall import OfferwallError

PACKAGE = "offerwall-warehouse"


def require(extra: str, *modules: str) -> None:
    """Raise OfferwallError naming the extra to install when any of `modules` cannot be imported."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise OfferwallError(
            f"{' and '.join(missing)} {verb} not installed: pip install '{PACKAGE}[{extra}]' "
            f"(the {extra} extra; '.[{extra}]' in a checkout)"
        )
