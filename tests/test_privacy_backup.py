"""Backups: checksummed copies, verified by a restore into a temporary place; corrupt the live file →
restore → identical data; a damaged backup is refused; a restore re-applies deletion requests; expiry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from privacy_project import TOKEN_KEY, make_project, person, run_all
from typer.testing import CliRunner

from hanlink.cli import app
from hanlink.config import load_config
from hanlink.db import Database
from hanlink.privacy import audit, backup
from hanlink.privacy.backup import BackupError, fingerprints

DB_KEY = "backup-test-db-key-0123456789"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-record project run once into an encrypted database; returns its folder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HANLINK_DB_KEY", DB_KEY)
    try:
        cfg = make_project(tmp_path_factory.mktemp("backup"), records=300, seed=13)
        run_all(cfg, "r1")
    finally:
        mp.undo()
    return Path(cfg.base_dir)


@pytest.fixture
def project(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A private copy of the built project, with the database and token keys in the environment."""
    monkeypatch.setenv("HANLINK_DB_KEY", DB_KEY)
    monkeypatch.setenv("HANLINK_TOKEN_KEY", TOKEN_KEY)
    monkeypatch.delenv("HANLINK_ROLE", raising=False)
    shutil.copytree(built, tmp_path / "p")
    return load_config(tmp_path / "p" / "hanlink.toml")


def _state(cfg) -> dict:
    with Database(cfg.database_path, read_only=True) as db:
        return {k: v for k, v in fingerprints(db).items() if k != audit.AUDIT_LOG}


def test_backup_corrupt_restore_gives_identical_data(project) -> None:
    cfg = project
    config = str(Path(cfg.base_dir) / "hanlink.toml")
    before = _state(cfg)
    made = CliRunner().invoke(app, ["backup", "-c", config])
    assert made.exit_code == 0, made.output
    folder = backup.list_backups(cfg)[-1]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["encrypted"] and len(manifest["files"]["hanlink.duckdb"]) == 64
    assert b"golden_records" not in (folder / "hanlink.duckdb").read_bytes()  # encrypted copy
    ok = CliRunner().invoke(app, ["backup", "verify", "-c", config])
    assert ok.exit_code == 0 and "ok" in ok.output
    # damage the live file in the middle of its data blocks
    live = cfg.database_path
    data = bytearray(live.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 4096] = b"\x00" * 4096
    data[8192:12288] = b"\xff" * 4096
    live.write_bytes(bytes(data))
    restored = CliRunner().invoke(app, ["restore", "-c", config, "--role", "steward"])
    assert restored.exit_code == 0, restored.output
    assert _state(cfg) == before
    with Database(cfg.database_path, read_only=True) as db:
        actions = audit.entries(db)["action"].to_list()
    assert actions[:2] == ["restore", "backup"]


def test_a_damaged_backup_is_refused(project) -> None:
    folder = backup.create(project)
    assert backup.verify(project, folder)["ok"]
    path = folder / "hanlink.duckdb"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="checksum"):
        backup.verify(project, folder)
    live = project.database_path.read_bytes()
    with pytest.raises(BackupError):
        backup.restore(project, folder)
    assert project.database_path.read_bytes() == live  # the live file is untouched


def test_restore_reapplies_deletion_requests(project) -> None:
    from hanlink.privacy.requests import carry_out

    folder = backup.create(project, label="before-forget")
    with Database(project.database_path) as db:
        who = person(db)
        carry_out(db, project, {"id_numbers": who["ids"], "phones": [], "entity_ids": []}, request_id="DR-B")
    done = backup.restore(project, folder)  # the backup still holds the person…
    assert done["reapplied"].get("std_standardized", 0) >= len(who["keys"])
    with Database(project.database_path, read_only=True) as db:  # …but the restore forgets them again
        assert db.scalar("SELECT count(*) FROM std_standardized WHERE id_number = ?", [who["ids"][0]]) == 0
        assert db.scalar("SELECT count(*) FROM golden_records WHERE entity_id = ?", [who["entity_id"]]) == 0
        assert db.count("privacy_suppression") >= 2


def test_before_run_and_expiry(project, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    keep2 = project.model_copy(
        update={"privacy": project.privacy.model_copy(update={"backup_keep": 2, "backup_max_age_days": 1})}
    )
    first = backup.before_run(keep2)
    assert first is not None and first.name.endswith("pre-run")
    for _ in range(2):
        backup.create(keep2)
    assert len(backup.list_backups(keep2)) == 3
    assert backup.expire(keep2) == []  # none is older than a day yet
    gone = backup.expire(keep2, at=dt.datetime.now() + dt.timedelta(days=3))
    assert gone == [first] and len(backup.list_backups(keep2)) == 2  # the newest two always stay
    fresh = project.model_copy(
        update={"project": project.project.model_copy(update={"database": "none.duckdb"})}
    )
    assert backup.before_run(fresh) is None
