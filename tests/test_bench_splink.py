"""The input preparation bench/bench_splink.py gives Splink (no Splink needed to run these)."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
bench_splink = pytest.importorskip("bench_splink")

FIELDS = {"record_id": "编号", "name": "姓名", "phone": "手机", "id_number": "证件", "email": "邮箱",
          "birth_date": "生日", "gender": "性别", "address": "地址"}


@pytest.fixture
def customers(tmp_path: Path) -> Path:
    """Five records: one person written four ways, plus a stranger with a placeholder phone."""
    rows = [
        ("R1", "张伟", "+86 138-1234-5678", "11010119900307123x", " ZW@QQ.com", "1990-03-07", "男", "京１号"),
        ("R2", "章伟", "0086 13812345678", "110101199003071234", "zw@qq.com", "19900307", "M", "京1号"),
        ("R3", "張偉", "１３８１２３４５６７８", "", None, "1990年3月7日", "male", "京1号"),
        ("R4", "Wei Zhang", "(+86)138 1234 5678", None, None, "1990/3/7", "", ""),
        ("R5", "李四", "13800138000", None, None, "not a date", "女", "上海"),
    ]
    path = tmp_path / "customers.csv"
    pl.DataFrame(rows, schema=list(FIELDS.values()), orient="row").write_csv(path)
    return path


def test_standardizes_phone_id_email_dates_gender(customers: Path) -> None:
    df = bench_splink.splink_frame(customers, FIELDS, max_shared=0).sort("record_id")
    assert df["phone"].to_list() == ["13812345678"] * 4 + ["13800138000"]
    assert df["id_number"].to_list() == ["11010119900307123X", "110101199003071234", None, None, None]
    assert df["email"].to_list() == ["zw@qq.com", "zw@qq.com", None, None, None]
    assert df["dob"].to_list() == ["1990-03-07"] * 4 + [None]
    assert df["gender"].to_list() == ["M", "M", "M", None, "F"]
    assert df["address"].to_list()[:3] == ["京1号"] * 3


def test_pinyin_column_joins_homophones_and_traditional(customers: Path) -> None:
    df = bench_splink.splink_frame(customers, FIELDS, max_shared=0).sort("record_id")
    assert df["name_py"].to_list() == ["zhangwei", "zhangwei", "zhangwei", "weizhang", "lisi"]


def test_values_shared_by_more_than_max_shared_are_nulled(customers: Path) -> None:
    df = bench_splink.splink_frame(customers, FIELDS, max_shared=3).sort("record_id")
    assert df["phone"].null_count() == 4  # the four-times-shared mobile is gone, the single one stays
    assert df["phone"][4] == "13800138000"
    assert df["email"].to_list()[:2] == ["zw@qq.com", "zw@qq.com"]


def test_markdown_reports_a_stopped_run() -> None:
    rows = [{"tool": "splink", "difficulty": "normal", "n": 1_000_000, "status": "stopped after 900 s",
             "wall_s": 900.0, "peak_rss_mib": 9000.0}]
    text = bench_splink.markdown(rows)
    assert "stopped after 900 s" in text
    assert "1,000,000" in text
