"""Deletion requests: every trace of the person removed (table by table, quarantine text, exports on disk),
only keyed hashes kept, and the next run holds the person back and reports it; retention flags and purges."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from privacy_project import TOKEN_KEY, make_project, person, run_all, scan
from typer.testing import CliRunner

from hanlink.cli import app
from hanlink.config import load_config
from hanlink.db import Database
from hanlink.export import export_outputs
from hanlink.privacy import audit, suppression
from hanlink.privacy.retention import RETENTION, apply_retention

pytestmark = pytest.mark.usefixtures("token_env")


def as_text(df: pl.DataFrame) -> str:
    """Every value of a frame as text (list columns too)."""
    return "\n".join(map(str, df.rows()))


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token key in the environment, no role or database key from outside."""
    monkeypatch.setenv("HANLINK_TOKEN_KEY", TOKEN_KEY)
    for name in ("HANLINK_ROLE", "HANLINK_DB_KEY", "HANLINK_DB_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def forgotten(tmp_path_factory: pytest.TempPathFactory):
    """A project run once and exported (steward + analyst), then one person forgotten through the CLI."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HANLINK_TOKEN_KEY", TOKEN_KEY)
    mp.delenv("HANLINK_ROLE", raising=False)
    cfg = make_project(tmp_path_factory.mktemp("forget"), records=600, seed=5)
    run_all(cfg, "r1")
    outs = {"steward": cfg.work_path / "out_steward", "analyst": cfg.work_path / "out_analyst"}
    with Database(cfg.database_path) as db:
        who = person(db)
        rows = db.query(
            "SELECT * FROM std_standardized WHERE rid IN (SELECT unnest(?::BIGINT[]))", [who["rids"]]
        )
        for role, folder in outs.items():
            export_outputs(db, "r1", folder, role=role, privacy=cfg.privacy)  # type: ignore[arg-type]
    # everything the person is known by, raw and standardized
    values = {
        v
        for c in ("id_number", "id_number_raw", "phone", "phone_raw")
        for v in rows[c].drop_nulls()
        if len(v) >= 11
    }
    config = str(Path(cfg.base_dir) / "hanlink.toml")
    result = CliRunner().invoke(
        app, ["forget", who["ids"][0], "--role", "steward", "-c", config, "--request-id", "DR-TEST-1"]
    )
    mp.undo()
    return cfg, who, values, outs, result


def test_forget_removes_every_trace_table_by_table(forgotten) -> None:
    cfg, who, values, _, result = forgotten
    assert result.exit_code == 0, result.output
    keys = set(who["keys"])
    with Database(cfg.database_path, read_only=True) as db:
        tables = [
            r[0]
            for r in db.fetchall(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
            )
        ]
        for t in tables:
            text = as_text(db.query(f"SELECT * FROM {t}"))
            assert not any(re.search(rf"(?<![0-9]){re.escape(v)}(?![0-9])", text) for v in values), t
            assert who["entity_id"] not in text, t
            cols = db.columns(t)
            if {"source", "source_record_id"} <= set(cols):
                left = db.query(f"SELECT source || '|' || source_record_id AS k FROM {t}")["k"].to_list()
                assert not keys & set(left), t
        assert (
            db.scalar(
                "SELECT count(*) FROM std_records WHERE rid IN (SELECT unnest(?::BIGINT[]))", [who["rids"]]
            )
            == 0
        )
        listed = suppression.suppression_list(db)
        assert listed.height >= 2 and set(listed["tag"]) >= {"id_number", "phone"}
        assert not any(v in listed.write_csv() for v in values)
        log = audit.entries(db, action="forget")
        assert log.height == 1 and log["rows"][0] >= len(keys)
    mirror = cfg.work_path / "privacy" / "suppression.csv"
    assert set(pl.read_csv(mirror)["token"]) == set(listed["token"])


def test_forget_rewrites_exports_and_writes_a_report(forgotten) -> None:
    cfg, who, values, outs, _ = forgotten
    for folder in outs.values():
        assert scan(folder, values) == {}
        assert who["entity_id"] not in (folder / "crosswalk.csv").read_text(encoding="utf-8")
        assert (folder / "golden_records.csv").exists()
    report = (cfg.work_path / "privacy" / "deletions" / "DR-TEST-1.md").read_text(encoding="utf-8")
    assert "删除报告" in report and "Deletion report" in report and "golden_records" in report
    assert not any(v in report for v in values)
    assert who["ids"][0][:6] + "*" * 8 in report  # the request is named masked


def test_suppression_holds_the_person_back_on_reingest(forgotten) -> None:
    cfg, who, values, _, _ = forgotten
    mp = pytest.MonkeyPatch()
    mp.setenv("HANLINK_TOKEN_KEY", TOKEN_KEY)
    try:
        counts = run_all(cfg, "r2")
    finally:
        mp.undo()
    assert counts["holdback"]["held_back"] >= len(who["keys"])
    out = cfg.work_path / "out_r2"
    with Database(cfg.database_path) as db:
        export_outputs(db, "r2", out, role="steward")
        held = suppression.holdback_report(db, "r2")
        assert held.height == counts["holdback"]["held_back"]
        assert not any(v in held.write_csv() for v in values)  # the hold-back names rows, not values
        assert set(held["request_id"]) == {"DR-TEST-1"}
        # conservation: every row read is standardized or held back
        rows_read = sum(int(db.scalar(f"SELECT count(*) FROM {t}")) for t in db.tables("raw_"))
        assert db.count("std_standardized") == rows_read
        assert db.fetchall("SELECT count(DISTINCT rid), min(rid), max(rid) + 1 FROM std_standardized") == [
            (rows_read, 0, rows_read)]  # rids still dense
        for t in ("std_records", "golden_records", "crosswalk", "pairs_scored", "entities"):
            text = as_text(db.query(f"SELECT * FROM {t}"))
            assert not any(re.search(rf"(?<![0-9]){re.escape(v)}(?![0-9])", text) for v in values), t
    assert scan(out, values) == {}  # even the steward's full export of the next run


def test_forget_needs_a_steward_and_a_token_key(forgotten, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = forgotten[0]
    config = str(Path(cfg.base_dir) / "hanlink.toml")
    denied = CliRunner().invoke(app, ["forget", "13812345678", "--role", "analyst", "-c", config])
    assert denied.exit_code == 2 and "may not" in denied.output
    monkeypatch.delenv("HANLINK_TOKEN_KEY")
    missing = CliRunner().invoke(app, ["forget", "13812345678", "--role", "steward", "-c", config])
    assert (
        missing.exit_code == 2 and "HANLINK_TOKEN_KEY" in missing.output and "Traceback" not in missing.output
    )
    bad = CliRunner().invoke(app, ["forget", "hello", "--role", "steward", "-c", config])
    assert bad.exit_code == 1 and "not an ID number" in bad.output


def test_retention_flags_then_purges_stale_records(forgotten, tmp_path: Path) -> None:
    shutil.copytree(Path(forgotten[0].base_dir), tmp_path / "p")
    cfg = load_config(tmp_path / "p" / "hanlink.toml")
    with Database(cfg.database_path) as db:
        ages = db.query("SELECT quantile_disc(updated_at, 0.5) AS mid FROM std_standardized")["mid"][0]
        stale = db.scalar("SELECT count(*) FROM std_standardized WHERE updated_at < ?", [ages])
        assert stale > 0
        at = ages + dt.timedelta(days=10)  # ten days after the median update: older half is stale
        flag = cfg.privacy.model_copy(update={"retention_days": 10})
        got = apply_retention(db, flag, "r1", at=at)
        assert got["purged"] == 0 and got["stale"] >= 1 and db.count(RETENTION) == got["stale"]
        n = db.count("std_standardized")
        purge = flag.model_copy(update={"retention_action": "purge"})
        got = apply_retention(db, purge, "r1", at=at)
        assert got["purged"] == got["stale"] and db.count("std_standardized") == n - got["stale"]
        assert (
            db.scalar(
                "SELECT count(*) FROM std_standardized WHERE updated_at < ?", [at - dt.timedelta(days=10)]
            )
            == 0
        )
        assert audit.entries(db, action="retention").height == 1
