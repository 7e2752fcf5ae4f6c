"""Dates: every accepted format, impossible and malformed values, timestamps, properties."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hanlink.standardize.dates import standardize_dates

CASES = json.loads((Path(__file__).parent / "cases" / "standardize" / "dates.json").read_text("utf-8"))
TODAY = date(2026, 11, 26)


def birth(values: list[str | None]) -> pl.DataFrame:
    return standardize_dates(pl.Series(values, dtype=pl.String), field="birth_date",
                             malformed="date.malformed", impossible="date.impossible", today=TODAY)


def updated(values: list[str | None]) -> pl.DataFrame:
    return standardize_dates(pl.Series(values, dtype=pl.String), field="updated_at", kind="datetime",
                             malformed="updated_at.malformed", impossible="updated_at.impossible",
                             today=TODAY)


@pytest.fixture(scope="module")
def golden() -> list[dict[str, object]]:
    """The golden raw dates parsed in one call."""
    return birth([c["raw"] for c in CASES]).with_columns(pl.col("birth_date").cast(pl.String)).to_dicts()


@pytest.mark.parametrize("i", range(len(CASES)), ids=[repr(c["raw"]) for c in CASES])
def test_golden_case(golden: list[dict[str, object]], i: int) -> None:
    case, out = CASES[i], golden[i]
    assert out["birth_date"] == case["birth_date"], case
    if "issue" in case:
        assert out["birth_date_issue"] == case["issue"], case


def test_timestamps_keep_the_time() -> None:
    out = updated(["2024-05-01 10:20:30", "2024/5/1 8:05", "2024-05-01T10:20:30.5Z", "20240501102030",
                   "45413.5", "2024-05-01", "2999-01-01 00:00:00", "soon"])
    assert out["updated_at"].to_list() == [
        datetime(2024, 5, 1, 10, 20, 30), datetime(2024, 5, 1, 8, 5), datetime(2024, 5, 1, 10, 20, 30),
        datetime(2024, 5, 1, 10, 20, 30), datetime(2024, 5, 1, 12), datetime(2024, 5, 1), None, None]
    assert out["updated_at_issue"].to_list() == [None] * 6 + ["updated_at.impossible", "updated_at.malformed"]


def test_today_is_allowed_tomorrow_is_not() -> None:
    out = birth([TODAY.isoformat(), date(2026, 11, 27).isoformat()])
    assert out["birth_date"].to_list() == [TODAY, None]


@given(st.lists(st.text(max_size=24) | st.text(alphabet="0123456789-/.年月日 :T", max_size=24), max_size=20))
@settings(max_examples=80, deadline=None)
def test_never_crashes_and_is_idempotent(values: list[str]) -> None:
    out = birth(values)
    assert out.height == len(values)
    again = birth(out["birth_date"].cast(pl.String).to_list())
    assert again["birth_date"].to_list() == out["birth_date"].to_list()
    ts = updated(values)
    ts_again = updated(ts["updated_at"].cast(pl.String).to_list())
    assert ts_again["updated_at"].to_list() == ts["updated_at"].to_list()


@given(st.dates(date(1900, 1, 1), TODAY))
@settings(max_examples=50, deadline=None)
def test_every_written_form_of_a_date_agrees(d: date) -> None:
    forms = [d.isoformat(), f"{d.year}/{d.month}/{d.day}", f"{d:%Y%m%d}", f"{d.year}年{d.month}月{d.day}日",
             f"{d:%Y.%m.%d}", f"{d:%Y-%m-%d} 00:00:00"]
    assert birth(forms)["birth_date"].to_list() == [d] * len(forms)
