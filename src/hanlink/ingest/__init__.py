"""Ingest: every source file into raw_<source> as text with lineage; unreadable rows into the quarantine.

Every cell is VARCHAR as read (CSV text, Excel's displayed text, Parquet cast to text); an empty cell is NULL.
`_row_number` counts data rows from 1 (blank lines are not rows); a quarantined row keeps its number, so
raw `_row_number`s plus the quarantine's `row_number`s are exactly 1..n for each source and run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from hanlink import tables as T
from hanlink.config import SourceConfig
from hanlink.db import Database
from hanlink.errors import SourceError
from hanlink.ingest.common import LINEAGE, BadRow, SourceReader, clean_headers

__all__ = ["FORMATS", "LINEAGE", "clean_headers", "ingest", "open_reader", "read_headers"]

log = logging.getLogger(__name__)

FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".parquet": "parquet",
    ".pq": "parquet",
}

QUARANTINE_DDL = f"""CREATE TABLE IF NOT EXISTS {T.QUARANTINE} (
    run_id VARCHAR, stage VARCHAR, source VARCHAR, file VARCHAR, row_number BIGINT,
    source_record_id VARCHAR, rule_ids VARCHAR, reason_zh VARCHAR, reason_en VARCHAR, raw_json VARCHAR)"""


def open_reader(
    path: Path,
    *,
    source: str = "input",
    format: str = "auto",
    encoding: str = "auto",
    delimiter: str = ",",
    sheet: str | int | None = None,
    shown_path: str | None = None,
) -> SourceReader:
    """Open one source file and read its header; SourceError if it can't be read at all.

    `format='auto'` goes by the extension (.csv .txt .tsv, .xlsx .xlsm, .parquet .pq); a .tsv with the default
    delimiter is read tab-separated."""
    from hanlink.ingest.csv_source import CsvReader
    from hanlink.ingest.excel_source import ExcelReader
    from hanlink.ingest.parquet_source import ParquetReader

    shown = shown_path or str(path)
    fmt = format
    if fmt == "auto":
        fmt = FORMATS.get(path.suffix.lower(), "")
        if not fmt:
            raise SourceError(
                f"unknown file extension {path.suffix!r}",
                source=source,
                path=shown,
                hint="valid: " + ", ".join(FORMATS) + "; or set format = 'csv' | 'excel' | 'parquet'",
            )
    if not path.exists():
        raise SourceError("file not found", source=source, path=shown, hint=f"looked for {path.resolve()}")
    if not path.is_file():
        raise SourceError(
            "not a file", source=source, path=shown, hint="give the path of a CSV, Excel or Parquet file"
        )
    if fmt == "csv":
        if delimiter == "," and path.suffix.lower() == ".tsv":
            delimiter = "\t"
        return CsvReader(path, source, encoding=encoding, delimiter=delimiter)
    if fmt == "excel":
        return ExcelReader(path, source, sheet=sheet)
    if fmt == "parquet":
        return ParquetReader(path, source)
    raise SourceError(
        f"unknown format {fmt!r}", source=source, path=shown, hint="valid: auto, csv, excel, parquet"
    )


def read_headers(
    path: str | Path,
    format: str = "auto",
    *,
    encoding: str = "auto",
    delimiter: str = ",",
    sheet: str | int | None = None,
) -> list[str]:
    """The column names a file gets in raw_<source> (cleaned: unique, never empty), without loading it."""
    with open_reader(
        Path(path), format=format, encoding=encoding, delimiter=delimiter, sheet=sheet
    ) as reader:
        return list(reader.headers)


def _resolve(src: SourceConfig, base_dir: Path) -> Path:
    p = Path(src.path).expanduser()
    return p if p.is_absolute() else Path(base_dir) / p


def _check_mapping(src: SourceConfig, reader: SourceReader) -> None:
    missing = {field: header for field, header in src.fields.items() if header not in reader.headers}
    if missing:
        wanted = ", ".join(f"{field} → {header!r}" for field, header in missing.items())
        raise SourceError(
            f"mapped header not in the file: {wanted}",
            source=src.name,
            path=src.path,
            hint="headers found: " + ", ".join(repr(h) for h in reader.headers),
        )


def _quarantine_frame(src: SourceConfig, run_id: str, headers: list[str], bad: list[BadRow]) -> pl.DataFrame:
    id_col = headers.index(src.fields["record_id"]) if "record_id" in src.fields else None
    rows = []
    for b in bad:
        record_id = b.fields[id_col] if id_col is not None and id_col < len(b.fields) else None
        rows.append(
            {
                "run_id": run_id,
                "stage": "ingest",
                "source": src.name,
                "file": src.path,
                "row_number": b.row_number,
                "source_record_id": record_id or None,
                "rule_ids": ";".join(b.rule_ids),
                "reason_zh": b.reason_zh,
                "reason_en": b.reason_en,
                "raw_json": json.dumps(
                    {"line": b.line, "raw_text": b.raw_text, "fields": list(b.fields)}, ensure_ascii=False
                ),
            }
        )
    schema = {
        "run_id": pl.String,
        "stage": pl.String,
        "source": pl.String,
        "file": pl.String,
        "row_number": pl.Int64,
        "source_record_id": pl.String,
        "rule_ids": pl.String,
        "reason_zh": pl.String,
        "reason_en": pl.String,
        "raw_json": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def _load(db: Database, src: SourceConfig, reader: SourceReader, run_id: str) -> tuple[int, int]:
    table = T.raw_table(src.name)
    lineage = [
        pl.lit(src.name).alias("_source"),
        pl.lit(src.path).alias("_file"),
        pl.lit(reader.sha256()).alias("_file_sha256"),
        pl.lit(run_id).alias("_run_id"),
    ]
    loaded, bad = 0, []
    with db.transaction():
        for i, batch in enumerate(reader.batches()):
            loaded += db.write(
                table, batch.frame.with_columns(lineage), mode="replace" if i == 0 else "append"
            )
            bad.extend(batch.bad)
        db.execute(QUARANTINE_DDL)
        db.execute(
            f"DELETE FROM {T.QUARANTINE} WHERE run_id = ? AND stage = 'ingest' AND source = ?",
            [run_id, src.name],
        )
        if bad:
            db.write(T.QUARANTINE, _quarantine_frame(src, run_id, reader.headers, bad), mode="append")
    return loaded, len(bad)


def ingest(db: Database, sources: Sequence[SourceConfig], run_id: str, *, base_dir: Path) -> dict[str, int]:
    """Load every source into `raw_<source>` (replaced) and its unreadable rows into `quarantine`.

    All sources are opened and their mappings checked before anything is written, so a missing file or a
    mapped header that isn't there (SourceError, naming the file and the headers found) changes nothing.
    Re-ingesting replaces the raw table and this run's ingest quarantine rows of that source.
    Returns {source: rows loaded, "<source>_quarantined": rows held back}."""
    readers: list[tuple[SourceConfig, SourceReader]] = []
    try:
        for src in sources:
            if src.kind == "postgres":
                from hanlink.ingest.postgres_source import PostgresReader

                readers.append((src, PostgresReader(src)))
                _check_mapping(src, readers[-1][1])
                continue
            reader = open_reader(
                _resolve(src, base_dir),
                source=src.name,
                format=src.format,
                encoding=src.encoding,
                delimiter=src.delimiter,
                sheet=src.sheet,
                shown_path=src.path,
            )
            readers.append((src, reader))
            _check_mapping(src, reader)
        counts: dict[str, int] = {}
        for src, reader in readers:
            loaded, held = _load(db, src, reader, run_id)
            counts[src.name] = loaded
            counts[f"{src.name}_quarantined"] = held
            log.info(
                "ingest %s: %d rows loaded, %d quarantined (%s%s)",
                src.name,
                loaded,
                held,
                reader.__class__.__name__,
                f", {reader.encoding}" if reader.encoding else "",
            )
        return counts
    finally:
        for _, reader in readers:
            reader.close()
