"""Contracts of the identity tables (kept across runs): entity_registry, entity_history, entity_aliases."""

from __future__ import annotations

import pandera.polars as pa

ENTITY_ID = r"^E[0-9A-F]{12}$"
EVENTS = ["created", "merged", "split", "retired"]


class EntityRegistry(pa.DataFrameModel):
    """One row per record key ever seen: the entity it belongs (or last belonged) to."""

    source: str
    source_record_id: str
    entity_id: str = pa.Field(str_matches=ENTITY_ID)
    first_run_id: str                                  # the run that first saw the record
    last_run_id: str                                   # the last run that saw it
    active: bool                                       # seen in the latest run

    class Config:
        strict = False
        coerce = False
        unique = ["source", "source_record_id"]  # noqa: RUF012


class EntityHistory(pa.DataFrameModel):
    """Append-only: every id created, merged away, split from or retired, with the run and the reason."""

    seq: int = pa.Field(ge=1, unique=True)             # global event order (the age of an id)
    run_id: str
    event: str = pa.Field(isin=EVENTS)
    entity_id: str = pa.Field(str_matches=ENTITY_ID)   # the id the event is about
    other_entity_id: str = pa.Field(nullable=True, str_matches=ENTITY_ID)  # merged into / split from
    n_records: int = pa.Field(ge=1)
    reason: str
    reason_zh: str

    class Config:
        strict = False
        coerce = False


class EntityAliases(pa.DataFrameModel):
    """A retired id → the live id that now holds its records (chains already followed)."""

    retired_id: str = pa.Field(unique=True, str_matches=ENTITY_ID)
    entity_id: str = pa.Field(str_matches=ENTITY_ID)
    run_id: str                                        # the run that retired it
    reason: str

    class Config:
        strict = False
        coerce = False
