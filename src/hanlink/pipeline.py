"""The pipeline as a recipe: run the stages in order on one database, log each, check row conservation."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
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
    return Database(
        cfg.database_path,
        read_only=read_only,
        memory_limit=cfg.project.memory_limit,
        threads=cfg.project.threads,
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

    return report(db, cfg.report, run_id, sources=cfg.sources)


def _log(
    db: Database, run_id: str, stage: str, started: float, seconds: float, status: str, counts: dict[str, Any]
) -> None:
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
    if db.has_table(T.RUN_LOG):
        db.execute(f"DELETE FROM {T.RUN_LOG} WHERE run_id = ? AND stage = ?", [run_id, stage])
    db.write(T.RUN_LOG, row, mode="append")


def run_stage(stage: Stage, db: Database, cfg: Config, run_id: str) -> dict[str, Any]:
    """Run one stage, record it in `run_log`, and check the invariants that stage is bound by."""
    started = time.time()
    t0 = time.perf_counter()
    try:
        counts = dict(_stage_call(stage, db, cfg, run_id) or {})
        counts.update(check_conservation(db, run_id, stage))
    except HanlinkError:
        _log(db, run_id, stage, started, time.perf_counter() - t0, "failed", {})
        raise
    except Exception as exc:  # a bug, not bad data: say which stage, keep the cause for the log
        _log(db, run_id, stage, started, time.perf_counter() - t0, "failed", {"error": repr(exc)})
        raise StageError(f"{type(exc).__name__}: {exc}", stage=stage, run_id=run_id) from exc
    _log(db, run_id, stage, started, time.perf_counter() - t0, "ok", counts)
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
    return out


@dataclass
class RunResult:
    """What a run did: its id, per-stage counts and seconds, and where its outputs are."""

    run_id: str
    database: Path
    counts: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)


def run_pipeline(
    cfg: Config,
    *,
    run_id: str | None = None,
    out_dir: Path | None = None,
    on_stage: Callable[[Stage], None] | None = None,
) -> RunResult:
    """Run every stage once on the config's database, then export the outputs to `out_dir`.

    `out_dir` defaults to <work_dir>/output. `on_stage` is called before each stage (progress display).
    """
    from hanlink.export import export_outputs

    run_id = run_id or new_run_id()
    result = RunResult(run_id=run_id, database=cfg.database_path)
    with open_database(cfg) as db:
        for stage in STAGES:
            if on_stage:
                on_stage(stage)
            t0 = time.perf_counter()
            result.counts[stage] = run_stage(stage, db, cfg, run_id)
            result.seconds[stage] = time.perf_counter() - t0
        result.outputs = export_outputs(
            db, run_id, out_dir or cfg.work_path / "output", language=cfg.project.language
        )
    return result
