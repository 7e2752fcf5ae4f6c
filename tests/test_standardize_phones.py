"""Phones: golden formats (+86, 0086, full-width, extensions), placeholders, a cross-check with
Google's phonenumbers, and properties."""

from __future__ import annotations

import json
import random
from pathlib import Path

import phonenumbers
import polars as pl
import pytest
from golden_cases import check_case
from hypothesis import given, settings
from hypothesis import strategies as st

from hanlink.standardize.phones import standardize_phones
from schemas.std_records import PHONE_TYPES

CASES = json.loads((Path(__file__).parent / "cases" / "standardize" / "phones.json").read_text("utf-8"))
PHONEY = st.text(alphabet=st.sampled_from(list("0123456789１３８+- ()转分机ext.x#")), max_size=22)


@pytest.fixture(scope="module")
def golden() -> list[dict[str, object]]:
    """The golden raw phones standardized in one call."""
    return standardize_phones(pl.Series([c["raw"] for c in CASES], dtype=pl.String)).to_dicts()


@pytest.mark.parametrize("i", range(len(CASES)), ids=[repr(c["raw"]) for c in CASES])
def test_golden_case(golden: list[dict[str, object]], i: int) -> None:
    check_case(CASES[i], golden[i])


def test_landline_field_uses_its_own_names() -> None:
    out = standardize_phones(pl.Series(["010-62345678转8001", "12345678901", "62345"]), field="landline")
    assert out.columns == ["landline", "landline_type", "landline_ext", "landline_issue"]
    assert out["landline"].to_list() == ["01062345678", None, None]
    assert out["landline_ext"].to_list() == ["8001", None, None]
    assert out["landline_issue"].to_list() == [None, "landline.placeholder", "landline.malformed"]


def test_local_number_without_area_code_is_a_landline_only_in_a_landline_column() -> None:
    """People write their own landline without the area code: valid in its city, not malformed; in a
    mobile column the same digits stay invalid (more likely a mangled mobile)."""
    raw = pl.Series(["62345678", "2345678", "6234-5678", "623456", "02345678", "+86 62345678"])
    land = standardize_phones(raw, field="landline")
    assert land["landline"].to_list() == ["62345678", "2345678", "62345678", None, None, None]
    assert land["landline_type"].to_list()[:3] == ["landline"] * 3
    assert land["landline_issue"].to_list() == [None, None, None, "landline.malformed",
                                                "landline.malformed", "landline.malformed"]
    mob = standardize_phones(raw, field="phone")
    assert mob["phone"].to_list() == [None] * 6


@pytest.mark.parametrize("raw", ["+86 111 1111 1111", "+8611111111111", "8611111111111", "0086-12345678901",
                                 "(+86)123-4567-8901", "8612345678901", "+86 138 0013 8000"])
def test_placeholder_behind_a_country_prefix_is_still_a_placeholder(raw: str) -> None:
    out = standardize_phones(pl.Series([raw]))
    assert out["phone_issue"].to_list() == ["phone.placeholder"]


def test_country_prefix_keeps_landlines_and_mobiles_apart() -> None:
    out = standardize_phones(pl.Series(["+86 10 6234 5678", "+86 755 2345 6789", "8613912876544",
                                        "+86 139 1287 6544"]))
    assert out["phone"].to_list() == ["01062345678", "075523456789", "13912876544", "13912876544"]
    assert out["phone_type"].to_list() == ["landline", "landline", "mobile", "mobile"]


def test_agrees_with_phonenumbers_on_a_sample() -> None:
    """Every well-formed number phonenumbers calls a valid CN mobile or landline is mobile or landline
    here too. Our rules are deliberately broader (any 1[3-9] mobile prefix, 7 or 8 local digits in every
    area) and add placeholders, which phonenumbers accepts."""
    rng = random.Random(7)
    areas = ["10", "20", "21", "22", "23", "24", "25", "27", "28", "29", "311", "371", "431", "571", "755"]
    nums = []
    for _ in range(3000):
        if rng.random() < 0.5:
            nums.append("1" + rng.choice("3456789") + "".join(rng.choices("0123456789", k=9)))
        else:
            nums.append("0" + rng.choice(areas) + rng.choice("23456789")
                        + "".join(rng.choices("0123456789", k=rng.choice([6, 7]))))
    ours = standardize_phones(pl.Series(nums))["phone_type"].to_list()
    valid = [phonenumbers.is_valid_number(phonenumbers.parse(n, "CN")) for n in nums]
    disagree = [(n, t) for n, t, v in zip(nums, ours, valid, strict=True)
                if v and t not in ("mobile", "landline", "placeholder")]
    assert sum(valid) > 1000
    assert disagree == []
    assert phonenumbers.is_valid_number(phonenumbers.parse("13800138000", "CN"))   # why we keep a list
    assert standardize_phones(pl.Series(["13800138000"]))["phone_type"][0] == "placeholder"


@given(st.lists(st.text(max_size=20) | PHONEY, max_size=20))
@settings(max_examples=80, deadline=None)
def test_never_crashes_and_is_idempotent(values: list[str]) -> None:
    out = standardize_phones(pl.Series(values, dtype=pl.String))
    assert out.height == len(values)
    assert set(out["phone_type"].to_list()) <= set(PHONE_TYPES)
    assert out.filter(pl.col("phone").is_not_null())["phone_type"].is_in(["mobile", "landline"]).all()
    again = standardize_phones(out["phone"])
    assert again["phone"].to_list() == out["phone"].to_list()


def test_a_cell_with_several_numbers_does_not_change_the_other_rows() -> None:
    """Splitting a multi-number cell takes another road through the code: every other row must come out
    exactly as it does in a batch without such a cell."""
    raws = [c["raw"] for c in CASES if not any(sep in (c["raw"] or "") for sep in "/;；,，、|或")]
    alone = standardize_phones(pl.Series(raws, dtype=pl.String), field="landline")
    mixed = standardize_phones(pl.Series([*raws, "010-62345678/010-62345679"], dtype=pl.String),
                               field="landline")
    assert mixed.head(len(raws)).equals(alone)
    assert mixed.row(-1) == ("01062345678", "landline", None, "landline.multiple")


def test_all_numbers_unusable_keeps_the_first_ones_finding() -> None:
    out = standardize_phones(pl.Series(["13800138000/13900000000", "1391287654/1381234567"]))
    assert out["phone_type"].to_list() == ["placeholder", "invalid"]
    assert out["phone_issue"].to_list() == ["phone.placeholder", "phone.missing_digit"]
