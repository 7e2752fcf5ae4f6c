"""Blocking keys for Latin names, foreign addresses and birth days (issue 4, public data), on real DuckDB."""

from __future__ import annotations

from datetime import date
from typing import Any

from matching_data import frame, synthetic_std_records

from hanlink.block import block, match_values_sql
from hanlink.config import BlockingConfig
from hanlink.db import Database


def _values(db: Database, column: str, *people: dict[str, Any]) -> list[Any]:
    """One MATCH_VALUES column for hand-made records, in rid order."""
    db.write("std_records", frame(*people))
    return db.query(match_values_sql(columns=[column]) + " ORDER BY rid")[column].to_list()


def test_address_place_keeps_the_words_of_a_foreign_address(db: Database) -> None:
    got = _values(db, "address_place",
                  {"address_raw": "12 Downing Street WC2H 9EP"}, {"address_raw": "taverham nr8 6xp"},
                  {"address_raw": "Taverham"}, {"address_raw": "sa4 0fl"},
                  {"address_raw": "Zürich-Oerlikon 8050"},
                  {"address_raw": "朝阳区建国路88号", "city": "北京市", "district": "朝阳区"}, {})
    assert got == ["downing street", "taverham", "taverham", None, "zurich oerlikon", None, None]


def test_birth_md_leaves_out_year_only_dates(db: Database) -> None:
    got = _values(db, "birth_md", {"birth_date": date(1850, 3, 5)}, {"birth_date": date(1850, 1, 1)},
                  {"birth_date_raw": "1856-86-18"}, {})
    assert got == ["0305", None, None, None]


def test_name_first_variant_maps_other_languages_and_short_forms(db: Database) -> None:
    got = _values(db, "name_first_variant", {"name": "Iain Smith"}, {"name": "Gwilym Jones"},
                  {"name": "Bill Lloyd"}, {"name": "Archie Barr"}, {"name": "Jean Smith"}, {"name": "张伟"})
    assert got == ["john", "william", "william", "archibald", "jean", None]


def test_town_without_postcode_is_blocked_with_the_family_name(db: Database) -> None:
    db.write("std_records", frame(
        {"name": "harry forest", "address_raw": "taverham nr8 6xp"},
        {"name": "h. forrest", "address_raw": "Taverham"},
        {"name": "harry forest", "address_raw": "norwich nr8 6xp"},     # another town
        {"name": "mary smith", "address_raw": "taverham"}))              # another family name
    block(db, BlockingConfig(rules=[["name_last_sdx", "address_place"]]))
    assert db.fetchall("SELECT rid_l, rid_r, rules FROM pairs_candidate") == [
        (0, 1, "name_last_sdx+address_place")]


def test_full_uk_postcode_and_variant_and_birth_day_rules(db: Database) -> None:
    db.write("std_records", frame(
        {"name": "ian pocknee", "address_raw": "islington n1 8ap", "birth_date": date(1850, 1, 3)},
        {"name": "john pocknee", "address_raw": "n1 8ap", "birth_date": date(1860, 1, 3)},
        {"name": "pocknee", "address_raw": "2602 act", "birth_date": date(1793, 1, 3)},
        {"name": "ann pocknee", "address_raw": "2602 act", "birth_date": date(1850, 1, 1)},
        {"name": "john pocknee", "birth_date": date(1788, 1, 1)}))
    block(db, BlockingConfig(rules=[["address_outward", "address_post"],
                                    ["name_first_variant", "name_last_sdx"], ["name_last_sdx", "birth_md"]]))
    rows = dict(((a, b), r) for a, b, r in db.fetchall("SELECT rid_l, rid_r, rules FROM pairs_candidate"))
    # 0/1 share a UK postcode, a given name in two languages and the birth day; 2/3 share only an
    # Australian postcode (not a UK one) and 01-01 is no birth day: neither blocks.
    assert rows[(0, 1)] == ("address_outward+address_post;name_first_variant+name_last_sdx;"
                            "name_last_sdx+birth_md")
    assert rows[(0, 4)] == rows[(1, 4)] == "name_first_variant+name_last_sdx"
    assert (2, 3) not in rows and rows[(0, 2)] == rows[(1, 2)] == "name_last_sdx+birth_md"
    assert len(rows) == 5


def test_new_default_rules_make_no_pairs_on_chinese_records(db: Database) -> None:
    db.write("std_records", synthetic_std_records(400, seed=3).drop("true_person"))
    block(db, BlockingConfig())
    latin = ("address_place", "birth_md", "name_first_variant", "address_outward+address_post")
    stats = db.fetchall("SELECT rule, actual_pairs FROM pairs_blocking_stats")
    assert stats and all(n == 0 for rule, n in stats if any(k in rule for k in latin))
