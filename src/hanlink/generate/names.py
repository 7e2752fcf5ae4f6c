"""Rendering names with their injected errors: traditional characters, homophones, typos, pinyin."""

from __future__ import annotations

import numpy as np
import polars as pl

from hanlink.generate import vocab
from hanlink.generate.corrupt import Ctx
from hanlink.generate.entities import PERSON, take


def _flatten(alts: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Homophone strings per character → one flat character list, start offset and count per character."""
    counts = np.array([len(a) for a in alts], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return [c for a in alts for c in a], starts, counts


def render_names(ctx: Ctx) -> pl.Series:
    """People's names as the record shows them; companies and junk keep theirs.

    Every variant but pinyin is index arithmetic into one character table (surnames, given characters,
    their traditional forms, their homophones, ''), so a million names are three gathers and a concat.
    """
    t = vocab.name_tables()
    ns, ng = len(t.surnames), len(t.given)
    s_alt, s_start, s_count = _flatten(t.surname_alts)
    g_alt, g_start, g_count = _flatten(t.given_alts)
    table = [*t.surnames, *t.given, *t.surname_trad, *t.given_trad, *s_alt, *g_alt, ""]
    off_g, off_st, off_gt = ns, ns + ng, 2 * ns + ng
    off_sa, off_ga = 2 * (ns + ng), 2 * (ns + ng) + len(s_alt)
    empty = len(table) - 1

    person = ctx.kind_is(PERSON) & ctx.has["name"]
    sur = np.maximum(ctx.ent["sur"].to_numpy(), 0)
    g1 = np.maximum(ctx.ent["g1"].to_numpy(), 0)
    g2 = ctx.ent["g2"].to_numpy()
    two = g2 >= 0
    g2 = np.maximum(g2, 0)
    s_trad = np.array([a != b for a, b in zip(t.surnames, t.surname_trad, strict=True)])
    g_trad = np.array([a != b for a, b in zip(t.given, t.given_trad, strict=True)])
    hom_pos = np.stack([s_count[sur] > 0, g_count[g1] > 0, two & (g_count[g2] > 0)], axis=1)
    trad, hom, typo, pinyin = ctx.pick(
        ["name_traditional", "name_homophone", "name_typo", "name_pinyin"],
        [person & (s_trad[sur] | g_trad[g1] | (two & g_trad[g2])), person & hom_pos.any(axis=1),
         person, person],
    )
    rng = ctx.rng
    r = rng.integers(0, 1 << 30, (ctx.n, 3))

    i0 = np.where(trad, off_st + sur, sur)
    i1 = np.where(trad, off_gt + g1, off_g + g1)
    i2 = np.where(two, np.where(trad, off_gt + g2, off_g + g2), empty)

    # Homophone: one character (surname or given) replaced by a sound-alike.
    score = np.where(hom_pos, rng.random((ctx.n, 3)), -1.0)
    where = score.argmax(axis=1)
    i0 = np.where(hom & (where == 0), off_sa + s_start[sur] + r[:, 0] % np.maximum(s_count[sur], 1), i0)
    i1 = np.where(hom & (where == 1), off_ga + g_start[g1] + r[:, 1] % np.maximum(g_count[g1], 1), i1)
    i2 = np.where(hom & (where == 2), off_ga + g_start[g2] + r[:, 2] % np.maximum(g_count[g2], 1), i2)

    # Typo: a given character replaced by another, dropped, or two swapped.
    how = np.where(two, rng.choice(3, ctx.n, p=[0.5, 0.3, 0.2]), 0)
    how = np.where((how == 2) & (g1 == g2), 0, how)
    second = two & (rng.random(ctx.n) < 0.5)

    def other(g: np.ndarray) -> np.ndarray:  # a different given character
        return off_g + (g + 1 + r[:, 0] % (ng - 1)) % ng

    i1, i2 = (
        np.where(typo & (how == 0) & ~second, other(g1), np.where(typo & (how == 1) & ~second, empty,
                 np.where(typo & (how == 2), i2, i1))),
        np.where(typo & (how == 0) & second, other(g2), np.where(typo & (how == 1) & second, empty,
                 np.where(typo & (how == 2), i1, i2))),
    )
    chars = pl.Series(table)
    hanzi = pl.concat_str(chars.gather(i0), chars.gather(i1), chars.gather(i2))

    # Pinyin in the orders and cases people type: Zhang Wei, WEI ZHANG, zhangwei, Wei Zhang, ZHANG WEI.
    s_py = take(t.surname_pinyin, sur)
    g_py = pl.concat_str(take(t.given_pinyin, g1), take(t.given_pinyin, np.where(two, g2, -1)))
    form = pl.Series(rng.integers(0, 6, ctx.n))
    s_title, g_title = s_py.str.to_titlecase(), g_py.str.to_titlecase()
    latin = (
        pl.when(form == 0).then(pl.concat_str(s_title, pl.lit(" "), g_title))
        .when(form == 1).then(pl.concat_str(g_py.str.to_uppercase(), pl.lit(" "), s_py.str.to_uppercase()))
        .when(form == 2).then(pl.concat_str(s_py, g_py))
        .when(form == 3).then(pl.concat_str(g_title, pl.lit(" "), s_title))
        .when(form == 4).then(pl.concat_str(s_py.str.to_uppercase(), pl.lit(" "), g_py.str.to_uppercase()))
        .otherwise(pl.concat_str(s_py, pl.lit(" "), g_py))
    )
    return pl.select(
        pl.when(pl.Series(~person)).then(ctx.ent["name"])
        .when(pl.Series(pinyin)).then(latin)
        .otherwise(hanzi)
        .alias("name")
    ).to_series()
