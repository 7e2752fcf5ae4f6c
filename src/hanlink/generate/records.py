"""From entities to records: how many records each entity has, which source holds them, what they show."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from hanlink.fields import CANONICAL_FIELDS
from hanlink.generate.corrupt import Ctx, blank_fields, errors_column
from hanlink.generate.entities import JUNK, Entities
from hanlink.generate.names import render_names
from hanlink.generate.numbers import render_ids, render_landlines, render_phones
from hanlink.generate.sources import SINGLE, SOURCES, Layout
from hanlink.generate.text import render_addresses, render_birth_dates, render_emails, render_genders

# Records per entity: half appear once, a quarter twice, … a tail to six.
RECORDS_PER_ENTITY_P = (0.50, 0.25, 0.12, 0.07, 0.04, 0.02)
COMPANY_SHARE = 0.03
# A fixed window (not "today") so that generation stays deterministic; it ends near the first release.
UPDATED_FROM = np.datetime64("2021-01-01T00:00:00")
UPDATED_SPAN_S = int((np.datetime64("2026-11-01T00:00:00") - UPDATED_FROM) / np.timedelta64(1, "s"))


@dataclass(frozen=True)
class Plan:
    """How many entities of each kind, and each entity's number of records (people, companies, junk)."""

    n_people: int
    n_companies: int
    n_junk: int
    counts: np.ndarray


def plan_records(rng: np.random.Generator, n_records: int, junk_rate: float) -> Plan:
    """Entity counts whose records add up to exactly n_records; junk records are one entity each."""
    n_junk = min(n_records, round(n_records * junk_rate))
    real = n_records - n_junk
    p = np.array(RECORDS_PER_ENTITY_P)
    mean = float((np.arange(1, len(p) + 1) * p).sum())
    draw = rng.choice(np.arange(1, len(p) + 1), int(real / mean * 1.2) + 16, p=p)
    total = np.cumsum(draw)
    k = int(np.searchsorted(total, real)) + 1 if real else 0
    counts = draw[:k].copy()
    if k:
        counts[-1] -= int(total[k - 1] - real)   # trim the last entity so the sum is exact
    n_companies = round(k * COMPANY_SHARE)
    return Plan(n_people=k - n_companies, n_companies=n_companies, n_junk=n_junk,
                counts=np.concatenate([counts, np.ones(n_junk, dtype=np.int64)]).astype(np.int64))


def _record_ids(source: pl.Series, layout: Layout) -> pl.Series:
    """Ids unique within each source, numbered in file order in each source's own style."""
    specs = SOURCES if layout == "sources" else (SINGLE,)
    seq = pl.int_range(pl.len()).over("source")
    expr = pl.lit(None, dtype=pl.String)
    for spec in specs:
        number = seq + spec.id_start
        styled = (pl.concat_str(pl.lit(spec.id_prefix), number.cast(pl.String).str.zfill(8)) if spec.id_prefix
                  else number.cast(pl.String))
        expr = pl.when(pl.col("source") == spec.name).then(styled).otherwise(expr)
    return pl.DataFrame({"source": source}).select(expr.alias("record_id")).to_series()


def build_records(rng: np.random.Generator, ents: Entities, plan: Plan, layout: Layout,
                  rates: dict[str, dict[str, float]]) -> tuple[pl.DataFrame, dict[str, int]]:
    """One row per record, shuffled: source, record_id, truth columns, then every canonical field as the
    record shows it (null where its source has no such column or the value is absent); and the number
    of records carrying each error type."""
    ent_idx = np.repeat(np.arange(len(plan.counts)), plan.counts)
    n = len(ent_idx)
    shares = np.array([s.share for s in SOURCES])
    style = rng.choice(len(SOURCES), n, p=shares / shares.sum())
    perm = rng.permutation(n)
    ent_idx, style = ent_idx[perm], style[perm]

    if layout == "sources":
        source = pl.Series(np.array([s.name for s in SOURCES])[style])
        has = {f: np.array([f in s.fields for s in SOURCES])[style] for f in CANONICAL_FIELDS}
        split = np.array([s.split_address for s in SOURCES])[style]
    else:
        source = pl.Series([SINGLE.name] * n)
        has = {f: np.full(n, f in SINGLE.fields) for f in CANONICAL_FIELDS}
        split = np.zeros(n, dtype=bool)
    ctx = Ctx(rng=rng, ent=ents.df[ent_idx], id_codes=ents.id_codes[ent_idx], style=style, has=has,
              split_address=split, rates=rates)
    blank_fields(ctx)
    fields: dict[str, pl.Series] = {
        "name": render_names(ctx),
        "phone": render_phones(ctx),
        "landline": render_landlines(ctx),
        "id_number": render_ids(ctx),
        "email": render_emails(ctx),
        **render_addresses(ctx),
        "birth_date": render_birth_dates(ctx),
        "gender": render_genders(ctx),
    }
    ctx.tag("junk_record", ctx.kind_is(JUNK))

    seconds = rng.integers(0, UPDATED_SPAN_S, n)
    stamps = (UPDATED_FROM + seconds.astype("timedelta64[s]")).astype("datetime64[us]")
    updated = pl.Series("updated_ts", stamps)
    specs = SOURCES if layout == "sources" else [SINGLE] * len(SOURCES)
    fmt = [s.updated_format for s in specs]
    updated_at = pl.lit(None, dtype=pl.String)
    for i, f in enumerate(fmt):
        updated_at = pl.when(pl.Series(style == i)).then(updated.dt.to_string(f)).otherwise(updated_at)

    df = pl.DataFrame({"source": source}).with_columns(
        record_id=_record_ids(source, layout),
        entity_id=ctx.ent["entity_id"],
        entity_kind=ctx.ent["entity_kind"],
        family_id=ctx.ent["family_id"],
        errors=errors_column(ctx),
        **fields,
        updated_at=updated_at,
        updated_ts=updated,
    )
    return df, {e: int(m.sum()) for e, m in ctx.errors.items()}
