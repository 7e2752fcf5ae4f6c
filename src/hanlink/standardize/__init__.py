"""Standardize stage: every raw_<source> row → one std_standardized row in the canonical schema.

Each field has its own module (names, phones, idnumbers, emails, addresses, dates, gender); all are
vectorized polars, with the Python-only parts (pinyin, OpenCC, address resolution, romanized names) run
once per distinct value or character. Originals stay in `<field>_raw`; problems found while parsing are
listed per row in `std_issues` (rule ids) for the validate stage to report.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import polars as pl

from hanlink.config import SourceConfig
from hanlink.db import Database, ident
from hanlink.errors import SourceError, StageError
from hanlink.fields import CANONICAL_FIELDS
from hanlink.standardize.addresses import admin_index, standardize_addresses
from hanlink.standardize.dates import standardize_dates
from hanlink.standardize.emails import standardize_emails
from hanlink.standardize.gender import standardize_gender
from hanlink.standardize.idnumbers import standardize_ids
from hanlink.standardize.lookups import pinyin_table, t2s_table
from hanlink.standardize.names import standardize_names
from hanlink.standardize.phones import standardize_phones
from hanlink.tables import STD_STANDARDIZED, raw_table
from schemas.std_records import StdRecords

_WORKERS = max(2, min(4, os.cpu_count() or 2))

__all__ = ["read_raw", "standardize", "standardize_frame", "std_columns"]

RAW_FIELDS: tuple[str, ...] = tuple(f for f in CANONICAL_FIELDS if f != "record_id")


def std_columns() -> list[str]:
    """Column order of std_standardized: the StdRecords contract's."""
    return list(StdRecords.to_schema().columns)


def read_raw(db: Database, sources: Sequence[SourceConfig], run_id: str) -> pl.DataFrame:
    """Lineage columns and `<field>_raw` for every row of every source, rid dense in (source order,
    row number). A mapped header the raw table lacks is a SourceError naming both."""
    selects: list[str] = []
    for i, src in enumerate(sources):
        table = raw_table(src.name)
        if not db.has_table(table):
            raise StageError(f"table {table} not found: run ingest for source '{src.name}' first",
                             stage="standardize", run_id=run_id)
        have = set(db.columns(table))
        for field, header in src.fields.items():
            if header not in have:
                raise SourceError(
                    f"field '{field}' is mapped to column {header!r}, which {table} does not have",
                    source=src.name, hint=f"columns: {', '.join(sorted(c for c in have if c[0] != '_'))}")
        rec = src.fields.get("record_id")
        fallback = "CAST(_row_number AS VARCHAR)"
        record_id = (f"COALESCE(NULLIF(trim(CAST({ident(rec)} AS VARCHAR)), ''), {fallback})"
                     if rec else fallback)
        cols = ", ".join(
            f"CAST({ident(src.fields[f])} AS VARCHAR) AS {f}_raw" if f in src.fields
            else f"CAST(NULL AS VARCHAR) AS {f}_raw" for f in ("record_id", *RAW_FIELDS))
        selects.append(f"SELECT {i} AS _src, '{src.name}' AS source, {record_id} AS source_record_id, "
                       f"CAST(_row_number AS BIGINT) AS row_number, {cols} FROM {table}")
    if not selects:
        schema = {"rid": pl.Int64, "source": pl.String, "source_record_id": pl.String,
                  "row_number": pl.Int64, "run_id": pl.String,
                  **{f"{f}_raw": pl.String for f in ("record_id", *RAW_FIELDS)}}
        return pl.DataFrame(schema=schema)
    sql = (f"SELECT CAST(row_number() OVER (ORDER BY _src, row_number) - 1 AS BIGINT) AS rid, source, "
           f"source_record_id, row_number, CAST(? AS VARCHAR) AS run_id, "
           f"{', '.join(f'{f}_raw' for f in ('record_id', *RAW_FIELDS))} "
           f"FROM ({' UNION ALL '.join(selects)}) ORDER BY _src, row_number")
    return db.query(sql, [run_id])


def standardize_frame(frame: pl.DataFrame, *, today: date | None = None) -> pl.DataFrame:
    """Standardize a frame of lineage + `<field>_raw` columns (as read_raw returns) into std_standardized
    columns, same rows in the same order. `today` bounds future dates (default: the run day)."""
    jobs: list[Callable[[], pl.DataFrame]] = [
        lambda: standardize_names(frame["name_raw"]),
        lambda: standardize_addresses(frame),
        lambda: standardize_ids(frame["id_number_raw"], today=today),
        lambda: standardize_phones(frame["phone_raw"], field="phone"),
        lambda: standardize_phones(frame["landline_raw"], field="landline"),
        lambda: standardize_emails(frame["email_raw"]),
        lambda: standardize_dates(frame["birth_date_raw"], field="birth_date", kind="date",
                                  malformed="date.malformed", impossible="date.impossible", today=today),
        lambda: standardize_dates(frame["updated_at_raw"], field="updated_at", kind="datetime",
                                  malformed="updated_at.malformed", impossible="updated_at.impossible",
                                  today=today),
        lambda: standardize_gender(frame["gender_raw"]),
    ]
    # Build the shared lookup tables once, before threads would race to build them twice.
    t2s_table(), pinyin_table(), admin_index()
    # Fields are independent: run them side by side. Each collect releases the GIL, so polars keeps
    # every core busy while another field does its per-distinct-value Python work.
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        parts = [frame, *pool.map(lambda job: job(), jobs)]
    out = pl.concat(parts, how="horizontal")
    issue_cols = [c for c in out.columns if c.endswith("_issue")]
    # concat_str then split: ~15× faster than concat_list(...).list.drop_nulls() on 1M rows
    joined = pl.concat_str(issue_cols, separator=";", ignore_nulls=True)
    out = out.with_columns(std_issues=pl.when(joined != "").then(joined.str.split(";"))
                           .otherwise(pl.lit([], dtype=pl.List(pl.String))))
    return out.select(std_columns())


# Rows standardized per pass: every field's intermediates for 10M rows at once pass 12 GB, and each row's
# result depends on that row alone, so passes of this size give the same table in a fraction of the memory.
CHUNK_ROWS = 1_000_000


def standardize(db: Database, sources: Sequence[SourceConfig], run_id: str) -> dict[str, int]:
    """Stage entry: read every raw_<source>, write std_standardized (replaced), return counts."""
    frame = read_raw(db, sources, run_id)
    counts = {"rows": frame.height, **{f"rows_{src.name}": 0 for src in sources}, "with_issues": 0}
    for i, start in enumerate(range(0, max(frame.height, 1), CHUNK_ROWS)):
        std = standardize_frame(frame.slice(start, CHUNK_ROWS))
        db.write(STD_STANDARDIZED, std, mode="replace" if i == 0 else "append")
        for src in sources:
            counts[f"rows_{src.name}"] += int((std["source"] == src.name).sum())
        counts["with_issues"] += int((std["std_issues"].list.len() > 0).sum())
    return counts
