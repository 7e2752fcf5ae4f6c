"""Emails: trimmed, lower case, validity, placeholders, properties."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from hanlink.standardize.emails import standardize_emails


def test_cases() -> None:
    raw = [" Zhang.San@QQ.com ", "li_si+crm@163.com", "ｗａｎｇ＠ｇｍａｉｌ．ｃｏｍ", "test@test.com",
           "anyone@example.com", "bad@", "a..b@x.com", "no-at-sign.com", "a@b", "无", None]
    out = standardize_emails(pl.Series(raw, dtype=pl.String))
    assert out["email"].to_list() == ["zhang.san@qq.com", "li_si+crm@163.com", "wang@gmail.com"] + [None] * 8
    assert out["email_valid"].to_list() == [True] * 3 + [False] * 8
    assert out["email_issue"].to_list() == [None] * 3 + ["email.placeholder"] * 2 + ["email.malformed"] * 4 \
        + [None, None]


@given(st.lists(st.emails() | st.text(max_size=20), max_size=20))
@settings(max_examples=80, deadline=None)
def test_never_crashes_and_is_idempotent(values: list[str]) -> None:
    out = standardize_emails(pl.Series(values, dtype=pl.String))
    assert out.height == len(values)
    assert (out["email"].is_not_null() == out["email_valid"]).all()
    again = standardize_emails(out["email"])
    assert again["email"].to_list() == out["email"].to_list()
