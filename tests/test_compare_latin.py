"""Comparison levels for Latin names, typo'd birth dates and foreign addresses (issue 4, public data)."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from matching_data import frame

from hanlink.compare import compare, comparison
from hanlink.db import Database

CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    # Given names: the same name in another language, an initial, the same initial, a title or one word.
    ("name", {"name": "ian pocknee"}, {"name": "john pocknee"}, "variant"),
    ("name", {"name": "gwilym jones"}, {"name": "william jones"}, "variant"),
    ("name", {"name": "j. goodall"}, {"name": "john goodall"}, "initial"),
    ("name", {"name": "henry dobson"}, {"name": "harold dobson"}, "given_initial"),
    ("name", {"name": "pocknee"}, {"name": "john pocknee"}, "subset"),
    ("name", {"name": "john"}, {"name": "john pocknee"}, "subset_given"),
    ("name", {"name": "sir doyle"}, {"name": "arthur doyle"}, "subset_given"),     # a title for a given name
    ("name", {"name": "1st clay"}, {"name": "arthur clay"}, "subset_given"),       # an ordinal for one
    ("name", {"name": "archie barr"}, {"name": "archibald barr"}, "nickname"),  # short forms added
    ("name", {"name": "monty stowe"}, {"name": "montague stowe"}, "nickname"),
    # Not these levels: a different family name, another given name with another initial.
    ("name", {"name": "ian pocknee"}, {"name": "john smith"}, "else"),
    ("name", {"name": "mary dobson"}, {"name": "john dobson"}, "one_token"),
    ("name", {"name": "j. goodall"}, {"name": "mary goodall"}, "one_token"),
    ("name", {"name": "jean smith"}, {"name": "john smith"}, "given_initial"),  # Jean: French John or Jane
    # Chinese names never reach the Latin levels.
    ("name", {"name": "张伟"}, {"name": "张强"}, "jw_0.80"),
    ("name", {"name": "张伟"}, {"name": "李娜"}, "else"),
    # Birth dates: one part mistyped is strong; two years-only one digit apart is its own, weaker level.
    ("birth_date", {"birth_date": date(1854, 1, 4)}, {"birth_date": date(1854, 1, 7)}, "one_part"),
    ("birth_date", {"birth_date": date(1860, 1, 3)}, {"birth_date": date(1850, 1, 3)}, "one_part"),
    ("birth_date", {"birth_date": date(1990, 3, 5)}, {"birth_date": date(1990, 5, 3)}, "one_part"),
    ("birth_date", {"birth_date_raw": "1862-71-17"}, {"birth_date_raw": "1862-11-17"}, "one_part"),
    ("birth_date", {"birth_date": date(1843, 1, 1)}, {"birth_date": date(1853, 1, 1)}, "year_one_digit"),
    # Same month and day, years apart: no longer "one part" (01-01 is shared by a tenth of random pairs).
    ("birth_date", {"birth_date": date(1801, 1, 1)}, {"birth_date": date(1766, 1, 1)}, "else"),
    ("birth_date", {"birth_date": date(1849, 4, 21)}, {"birth_date": date(1823, 4, 21)}, "two_digits"),
    # Foreign addresses: a town in one and only a postcode in the other say nothing about each other.
    ("address_text", {"address_raw": "harrow"}, {"address_raw": "ha3 7eh"}, "null"),
    ("address_text", {"address_raw": "taverham nr8 6xp"}, {"address_raw": "nr8 6xp"}, "tokens_0.90"),
    ("address_text", {"address_raw": "taverham nr8 6xp"}, {"address_raw": "taverham"}, "jw_0.90"),
    ("address_text", {"address_raw": "blois"}, {"address_raw": "france hg3 5bu"}, "else"),
]


def _labels(db: Database, cases: list[tuple[str, dict[str, Any], dict[str, Any], str]]) -> list[str]:
    """Compare one pair per case (rids 2i, 2i+1); the level label of the case's comparison."""
    db.write("std_records", frame(*[p for _, left, right, _ in cases for p in (left, right)]))
    n = len(cases)
    db.write("pairs_candidate", pl.DataFrame({"rid_l": [2 * i for i in range(n)],
                                              "rid_r": [2 * i + 1 for i in range(n)], "rules": ["test"] * n}))
    compare(db)
    rows = db.table("pairs_compared").sort("rid_l").iter_rows(named=True)
    out = []
    for (name, *_), row in zip(cases, rows, strict=True):
        level = row[f"g_{name}"]
        out.append("null" if level == -1 else comparison(name).levels[level].label)
    return out


def test_latin_name_date_and_address_levels(db: Database) -> None:
    assert _labels(db, CASES) == [expected for *_, expected in CASES]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}:{c[3]}")
def test_levels_are_symmetric(db: Database, case: tuple[str, dict[str, Any], dict[str, Any], str]) -> None:
    name, left, right, expected = case
    assert _labels(db, [(name, right, left, expected)]) == [expected]
