"""Gender: 男/女, M/F, male/female, 1/0 (and GB/T 2261.1's 2), properties."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from hanlink.standardize.gender import standardize_gender


def test_codes() -> None:
    raw = ["男", "男性", "M", "m", "Male", "1", "女", "女性", "F", "female", "0", "2", " 女 ", "Ｆ",
           "9", "未知", "", None, "x", "3"]
    out = standardize_gender(pl.Series(raw, dtype=pl.String))
    assert out["gender"].to_list() == ["M"] * 6 + ["F"] * 8 + [None] * 6
    assert out["gender_issue"].to_list() == [None] * 18 + ["gender.invalid"] * 2


@given(st.lists(st.text(max_size=8) | st.sampled_from(["男", "女", "M", "F", "1", "0", "2"]), max_size=20))
@settings(max_examples=60, deadline=None)
def test_never_crashes_and_is_idempotent(values: list[str]) -> None:
    out = standardize_gender(pl.Series(values, dtype=pl.String))
    assert set(out["gender"].drop_nulls().to_list()) <= {"M", "F"}
    assert standardize_gender(out["gender"])["gender"].to_list() == out["gender"].to_list()
