"""Blocking: rules unioned and de-duplicated, oversized blocks kept out and reported, estimates exact."""

from __future__ import annotations

from datetime import date

import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matching_data import frame, synthetic_std_records

from hanlink.block import BLOCKING_STATS, block, estimate, soundex
from hanlink.config import BlockingConfig
from hanlink.db import Database
from hanlink.errors import StageError
from schemas.pairs import PairsBlockingStats, PairsCandidate


def _stats(db: Database) -> dict[str, dict[str, int]]:
    return {r["rule"]: r for r in db.table(BLOCKING_STATS).iter_rows(named=True)}


def test_value_shared_by_300_records_is_not_blocked_on_and_is_reported(db: Database) -> None:
    filler = [{"name": f"客户{i}", "phone": "13912345678"} for i in range(300)]   # typed in as a filler
    couple = [{"name": "李娜", "phone": "13712345678"}, {"name": "李娜", "phone": "13712345678"}]
    db.write("std_records", frame(*filler, *couple))
    out = block(db, BlockingConfig(rules=[["phone"]], max_block_size=100))

    assert db.fetchall("SELECT rid_l, rid_r, rules FROM pairs_candidate") == [(300, 301, "phone")]
    stats = _stats(db)["phone"]
    assert stats["excluded_values"] == 1 and stats["excluded_records"] == 300
    assert stats["largest_block"] == 300 and stats["largest_kept_block"] == 2
    assert stats["uncapped_pairs"] == 300 * 299 // 2 + 1 and stats["estimated_pairs"] == 1
    assert out["excluded_values"] == 1
    assert any("300 records" in w["message_en"] for w in out["warnings"])
    PairsBlockingStats.validate(db.table(BLOCKING_STATS), lazy=True)


def test_recognized_placeholders_and_invalid_values_never_block(db: Database) -> None:
    db.write("std_records", frame(
        {"name": "王芳", "phone": "13800138000", "id_number": "110101199001011234", "email": "test@test.com"},
        {"name": "赵强", "phone": "13800138000", "id_number": "110101199001011234", "email": "test@test.com"},
        {"name": "周杰", "phone": "01062345678", "phone_type": "landline"},
        {"name": "吴敏", "phone": "01062345678", "phone_type": "landline"}))
    out = block(db, BlockingConfig(rules=[["phone"], ["id_number"], ["email"]]))
    assert out["pairs"] == 0
    assert all(r["largest_block"] == 0 for r in _stats(db).values())


def test_union_keeps_each_pair_once_with_every_rule_that_found_it(db: Database) -> None:
    db.write("std_records", frame(
        {"name": "张伟", "phone": "13812345678", "email": "zw@163.com", "district": "朝阳区"},
        {"name": "张伟", "phone": "13812345678", "email": "zw@163.com", "district": "朝阳区"},
        {"name": "张伟", "phone": "13900001111", "district": "朝阳区"},
        {"name": "刘洋", "email": "zw@163.com"}))
    out = block(db, BlockingConfig(rules=[["phone"], ["email"], ["name_key", "district"]]))
    rows = db.fetchall("SELECT rid_l, rid_r, rules FROM pairs_candidate ORDER BY ALL")
    assert rows == [(0, 1, "phone;email;name_key+district"), (0, 2, "name_key+district"),
                    (0, 3, "email"), (1, 2, "name_key+district"), (1, 3, "email")]
    assert out["pairs_before_dedup"] == 1 + 3 + 3 and out["pairs"] == 5
    PairsCandidate.validate(db.table("pairs_candidate"), lazy=True)


def test_estimates_equal_actual_pair_counts(db: Database) -> None:
    db.write("std_records", synthetic_std_records(400, seed=3))
    cfg = BlockingConfig(max_block_size=5)
    before = {r["rule"]: r["estimated_pairs"] for r in estimate(db, cfg)["rules"]}
    assert not db.has_table("pairs_candidate")                               # nothing made, nothing left
    assert db.scalar("SELECT count(*) FROM duckdb_tables() WHERE starts_with(table_name, '_blk')") == 0
    block(db, cfg)
    stats = _stats(db)
    assert len(stats) == len(cfg.rules)
    for rule, row in stats.items():
        assert before[rule] == row["estimated_pairs"] == row["actual_pairs"], rule
    assert sum(r["actual_pairs"] for r in stats.values()) >= db.count("pairs_candidate") > 0
    assert any(r["excluded_values"] for r in stats.values())   # 5 is small: common names get capped


def test_exploding_rule_is_warned_about(db: Database) -> None:
    db.write("std_records", frame(*({"name": "张伟", "district": "朝阳区"} for _ in range(60))))
    out = block(db, BlockingConfig(rules=[["name_key", "district"]], max_block_size=1000))
    assert out["pairs"] == 60 * 59 // 2
    assert any("too many" in w["message_en"] for w in out["warnings"])


def test_block_without_std_records_names_the_missing_table(db: Database) -> None:
    with pytest.raises(StageError, match="std_records"):
        block(db, BlockingConfig())


def test_pairs_contract_rejects_reversed_and_repeated_pairs() -> None:
    bad = pl.DataFrame({"rid_l": [2, 1, 1], "rid_r": [1, 3, 3], "rules": ["phone"] * 3})
    with pytest.raises(pa.errors.SchemaErrors) as err:
        PairsCandidate.validate(bad, lazy=True)
    assert sorted(err.value.failure_cases["check"].to_list()) == [
        "each_pair_once", "each_pair_once", "left_is_smaller"]


# Soundex codes from the standard's definition (the US National Archives' examples) and common surnames.
SOUNDEX = {"robert": "r163", "rupert": "r163", "rubin": "r150", "ashcraft": "a261", "ashcroft": "a261",
           "tymczak": "t522", "pfister": "p236", "honeyman": "h555", "lee": "l000", "fraser": "f626",
           "frazer": "f626", "o'brien": "o165", "abb4yson": "a125", "": None}


def test_soundex_sql_gives_the_standard_codes() -> None:
    with Database() as db:
        for word, code in SOUNDEX.items():
            assert db.scalar(f"SELECT {soundex('w')} FROM (SELECT ?::VARCHAR AS w)", [word]) == code, word


@settings(max_examples=60, deadline=None)
@given(words=st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz'- ", max_size=12), min_size=1,
                      max_size=20))
def test_soundex_sql_agrees_with_jellyfish(words: list[str]) -> None:
    import jellyfish
    with Database() as db:
        got = db.fetchall(f"SELECT {soundex('w')} FROM (SELECT unnest(?::VARCHAR[]) AS w)", [words])
    for word, (code,) in zip(words, got, strict=True):
        letters = "".join(c for c in word if c.isalpha())
        assert code == (jellyfish.soundex(letters).lower() if letters else None), word


def test_spelling_variants_one_word_names_and_broken_dates_still_meet(db: Database) -> None:
    """Default rules: Soundex of the family name + birth year, a one-word name as given or family name,
    the year of a date that doesn't parse, the full form of a short given name."""
    db.write("std_records", frame(
        {"name": "James Frazer", "birth_date": date(1854, 1, 1)},
        {"name": "Jim Fraser", "birth_date_raw": "1854-13-01"},                 # variant, broken date
        {"name": "Terrick Hamilton", "birth_date": date(1781, 9, 25)},
        {"name": "Terrick", "birth_date": date(1781, 9, 25)},                   # one word: the given name
        {"name": "Mary Fraser", "birth_date": date(1901, 5, 5)},                # another year
        {"name": "Peggy Nevison"}, {"name": "Margaret Nevison"}))               # a short given name
    block(db, BlockingConfig())
    pairs = {(lo, hi) for lo, hi, _ in db.fetchall("SELECT * FROM pairs_candidate")}
    assert {(0, 1), (2, 3), (5, 6)} <= pairs
    assert not {(0, 4), (1, 4)} & pairs
