"""Parquet sources: every column cast to text, whole numbers stored as floats printed without '.0'."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from hanlink.errors import SourceError
from hanlink.ingest.common import BATCH_ROWS, Batch, SourceReader, clean_headers


def text_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    """One column as text, the way a person would write the value."""
    col = pl.col(name)
    if dtype.is_float():
        # 13812345678.0 is a phone that went through a float column, not a measurement.
        whole = col.is_finite() & (col == col.round(0)) & (col.abs() < 1e15)
        return pl.when(whole).then(col.cast(pl.Int64).cast(pl.String)).otherwise(col.cast(pl.String))
    if isinstance(dtype, pl.Datetime):
        return col.dt.to_string("%Y-%m-%d %H:%M:%S%.f")
    if isinstance(dtype, pl.List | pl.Array | pl.Struct):
        return pl.struct(col.alias("v")).struct.json_encode().str.slice(5).str.head(-1)  # drop {"v": … }
    if dtype == pl.Binary:
        return col.bin.encode("hex")
    return col.cast(pl.String)


class ParquetReader(SourceReader):
    """A Parquet file; its schema gives the header, and every row is a data row."""

    def __init__(self, path: Path, source: str) -> None:
        super().__init__(path, source)
        try:
            schema = pl.read_parquet_schema(path)
        except Exception as exc:  # polars raises several kinds for a damaged or foreign file
            raise SourceError(
                f"not a readable Parquet file: {exc}",
                source=source,
                path=str(path),
                hint="write it again with polars, pandas or Spark, or export CSV UTF-8",
            ) from None
        self.original_headers = list(schema)
        self.headers = clean_headers(self.original_headers)
        self._schema = schema

    def batches(self) -> Iterator[Batch]:
        try:
            frame = (
                pl.scan_parquet(self.path)
                .select(
                    text_expr(name, dtype).alias(clean)
                    for (name, dtype), clean in zip(self._schema.items(), self.headers, strict=True)
                )
                .collect()
            )
        except pl.exceptions.PolarsError as exc:
            raise SourceError(
                f"Parquet data can't be read as text: {exc}", source=self.source, path=str(self.path)
            ) from None
        frame = frame.with_columns(pl.all().replace("", None)).with_row_index("_row_number", offset=1)
        frame = frame.with_columns(pl.col("_row_number").cast(pl.Int64))
        frame = frame.select([*self.headers, "_row_number"])
        if frame.height == 0:
            yield Batch(frame)
        for offset in range(0, frame.height, BATCH_ROWS):
            yield Batch(frame.slice(offset, BATCH_ROWS))
