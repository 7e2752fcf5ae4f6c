"""Comparisons: the right level on hand-made pairs; symmetric and bounded on generated ones."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matching_data import frame, id_number

from hanlink.block import match_values_sql
from hanlink.compare import COMPARISONS, compare, comparison, comparison_sql, register_functions
from hanlink.db import Database
from hanlink.errors import StageError
from schemas.pairs import PairsCompared

ID = id_number("110105", date(1990, 3, 5), 123)
ID_TYPO = ID[:15] + str((int(ID[15]) + 1) % 10) + ID[16:]          # one digit off: checksum error
ID_SIBLING = id_number("110105", date(1990, 3, 5), 125)              # same region + birth date

CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("name", {"name": "张伟"}, {"name": "张伟"}, "exact"),
    ("name", {"name": "张伟"}, {"name": "張偉"}, "pinyin"),             # traditional, same pinyin
    ("name", {"name": "张伟"}, {"name": "张玮"}, "pinyin"),             # homophone
    ("name", {"name": "张伟"}, {"name": "Wei Zhang"}, "name_key"),      # romanized, given name first
    ("name", {"name": "张伟"}, {"name": "张文"}, "jw_0.92"),            # zhang wei / zhang wen
    ("name", {"name": "张伟"}, {"name": "张强"}, "jw_0.80"),            # zhang wei / zhang qiang
    ("name", {"name": "张伟", "name_pinyin": None, "surname": "张"},
     {"name": "张三丰", "name_pinyin": None, "surname": "张"}, "surname"),
    ("name", {"name": "张伟"}, {"name": "李娜"}, "else"),
    # Look-alike characters (形近字) and a name with one character left out.
    ("name", {"name": "王小明"}, {"name": "玉小明"}, "shape"),                 # wang / yu
    ("name", {"name": "张未"}, {"name": "张末"}, "shape"),                     # wei / mo
    ("name", {"name": "张伟"}, {"name": "张伟明"}, "one_char_missing"),
    ("name", {"name": "欧阳娜娜"}, {"name": "欧阳娜"}, "one_char_missing"),
    ("name", {"name": "张明"}, {"name": "张伟明"}, "one_char_missing"),        # left out in the middle
    ("name", {"name": "张伟"}, {"name": "张伟明伟"}, "jw_0.80"),               # two left out: not this level
    # Latin names: a shared given name is not a close name; a half-read pinyin is not the pinyin.
    ("name", {"name": "frank carter"}, {"name": "frank parker"}, "one_token"),
    ("name", {"name": "Bill Lloyd"}, {"name": "William Loyd"}, "nickname"),       # a short form, a typo
    ("name", {"name": "Bill Lloyd"}, {"name": "William Floyd"}, "else"),          # another family name
    ("name", {"name": "bianca mccarthy", "name_pinyin": "bian ca", "name_key": "bian ca"},
     {"name": "bianca mccamrthy", "name_pinyin": "bian ca", "name_key": "bian ca"}, "jw_0.92"),
    ("name", {"name": "zhangwei", "name_pinyin": "zhang wei"}, {"name": "zhang wei"}, "pinyin"),
    ("name", {"name": "johnsmith"}, {"name": "john smith"}, "jw_0.92"),
    ("name", {"name": "张伟"}, {"name": "测试", "name_type": "junk"}, "null"),
    ("phone", {"phone": "13812345678"}, {"phone": "13812345678"}, "exact"),
    ("phone", {"phone": "13812345678"}, {"phone": "13812345679"}, "one_edit"),   # one digit off
    ("phone", {"phone": "13812345678"}, {"phone": "13812345687"}, "one_edit"),   # two digits swapped
    ("phone", {"phone": "13812345678"}, {"phone": "13912345679"}, "else"),
    ("phone", {"phone": "13812345678"}, {"phone": "13800138000"}, "null"),       # placeholder
    ("phone", {"phone": "13812345678"}, {"phone": "01062345678"}, "null"),       # a landline
    ("landline", {"landline": "01062345678"}, {"phone": "01062345678"}, "exact"),
    ("landline", {"landline": "01062345678"}, {"landline": "01062345679"}, "else"),
    ("id_number", {"id_number": ID}, {"id_number": ID}, "exact"),
    ("id_number", {"id_number": ID}, {"id_number": ID_TYPO}, "one_edit"),
    ("id_number", {"id_number": ID}, {"id_number": ID_SIBLING}, "birth_region"),
    ("id_number", {"id_number": ID}, {"id_number": id_number("310104", date(1990, 3, 5), 123)}, "else"),
    ("id_number", {"id_number": ID}, {"id_number": "110101199001011234"}, "null"),   # placeholder
    ("email", {"email": "zhangwei@163.com"}, {"email": "zhangwei@163.com"}, "exact"),
    ("email", {"email": "zhangwei@163.com"}, {"email": "zhangwei@qq.com"}, "local_jw_0.90"),
    ("email", {"email": "zhangwei@163.com"}, {"email": "lina88@qq.com"}, "else"),
    ("email", {"email": "zhangwei@163.com"}, {"email": "test@test.com"}, "null"),   # not a valid email
    ("birth_date", {"birth_date": date(1990, 3, 5)}, {"birth_date": date(1990, 3, 5)}, "exact"),
    ("birth_date", {"birth_date": date(1990, 3, 5)}, {"birth_date": date(1990, 5, 3)}, "one_part"),
    ("birth_date", {"birth_date": date(1990, 3, 5)}, {"birth_date": date(1991, 3, 5)}, "one_part"),
    ("birth_date", {"birth_date": date(1990, 3, 5)}, {"birth_date": date(1985, 7, 1)}, "else"),
    ("birth_date", {"birth_date": date(1990, 3, 5)}, {"id_number": ID}, "exact"),   # from the ID
    ("gender", {"gender": "M"}, {"id_number": ID}, "exact"),                        # 123: odd = male
    ("gender", {"gender": "M"}, {"gender": "F"}, "else"),
    ("address", {"city": "北京市", "district": "朝阳区", "address_detail": "建设路12号3栋"},
     {"city": "北京市", "district": "朝阳区", "address_detail": "建设路12号5栋"}, "district_detail"),
    ("address", {"city": "北京市", "district": "朝阳区", "address_detail": "建设路12号3栋"},
     {"city": "北京市", "district": "朝阳区", "address_detail": "人民路8号"}, "district"),
    ("address", {"city": "北京市", "district": "朝阳区"}, {"city": "长春市", "district": "朝阳区"}, "else"),
    ("address", {"city": "北京市", "district": "朝阳区"}, {"city": "北京市", "district": "海淀区"}, "city"),
    ("address", {"city": "北京市", "district": "朝阳区"}, {"address_detail": "建设路12号"}, "null"),
    # Names in Latin letters: tokens in any order, typos, one shared token; Chinese names never get there.
    ("name", {"name": "Thomas Chudleigh"}, {"name": "Chudleigh, Thomas"}, "tokens"),
    ("name", {"name": "mitchell richmond"}, {"name": "mithcell richmond"}, "jw_0.92"),
    ("name", {"name": "adam eveston"}, {"name": "travis eveston"}, "one_token"),
    ("name", {"name": "talia stubbs"}, {"name": "nicholas hope"}, "else"),
    ("name", {"name": "张伟", "surname": "张"}, {"name": "张三丰", "name_pinyin": "zzz", "surname": "李"},
     "else"),
    ("other_id", {"id_number_raw": "1804974", "id_status": "malformed"},
     {"id_number_raw": "1804-974", "id_status": "malformed"}, "exact"),
    ("other_id", {"id_number_raw": "1804974", "id_status": "malformed"},
     {"id_number_raw": "1804975", "id_status": "malformed"}, "one_edit"),
    ("other_id", {"id_number_raw": "1804974", "id_status": "malformed"},
     {"id_number_raw": "1111111", "id_status": "malformed"}, "null"),           # one repeated digit
    ("other_id", {"id_number_raw": "1804974", "id_status": "malformed"}, {"id_number": ID}, "null"),
    ("birth_date", {"birth_date": date(2012, 10, 1)}, {"birth_date": date(2012, 9, 30)}, "within_31_days"),
    ("birth_date", {"birth_date": date(1977, 1, 29)}, {"birth_date": date(1987, 1, 28)}, "two_digits"),
    ("birth_date", {"birth_date_raw": "1630-08-01"}, {"birth_date_raw": "16300801"}, "exact"),  # pre-1900
    # Dates that don't parse count by their typed digits when close, and as no evidence otherwise.
    ("birth_date", {"birth_date_raw": "1856-86-18"}, {"birth_date": date(1856, 6, 18)}, "one_part"),  # typo
    ("birth_date", {"birth_date_raw": "1856-86-18"}, {"birth_date_raw": "1856-86-18"}, "exact"),
    ("birth_date", {"birth_date_raw": "2003-04-31"}, {"birth_date": date(2003, 11, 24)}, "null"),
    ("birth_date", {"birth_date_raw": "31/04/2003"}, {"birth_date": date(2003, 4, 30)}, "null"),
    ("address_text", {"address_raw": "devon tq13 8df"}, {"address_raw": "Devon TQ13 8DF"}, "exact"),
    ("address_text", {"address_raw": "38 wentworth house, 6148 nsw"},
     {"address_raw": "38 fidge street wentworth house, blair athol 6148 nsw"}, "tokens_0.90"),
    ("address_text", {"address_raw": "devon tq13 8df"}, {"address_raw": "tq13 8df redruth and camborne"},
     "postcode"),
    # A UK postcode is both its parts: the inward code alone ("8df") is shared across the country.
    ("address_text", {"address_raw": "devon tq13 8df"}, {"address_raw": "cornwall pl14 8df"}, "else"),
    ("address_text", {"address_raw": "devon tq13 8df"}, {"address_raw": "london"}, "else"),
    # The same postal district (outward code), another street: a place, as a Chinese district is.
    ("address_text", {"address_raw": "alderley edge sk9 7hx"}, {"address_raw": "cheshire east sk9 7hz"},
     "outward"),
    ("address_text", {"address_raw": "sw1a 1aa, london"}, {"address_raw": "westminster sw1a 2bb"}, "outward"),
    # Numbers that aren't a UK postcode don't make one: Australian postcodes, house numbers.
    ("address_text", {"address_raw": "12 kent st, 2602 act"}, {"address_raw": "9 hill rd, 2612 act"}, "else"),
    ("address_text", {"address_raw": "flat 12 3 high st"}, {"address_raw": "birmingham 14 3"}, "else"),
    ("address_text", {"address_raw": "devon tq13 8df", "city": "北京市"}, {"address_raw": "devon tq13 8df"},
     "null"),                                                                   # a Chinese address
]


def _levels(db: Database, cases: list[tuple[str, dict[str, Any], dict[str, Any], str]]) -> list[str]:
    """Run compare on one pair per case; the label of the case's comparison for each."""
    people = [p for _, left, right, _ in cases for p in (left, right)]
    db.write("std_records", frame(*people))
    n = len(cases)
    db.write("pairs_candidate", pl.DataFrame({"rid_l": [2 * i for i in range(n)],
                                              "rid_r": [2 * i + 1 for i in range(n)], "rules": ["test"] * n}))
    compare(db)
    out = db.table("pairs_compared").sort("rid_l")
    labels = []
    for (name, *_), row in zip(cases, out.iter_rows(named=True), strict=True):
        level = row[f"g_{name}"]
        labels.append("null" if level == -1 else comparison(name).levels[level].label)
    return labels


def test_levels_on_hand_made_pairs(db: Database) -> None:
    assert _levels(db, CASES) == [expected for *_, expected in CASES]
    PairsCompared.validate(db.table("pairs_compared"), lazy=True)


def test_a_missing_value_is_null_not_disagreement(db: Database) -> None:
    db.write("std_records", frame({"name": "张伟"}, {"name": "张伟", "phone": "13812345678"}))
    db.write("pairs_candidate", pl.DataFrame({"rid_l": [0], "rid_r": [1], "rules": ["test"]}))
    compare(db)
    row = db.table("pairs_compared").row(0, named=True)
    assert row["g_name"] == 0
    assert all(row[c.column] == -1 for c in COMPARISONS if c.name != "name")


def test_compare_without_candidates_names_the_missing_table(db: Database) -> None:
    db.write("std_records", frame({"name": "张伟"}))
    with pytest.raises(StageError, match="pairs_candidate"):
        compare(db)


_HANZI = st.text(alphabet="张王玉李伟娜芳強强偉欧阳未末", min_size=1, max_size=4)
_SYLLABLES = st.sampled_from(["zhang", "wei", "li", "na", "wang", "fang"])
_ROMAN = st.lists(_SYLLABLES, min_size=1, max_size=3).map(" ".join)
_DIGITS = st.text(alphabet="0123456789", min_size=11, max_size=11).map(lambda s: "1" + s[1:])
_PERSON = st.fixed_dictionaries({}, optional={
    "name": st.one_of(_HANZI, _ROMAN,
                      st.sampled_from(["John Smith", "Smith John", "Jon Smyth", "Mary Smith"])),
    "id_number_raw": st.sampled_from(["1804974", "1804975", "A1234567"]),
    "address_raw": st.sampled_from(["devon tq13 8df", "west devon tq13 8df", "38 high street, 6148 nsw"]),
    "phone": _DIGITS,
    "landline": st.sampled_from(["01062345678", "02187654321"]),
    "id_number": st.sampled_from([ID, ID_TYPO, ID_SIBLING, "110101199001011234"]),
    "email": st.sampled_from(["zhangwei@163.com", "zhangwe1@qq.com", "lina@qq.com"]),
    "birth_date": st.dates(date(1990, 1, 1), date(1990, 12, 31)),
    "birth_date_raw": st.sampled_from(["1990-13-45", "1990-03-05", "1990-86-05", "05/13/1990"]),
    "gender": st.sampled_from(["M", "F"]),
    "city": st.sampled_from(["北京市", "上海市"]),
    "district": st.sampled_from(["朝阳区", "海淀区"]),
    "address_detail": st.sampled_from(["建设路12号", "建设路13号", "人民路1号"]),
})


@settings(max_examples=40, deadline=None)
@given(people=st.lists(_PERSON, min_size=2, max_size=6))
def test_comparisons_are_symmetric_and_bounded(people: list[dict[str, Any]]) -> None:
    with Database() as db:
        db.write("std_records", frame(*people))
        register_functions(db)
        n = len(people)
        pairs = (f"(SELECT a.range AS rid_l, b.range AS rid_r FROM range({n}) a, range({n}) b "
                 "WHERE a.range <> b.range)")
        out = db.query(comparison_sql(pairs, f"({match_values_sql()})"))
    forward = out.filter(pl.col("rid_l") < pl.col("rid_r")).sort("rid_l", "rid_r")
    backward = (out.filter(pl.col("rid_l") > pl.col("rid_r"))
                .rename({"rid_l": "rid_r", "rid_r": "rid_l"}).select(forward.columns).sort("rid_l", "rid_r"))
    assert forward.equals(backward)
    for c in COMPARISONS:
        assert out[c.column].is_between(-1, len(c.levels) - 1).all(), c.name
