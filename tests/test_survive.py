"""Survivorship: each rule picks the right value and record, ties are deterministic, nothing is lost."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl
import pytest
from hanlink_tables import entities_frame, quarantine_frame, std_frame, std_row
from hypothesis import given, settings
from hypothesis import strategies as st

from hanlink.config import SurvivorshipConfig
from hanlink.db import Database
from hanlink.errors import ConservationError, StageError
from hanlink.survive import source_ranks, survive
from schemas.golden import Crosswalk, GoldenConflicts, GoldenProvenance, GoldenRecords

E1, E2, E3 = "E000000000001", "E000000000002", "E000000000003"
OLD, MID, NEW = datetime(2024, 1, 1), datetime(2025, 1, 1), datetime(2026, 1, 1)
ID_A = "11010119900307803X"
ID_B = "110101198001011234"


def load(
    db: Database,
    rows: list[dict[str, Any]],
    groups: dict[str, list[int]],
    quarantine: list[dict[str, Any]] | None = None,
) -> None:
    db.write("std_records", std_frame(rows))
    db.write("entities", entities_frame(groups))
    if quarantine is not None:
        db.write("quarantine", quarantine_frame(quarantine))


def provenance(db: Database, entity: str, field: str) -> dict[str, Any]:
    rows = db.query("SELECT * FROM golden_provenance WHERE entity_id = ? AND field = ?", [entity, field])
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def golden(db: Database, entity: str) -> dict[str, Any]:
    return db.query("SELECT * FROM golden_records WHERE entity_id = ?", [entity]).row(0, named=True)


def test_valid_first_prefers_valid_values(db: Database) -> None:
    rows = [
        std_row(
            0,
            name="zhang wei",
            name_type="romanized",
            phone="13800138000",
            phone_type="placeholder",
            id_number="110101199003078031",
            id_status="checksum_error",
            email="a@b",
            email_valid=False,
            updated_at=NEW,
        ),
        std_row(
            1,
            name="张伟",
            phone="01062345678",
            phone_type="landline",
            id_number=ID_A,
            email="zw@example.com",
            updated_at=OLD,
        ),
        std_row(
            2,
            name="???",
            name_type="junk",
            phone="13912345678",
            updated_at=MID,
            source="erp",
            source_record_id="X9",
        ),
    ]
    load(db, rows, {E1: [0, 1, 2]})
    survive(db, SurvivorshipConfig(), "r1")
    g = golden(db, E1)
    assert (g["name"], g["phone"], g["id_number"], g["email"]) == (
        "张伟",
        "13912345678",
        ID_A,
        "zw@example.com",
    )
    assert provenance(db, E1, "phone") == {
        "entity_id": E1,
        "field": "phone",
        "value": "13912345678",
        "rid": 2,
        "source": "erp",
        "source_record_id": "X9",
        "rule": "valid_first",
    }
    assert provenance(db, E1, "id_number")["rid"] == 1
    assert provenance(db, E1, "name")["rid"] == 1
    assert (g["n_records"], g["sources"]) == (3, "crm;erp")


def test_unusable_values_never_survive_any_rule(db: Database) -> None:
    rows = [
        std_row(
            0,
            phone="13800138000",
            phone_type="placeholder",
            id_number=ID_B,
            id_status="checksum_error",
            name="!!",
            name_type="junk",
            updated_at=NEW,
        ),
        std_row(1, updated_at=OLD),
    ]
    load(db, rows, {E1: [0, 1]})
    survive(db, SurvivorshipConfig(default_rule="most_recent"), "r1")
    g = golden(db, E1)
    assert (g["phone"], g["id_number"], g["name"]) == (None, None, None)
    assert db.count("golden_provenance") == 0


def test_valid_first_frequency_then_recency_then_source_then_rid(db: Database) -> None:
    rows = [
        # E1: 139…01 twice (old) beats 139…02 once (new): frequency before recency
        std_row(0, phone="13900000001", updated_at=OLD),
        std_row(1, phone="13900000001", updated_at=OLD),
        std_row(2, phone="13900000002", updated_at=NEW),
        # E2: one each, the more recent wins
        std_row(3, phone="13900000003", updated_at=OLD),
        std_row(4, phone="13900000004", updated_at=NEW),
        # E3: same frequency and date: the source ranked first wins (erp listed), then the smallest rid
        std_row(5, phone="13900000005", updated_at=MID, source="web"),
        std_row(6, phone="13900000006", updated_at=MID, source="erp"),
        std_row(7, phone="13900000007", updated_at=MID, source="erp"),
    ]
    load(db, rows, {E1: [0, 1, 2], E2: [3, 4], E3: [5, 6, 7]})
    survive(db, SurvivorshipConfig(source_priority=["erp"]), "r1")
    assert provenance(db, E1, "phone")["value"] == "13900000001"
    assert provenance(db, E1, "phone")["rid"] == 0  # the tie between rids 0 and 1: smallest rid
    assert provenance(db, E2, "phone")["rid"] == 4
    assert provenance(db, E3, "phone")["rid"] == 6


def test_most_recent_beats_frequency(db: Database) -> None:
    rows = [
        std_row(0, email="old@x.cn", updated_at=OLD),
        std_row(1, email="old@x.cn", updated_at=OLD),
        std_row(2, email="new@x.cn", updated_at=NEW),
        std_row(3, email="nodate@x.cn"),
    ]
    load(db, rows, {E1: [0, 1, 2, 3]})
    survive(db, SurvivorshipConfig(rules={"email": "most_recent"}), "r1")
    assert provenance(db, E1, "email") | {} == {
        "entity_id": E1,
        "field": "email",
        "value": "new@x.cn",
        "rid": 2,
        "source": "crm",
        "source_record_id": "C0002",
        "rule": "most_recent",
    }


def test_most_frequent_ignores_kind(db: Database) -> None:
    # Under valid_first the mobile would win; most_frequent takes the landline that appears twice.
    rows = [
        std_row(0, phone="13900000001", updated_at=NEW),
        std_row(1, phone="01062345678", phone_type="landline", updated_at=OLD),
        std_row(2, phone="01062345678", phone_type="landline", updated_at=OLD),
    ]
    load(db, rows, {E1: [0, 1, 2]})
    survive(db, SurvivorshipConfig(default_rule="most_frequent"), "r1")
    assert provenance(db, E1, "phone")["value"] == "01062345678"
    survive(db, SurvivorshipConfig(), "r1")
    assert provenance(db, E1, "phone")["value"] == "13900000001"


def test_most_complete_takes_longest_and_composes_address(db: Database) -> None:
    rows = [
        std_row(
            0, address="北京市朝阳区", province="北京市", city="北京市", district="朝阳区", updated_at=NEW
        ),
        std_row(
            1,
            address="北京朝阳区建国路88号",
            province="北京市",
            city="北京市",
            district="朝阳区",
            address_detail="建国路88号",
            updated_at=OLD,
        ),
        std_row(2, address="朝阳建国路88号SOHO现代城A座", updated_at=OLD),  # unparsed, longest
    ]
    load(db, rows, {E1: [0, 1, 2]})
    survive(db, SurvivorshipConfig(rules={"address": "most_complete"}), "r1")
    assert provenance(db, E1, "address")["rid"] == 2
    # valid_first prefers the parsed address, written in standard form (a 直辖市 written once)
    survive(db, SurvivorshipConfig(), "r1")
    assert provenance(db, E1, "address")["value"] == "北京市朝阳区建国路88号"
    assert provenance(db, E1, "address")["rid"] == 1
    assert golden(db, E1)["district"] == "朝阳区"


def test_source_priority_listed_first_then_alphabetical(db: Database) -> None:
    assert source_ranks(["web", "erp"], ["crm", "erp", "web", "app"]) == {
        "web": 0,
        "erp": 1,
        "app": 2,
        "crm": 3,
    }
    rows = [
        std_row(0, name="王芳", source="web", updated_at=NEW),  # unlisted, after crm alphabetically
        std_row(1, name="王芳芳", source="crm", updated_at=OLD),  # unlisted
        std_row(2, name="王方", source="erp", updated_at=OLD),  # not in this entity's competition below
        std_row(3, name="汪芳", source="erp", updated_at=OLD),
    ]
    load(db, rows, {E1: [0, 1], E2: [2, 3]})
    survive(db, SurvivorshipConfig(default_rule="source_priority", source_priority=["erp"]), "r1")
    assert provenance(db, E1, "name")["source"] == "crm"
    assert provenance(db, E2, "name")["rid"] == 2


def test_birth_date_agreeing_with_id_wins_and_keeps_date_type(db: Database) -> None:
    rows = [
        std_row(0, birth_date=date(1990, 3, 8), gender="F", updated_at=NEW),
        std_row(
            1,
            id_number=ID_A,
            id_birth_date=date(1990, 3, 7),
            id_gender="M",
            birth_date=date(1990, 3, 8),
            gender="F",
            updated_at=OLD,
        ),
        std_row(2, birth_date=date(1990, 3, 7), gender="M", updated_at=OLD),
    ]
    load(db, rows, {E1: [0, 1, 2]})
    survive(db, SurvivorshipConfig(), "r1")
    # 1990-03-08 appears twice, but rid 1 contradicts its own valid ID: only rid 0 keeps tier 0 for it.
    g = golden(db, E1)
    assert g["birth_date"] == date(1990, 3, 8)
    assert provenance(db, E1, "birth_date")["rid"] == 0
    assert db.query("SELECT birth_date FROM golden_records").schema["birth_date"] == pl.Date


def test_crosswalk_one_row_per_ingested_row(db: Database) -> None:
    rows = [std_row(0, name="甲"), std_row(1, name="乙"), std_row(3, name="丙", source="erp", row_number=1)]
    quarantined = [
        {"source": "crm", "row_number": 3, "source_record_id": "C0002"},
        {"source": "erp", "row_number": 2, "stage": "ingest"},  # unreadable: no record id
        {"source": "erp", "row_number": 9, "run_id": "r0"},
    ]  # another run: not ours
    q = quarantine_frame(quarantined[:2])
    load(db, rows, {E1: [0, 1], E2: [3]})
    db.write("quarantine", pl.concat([q, quarantine_frame(quarantined[2:], run_id="r0")]))
    counts = survive(db, SurvivorshipConfig(), "r1")
    cw = db.table("crosswalk")
    Crosswalk.validate(cw, lazy=True)
    assert cw.select("source", "source_record_id", "row_number", "rid", "entity_id", "status").rows() == [
        ("crm", "C0000", 1, 0, E1, "linked"),
        ("crm", "C0001", 2, 1, E1, "linked"),
        ("crm", "C0002", 3, None, None, "quarantined"),
        ("erp", "C0003", 1, 3, E2, "linked"),
        ("erp", "2", 2, None, None, "quarantined"),
    ]
    assert counts["crosswalk_rows"] == 5 and counts["crosswalk_quarantined"] == 2


def test_conflicting_valid_ids_are_reported_masked(db: Database) -> None:
    rows = [
        std_row(0, id_number=ID_A, updated_at=NEW),
        std_row(1, id_number=ID_B, updated_at=OLD),
        std_row(2, id_number=ID_A),
        std_row(3, id_number="110101199003078031", id_status="checksum_error"),
        std_row(4, id_number=ID_A),
    ]
    load(db, rows, {E1: [0, 1, 2, 3], E2: [4]})
    counts = survive(db, SurvivorshipConfig(), "r1")
    conflicts = db.table("golden_conflicts")
    GoldenConflicts.validate(conflicts, lazy=True)
    assert conflicts.rows() == [(E1, "id_number", "110101********1234;110101********803X", 2, "1;0")]
    assert counts["conflicts"] == 1
    assert golden(db, E1)["id_number"] == ID_A  # still chosen by the rule: reported, not hidden


def test_outputs_match_contracts_and_are_deterministic(db: Database) -> None:
    rows = [
        std_row(
            i,
            name=["张伟", "張偉", "zhang wei"][i % 3],
            name_type=["hanzi", "hanzi", "romanized"][i % 3],
            phone=f"139{i % 4:08d}",
            email=f"u{i % 2}@x.cn",
            province="广东省",
            city="深圳市",
            district="南山区",
            address_detail=f"科技园{i % 3}号",
            address=f"深圳南山科技园{i % 3}号",
            updated_at=datetime(2025, 1, 1 + i % 5),
            source=["crm", "erp"][i % 2],
        )
        for i in range(12)
    ]
    groups = {E1: [0, 1, 2, 3, 4], E2: [5, 6, 7], E3: [8, 9, 10, 11]}
    load(db, rows, groups)
    survive(db, SurvivorshipConfig(), "r1")
    first = {t: db.table(t) for t in ("golden_records", "golden_provenance", "crosswalk", "golden_conflicts")}
    GoldenRecords.validate(first["golden_records"], lazy=True)
    GoldenProvenance.validate(first["golden_provenance"], lazy=True)
    # Same records in another physical order: the same outputs.
    db.write("std_records", std_frame(rows[::-1]))
    db.write("entities", entities_frame(groups).reverse())
    survive(db, SurvivorshipConfig(), "r1")
    for table, frame in first.items():
        assert db.table(table).equals(frame), table
    assert first["golden_records"]["entity_id"].to_list() == [E1, E2, E3]


def test_record_without_entity_fails_loudly(db: Database) -> None:
    load(db, [std_row(0, name="甲"), std_row(1, name="乙")], {E1: [0]})
    with pytest.raises(ConservationError, match="1 records without an entity"):
        survive(db, SurvivorshipConfig(), "r1")


def test_stale_tables_of_another_run_are_refused(db: Database) -> None:
    load(db, [std_row(0, name="甲", run_id="r0")], {E1: [0]})
    with pytest.raises(StageError, match="holds run 'r0'"):
        survive(db, SurvivorshipConfig(), "r1")
    db.execute("DROP TABLE entities")
    with pytest.raises(StageError, match="entities is missing"):
        survive(db, SurvivorshipConfig(), "r0")


RULES = ["valid_first", "most_recent", "most_frequent", "most_complete", "source_priority"]
record = st.tuples(
    st.integers(0, 3),  # entity
    st.sampled_from(["13900000001", "13900000002", "01062345678", "0106234567", None]),  # phone
    st.sampled_from(["mobile", "landline", "placeholder", "invalid"]),  # phone_type
    st.sampled_from([OLD, MID, NEW, None]),  # updated_at
    st.sampled_from(["crm", "erp", "web"]),  # source
)


def reference_pick(rows: list[dict[str, Any]], rule: str, ranks: dict[str, int]) -> int | None:
    """The phone survivor by the documented order, written the slow obvious way: the winning rid."""
    usable = [r for r in rows if r["phone"] and r["phone_type"] in ("mobile", "landline")]
    if not usable:
        return None

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        freq = sum(o["phone"] == r["phone"] for o in usable)
        recent = (0, -r["updated_at"].timestamp()) if r["updated_at"] else (1, 0)
        primary = {
            "valid_first": (0 if r["phone_type"] == "mobile" else 1,),
            "most_recent": recent,
            "most_frequent": (0,),
            "most_complete": (-len(r["phone"]),),
            "source_priority": (ranks[r["source"]],),
        }[rule]
        return (*primary, -freq, *recent, ranks[r["source"]], r["rid"])

    return min(usable, key=key)["rid"]


@settings(max_examples=40, deadline=None)
@given(st.lists(record, min_size=1, max_size=12), st.sampled_from(RULES), st.permutations(["web", "crm"]))
def test_every_rule_matches_a_reference_ranking(records: list[tuple], rule: str, priority: list[str]) -> None:
    rows = [
        std_row(i, phone=phone, phone_type=kind, updated_at=when, source=source)
        for i, (_, phone, kind, when, source) in enumerate(records)
    ]
    groups: dict[str, list[int]] = {}
    for i, (entity, *_) in enumerate(records):
        groups.setdefault(f"E{entity:012d}", []).append(i)
    ranks = source_ranks(priority, ["crm", "erp", "web"])
    with Database() as db:
        load(db, rows, groups)
        survive(db, SurvivorshipConfig(rules={"phone": rule}, source_priority=priority), "r1")
        picked = dict(db.fetchall("SELECT entity_id, rid FROM golden_provenance WHERE field = 'phone'"))
        assert db.count("golden_records") == len(groups)
    for entity, rids in groups.items():
        assert picked.get(entity) == reference_pick([rows[i] for i in rids], rule, ranks), entity
