"""CSV sources: the encoding found on the bytes, records parsed by Python's csv module, bad lines aside.

Encoding ('auto'): the whole file strictly as UTF-8; if that fails, the lines with non-ASCII bytes vote —
mostly valid UTF-8 means a UTF-8 file with a few foreign lines, otherwise GB18030 (a superset of GBK and
GB2312). Lines invalid in the chosen encoding are still parsed (decoded with the other one, for display),
but their records go to the quarantine as `ingest.undecodable`: one GBK line in a UTF-8 export costs one
row, not the file.
"""

from __future__ import annotations

import codecs
import csv
import gc
import hashlib
import io
from collections import deque
from collections.abc import Generator, Iterator
from pathlib import Path

from hanlink.errors import SourceError
from hanlink.ingest.common import (
    BATCH_ROWS,
    READ_BLOCK,
    BadRow,
    Batch,
    SourceReader,
    clean_headers,
    rows_frame,
)

# The votes of this many non-ASCII lines settle the encoding; more would only cost time.
VOTE_LINES = 10_000
BINARY_SNIFF = 64 << 10
_CODECS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "gbk": "gb18030", "gb18030": "gb18030"}
_UTF8_BOM = codecs.BOM_UTF8
_GB18030_BOM = b"\x84\x31\x95\x33"

# A quoted field may be long (a pasted note); the default 128 KiB limit would stop the whole file.
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


def _scan(path: Path) -> tuple[str, bool, bytes]:
    """One pass over the bytes: SHA-256, whether all of it is valid UTF-8, and the first bytes."""
    h = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    valid, head = True, b""
    with path.open("rb") as f:
        while chunk := f.read(READ_BLOCK):
            h.update(chunk)
            head = head or chunk[:8]
            if valid:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    valid = False
    if valid:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            valid = False
    return h.hexdigest(), valid, head


def _vote(path: Path) -> str:
    """UTF-8 or GB18030 for a file that is not all valid UTF-8: the non-ASCII lines decide.

    A line votes UTF-8 only if it is valid UTF-8 *with* a character from U+0800 up (every Hanzi): short GBK
    text is often valid UTF-8 by accident (伟 = CE B0 = 'ΰ'), but then it reads as Greek or Cyrillic."""
    utf8 = other = 0
    with path.open("rb") as f:
        for line in f:
            if line.isascii():
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                other += 1
            else:
                utf8 += max(text) >= "\u0800"
            if utf8 + other >= VOTE_LINES:
                break
    return "utf-8" if utf8 > other else "gb18030"


def _looks_binary(path: Path) -> bool:
    """Control bytes (other than tab, CR, LF, FF) in more than 5% of the first 64 KiB: not text."""
    with path.open("rb") as f:
        head = f.read(BINARY_SNIFF)
    if not head:
        return False
    controls = sum(head.count(bytes([b])) for b in range(32) if b not in (9, 10, 12, 13))
    return controls > len(head) * 0.05


class _LineFeed:
    """Decoded lines for csv.reader, in blocks; remembers recent lines and which ones were not decodable."""

    def __init__(self, path: Path, codec: str) -> None:
        self.path = path
        self.codec = codec
        self.fallback = "gb18030" if codec == "utf-8" else "utf-8"
        self.bad: dict[int, str] = {}  # 0-based line index → how it was decoded for display
        self.count = 0  # lines handed out so far (== csv.reader.line_num)
        self._recent: deque[tuple[int, list[str]]] = deque(maxlen=4)

    def lines(self) -> Generator[str, None, None]:
        for lines in self._blocks():
            self._recent.append((self.count, lines))
            self.count += len(lines)
            yield from lines

    def _blocks(self) -> Iterator[list[str]]:
        carry, first = b"", True
        with self.path.open("rb") as f:
            while True:
                chunk = f.read(READ_BLOCK)
                data = carry + chunk
                # Cut after the last \n: no UTF-8 or GB18030 multi-byte sequence contains that byte.
                cut = data.rfind(b"\n") + 1 if chunk else len(data)
                if chunk and cut == 0:
                    carry = data
                    continue
                block, carry = data[:cut], data[cut:]
                if first:
                    block = block.removeprefix(_UTF8_BOM).removeprefix(_GB18030_BOM)
                    first = False
                if block:
                    yield self._decode(block)
                if not chunk:
                    return

    def _decode(self, block: bytes) -> list[str]:
        try:
            return io.StringIO(block.decode(self.codec), newline="").readlines()
        except UnicodeDecodeError:
            pass
        # bytes.splitlines(keepends=True) cuts at \n, \r and \r\n, exactly like StringIO(newline="").
        lines: list[str] = []
        for raw in block.splitlines(keepends=True):
            try:
                lines.append(raw.decode(self.codec))
            except UnicodeDecodeError:
                try:
                    text, shown = raw.decode(self.fallback), self.fallback
                except UnicodeDecodeError:
                    text, shown = raw.decode(self.codec, errors="replace"), f"{self.codec}+replace"
                self.bad[self.count + len(lines)] = shown
                lines.append(text)
        return lines

    def hits(self, start: int, stop: int) -> list[int]:
        """Undecodable lines among 0-based lines start..stop-1."""
        return [i for i in range(start, stop) if i in self.bad]

    def text(self, start: int, stop: int) -> str:
        """The text of lines start..stop-1 while they are still in the recent blocks (else what is left)."""
        parts: list[str] = []
        for first, lines in self._recent:
            lo, hi = max(start, first), min(stop, first + len(lines))
            if lo < hi:
                parts.extend(lines[lo - first : hi - first])
        return "".join(parts)


class CsvReader(SourceReader):
    """A delimited text file; opening it finds the encoding and reads the header. Blank lines aren't rows."""

    def __init__(self, path: Path, source: str, *, encoding: str = "auto", delimiter: str = ",") -> None:
        super().__init__(path, source)
        if len(delimiter) != 1:
            raise SourceError(
                f"delimiter must be one character, not {delimiter!r}",
                source=source,
                path=str(path),
                hint="e.g. ',', ';', '|' or '\\t'",
            )
        self._sha256, all_utf8, head = _scan(path)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise SourceError(
                "the file is UTF-16 (Excel 'Unicode text'); hanlink reads UTF-8, GBK or GB18030",
                source=source,
                path=str(path),
                hint="save it as 'CSV UTF-8' or as .xlsx",
            )
        if head.startswith(b"PK\x03\x04"):
            raise SourceError(
                "this is a zip/Excel file, not CSV text",
                source=source,
                path=str(path),
                hint="name it .xlsx or set format = 'excel' for this source",
            )
        if _looks_binary(path):
            raise SourceError(
                "this looks like a binary file (image, archive, database…), not CSV text",
                source=source,
                path=str(path),
                hint="export the data as CSV UTF-8 or .xlsx",
            )
        codec = _CODECS[encoding] if encoding != "auto" else "utf-8" if all_utf8 else _vote(path)
        try:
            header = self._open(codec, delimiter)
        except SourceError:
            self.close()
            if encoding != "auto" or all_utf8:
                raise
            # The data lines outvoted a header in the other encoding (UTF-8 header, garbage rows): the header
            # is what the file says it is; the lines that don't fit go to the quarantine.
            fallback = "gb18030" if codec == "utf-8" else "utf-8"
            try:
                header = self._open(fallback, delimiter)
            except SourceError:
                self.close()
                raise
        self.original_headers = header
        self.headers = clean_headers(header)

    def _open(self, codec: str, delimiter: str) -> list[str]:
        self.encoding = codec
        self._feed = _LineFeed(self.path, codec)
        self._lines = self._feed.lines()
        self._reader = csv.reader(self._lines, delimiter=delimiter)
        return self._header()

    def _header(self) -> list[str]:
        header: list[str] = []
        try:
            while not header:  # blank lines before the header are skipped
                header = next(self._reader)
        except StopIteration:
            raise SourceError(
                "the file is empty: no header row",
                source=self.source,
                path=str(self.path),
                hint="the first line must name the columns",
            ) from None
        except csv.Error as exc:
            raise self._parse_error(exc) from None
        if self._feed.hits(0, self._reader.line_num):
            raise SourceError(
                f"the header row is not valid {self.encoding}",
                source=self.source,
                path=str(self.path),
                hint="set encoding = 'utf-8', 'gbk' or 'gb18030' for this source",
            )
        return header

    def close(self) -> None:
        self._lines.close()  # closing the generator closes the file

    def _parse_error(self, exc: csv.Error) -> SourceError:
        return SourceError(
            f"CSV can't be parsed at line {self._reader.line_num}: {exc}",
            source=self.source,
            path=str(self.path),
            hint="check the quotes and the delimiter",
        )

    def batches(self) -> Iterator[Batch]:
        reader, feed, n = self._reader, self._feed, len(self.headers)
        rows: list[list[str]] = []
        bad: list[BadRow] = []
        start = number = 1  # data row numbers: the first of this batch, the next one
        last = reader.line_num
        # csv builds a list per record; the cyclic GC would rescan them all on every few thousand.
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            for rec in reader:
                stop = reader.line_num
                if len(rec) == n and not feed.bad:
                    rows.append(rec)
                elif not rec:
                    last = stop
                    continue
                else:
                    hits = feed.hits(last, stop) if feed.bad else []
                    if len(rec) == n and not hits:
                        rows.append(rec)
                    else:
                        bad.append(self._bad_row(number, last, stop, rec, hits, n))
                number += 1
                last = stop
                if len(rows) >= BATCH_ROWS:
                    batch = Batch(
                        rows_frame(self.headers, rows, start, number, [b.row_number for b in bad]), bad
                    )
                    rows, bad, start = [], [], number
                    gc.enable()
                    yield batch
                    gc.disable()
        except csv.Error as exc:
            raise self._parse_error(exc) from None
        finally:
            if gc_was_on:
                gc.enable()
        yield Batch(rows_frame(self.headers, rows, start, number, [b.row_number for b in bad]), bad)

    def _bad_row(self, number: int, start: int, stop: int, rec: list[str], hits: list[int], n: int) -> BadRow:
        rules, zh, en = [], [], []
        if hits:
            shown = self._feed.bad[hits[0]]
            lines = ", ".join(str(i + 1) for i in hits)
            rules.append("ingest.undecodable")
            zh.append(
                f"第 {lines} 行含有不是 {self.encoding} 编码的字节（混入了其他编码的行？），按 {shown} 显示"
            )
            en.append(
                f"line {lines} has bytes that are not valid {self.encoding} (a line in another "
                f"encoding?); shown decoded as {shown}"
            )
        if len(rec) != n:
            rules.append("ingest.ragged")
            zh.append(f"该行有 {len(rec)} 个字段，表头有 {n} 列（分隔符或引号错位？）")
            en.append(f"the row has {len(rec)} fields but the header has {n} (a stray delimiter or quote?)")
        raw = self._feed.text(start, stop).rstrip("\r\n")
        return BadRow(number, start + 1, tuple(rules), "；".join(zh), "; ".join(en), raw, rec)
