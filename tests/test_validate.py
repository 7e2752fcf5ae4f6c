"""The validate stage on a real DuckDB: every rule fires where it should and nowhere else, the quarantine
gets every reject reason and the original row, masking, conservation, reruns, contract failures."""

from __future__ import annotations

import json

import polars as pl
import pytest

from hanlink.config import SourceConfig, config_from_dict
from hanlink.db import Database
from hanlink.errors import ConservationError, StageError
from hanlink.rules import RULES
from hanlink.standardize import standardize
from hanlink.validate import check_conservation, rule_checks, validate
from schemas.dq_findings import DqFindings
from schemas.quarantine import Quarantine

CRM_FIELDS = ("record_id", "name", "phone", "landline", "id_number", "email", "address", "province", "city",
              "district", "birth_date", "gender", "updated_at")
# crm rows (row number = position + 1); fields left out are null
CRM: list[dict[str, str]] = [
    {"record_id": "C1", "name": "李娜", "phone": "13912876544", "landline": "010-62345678",
     "id_number": "110105199003071247", "email": "lina@qq.com", "address": "北京市朝阳区建国路1号",
     "birth_date": "1990-03-07", "gender": "女", "updated_at": "2024-05-01 10:00:00"},          # 1 clean
    {"record_id": "C2", "name": "测试", "phone": "13800138000"},                                  # 2 junk
    {"record_id": "C3", "name": "张伟", "phone": "1391287654", "landline": "623456",
     "id_number": "110105199003071230", "email": "bad@"},                                       # 3
    {"record_id": "C4", "name": "王芳", "phone": "abc", "landline": "12345678",
     "id_number": "110105199002301231", "email": "test@test.com", "birth_date": "someday", "gender": "x",
     "updated_at": "later"},                                                                      # 4
    {"record_id": "C5", "name": "赵六", "phone": "13912876545", "id_number": "12345", "address": "某某路1号",
     "province": "火星", "city": "哥谭", "district": "无名区", "birth_date": "1990-02-30",
     "updated_at": "2999-01-01"},                                                                # 5
    {"record_id": "C6", "name": "孙七", "phone": "13912876546", "id_number": "111111111111111111",
     "address": "朝阳区建国路1号"},                                                               # 6
    {"record_id": "C7", "name": "周八", "phone": "13912876547", "id_number": "999999199003071234",
     "address": "上海市黄浦区南京东路1号", "province": "北京"},                                     # 7
    {"record_id": "C8", "name": "吴九", "phone": "13912876548", "id_number": "110105199003071239",
     "birth_date": "1991-01-01", "gender": "女"},                                                  # 8
    {"record_id": "C2", "name": "郑十", "phone": "13912876549"},                                  # 9 dup id
    {"record_id": "C10"},                                                                         # 10 empty
    {"record_id": "C11", "name": "王小姐（VIP）", "phone": "13912876552/13912876553",
     "landline": "010-62345679；010-62345670", "email": "a11@qq.com; b11@163.com"},  # 11 annotated
]
# web: Chinese headers, name not required but phone and email are
WEB: list[dict[str, str | None]] = [
    {"姓名": None, "手机": "13912876550", "邮箱": "w1@qq.com"},       # 1 name missing (a warning here)
    {"姓名": "钱一", "手机": None, "邮箱": None},                      # 2 two required fields missing
    {"姓名": "孙二", "手机": "13912876551", "邮箱": "w3@qq.com"},      # 3 clean
]
EXPECTED: dict[str, set[tuple[str, int]]] = {
    "record.empty": {("crm", 10)},
    "record.required_missing": {("crm", 2), ("crm", 10), ("web", 2)},
    "record.junk": {("crm", 2)},
    "record.duplicate_id": {("crm", 2), ("crm", 9)},
    "name.missing": {("web", 1)},
    "name.junk": {("crm", 2)},
    "name.annotated": {("crm", 11)},
    "phone.multiple": {("crm", 11)},
    "landline.multiple": {("crm", 11)},
    "email.multiple": {("crm", 11)},
    "phone.placeholder": {("crm", 2)},
    "phone.missing_digit": {("crm", 3)},
    "phone.malformed": {("crm", 4)},
    "landline.malformed": {("crm", 3)},
    "landline.placeholder": {("crm", 4)},
    "id.checksum": {("crm", 3)},
    "id.bad_date": {("crm", 4)},
    "id.malformed": {("crm", 5)},
    "id.placeholder": {("crm", 6)},
    "id.region_unknown": {("crm", 7)},
    "id.birth_mismatch": {("crm", 8)},
    "id.gender_mismatch": {("crm", 8)},
    "email.malformed": {("crm", 3)},
    "email.placeholder": {("crm", 4)},
    "address.unparsed": {("crm", 5)},
    "address.ambiguous": {("crm", 6)},
    "address.region_conflict": {("crm", 7)},
    "province.unknown": {("crm", 5)},
    "city.unknown": {("crm", 5)},
    "district.unknown": {("crm", 5)},
    "date.malformed": {("crm", 4)},
    "date.impossible": {("crm", 5)},
    "updated_at.malformed": {("crm", 4)},
    "updated_at.impossible": {("crm", 5)},
    "gender.invalid": {("crm", 4)},
}


def write_raw(db: Database, source: str, rows: list[dict[str, str | None]], headers: list[str]) -> None:
    df = pl.DataFrame([{h: r.get(h) for h in headers} for r in rows],
                      schema=dict.fromkeys(headers, pl.String))
    db.write(f"raw_{source}", df.with_columns(
        _row_number=pl.int_range(1, df.height + 1, dtype=pl.Int64), _source=pl.lit(source),
        _file=pl.lit(f"{source}.csv"), _file_sha256=pl.lit("0" * 64), _run_id=pl.lit("r1")))


Run = tuple[Database, list[SourceConfig], dict[str, int]]


@pytest.fixture
def run(db: Database) -> Run:
    """Both sources ingested by hand, standardized and validated once (run r1)."""
    write_raw(db, "crm", CRM, list(CRM_FIELDS))
    write_raw(db, "web", WEB, ["姓名", "手机", "邮箱"])
    cfg = config_from_dict({"sources": [
        {"name": "crm", "path": "crm.csv", "fields": {f: f for f in CRM_FIELDS}},
        {"name": "web", "path": "web.csv", "fields": {"name": "姓名", "phone": "手机", "email": "邮箱"},
         "required": ["phone", "email"]},
    ]})
    sources = list(cfg.sources)
    standardize(db, sources, "r1")
    return db, sources, validate(db, sources, "r1")


def test_each_rule_fires_exactly_where_it_should(run: Run) -> None:
    db, _, counts = run
    findings = db.table("dq_findings")
    got: dict[str, set[tuple[str, int]]] = {}
    for rule_id, source, row in findings.select("rule_id", "source", "row_number").iter_rows():
        got.setdefault(rule_id, set()).add((source, row))
    assert got == EXPECTED
    assert counts["findings"] == findings.height
    clean = findings.filter(((pl.col("source") == "crm") & (pl.col("row_number") == 1))
                            | ((pl.col("source") == "web") & (pl.col("row_number") == 3)))
    assert clean.height == 0


def test_stand_in_name_is_junk_only_without_usable_contact(db: Database) -> None:
    """张三/李四 are real names too: a stand-in name alone is no finding, with no contact it is junk."""
    rows: list[dict[str, str | None]] = [
        {"id": "1", "name": "张三", "phone": "+86 138 0013 8000"},          # placeholder phone only
        {"id": "2", "name": "李四", "phone": None, "email": "a@a.com"},     # placeholder email only
        {"id": "3", "name": "张三", "phone": "13912876544"},                # a real contact: kept
        {"id": "4", "name": "張三", "phone": None},                         # traditional, nothing else
    ]
    write_raw(db, "shop", rows, ["id", "name", "phone", "email"])
    cfg = config_from_dict({"sources": [{"name": "shop", "path": "shop.csv",
                                         "fields": {"record_id": "id", "name": "name", "phone": "phone",
                                                    "email": "email"}}]})
    standardize(db, cfg.sources, "r1")
    validate(db, cfg.sources, "r1")
    f = db.table("dq_findings")
    assert sorted(f.filter(pl.col("rule_id") == "record.junk")["row_number"].to_list()) == [1, 2, 4]
    assert f.filter(pl.col("row_number") == 3).height == 0
    assert "name.junk" not in f["rule_id"].to_list()


def test_every_validate_and_standardize_rule_is_exercised() -> None:
    fired_here = set(EXPECTED)
    checked = {r.id for r in RULES if r.detected_by != "ingest"}
    assert fired_here == checked
    assert {rule_id for rule_id, _, _ in rule_checks([])} <= checked


def test_findings_carry_lineage_severity_masked_values_and_both_languages(
        run: Run) -> None:
    db, _, _ = run
    findings = db.table("dq_findings")
    DqFindings.validate(findings, lazy=True)
    by = {(r["rule_id"], r["source"], r["row_number"], r["field"]): r for r in findings.iter_rows(named=True)}
    placeholder = by[("phone.placeholder", "crm", 2, "phone")]
    assert placeholder["value_masked"] == "138****8000"
    assert placeholder["severity"] == "warn" and placeholder["source_record_id"] == "C2"
    assert by[("name.junk", "crm", 2, "name")]["value_masked"] == "测*"
    assert by[("id.checksum", "crm", 3, "id_number")]["value_masked"] == "110105********1230"
    assert by[("email.placeholder", "crm", 4, "email")]["value_masked"] == "t***@test.com"
    assert by[("record.junk", "crm", 2, "record")]["severity"] == "reject"
    assert {f for (rule, _, _, f) in by if rule == "record.required_missing"} == {"name", "phone", "email"}
    raw_values = set(db.table("std_standardized").select(pl.concat_list(pl.col("^.*_raw$").cast(pl.String)))
                     .to_series().explode().drop_nulls().to_list())
    sensitive = findings.filter(pl.col("field").is_in(["name", "phone", "landline", "id_number", "email"]))
    leaked = set(sensitive["value_masked"].drop_nulls().to_list()) & raw_values
    assert leaked <= {"x"}          # one-character values stay as they are
    assert findings["message_zh"].str.contains(r"[\u4e00-\u9fff]").all()
    assert findings["message_en"].str.contains(r"[A-Za-z]").all()


def test_quarantine_holds_every_reject_reason_and_the_original_row(
        run: Run) -> None:
    db, _, counts = run
    q = db.table("quarantine")
    Quarantine.validate(q, lazy=True)
    rows = {(r["source"], r["row_number"]): r for r in q.iter_rows(named=True)}
    assert set(rows) == {("crm", 2), ("crm", 10), ("web", 2)}
    assert counts["quarantined"] == 3
    assert rows[("crm", 2)]["rule_ids"] == "record.required_missing;record.junk"
    assert rows[("crm", 10)]["rule_ids"] == "record.empty;record.required_missing"
    assert rows[("web", 2)]["rule_ids"] == "record.required_missing"
    assert "phone" in rows[("web", 2)]["reason_en"] and "email" in rows[("web", 2)]["reason_en"]
    assert "必填字段" in rows[("web", 2)]["reason_zh"]
    assert rows[("crm", 2)]["stage"] == "validate" and rows[("crm", 2)]["file"] == "crm.csv"
    assert rows[("crm", 2)]["source_record_id"] == "C2"
    assert json.loads(rows[("crm", 2)]["raw_json"]) == {h: CRM[1].get(h) for h in CRM_FIELDS}
    assert json.loads(rows[("web", 2)]["raw_json"]) == {"姓名": "钱一", "手机": None, "邮箱": None}
    # every reject finding of a quarantined row is in its rule_ids
    rejects = db.table("dq_findings").filter(pl.col("severity") == "reject")
    for source, row, rule in rejects.select("source", "row_number", "rule_id").iter_rows():
        assert rule in rows[(source, row)]["rule_ids"].split(";")


def test_conservation_and_rids(run: Run) -> None:
    db, _, counts = run
    assert counts["rows"] == 14 and counts["accepted"] == 11
    assert check_conservation(db, "r1") == (14, 11, 3)
    kept = db.table("std_records")
    std = db.table("std_standardized")
    assert kept["rid"].to_list() == [r for r in std["rid"].to_list() if r not in {1, 9, 12}]
    assert kept.columns == std.columns
    db.execute("INSERT INTO quarantine (run_id, stage, source, row_number, rule_ids, reason_zh, reason_en) "
               "VALUES ('r1', 'validate', 'crm', 99, 'record.empty', '空', 'empty')")
    with pytest.raises(ConservationError, match="14"):
        check_conservation(db, "r1")


def test_rerun_replaces_its_own_rows_and_keeps_ingest_rows(
        run: Run) -> None:
    db, sources, _ = run
    db.execute("INSERT INTO quarantine (run_id, stage, source, file, row_number, rule_ids, reason_zh, "
               "reason_en) VALUES ('r1', 'ingest', 'crm', 'crm.csv', 11, 'ingest.ragged', '字段数不一致', "
               "'ragged')")
    findings, records = db.table("dq_findings"), db.table("std_records")
    again = validate(db, sources, "r1")
    assert again["quarantined"] == 3
    assert db.scalar("SELECT count(*) FROM quarantine WHERE run_id = 'r1'") == 4
    assert db.table("dq_findings").equals(findings)
    assert db.table("std_records").equals(records)


def test_a_broken_contract_stops_the_run_without_showing_values(
        run: Run) -> None:
    db, sources, _ = run
    db.execute("UPDATE std_standardized SET phone = '1391287654X' WHERE rid = 0")
    with pytest.raises(StageError, match="phone") as err:
        validate(db, sources, "r1")
    assert "1391287654X" not in str(err.value)


def test_validate_needs_standardize_first(db: Database) -> None:
    with pytest.raises(StageError, match="std_standardized"):
        validate(db, [], "r1")


def test_without_a_raw_table_the_mapped_originals_are_the_raw_json(run: Run) -> None:
    db, sources, _ = run
    db.execute("DROP TABLE raw_web")
    validate(db, sources, "r1")
    row = db.query("SELECT file, raw_json FROM quarantine WHERE source = 'web' AND stage = 'validate'").row(0)
    assert row[0] is None
    assert json.loads(row[1])["name_raw"] == "钱一"
