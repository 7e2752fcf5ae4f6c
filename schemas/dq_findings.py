"""Contract of `dq_findings`: one row per data-quality problem found, value masked, messages zh + en."""

from __future__ import annotations

import pandera.polars as pa

SEVERITIES = ["reject", "warn"]


class DqFindings(pa.DataFrameModel):
    """One problem of one record under one rule of the catalogue (hanlink.rules)."""

    run_id: str
    rid: int = pa.Field(ge=0)                          # std_standardized row id of this run
    source: str
    source_record_id: str
    row_number: int = pa.Field(ge=1)
    rule_id: str = pa.Field(str_matches=r"^[a-z_]+\.[a-z_]+$")
    field: str                                         # canonical field, or 'record' for the whole row
    severity: str = pa.Field(isin=SEVERITIES)
    value_masked: str = pa.Field(nullable=True)        # never the raw value: hanlink.mask
    message_zh: str
    message_en: str

    class Config:
        strict = True
        coerce = False
