"""Display masks: the common formats, short and empty values, nothing revealed beyond the kept ends."""

from __future__ import annotations

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from hanlink.mask import (
    mask_address,
    mask_birth_date,
    mask_email,
    mask_field,
    mask_frame,
    mask_id,
    mask_name,
    mask_phone,
)


def apply(fn, values: list[str | None]) -> list[str | None]:
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(fn(pl.col("v")))["v"].to_list()


def test_common_formats() -> None:
    assert apply(mask_phone, ["13812345678", "010-62345678", "12", None]) == [
        "138****5678", "010*****5678", "1*", None]
    assert apply(mask_id, ["110101199003071234"]) == ["110101********1234"]
    assert apply(mask_name, ["张伟", "欧阳娜娜", "Zhang Wei"]) == ["张*", "欧***", "Z********"]
    assert apply(mask_email, ["zhangsan@qq.com", "nobody"]) == ["z***@qq.com", "n*****"]
    # street, building and room numbers hidden, the street kept; no number → province/city level only
    assert apply(mask_address, ["北京市朝阳区建国路88号", "上海市浦东新区世纪大道100号3单元502室",
                                "广州市天河区三号楼", "北京市朝阳区建国路", None]) == [
        "北京市朝阳区建国路**号", "上海市浦东新区世纪大道***号*单元***室", "广州市天河区*号楼",
        "北京市朝阳区****", None]
    assert apply(mask_birth_date, ["1990-03-07"]) == ["1990******"]


def test_mask_frame_masks_every_tagged_column_and_nothing_else() -> None:
    df = pl.DataFrame({"rid": [1], "name_raw": ["张伟"], "phone_raw": [" 138-1234-5678 "],
                       "name_pinyin": ["zhang wei"],
                       "id_birth_date": [date(1990, 3, 7)], "gender": ["M"], "phone_token": ["ab12"]})
    out = mask_frame(df).row(0, named=True)
    assert out == {"rid": 1, "name_raw": "张*", "phone_raw": "138******5678", "name_pinyin": "z********",
                   "id_birth_date": "1990******", "gender": "M", "phone_token": "ab12"}


def test_mask_by_field_tag() -> None:
    df = pl.DataFrame({"v": ["13812345678"]})
    assert df.select(mask_field("landline", pl.col("v")))["v"][0] == "138****5678"
    assert df.select(mask_field("gender", pl.col("v")))["v"][0] == "13812345678"   # not sensitive


@given(st.lists(st.text(st.characters(blacklist_categories=("Z", "C")), min_size=8, max_size=30),
                min_size=1, max_size=10))
@settings(max_examples=50, deadline=None)
def test_phone_and_id_masks_keep_length_and_hide_the_middle(values: list[str]) -> None:
    for fn, head, tail in ((mask_phone, 3, 4), (mask_id, 6, 4)):
        out = apply(fn, values)
        for v, m in zip(values, out, strict=True):
            assert m is not None and len(m) == len(v)
            if len(v) > head + tail:
                assert m[head:len(v) - tail] == "*" * (len(v) - head - tail)
