"""Names: golden hard cases (surname readings, romanized order, traditional, compound), properties."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from golden_cases import check_case
from hypothesis import given, settings
from hypothesis import strategies as st
from pypinyin import lazy_pinyin

from hanlink.standardize.names import standardize_names
from hanlink.standardize.romanized import parse_romanized, segment
from schemas.std_records import NAME_TYPES

CASES = json.loads((Path(__file__).parent / "cases" / "standardize" / "names.json").read_text("utf-8"))
NAMEY = st.text(alphabet=st.sampled_from(list("张王李欧阳司马曾单區張偉娜·.,- '（）ZHANGWeizhang测试公司")),
                max_size=10)


@pytest.fixture(scope="module")
def golden() -> list[dict[str, object]]:
    """The golden raw names standardized together (work is per distinct value, so batch them)."""
    return standardize_names(pl.Series([c["raw"] for c in CASES], dtype=pl.String)).to_dicts()


@pytest.mark.parametrize("i", range(len(CASES)), ids=[repr(c["raw"]) for c in CASES])
def test_golden_case(golden: list[dict[str, object]], i: int) -> None:
    check_case(CASES[i], golden[i])


def test_every_spelling_of_zhang_wei_shares_the_hanzi_key() -> None:
    variants = ["张伟", "張偉", "Zhang Wei", "WEI ZHANG", "zhangwei", "ZHANG, Wei", "Wei Zhang", "ZHANG Wei"]
    keys = standardize_names(pl.Series(variants))["name_key"].to_list()
    assert keys[0] is not None
    assert keys == [keys[0]] * len(variants)
    assert standardize_names(pl.Series(["张薇"]))["name_key"][0] == keys[0]   # homophone: same key
    assert standardize_names(pl.Series(["王伟"]))["name_key"][0] != keys[0]


@pytest.mark.parametrize("surname, reading", [("曾", "zeng"), ("单", "shan"), ("仇", "qiu"), ("解", "xie"),
                                              ("区", "ou"), ("查", "zha"), ("朴", "piao"), ("乐", "yue")])
def test_surname_reading_overrides_the_common_reading(surname: str, reading: str) -> None:
    assert lazy_pinyin(surname)[0] != reading          # the library's reading is not the surname one
    out = standardize_names(pl.Series([surname + "明", "王" + surname]))
    assert out["surname_pinyin"][0] == reading
    assert out["given_pinyin"][1] == lazy_pinyin(surname)[0]   # in a given name: the common reading


def test_traditional_is_simplified_for_comparison_only() -> None:
    out = standardize_names(pl.Series(["張偉", "歐陽娜娜", "於明"]))
    assert out["name"].to_list() == ["张伟", "欧阳娜娜", "於明"]   # 於 is a surname of its own: kept
    assert out["surname"].to_list() == ["张", "欧阳", "於"]


def test_rows_keep_order_and_length_with_duplicates_and_nulls() -> None:
    values = ["张伟", None, "Zhang Wei", "张伟", "", "测试", None]
    out = standardize_names(pl.Series(values, dtype=pl.String))
    assert out.height == len(values)
    assert out["name_type"].to_list() == ["hanzi", "missing", "romanized", "hanzi", "missing", "junk",
                                          "missing"]
    assert out["name_issue"].to_list() == [None, None, None, None, None, "name.junk", None]


def test_segment_pinyin() -> None:
    assert segment("zhangwei") == ("zhang", "wei")
    assert segment("xian") == ("xian",)
    assert segment("nana") == ("na", "na")            # not nan-a: pinyin would write nan'a
    assert segment("ouyang") == ("ou", "yang")
    assert segment("lyu") == ("lv",)
    assert segment("smith") is None


@pytest.mark.parametrize("raw", ["bianca mccarthy", "julian smith", "Diana Ross", "sean dean", "Brian Lian",
                                 "Tina Turner", "Susan Li", "Anna"])
def test_western_names_stay_whole_words(raw: str) -> None:
    parsed = parse_romanized(raw)
    words = raw.lower().split()
    assert parsed["name"] == " ".join(words)
    # every word of the name is in its pinyin reading, none split into syllables
    assert sorted((parsed["name_pinyin"] or "").split()) == sorted(words)


@pytest.mark.parametrize(("raw", "pinyin"), [
    ("Zhang Wei", "zhang wei"), ("zhangwei", "zhang wei"), ("Wei Zhang", "zhang wei"),
    ("ZHANG Xiaoming", "zhang xiao ming"), ("Xiaoming", "xiao ming"), ("zhangweian", "zhang wei an"),
    ("Ouyang Nana", "ou yang na na"), ("Chan Tai Man", "chen tai man")])
def test_pinyin_names_still_split_into_syllables(raw: str, pinyin: str) -> None:
    assert parse_romanized(raw)["name_pinyin"] == pinyin


def test_run_on_first_word_keeps_the_rest_of_the_name() -> None:
    parsed = parse_romanized("Xiaoming Weiwei")          # no word is a surname alone
    assert parsed["surname"] == "xiao" and parsed["given_name"] == "ming wei wei"


def test_hk_spelling_keeps_every_reading() -> None:
    wong = parse_romanized("Wong Siu Ming")
    assert wong["surname"] == "wang" and wong["surname_alt"] == "wang;huang"
    assert parse_romanized("Cheung Ka Fai")["surname"] == "zhang"
    tang = parse_romanized("Tang Wei")                  # valid pinyin (唐): pinyin reading first
    assert tang["surname"] == "tang" and tang["surname_alt"] == "tang;deng"


@given(st.lists(st.text(max_size=12) | NAMEY, max_size=20))
@settings(max_examples=80, deadline=None)
def test_never_crashes_and_is_idempotent(values: list[str]) -> None:
    out = standardize_names(pl.Series(values, dtype=pl.String))
    assert out.height == len(values)
    assert set(out["name_type"].to_list()) <= set(NAME_TYPES)
    again = standardize_names(out["name"])
    assert again["name"].to_list() == out["name"].to_list()
    # keys too, except where a romanized name's case or comma said which word is the surname (lost
    # in the lower-case `name`)
    stable = out["name_type"].is_in(["hanzi", "company", "junk", "missing"])
    assert again.filter(stable)["name_key"].to_list() == out.filter(stable)["name_key"].to_list()
