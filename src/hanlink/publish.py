"""Atomic publish: a run builds aside (a staging copy of the warehouse, a folder of its own for the files)
and becomes current in one step, so readers see the previous run or the new one, never a mix.

Layout, for a warehouse `work/hanlink.duckdb` and an output folder `out/`:
- `work/.hanlink.duckdb.staging`       the run's working copy (copied from the live file, or new)
- `work/.hanlink.duckdb.failed`        the staging copy of the last failed run, kept to look into
- `work/.hanlink.duckdb.publish.json`  the publish journal: exists only while a publish is under way
- `out/runs/<run_id>/`                 one folder per published run (the last KEEP_RUNS are kept)
- `out/current`                        symlink → runs/<run_id>: swapped with one rename
- `out/<file>`                         symlink → current/<file>: the stable flat paths (crosswalk.csv …)

Publishing is two renames: the staging file onto the live one (os.replace), then a new `current` link onto
the old one. The journal is written (and synced) before the first and removed after the second; a run that
dies in between is completed by `recover` at the next start. Readers that open the live warehouse keep the
file they opened (the old inode) until they reopen, so a long read sees one run throughout. A reader that
needs several files of one run resolves `out/current` once and reads them from there.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from hanlink.errors import HanlinkError
from hanlink.lock import write_lock

KEEP_RUNS = 3  # published run folders kept (the current one included); older ones are pruned
CARRY_OVER_TABLES = ("review_labels",)  # written outside runs (analysts' labels): never lost by a publish
BUSY_RETRY_SECONDS = 30.0


class PublishError(HanlinkError):
    """The run finished but could not be made current; the previous run is still the published one."""

    exit_code = 4
    retryable = True


def fault_point(name: str) -> None:
    """Test-only fault injection: with HANLINK_TEST_PAUSE_AT=<name>, write the marker file named by
    HANLINK_TEST_PAUSE_MARKER and sleep until killed. Points: each stage name, "export", "publish"."""
    if os.environ.get("HANLINK_TEST_PAUSE_AT") != name:
        return
    marker = os.environ.get("HANLINK_TEST_PAUSE_MARKER")
    if marker:
        Path(marker).write_text(f"{name} {os.getpid()}", encoding="utf-8")
    while True:
        time.sleep(60)


def staging_path_for(live: Path) -> Path:
    return live.with_name(f".{live.name}.staging")


def failed_path_for(live: Path) -> Path:
    return live.with_name(f".{live.name}.failed")


def journal_path_for(live: Path) -> Path:
    return live.with_name(f".{live.name}.publish.json")


def wal(path: Path) -> Path:
    """DuckDB's write-ahead log beside a database file."""
    return path.with_name(path.name + ".wal")


def _signature(path: Path) -> list[int] | None:
    """Size and mtime of a file and of its WAL: changes when anyone commits to it."""
    out: list[int] = []
    for p in (path, wal(path)):
        try:
            st = p.stat()
        except FileNotFoundError:
            out += [-1, -1]
        else:
            out += [st.st_size, st.st_mtime_ns]
    return out if out[0] != -1 else None


def unshare(path: Path) -> bool:
    """Before writing to `path` in place: when it shares its inode with a backup (the pre-run backup is a
    hard link, privacy.backup), give it a private copy first, so the write can't reach the backup. Returns
    whether a copy was made. Cheap otherwise (one stat); serialised by a lock file beside it."""
    path = Path(path)
    try:
        if path.stat().st_nlink <= 1:
            return False
    except FileNotFoundError:
        return False
    fd = os.open(path.with_name(f".{path.name}.unshare.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if path.stat().st_nlink <= 1:  # another writer unshared it meanwhile
            return False
        tmp = path.with_name(f".{path.name}.unshare")
        shutil.copy2(path, tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)  # readers that hold the old inode keep reading it, unchanged
        _fsync_dir(path.parent)
        return True
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(*paths: Path) -> None:
    for p in paths:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


@dataclass(frozen=True)
class Staging:
    """Where one run builds: `path` (its warehouse copy) and `run_dir` (its files), published together."""

    run_id: str
    live: Path
    path: Path
    out_root: Path
    run_dir: Path
    live_signature: list[int] | None  # the live file as it was when copied (None: there was none)
    copy_seconds: float = 0.0
    copy_bytes: int = 0


def prepare(live: Path, out_root: Path, run_id: str) -> Staging:
    """Start a run aside: a fresh staging copy of the live warehouse (with its WAL) and an empty run folder.

    A staging file left by a killed run is thrown away first: it never became current."""
    live, out_root = Path(live), Path(out_root)
    live.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_path_for(live)
    _remove(staging, wal(staging))
    signature = _signature(live)
    t0, size = time.perf_counter(), 0
    if signature is not None:
        # copyfile uses the kernel's copy (sendfile / copy_file_range): no bytes pass through Python.
        shutil.copyfile(live, staging)
        size = staging.stat().st_size
        if wal(live).exists():
            shutil.copyfile(wal(live), wal(staging))
            size += wal(staging).stat().st_size
    seconds = time.perf_counter() - t0
    run_dir = _fresh_run_dir(out_root, run_id)
    run_dir.mkdir(parents=True)
    return Staging(run_id, live, staging, out_root, run_dir, signature, seconds, size)


def _fresh_run_dir(out_root: Path, run_id: str) -> Path:
    """runs/<run_id>, emptied; but never the published folder (a rerun with its id): <run_id>.2 … then."""
    current = out_root / "current"
    published = current.resolve() if current.exists() else None
    n = 1
    while True:
        run_dir = out_root / "runs" / (run_id if n == 1 else f"{run_id}.{n}")
        if not run_dir.exists() or run_dir.resolve() != published:
            _remove(run_dir)
            return run_dir
        n += 1


def discard(staging: Staging) -> Path | None:
    """A failed run: keep its warehouse copy as `.failed` (to look into its run_log), drop its run folder.

    Does nothing to a run that was published (or is being completed from the journal)."""
    current = staging.out_root / "current"
    if journal_path_for(staging.live).exists() or (
        current.exists() and current.resolve() == staging.run_dir.resolve()
    ):
        return None
    _remove(staging.run_dir)
    if not staging.path.exists():
        return None
    failed = failed_path_for(staging.live)
    _remove(failed, wal(failed))
    os.replace(staging.path, failed)
    if wal(staging.path).exists():
        os.replace(wal(staging.path), wal(failed))
    return failed


def _carry_over(staging: Staging) -> int:
    """Rows committed to the live file during the run (analysts' labels) are copied into the staging copy.

    Waits while another process has the live file open for writing: replacing it under a writer would
    drop that writer's later commits."""
    if _signature(staging.live) == staging.live_signature:
        return 0
    deadline = time.monotonic() + BUSY_RETRY_SECONDS
    while True:
        try:
            con = duckdb.connect(str(staging.path))
            try:
                con.execute(f"ATTACH '{staging.live}' AS live (READ_ONLY)")
                break
            except duckdb.Error:
                con.close()
                raise
        except duckdb.Error as exc:
            if time.monotonic() > deadline:
                raise PublishError(
                    "另一个进程正在写入数据仓库，未发布本次运行 / another process has the warehouse open "
                    f"for writing; the run was not published ({exc})",
                    where=str(staging.live),
                    hint="close it (notebook, `hanlink review --label`) and run again",
                ) from None
            time.sleep(1.0)
    added = 0
    try:
        live_tables = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'live'").fetchall()}
        mine = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
        for table in CARRY_OVER_TABLES:
            if table not in live_tables:
                continue
            if table not in mine:
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM live.{table}")
                added += int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
                continue
            before = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            con.execute(
                f"INSERT INTO {table} BY NAME (SELECT * FROM live.{table} EXCEPT ALL SELECT * FROM {table})"
            )
            added += int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]) - before  # type: ignore[index]
        con.execute("DETACH live")
    finally:
        con.close()
    return added


def _write_journal(staging: Staging) -> None:
    journal = journal_path_for(staging.live)
    tmp = journal.with_name(journal.name + ".tmp")
    data = {
        "run_id": staging.run_id,
        "live": str(staging.live),
        "staging": str(staging.path),
        "out_root": str(staging.out_root),
        "run_dir": str(staging.run_dir),
    }
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, journal)
    _fsync_dir(journal.parent)


def _swap_pointer(out_root: Path, run_dir: Path) -> None:
    """`current` → the run folder in one rename; flat `<file>` links → current/<file> for every file in it."""
    target = os.path.relpath(run_dir, out_root)
    tmp = out_root / ".current.tmp"
    _remove(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, out_root / "current")
    for entry in sorted(run_dir.iterdir()):
        flat = out_root / entry.name
        want = os.path.join("current", entry.name)
        if flat.is_symlink() and os.readlink(flat) == want:
            continue
        if flat.is_dir() and not flat.is_symlink():
            continue  # a real folder of someone else's: leave it
        link_tmp = out_root / f".{entry.name}.link.tmp"
        _remove(link_tmp)
        os.symlink(want, link_tmp)
        os.replace(link_tmp, flat)  # replaces a plain file left by an older hanlink in one step too
    for flat in out_root.iterdir():  # links to files the new run no longer writes
        if flat.is_symlink() and os.readlink(flat).startswith("current" + os.sep) and not flat.exists():
            flat.unlink()
    _fsync_dir(out_root)


def _replace_database(live: Path, staging_file: Path) -> None:
    """First rename: the staging copy becomes the live warehouse (skipped when already done)."""
    if staging_file.exists():
        # A WAL left by a crashed writer belongs to the old file: it must not replay onto the new one.
        _remove(wal(live))
        os.replace(staging_file, live)
        _fsync_dir(live.parent)


def _finish(live: Path, out_root: Path, run_dir: Path) -> None:
    """Second rename (the output pointer), then the journal goes: the publish is complete."""
    if run_dir.exists():
        _swap_pointer(out_root, run_dir)
    journal_path_for(live).unlink(missing_ok=True)


def _prune(out_root: Path, keep: int) -> None:
    runs = out_root / "runs"
    current = (out_root / "current").resolve()
    folders = sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime_ns)
    for old in folders[:-keep]:
        if old.resolve() != current:
            shutil.rmtree(old, ignore_errors=True)


def publish(staging: Staging, *, keep: int = KEEP_RUNS) -> dict[str, int]:
    """Make the staged run current: warehouse file, then output pointer; the journal covers the gap.

    The staging connection must be closed (DuckDB checkpoints on close, so the copy is one self-contained
    file). Returns {"carried_over": rows copied from the live file's carry-over tables}."""
    # Writers outside runs (labels) wait from the carry-over until the new file is in place.
    with write_lock(staging.live):
        carried = _carry_over(staging)
        if wal(staging.path).exists():  # a checkpoint folds it in, so the file alone is the whole run
            duckdb.connect(str(staging.path)).close()
        with open(staging.path, "rb+") as f:
            os.fsync(f.fileno())
        _write_journal(staging)
        _replace_database(staging.live, staging.path)
    fault_point("publish")  # tests kill the run here: between the two renames
    _finish(staging.live, staging.out_root, staging.run_dir)
    _prune(staging.out_root, keep)
    return {"carried_over": carried}


def recover(live: Path) -> str | None:
    """Finish a publish that was interrupted (the journal is there); returns its run id, or None.

    Run under the run lock, before a new staging copy is made."""
    journal = journal_path_for(Path(live))
    if not journal.exists():
        return None
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
    except ValueError:  # torn journal: it was being written, so no rename had happened yet
        journal.unlink()
        return None
    _replace_database(Path(data["live"]), Path(data["staging"]))
    _finish(Path(data["live"]), Path(data["out_root"]), Path(data["run_dir"]))
    return str(data["run_id"])
