"""Pre-run backups by hard link: the backup survives the next publish unchanged, a writer outside runs gets a
private copy first (publish.unshare), verify still catches damage, restore still works, copy fallback."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from privacy_project import make_project

from hanlink.config import Config, load_config
from hanlink.db import Database
from hanlink.pipeline import open_database, run_pipeline
from hanlink.privacy import audit, backup
from hanlink.privacy.backup import BackupError, fingerprints
from hanlink.publish import unshare


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 200-record project published once by run_pipeline (no backup yet: first run); returns its folder."""
    cfg = make_project(tmp_path_factory.mktemp("backup_link"), records=200, seed=21)
    run_pipeline(cfg, run_id="r1")
    return Path(cfg.base_dir)


@pytest.fixture
def cfg(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    """A private copy of the built project (no keys: a plain warehouse)."""
    monkeypatch.delenv("HANLINK_DB_KEY", raising=False)
    monkeypatch.delenv("HANLINK_ROLE", raising=False)
    shutil.copytree(built, tmp_path / "p", symlinks=True)
    return load_config(tmp_path / "p" / "hanlink.toml")


def _tables(path: Path) -> dict:
    with Database(path, read_only=True) as db:
        return {k: v for k, v in fingerprints(db).items() if k != audit.AUDIT_LOG}


def _manifest(folder: Path) -> dict:
    return json.loads((folder / backup.MANIFEST).read_text(encoding="utf-8"))


def test_pre_run_backup_is_a_link_that_survives_the_next_publish(cfg: Config) -> None:
    live = cfg.database_path
    before = _tables(live)
    folder = backup.before_run(cfg)
    assert folder is not None
    stored = folder / backup.DB_FILE
    assert _manifest(folder)["stored"] == "link" and os.path.samefile(stored, live)
    digest = backup.sha256(stored)
    run_pipeline(cfg, run_id="r2")  # makes its own pre-run backup, then publishes by rename
    assert not os.path.samefile(stored, live)  # the live name now points at the new warehouse
    assert backup.sha256(stored) == digest == _manifest(folder)["files"][backup.DB_FILE]
    assert backup.verify(cfg, folder)["ok"]  # full read-back, not the shortcut
    assert _tables(stored) == before
    newest = backup.list_backups(cfg)[-1]
    assert newest != folder and _manifest(newest)["stored"] == "link"


def test_a_write_outside_runs_unshares_the_live_file_first(cfg: Config) -> None:
    live = cfg.database_path
    folder = backup.before_run(cfg)
    assert folder is not None and live.stat().st_nlink == 2
    digest = _manifest(folder)["files"][backup.DB_FILE]
    with open_database(cfg) as db:  # an analyst's label, a deletion request … go through here
        db.execute("CREATE TABLE written_after_backup AS SELECT 1 AS x")
    assert live.stat().st_nlink == 1 and not os.path.samefile(live, folder / backup.DB_FILE)
    assert backup.sha256(folder / backup.DB_FILE) == digest
    assert backup.verify(cfg, folder)["ok"]
    with Database(live, read_only=True) as db:
        assert db.has_table("written_after_backup")
    assert unshare(live) is False  # nothing shared any more: no copy


def test_verify_detects_damage_to_a_linked_backup(cfg: Config) -> None:
    folder = backup.before_run(cfg)
    assert folder is not None
    run_pipeline(cfg, run_id="r2")  # the backup's inode is no longer live: damage only the backup
    stored = folder / backup.DB_FILE
    data = bytearray(stored.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 4096] = b"\xff" * 4096  # not zeros: free blocks are zeros
    stored.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="checksum"):
        backup.verify(cfg, folder)
    with pytest.raises(BackupError, match="checksum"):
        backup.verify(cfg, folder, read_back=False)  # the shortcut still checks every byte


def test_restore_from_a_linked_backup(cfg: Config) -> None:
    live = cfg.database_path
    before = _tables(live)
    folder = backup.before_run(cfg)
    assert folder is not None
    run_pipeline(cfg, run_id="r2")
    with open_database(cfg) as db:
        db.execute("DROP TABLE golden_records")
    done = backup.restore(cfg, folder)
    assert done["ok"]
    assert _tables(live) == before
    assert live.stat().st_nlink == 1  # restored as a copy: the next write can't reach the backup
    assert backup.verify(cfg, folder)["ok"]


def test_falls_back_to_a_copy_across_file_systems(cfg: Config, tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == cfg.database_path.stat().st_dev:
        pytest.skip("no second file system to back up to")
    elsewhere = Path(os.environ.get("TMPDIR_SHM", str(shm))) / f"hanlink-backup-{os.getpid()}-{tmp_path.name}"
    other = cfg.model_copy(
        update={"privacy": cfg.privacy.model_copy(update={"backup_dir": str(elsewhere)})}
    )
    try:
        folder = backup.before_run(other)
        assert folder is not None and folder.is_relative_to(elsewhere)
        assert _manifest(folder)["stored"] == "copy" and "read_back_sha256" not in _manifest(folder)
        assert cfg.database_path.stat().st_nlink == 1
        assert backup.verify(other, folder)["ok"]
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)
