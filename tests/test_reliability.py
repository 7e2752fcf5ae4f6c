"""Faults: SIGKILL at every stage leaves the previous run published; one run at a time; same input, same
result; publish is atomic and recoverable."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from reliability_helpers import published_files, run_content, sha256, warehouse_digest
from typer.testing import CliRunner

from hanlink.config import load_config
from hanlink.db import Database
from hanlink.lock import RunLockedError, run_lock
from hanlink.pipeline import STAGES, run_pipeline
from hanlink.publish import journal_path_for, prepare, publish, recover, staging_path_for

KILL_POINTS = (*STAGES, "export", "publish")
RUN_SCRIPT = (
    "import sys; from hanlink.config import load_config; from hanlink.pipeline import run_pipeline; "
    "run_pipeline(load_config(sys.argv[1]), run_id=sys.argv[2])"
)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated 300-record, 4-source project, run once ("base") and published."""
    from hanlink.generate import generate

    root = tmp_path_factory.mktemp("reliab")
    data = generate(300, root / "proj", seed=3, layout="sources")
    run_pipeline(load_config(data.config), run_id="base")
    return Path(data.config)


def _snapshot(config: Path) -> dict[str, object]:
    cfg = load_config(config)
    out = cfg.work_path / "output"
    return {
        "db_bytes": sha256(cfg.database_path),
        "files": published_files(out),
        "current": os.readlink(out / "current"),
    }


def _start_paused(config: Path, run_id: str, point: str) -> tuple[subprocess.Popen[bytes], Path]:
    """A real run in a child process that stops (sleeps) when it reaches `point`."""
    marker = config.parent / f"paused-{run_id}"
    env = {**os.environ, "HANLINK_TEST_PAUSE_AT": point, "HANLINK_TEST_PAUSE_MARKER": str(marker)}
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_SCRIPT, str(config), run_id],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"run ended before {point}: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"run never reached {point}")
        time.sleep(0.05)
    return proc, marker


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _kill_at(baseline: Path, point: str, tmp: Path) -> tuple[str, dict[str, object], dict[str, object], Path]:
    """Copy the published project, start a run, SIGKILL it at `point`; the states before and after."""
    proj = tmp / point
    shutil.copytree(baseline.parent, proj, symlinks=True)
    config = proj / baseline.name
    before = _snapshot(config)
    proc, _ = _start_paused(config, f"k_{point}", point)
    _kill(proc)
    return point, before, _snapshot(config), config


def test_sigkill_at_every_stage_leaves_the_previous_run_published(baseline: Path, tmp_path: Path) -> None:
    base_content = run_content(load_config(baseline), load_config(baseline).work_path / "output", "base")
    with ThreadPoolExecutor(2) as pool:  # each kill works on its own copy of the project
        results = list(pool.map(lambda p: _kill_at(baseline, p, tmp_path), KILL_POINTS))
    for point, before, after, config in results:
        cfg = load_config(config)
        if point == "publish":
            continue
        assert after == before, point  # warehouse file byte for byte, every output file, the pointer
        assert not journal_path_for(cfg.database_path).exists(), point
        assert staging_path_for(cfg.database_path).exists(), point  # the half-built copy, never published
        assert warehouse_digest(cfg.database_path)  # the warehouse opens and every table reads
    # Killed between the two renames of publish: the next start completes the publish from the journal.
    _, before, after, config = next(r for r in results if r[0] == "publish")
    cfg = load_config(config)
    assert journal_path_for(cfg.database_path).exists()
    assert after["current"] == before["current"]
    assert recover(cfg.database_path) == "k_publish"
    assert os.readlink(cfg.work_path / "output" / "current") == os.path.join("runs", "k_publish")
    assert run_content(cfg, cfg.work_path / "output", "k_publish") == base_content
    # A rerun after a kill completes, and gives what an uninterrupted run gave.
    cfg = load_config(next(r for r in results if r[0] == "score")[3])
    result = run_pipeline(cfg, run_id="again")
    assert not staging_path_for(cfg.database_path).exists()
    assert run_content(cfg, cfg.work_path / "output", "again") == base_content
    assert result.conservation["rows_in"] == result.conservation["crosswalk_rows"] == 300


def test_second_run_is_refused_while_one_is_going_and_readers_see_the_previous_run(
    baseline: Path, tmp_path: Path
) -> None:
    from hanlink.cli import app

    proj = tmp_path / "p"
    shutil.copytree(baseline.parent, proj, symlinks=True)
    config = proj / baseline.name
    before = _snapshot(config)
    cfg = load_config(config)
    proc, _ = _start_paused(config, "long", "compare")
    try:
        result = CliRunner().invoke(app, ["run", "--config", str(config)])
        assert result.exit_code == RunLockedError.exit_code == 75, result.output
        text = " ".join(result.output.split())  # the console wraps long lines
        assert "another run is in progress" in text and "另一个运行正在进行" in text
        assert "run_id long" in text and f"pid {proc.pid}" in text  # names the run holding the lock
        # Readers open the live warehouse during the run and see the previous one.
        with Database(cfg.database_path, read_only=True) as db:
            assert db.scalar("SELECT max(run_id) FROM run_log") == "base"
    finally:
        _kill(proc)
    assert _snapshot(config) == before
    with run_lock(cfg.database_path, "next"):  # the killed run's lock went with it
        pass


def test_lock_refuses_in_process_and_frees_on_exit(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with run_lock(db, "one"):
        with pytest.raises(RunLockedError) as exc, run_lock(db, "two"):
            pass
        assert exc.value.holder["run_id"] == "one" and exc.value.holder["pid"] == os.getpid()
    with run_lock(db, "three"):
        pass


def test_same_input_twice_gives_identical_content_and_nothing_new(baseline: Path, tmp_path: Path) -> None:
    proj = tmp_path / "p"
    shutil.copytree(baseline.parent, proj, symlinks=True)
    cfg = load_config(proj / baseline.name)
    out = cfg.work_path / "output"
    first = run_content(cfg, out, "base")
    result = run_pipeline(cfg, run_id="second")
    assert run_content(cfg, out, "second") == first
    ids = result.counts["identify"]
    assert ids["new_ids"] == 0 and ids["kept_ids"] > 0, ids
    assert all(ids[k] == 0 for k in ("created", "merged", "split", "retired")), ids
    # The previous run's folder is still there (kept), the pointer moved.
    assert (out / "runs" / "base" / "crosswalk.csv").exists()
    assert os.readlink(out / "current") == os.path.join("runs", "second")


def test_failed_run_publishes_nothing_and_keeps_its_copy(baseline: Path, tmp_path: Path) -> None:
    proj = tmp_path / "p"
    shutil.copytree(baseline.parent, proj, symlinks=True)
    config = proj / baseline.name
    before = _snapshot(config)
    cfg = load_config(config)
    (proj / "crm.csv").unlink()  # the source vanished: ingest fails with a SourceError
    from hanlink.errors import SourceError

    with pytest.raises(SourceError):
        run_pipeline(cfg, run_id="broken")
    assert _snapshot(config) == before
    failed = cfg.database_path.with_name(f".{cfg.database_path.name}.failed")
    with Database(failed, read_only=True) as db:
        status = db.scalar("SELECT status FROM run_log WHERE run_id = 'broken' AND stage = 'ingest'")
    assert status == "failed"
    assert not (cfg.work_path / "output" / "runs" / "broken").exists()


def test_labels_saved_during_a_run_are_carried_into_the_published_warehouse(tmp_path: Path) -> None:
    live, out = tmp_path / "w.duckdb", tmp_path / "out"
    with Database(live) as db:
        db.execute("CREATE TABLE review_labels (seq BIGINT, label VARCHAR)")
        db.execute("INSERT INTO review_labels VALUES (1, 'match')")
        db.execute("CREATE TABLE golden_records (v INTEGER)")
        db.execute("INSERT INTO golden_records VALUES (1)")
    staging = prepare(live, out, "r2")
    with Database(staging.path) as db:  # the run rebuilds its tables
        db.execute("CREATE OR REPLACE TABLE golden_records AS SELECT 2 AS v")
    with Database(live) as db:  # an analyst labels a pair meanwhile
        db.execute("INSERT INTO review_labels VALUES (2, 'non_match')")
    (staging.run_dir / "crosswalk.csv").write_text("x\n", encoding="utf-8")
    assert publish(staging)["carried_over"] == 1
    with Database(live, read_only=True) as db:
        labels = db.fetchall("SELECT seq, label FROM review_labels ORDER BY seq")
        assert db.scalar("SELECT v FROM golden_records") == 2
    assert labels == [(1, "match"), (2, "non_match")]
    assert (out / "crosswalk.csv").read_text(encoding="utf-8") == "x\n"


def test_old_flat_files_are_replaced_by_links_and_old_runs_pruned(tmp_path: Path) -> None:
    live, out = tmp_path / "w.duckdb", tmp_path / "out"
    out.mkdir()
    (out / "crosswalk.csv").write_text("old layout\n", encoding="utf-8")  # written by an older hanlink
    for i in range(5):
        staging = prepare(live, out, f"r{i}")
        with Database(staging.path) as db:
            db.execute(f"CREATE OR REPLACE TABLE t AS SELECT {i} AS v")
        (staging.run_dir / "crosswalk.csv").write_text(f"run {i}\n", encoding="utf-8")
        publish(staging, keep=3)
        time.sleep(0.01)
    assert (out / "crosswalk.csv").is_symlink()
    assert (out / "crosswalk.csv").read_text(encoding="utf-8") == "run 4\n"
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["r2", "r3", "r4"]


def test_hooks_run_at_their_points_and_a_failing_after_publish_keeps_the_run(
    baseline: Path, tmp_path: Path
) -> None:
    from hanlink.pipeline import Hooks

    proj = tmp_path / "p"
    shutil.copytree(baseline.parent, proj, symlinks=True)
    cfg = load_config(proj / baseline.name)
    seen: list[str] = []

    def before(ctx) -> None:  # type: ignore[no-untyped-def]
        assert ctx.database != cfg.database_path and ctx.cfg.database_path == ctx.database  # the staging copy
        seen.append("before")

    def export_extra(ctx, db) -> dict[str, Path]:  # type: ignore[no-untyped-def]
        path = ctx.run_dir / "dashboard.html"
        path.write_text(f"<p>{db.count('golden_records')}</p>", encoding="utf-8")
        return {"dashboard": path}

    def fail_after(ctx) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("notifier down")

    hooks = Hooks(
        before_run=[before],
        after_stage=[lambda ctx, db, stage, counts: seen.append(stage)],
        exporters=[export_extra],
        after_publish=[fail_after],
    )
    with pytest.raises(RuntimeError, match="notifier down"):
        run_pipeline(cfg, run_id="hooked", hooks=hooks)
    assert seen == ["before", *STAGES]
    out = cfg.work_path / "output"
    assert os.readlink(out / "current") == os.path.join("runs", "hooked")  # published, and stays so
    assert (out / "dashboard.html").read_text(encoding="utf-8").startswith("<p>")
    with Database(cfg.database_path, read_only=True) as db:
        ok = db.scalar("SELECT count(*) FROM run_log WHERE run_id = 'hooked' AND status = 'ok'")
    assert ok == len(STAGES)


def test_a_rerun_with_the_published_run_id_never_touches_the_published_folder(tmp_path: Path) -> None:
    live, out = tmp_path / "w.duckdb", tmp_path / "out"
    first = prepare(live, out, "same")
    Database(first.path).close()
    (first.run_dir / "crosswalk.csv").write_text("first\n", encoding="utf-8")
    publish(first)
    second = prepare(live, out, "same")  # the published runs/same stays readable during the run
    assert second.run_dir != first.run_dir
    assert (out / "crosswalk.csv").read_text(encoding="utf-8") == "first\n"
    Database(second.path).close()
    (second.run_dir / "crosswalk.csv").write_text("second\n", encoding="utf-8")
    publish(second)
    assert (out / "crosswalk.csv").read_text(encoding="utf-8") == "second\n"


def test_write_lock_makes_a_label_wait_for_the_swap(tmp_path: Path) -> None:
    from hanlink.errors import HanlinkError
    from hanlink.lock import write_lock

    db = tmp_path / "w.duckdb"
    # Held by publish from the carry-over to the rename; a label meanwhile waits (here: gives up after 0.2 s).
    with write_lock(db), pytest.raises(HanlinkError, match="being published"), write_lock(db, timeout=0.2):
        pass
    with write_lock(db, timeout=0.2):
        pass
