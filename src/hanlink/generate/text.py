"""Rendering emails, addresses, birth dates and genders with their injected errors and variants."""

from __future__ import annotations

import numpy as np
import polars as pl
from polars.expr.whenthen import When

from hanlink.generate.corrupt import Ctx
from hanlink.generate.entities import JUNK
from hanlink.generate.numbers import fullwidth

# date_format variants: 1990/1/2, 19900102, 1990年1月2日, 1990.01.02, 1990/01/02, 1990-1-2
DATE_FORMAT_WEIGHTS: dict[str, list[float]] = {
    "crm": [1, 1, 1, 1, 1, 1],
    "ecommerce": [1, 1, 1, 1, 1, 1],
    "pos": [1, 6, 0, 0, 1, 0],
    "callcenter": [1, 1, 1, 1, 1, 1],
}
GENDER_FORMAT_WEIGHTS: dict[str, list[float]] = {  # M/F 1/0 male/female Male/Female
    "crm": [1, 1, 1, 1],
    "ecommerce": [1, 1, 1, 1],
    "pos": [6, 1, 1, 0],
    "callcenter": [1, 1, 1, 1],
}


def _when(mask: np.ndarray) -> When:
    return pl.when(pl.Series(mask))


def render_emails(ctx: Ctx) -> pl.Series:
    """Emails, sometimes with changed case or stray spaces, sometimes malformed (no @, @@)."""
    ok = ctx.present("email") & ~ctx.kind_is(JUNK)
    case, malformed = ctx.pick(["email_case", "email_malformed"], [ok, ok])
    e = ctx.ent["email"]
    how = ctx.rng.integers(0, 4, ctx.n)
    # A capital first letter only changes an address that starts with a letter (not 12345@qq.com).
    letter_first = e.str.contains("^[a-z]").fill_null(False).to_numpy()
    out = (
        _when(case & ((how == 0) | ((how == 1) & ~letter_first))).then(e.str.to_uppercase())
        .when(pl.Series(case & (how == 1))).then(pl.concat_str(e.str.slice(0, 1).str.to_uppercase(),
                                                               e.str.slice(1)))
        .when(pl.Series(case & (how == 2))).then(pl.concat_str(pl.lit(" "), e))
        .when(pl.Series(case & (how == 3))).then(pl.concat_str(e, pl.lit(" ")))
        .when(pl.Series(malformed & (how < 2))).then(e.str.replace("@", "", literal=True))
        .when(pl.Series(malformed)).then(e.str.replace("@", "@@", literal=True))
        .otherwise(e)
    )
    return pl.select(_when(ctx.present("email")).then(out).otherwise(None).alias("email")).to_series()


def render_addresses(ctx: Ctx) -> dict[str, pl.Series]:
    """address (+ province, city, district for sources with separate columns), written several ways:
    short province names, province or city left out, full-width digits, # for 号, spaces between parts."""
    ent = ctx.ent
    junk = ctx.kind_is(JUNK)
    ok = ctx.present("address") & ~junk
    variant = ctx.coin("address_variant", ok)
    kind = np.where(variant, ctx.rng.integers(0, 6, ctx.n), -1)
    split = ctx.split_address
    muni = ent["municipality"].fill_null(False)
    city_full = pl.when(muni).then(pl.lit("")).otherwise(ent["city_full"])
    city_short = pl.when(muni).then(pl.lit("")).otherwise(ent["city_short"])
    detail, district = ent["detail"], ent["district"]
    full = pl.select(pl.concat_str(ent["prov_full"], city_full, district, detail)).to_series()

    one_column = (
        _when(kind == 0).then(pl.concat_str(ent["prov_short"], city_short, district, detail))
        .when(pl.Series((kind == 1) & ~muni.to_numpy())).then(pl.concat_str(city_full, district, detail))
        .when(pl.Series((kind == 1) | (kind == 2))).then(pl.concat_str(district, detail))
        .when(pl.Series(kind == 3)).then(fullwidth(full, (kind == 3) & ~split))
        .when(pl.Series(kind == 4)).then(full.str.replace("号", "#", literal=True))
        .when(pl.Series(kind == 5)).then(pl.concat_str(ent["prov_full"], pl.when(muni).then(None)
                                                       .otherwise(ent["city_full"]), district, detail,
                                                       separator=" ", ignore_nulls=True))
        .otherwise(full)
    )
    detail_column = (
        _when(kind == 1).then(pl.concat_str(district, detail))
        .when(pl.Series(kind == 2)).then(full)
        .when(pl.Series(kind == 3)).then(fullwidth(detail, (kind == 3) & split))
        .when(pl.Series(kind == 4)).then(detail.str.replace("号", "#", literal=True))
        .otherwise(detail)
    )
    shown = ctx.present("address")
    frame = pl.select(
        address=_when(junk).then(detail)
        .when(pl.Series(~shown)).then(None)
        .when(pl.Series(split)).then(detail_column)
        .otherwise(one_column),
        province=_when(kind == 0).then(ent["prov_short"]).otherwise(ent["prov_full"]),
        city=_when(kind == 0).then(ent["city_short"]).otherwise(ent["city_full"]),
        district=district,
    )
    # 省/市 omitted: the columns left empty.
    frame = frame.with_columns(
        province=_when(kind == 5).then(None).otherwise(pl.col("province")),
        city=_when(kind == 5).then(None).otherwise(pl.col("city")),
    )
    return {c: frame[c] for c in frame.columns}


def render_birth_dates(ctx: Ctx) -> pl.Series:
    """Birth dates as YYYY-MM-DD, or in another format (1990/1/2, 19900102, 1990年1月2日, 1990.01.02), or
    impossible (1990-02-30, 1990-04-31, 1990-13-02, 2099-…)."""
    ok = ctx.present("birth_date") & ~ctx.kind_is(JUNK)
    impossible, fmt = ctx.pick(["date_impossible", "date_format"], [ok, ok])
    fkind = np.where(fmt, ctx.variant(DATE_FORMAT_WEIGHTS), -1)
    ikind = np.where(impossible, ctx.rng.integers(0, 4, ctx.n), -1)
    y = ctx.ent["by"].cast(pl.String)
    m, d = ctx.ent["bm"].cast(pl.String), ctx.ent["bd"].cast(pl.String)
    mm, dd = m.str.zfill(2), d.str.zfill(2)
    out = (
        _when(fkind == 0).then(pl.concat_str(y, m, d, separator="/"))
        .when(pl.Series(fkind == 1)).then(pl.concat_str(y, mm, dd))
        .when(pl.Series(fkind == 2)).then(pl.concat_str(y, pl.lit("年"), m, pl.lit("月"), d, pl.lit("日")))
        .when(pl.Series(fkind == 3)).then(pl.concat_str(y, mm, dd, separator="."))
        .when(pl.Series(fkind == 4)).then(pl.concat_str(y, mm, dd, separator="/"))
        .when(pl.Series(fkind == 5)).then(pl.concat_str(y, m, d, separator="-"))
        .when(pl.Series(ikind == 0)).then(pl.concat_str(y, pl.lit("-02-30")))
        .when(pl.Series(ikind == 1)).then(pl.concat_str(y, pl.lit("-04-31")))
        .when(pl.Series(ikind == 2)).then(pl.concat_str(y, pl.lit("-13-"), dd))
        .when(pl.Series(ikind == 3)).then(pl.concat_str(pl.lit("2099-"), mm, pl.lit("-"), dd))
        .otherwise(pl.concat_str(y, mm, dd, separator="-"))
    )
    shown = _when(ctx.present("birth_date")).then(out).otherwise(None)
    return pl.select(shown.alias("birth_date")).to_series()


def render_genders(ctx: Ctx) -> pl.Series:
    """男/女, or M/F, 1/0, male/female, Male/Female."""
    ok = ctx.present("gender") & ~ctx.kind_is(JUNK)
    fmt = ctx.coin("gender_format", ok)
    kind = np.where(fmt, ctx.variant(GENDER_FORMAT_WEIGHTS), -1)
    male = ctx.ent["gender"] == 1

    def pair(m: str, f: str) -> pl.Expr:
        return pl.when(male).then(pl.lit(m)).otherwise(pl.lit(f))

    out = (
        _when(kind == 0).then(pair("M", "F"))
        .when(pl.Series(kind == 1)).then(pair("1", "0"))
        .when(pl.Series(kind == 2)).then(pair("male", "female"))
        .when(pl.Series(kind == 3)).then(pair("Male", "Female"))
        .otherwise(pair("男", "女"))
    )
    return pl.select(_when(ctx.present("gender")).then(out).otherwise(None).alias("gender")).to_series()
