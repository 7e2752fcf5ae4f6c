"""What every source reader hands to ingest: cleaned headers, batches of text rows, rows it could not take."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from hanlink.errors import ConservationError

# Lineage columns every raw_<source> table carries after the source's own columns.
LINEAGE = ("_row_number", "_source", "_file", "_file_sha256", "_run_id")
BATCH_ROWS = 100_000
READ_BLOCK = 8 << 20


@dataclass(frozen=True)
class BadRow:
    """A data row that can't go into raw_<source> as it is; it goes to the quarantine with its reasons."""

    row_number: int  # 1-based data row, in the same sequence as raw _row_number
    line: int  # where it starts: physical line of a text file, sheet row of a workbook
    rule_ids: tuple[str, ...]
    reason_zh: str
    reason_en: str
    raw_text: str | None  # the row's text as read (best effort for undecodable bytes)
    fields: Sequence[str | None]  # the fields as parsed, possibly more or fewer than the header


@dataclass
class Batch:
    """Consecutive data rows: the good ones as a frame (source columns + `_row_number`), bad ones aside."""

    frame: pl.DataFrame
    bad: list[BadRow] = field(default_factory=list)


class SourceReader:
    """Base of the per-format readers: opening one reads the header; `batches()` streams the data rows."""

    headers: list[str]  # cleaned: unique (case-insensitively), never empty; the raw column names
    original_headers: list[str]  # as written in the file
    encoding: str | None = None
    _sha256: str | None = None

    def __init__(self, path: Path, source: str) -> None:
        self.path = path
        self.source = source

    def sha256(self) -> str:
        """Hex SHA-256 of the file bytes (lineage: which exact file a row came from)."""
        if self._sha256 is None:
            h = hashlib.sha256()
            with self.path.open("rb") as f:
                while chunk := f.read(READ_BLOCK):
                    h.update(chunk)
            self._sha256 = h.hexdigest()
        return self._sha256

    def batches(self) -> Iterator[Batch]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the file (workbooks keep one open)."""

    def __enter__(self) -> SourceReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def clean_headers(headers: Sequence[object]) -> list[str]:
    """Column names for raw_<source>: the header text as written, except that an empty header becomes
    `column_<n>` (1-based position) and a repeated one `<name>_2`, `<name>_3`… DuckDB names are
    case-insensitive, so `Name` and `name` count as repeats; lineage names are reserved too."""
    texts = ["" if h is None else str(h) for h in headers]
    names = [t if t.strip() else f"column_{i}" for i, t in enumerate(texts, 1)]
    taken = {n.lower() for n in LINEAGE}
    # A later header spelled like a generated name (a, a, a_2) keeps its own name; the repeat moves on.
    reserved = {n.lower() for n in names}
    out: list[str] = []
    for name in names:
        candidate, k = name, 1
        while candidate.lower() in taken or (k > 1 and candidate.lower() in reserved):
            k += 1
            candidate = f"{name}_{k}"
        taken.add(candidate.lower())
        out.append(candidate)
    return out


def rows_frame(
    names: Sequence[str],
    rows: Sequence[Sequence[str | None]],
    start: int,
    stop: int,
    skipped: Sequence[int] = (),
) -> pl.DataFrame:
    """Text rows with `_row_number`: data rows start..stop-1 minus the `skipped` (quarantined) ones.

    Empty strings become null, so an empty CSV field and an empty Excel cell read the same."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    frame = pl.DataFrame([pl.Series(n, c, dtype=pl.String) for n, c in zip(names, columns, strict=True)])
    numbers = pl.int_range(start, stop, dtype=pl.Int64, eager=True)
    if skipped:
        numbers = numbers.filter(~numbers.is_in(pl.Series(list(skipped), dtype=pl.Int64)))
    if numbers.len() != frame.height:
        raise ConservationError(
            f"row numbering out of step: {numbers.len()} numbers for {frame.height} rows", stage="ingest"
        )
    return frame.with_columns(pl.all().replace("", None)).with_columns(numbers.alias("_row_number"))
