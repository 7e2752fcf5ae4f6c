"""Bad input through the real ingest → standardize → validate: a clear error or a row with a reason, every row
accounted for, never a traceback. (Reading details are in test_ingest.py; this is the end-to-end matrix.)"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest

from hanlink.config import config_from_dict
from hanlink.db import Database
from hanlink.errors import SourceError
from hanlink.pipeline import run_stage

HEADER = "客户编号,姓名,手机号,身份证号,座机,地址\n"
GOOD = "A001,张伟,13912345678,11010119900307123X,010-62345678,北京市朝阳区建国路1号\n"
FIELDS = {
    "record_id": "客户编号",
    "name": "姓名",
    "phone": "手机号",
    "id_number": "身份证号",
    "landline": "座机",
    "address": "地址",
}
_RNG = random.Random(1)
GARBAGE = bytes(_RNG.randrange(256) for _ in range(4000))


def _utf8(text: str) -> bytes:
    return text.encode("utf-8")


@dataclass
class Case:
    """One bad file: its bytes (or an Excel writer), and what must come of it."""

    data: bytes | Callable[[Path], None]
    rows_in: int = 0  # data rows the file holds (each must end up standardized or quarantined)
    held: dict[int, str] = field(default_factory=dict)  # row number → rule id quarantined at ingest
    error: str | None = None  # a SourceError whose message says this
    ext: str = ".csv"
    flagged: dict[str, str] = field(default_factory=dict)  # source_record_id → a rule id it must carry
    kept: dict[str, str] = field(default_factory=dict)  # source_record_id → raw text of 姓名 or 地址, intact


def _xlsx_formulas(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.strip().split(","))
    ws.append(GOOD.strip().split(","))
    # Written by a program: no cached results. Big numbers stored as numbers (Excel's float).
    ws.append(["A002", "=1+1", '=HYPERLINK("http://x","y")', 110101199003071234, 13812345679, "=A1&B1"])
    wb.save(path)


def _xlsx_merged(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.strip().split(","))
    ws.append(GOOD.strip().split(","))
    ws.append(["A002", "李娜", "13812345679", None, None, "上海市浦东新区"])
    ws.append(["A003", "王芳", "13812345670", None, None, None])
    ws.merge_cells("F3:F4")  # one address for two customers: the second reads empty, as Excel shows it
    ws["A6"] = "合计"
    ws.merge_cells("A6:F6")  # a merged total row: a row, held back as empty of customer data
    wb.save(path)


CASES: dict[str, Case] = {
    "utf8_bom": Case(b"\xef\xbb\xbf" + _utf8(HEADER + GOOD), rows_in=1),
    "gbk_line_in_utf8": Case(
        _utf8(HEADER + GOOD)
        + "A002,李娜,13812345679,,,上海市\n".encode("gbk")
        + _utf8(GOOD.replace("A001", "A003")),
        rows_in=3,
        held={2: "ingest.undecodable"},
    ),
    "invalid_bytes": Case(
        _utf8(HEADER + GOOD) + b"A002,\xff\xfe\xfa,13812345679,,,x\n",
        rows_in=2,
        held={2: "ingest.undecodable"},
    ),
    "utf16": Case("\ufeff".encode("utf-16-le") + (HEADER + GOOD).encode("utf-16-le"), error="UTF-16"),
    "ragged_rows": Case(
        _utf8(HEADER + GOOD + "A002,李娜,138\nA003,王芳,13812345679,,,上海,多余\n"),
        rows_in=3,
        held={2: "ingest.ragged", 3: "ingest.ragged"},
    ),
    "quotes_and_newlines_in_fields": Case(
        _utf8(HEADER + GOOD + 'A002,"李""娜""\n二",13812345679,,,"上海市,浦东\n新区"\n'),
        rows_in=2,
        kept={"A002": "上海市,浦东\n新区"},
    ),
    "unclosed_quote": Case(
        _utf8(HEADER + GOOD + 'A002,"李娜,13812345679,,,上海\nA003,王芳,1381234567,,,x\n'),
        rows_in=2,
        held={2: "ingest.ragged"},
    ),  # the rest of the file is one field
    "empty_file": Case(b"", error="empty"),
    "blank_lines_only": Case(b"\n\r\n\n", error="empty"),
    "header_only": Case(_utf8(HEADER), rows_in=0),
    "duplicate_headers": Case(
        _utf8("客户编号,姓名,姓名,手机号,身份证号,座机,地址\nA001,张伟,张三,13912345678,,,北京\n"),
        rows_in=1,
        kept={"A001": "张伟"},
    ),
    "missing_mapped_header": Case(
        _utf8("客户编号,手机号\nA001,13812345678\n"), error="mapped header not in the file"
    ),
    "ten_mb_field": Case(
        _utf8(HEADER + GOOD + f'A002,李娜,13812345679,,,"{"路" * (10 * 1024 * 1024 // 3)}"\n'),
        rows_in=2,
        flagged={"A002": "address.unparsed"},
    ),
    "binary_garbage": Case(GARBAGE, error="binary"),
    "png_named_csv": Case(b"\x89PNG\r\n\x1a\n" + GARBAGE, error="binary"),
    "garbage_rows_in_a_text_file": Case(
        _utf8(HEADER + GOOD * 2000)
        + GARBAGE[:300].replace(b"\n", b" ").replace(b"\r", b" ")
        + b"\n"
        + _utf8(GOOD),
        rows_in=2002,
        held={2001: "ingest.undecodable"},
    ),
    "excel_formulas_in_csv": Case(
        _utf8(HEADER + GOOD + 'A002,=1+1,"=HYPERLINK(""http://x"")",,,"=cmd|\' /C calc\'!A0"\n'),
        rows_in=2,
        kept={"A002": "=1+1"},
        flagged={"A002": "name.junk"},
    ),
    "excel_formulas_uncalculated": Case(
        _xlsx_formulas, ext=".xlsx", rows_in=2, kept={"A002": "=1+1"}, flagged={"A002": "id.checksum"}
    ),
    "excel_merged_cells": Case(_xlsx_merged, ext=".xlsx", rows_in=4),
    "sql_and_shell_injection": Case(
        _utf8(HEADER + GOOD + "A002,'; DROP TABLE raw_crm; --,$(rm -rf /),`reboot`,\"; rm -rf ~\",'OR 1=1\n"),
        rows_in=2,
        kept={"A002": "'; DROP TABLE raw_crm; --"},
        flagged={"A002": "phone.malformed"},
    ),
    "emoji_and_cjk_extension": Case(
        _utf8(HEADER + GOOD + "A002,张伟😀,13812345679,,,北京𠀀𪚥路1号\nA003,𠮷野家,13812345670,,,x\n"),
        rows_in=3,
        kept={"A002": "北京𠀀𪚥路1号", "A003": "𠮷野家"},
    ),
    "right_to_left_text": Case(
        _utf8(HEADER + GOOD + "A002,محمد علي,13812345679,,,\u202e北京市\nA003,שלום,13812345670,,,x\n"),
        rows_in=3,
        kept={"A002": "محمد علي"},
    ),
    "excel_scientific_phone": Case(
        _utf8(HEADER + GOOD + "A002,李娜,1.38123E+10,,,x\n"), rows_in=2, flagged={"A002": "phone.malformed"}
    ),
    "id_number_as_float": Case(
        _utf8(
            HEADER
            + GOOD
            + "A002,李娜,13812345679,1.10101199003078E+17,,x\nA003,王芳,13812345670,110101199003071234.0,,x\n"
        ),
        rows_in=3,
        flagged={"A002": "id.malformed", "A003": "id.malformed"},
    ),
    "leading_zero_lost": Case(
        _utf8(HEADER + GOOD + "A002,李娜,13812345679,,1062345678,x\n"),
        rows_in=2,
        flagged={"A002": "landline.malformed"},
    ),
    "nul_bytes": Case(_utf8(HEADER + GOOD) + b"A002,\x00\x00,13812345679,,,x\n", rows_in=2),
    "cr_only_line_ends": Case(_utf8(HEADER.replace("\n", "\r") + GOOD.replace("\n", "\r")), rows_in=1),
}


def _front(tmp_path: Path, case: Case) -> Database:
    path = tmp_path / f"in{case.ext}"
    if isinstance(case.data, bytes):
        path.write_bytes(case.data)
    else:
        case.data(path)
    cfg = config_from_dict(
        {"sources": [{"name": "crm", "path": path.name, "fields": FIELDS, "required": []}]}, base_dir=tmp_path
    )
    db = Database()
    for stage in ("ingest", "standardize", "validate"):  # run_stage checks conservation after each
        run_stage(stage, db, cfg, "r1")
    return db


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    if case.error:
        with pytest.raises(SourceError) as exc:
            _front(tmp_path, case)
        assert case.error in str(exc.value) and "crm" in str(exc.value)  # says what and where
        return
    with _front(tmp_path, case) as db:
        held = dict(db.fetchall("SELECT row_number, rule_ids FROM quarantine WHERE stage = 'ingest'"))
        assert {k: v.split(";")[0] for k, v in held.items()} == case.held
        reasons = db.fetchall("SELECT reason_zh, reason_en, raw_json FROM quarantine")
        assert all(zh and en and raw for zh, en, raw in reasons)
        # Conservation: data rows 1..n are each in raw or the ingest quarantine, once.
        raw_rows = [r[0] for r in db.fetchall("SELECT _row_number FROM raw_crm")]
        assert sorted(raw_rows + list(held)) == list(range(1, case.rows_in + 1))
        assert db.count("std_standardized") == len(raw_rows)
        validated = db.scalar("SELECT count(*) FROM quarantine WHERE stage = 'validate'")
        assert db.count("std_records") + validated == len(raw_rows)
        for rec, text in case.kept.items():
            values = db.fetchall("SELECT 姓名, 地址 FROM raw_crm WHERE 客户编号 = ?", [rec])[0]
            assert text in values, (rec, values)
        for rec, rule in case.flagged.items():
            rules = {
                r[0] for r in db.fetchall("SELECT rule_id FROM dq_findings WHERE source_record_id = ?", [rec])
            }
            assert rule in rules, (rec, rules)
        masked = [r[0] for r in db.fetchall("SELECT value_masked FROM dq_findings WHERE field = 'id_number'")]
        assert not any(v and "19900307" in v for v in masked)  # ID numbers never shown whole
