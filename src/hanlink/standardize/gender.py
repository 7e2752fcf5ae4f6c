"""Gender: 男/女, M/F, male/female, 1/0 (and GB/T 2261.1's 1/2) → 'M' / 'F'."""

from __future__ import annotations

import polars as pl

from hanlink.standardize.text import NULL_TOKENS, fold_width, issue

# 1 = M and 0 = F is the common boolean convention of CRM exports; 2 = F is GB/T 2261.1 (0 there means
# 'unknown', but a 0 next to 1s in customer data is almost always F). 9 and 'U' mean not stated.
GENDER_CODES: dict[str, str] = {
    "男": "M", "男性": "M", "男士": "M", "先生": "M", "m": "M", "male": "M", "man": "M", "1": "M",
    "女": "F", "女性": "F", "女士": "F", "小姐": "F", "f": "F", "female": "F", "woman": "F",
    "0": "F", "2": "F",
}
NOT_STATED: tuple[str, ...] = ("9", "u", "unknown", "未说明", "保密", "其他", "other", *NULL_TOKENS)


def standardize_gender(values: pl.Series) -> pl.DataFrame:
    """Standardize gender: `gender` ('M' / 'F' / null) and `gender_issue` (gender.invalid when a value is
    given that means neither, e.g. 'x' or '3'; 'unknown' / 9 / blank are simply missing)."""
    s = fold_width(pl.col("_raw")).str.to_lowercase().str.replace_all(r"\s+", "")
    lf = pl.DataFrame({"_raw": values.cast(pl.String)}).lazy().with_columns(_s=s).with_columns(
        gender=pl.col("_s").replace_strict(GENDER_CODES, default=None, return_dtype=pl.String))
    return lf.select(
        "gender",
        gender_issue=issue(pl.col("gender").is_null() & pl.col("_s").is_not_null()
                           & ~pl.col("_s").is_in(NOT_STATED), "gender.invalid"),
    ).collect()
