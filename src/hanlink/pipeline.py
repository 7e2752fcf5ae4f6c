"""The pipeline as a recipe: one run at a time, built aside, stages in order, conservation checked, published
in one step.

A run: take the run lock → finish any interrupted publish → copy the live warehouse to a staging file →
[before_run hooks] → each stage on the staging copy, logged [after_stage hooks] → conservation summary →
export into the run's own folder [exporters] → publish (two renames, journalled) [after_publish hooks].
A run that fails or is killed leaves the published warehouse and files exactly as they were.
Hooks live in `HOOKS` (see `Hooks`); the Prefect flow runs the same steps, one task per stage.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import polars as pl

from hanlink import tables as T
from hanlink.config import Config
from hanlink.db import Database
from hanlink.errors import ConservationError, HanlinkError, StageError
from hanlink.lock import run_lock
from hanlink.publish import Staging, discard, fault_point, prepare, publish, recover, unshare

Stage = Literal[
    "ingest", "standardize", "validate", "block", "compare", "score", "cluster", "identify", "review",
    "survive", "report",
]
STAGES: tuple[Stage, ...] = (
    "ingest",
    "standardize",
    "validate",
    "block",
    "compare",
    "score",
    "cluster",
    "identify",  # analysts' overrides, then stable entity ids (identity.py, issue 5)
    "review",  # the analysts' review queue (review.py, issue 5)
    "survive",
    "report",
)
TIMEZONE = ZoneInfo("Asia/Shanghai")


def new_run_id(now: datetime | None = None) -> str:
    """A run id that sorts by time (Asia/Shanghai): 20261126T031500."""
    return (now or datetime.now(TIMEZONE)).strftime("%Y%m%dT%H%M%S")


def open_database(cfg: Config, *, read_only: bool = False) -> Database:
    """The warehouse, decrypted with the key from the environment or `privacy.db_key_file` when it has one."""
    from hanlink.privacy.keys import database_key

    if not read_only:  # the live file may be a pre-run backup's hard link: writes must not reach it
        unshare(cfg.database_path)
    return Database(
        cfg.database_path,
        read_only=read_only,
        memory_limit=cfg.project.memory_limit,
        threads=cfg.project.threads,
        encryption_key=database_key(cfg),
    )


def _stage_call(stage: Stage, db: Database, cfg: Config, run_id: str) -> dict[str, Any]:
    # Imported here so that `hanlink --help` stays fast and one broken stage can't break the CLI.
    if stage == "ingest":
        from hanlink.ingest import ingest

        return ingest(db, cfg.sources, run_id, base_dir=Path(cfg.base_dir))
    if stage == "standardize":
        from hanlink.standardize import standardize

        return standardize(db, cfg.sources, run_id)
    if stage == "validate":
        from hanlink.validate import validate

        return validate(db, cfg.sources, run_id)
    if cfg.spark.enabled and stage in ("block", "compare", "score", "cluster"):
        from hanlink.spark import run_stage as spark_stage  # the same SQL and functions, on Spark

        return spark_stage(stage, db, cfg, run_id)
    if stage == "block":
        from hanlink.block import block

        return block(db, cfg.blocking)
    if stage == "compare":
        from hanlink.compare import compare

        return compare(db)
    if stage == "score":
        from hanlink.score import score

        return score(db, cfg.matching, run_id)
    if stage == "cluster":
        from hanlink.cluster import cluster

        return cluster(db, cfg.matching)
    if stage == "identify":
        from hanlink.identity import identify

        return identify(db, run_id)
    if stage == "review":
        from hanlink.review import review

        return review(db, cfg.matching, run_id)
    if stage == "survive":
        from hanlink.survive import survive

        return survive(db, cfg.survivorship, run_id)
    from hanlink.report import report

    return report(db, cfg.report, run_id, sources=cfg.sources, quality=cfg.quality)


def log_stage(
    db: Database, run_id: str, stage: str, started: float, seconds: float, status: str, counts: dict[str, Any]
) -> None:
    """The stage's row in `run_log` (one per run and stage: a rerun replaces it)."""
    row = pl.DataFrame(
        {
            "run_id": [run_id],
            "stage": [stage],
            "started_at": [datetime.fromtimestamp(started, TIMEZONE).replace(tzinfo=None)],
            "seconds": [round(seconds, 3)],
            "status": [status],
            "counts": [json.dumps(counts, ensure_ascii=False, default=str, sort_keys=True)],
        }
    )
    if not db.has_table(T.RUN_LOG):
        db.write(T.RUN_LOG, row, mode="append")
        return
    with db.transaction():   # one commit, not two: a night writes this row nine times
        db.execute(f"DELETE FROM {T.RUN_LOG} WHERE run_id = ? AND stage = ?", [run_id, stage])
        db.write(T.RUN_LOG, row, mode="append")


def run_stage(stage: Stage, db: Database, cfg: Config, run_id: str) -> dict[str, Any]:
    """Run one stage, record it in `run_log`, and check the invariants that stage is bound by."""
    started = time.time()
    t0 = time.perf_counter()
    # a killed run's staging copy shows where it died
    log_stage(db, run_id, stage, started, 0.0, "running", {})
    fault_point(stage)
    try:
        counts = dict(_stage_call(stage, db, cfg, run_id) or {})
        counts.update(check_conservation(db, run_id, stage))
    except HanlinkError:
        log_stage(db, run_id, stage, started, time.perf_counter() - t0, "failed", {})
        raise
    except Exception as exc:  # a bug, not bad data: say which stage, keep the cause for the log
        log_stage(db, run_id, stage, started, time.perf_counter() - t0, "failed", {"error": repr(exc)})
        raise StageError(f"{type(exc).__name__}: {exc}", stage=stage, run_id=run_id) from exc
    log_stage(db, run_id, stage, started, time.perf_counter() - t0, "ok", counts)
    return counts


def check_conservation(db: Database, run_id: str, stage: Stage) -> dict[str, int]:
    """Every input row in exactly one place: raise ConservationError (loudly) when it isn't so."""
    out: dict[str, int] = {}
    if stage == "standardize":
        raw = sum(db.count(t) for t in db.tables(T.RAW_PREFIX))
        std = db.count(T.STD_STANDARDIZED)
        if raw != std:
            raise ConservationError(f"{raw} raw rows but {std} standardized", stage=stage, run_id=run_id)
        out["rows_raw"] = raw
    elif stage == "validate":
        std = db.count(T.STD_STANDARDIZED)
        kept = db.count(T.STD_RECORDS)
        held = (
            int(
                db.scalar(
                    f"SELECT count(*) FROM {T.QUARANTINE} WHERE run_id = ? AND stage = 'validate'", [run_id]
                )
                or 0
            )
            if db.has_table(T.QUARANTINE)
            else 0
        )
        if std != kept + held:
            raise ConservationError(
                f"{std} standardized rows but {kept} accepted + {held} quarantined",
                stage=stage,
                run_id=run_id,
            )
        out.update(rows_accepted=kept, rows_quarantined_validate=held)
    elif stage in ("cluster", "identify"):
        recs = db.count(T.STD_RECORDS)
        ent = int(
            db.scalar(f"SELECT count(DISTINCT e.rid) FROM {T.ENTITIES} e JOIN {T.STD_RECORDS} s USING (rid)")
            or 0
        )
        total = db.count(T.ENTITIES)
        if not recs == ent == total:
            raise ConservationError(
                f"{recs} records, {ent} of them with an entity, {total} entity rows: "
                "each record needs exactly one",
                stage=stage,
                run_id=run_id,
            )
        out["rows_with_entity"] = ent
    elif stage == "survive":
        rows_in = _rows_in(db, run_id)
        xw = db.count(T.CROSSWALK)
        if xw != rows_in:
            raise ConservationError(
                f"{rows_in} input rows but {xw} crosswalk rows: each input row needs exactly one",
                stage=stage,
                run_id=run_id,
            )
        out["crosswalk_rows"] = xw
    return out


def _quarantined(db: Database, run_id: str, stage: str) -> int:
    if not db.has_table(T.QUARANTINE):
        return 0
    sql = f"SELECT count(*) FROM {T.QUARANTINE} WHERE run_id = ? AND stage = ?"
    return int(db.scalar(sql, [run_id, stage]) or 0)


def _set_aside(db: Database, run_id: str) -> tuple[int, int]:
    """Rows of this run taken out after standardize by privacy rules: (held back by a deletion request,
    purged by retention). Neither keeps personal values; both are counted so that the books still balance."""
    held = purged = 0
    if db.has_table("privacy_holdback"):
        held = int(db.scalar("SELECT count(*) FROM privacy_holdback WHERE run_id = ?", [run_id]) or 0)
    if db.has_table("privacy_retention"):
        purged = int(db.scalar("SELECT count(*) FROM privacy_retention WHERE run_id = ? AND action = 'purge'",
                               [run_id]) or 0)
    return held, purged


def _rows_in(db: Database, run_id: str) -> int:
    """Rows that reached a place of their own: raw (then standardized) or quarantined at ingest."""
    return sum(db.count(t) for t in db.tables(T.RAW_PREFIX)) + _quarantined(db, run_id, "ingest")


def conservation_summary(db: Database, run_id: str) -> dict[str, int]:
    """Where every input row of the run went; ConservationError (loud) unless the books balance:
    rows_in = standardized + quarantined at ingest; standardized = accepted + quarantined at validate;
    accepted = records with exactly one entity; crosswalk rows = rows_in."""
    held, purged = _set_aside(db, run_id)
    out = {
        "rows_in": _rows_in(db, run_id) + held + purged,
        "quarantined_ingest": _quarantined(db, run_id, "ingest"),
        "held_back": held,
        "purged": purged,
        "standardized": db.count(T.STD_STANDARDIZED),
        "quarantined_validate": _quarantined(db, run_id, "validate"),
        "accepted": db.count(T.STD_RECORDS),
        "with_entity": int(
            db.scalar(f"SELECT count(DISTINCT rid) FROM {T.ENTITIES} JOIN {T.STD_RECORDS} USING (rid)") or 0
        ),
        "entity_rows": db.count(T.ENTITIES),
        "crosswalk_rows": db.count(T.CROSSWALK),
    }
    books = {
        "rows_in = standardized + quarantined_ingest + held_back + purged": out["rows_in"]
        == out["standardized"] + out["quarantined_ingest"] + held + purged,
        "standardized = accepted + quarantined_validate": out["standardized"]
        == out["accepted"] + out["quarantined_validate"],
        "accepted = with_entity = entity_rows": out["accepted"] == out["with_entity"] == out["entity_rows"],
        "crosswalk_rows = rows_in - held_back - purged": out["crosswalk_rows"]
        == out["rows_in"] - held - purged,
    }
    broken = [k for k, ok in books.items() if not ok]
    if broken:
        raise ConservationError(
            f"rows not conserved 行数不守恒: {'; '.join(broken)} ({out})", stage="publish", run_id=run_id
        )
    return out



@dataclass
class RunResult:
    """What a run did: its id, per-stage counts and seconds, where its outputs are, and its row books."""

    run_id: str
    database: Path
    counts: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)  # stable flat paths: <out>/<file> → current run
    run_dir: Path | None = None  # this run's own folder: <out>/runs/<run_id>
    conservation: dict[str, int] = field(default_factory=dict)  # conservation_summary
    publish: dict[str, Any] = field(default_factory=dict)  # copy seconds/bytes, carried-over rows, recovered


@dataclass
class RunContext:
    """One run in progress: `cfg` points at the staging copy (cfg.database_path is where stages write),
    `live_cfg` at the published warehouse; files for this run go to `run_dir`."""

    cfg: Config
    live_cfg: Config
    run_id: str
    staging: Staging
    result: RunResult
    published: bool = False

    @property
    def database(self) -> Path:
        return self.staging.path

    @property
    def run_dir(self) -> Path:
        return self.staging.run_dir


RunHook = Callable[[RunContext], None]
StageHook = Callable[[RunContext, Database, Stage, dict[str, Any]], None]
Exporter = Callable[[RunContext, Database], dict[str, Path]]


@dataclass
class Hooks:
    """Where other subsystems plug into a run. Each list runs in order; an exception fails the run (nothing
    is published). All see the staging copy, never the live warehouse.

    - before_run(ctx): lock held, staging copy ready, before ingest (e.g. apply pending deletion requests).
    - after_stage(ctx, db, stage, counts): after a stage succeeded and was logged, on the run's connection.
    - exporters(ctx, db) -> {name: path}: write extra files (dashboard, masked exports) into ctx.run_dir;
      they are published with the rest, atomically. Return the paths you wrote (inside ctx.run_dir).
    - after_publish(ctx): the run is current (notify, alerts); an exception here reaches the caller (its exit
      code) but the run stays published.
    """

    before_run: list[RunHook] = field(default_factory=list)
    after_stage: list[StageHook] = field(default_factory=list)
    exporters: list[Exporter] = field(default_factory=list)
    after_publish: list[RunHook] = field(default_factory=list)


def _privacy_before_run(ctx: RunContext) -> None:
    from hanlink.privacy.hooks import before_run

    backup = before_run(ctx.live_cfg)  # a verified backup of the published warehouse (None on a first run)
    ctx.result.publish["backup"] = str(backup) if backup else None
    if backup is not None:  # audited in the warehouse this run publishes: the live file stays untouched
        from hanlink.privacy import audit

        with open_database(ctx.cfg) as db:
            audit.record(db, "backup", str(backup), None, actor=audit.current_actor(ctx.cfg.privacy.identity),
                         detail={"label": "pre-run", "run_id": ctx.run_id})


def _privacy_after_stage(ctx: RunContext, db: Database, stage: Stage, counts: dict[str, Any]) -> None:
    from hanlink.privacy.hooks import after_run, after_standardize

    if stage == "standardize":  # deletion requests hold people back; retention flags or purges
        ctx.result.counts["privacy"] = after_standardize(db, ctx.cfg, ctx.run_id)
    elif stage == "report":  # the run's audit entry, inside the warehouse it publishes
        after_run(db, ctx.cfg, ctx.run_id, ctx.result.counts.get("privacy"))


def default_hooks() -> Hooks:
    """The hooks of a normal run: backup before, privacy after standardize, audit at the end."""
    return Hooks(before_run=[_privacy_before_run], after_stage=[_privacy_after_stage])


HOOKS = default_hooks()  # the hooks every run uses (the CLI's and the Prefect flow's)


def staged_config(cfg: Config, database: Path) -> Config:
    """The same config with its warehouse moved to `database` (the run's staging copy)."""
    project = cfg.project.model_copy(update={"database": str(Path(database).resolve())})
    return cfg.model_copy(update={"project": project})


@contextmanager
def open_run(
    cfg: Config, *, run_id: str | None = None, out_dir: Path | None = None, hooks: Hooks | None = None
) -> Iterator[RunContext]:
    """Start a run aside and hold the run lock until the block ends; `finish_run(ctx)` publishes it.

    RunLockedError when another run holds the lock. If the block raises (or ends without finish_run), the
    staging copy is kept as `.<database>.failed` and nothing is published."""
    run_id = run_id or new_run_id()
    live = Path(cfg.database_path)
    with run_lock(live, run_id):
        recovered = recover(live)
        staging = prepare(live, Path(out_dir) if out_dir else cfg.work_path / "output", run_id)
        result = RunResult(run_id=run_id, database=live, run_dir=staging.run_dir)
        result.publish = {
            "copy_seconds": round(staging.copy_seconds, 3),
            "copy_bytes": staging.copy_bytes,
            "recovered_run": recovered,
        }
        ctx = RunContext(staged_config(cfg, staging.path), cfg, run_id, staging, result)
        try:
            for hook in (hooks or HOOKS).before_run:
                hook(ctx)
            yield ctx
        except BaseException:
            if not ctx.published:  # an after_publish hook may fail: the run stays published
                discard(staging)
            raise
        if not ctx.published:  # the block ended without publishing
            discard(staging)


def run_stage_in(ctx: RunContext, stage: Stage, db: Database, hooks: Hooks | None = None) -> dict[str, Any]:
    """Run one stage of the run on `db` (its staging copy), then the after_stage hooks."""
    t0 = time.perf_counter()
    counts = run_stage(stage, db, ctx.cfg, ctx.run_id)
    ctx.result.counts[stage] = counts
    ctx.result.seconds[stage] = time.perf_counter() - t0
    for hook in (hooks or HOOKS).after_stage:
        hook(ctx, db, stage, counts)
    return counts


def export_run(ctx: RunContext, db: Database, hooks: Hooks | None = None) -> dict[str, Path]:
    """Check the row books and write the run's files into its own folder (not yet visible to readers)."""
    from hanlink.export import export_outputs

    fault_point("export")
    ctx.result.conservation = conservation_summary(db, ctx.run_id)
    paths = export_outputs(db, ctx.run_id, ctx.run_dir, language=ctx.cfg.project.language,
                           privacy=ctx.cfg.privacy)
    for exporter in (hooks or HOOKS).exporters:
        paths.update(exporter(ctx, db))
    return paths


def finish_run(ctx: RunContext, paths: dict[str, Path], hooks: Hooks | None = None) -> RunResult:
    """Publish the run (the staging connection must be closed): it becomes the current one in one step."""
    ctx.result.publish.update(publish(ctx.staging))
    ctx.published = True
    out_root = ctx.staging.out_root
    ctx.result.outputs = {
        k: out_root / p.relative_to(ctx.run_dir) if p.is_relative_to(ctx.run_dir) else p
        for k, p in paths.items()
    }
    for hook in (hooks or HOOKS).after_publish:
        hook(ctx)
    return ctx.result


def run_pipeline(
    cfg: Config,
    *,
    run_id: str | None = None,
    out_dir: Path | None = None,
    on_stage: Callable[[Stage], None] | None = None,
    hooks: Hooks | None = None,
) -> RunResult:
    """Run every stage once, aside, and publish: the warehouse and the files in `out_dir` change in one step.

    `out_dir` defaults to <work_dir>/output; the files are in <out_dir>/runs/<run_id>/, and <out_dir>/<file>
    always shows the current run. `on_stage` is called before each stage (progress display).
    RunLockedError if another run is going; on any failure the previous run stays published."""
    with open_run(cfg, run_id=run_id, out_dir=out_dir, hooks=hooks) as ctx:
        with open_database(ctx.cfg) as db:
            for stage in STAGES:
                if on_stage:
                    on_stage(stage)
                run_stage_in(ctx, stage, db, hooks)
            paths = export_run(ctx, db, hooks)
        return finish_run(ctx, paths, hooks)
