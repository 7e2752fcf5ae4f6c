"""The header-mapping guesser: Chinese and English headers, conflicts, overrides, reading a file's headers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from hanlink.errors import ConfigError
from hanlink.fields import CANONICAL_FIELDS
from hanlink.mapping import FALLBACKS, SYNONYMS, apply_overrides, guess_for_file, guess_mapping, read_headers

CHINESE = [
    "客户编号",
    "姓名",
    "手机号",
    "座机",
    "身份证号",
    "邮箱",
    "详细地址",
    "省份",
    "城市",
    "区县",
    "出生日期",
    "性别",
    "更新时间",
    "备注",
]
ENGLISH = [
    "Customer_ID",
    "Full Name",
    "MOBILE",
    "landline",
    "ID_No",
    "E-mail",
    "addr",
    "province",
    "City",
    "county",
    "DOB",
    "sex",
    "Last Modified",
    "notes",
]


def test_every_synonym_alone_maps_to_its_field() -> None:
    for field, names in SYNONYMS.items():
        for name in names:
            assert guess_mapping([name]).fields == {field: name}, name


def test_chinese_headers() -> None:
    guess = guess_mapping(CHINESE)
    assert guess.fields == dict(zip(CANONICAL_FIELDS, CHINESE[:13], strict=True))
    assert guess.unmapped == ["备注"]


def test_english_headers_case_space_and_punctuation_insensitive() -> None:
    guess = guess_mapping(ENGLISH)
    assert guess.fields == dict(zip(CANONICAL_FIELDS, ENGLISH[:13], strict=True))
    assert guess.unmapped == ["notes"]


def test_full_width_and_decorated_headers() -> None:
    guess = guess_mapping(["ＮＡＭＥ", "手机号码（必填）", "Ｅｍａｉｌ", " 身份证 "])
    assert guess.fields == {
        "name": "ＮＡＭＥ",
        "phone": "手机号码（必填）",
        "id_number": " 身份证 ",
        "email": "Ｅｍａｉｌ",
    }
    assert "手机号码（必填）" in guess.partial


def test_one_header_per_field_best_wins_and_the_rest_is_explained() -> None:
    guess = guess_mapping(["联系方式", "手机号", "客户手机号", "姓名"])
    assert guess.fields == {"name": "姓名", "phone": "手机号"}
    assert set(guess.ignored) == {"联系方式", "客户手机号"}
    zh, en = guess.describe("zh"), guess.describe("en")
    assert "客户手机号" in zh and "手机号" in zh and "未使用" in zh
    assert "ignored 客户手机号" in en and "phone" in en


def test_a_second_phone_column_called_tel_is_the_landline() -> None:
    assert guess_mapping(["电话"]).fields == {"phone": "电话"}
    assert guess_mapping(["手机", "电话"]).fields == {"phone": "手机", "landline": "电话"}
    assert guess_mapping(["mobile", "tel"]).fields == {"phone": "mobile", "landline": "tel"}
    assert all(name in SYNONYMS["phone"] for name in FALLBACKS["landline"])


def test_no_accidental_matches() -> None:
    guess = guess_mapping(["wechat id", "order_id", "小区名称", "hotel", "序号"])
    assert guess.fields == {}
    assert "not recognised" in guess.describe("en") and "missing: name, phone, id_number" in guess.describe(
        "en"
    )


def test_describe_names_every_mapped_header() -> None:
    guess = guess_mapping(CHINESE)
    for lang in ("zh", "en"):
        text = guess.describe(lang)  # type: ignore[arg-type]
        assert all(f"{h} → " in text for h in CHINESE[:13])
        assert "备注" in text


def test_overrides() -> None:
    guess = guess_mapping(["姓名", "电话", "tel2", "备注"])
    assert guess.fields == {"name": "姓名", "phone": "电话"}
    moved = apply_overrides(guess, {"phone": "tel2", "landline": "电话"})
    assert moved.fields == {"name": "姓名", "phone": "tel2", "landline": "电话"}
    assert moved.unmapped == ["备注"]
    assert "tel2 → phone（手动指定）" in moved.describe("zh")
    # A header means one field: taking it for another unmaps it from the first.
    assert apply_overrides(guess, {"landline": "电话"}).fields == {"name": "姓名", "landline": "电话"}
    assert apply_overrides(guess, {"phone": None}).fields == {"name": "姓名"}


def test_override_errors_name_the_problem_and_what_is_valid() -> None:
    guess = guess_mapping(["姓名", "手机号"])
    with pytest.raises(ConfigError) as err:
        apply_overrides(guess, {"phone": "no_such_column"})
    assert "no_such_column" in str(err.value) and "手机号" in str(err.value) and "姓名" in str(err.value)
    with pytest.raises(ConfigError) as err:
        apply_overrides(guess, {"mobile": "手机号"})
    assert "mobile" in str(err.value) and "id_number" in str(err.value)


def test_guess_from_files(tmp_path: Path) -> None:
    csv_path = tmp_path / "c.csv"
    csv_path.write_bytes("客户编号,姓名,电话,电话\n1,张伟,13800000001,010-12345678\n".encode("gbk"))
    assert read_headers(csv_path) == ["客户编号", "姓名", "电话", "电话_2"]
    assert guess_for_file(csv_path).fields == {"record_id": "客户编号", "name": "姓名", "phone": "电话"}
    pq = tmp_path / "p.parquet"
    pl.DataFrame({"name": ["张伟"], "mobile": [13800000001]}).write_parquet(pq)
    assert guess_for_file(pq).fields == {"name": "name", "phone": "mobile"}
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["会员姓名", "手机号码", "证件号码"])
    xlsx = tmp_path / "m.xlsx"
    book.save(xlsx)
    assert guess_for_file(xlsx, "excel").fields == {
        "name": "会员姓名",
        "phone": "手机号码",
        "id_number": "证件号码",
    }


def test_shop_and_membership_exports() -> None:
    """An online shop's order export names the person 收货人/收件人; a membership system 会员名称/持卡人.
    Order numbers stay unmapped (an order is not a customer record id), nicknames too."""
    shop = guess_mapping(["订单号", "买家昵称", "收货人", "收货人手机", "收货人地址", "下单时间"])
    assert shop.fields == {"name": "收货人", "phone": "收货人手机", "address": "收货人地址"}
    assert set(shop.unmapped) == {"订单号", "买家昵称", "下单时间"}
    member = guess_mapping(["会员卡号", "会员名称", "持卡人电话"])
    assert member.fields == {"record_id": "会员卡号", "name": "会员名称", "phone": "持卡人电话"}
