"""Text expressions shared by the standardizers: Unicode normalization and 'no value' tokens."""

from __future__ import annotations

import re

import polars as pl

# Written where a value is absent: treated as missing (no finding) for phones, IDs, emails, dates, gender.
NULL_TOKENS: tuple[str, ...] = (
    "", "-", "--", "---", "—", "/", "\\", ".", "?", "null", "none", "nil", "nan", "n/a", "na", "#n/a",
    "无", "暂无", "空", "未知", "不详", "未填", "未提供", "没有",
)


_FULL = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000"]
_HALF = [chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)] + [" "]


# What people type between several values in one cell (phones, emails), after fold_width (so "；" is ";").
CELL_SEPARATORS: tuple[str, ...] = ("/", ";", ",", "|", "、")


def unspreadsheet(expr: pl.Expr, *, float_suffix: bool = True) -> pl.Expr:
    """Undo what spreadsheets do to a code kept as text (on width-folded text): Excel's text marker (a
    leading '), its formula form (="…"), and with `float_suffix` the '.0' of a number read back as a float
    (only after a digit: "13912876543.0"; "139.1287.6543" keeps its dots). A float keeps 15–16 digits: an
    11-digit phone survives one exactly, an 18-digit ID number does not (leave float_suffix off for those)."""
    out = expr.str.replace(r'^="(.*)"$', "${1}").str.replace(r"^'+", "")
    if float_suffix:
        out = out.str.replace(r"([0-9])\.0+$", "${1}")
    return out.str.strip_chars()


def nfkc(expr: pl.Expr) -> pl.Expr:
    """NFKC (full-width → half-width, compatibility forms folded) and trimmed, incl. ideographic spaces."""
    return expr.str.normalize("NFKC").str.strip_chars()


def fold_width(expr: pl.Expr) -> pl.Expr:
    """Full-width ASCII (１３８, ＠, （）) and the ideographic space → ASCII, trimmed.

    What NFKC does for digits, Latin letters and punctuation, ~5× faster: enough for phones, ID numbers,
    emails, dates and gender, whose meaningful characters are all ASCII.
    """
    return expr.str.replace_many(_FULL, _HALF).str.strip_chars()


# One anchored, case-insensitive pattern: ~30× faster than lower-casing every value for is_in().
_NULL_PATTERN = "^(?i:" + "|".join(re.escape(t) for t in NULL_TOKENS if t) + ")?$"


def null_if_blank(expr: pl.Expr) -> pl.Expr:
    """Null for values that only say 'nothing here' (empty, '-', 'null', '无' …); expects NFKC'd text.

    `expr` appears twice in the result: pass a column reference (pl.col) — the streaming engine does
    not eliminate common subexpressions, so a computed expression would be evaluated twice.
    """
    return pl.when(expr.str.contains(_NULL_PATTERN)).then(None).otherwise(expr)


def issue(condition: pl.Expr, rule_id: str) -> pl.Expr:
    """The rule id where `condition` holds, else null (one issue column per field; see std_issues)."""
    return pl.when(condition).then(pl.lit(rule_id)).otherwise(pl.lit(None, dtype=pl.String))
