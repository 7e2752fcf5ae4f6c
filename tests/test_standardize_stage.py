"""The standardize stage on a real DuckDB: mapping, lineage, rid order, originals kept, errors."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hanlink.config import SourceConfig, config_from_dict
from hanlink.db import Database
from hanlink.errors import SourceError, StageError
from hanlink.standardize import RAW_FIELDS, read_raw, standardize, standardize_frame, std_columns
from schemas.std_records import StdRecords

LINEAGE = ("_row_number", "_source", "_file", "_file_sha256", "_run_id")


def raw_table(db: Database, source: str, rows: list[dict[str, str | None]], row_numbers: list[int]) -> None:
    """Write a raw_<source> table the way ingest does: text columns plus lineage."""
    cols = list(rows[0])
    df = pl.DataFrame(rows, schema=dict.fromkeys(cols, pl.String)).with_columns(
        _row_number=pl.Series(row_numbers, dtype=pl.Int64), _source=pl.lit(source),
        _file=pl.lit(f"{source}.csv"), _file_sha256=pl.lit("0" * 64), _run_id=pl.lit("r1"))
    db.write(f"raw_{source}", df)


@pytest.fixture
def two_sources(db: Database) -> tuple[Database, list[SourceConfig]]:
    """crm (Chinese headers, rows written out of order) and shop (English headers, no record id)."""
    raw_table(db, "crm", [
        {"客户编号": "C2", "姓名": " 張偉 ", "手机": "+86 139 1287 6543", "地址": "北京朝阳区建国路88号",
         "城市": None},
        {"客户编号": "C1", "姓名": "李娜", "手机": "13912876544", "地址": "朝阳区建国路1号", "城市": "北京"},
        {"客户编号": "", "姓名": "王芳", "手机": None, "地址": None, "城市": None},
    ], [2, 1, 3])
    raw_table(db, "shop", [{"name": "Zhang Wei", "mobile": "139-1287-6543", "dob": "1990/1/2"},
                           {"name": "测试", "mobile": "13800138000", "dob": "1990-02-30"}], [1, 2])
    cfg = config_from_dict({"sources": [
        {"name": "crm", "path": "crm.csv",
         "fields": {"record_id": "客户编号", "name": "姓名", "phone": "手机", "address": "地址",
                    "city": "城市"}},
        {"name": "shop", "path": "shop.csv",
         "fields": {"name": "name", "phone": "mobile", "birth_date": "dob"}},
    ]})
    return db, list(cfg.sources)


Sources = tuple[Database, list[SourceConfig]]


def test_stage_writes_every_row_in_source_then_row_order(two_sources: Sources) -> None:
    db, sources = two_sources
    counts = standardize(db, sources, "r1")
    assert counts["rows"] == 5 and counts["rows_crm"] == 3 and counts["rows_shop"] == 2
    std = db.table("std_standardized")
    assert std.columns == std_columns()
    StdRecords.validate(std, lazy=True)
    assert std["rid"].to_list() == [0, 1, 2, 3, 4]
    assert std.select("source", "row_number").rows() == [("crm", 1), ("crm", 2), ("crm", 3), ("shop", 1),
                                                         ("shop", 2)]
    # the mapped id, else the row number as text
    assert std["source_record_id"].to_list() == ["C1", "C2", "3", "1", "2"]
    assert std["run_id"].unique().to_list() == ["r1"]


def test_originals_are_kept_and_unmapped_fields_are_null(two_sources: Sources) -> None:
    db, sources = two_sources
    standardize(db, sources, "r1")
    std = db.table("std_standardized")
    assert std["name_raw"].to_list() == ["李娜", " 張偉 ", "王芳", "Zhang Wei", "测试"]
    assert std["name"].to_list() == ["李娜", "张伟", "王芳", "zhang wei", None]
    assert std["record_id_raw"].to_list() == ["C1", "C2", "", None, None]
    assert std["email_raw"].null_count() == 5 and std["email"].null_count() == 5
    assert std["birth_date_raw"].to_list()[3:] == ["1990/1/2", "1990-02-30"]
    # the same person in both sources: same keys
    assert std["name_key"][1] == std["name_key"][3] and std["phone"][1] == std["phone"][3]
    # 朝阳区 + city column 北京 agrees with 北京朝阳区
    assert std["address"][0] == "北京市朝阳区建国路1号"
    assert std["address"][1] == "北京市朝阳区建国路88号"
    assert std["std_issues"][4].to_list() == ["name.junk", "phone.placeholder", "date.impossible"]


def test_rerun_gives_the_same_table(two_sources: Sources) -> None:
    db, sources = two_sources
    standardize(db, sources, "r1")
    first = db.table("std_standardized")
    standardize(db, sources, "r1")
    assert db.table("std_standardized").equals(first)


def test_a_mapped_column_the_raw_table_lacks_is_named(db: Database) -> None:
    raw_table(db, "crm", [{"姓名": "李娜"}], [1])
    cfg = config_from_dict({"sources": [{"name": "crm", "path": "x.csv", "fields": {"name": "姓名",
                                                                                   "phone": "手机号码"}}]})
    with pytest.raises(SourceError, match="手机号码") as err:
        standardize(db, cfg.sources, "r1")
    assert "姓名" in str(err.value)        # the hint lists the columns there are


def test_a_missing_raw_table_is_a_stage_error(db: Database) -> None:
    cfg = config_from_dict({"sources": [{"name": "crm", "path": "x.csv", "fields": {"name": "姓名"}}]})
    with pytest.raises(StageError, match="raw_crm"):
        standardize(db, cfg.sources, "r1")


def test_no_sources_gives_an_empty_table(db: Database) -> None:
    assert standardize(db, [], "r1")["rows"] == 0
    assert db.count("std_standardized") == 0
    assert db.columns("std_standardized") == std_columns()


@given(st.lists(st.fixed_dictionaries({f: st.none() | st.text(max_size=15) for f in RAW_FIELDS}),
                min_size=1, max_size=8))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_text_is_standardized_and_kept(rows: list[dict[str, str | None]]) -> None:
    n = len(rows)
    frame = pl.DataFrame({
        "rid": range(n), "source": ["s"] * n, "source_record_id": [str(i) for i in range(n)],
        "row_number": range(1, n + 1), "run_id": ["r"] * n, "record_id_raw": [None] * n,
        **{f"{f}_raw": [r[f] for r in rows] for f in RAW_FIELDS}},
        schema_overrides={"record_id_raw": pl.String, **{f"{f}_raw": pl.String for f in RAW_FIELDS}})
    std = standardize_frame(frame)
    assert std.height == len(rows)
    for f in RAW_FIELDS:
        assert std[f"{f}_raw"].to_list() == [r[f] for r in rows]
    StdRecords.validate(std, lazy=True)


def test_read_raw_orders_by_config_then_row(two_sources: Sources) -> None:
    db, sources = two_sources
    frame = read_raw(db, list(reversed(sources)), "r1")
    assert frame["source"].to_list() == ["shop", "shop", "crm", "crm", "crm"]
    assert frame["rid"].to_list() == list(range(5))
