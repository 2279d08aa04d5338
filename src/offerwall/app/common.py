"""Shared by every page: who is using the app and what they may see (identity.py), the
warehouse and decisions store (from the environment), the freshness banner, and error messages
instead of tracebacks."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import streamlit as st

from . import data, decisions, identity

PROJECT_DIR = Path(__file__).resolve().parents[3]


_SETTINGS = ("OFFERWALL_APP_BACKEND", "DUCKDB_PATH", "DBT_SCHEMA", "OPS_DUCKDB_PATH", "BQ_PROJECT",
             "OFFERWALL_BQ_DATASET_PREFIX", "OFFERWALL_OPS_DATASET", "BQ_LOCATION", "BQ_EMULATOR_ENDPOINT")


def _settings() -> tuple:
    return tuple(os.environ.get(k) for k in _SETTINGS)


@st.cache_resource
def _warehouse(settings: tuple) -> data.Warehouse:
    return data.from_env()


@st.cache_resource
def _store(settings: tuple) -> decisions.DecisionStore:
    return decisions.store_from_env(_warehouse(settings))


def warehouse() -> data.Warehouse:
    """One backend per process and configuration (the environment variables it is built from)."""
    return _warehouse(_settings())


def store() -> decisions.DecisionStore:
    return _store(_settings())


def _request_headers() -> dict[str, str]:
    """This session's HTTP request headers (the proxy's identity header, when there is one)."""
    try:
        return dict(st.context.headers)
    except Exception:  # no request (a bare script run)
        return {}


def user() -> identity.Identity | None:
    """The user of this session, or None after a clear message (no identity, bad role map)."""
    try:
        return identity.resolve(_request_headers())
    except identity.IdentityError as exc:
        st.error(str(exc))
        return None


def header(title: str, caption: str, page: str) -> bool:
    """Title, the user's access to `page`, the data's freshness, and False (after a clear
    message) when there is nothing to show: no identity, no role for this page, no warehouse."""
    st.title(title)
    st.caption(caption)
    who = user()
    if who is None:
        return False
    roles = ", ".join(sorted(who.roles)) or "none"
    st.sidebar.caption(f"Signed in as {who.email} ({who.source}); roles: {roles}")
    if not who.may_see(page):
        st.error(f"{who.email} has no role that sees this page (it needs one of "
                 f"{', '.join(sorted(identity.PAGE_ROLES[page]))}). Ask for it in the app's role map.")
        return False
    try:
        wh = warehouse()
        fresh = data.freshness(wh)
    except data.WarehouseError as exc:
        st.error(str(exc))
        return False
    label = f"{wh.describe()} — data as of {fresh.as_of:%Y-%m-%d %H:%M} UTC" if fresh.as_of else wh.describe()
    st.caption(label)
    if fresh.message:
        st.warning(fresh.message)
    return True


@contextlib.contextmanager
def section(name: str):
    """A section that shows a message, not a traceback, when its mart is missing or busy."""
    try:
        yield
    except data.WarehouseError as exc:
        st.error(f"{name}: {exc}")


def show(result: data.Result, empty: str, **kwargs) -> bool:
    """A mart's rows as a table; a clear message when the filter leaves none."""
    if result.stale:
        st.caption("Served from the last read: a dbt build is running.")
    if result.frame.empty:
        st.info(empty)
        return False
    st.dataframe(result.frame, hide_index=True, **kwargs)
    return True


def dbt_vars() -> dict:
    """The project's vars (the anti-fraud thresholds the page shows next to each signal)."""
    import yaml

    path = PROJECT_DIR / "dbt_project.yml"
    if not path.exists():
        return {}
    return (yaml.safe_load(path.read_text()) or {}).get("vars", {})
