"""Dates and timestamps as customers type them: 1990-01-02, 1990/1/2, 19900102, 1990年1月2日, 1990.01.02,
Excel's '1990-01-02 00:00:00' and serial day numbers."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

import polars as pl

from hanlink.standardize.text import fold_width, issue, null_if_blank

# year, month, day with - / . or 年月日 between, optionally a time (T or space, 时分秒 too) and a zone
# (ignored: customer timestamps are local time).
_YMD = (r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*[日号]?"
        r"(?:[\st]+([0-9]{1,2})\s*[:时]\s*([0-9]{1,2})(?:\s*[:分]\s*([0-9]{1,2})(?:\.[0-9]+)?\s*秒?)?\s*分?)?"
        r"\s*(?:z|[+-][0-9]{2}:?[0-9]{2})?$")
# 19900102 or 19900102153000 / 19900102 153000
_COMPACT = r"^([0-9]{4})([0-9]{2})([0-9]{2})(?:[\st]?([0-9]{2}):?([0-9]{2}):?([0-9]{2})?)?$"
# Excel serial day numbers (a date cell exported as a number): days since 1899-12-30, fraction = time.
_SERIAL = r"^([0-9]{5})(?:\.([0-9]+))?$"
EXCEL_EPOCH = date(1899, 12, 30)
EARLIEST = date(1900, 1, 1)




def _parts(ymd: pl.Expr, cmp: pl.Expr) -> list[pl.Expr]:
    """y, m, d, hh, mi, ss (Int32, null where absent) from the first pattern that matched."""
    return [pl.coalesce(ymd.struct.field(str(i)), cmp.struct.field(str(i))).cast(pl.Int32, strict=False)
            for i in range(1, 7)]


def standardize_dates(values: pl.Series, *, field: str, kind: Literal["date", "datetime"] = "date",
                      malformed: str, impossible: str, today: date | None = None) -> pl.DataFrame:
    """Parse dates (kind='date') or timestamps (kind='datetime'): columns `<field>` and `<field>_issue`.

    A value in none of the known shapes gets issue `malformed`; a well-formed but impossible one
    (1990-02-30, in the future, before 1900) is null with issue `impossible`. Two-digit years and
    day-first orders (02/01/1990) are ambiguous and count as malformed.
    """
    today = today or date.today()
    lf = (pl.DataFrame({"_raw": values.cast(pl.String)}).lazy()
          .with_columns(_t=fold_width(pl.col("_raw")).str.to_lowercase())
          .with_columns(_s=null_if_blank(pl.col("_t")))
          .with_columns(_ymd=pl.col("_s").str.extract_groups(_YMD),
                        _cmp=pl.col("_s").str.extract_groups(_COMPACT),
                        _serial=pl.col("_s").str.extract_groups(_SERIAL)))
    y, m, d, hh, mi, ss = _parts(pl.col("_ymd"), pl.col("_cmp"))
    serial = pl.col("_serial")
    lf = lf.with_columns(
        _y=y, _m=m, _d=d, _hh=hh.fill_null(0), _mi=mi.fill_null(0), _ss=ss.fill_null(0),
        _days=serial.struct.field("1").cast(pl.Int32, strict=False),
        _frac=("0." + serial.struct.field("2")).cast(pl.Float64, strict=False).fill_null(0.0),
    )
    text = pl.format("{}-{}-{} {}:{}:{}", *(pl.col(c).cast(pl.String).str.zfill(2)
                                            for c in ("_y", "_m", "_d", "_hh", "_mi", "_ss")))
    from_text = text.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
    from_serial = (pl.lit(datetime.combine(EXCEL_EPOCH, time())) + pl.duration(days=pl.col("_days"))
                   + pl.duration(microseconds=(pl.col("_frac") * 86_400_000_000).round().cast(pl.Int64)))
    lf = lf.with_columns(
        _shape=pl.col("_y").is_not_null() | pl.col("_days").is_not_null(),
        _ts=pl.when(pl.col("_y").is_not_null()).then(from_text)
        .when(pl.col("_days").is_not_null()).then(from_serial),
    )
    limit = (pl.lit(datetime.combine(today, time.max)) if kind == "datetime"
             else pl.lit(datetime.combine(today, time())))
    ok = pl.col("_ts").is_between(pl.lit(datetime.combine(EARLIEST, time())), limit).fill_null(False)
    value = pl.when(ok).then(pl.col("_ts"))
    return lf.select(
        (value if kind == "datetime" else value.dt.date()).alias(field),
        pl.coalesce(
            issue(pl.col("_s").is_not_null() & ~pl.col("_shape"), malformed),
            issue(pl.col("_shape") & ~ok, impossible),
        ).alias(f"{field}_issue"),
    ).collect()
