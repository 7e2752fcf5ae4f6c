"""Display masks for sensitive values (polars expressions): 138****5678, 110101********1234, 张*, z***@qq.com.

PIPL / GB/T 35273 define de-identification but no display format; these are the common ones. A mask is
for showing a value to a person (findings, reports, logs); it is not a token (use a keyed HMAC for that).
"""

from __future__ import annotations

import polars as pl

from hanlink.fields import column_tag


def _stars(expr: pl.Expr) -> pl.Expr:
    """Every character of `expr` replaced by '*'."""
    return expr.str.replace_all(r"(?s).", "*")


def _keep_ends(expr: pl.Expr, head: int, tail: int) -> pl.Expr:
    """Keep `head` leading and `tail` trailing characters, star the middle; values too short to keep
    both ends keep only their first character."""
    n = expr.str.len_chars()
    long = pl.concat_str([expr.str.slice(0, head), _stars(expr.str.slice(head, n - head - tail)),
                          expr.str.slice(n - tail, tail)])
    short = pl.concat_str([expr.str.slice(0, 1), _stars(expr.str.slice(1))])
    return pl.when(n > head + tail).then(long).otherwise(short)


def mask_phone(expr: pl.Expr) -> pl.Expr:
    """First 3 and last 4 characters: 13812345678 → 138****5678."""
    return _keep_ends(expr.str.strip_chars(), 3, 4)


def mask_id(expr: pl.Expr) -> pl.Expr:
    """Region (first 6) and last 4: 110101199003071234 → 110101********1234."""
    return _keep_ends(expr.str.strip_chars(), 6, 4)


def mask_name(expr: pl.Expr) -> pl.Expr:
    """First character only: 张伟 → 张*, 欧阳娜娜 → 欧***, Zhang Wei → Z********."""
    e = expr.str.strip_chars()
    return pl.concat_str([e.str.slice(0, 1), _stars(e.str.slice(1))])


def mask_email(expr: pl.Expr) -> pl.Expr:
    """First character of the local part, domain kept: zhangsan@qq.com → z***@qq.com."""
    e = expr.str.strip_chars()
    local = e.str.extract(r"^([^@]*)@", 1)
    domain = e.str.extract(r"@(.*)$", 1)
    return (pl.when(local.is_not_null()).then(pl.concat_str([local.str.slice(0, 1), pl.lit("***@"), domain]))
            .otherwise(mask_name(e)))


# A house, building, unit or room number: digits anywhere, Chinese numerals before a unit word (三号楼).
_NUMBER_UNITS = r"号|栋|幢|座|单元|室|楼|层|弄|巷|组|户"


def mask_address(expr: pl.Expr) -> pl.Expr:
    """Street numbers hidden, the rest kept.

    北京市朝阳区建国路88号3单元502室 → 北京市朝阳区建国路**号*单元***室.

    An address with no number left to hide keeps only its first 6 characters (province/city level).
    """
    e = expr.str.strip_chars()
    hidden = (e.str.replace_all(r"[0-9０-９]", "*")
              .str.replace_all(rf"[一二三四五六七八九十百零〇两]+({_NUMBER_UNITS})", "*${1}"))
    short = pl.when(e.str.len_chars() > 6).then(e.str.slice(0, 6) + "****").otherwise(mask_name(e))
    return pl.when(hidden != e).then(hidden).otherwise(short)


def mask_birth_date(expr: pl.Expr) -> pl.Expr:
    """Year only: 1990-03-07 → 1990******."""
    e = expr.str.strip_chars()
    return pl.concat_str([e.str.slice(0, 4), _stars(e.str.slice(4))])


_BY_TAG = {"name": mask_name, "phone": mask_phone, "id_number": mask_id, "email": mask_email,
           "address": mask_address, "birth_date": mask_birth_date}


def mask_tag(tag: str, expr: pl.Expr) -> pl.Expr:
    """Mask a value by sensitivity tag (fields.SensitivityTag)."""
    return _BY_TAG[tag](expr.cast(pl.String))


def mask_field(field: str, expr: pl.Expr) -> pl.Expr:
    """Mask a value of a canonical field or stored column by its tag (fields.COLUMN_TAGS); others as is."""
    tag = column_tag(field)
    return _BY_TAG[tag](expr.cast(pl.String)) if tag else expr.cast(pl.String)


def mask_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Every column of `df` that carries a sensitivity tag, masked (dates and numbers as text first)."""
    return df.with_columns(mask_field(c, pl.col(c)).alias(c) for c in df.columns if column_tag(c))
