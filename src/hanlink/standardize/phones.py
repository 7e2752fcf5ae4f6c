"""Mobile and landline numbers: digits only, country prefix and extensions apart, typed (polars rules).

Google's `phonenumbers` was measured ~35× slower, ignores 转/分机 extensions and accepts placeholders such
as 13800138000, so the rules below are plain vectorized patterns (tests cross-check a sample against it).
"""

from __future__ import annotations

import re

import polars as pl

from hanlink.standardize.text import CELL_SEPARATORS, fold_width, issue, null_if_blank, unspreadsheet

MOBILE = r"^1[3-9][0-9]{9}$"
# 0 + area code + local number: 010 and 02x take 8 digits, other (3-digit) area codes 7 or 8; local
# numbers never start with 0 or 1.
LANDLINE = r"^0(?:10|2[0-9])[2-9][0-9]{7}$|^0[3-9][0-9]{2}[2-9][0-9]{6,7}$"
# A local number written without its area code, as people write their own landline: dialable within the
# city, so in a landline column it is kept (digits as written), not judged malformed. In a mobile column
# the same digits are more likely a mangled mobile, so there it stays invalid.
LOCAL = r"^[2-9][0-9]{6,7}$"

# Numbers typed to get past a form: the classic China Mobile test number, counting, all one digit.
PLACEHOLDERS: tuple[str, ...] = (
    "13800138000", "13800000000", "13900000000", "13888888888", "13812345678", "13912345678",
    "12345678901", "12345678910", "01012345678", "02112345678", "1234567", "12345678",
)
_ALL_SAME = "^(?:" + "|".join(f"{d}{{7,}}" for d in "0123456789") + ")$"
# A mobile whose last eight digits are one repeated digit (13900000000, 18611111111).
_RUN_TAIL = r"^1[0-9]{2}(?:" + "|".join(f"{d}{{8}}" for d in "0123456789") + ")$"
# Counting from 1 at either end (13812345678, 12345678901).
_COUNTING = r"12345678$|^12345678"

# Extension markers; 'x'/'#' only when followed by digits at the very end.
_EXT = r"(?:转|分机|分|内线|ext\.?|x|#)\s*([0-9]{1,6})$"
# A full landline (with area code) followed by -NNNN: the trailing group is an extension. The local
# number may be written in groups ("010 6234 5678-801"): 7–8 digits with single spaces or dashes between.
# Area codes never start 00 (that is 0086, the country prefix, before a grouped mobile).
_TRAILING_EXT = r"^(\(?0[1-9][0-9]{1,2}\)?[\s-]*(?:[0-9][\s-]?){6,7}[0-9])[\s-]+([0-9]{1,5})$"
# Several numbers in one cell ("13912876543/13812345679", "…；…", "…、…", "… 或 …"): split only where every
# part holds at least 7 digits, so "010/62345678" stays one number. The first usable part is kept.
_LIST_SEP = r"\s*(?:[" + re.escape("".join(CELL_SEPARATORS)) + r"]|或)\s*"
_UNIT = "\x1f"
# A number a spreadsheet turned into scientific notation ("1.3912876543E+10"): exact only when every
# digit survived (as many decimals as the exponent); otherwise it stays malformed.
_SCIENTIFIC = r"^([1-9])\.([0-9]+)e\+?([0-9]{1,2})$"


def standardize_phones(values: pl.Series, *, field: str = "phone") -> pl.DataFrame:
    """Standardize phone numbers: columns `<field>`, `<field>_type`, `<field>_ext`, `<field>_issue`.

    `<field>` is digits only (mobile 11 digits, landline 0 + area code + number, or in a landline column
    the 7–8 local digits when the area code was left out) and null unless the
    type is mobile or landline. A +86 / 0086 / 86 prefix is dropped (and the area code's 0 restored for
    international landlines); a number a spreadsheet wrote in scientific notation is read back when no
    digit was lost. A cell holding several numbers keeps the first usable one. Issues:
    `<field>.placeholder`, `<field>.missing_digit` (mobiles only), `<field>.malformed`, `<field>.multiple`.
    """
    folded = pl.select(unspreadsheet(fold_width(pl.lit(values.cast(pl.String)))).str.to_lowercase()
                       ).to_series()
    if not folded.str.contains(_LIST_SEP).any():   # the usual case: one number per cell, nothing to split
        return _standardize_one(folded, field)
    text = pl.DataFrame({"_t": folded}).with_row_index("_i").with_columns(
        _parts=pl.col("_t").str.replace_all(_LIST_SEP, _UNIT).str.split(_UNIT))
    listed = (pl.col("_parts").list.len() > 1) & pl.col("_parts").list.eval(
        pl.element().str.count_matches("[0-9]") >= 7).list.all()
    text = text.with_columns(_multi=listed.fill_null(False))
    parts = (text.with_columns(_t=pl.when("_multi").then("_parts").otherwise(pl.concat_list("_t")))
             .select("_i", "_multi", "_t").explode("_t").with_columns(_k=pl.int_range(pl.len()).over("_i")))
    one = pl.concat([parts, _standardize_one(parts["_t"], field)], how="horizontal")
    usable = pl.col(f"{field}_type").is_in(["mobile", "landline"])
    chosen = (one.sort([pl.col("_i"), ~usable, pl.col("_k")])
              .unique("_i", keep="first", maintain_order=True).sort("_i"))
    return chosen.with_columns(pl.coalesce(
        pl.col(f"{field}_issue"),
        issue(pl.col("_multi") & pl.col(f"{field}_type").ne("missing"), f"{field}.multiple"),
    ).alias(f"{field}_issue")).select(field, f"{field}_type", f"{field}_ext", f"{field}_issue")


def _from_scientific(text: pl.Expr) -> pl.Expr:
    """'1.3912876543e+10' → '13912876543' when the decimals are exactly the exponent (no digit lost);
    anything else unchanged ('1.39129e+10' lost six digits and stays malformed)."""
    g = text.str.extract_groups(_SCIENTIFIC)
    exact = g.struct.field("2").str.len_chars() == g.struct.field("3").cast(pl.Int32, strict=False)
    return pl.when(exact.fill_null(False)).then(g.struct.field("1") + g.struct.field("2")).otherwise(text)


def _standardize_one(values: pl.Series, field: str) -> pl.DataFrame:
    """standardize_phones for cells holding one number (already width-folded and lower-cased)."""
    df = (pl.DataFrame({"_t": values}).lazy()
          .with_columns(_t=_from_scientific(pl.col("_t")))
          .with_columns(_s=null_if_blank(pl.col("_t")))
          .with_columns(_trail=pl.col("_s").str.extract_groups(_TRAILING_EXT),
                        _x=pl.col("_s").str.extract(_EXT, 1))
          ).with_columns(
        _ext=pl.coalesce(pl.col("_x"), pl.col("_trail").struct.field("2")),
        _base=pl.when(pl.col("_x").is_not_null()).then(pl.col("_s").str.replace(_EXT, ""))
        .otherwise(pl.coalesce(pl.col("_trail").struct.field("1"), pl.col("_s"))),
    ).with_columns(
        _digits=pl.col("_base").str.replace_all(r"[\s\-\(\)\.\[\]/_~]", ""),
    ).with_columns(
        _intl=pl.col("_digits").str.contains(r"^(?:\+|00)86"),
        _d=pl.col("_digits").str.replace(r"^(?:\+86|0086)", ""),
    ).with_columns(
        # '86' glued to an 11-digit number starting with 1 (8613812345678, 8611111111111): a mobile, or
        # a placeholder typed in a mobile's shape. International landlines drop the area code's 0 — but
        # no area code makes 11 digits starting with 1 (Beijing's 10 + 8 digits is 10), so +86 + such a
        # number is mobile-shaped and judged as one (+8612345678901 is the counting placeholder).
        _d=pl.when(pl.col("_d").str.contains(r"^861[0-9]{10}$")).then(pl.col("_d").str.slice(2))
        .when(pl.col("_intl") & pl.col("_d").str.contains(r"^[1-9][0-9]{8,10}$")
              & ~pl.col("_d").str.contains(r"^1[0-9]{10}$")).then(pl.lit("0") + pl.col("_d"))
        .otherwise(pl.col("_d")),
    ).with_columns(
        _placeholder=pl.col("_d").is_in(PLACEHOLDERS) | pl.col("_d").str.contains(_ALL_SAME)
        | pl.col("_d").str.contains(_RUN_TAIL) | pl.col("_d").str.contains(_COUNTING),
        _mobile=pl.col("_d").str.contains(MOBILE),
        _landline=pl.col("_d").str.contains(LANDLINE)
        | (pl.col("_d").str.contains(LOCAL) & ~pl.col("_intl") & pl.lit(field == "landline")),
    )
    typ = (pl.when(pl.col("_s").is_null()).then(pl.lit("missing"))
           .when(pl.col("_placeholder")).then(pl.lit("placeholder"))
           .when(pl.col("_mobile")).then(pl.lit("mobile"))
           .when(pl.col("_landline")).then(pl.lit("landline"))
           .otherwise(pl.lit("invalid")))
    out = df.with_columns(_type=typ).select(
        pl.when(pl.col("_type").is_in(["mobile", "landline"])).then(pl.col("_d")).alias(field),
        pl.col("_type").alias(f"{field}_type"),
        pl.when(pl.col("_type") != "missing").then(pl.col("_ext")).alias(f"{field}_ext"),
        pl.coalesce(
            issue(pl.col("_type") == "placeholder", f"{field}.placeholder"),
            issue((pl.col("_type") == "invalid") & pl.col("_d").str.contains(r"^1[3-9][0-9]{8}$")
                  & pl.lit(field == "phone"), f"{field}.missing_digit"),
            issue(pl.col("_type") == "invalid", f"{field}.malformed"),
        ).alias(f"{field}_issue"),
    )
    return out.collect()
