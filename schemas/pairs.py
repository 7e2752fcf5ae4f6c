"""Contracts of the matching tables: candidate, compared and scored pairs, the fitted model, entities."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData


class _Pair(pa.DataFrameModel):
    """A pair of std_records rows, the smaller rid on the left, each pair once."""

    rid_l: int = pa.Field(ge=0)
    rid_r: int = pa.Field(ge=0)

    @pa.dataframe_check
    @classmethod
    def left_is_smaller(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("rid_l") < pl.col("rid_r"))

    @pa.dataframe_check
    @classmethod
    def each_pair_once(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.struct("rid_l", "rid_r").is_duplicated())

    class Config:
        strict = False


class PairsCandidate(_Pair):
    """block: a pair some blocking rule put together."""

    rules: str = pa.Field(str_matches=r"^[a-z_0-9+]+(;[a-z_0-9+]+)*$")   # rule names, ';'-joined


class PairsCompared(_Pair):
    """compare: one level per comparison (0 = strongest agreement, -1 = a side is null)."""

    g: pl.Int32 = pa.Field(alias=r"g_\w+", regex=True, ge=-1)


class PairsScored(PairsCompared):
    """score: per-comparison log2 Bayes factors, their total with the prior, and the decision."""

    w: float = pa.Field(alias=r"w_\w+", regex=True)
    weight: float
    probability: float = pa.Field(ge=0, le=1)
    match: bool
    veto: str = pa.Field(nullable=True, isin=["different_valid_id", "no_identity_agreement"])


class ModelParams(pa.DataFrameModel):
    """score: the fitted Fellegi–Sunter model, one row per comparison level plus the '_prior' row."""

    run_id: str
    comparison: str
    level: pl.Int32 = pa.Field(ge=0)
    label: str
    m: float = pa.Field(gt=0, le=1)
    u: float = pa.Field(nullable=True, gt=0, le=1)
    weight: float
    tf_value: str = pa.Field(nullable=True)      # levels weighted by the frequency of this value
    em_sessions: pl.Int32 = pa.Field(nullable=True, ge=0)   # EM sessions that estimated m (0 = default)

    class Config:
        strict = False


class PairsBlockingStats(pa.DataFrameModel):
    """block: per rule, the pairs estimated before the join, made by it, and what was kept out."""

    rule: str = pa.Field(unique=True)
    estimated_pairs: int = pa.Field(ge=0)
    actual_pairs: int = pa.Field(ge=0)
    excluded_values: int = pa.Field(ge=0)     # values shared by more than max_block_size records
    largest_block: int = pa.Field(ge=0)       # before the cap

    class Config:
        strict = False


class Entities(pa.DataFrameModel):
    """cluster: every std_records row with its entity."""

    rid: int = pa.Field(ge=0, unique=True)
    entity_id: str = pa.Field(str_matches=r"^E[0-9A-F]{12}$")
    cluster_size: pl.Int32 = pa.Field(ge=1)

    class Config:
        strict = False
