"""Contracts of the survive stage's tables: golden_records, golden_provenance, crosswalk, golden_conflicts."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from hanlink.fields import sensitivity

GOLDEN_FIELD_NAMES = ["name", "phone", "landline", "id_number", "email", "address", "province", "city",
                      "district", "birth_date", "gender"]
SURVIVORSHIP_RULES = ["most_recent", "most_frequent", "most_complete", "source_priority", "valid_first"]


class GoldenRecords(pa.DataFrameModel):
    """One row per entity: the surviving value of each canonical field (null: no record had a usable one)."""

    entity_id: str = pa.Field(unique=True, str_matches=r"^E[0-9A-F]{12}$")
    name: str = pa.Field(nullable=True, metadata=sensitivity("name"))
    phone: str = pa.Field(nullable=True, str_matches=r"^\d{7,12}$", metadata=sensitivity("phone"))
    landline: str = pa.Field(nullable=True, str_matches=r"^\d{7,12}$", metadata=sensitivity("phone"))
    id_number: str = pa.Field(nullable=True, metadata=sensitivity("id_number"))
    email: str = pa.Field(nullable=True, metadata=sensitivity("email"))
    address: str = pa.Field(nullable=True, metadata=sensitivity("address"))
    province: str = pa.Field(nullable=True)
    city: str = pa.Field(nullable=True)
    district: str = pa.Field(nullable=True)
    birth_date: pl.Date = pa.Field(nullable=True, metadata=sensitivity("birth_date"))
    gender: str = pa.Field(nullable=True, isin=["M", "F"])
    n_records: int = pa.Field(ge=1)                    # member records of the entity
    sources: str                                       # ';'-joined sorted source names of the members

    class Config:
        strict = False
        coerce = False


class GoldenProvenance(pa.DataFrameModel):
    """One row per non-null golden value: the record that supplied it and the rule that chose it."""

    entity_id: str
    field: str = pa.Field(isin=GOLDEN_FIELD_NAMES)
    value: str                                         # as text (dates ISO)
    rid: int = pa.Field(ge=0)
    source: str
    source_record_id: str
    rule: str = pa.Field(isin=SURVIVORSHIP_RULES)

    class Config:
        strict = False
        coerce = False
        unique = ["entity_id", "field"]  # noqa: RUF012


class Crosswalk(pa.DataFrameModel):
    """One row per ingested input row: linked rows carry rid and entity, quarantined rows neither."""

    source: str
    source_record_id: str                              # quarantined rows without one: their row number
    row_number: int = pa.Field(ge=1)                   # extra column: 1-based data row in the source file
    rid: int = pa.Field(nullable=True, ge=0)
    entity_id: str = pa.Field(nullable=True)
    status: str = pa.Field(isin=["linked", "quarantined"])

    class Config:
        strict = False
        coerce = False

    @pa.dataframe_check(name="crosswalk.status_matches_entity")
    @classmethod
    def _status_matches_entity(cls, data: PolarsData) -> pl.LazyFrame:
        linked = pl.col("status") == "linked"
        has = pl.col("entity_id").is_not_null() & pl.col("rid").is_not_null()
        none = pl.col("entity_id").is_null() & pl.col("rid").is_null()
        return data.lazyframe.select((linked & has) | (~linked & none))


class GoldenConflicts(pa.DataFrameModel):
    """Entities whose records hold different valid values where there should be one (two valid ID numbers)."""

    entity_id: str
    field: str
    values: str                                        # masked values, ';'-joined (110101********1234)
    n: int = pa.Field(ge=2)
    rids: str                                          # one record per value, same order as `values`

    class Config:
        strict = False
        coerce = False
        unique = ["entity_id", "field"]  # noqa: RUF012
