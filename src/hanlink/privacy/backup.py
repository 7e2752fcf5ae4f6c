"""Verified backups of the warehouse: a copy with a sha256 manifest and a fingerprint of every table.

Deletion requests vs backups: backups are never edited. They are immutable, checksummed snapshots, and
rewriting one would break the very checksum that proves it sound. Instead, `restore` re-applies the
suppression list (kept in the database AND in a CSV of keyed hashes beside it, which the restore never
overwrites): whoever was forgotten after the backup was taken is purged again before the restored
warehouse is used. Expiry (`privacy.backup_max_age_days`) bounds how long a forgotten person's data can
still sit, unused, in an old backup. See docs/privacy.md.

The nightly pre-run backup is a hard link to the published warehouse when the file system allows it (a copy
otherwise): a published warehouse is never rewritten by a run (runs build on a staging copy and publish by
rename, so the backed-up inode simply stops being the live one), and every other writer goes through
`pipeline.open_database` / `_open`, which first gives the live file a private copy when it shares its inode
(`publish.unshare`). A linked backup shares disk blocks with the live file only until the next publish (the
new live file is a fresh copy): it undoes a run, not a disk fault of that window — manual backups
(`hanlink backup`) stay full copies.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from hanlink.config import Config
from hanlink.db import Database
from hanlink.errors import HanlinkError
from hanlink.privacy import audit
from hanlink.privacy.suppression import now

MANIFEST = "manifest.json"
DB_FILE = "hanlink.duckdb"


class BackupError(HanlinkError):
    """A backup is missing, damaged (checksum) or can't be opened and read back."""

    exit_code = 4


def backup_root(cfg: Config) -> Path:
    return cfg.work_path / cfg.privacy.backup_dir


def suppression_mirror(cfg: Config) -> Path:
    """The suppression list's copy outside the database (keyed hashes only)."""
    return cfg.work_path / "privacy" / "suppression.csv"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprints(db: Database) -> dict[str, list[int | str]]:
    """Rows and an order-free content hash of every base table: equal fingerprints, equal data."""
    names = [
        r[0]
        for r in db.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
    ]
    out: dict[str, list[int | str]] = {}
    for name in names:
        n, h = db.fetchall(f'SELECT count(*), coalesce(sum(hash(t)), 0)::VARCHAR FROM "{name}" t')[0]
        out[name] = [int(n), str(h)]
    return out


def _open(cfg: Config, path: Path, *, read_only: bool) -> Database:
    from hanlink.privacy.keys import database_key
    from hanlink.publish import unshare

    if not read_only:
        unshare(path)  # never write through a hard link into a backup
    return Database(path, read_only=read_only, encryption_key=database_key(cfg))


def _try_link(src: Path, dst: Path) -> bool:
    """A hard link dst → src's inode; False where the file system refuses (other device, no links)."""
    try:
        os.link(src, dst)
    except OSError:
        return False
    return True


def create(cfg: Config, *, label: str = "manual", audit_live: bool = True, link: bool = False) -> Path:
    """Back the warehouse up into <work>/<backup_dir>/<time>-<label>/ with a manifest; returns the folder.

    `audit_live=False` leaves the live file byte for byte as it was (the nightly run's backup: the run
    records the backup in the warehouse it publishes instead), unless a write-ahead log must be folded in.
    `link=True` (with audit_live=False): hard-link the live file instead of copying it when possible (see the
    module doc); the manifest says which (`"stored": "link" | "copy"`)."""
    live = cfg.database_path
    if not live.exists():
        raise BackupError("there is no database to back up yet — 数据库不存在", where=str(live))
    stamp = now().strftime("%Y%m%dT%H%M%S")
    folder = backup_root(cfg) / f"{stamp}-{label}"
    n = 1
    while folder.exists():
        n += 1
        folder = backup_root(cfg) / f"{stamp}-{label}-{n}"
    wal = live.with_name(live.name + ".wal")
    touch_live = audit_live or wal.exists()
    linked, read_back = False, None
    with _open(cfg, live, read_only=not touch_live) as db:
        if audit_live:
            audit.record(
                db,
                "backup",
                str(folder),
                None,
                actor=audit.current_actor(cfg.privacy.identity),
                detail={"label": label},
            )
        if touch_live:
            db.execute("CHECKPOINT")
        encrypted = db.encrypted
        if link and not touch_live:
            folder.mkdir(parents=True)
            linked = _try_link(live, folder / DB_FILE)
        tables = fingerprints(db)
        if linked:
            # Read back from the very bytes the backup holds: our read-only connection keeps DuckDB
            # writers of other processes out (and ours go through unshare), so the inode the link names
            # can't change between the fingerprints above and this checksum. verify() may then skip
            # reading it back again as long as the checksum still matches (read_back_sha256).
            read_back = sha256(folder / DB_FILE)
            # No checksum recorded at publish time is reused instead: computing it there would only move
            # the same whole-file read from this run's start to the previous run's end.
    if not linked:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{DB_FILE}.tmp"
        shutil.copy2(live, tmp)
        os.replace(tmp, folder / DB_FILE)
    manifest = {
        "created_at": stamp,
        "label": label,
        "database": str(live),
        "encrypted": encrypted,
        "duckdb": duckdb.__version__,
        "stored": "link" if linked else "copy",
        "files": {DB_FILE: read_back or sha256(folder / DB_FILE)},
        "tables": tables,
    }
    if read_back:
        manifest["read_back_sha256"] = read_back
    # The manifest last, through a rename: list_backups only sees folders whose manifest is complete.
    tmp_manifest = folder / f".{MANIFEST}.tmp"
    tmp_manifest.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp_manifest, folder / MANIFEST)
    return folder


def _manifest(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError) as exc:
        raise BackupError(f"no readable manifest: {exc}", where=str(folder)) from None


def verify(cfg: Config, folder: Path, *, read_back: bool = True) -> dict[str, Any]:
    """Check the checksums, restore the copy into a temporary folder, open it and compare every table's
    fingerprint with the manifest. Returns {'ok': True, 'tables': n, 'rows': n}; raises BackupError.

    `read_back=False` (the pre-run check right after `create`): skip the restore-and-read when the manifest's
    fingerprints were already read from bytes with this very checksum by this DuckDB version (a linked
    backup); the checksums are always checked."""
    manifest = _manifest(folder)
    for name, digest in manifest["files"].items():
        if not (folder / name).exists() or sha256(folder / name) != digest:
            raise BackupError(f"checksum mismatch for {name} — 校验和不一致，备份已损坏", where=str(folder))
    if (
        not read_back
        and manifest.get("read_back_sha256") == manifest["files"].get(DB_FILE)
        and manifest.get("duckdb") == duckdb.__version__
    ):
        tables = manifest["tables"]
        return {"ok": True, "tables": len(tables), "rows": sum(int(v[0]) for v in tables.values())}
    with tempfile.TemporaryDirectory(prefix="hanlink-verify-") as tmp:
        copy = Path(tmp) / DB_FILE
        shutil.copy2(folder / DB_FILE, copy)
        try:
            with _open(cfg, copy, read_only=True) as db:
                found = fingerprints(db)
        except duckdb.Error as exc:
            raise BackupError(f"the backup does not open: {exc}", where=str(folder)) from None
    if found != manifest["tables"]:
        bad = sorted(
            k for k in set(found) | set(manifest["tables"]) if found.get(k) != manifest["tables"].get(k)
        )
        raise BackupError(f"restored tables differ from the manifest: {', '.join(bad)}", where=str(folder))
    return {"ok": True, "tables": len(found), "rows": sum(int(v[0]) for v in found.values())}


def list_backups(cfg: Config) -> list[Path]:
    """Backup folders, oldest first (by when their manifest was written: names can tie within a second)."""
    root = backup_root(cfg)
    found = [p for p in root.iterdir() if (p / MANIFEST).exists()] if root.exists() else []
    return sorted(found, key=lambda p: ((p / MANIFEST).stat().st_mtime_ns, p.name))


def restore(cfg: Config, folder: Path, *, actor: str | None = None) -> dict[str, Any]:
    """Verify `folder`, put it in place of the live database (atomically), then re-apply deletion requests.

    The live file (damaged or not) is replaced; its WAL is removed with it.
    """
    from hanlink.privacy.reapply import reapply_suppression

    checked = verify(cfg, folder)
    live = cfg.database_path
    live.parent.mkdir(parents=True, exist_ok=True)
    tmp = live.with_name(f".{live.name}.restore")
    shutil.copy2(folder / DB_FILE, tmp)
    os.replace(tmp, live)
    live.with_name(live.name + ".wal").unlink(missing_ok=True)
    with _open(cfg, live, read_only=False) as db:
        reapplied = reapply_suppression(db, cfg)
        audit.record(
            db,
            "restore",
            str(folder),
            checked["rows"],
            actor=actor or audit.current_actor(cfg.privacy.identity),
            detail={"reapplied": reapplied},
        )
    return {**checked, "reapplied": reapplied}


def expire(cfg: Config, *, at: datetime | None = None) -> list[Path]:
    """Delete backups older than `backup_max_age_days`, always keeping the newest `backup_keep`."""
    at = at or now()
    folders = list_backups(cfg)
    limit = at - timedelta(days=cfg.privacy.backup_max_age_days)
    removed = []
    for folder in folders[: max(0, len(folders) - cfg.privacy.backup_keep)]:
        created = datetime.strptime(_manifest(folder)["created_at"], "%Y%m%dT%H%M%S")
        if created < limit:
            shutil.rmtree(folder)
            removed.append(folder)
    return removed


def before_run(cfg: Config) -> Path | None:
    """Nightly hook: back the warehouse up before a run (None on the very first run), expire old backups."""
    if not cfg.database_path.exists():
        return None
    folder = create(cfg, label="pre-run", audit_live=False, link=True)
    verify(cfg, folder, read_back=False)
    expire(cfg)
    return folder
