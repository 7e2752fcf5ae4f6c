"""CSV cells that a spreadsheet would run as a formula (CSV injection) are written as text.

Stewards open crosswalk.csv, findings.csv and golden_records.csv in Excel or WPS. A cell that starts with
`=`, `+`, `-`, `@`, a tab or a carriage return is read there as a formula: `=cmd|' /C calc'!A0` from a web
form would run on the steward's machine. Such cells get a leading apostrophe (OWASP's advice), which the
spreadsheet shows as plain text. A signed number ("-5", "+86138…" without spaces) is left alone: it is
read as a number, not a formula. The warehouse keeps every value as it came; only the files change.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

_ALWAYS = r"^[=@\t\r]"
_SIGNED = r"^[+\-]"
_NUMBER = r"^[+\-][0-9]+(\.[0-9]+)?$"


def formula_like(col: pl.Expr) -> pl.Expr:
    """True where the text in `col` would be read as a formula by a spreadsheet."""
    return col.str.contains(_ALWAYS) | (col.str.contains(_SIGNED) & ~col.str.contains(_NUMBER))


def excel_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with every formula-like text cell prefixed by an apostrophe; other columns untouched."""
    texts = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(formula_like(pl.col(c))).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in texts)


def write_csv_safe(frame: pl.DataFrame, path: str | Path) -> None:
    """Write `frame` as CSV (UTF-8, header) with formula-like cells neutralised."""
    excel_safe(frame).write_csv(path)
