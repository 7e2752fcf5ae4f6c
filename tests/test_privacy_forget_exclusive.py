"""A deletion request runs alone (never under a run that would publish the person back) and leaves no
deleted row's bytes in the warehouse file."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from privacy_project import TOKEN_KEY, make_project, person, run_all
from typer.testing import CliRunner

from hanlink.cli import app
from hanlink.config import Config
from hanlink.db import Database
from hanlink.lock import run_lock
from hanlink.privacy.requests import carry_out


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    """A 4-source project of 300 records, run once, with the token key in the environment."""
    monkeypatch.setenv("HANLINK_TOKEN_KEY", TOKEN_KEY)
    for name in ("HANLINK_ROLE", "HANLINK_DB_KEY", "HANLINK_DB_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    cfg = make_project(tmp_path, records=300, seed=11)
    run_all(cfg, "r1")
    return cfg


def _stored_vs_live(db: Database) -> dict[str, tuple[int, int]]:
    """Per base table: rows physically stored (deleted ones included) and rows visible."""
    out = {}
    for (t,) in db.fetchall("SELECT table_name FROM information_schema.tables "
                            "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY 1"):
        stored = db.scalar(f"SELECT coalesce(sum(count), 0) FROM pragma_storage_info('{t}') "
                           "WHERE column_path = '[0]' AND segment_type <> 'VALIDITY'")
        out[t] = (int(stored), db.count(t))
    return out


def _forget(cfg: Config, id_number: str):
    return CliRunner().invoke(app, ["forget", id_number, "--role", "steward", "-c",
                                    str(Path(cfg.base_dir) / "hanlink.toml"), "--request-id", "DR-X"])


def test_forget_rewrites_the_file_without_deleted_rows(project: Config, tmp_path: Path) -> None:
    with Database(project.database_path, read_only=True) as db:
        who = person(db)
    # The same request without the rewrite, on a copy: DuckDB keeps the deleted rows in the file.
    plain = tmp_path / "plain.duckdb"
    shutil.copyfile(project.database_path, plain)
    with Database(plain) as db:
        carry_out(db, project, {"id_numbers": [who["ids"][0]], "phones": [], "entity_ids": []},
                  request_id="DR-X")
        kept = _stored_vs_live(db)
    assert any(stored > live for stored, live in kept.values())

    result = _forget(project, who["ids"][0])
    assert result.exit_code == 0, result.output
    with Database(project.database_path, read_only=True) as db, Database(plain, read_only=True) as ref:
        after = _stored_vs_live(db)
        assert all(stored == live for stored, live in after.values()), after
        assert {t: live for t, (_, live) in after.items()} == {t: live for t, (_, live) in kept.items()}
        for t in ("std_standardized", "entities", "golden_records", "crosswalk", "pairs_scored"):
            assert db.query(f"SELECT * FROM {t}").equals(ref.query(f"SELECT * FROM {t}")), t  # same order


def test_forget_waits_for_no_run_and_changes_nothing_meanwhile(project: Config) -> None:
    with Database(project.database_path, read_only=True) as db:
        who = person(db)
    before = hashlib.sha256(project.database_path.read_bytes()).hexdigest()
    with run_lock(project.database_path, "nightly"):
        result = _forget(project, who["ids"][0])
    assert result.exit_code == 75
    said = "".join(result.output.split())  # the console wraps long lines
    assert "arunisinprogress(run_idnightly" in said and "nothingchanged" in said
    assert "Traceback" not in said
    assert hashlib.sha256(project.database_path.read_bytes()).hexdigest() == before
    assert _forget(project, who["ids"][0]).exit_code == 0   # once the run is over, it goes through


@pytest.mark.parametrize("args", [["restore", "--role", "steward"], ["encrypt-db"]])
def test_commands_that_replace_the_warehouse_refuse_during_a_run(
        project: Config, args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    config = str(Path(project.base_dir) / "hanlink.toml")
    assert CliRunner().invoke(app, ["backup", "-c", config]).exit_code == 0
    monkeypatch.setenv("HANLINK_DB_KEY", "k" * 32)
    before = hashlib.sha256(project.database_path.read_bytes()).hexdigest()
    with run_lock(project.database_path, "nightly"):
        result = CliRunner().invoke(app, [*args, "-c", config])
    assert result.exit_code == 75, result.output
    assert "arunisinprogress(run_idnightly" in "".join(result.output.split())
    assert hashlib.sha256(project.database_path.read_bytes()).hexdigest() == before


def test_compaction_keeps_an_encrypted_warehouse_encrypted(tmp_path: Path) -> None:
    from hanlink.db import DatabaseKeyError, compact_database, encrypt_database

    path, key = tmp_path / "wh.duckdb", "k" * 32
    with Database(path) as db:
        db.execute("CREATE TABLE t AS SELECT i, 'v' || i AS s FROM range(50000) r(i)")
    encrypt_database(path, key)
    with Database(path, encryption_key=key) as db:
        db.execute("DELETE FROM t WHERE i % 2 = 0")
        assert _stored_vs_live(db)["t"] == (50000, 25000)
    compact_database(path, key)
    with Database(path, encryption_key=key) as db:
        assert _stored_vs_live(db)["t"] == (25000, 25000)
        assert db.scalar("SELECT min(i) FROM t") == 1
    with pytest.raises(DatabaseKeyError):
        Database(path)
