"""Ingest: real files in every supported shape into raw_<source> and the quarantine of a real DuckDB."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hanlink.config import SourceConfig
from hanlink.db import Database, ident
from hanlink.errors import SourceError
from hanlink.ingest import LINEAGE, ingest, read_headers

CASES = Path(__file__).parent / "cases" / "ingest"
HEADER = "客户编号,姓名,手机号,地址\n"
ROWS = [
    "A001,张伟,13800000001,北京市朝阳区建国路1号\n",
    "A002,李娜,13800000002,上海市浦东新区世纪大道2号\n",
    "A003,王芳,13800000003,广州市天河区体育西路3号\n",
]


def _src(path: Path, name: str = "crm", **kw: object) -> SourceConfig:
    return SourceConfig(name=name, path=path.name, **kw)  # type: ignore[arg-type]


def _run(db: Database, path: Path, name: str = "crm", run_id: str = "r1", **kw: object) -> dict[str, int]:
    return ingest(db, [_src(path, name, **kw)], run_id, base_dir=path.parent)


def _data(db: Database, table: str = "raw_crm") -> list[tuple[object, ...]]:
    cols = [c for c in db.columns(table) if c not in LINEAGE]
    return db.fetchall(
        f"SELECT _row_number, {', '.join(ident(c) for c in cols)} FROM {table} ORDER BY _row_number"
    )


def _held(db: Database, source: str = "crm") -> list[tuple[object, ...]]:
    return db.fetchall(
        "SELECT row_number, rule_ids, source_record_id, raw_json, reason_zh, reason_en "
        "FROM quarantine WHERE source = ? ORDER BY row_number",
        [source],
    )


@pytest.mark.parametrize("case", sorted(p.stem for p in CASES.glob("*.csv")))
def test_golden_cases(db: Database, case: str) -> None:
    expected = json.loads((CASES / f"{case}.json").read_text(encoding="utf-8"))
    counts = _run(db, CASES / f"{case}.csv", fields={"record_id": "客户编号"})
    assert [c for c in db.columns("raw_crm") if c not in LINEAGE] == expected["headers"]
    assert [list(r) for r in _data(db)] == expected["rows"]
    held = [[r[0], r[1], r[2], json.loads(r[3])["raw_text"]] for r in _held(db)]
    assert held == expected["quarantine"]
    assert counts == {"crm": len(expected["rows"]), "crm_quarantined": len(expected["quarantine"])}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_encodings_are_detected(db: Database, tmp_path: Path, encoding: str) -> None:
    text = HEADER + "".join(ROWS)
    if encoding == "gb18030":
        text += "A004,李䶮,13800000004,广州市越秀区𠮷野路4号\n"  # characters GBK doesn't have
    path = tmp_path / "customers.csv"
    path.write_bytes(text.encode(encoding))
    counts = _run(db, path)
    assert db.columns("raw_crm")[:4] == ["客户编号", "姓名", "手机号", "地址"]  # no BOM in the first header
    got = [",".join(r[1:]) + "\n" for r in _data(db)]
    assert got == text.splitlines(keepends=True)[1:]
    assert counts["crm_quarantined"] == 0


def test_declared_encoding_is_used(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes((HEADER + ROWS[0]).encode("gbk"))
    _run(db, path, encoding="gbk")
    assert _data(db)[0][2] == "张伟"


def test_one_gbk_line_in_utf8_costs_one_row(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes((HEADER + ROWS[0]).encode() + ROWS[1].encode("gbk") + ROWS[2].encode())
    counts = _run(db, path, fields={"record_id": "客户编号"})
    assert counts == {"crm": 2, "crm_quarantined": 1}
    assert [r[0] for r in _data(db)] == [1, 3]
    number, rules, record_id, raw, zh, en = _held(db)[0]
    assert (number, rules, record_id) == (2, "ingest.undecodable", "A002")
    assert json.loads(raw)["raw_text"] == ROWS[1].strip()  # shown decoded with the fallback
    assert json.loads(raw)["line"] == 3
    assert "utf-8" in en and "编码" in zh


def test_undecodable_in_both_encodings_is_quarantined(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes((HEADER + ROWS[0] + ROWS[1]).encode() + b"A9,\xff\xfe\xff,1,x\n" + ROWS[2].encode())
    assert _run(db, path) == {"crm": 3, "crm_quarantined": 1}
    assert "\ufffd" in json.loads(_held(db)[0][3])["raw_text"]


def test_ragged_rows_keep_their_text_and_the_rest_loads(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(HEADER + ROWS[0] + "A2,赵敏\n" + ROWS[1] + "A4,钱多,1,2,3\n", encoding="utf-8")
    assert _run(db, path) == {"crm": 2, "crm_quarantined": 2}
    held = _held(db)
    assert [(r[0], r[1]) for r in held] == [(2, "ingest.ragged"), (4, "ingest.ragged")]
    assert json.loads(held[1][3]) == {
        "line": 5,
        "raw_text": "A4,钱多,1,2,3",
        "fields": ["A4", "钱多", "1", "2", "3"],
    }
    assert "5" in held[1][5] and "4" in held[1][5] and "表头" in held[1][4]


def test_header_only_gives_an_empty_table(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "empty_rows.csv"
    path.write_text(HEADER, encoding="utf-8")
    assert _run(db, path) == {"crm": 0, "crm_quarantined": 0}
    assert db.columns("raw_crm") == ["客户编号", "姓名", "手机号", "地址", *LINEAGE]
    assert db.count("raw_crm") == 0


@pytest.mark.parametrize("content", [b"", b"\n\r\n\n", b"\xef\xbb\xbf"])
def test_empty_file_is_a_source_error(db: Database, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "nothing.csv"
    path.write_bytes(content)
    with pytest.raises(SourceError, match="empty") as err:
        _run(db, path)
    assert "nothing.csv" in str(err.value) and "crm" in str(err.value)


def test_duplicate_and_empty_headers_get_names(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "headers.csv"
    path.write_text("电话,,电话,Name,name, \n1,2,3,4,5,6\n", encoding="utf-8")
    _run(db, path)
    assert db.columns("raw_crm")[:6] == ["电话", "column_2", "电话_2", "Name", "name_2", "column_6"]
    assert _data(db) == [(1, "1", "2", "3", "4", "5", "6")]
    assert read_headers(path) == ["电话", "column_2", "电话_2", "Name", "name_2", "column_6"]


def test_blank_lines_are_not_rows_and_empty_fields_are_null(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text(HEADER + "\n" + ROWS[0] + "\n\n" + "A2,,,\n", encoding="utf-8")
    assert _run(db, path) == {"crm": 2, "crm_quarantined": 0}
    assert _data(db)[1] == (2, "A2", None, None, None)


def test_tsv_and_other_delimiters(db: Database, tmp_path: Path) -> None:
    tsv = tmp_path / "t.tsv"
    tsv.write_text("姓名\t地址\n张伟\t北京市,朝阳区\n", encoding="utf-8")
    _run(db, tsv, name="tsv")
    assert _data(db, "raw_tsv") == [(1, "张伟", "北京市,朝阳区")]
    semi = tmp_path / "s.csv"
    semi.write_text("姓名;地址\n李娜;上海市\n", encoding="utf-8")
    _run(db, semi, name="semi", delimiter=";")
    assert _data(db, "raw_semi") == [(1, "李娜", "上海市")]


def test_lineage_columns(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "lineage.csv"
    path.write_text(HEADER + "".join(ROWS * 3), encoding="utf-8")
    ingest(db, [SourceConfig(name="crm", path="lineage.csv")], "run-42", base_dir=tmp_path)
    frame = db.table("raw_crm")
    assert frame["_row_number"].dtype == pl.Int64
    assert frame["_row_number"].to_list() == list(range(1, 10))
    assert set(frame["_file_sha256"]) == {hashlib.sha256(path.read_bytes()).hexdigest()}
    assert set(frame["_source"]) == {"crm"} and set(frame["_file"]) == {"lineage.csv"}
    assert set(frame["_run_id"]) == {"run-42"}
    types = dict(
        db.fetchall(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'raw_crm'"
        )
    )
    assert types["_row_number"] == "BIGINT" and types["手机号"] == "VARCHAR"


def test_rows_are_conserved_and_reingest_is_idempotent(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "messy.csv"
    body = [ROWS[0], "short\n", ROWS[1].encode("gbk"), '"open,quote\n', ROWS[2], "x,y,z,w,v\n"]
    data = HEADER.encode() + b"".join(b if isinstance(b, bytes) else b.encode() for b in body)
    data += b"".join(r.encode() for r in ROWS)  # the open quote swallows these: one long ragged record
    path.write_bytes(data)
    first = _run(db, path)
    numbers = [r[0] for r in db.fetchall("SELECT _row_number FROM raw_crm")]
    held = [r[0] for r in db.fetchall("SELECT row_number FROM quarantine")]
    records = list(csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline="")))[1:]
    assert len(numbers) + len(held) == len([r for r in records if r])
    assert sorted(numbers + held) == list(range(1, len(numbers) + len(held) + 1))
    again = _run(db, path)
    assert again == first
    assert db.count("raw_crm") == first["crm"]
    assert db.scalar("SELECT count(*) FROM quarantine") == first["crm_quarantined"]
    _run(db, path, run_id="r2")  # another run keeps the first run's record
    assert db.scalar("SELECT count(DISTINCT run_id) FROM quarantine") == 2


def test_missing_file_and_bad_mapping_name_the_file(db: Database, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found") as err:
        _run(db, tmp_path / "nope.csv")
    assert "nope.csv" in str(err.value)
    path = tmp_path / "ok.csv"
    path.write_text(HEADER + ROWS[0], encoding="utf-8")
    with pytest.raises(SourceError) as err:
        _run(db, path, fields={"phone": "电话号码"})
    text = str(err.value)
    assert "电话号码" in text and "ok.csv" in text and "手机号" in text and "姓名" in text


def test_a_bad_source_changes_nothing(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text(HEADER + ROWS[0], encoding="utf-8")
    with pytest.raises(SourceError, match=r"missing\.csv"):
        ingest(
            db,
            [SourceConfig(name="a", path="ok.csv"), SourceConfig(name="b", path="missing.csv")],
            "r1",
            base_dir=tmp_path,
        )
    assert not db.has_table("raw_a")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("data.json", b"{}", "extension"),
        ("u16.csv", "姓名\n张伟\n".encode("utf-16"), "UTF-16"),
        ("fake.xlsx", b"not a zip", "xlsx"),
        ("old.xls", b"\xd0\xcf\x11\xe0", ".xls"),
        ("fake.parquet", b"PAR1nonsense", "Parquet"),
    ],
)
def test_unreadable_files_are_source_errors(
    db: Database, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(SourceError, match=message) as err:
        _run(db, tmp_path / name)
    assert name in str(err.value)


def test_excel_cells_read_as_displayed(db: Database, tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["客户编号", "姓名", "手机号", "身份证号", "邮编", "生日", "更新时间", "金额", "VIP", None])
    sheet.append(
        [
            "X1",
            "张伟",
            13812345678,
            "11010519491231002X",
            100080,
            dt.date(1990, 1, 2),
            dt.datetime(2024, 5, 6, 7, 8, 9),
            1234.5,
            True,
        ]
    )
    sheet.append(
        ["X2", "李娜", 13812345679.0, 110105194912310021, 2000, dt.datetime(1985, 12, 31), None, 0.1 + 0.2]
    )
    sheet.append([])
    sheet.append(["X3", "王芳", None, None, None, None, None, None, None, None, "多出来的"])
    sheet.append([1001, "赵敏", "013812345678"])
    for row in (2, 3):
        sheet.cell(row, 5).number_format = "000000"
    path = tmp_path / "members.xlsx"
    book.save(path)
    counts = _run(db, path, fields={"record_id": "客户编号"})
    assert counts == {"crm": 3, "crm_quarantined": 1}
    assert db.columns("raw_crm")[:9] == [
        "客户编号",
        "姓名",
        "手机号",
        "身份证号",
        "邮编",
        "生日",
        "更新时间",
        "金额",
        "VIP",
    ]
    rows = _data(db)
    assert rows[0] == (
        1,
        "X1",
        "张伟",
        "13812345678",
        "11010519491231002X",
        "100080",
        "1990-01-02",
        "2024-05-06 07:08:09",
        "1234.5",
        "TRUE",
    )
    # An ID typed as a number keeps 15 significant digits in the workbook, as in Excel: what it shows, no
    # '1.10105E+17' and no binary noise; the text ID above keeps all 18.
    assert rows[1] == (
        2,
        "X2",
        "李娜",
        "13812345679",
        "110105194912310000",
        "002000",
        "1985-12-31",
        None,
        "0.3",
        None,
    )
    assert rows[2][:4] == (4, "1001", "赵敏", "013812345678")
    number, rules, record_id, raw, _, _ = _held(db)[0]
    assert (number, rules, record_id) == (3, "ingest.ragged", "X3")
    assert json.loads(raw)["line"] == 5
    assert read_headers(path)[:3] == ["客户编号", "姓名", "手机号"]


def test_undecodable_header_long_fields_and_empty_sheet(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "gbk_header.csv"
    path.write_bytes((HEADER + ROWS[0]).encode("gbk"))
    with pytest.raises(SourceError, match="header row is not valid utf-8"):
        _run(db, path, encoding="utf-8")
    long_note = "长" * 200_000  # past the csv module's default 128 KiB field limit
    path = tmp_path / "long.csv"
    path.write_text(f'姓名,备注\n张伟,"{long_note}"\n', encoding="utf-8")
    _run(db, path)
    assert _data(db) == [(1, "张伟", long_note)]
    import openpyxl

    book = openpyxl.Workbook()
    book.save(tmp_path / "blank.xlsx")
    with pytest.raises(SourceError, match="empty") as err:
        _run(db, tmp_path / "blank.xlsx")
    assert "blank.xlsx" in str(err.value)


def test_excel_sheet_choice(db: Database, tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["说明"])
    second = book.create_sheet("客户")
    second.append(["姓名"])
    second.append(["张伟"])
    path = tmp_path / "two.xlsx"
    book.save(path)
    _run(db, path, sheet="客户")
    assert _data(db) == [(1, "张伟")]
    _run(db, path, sheet=1)
    assert _data(db) == [(1, "张伟")]
    with pytest.raises(SourceError, match="客户"):
        _run(db, path, sheet="Sheet9")


def test_parquet_columns_become_text(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pl.DataFrame(
        {
            "id": [1, 2, None],
            "phone": [13812345678.0, None, 1.5],
            "birth": [dt.date(1990, 1, 2), None, None],
            "name": ["张伟", "", "王芳"],
            "vip": [True, False, None],
        }
    ).write_parquet(path)
    assert _run(db, path) == {"crm": 3, "crm_quarantined": 0}
    assert _data(db) == [
        (1, "1", "13812345678", "1990-01-02", "张伟", "true"),
        (2, "2", None, None, None, "false"),
        (3, None, "1.5", None, "王芳", None),
    ]
    assert read_headers(path) == ["id", "phone", "birth", "name", "vip"]
    pl.DataFrame({"Name": ["a"], "name": ["b"]}).write_parquet(path)  # one column to DuckDB
    _run(db, path)
    assert db.columns("raw_crm")[:2] == ["Name", "name_2"]


_cell = st.text(alphabet=st.sampled_from(list('ab张伟,"\n\r ;\t1')), max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(_cell, min_size=3, max_size=3), max_size=6),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]),
    quote_all=st.booleans(),
)
def test_anything_csv_writes_reads_back(
    tmp_path: Path, rows: list[list[str]], encoding: str, quote_all: bool
) -> None:
    buf = io.StringIO()
    # Python 3.11's writer quotes only the characters of its line terminator: with "\n" a bare "\r" in a
    # field would be written unquoted, and no reader could tell it from a line break.
    writer = csv.writer(
        buf,
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
        lineterminator="\n" if quote_all else "\r\n",
    )
    writer.writerow(["甲", "乙", "丙"])
    writer.writerows(rows)
    kept = rows
    path = tmp_path / "any.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    with Database() as db:
        counts = _run(db, path)
        assert counts == {"crm": len(kept), "crm_quarantined": 0}
        assert [list(r[1:]) for r in _data(db)] == [[v or None for v in r] for r in kept]
