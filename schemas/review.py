"""Contracts of the review tables: review_queue (per run) and review_labels (kept across runs)."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData


class ReviewQueue(pa.DataFrameModel):
    """Pairs for an analyst, best first: grey-zone pairs and pairs with two valid ID numbers in one entity."""

    run_id: str
    rank: int = pa.Field(ge=1, unique=True)
    priority: float = pa.Field(gt=0)                   # impact × closeness, see hanlink.review
    kind: str = pa.Field(isin=["grey_zone", "conflict"])
    rid_l: int = pa.Field(ge=0)
    rid_r: int = pa.Field(ge=0)
    source_l: str
    source_record_id_l: str
    source_r: str
    source_record_id_r: str
    entity_l: str
    entity_r: str
    size_l: int = pa.Field(ge=1)
    size_r: int = pa.Field(ge=1)
    probability: float = pa.Field(nullable=True, ge=0, le=1)
    impact: int = pa.Field(ge=1)
    reason_zh: str
    reason_en: str

    class Config:
        strict = False
        coerce = False

    @pa.dataframe_check(name="review_queue.left_is_smaller")
    @classmethod
    def _left_is_smaller(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("rid_l") < pl.col("rid_r"))


class ReviewLabels(pa.DataFrameModel):
    """Append-only analysts' decisions, keyed by record keys (not rids); the latest per pair counts."""

    seq: int = pa.Field(ge=1, unique=True)
    source_l: str
    source_record_id_l: str
    source_r: str
    source_record_id_r: str
    label: str = pa.Field(isin=["match", "non_match", "unsure"])
    comment: str
    who: str = pa.Field(str_length={"min_value": 1})
    labelled_at: pl.Datetime
    run_id: str = pa.Field(nullable=True)              # the run whose queue the analyst was looking at

    class Config:
        strict = False
        coerce = False

    @pa.dataframe_check(name="review_labels.keys_ordered")
    @classmethod
    def _keys_ordered(cls, data: PolarsData) -> pl.LazyFrame:
        left = pl.concat_list("source_l", "source_record_id_l")
        return data.lazyframe.select((pl.col("source_l") < pl.col("source_r"))
                                     | ((pl.col("source_l") == pl.col("source_r"))
                                        & (pl.col("source_record_id_l") < pl.col("source_record_id_r")))
                                     | left.is_null())
