"""Addresses: 北京市朝阳区 / 北京朝阳区 / 朝阳区 + city 北京 agree, ambiguous districts, columns vs text,
detail normalization, properties."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hanlink.standardize.addresses import standardize_addresses
from hanlink.standardize.lookups import divisions

CASES = json.loads((Path(__file__).parent / "cases" / "standardize" / "addresses.json").read_text("utf-8"))
INPUTS = ("address_raw", "province_raw", "city_raw", "district_raw")
ADDRESSY = st.text(alphabet=st.sampled_from(list("北京市朝阳区吉林省长春上海南京东路中国海淀#号12３ 仙桃")),
                   max_size=16)


def frame(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame([{c: r.get(c) for c in INPUTS} for r in rows],
                        schema=dict.fromkeys(INPUTS, pl.String))


@pytest.fixture(scope="module")
def golden() -> list[dict[str, object]]:
    """The golden addresses standardized in one call."""
    return standardize_addresses(frame(CASES)).to_dicts()


@pytest.mark.parametrize("i", range(len(CASES)), ids=[repr(c["address_raw"]) for c in CASES])
def test_golden_case(golden: list[dict[str, object]], i: int) -> None:
    case, out = CASES[i], golden[i]
    for key, want in case.items():
        if key not in INPUTS:
            assert out[key] == want, f"{case}: {key} = {out[key]!r}, want {want!r}"


def test_three_spellings_of_one_address_agree() -> None:
    out = standardize_addresses(frame([
        {"address_raw": "北京市朝阳区建国路88号"}, {"address_raw": "北京朝阳区建国路88号"},
        {"address_raw": "朝阳区建国路88号", "city_raw": "北京"}]))
    assert out.n_unique() == 1
    assert out.row(0, named=True)["province"] == "北京市"


def test_ambiguous_district_follows_the_known_city() -> None:
    out = standardize_addresses(frame([
        {"address_raw": "朝阳区人民大街1号", "city_raw": "长春"},
        {"address_raw": "朝阳区人民大街1号", "city_raw": "北京市"},
        {"address_raw": "朝阳区人民大街1号"}]))
    assert out["city"].to_list() == ["长春市", "北京市", None]
    assert out["district"].to_list() == ["朝阳区"] * 3
    assert out["address_issue"].to_list() == [None, None, "address.ambiguous"]


def test_every_current_district_is_recognised_with_its_parents() -> None:
    """Full names of all ~2,800 county-level divisions, written province + city + district."""
    d = divisions().filter(pl.col("level") == 3)
    text = pl.concat_str([pl.col("province"),
                          pl.when(pl.col("city") != pl.col("province")).then(pl.col("city")),
                          pl.when(pl.col("district") != pl.col("city")).then(pl.col("district")),
                          pl.lit("幸福路1号")], ignore_nulls=True)
    out = standardize_addresses(d.select(address_raw=text))
    got = pl.concat([d.select("province", "city", "district"), out.select(
        p="province", c="city", dd="district", detail="address_detail")], how="horizontal")
    wrong = got.filter((pl.col("p") != pl.col("province")) | (pl.col("c") != pl.col("city"))
                       | (pl.col("dd") != pl.col("district")) | (pl.col("detail") != "幸福路1号"))
    assert wrong.height == 0, wrong.head(10)


@given(st.lists(st.text(max_size=30) | ADDRESSY, max_size=20))
@settings(max_examples=40, deadline=None)
def test_never_crashes_and_is_idempotent(values: list[str]) -> None:
    out = standardize_addresses(pl.DataFrame({"address_raw": values}, schema={"address_raw": pl.String}))
    assert out.height == len(values)
    again = standardize_addresses(out.select(address_raw="address"))
    assert again["address"].to_list() == out["address"].to_list()
    assert again["district"].to_list() == out["district"].to_list()
