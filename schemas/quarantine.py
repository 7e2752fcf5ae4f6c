"""Contract of `quarantine`: one row per record held back (ingest or validate), with every reason."""

from __future__ import annotations

import pandera.polars as pa

STAGES = ["ingest", "validate"]


class Quarantine(pa.DataFrameModel):
    """A held-back input row: where it came from, all its reject rule ids, why, and the row as read."""

    run_id: str
    stage: str = pa.Field(isin=STAGES)
    source: str
    file: str = pa.Field(nullable=True)
    row_number: int = pa.Field(ge=1)
    source_record_id: str = pa.Field(nullable=True)
    rule_ids: str = pa.Field(str_matches=r"^[a-z_]+\.[a-z_]+(;[a-z_]+\.[a-z_]+)*$")   # ';'-joined
    reason_zh: str
    reason_en: str
    raw_json: str = pa.Field(nullable=True)            # the original row as JSON text (unmasked: restricted)

    class Config:
        strict = True
        coerce = False
