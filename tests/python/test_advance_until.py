"""`offerwall advance --until DATE`: idempotent, day by day, whatever the split into runs."""

from __future__ import annotations

import datetime as dt

from dbt_harness import Relation, Warehouse

RAW = [Relation(t, "raw", t) for t in ("offers", "offer_tasks", "user_offers", "users", "ua_spend_daily")]
START = dt.date(2026, 3, 1)


def _clock(wh: Warehouse) -> dt.datetime:
    return wh.scalar("select clock from sim.state")


def test_until_is_idempotent_and_independent_of_how_days_are_split(tmp_path):
    base = Warehouse(tmp_path, tmp_path / "base")  # no dbt here: the project dir is unused
    base.generate(users=300, days=10, seed=3, bad_rate=0.01, fraud_rate=0.03, start=START.isoformat())
    assert _clock(base) == dt.datetime(2026, 3, 11)

    one = base.copy_to(tmp_path / "one")
    one.offerwall("advance", "--until", "2026-03-12")  # two days in one call
    assert _clock(one) == dt.datetime(2026, 3, 13)
    again = one.offerwall("advance", "--until", "2026-03-12")  # already landed: nothing to do
    assert "already landed" in again.stderr
    older = one.offerwall("advance", "--until", "2026-03-05")
    assert "already landed" in older.stderr and _clock(one) == dt.datetime(2026, 3, 13)

    split = base.copy_to(tmp_path / "split")
    split.offerwall("advance", "--until", "2026-03-11")
    split.offerwall("advance", "--until", "2026-03-12")
    assert one.checksums(RAW) == split.checksums(RAW)
    assert one.checksums(RAW)["user_offers"].rows > base.checksums(RAW)["user_offers"].rows


def test_until_and_days_are_exclusive(tmp_path):
    wh = Warehouse(tmp_path, tmp_path / "wh")
    proc = wh.offerwall("advance", "--days", "1", "--until", "2026-03-12", check=False)
    assert proc.returncode == 2 and "not allowed with" in proc.stderr
    proc = wh.offerwall("advance", "--until", "12/03/2026", check=False)
    assert proc.returncode == 2 and "YYYY-MM-DD" in proc.stderr
