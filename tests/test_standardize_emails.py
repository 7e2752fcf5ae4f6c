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


def test_what_copying_from_mail_clients_and_sheets_brings_along() -> None:
    """A display name, a mailto: link, a sentence's full stop, several addresses in one cell."""
    raw = ["张伟 <Zhang.Wei@QQ.com>", "mailto:li@163.com", "wang@gmail.com。", "a@qq.com; b@163.com",
           "test@test.com, real@qq.com", "x@y;z", "<>"]
    out = standardize_emails(pl.Series(raw, dtype=pl.String))
    assert out["email"].to_list() == ["zhang.wei@qq.com", "li@163.com", "wang@gmail.com", "a@qq.com",
                                      "real@qq.com", None, None]
    assert out["email_issue"].to_list() == [None, None, None, "email.multiple", "email.multiple",
                                            "email.malformed", "email.malformed"]


def test_a_cell_with_several_addresses_does_not_change_the_other_rows() -> None:
    plain = [" Zhang.San@QQ.com ", "bad@", "test@test.com", None, "张伟 <zw@qq.com>"]
    alone = standardize_emails(pl.Series(plain, dtype=pl.String))
    mixed = standardize_emails(pl.Series([*plain, "a@qq.com/b@qq.com"], dtype=pl.String))
    assert mixed.head(len(plain)).equals(alone)
