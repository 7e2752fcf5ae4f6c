"""Writing the generated records: CSV (UTF-8 or GBK), Parquet, a fast deterministic .xlsx, the ground truth
and a ready-to-run project config."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import polars as pl

from hanlink.generate.sources import FileFormat, SourceSpec

EXTENSIONS: dict[str, str] = {"csv": "csv", "excel": "xlsx", "parquet": "parquet"}
TRUTH_COLUMNS = ("source", "source_record_id", "entity_id", "entity_kind", "family_id", "errors")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)   # fixed member timestamps: same input, same bytes


def source_frame(records: pl.DataFrame, spec: SourceSpec, file_format: FileFormat) -> pl.DataFrame:
    """The records of one source with its own headers, in file order. Everything is text except the call
    centre's Parquet timestamp, which is a real timestamp column as that system would export it."""
    rows = records.filter(pl.col("source") == spec.name)
    cols = []
    for fld, header in spec.headers.items():
        if fld == "updated_at" and file_format == "parquet" and spec.name == "callcenter":
            cols.append(pl.col("updated_ts").alias(header))
        else:
            cols.append(pl.col(fld).alias(header))
    return rows.select(cols)


def write_table(df: pl.DataFrame, path: Path, file_format: FileFormat, encoding: str = "utf-8",
                sheet: str = "Sheet1") -> None:
    """One data file; GBK text is encoded strictly (every generated character exists in GBK)."""
    if file_format == "csv":
        if encoding == "utf-8":
            df.write_csv(path)
        else:
            path.write_bytes(df.write_csv().encode(encoding))
    elif file_format == "parquet":
        df.write_parquet(path, compression="zstd", statistics=True)
    elif file_format == "excel":
        write_xlsx(df, path, sheet=sheet)
    else:  # pragma: no cover — guarded by the caller
        raise ValueError(f"unknown file format {file_format!r}")


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _xml_escape(e: pl.Expr) -> pl.Expr:
    return (e.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True))


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '</Types>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'styles" Target="styles.xml"/></Relationships>'
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


def write_xlsx(df: pl.DataFrame, path: Path, sheet: str = "Sheet1") -> None:
    """A one-sheet .xlsx with every cell as an inline string, built with polars expressions (openpyxl's
    writer takes ~3.4 s per 50k rows here; this ~20× less) and zipped with fixed timestamps so that the
    same data gives the same bytes. Empty and null cells are left out."""
    letters = [_col_letter(i) for i in range(df.width)]
    header = "".join(
        f'<c r="{c}1" t="inlineStr"><is><t xml:space="preserve">{_escape(h)}</t></is></c>'
        for c, h in zip(letters, df.columns, strict=True))
    rn = (pl.int_range(pl.len()) + 2).cast(pl.String)
    cells = []
    for c, name in zip(letters, df.columns, strict=True):
        v = pl.col(name).cast(pl.String)
        cell = pl.concat_str(pl.lit(f'<c r="{c}'), rn, pl.lit('" t="inlineStr"><is><t xml:space="preserve">'),
                             _xml_escape(v), pl.lit("</t></is></c>"))
        cells.append(pl.when(v.is_null() | (v == "")).then(pl.lit("")).otherwise(cell))
    row = pl.concat_str([pl.lit('<row r="'), rn, pl.lit('">'), *cells, pl.lit("</row>")])
    rows = df.select(row.alias("x"))
    sheet_xml = "".join([
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">',
        f'<dimension ref="A1:{letters[-1]}{df.height + 1}"/><sheetData>',
        f'<row r="1">{header}</row>', *rows["x"].to_list(), "</sheetData></worksheet>",
    ])
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{_escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    parts = [("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
             ("xl/workbook.xml", workbook), ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
             ("xl/styles.xml", _STYLES), ("xl/worksheets/sheet1.xml", sheet_xml)]
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in parts:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text.encode("utf-8"), compresslevel=1)


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def write_truth(records: pl.DataFrame, path: Path, order: list[str]) -> pl.DataFrame:
    """truth.csv: one row per record, sources in config order and rows in file order."""
    truth = (
        records.with_columns(_order=pl.col("source").replace_strict(order, list(range(len(order)))))
        .with_row_index("_row")
        .sort("_order", "_row")
        .select("source", pl.col("record_id").alias("source_record_id"), "entity_id", "entity_kind",
                "family_id", "errors")
    )
    truth.write_csv(path)
    return truth


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)   # a JSON string is a valid TOML basic string


def write_config(path: Path, entries: list[tuple[SourceSpec, str, FileFormat]], comment: str) -> None:
    """hanlink.toml for the written files: [project] plus one [[sources]] per file with its field mapping."""
    lines = [f"# {comment}", "", "[project]", 'name = "synthetic"', 'database = "work/hanlink.duckdb"',
             'work_dir = "work"']
    for spec, file_name, file_format in entries:
        # encoding only means something for CSV; Excel and Parquet carry Unicode themselves
        encoding = spec.encoding if file_format == "csv" else "auto"
        lines += ["", "[[sources]]", f"name = {_toml(spec.name)}", f"path = {_toml(file_name)}",
                  f"format = {_toml(file_format)}", f"encoding = {_toml(encoding)}", "",
                  "[sources.fields]"]
        lines += [f"{fld} = {_toml(header)}" for fld, header in spec.headers.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def file_name(spec: SourceSpec, file_format: FileFormat) -> str:
    return f"{spec.name}.{EXTENSIONS[file_format]}"
