"""Contracts of the report stage's tables: dq_scorecard (kept across runs), dq_run_summary and dq_alerts."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

LEVELS = ["overall", "dimension", "source", "field", "rule"]
DAMA_DIMENSIONS = ["completeness", "validity", "uniqueness", "consistency", "timeliness", "accuracy"]
GBT_INDICATORS = ["规范性", "完整性", "准确性", "一致性", "时效性", "可访问性"]


class DqScorecard(pa.DataFrameModel):
    """One quality figure of one run: a dimension (or the overall score) at a level, with its traffic light.

    overall: source null = the run, else that source's overall; no dimension, no numerator/denominator.
    dimension: the run's score per dimension. source: per source × dimension. field: per field × dimension
    (source null = across sources; field 'entity_id' = the analysts' labelled pairs). rule: per catalogue
    rule (source null = across sources), dimension and gbt_indicator as the catalogue gives them, plus
    'review.precision' / 'review.recall' on the labels.
    """

    run_id: str
    as_of: pl.Date                                     # the date timeliness is measured against
    level: str = pa.Field(isin=LEVELS)
    source: str = pa.Field(nullable=True)
    field: str = pa.Field(nullable=True)
    rule_id: str = pa.Field(nullable=True)
    dimension: str = pa.Field(nullable=True, isin=DAMA_DIMENSIONS)
    gbt_indicator: str = pa.Field(nullable=True, isin=GBT_INDICATORS)
    numerator: int = pa.Field(nullable=True, ge=0)
    denominator: int = pa.Field(nullable=True, gt=0)
    score: float = pa.Field(ge=0, le=100)
    light: str = pa.Field(isin=["green", "amber", "red"])   # extra column: from the report thresholds

    class Config:
        strict = False
        coerce = False

    @pa.dataframe_check(name="scorecard.numerator_within_denominator")
    @classmethod
    def _fraction(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("denominator").is_null() | (pl.col("numerator") <= pl.col("denominator")))

    @pa.dataframe_check(name="scorecard.overall_has_no_dimension")
    @classmethod
    def _overall(cls, data: PolarsData) -> pl.LazyFrame:
        overall = pl.col("level") == "overall"
        return data.lazyframe.select(overall == pl.col("dimension").is_null())


class DqRunSummary(pa.DataFrameModel):
    """Row-conservation counts (raw_rows, quarantined, accepted, golden, crosswalk, balanced …) and the
    thresholds a run's scorecard was lit with: one row per metric."""

    run_id: str
    as_of: pl.Date
    metric: str
    value: float

    class Config:
        strict = False
        coerce = False
        unique = ["run_id", "metric"]  # noqa: RUF012


class DqAlerts(pa.DataFrameModel):
    """A quality alert of a run (hanlink.alerts): a scorecard metric that turned red, or dropped more than
    `limit` points below `baseline`, the median of its last `history` runs. Rows of a run are replaced
    when the run is reported again."""

    run_id: str
    as_of: pl.Date
    kind: str = pa.Field(isin=["red", "drop"])
    metric: str                                        # 'overall', a dimension, 'dimension:field' or rule id
    level: str = pa.Field(isin=LEVELS)
    source: str = pa.Field(nullable=True)
    field: str = pa.Field(nullable=True)
    rule_id: str = pa.Field(nullable=True)
    dimension: str = pa.Field(nullable=True, isin=DAMA_DIMENSIONS)
    gbt_indicator: str = pa.Field(nullable=True, isin=GBT_INDICATORS)
    score: float = pa.Field(ge=0, le=100)
    baseline: float = pa.Field(nullable=True, ge=0, le=100)
    history: int = pa.Field(nullable=True, ge=0)
    limit: float = pa.Field(ge=0)                      # the amber line (red) or the allowed drop (drop)
    message_zh: str
    message_en: str

    class Config:
        strict = False
        coerce = False
