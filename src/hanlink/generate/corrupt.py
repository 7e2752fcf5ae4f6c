"""Error injection: configurable rates, per-source habits, and the pass that renders every record's fields
with its injected errors (recorded by stable name for the ground truth)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl

from hanlink.generate.entities import JUNK
from hanlink.generate.sources import STYLE_NAMES

Difficulty = Literal["normal", "hard"]

# Probability per record where the error is possible (a name_traditional needs a character with a
# traditional form, id_15digit someone born before 2000, id_lowercase_x an ID ending in X, …).
# Errors of one field are exclusive except the *_format ones, which apply on top.
NORMAL_RATES: dict[str, float] = {
    "name_traditional": 0.03,
    "name_homophone": 0.03,
    "name_typo": 0.02,
    "name_pinyin": 0.01,
    "phone_format": 0.10,
    "phone_typo": 0.02,
    "phone_missing_digit": 0.01,
    "phone_placeholder": 0.01,
    "landline_format": 0.15,
    "id_typo": 0.01,
    "id_15digit": 0.01,
    "id_lowercase_x": 0.30,
    "id_placeholder": 0.01,
    "id_missing": 0.03,
    "email_case": 0.05,
    "email_malformed": 0.01,
    "address_variant": 0.20,
    "date_format": 0.15,
    "date_impossible": 0.005,
    "gender_format": 0.10,
    "field_missing": 0.03,     # per optional field (phone, landline, email, address, birth date, gender)
    "junk_record": 0.005,      # share of all records
}
ERROR_TYPES: tuple[str, ...] = tuple(NORMAL_RATES)

# Habits of the source systems: the rates they override (ecommerce takes Latin-letter names and +86 phones,
# the POS writes 19900102 and M/F, the call centre types what it hears).
SOURCE_RATES: dict[str, dict[str, float]] = {
    "crm": {},
    "ecommerce": {"name_pinyin": 0.15, "phone_format": 0.50},
    "pos": {"date_format": 0.60, "gender_format": 0.60, "phone_format": 0.30},
    "callcenter": {"phone_format": 0.40, "address_variant": 0.35, "name_homophone": 0.06},
}
# The entity column holding a field's value (where the names differ).
VALUE_COLUMN = {"address": "detail", "birth_date": "by"}
HARD_FACTOR = 2.0
MAX_RATE = 0.9


def error_rates(difficulty: Difficulty = "normal") -> dict[str, dict[str, float]]:
    """Effective rate of every error type for every source style; 'hard' doubles them (capped at 0.9)."""
    if difficulty not in ("normal", "hard"):
        raise ValueError(f"difficulty must be 'normal' or 'hard', not {difficulty!r}")
    factor = HARD_FACTOR if difficulty == "hard" else 1.0
    return {
        style: {e: min(MAX_RATE, {**NORMAL_RATES, **SOURCE_RATES[style]}[e] * factor) for e in ERROR_TYPES}
        for style in STYLE_NAMES
    }


@dataclass
class Ctx:
    """What the field renderers share: the records' entity attributes, styles, fields and random draws."""

    rng: np.random.Generator
    ent: pl.DataFrame                # entity attributes, one row per record
    id_codes: np.ndarray             # (n, 18) code points of each record's entity's ID
    style: np.ndarray                # index into SOURCES: whose habits the record follows
    has: dict[str, np.ndarray]       # canonical field → the record's source has that column
    split_address: np.ndarray        # province / city / district in their own columns
    rates: dict[str, dict[str, float]]
    missing: dict[str, np.ndarray] = field(default_factory=dict)
    errors: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.style)

    def kind_is(self, kind: int) -> np.ndarray:
        return self.ent["kind"].to_numpy() == kind

    def rate(self, error: str) -> np.ndarray:
        """Per-record rate of an error type, following each record's source habits."""
        table = np.array([self.rates[s][error] for s in STYLE_NAMES])
        return table[self.style]

    def present(self, fld: str) -> np.ndarray:
        """The record shows this field: its source has it, the entity has a value, it wasn't blanked."""
        ok = self.has[fld] & self.ent[VALUE_COLUMN.get(fld, fld)].is_not_null().to_numpy()
        return ok & ~self.missing.get(fld, np.zeros(self.n, dtype=bool))

    def pick(self, errors: list[str], eligible: list[np.ndarray]) -> list[np.ndarray]:
        """Exclusive choice among a field's errors, each at its rate where eligible; records the masks."""
        u = self.rng.random(self.n)
        lo = np.zeros(self.n)
        out = []
        for e, ok in zip(errors, eligible, strict=True):
            hi = lo + self.rate(e)
            mask = (u >= lo) & (u < hi) & ok
            self.tag(e, mask)
            out.append(mask)
            lo = hi
        return out

    def coin(self, error: str, eligible: np.ndarray) -> np.ndarray:
        mask = (self.rng.random(self.n) < self.rate(error)) & eligible
        self.tag(error, mask)
        return mask

    def tag(self, error: str, mask: np.ndarray) -> None:
        self.errors[error] = self.errors.get(error, np.zeros(self.n, dtype=bool)) | mask

    def variant(self, weights: dict[str, list[float]]) -> np.ndarray:
        """A variant number per record, drawn from its source style's weights (one list per style)."""
        cum = np.array([np.cumsum(np.array(weights[s]) / np.sum(weights[s])) for s in STYLE_NAMES])
        u = self.rng.random(self.n)
        return np.minimum((u[:, None] >= cum[self.style]).sum(axis=1), cum.shape[1] - 1)


MISSABLE = ("phone", "landline", "email", "address", "birth_date", "gender")


def blank_fields(ctx: Ctx) -> None:
    """field_missing: blank optional fields (each at the rate) where the source has them and a value
    exists."""
    not_junk = ~ctx.kind_is(JUNK)
    any_missing = np.zeros(ctx.n, dtype=bool)
    for fld in MISSABLE:
        ok = ctx.present(fld) & not_junk
        mask = (ctx.rng.random(ctx.n) < ctx.rate("field_missing")) & ok
        ctx.missing[fld] = mask
        any_missing |= mask
    ctx.tag("field_missing", any_missing)


def errors_column(ctx: Ctx) -> pl.Series:
    """';'-joined error names per record in ERROR_TYPES order ('' when none)."""
    parts = [pl.when(pl.Series(ctx.errors[e])).then(pl.lit(e)) for e in ERROR_TYPES if e in ctx.errors]
    if not parts:
        return pl.Series("errors", [""] * ctx.n)
    return pl.select(pl.concat_str(parts, separator=";", ignore_nulls=True).alias("errors")).to_series()

