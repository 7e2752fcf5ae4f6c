"""Email addresses: trimmed, lower case, checked by a plain pattern, placeholders flagged."""

from __future__ import annotations

import re

import polars as pl

from hanlink.standardize.text import CELL_SEPARATORS, fold_width, issue, null_if_blank

# Local part of letters, digits and ._%+-, no leading/trailing/double dot; a domain of labels and a
# letter TLD. Deliberately simpler than RFC 5322: what customer systems actually accept.
EMAIL = (r"^[a-z0-9_%+\-]+(?:\.[a-z0-9_%+\-]+)*@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?"
         r"(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,24}$")

# Typed to get past a form; a whole domain of them is a placeholder too.
PLACEHOLDER_EMAILS: tuple[str, ...] = (
    "test@test.com", "a@a.com", "aa@aa.com", "abc@abc.com", "xxx@xxx.com", "x@x.com", "123@123.com",
    "123@qq.com", "1@qq.com", "test@qq.com", "test@163.com", "none@none.com", "no@no.com",
    "noemail@noemail.com", "null@null.com", "admin@admin.com", "demo@demo.com", "email@email.com",
)
PLACEHOLDER_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net", "test.com", "test.cn",
                                        "xxx.com", "none.com", "email.com")

# What copying an address out of a mail client or a web page brings along: a display name around it
# (张伟 <zw@qq.com>), a mailto: link, a sentence's full stop (zw@qq.com。).
_DISPLAY = r"^[^<>]*<([^<>]*@[^<>]*)>[^<>]*$"
# (Full-width ， ； ： are ASCII by then: fold_width runs first.)
_TRAILING = "。,;.、:"
_LIST_SEP = "[" + re.escape("".join(CELL_SEPARATORS)) + "]"


def _placeholder(email: pl.Expr) -> pl.Expr:
    """A typed-in filler address, or any address at a placeholder domain."""
    return (email.is_in(PLACEHOLDER_EMAILS)
            | email.str.extract(r"@(.+)$", 1).is_in(PLACEHOLDER_DOMAINS)).fill_null(False)


def standardize_emails(values: pl.Series) -> pl.DataFrame:
    """Standardize emails: `email` (null unless valid), `email_valid`, `email_issue`.

    Full-width characters are folded (＠ → @); a display name, a mailto: link and trailing punctuation are
    dropped; of several addresses in one cell the first valid one is kept (issue email.multiple). A
    placeholder (test@test.com, anything@example.com) is not valid (issue email.placeholder); anything else
    that fails the pattern is email.malformed.
    """
    t = (fold_width(pl.col("_raw")).str.to_lowercase().str.replace_all(r"\s+", "")
         .str.strip_prefix("mailto:").str.strip_chars_end(_TRAILING))
    frame = pl.DataFrame({"_raw": values.cast(pl.String)}).with_columns(_t=t)
    # The rare shapes are looked for once, and only worked on where some row has them.
    if frame["_t"].str.contains("<", literal=True).any():
        frame = frame.with_columns(_t=pl.col("_t").str.replace(_DISPLAY, "${1}"))
    if frame["_t"].str.contains_any(list(CELL_SEPARATORS)).any():
        parts = pl.col("_t").str.replace_all(_LIST_SEP, "\x1f").str.split("\x1f")
        e = pl.element()
        valid_parts = parts.list.eval(e.filter(e.str.contains(EMAIL) & ~_placeholder(e)))
        frame = frame.with_columns(
            _multi=(parts.list.eval(e.str.contains("@")).list.sum() >= 2).fill_null(False),
            _t=pl.coalesce(valid_parts.list.first(), parts.list.first()))
    else:
        frame = frame.with_columns(_multi=pl.lit(False))
    lf = frame.lazy().with_columns(
        _s=null_if_blank(pl.col("_t"))).with_columns(
        _ok=pl.col("_s").str.contains(EMAIL).fill_null(False),
        _ph=_placeholder(pl.col("_s")),
    )
    return lf.select(
        email=pl.when(pl.col("_ok") & ~pl.col("_ph")).then(pl.col("_s")),
        email_valid=pl.col("_ok") & ~pl.col("_ph"),
        email_issue=pl.coalesce(
            issue(pl.col("_ph"), "email.placeholder"),
            issue(pl.col("_s").is_not_null() & ~pl.col("_ok"), "email.malformed"),
            issue(pl.col("_multi"), "email.multiple"),
        ),
    ).collect()
