"""Rendering phones, landlines and ID numbers with their injected errors."""

from __future__ import annotations

import numpy as np
import polars as pl

from hanlink.generate import vocab
from hanlink.generate.corrupt import Ctx
from hanlink.generate.entities import COMPANY, JUNK, PERSON, take
from hanlink.generate.ids import to_strings

DIGITS = "0123456789"
FULLWIDTH = "０１２３４５６７８９"

# phone_format variants: +86 138 1234 5678, +8613812345678, 0086-…, 86…, 138-1234-5678, 138 1234 5678,
# (+86)138-1234-5678, full-width digits, +86-138-1234-5678. Weights per source style.
PHONE_FORMAT_WEIGHTS: dict[str, list[float]] = {
    "crm":        [1, 1, 1, 1, 1, 1, 1, 1, 1],
    "ecommerce":  [3, 4, 1, 1, 0, 0, 0, 0, 1],
    "pos":        [0, 0, 0, 0, 4, 2, 0, 1, 0],
    "callcenter": [2, 0, 0, 0, 0, 4, 1, 1, 0],
}


def fullwidth(s: pl.Series, where: np.ndarray) -> pl.Series:
    """s with ASCII digits → full-width digits (１３８…) in the rows where `where` holds (only those are
    converted: the rare variant shouldn't cost a pass over a million strings)."""
    rows = np.flatnonzero(where)
    if not len(rows):
        return s
    return s.clone().scatter(rows, s.gather(rows).str.replace_many(list(DIGITS), list(FULLWIDTH)))


def _digit(values: np.ndarray, k: np.ndarray) -> np.ndarray:
    return (values // 10**k) % 10


def render_phones(ctx: Ctx) -> pl.Series:
    """Mobiles: value errors (one digit wrong or two transposed, a digit missing, a placeholder), then
    formatting on top (+86, 0086-, dashes, spaces, brackets, full-width digits)."""
    rng = ctx.rng
    junk = ctx.kind_is(JUNK)
    ok = ctx.present("phone") & ~junk
    phone = ctx.ent["phone"].fill_null(0).to_numpy()
    typo, missing, placeholder = ctx.pick(
        ["phone_typo", "phone_missing_digit", "phone_placeholder"], [ok] * 3)

    k = rng.integers(0, 8, ctx.n)              # positions from the right; the 3-digit prefix is kept
    d = _digit(phone, k)
    wrong = phone + ((d + rng.integers(1, 10, ctx.n)) % 10 - d) * 10**k
    kt = np.minimum(k, 6)
    a, b = _digit(phone, kt), _digit(phone, kt + 1)
    swapped = phone + (b - a) * 10**kt + (a - b) * 10 ** (kt + 1)
    value = np.where(typo, np.where((rng.random(ctx.n) < 0.3) & (a != b), swapped, wrong), phone)
    value = np.where(missing, (phone // 10 ** (k + 1)) * 10**k + phone % 10**k, value)
    ph = np.array([int(p) for p in vocab.PLACEHOLDER_PHONES], dtype=np.int64)
    value = np.where(placeholder, ph[rng.integers(0, len(ph), ctx.n)], value)

    fmt = ctx.coin("phone_format", ok)
    kind = pl.Series(np.where(fmt, ctx.variant(PHONE_FORMAT_WEIGHTS), -1))
    s = pl.Series(value).cast(pl.String)
    head, mid, tail = s.str.slice(0, 3), s.str.slice(3, 4), s.str.slice(7)
    out = (
        pl.when(kind == 0).then(pl.concat_str(pl.lit("+86 "), head, pl.lit(" "), mid, pl.lit(" "), tail))
        .when(kind == 1).then(pl.concat_str(pl.lit("+86"), s))
        .when(kind == 2).then(pl.concat_str(pl.lit("0086-"), s))
        .when(kind == 3).then(pl.concat_str(pl.lit("86"), s))
        .when(kind == 4).then(pl.concat_str(head, pl.lit("-"), mid, pl.lit("-"), tail))
        .when(kind == 5).then(pl.concat_str(head, pl.lit(" "), mid, pl.lit(" "), tail))
        .when(kind == 6).then(pl.concat_str(pl.lit("(+86)"), head, pl.lit("-"), mid, pl.lit("-"), tail))
        .when(kind == 7).then(fullwidth(s, (kind == 7).to_numpy()))
        .when(kind == 8).then(pl.concat_str(pl.lit("+86-"), head, pl.lit("-"), mid, pl.lit("-"), tail))
        .otherwise(s)
    )
    shown = ctx.present("phone")
    return pl.select(pl.when(pl.Series(shown)).then(out).otherwise(None).alias("phone")).to_series()


def render_landlines(ctx: Ctx) -> pl.Series:
    """Landlines 区号-号码, sometimes written (010)…, with a space, run together, or without the area code."""
    ok = ctx.present("landline")
    fmt = ctx.coin("landline_format", ok)
    kind = pl.Series(np.where(fmt, ctx.rng.integers(0, 4, ctx.n), -1))
    parts = ctx.ent["landline"].str.split_exact("-", 1)
    area, local = parts.struct.field("field_0"), parts.struct.field("field_1")
    out = (
        pl.when(kind == 0).then(pl.concat_str(pl.lit("("), area, pl.lit(")"), local))
        .when(kind == 1).then(pl.concat_str(area, pl.lit(" "), local))
        .when(kind == 2).then(pl.concat_str(area, local))
        .when(kind == 3).then(local)
        .otherwise(ctx.ent["landline"])
    )
    return pl.select(pl.when(pl.Series(ok)).then(out).otherwise(None).alias("landline")).to_series()


def render_ids(ctx: Ctx) -> pl.Series:
    """Resident IDs / credit codes: one digit wrong (the check fails), the old 15-digit form, a lowercase x,
    a placeholder, or missing (id_missing)."""
    rng = ctx.rng
    person, company = ctx.kind_is(PERSON), ctx.kind_is(COMPANY)
    ok = ctx.has["id_number"] & ctx.ent["has_id"].to_numpy() & ~ctx.kind_is(JUNK)
    born_before_2000 = ctx.ent["by"].fill_null(9999).to_numpy() < 2000
    typo, old, placeholder, missing = ctx.pick(
        ["id_typo", "id_15digit", "id_placeholder", "id_missing"],
        [ok, ok & person & born_before_2000, ok, ok])
    codes = ctx.id_codes.copy()
    last_x = codes[:, 17] == ord("X")
    lower = ctx.coin("id_lowercase_x", ok & person & last_x & ~(typo | old | placeholder | missing))
    codes[lower, 17] = ord("x")

    # One digit of the body changed: every weight is invertible mod 11 (mod 31 for credit codes), so the
    # check character no longer fits. Credit codes only get digits 2–15 changed (always digits there).
    rows = np.flatnonzero(typo)
    pos = np.where(company[rows], rng.integers(2, 16, len(rows)), rng.integers(0, 17, len(rows)))
    d = codes[rows, pos].astype(np.int64) - ord("0")
    codes[rows, pos] = (ord("0") + (d + rng.integers(1, 10, len(rows))) % 10).astype(np.uint32)

    id18 = pl.Series(to_strings(codes))
    id15 = pl.Series(to_strings(np.concatenate([codes[:, 0:6], codes[:, 8:17]], axis=1)))
    ph = take(list(vocab.PLACEHOLDER_IDS), rng.integers(0, len(vocab.PLACEHOLDER_IDS), ctx.n))
    shown = ctx.has["id_number"] & ctx.ent["has_id"].to_numpy() & ~missing
    return pl.select(
        pl.when(pl.Series(~shown)).then(None)
        .when(pl.Series(placeholder)).then(ph)
        .when(pl.Series(old)).then(id15)
        .otherwise(id18)
        .alias("id_number")
    ).to_series()
