"""The scorecard on hand-made tables whose injected problems are known: every figure checked exactly."""

from __future__ import annotations

import json
from datetime import date, datetime

import polars as pl
import pytest
from hanlink_tables import entities_frame, findings_frame, quarantine_frame, std_frame, std_row

from hanlink.config import ReportConfig, SourceConfig, SurvivorshipConfig
from hanlink.db import Database
from hanlink.errors import HanlinkError, StageError
from hanlink.report import WEIGHTS, default_as_of, light, report
from hanlink.scorecard import latest_run_id, scorecard_json, summary_markdown
from hanlink.survive import survive
from schemas.scorecard import DqRunSummary, DqScorecard

AS_OF = date(2026, 6, 30)
RECENT, OLD, FUTURE = datetime(2026, 3, 1), datetime(2024, 1, 1), datetime(2026, 7, 10)
ID = "11010119900307803X"
SOURCES = [
    SourceConfig(
        name="crm",
        path="crm.csv",
        fields={
            "record_id": "编号",
            "name": "姓名",
            "phone": "手机",
            "landline": "座机",
            "id_number": "身份证",
            "birth_date": "生日",
            "gender": "性别",
            "updated_at": "更新时间",
        },
    ),
    SourceConfig(
        name="web",
        path="web.csv",
        fields={"name": "name", "phone": "mobile", "email": "email", "updated_at": "updated"},
    ),
]
# Findings per rid: (rule_id, field, severity). Rejected rows (1, 9) are quarantined.
FINDINGS = {
    1: [("phone.malformed", "phone", "reject")],
    2: [("phone.malformed", "phone", "warn"), ("phone.placeholder", "phone", "warn")],
    3: [("id.checksum", "id_number", "warn")],
    4: [("id.birth_mismatch", "birth_date", "warn")],
    6: [("email.malformed", "email", "warn")],
    9: [("name.missing", "name", "reject")],
}


def write_run(db: Database, run_id: str = "r1") -> None:
    """10 standardized rows (crm 6, web 4), 1 unreadable at ingest, 2 rejected, 8 records in 6 entities."""
    person = {
        "name": "张三",
        "id_number": ID,
        "birth_date": date(1990, 3, 7),
        "id_birth_date": date(1990, 3, 7),
        "gender": "M",
        "id_gender": "M",
    }
    crm = [
        std_row(i, run_id, **person, phone=None if i == 0 else f"1390000000{i}", updated_at=RECENT)
        for i in range(6)
    ]
    crm[5]["id_birth_date"] = None  # rid 5: no ID birth date, so not in consistency scope
    crm[4]["birth_date"] = date(1990, 3, 8)  # rid 4: disagrees with its ID (finding below)
    crm[4]["updated_at"], crm[5]["updated_at"], crm[5]["updated_at_raw"] = OLD, None, None
    web = [
        std_row(
            6 + i,
            run_id,
            source="web",
            row_number=i + 1,
            source_record_id=f"W{i}",
            name=None if i == 3 else "李四",
            phone=f"1380000000{i}",
            email=None if i == 1 else f"u{i}@example.com",
            updated_at=FUTURE if i == 2 else RECENT,
        )
        for i in range(4)
    ]
    web[0]["email_valid"] = False
    rows = crm + web
    db.write("std_standardized", std_frame(rows))
    db.write("std_records", std_frame([r for r in rows if r["rid"] not in (1, 9)]))
    db.write(
        "entities",
        entities_frame(
            {
                "E00000000000A": [0, 2],
                "E00000000000B": [3, 6],
                "E00000000000C": [4],
                "E00000000000D": [5],
                "E00000000000E": [7],
                "E00000000000F": [8],
            }
        ),
    )
    db.write(
        "dq_findings",
        findings_frame(
            [
                {
                    "rid": rid,
                    "source": "web" if rid >= 6 else "crm",
                    "rule_id": rule,
                    "field": field,
                    "severity": sev,
                }
                for rid, items in FINDINGS.items()
                for rule, field, sev in items
            ],
            run_id=run_id,
        ),
    )
    db.write(
        "quarantine",
        quarantine_frame(
            [
                {"source": "crm", "row_number": 2, "source_record_id": "C0001",
                 "rule_ids": "phone.malformed"},
                {"source": "web", "row_number": 4, "source_record_id": "W3"},
                {"source": "web", "row_number": 5, "stage": "ingest", "rule_ids": "ingest.undecodable"},
            ],
            run_id=run_id,
        ),
    )
    for source, n in (("crm", 6), ("web", 4)):
        db.write(
            f"raw_{source}", pl.DataFrame({"_row_number": list(range(1, n + 1)), "_run_id": [run_id] * n})
        )
    survive(db, SurvivorshipConfig(), run_id)


@pytest.fixture
def scored(db: Database) -> Database:
    """The hand-made run r1, reported as of 2026-06-30 with the source mappings."""
    write_run(db)
    report(db, ReportConfig(), "r1", as_of=AS_OF, sources=SOURCES)
    return db


def figure(
    db: Database,
    level: str,
    dimension: str | None = None,
    *,
    source: str | None = None,
    field: str | None = None,
    rule_id: str | None = None,
    run_id: str = "r1",
) -> tuple[int, int, float]:
    rows = db.query(
        "SELECT numerator, denominator, score FROM dq_scorecard WHERE run_id = ? AND level = ? "
        "AND dimension IS NOT DISTINCT FROM ? AND source IS NOT DISTINCT FROM ? "
        "AND field IS NOT DISTINCT FROM ? "
        "AND rule_id IS NOT DISTINCT FROM ?",
        [run_id, level, dimension, source, field, rule_id],
    )
    assert rows.height == 1, (level, dimension, source, field, rule_id, rows)
    return rows.row(0)


def test_completeness_per_field_source_and_dimension(scored: Database) -> None:
    assert figure(scored, "field", "completeness", field="phone") == (9, 10, 90.0)
    assert figure(scored, "field", "completeness", source="crm", field="phone") == (5, 6, 100 * 5 / 6)
    assert figure(scored, "field", "completeness", field="email") == (3, 4, 75.0)
    # crm maps landline but never filled it: 0 %, shown because the config says it is mapped
    assert figure(scored, "field", "completeness", source="crm", field="landline") == (0, 6, 0.0)
    assert figure(scored, "field", "completeness", field="updated_at") == (9, 10, 90.0)
    assert figure(scored, "source", "completeness", source="crm") == (34, 42, 100 * 34 / 42)
    assert figure(scored, "source", "completeness", source="web") == (14, 16, 87.5)
    assert figure(scored, "dimension", "completeness") == (48, 58, 100 * 48 / 58)


def test_validity_counts_a_value_once_however_many_rules_it_fails(scored: Database) -> None:
    # crm phones present: rids 1-5; rid 1 fails one rule, rid 2 two rules → 3 of 5 pass
    assert figure(scored, "field", "validity", source="crm", field="phone") == (3, 5, 60.0)
    assert figure(scored, "field", "validity", field="phone") == (7, 9, 100 * 7 / 9)
    assert figure(scored, "field", "validity", field="id_number") == (5, 6, 100 * 5 / 6)
    assert figure(scored, "field", "validity", field="email") == (2, 3, 100 * 2 / 3)
    assert figure(scored, "field", "validity", field="name") == (9, 9, 100.0)  # name.missing is completeness
    assert figure(scored, "dimension", "validity") == (44, 48, 100 * 44 / 48)


def test_rules_are_scored_in_their_own_scope(scored: Database) -> None:
    assert figure(scored, "rule", "validity", field="phone", rule_id="phone.malformed") == (7, 9, 100 * 7 / 9)
    # the catalogue makes a placeholder phone an accuracy problem, not a validity one
    assert figure(scored, "rule", "accuracy", field="phone", rule_id="phone.placeholder") == (
        8,
        9,
        100 * 8 / 9,
    )
    # a row unreadable at ingest (web row 5) counts against its rule over the source's input rows (4 + 1)
    assert figure(scored, "rule", "validity", source="web", field="record", rule_id="ingest.undecodable") == (
        4,
        5,
        80.0,
    )
    assert figure(scored, "rule", "validity", source="crm", field="id_number", rule_id="id.checksum") == (
        5,
        6,
        100 * 5 / 6,
    )
    assert figure(scored, "rule", "completeness", field="name", rule_id="name.missing") == (9, 10, 90.0)
    assert figure(scored, "rule", "consistency", field="birth_date", rule_id="id.birth_mismatch") == (
        4,
        5,
        80.0,
    )
    # a rule that found nothing still reports its scope
    assert figure(scored, "rule", "consistency", field="gender", rule_id="id.gender_mismatch") == (
        6,
        6,
        100.0,
    )
    # id.checksum has nothing to check in web (no ID numbers there): no row rather than a fake 100 %
    assert (
        scored.scalar("SELECT count(*) FROM dq_scorecard WHERE rule_id = 'id.checksum' AND source = 'web'")
        == 0
    )


def test_accuracy_counts_values_flagged_by_accuracy_rules(scored: Database) -> None:
    # accuracy is measured on the fields some catalogue accuracy rule judges (name, phone, landline, id,
    # email, address, birth date) where mapped: crm 6 + 5 + 0 + 6 + 6 present, rid 2's placeholder phone
    # fails; web 3 names + 4 phones + 3 emails, none flagged
    assert figure(scored, "field", "accuracy", field="phone") == (8, 9, 100 * 8 / 9)
    assert figure(scored, "source", "accuracy", source="crm") == (22, 23, 100 * 22 / 23)
    assert figure(scored, "source", "accuracy", source="web") == (10, 10, 100.0)
    assert figure(scored, "dimension", "accuracy") == (32, 33, 100 * 32 / 33)
    gbt = dict(scored.fetchall("SELECT rule_id, gbt_indicator FROM dq_scorecard WHERE level = 'rule'"))
    assert gbt["phone.placeholder"] == "准确性" and gbt["ingest.undecodable"] == "可访问性"


def test_consistency_uniqueness_timeliness(scored: Database) -> None:
    assert figure(scored, "field", "consistency", field="birth_date") == (4, 5, 80.0)
    assert figure(scored, "dimension", "consistency") == (10, 11, 100 * 10 / 11)
    # 8 accepted records in 6 entities; entity B spans both sources
    assert figure(scored, "dimension", "uniqueness") == (6, 8, 75.0)
    assert figure(scored, "source", "uniqueness", source="crm") == (4, 5, 80.0)
    assert figure(scored, "source", "uniqueness", source="web") == (3, 3, 100.0)
    # crm: rid 4 two years old, rid 5 without a date; web: rid 8 dated after as_of
    assert figure(scored, "source", "timeliness", source="crm") == (4, 6, 100 * 4 / 6)
    assert figure(scored, "dimension", "timeliness") == (7, 10, 70.0)


def test_overall_is_the_weighted_mean_and_lights_follow_thresholds(scored: Database) -> None:
    dims = {
        "completeness": 48 / 58,
        "validity": 44 / 48,
        "uniqueness": 6 / 8,
        "consistency": 10 / 11,
        "timeliness": 7 / 10,
        "accuracy": 32 / 33,
    }
    expected = sum(100 * WEIGHTS[d] * v for d, v in dims.items()) / sum(WEIGHTS.values())
    assert figure(scored, "overall")[2] == pytest.approx(expected)
    lights = dict(scored.fetchall("SELECT dimension, light FROM dq_scorecard WHERE level = 'dimension'"))
    assert lights == {
        "completeness": "red",
        "validity": "amber",
        "uniqueness": "red",
        "consistency": "amber",
        "timeliness": "red",
        "accuracy": "green",
    }
    assert (light(95.0, 95, 85), light(94.99, 95, 85), light(85.0, 95, 85), light(84.9, 95, 85)) == (
        "green",
        "amber",
        "amber",
        "red",
    )
    DqScorecard.validate(scored.table("dq_scorecard"), lazy=True)
    DqRunSummary.validate(scored.table("dq_run_summary"), lazy=True)


def test_row_conservation_figures(scored: Database) -> None:
    card = scorecard_json(scored, "r1")
    assert card["conservation"] == {
        "raw_rows": 10,
        "quarantined_ingest": 1,
        "standardized": 10,
        "quarantined_validate": 2,
        "accepted": 8,
        "findings": 7,
        "entities": 6,
        "golden": 6,
        "crosswalk": 11,
        "crosswalk_quarantined": 3,
        "conflicts": 0,
        "records_in": 11,
        "quarantined": 3,
        "balanced": True,
    }


def test_rerun_replaces_its_rows_and_another_run_appends(scored: Database) -> None:
    n = scored.count("dq_scorecard")
    report(scored, ReportConfig(), "r1", as_of=AS_OF, sources=SOURCES)
    assert scored.count("dq_scorecard") == n
    write_run(scored, "r2")
    report(scored, ReportConfig(), "r2", as_of=AS_OF, sources=SOURCES)
    assert scored.fetchall("SELECT run_id, count(*) FROM dq_scorecard GROUP BY 1 ORDER BY 1") == [
        ("r1", n),
        ("r2", n),
    ]
    assert scored.fetchall("SELECT count(DISTINCT run_id), count(*) FROM dq_run_summary")[0][0] == 2
    assert latest_run_id(scored) == "r2"
    assert figure(scored, "dimension", "uniqueness", run_id="r2") == (6, 8, 75.0)


def test_without_mappings_a_field_counts_when_the_source_has_it(db: Database) -> None:
    write_run(db)
    report(db, ReportConfig(), "r1", as_of=AS_OF)
    assert figure(db, "dimension", "completeness") == (48, 52, 100 * 48 / 52)  # landline not seen: left out


def test_scorecard_json_round_trips_and_is_structured(scored: Database) -> None:
    card = scorecard_json(scored, "r1")
    assert json.loads(json.dumps(card, ensure_ascii=False)) == card
    assert card["as_of"] == "2026-06-30" and card["thresholds"] == {"green": 95.0, "amber": 85.0}
    assert card["fields"]["phone"]["completeness"] == {
        "score": 90.0,
        "light": "amber",
        "numerator": 9,
        "denominator": 10,
    }
    assert card["dimensions"]["uniqueness"]["score"] == 75.0
    assert card["dimension_names"]["uniqueness"] == {
        "zh": "唯一性",
        "en": "Uniqueness",
        "gbt_indicator": "准确性",
    }
    assert card["sources"]["crm"]["dimensions"]["uniqueness"]["score"] == 80.0
    assert {r["rule_id"] for r in card["rules"]} == {
        "phone.malformed",
        "phone.placeholder",
        "id.checksum",
        "email.malformed",
        "ingest.undecodable",
        "name.missing",
        "id.birth_mismatch",
        "id.gender_mismatch",
    }
    assert next(r for r in card["rules"] if r["rule_id"] == "phone.malformed")["failed"] == 2
    assert 0 <= card["overall"]["score"] <= 100 and card["overall"]["light"] == "amber"


def test_summary_markdown_in_chinese_and_english(scored: Database) -> None:
    zh, en = summary_markdown(scored, "r1"), summary_markdown(scored, "r1", lang="en")
    assert "r1" in zh and "总分" in zh and "规范性" in zh and "行数守恒 ✔" in zh
    assert "Overall" in en and "Uniqueness | 准确性 | 75.0" in en
    # worst rules first: email.malformed (66.7 %), phone.malformed (77.8 %), id.birth_mismatch (80 %,
    # sorted before ingest.undecodable's 80 %)
    assert [line.split("`")[1] for line in en.splitlines() if line.startswith("- `")] == [
        "email.malformed",
        "phone.malformed",
        "id.birth_mismatch",
    ]


def test_as_of_defaults_to_the_run_date(db: Database) -> None:
    assert default_as_of(db, "20260105T010203") == date(2026, 1, 5)
    db.write(
        "run_log",
        pl.DataFrame({"run_id": ["x"], "stage": ["ingest"], "started_at": [datetime(2025, 12, 31, 23, 0)]}),
    )
    assert default_as_of(db, "x") == date(2025, 12, 31)


def test_missing_or_stale_inputs_are_named(db: Database) -> None:
    with pytest.raises(StageError, match="std_records is missing"):
        report(db, ReportConfig(), "r1")
    with pytest.raises(HanlinkError, match="no run has a scorecard"):
        latest_run_id(db)
    write_run(db)
    with pytest.raises(StageError, match="holds run 'r1'"):
        report(db, ReportConfig(), "r9")
    with pytest.raises(HanlinkError, match="no scorecard for run 'r9'"):
        scorecard_json(db, "r9")


def test_accuracy_includes_the_analysts_labels_where_they_exist(db: Database) -> None:
    from hanlink.review import label_accuracy, save_label

    write_run(db)
    # entities A = {0, 2}, B = {3, 6}, C = {4}, D = {5}: one pair of each outcome
    for left, right, label in ((0, 2, "match"), (4, 5, "match"), (3, 6, "non_match"), (7, 8, "non_match")):
        save_label(db, left, right, label, who="test")
    assert label_accuracy(db)["tp"] == 1
    report(db, ReportConfig(), "r1", as_of=AS_OF, sources=SOURCES)
    # tp 1, fn 1 (4–5 apart), fp 1 (3–6 together), tn 1
    assert figure(db, "rule", "accuracy", field="entity_id", rule_id="review.precision") == (1, 2, 50.0)
    assert figure(db, "rule", "accuracy", field="entity_id", rule_id="review.recall") == (1, 2, 50.0)
    assert figure(db, "field", "accuracy", field="entity_id") == (2, 4, 50.0)
    # pooled with the values (32 of 33, test above); the labels are not any one source's
    assert figure(db, "dimension", "accuracy") == (34, 37, 100 * 34 / 37)
    assert figure(db, "source", "accuracy", source="crm") == (22, 23, 100 * 22 / 23)
    labels_per_source = "SELECT count(*) FROM dq_scorecard WHERE rule_id LIKE 'review.%' AND source NOTNULL"
    assert db.scalar(labels_per_source) == 0
    DqScorecard.validate(db.table("dq_scorecard"), lazy=True)


def test_timeliness_keeps_the_age_of_the_last_update(scored: Database) -> None:
    card = scorecard_json(scored, "r1")
    # crm: updated 2026-03-01 (121 days before 2026-06-30) ×4 and 2024-01-01 (911 days); web: 121 ×3, -10
    assert card["timeliness"] == {"timely_days": 365.0, "update_age_days_median": 121.0,
                                  "update_age_days_median.crm": 121.0, "update_age_days_median.web": 121.0}
    assert "timely_days" not in card["conservation"]
