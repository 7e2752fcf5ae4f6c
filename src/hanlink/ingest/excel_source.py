"""Excel (.xlsx) sources through openpyxl's read-only mode: every cell as the text Excel would show.

Why not the cell's Python value: a phone typed as a number is the float 13812345678.0 to openpyxl and an ID
number typed as a number has lost its last digits already; what a steward recognises is what Excel displays.
So integral numbers print without '.0' or an exponent, zero-padded formats ('000000') keep their leading
zeros, dates print as ISO text, and formulas give their cached result. A formula that was never calculated (a
workbook written by a program, not saved by Excel) has no result: its formula text ('=A1&B1') is kept
instead of an empty cell, so the row is not silently emptied and the steward sees what was there.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from hanlink.errors import SourceError
from hanlink.ingest.common import BATCH_ROWS, BadRow, Batch, SourceReader, clean_headers, rows_frame

_ZERO_PADDED = re.compile(r"^(0+)(?:\.(0+))?$")  # '000000', '0.00': what Excel shows is fixed-width


def format_number(value: int | float, number_format: str | None) -> str:
    """A number as Excel displays it under a General or plain zero-padded format ('000000', '0.00').

    Floats keep 15 significant digits, Excel's own precision, so binary noise never shows."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    exact = Decimal(value) if isinstance(value, int) else Decimal(f"{value:.15g}")
    fmt = _ZERO_PADDED.match(number_format or "")
    if fmt:
        width, decimals = len(fmt.group(1)), len(fmt.group(2) or "")
        try:
            text = format(abs(exact).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP), "f")
        except InvalidOperation:  # beyond 28 digits: General is all we can do
            return format_number(value, None)
        whole = text.split(".")[0]
        return ("-" if exact < 0 else "") + "0" * max(0, width - len(whole)) + text
    if exact == exact.to_integral_value():
        return str(int(exact))
    return format(exact, "f")


def _has_formulas(path: Path) -> bool:
    """Whether any sheet of the workbook holds a formula (an <f> element): most exports have none."""
    try:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    with z.open(name) as f:
                        tail = b""
                        while chunk := f.read(1 << 20):
                            if b"<f>" in tail + chunk or b"<f " in tail + chunk:
                                return True
                            tail = chunk[-3:]
    except (zipfile.BadZipFile, OSError):
        return False
    return False


def cell_text(cell: Any) -> str | None:
    """Text of one read-only cell; None for an empty one."""
    value = cell.value
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return format_number(value, cell.number_format)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds" if not value.microsecond else "microseconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


class ExcelReader(SourceReader):
    """One sheet of an .xlsx workbook (the first unless `sheet` names one or gives its 0-based index).

    The first non-empty row is the header; wholly empty rows are no rows."""

    def __init__(self, path: Path, source: str, *, sheet: str | int | None = None) -> None:
        super().__init__(path, source)
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        if path.suffix.lower() == ".xls":
            raise SourceError(
                "old binary .xls workbooks can't be read",
                source=source,
                path=str(path),
                hint="save it as .xlsx (Excel 2007+) or as CSV UTF-8",
            )
        try:
            self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise SourceError(
                f"not a readable .xlsx workbook: {exc}",
                source=source,
                path=str(path),
                hint="open it in Excel and save as .xlsx, or export CSV UTF-8",
            ) from None
        names = self._book.sheetnames
        if sheet is None and names:
            self._sheet = self._book.worksheets[0]
        elif isinstance(sheet, int) and 0 <= sheet < len(names):
            self._sheet = self._book.worksheets[sheet]
        elif isinstance(sheet, str) and sheet in names:
            self._sheet = self._book[sheet]
        else:
            self.close()
            raise SourceError(
                f"no sheet {sheet!r}",
                source=source,
                path=str(path),
                hint="sheets: " + ", ".join(repr(n) for n in names) + " (or a 0-based index)",
            )
        # Some writers record a wrong sheet size (often just A1); read what is really there.
        self._sheet.reset_dimensions()
        self._formula_book: Any = None
        rows = self._sheet.iter_rows()
        if _has_formulas(path):  # a second, formula-text view of the same sheet, read in step
            self._formula_book = openpyxl.load_workbook(path, read_only=True, data_only=False)
            formulas = self._formula_book[self._sheet.title]
            formulas.reset_dimensions()
            rows = map(_uncalculated, rows, formulas.iter_rows())
        self._rows = enumerate(rows, 1)
        header: list[str | None] = []
        for _, cells in self._rows:
            header = [cell_text(c) for c in cells]
            if any(v is not None and v != "" for v in header):
                break
        else:
            self.close()
            raise SourceError(
                "the sheet is empty: no header row",
                source=source,
                path=str(path),
                hint="the first row must name the columns",
            )
        while header and (header[-1] is None or header[-1] == ""):
            header.pop()
        self.original_headers = ["" if h is None else h for h in header]
        self.headers = clean_headers(self.original_headers)

    def batches(self) -> Iterator[Batch]:
        n = len(self.headers)
        rows: list[list[str | None]] = []
        bad: list[BadRow] = []
        start = number = 1
        for index, cells in self._rows:
            values = [cell_text(c) for c in cells]
            if not any(v is not None and v != "" for v in values):
                continue
            extra = [v for v in values[n:] if v is not None and v != ""]
            if extra:
                bad.append(self._bad_row(number, index, values))
            else:
                rows.append(values[:n] + [None] * (n - len(values)))
            number += 1
            if len(rows) >= BATCH_ROWS:
                yield Batch(rows_frame(self.headers, rows, start, number, [b.row_number for b in bad]), bad)
                rows, bad, start = [], [], number
        yield Batch(rows_frame(self.headers, rows, start, number, [b.row_number for b in bad]), bad)

    def _bad_row(self, number: int, index: int, values: list[str | None]) -> BadRow:
        while values and (values[-1] is None or values[-1] == ""):
            values.pop()
        n = len(self.headers)
        return BadRow(
            number,
            index,
            ("ingest.ragged",),
            f"第 {index} 行有 {len(values)} 列有值的单元格，超出表头的 {n} 列",
            f"sheet row {index} has cells beyond the header's {n} columns ({len(values)} in all)",
            "\t".join("" if v is None else v for v in values),
            values,
        )

    def close(self) -> None:
        for attr in ("_book", "_formula_book"):
            book = getattr(self, attr, None)
            if book is not None:
                book.close()
                setattr(self, attr, None)


class _Text:
    """Stands in for a cell whose formula has no cached result: its formula text."""

    number_format = None

    def __init__(self, value: str) -> None:
        self.value = value


def _uncalculated(cells: tuple[Any, ...], formulas: tuple[Any, ...]) -> tuple[Any, ...]:
    """The row's cells, where a formula without a cached result gets its formula text."""
    if not any(f.value is not None and c.value is None for c, f in zip(cells, formulas, strict=False)):
        return cells
    out = list(cells)
    for i, (c, f) in enumerate(zip(cells, formulas, strict=False)):
        if c.value is None and isinstance(f.value, str) and f.value.startswith("="):
            out[i] = _Text(f.value)
    return tuple(out)
