"""CSV injection: formula-like cells are neutralised in the files stewards open, never in the warehouse."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from hanlink.config import config_from_dict
from hanlink.csvsafe import excel_safe, formula_like
from hanlink.db import Database
from hanlink.pipeline import run_pipeline

DANGEROUS = ["=1+1", "=cmd|' /C calc'!A0", "@SUM(A1)", "+86 138 0013 8000", "-2+3", "\t=1", "\r=1",
             '=HYPERLINK("http://x","y")', "+", "-"]
HARMLESS = ["张伟", "13800138000", "-5", "+8613800138000", "3.5", "a=b", "北京市=朝阳区", "", "1-2", " =1"]


def test_formula_like_cells_are_found_and_nothing_else() -> None:
    flags = pl.DataFrame({"v": DANGEROUS + HARMLESS}).select(formula_like(pl.col("v")))["v"].to_list()
    assert flags == [True] * len(DANGEROUS) + [False] * len(HARMLESS)


def test_excel_safe_prefixes_text_only() -> None:
    frame = pl.DataFrame({"v": ["=1+1", "-5", None, "张伟"], "n": [-1, 2, 3, 4]})
    safe = excel_safe(frame)
    assert safe["v"].to_list() == ["'=1+1", "-5", None, "张伟"]
    assert safe["n"].to_list() == [-1, 2, 3, 4]  # numbers are not text: untouched


@pytest.mark.parametrize("role", ["steward", "analyst"])
def test_exported_files_hold_no_formula(role: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANLINK_ROLE", role)
    (tmp_path / "crm.csv").write_text(
        "客户编号,姓名,手机号,地址\n"
        "A001,张伟,13912345678,北京市朝阳区建国路1号\n"
        "=2+3,李娜,13812345679,\"=cmd|' /C calc'!A0\"\n"
        "A003,=1+1,+86 139 1234 5670,@SUM(A1)\n", encoding="utf-8")
    cfg = config_from_dict({"sources": [{"name": "crm", "path": "crm.csv", "fields": {
        "record_id": "客户编号", "name": "姓名", "phone": "手机号", "address": "地址"}, "required": []}]},
        base_dir=tmp_path)
    out = tmp_path / "out"
    run_pipeline(cfg, run_id="r1", out_dir=out)
    cells = [v for f in ("crosswalk.csv", "golden_records.csv", "findings.csv")
             for col in pl.read_csv(out / f, infer_schema=False).iter_columns() for v in col if v]
    assert "'=2+3" in cells                        # the record id, readable and inert
    assert not [v for v in cells if v[0] in "=@\t\r"]
    if role == "steward":                          # the analyst's copy masks the address anyway
        assert any(v.startswith("'=cmd|") for v in cells) and "'@SUM(A1)" in cells
    with Database(cfg.database_path, read_only=True) as db:   # the warehouse keeps what came in
        assert db.scalar("SELECT count(*) FROM crosswalk WHERE source_record_id = '=2+3'") == 1


def test_a_night_s_change_files_hold_no_formula(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hanlink.incremental import run_incremental

    monkeypatch.setenv("HANLINK_ROLE", "steward")
    fields = {"record_id": "客户编号", "name": "姓名", "phone": "手机号", "address": "地址"}
    for part, rows in (("base", "A001,张伟,13912345678,北京市朝阳区建国路1号\n"),
                       ("delta", "=9+9,王芳,13712345670,@SUM(A1)\n")):
        (tmp_path / part).mkdir()
        (tmp_path / part / "crm.csv").write_text("客户编号,姓名,手机号,地址\n" + rows, encoding="utf-8")
    cfgs = {part: config_from_dict({
        "project": {"database": str(tmp_path / "wh.duckdb"), "work_dir": str(tmp_path / "work")},
        "sources": [{"name": "crm", "path": "crm.csv", "fields": fields, "required": []}]},
        base_dir=tmp_path / part) for part in ("base", "delta")}
    run_pipeline(cfgs["base"], run_id="r1", out_dir=tmp_path / "out")
    result = run_incremental(cfgs["delta"], run_id="r2", out_dir=tmp_path / "out")
    changes = [p for k, p in result.outputs.items() if k.startswith("changes/") and str(p).endswith(".csv")]
    cells = [v for p in changes
             for col in pl.read_csv(p, infer_schema=False).iter_columns() for v in col if v]
    assert "'=9+9" in cells and "'@SUM(A1)" in cells
    assert not [v for v in cells if v[0] in "=@\t\r"]
