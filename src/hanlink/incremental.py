"""Incremental nights: match only the new and changed records against the existing entities.

A nightly export that holds only new and changed rows (same sources, same mappings as the config) is
brought into the warehouse built by the last full run, and only what it touches is redone:

  ingest/standardize/validate the delta (incremental_load) → block it against the whole warehouse, compare
  and score the new pairs with the saved model (incremental_match) → recluster the touched entities →
  stable ids (identity, scoped) → golden records of those entities (survive, scoped) → crosswalk rows of the
  touched keys → review queue → scorecard of the delta's rows (report, appended).

Cost grows with the delta and the entities it touches, not with the warehouse (a few whole-table scans of
narrow columns remain: key lookups, group sizes, term frequencies). The model is the last full run's: no EM
refit (the run log says so); a full run (`run_pipeline`) rebuilds everything and refits. See
docs/benchmarks.md for how closely the two agree.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from hanlink import tables as T
from hanlink.config import Config
from hanlink.db import Database
from hanlink.errors import ConservationError, HanlinkError
from hanlink.incremental_load import STD_SUPERSEDED, define_std_records, load_delta, read_deletions, warm_up
from hanlink.incremental_match import (
    AFFECTED,
    MATCH_VALUES_TABLE,
    NEW_ENTITIES,
    affected_records,
    block_delta,
    build_match_values,
    match_values_hash,
    recluster,
    update_match_values,
    update_pairs,
)
from hanlink.pipeline import TIMEZONE, RunResult, new_run_id, open_database

__all__ = [
    "INCREMENTAL_STATE",
    "apply_delta",
    "base_run_id",
    "check_books",
    "check_compatible",
    "prepare_after_full_run",
    "prepare_incremental",
    "run_incremental",
]

INCREMENTAL_STATE = "incremental_state"  # one row: the full run built on, the match-values version
_NEEDED = (
    T.STD_STANDARDIZED,
    T.STD_REJECTED,
    T.PAIRS_CANDIDATE,
    T.PAIRS_COMPARED,
    T.PAIRS_SCORED,
    T.MODEL_PARAMS,
    T.ENTITIES,
    T.CROSSWALK,
    T.GOLDEN_RECORDS,
    "entity_registry",
)
_TEMP = (
    "_inc_add",
    "_inc_lost",
    "_inc_final",
    "_inc_rules",
    "_inc_seed",
    "_inc_must",
    "_inc_new_mv",
    "_inc_old_mv",
    "_inc_gone_rids",
    "_inc_gone_keys",
    "_inc_touched_keys",
    "_inc_delta_keys",
    "_inc_deleted_keys",
    "_inc_old_ids",
    "_inc_prev",
    AFFECTED,
    NEW_ENTITIES,
)


def base_run_id(db: Database) -> str:
    """The full run the warehouse was built by (its model is the one incremental runs score with).

    HanlinkError when there is none: an incremental night needs a full run to build on."""
    missing = [t for t in _NEEDED if not db.has_table(t)]
    run = db.scalar(f"SELECT min(run_id) FROM {T.MODEL_PARAMS}") if T.MODEL_PARAMS not in missing else None
    if missing or run is None:
        raise HanlinkError(
            "no previous full run to build on — 没有可在其上增量运行的全量运行结果",
            where=", ".join(missing) or T.MODEL_PARAMS,
            hint="run the full pipeline first (`hanlink run`), then incremental nights",
        )
    if not db.scalar(f"SELECT count(*) FROM {T.STD_STANDARDIZED} WHERE run_id = ?", [run]):
        raise HanlinkError(
            f"the warehouse does not hold the rows of full run {run} — 仓库中没有该全量运行的数据",
            hint="run the full pipeline again",
        )
    return str(run)


def check_compatible(db: Database, cfg: Config) -> None:
    """The saved model and pairs must come from the same comparisons and blocking rules as this code and
    config; otherwise scores and pairs of two versions would mix (HanlinkError: run a full rebuild)."""
    from hanlink.block import BLOCKING_STATS, _rules, rule_name
    from hanlink.compare import COMPARISONS

    saved = db.query(f"SELECT comparison, level, label FROM {T.MODEL_PARAMS} WHERE comparison <> '_prior'")
    now = pl.DataFrame(
        [(c.name, i, lv.label) for c in COMPARISONS for i, lv in enumerate(c.levels)],
        schema={"comparison": pl.String, "level": pl.Int32, "label": pl.String},
        orient="row",
    )
    if not saved.cast(now.schema).sort(["comparison", "level"]).equals(now.sort(["comparison", "level"])):
        raise HanlinkError(
            "the last full run's model was fitted for other comparisons — 比较规则已变更",
            hint="run a full rebuild (`hanlink run`) before incremental nights",
        )
    if db.has_table(BLOCKING_STATS):
        before = {r[0] for r in db.fetchall(f"SELECT rule FROM {BLOCKING_STATS}")}
        if before != {rule_name(k) for k in _rules(cfg.blocking)}:
            raise HanlinkError(
                "blocking rules changed since the last full run — 分块规则已变更",
                hint="run a full rebuild (`hanlink run`) before incremental nights",
            )


def prepare_incremental(db: Database) -> dict[str, Any]:
    """Make the warehouse ready for incremental nights; cheap when already ready.

    After a new full run: forget the replaced-record list of the previous generation and (re)build
    pairs_match_values (≈ seconds per million records). Call it right after a full run (a pipeline hook) so
    the first night doesn't pay for it; run_incremental calls it anyway.
    """
    base = base_run_id(db)
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {INCREMENTAL_STATE} (base_run_id VARCHAR, match_values VARCHAR, "
        "last_run_id VARCHAR, updated_at TIMESTAMP)"
    )
    row = db.fetchall(f"SELECT base_run_id, match_values, last_run_id FROM {INCREMENTAL_STATE}")
    fresh_base = not row or row[0][0] != base
    if fresh_base:  # a full run rebuilt std_standardized: earlier replacements are void
        db.execute(f"CREATE OR REPLACE TABLE {STD_SUPERSEDED} (rid BIGINT, run_id VARCHAR, reason VARCHAR)")
        define_std_records(db)
    rebuilt = 0
    if fresh_base or row[0][1] != match_values_hash() or not db.has_table(MATCH_VALUES_TABLE):
        rebuilt = build_match_values(db)
    _write_state(db, base, None if fresh_base else row[0][2])
    return {"base_run_id": base, "match_values_rebuilt": rebuilt}


def prepare_after_full_run(ctx: Any, db: Database, stage: str, counts: dict[str, Any]) -> None:
    """A pipeline after_stage hook (pipeline.HOOKS.after_stage): after a full run's last stage, get the
    warehouse ready so the first incremental night doesn't pay for pairs_match_values."""
    from hanlink.pipeline import STAGES

    if stage == STAGES[-1]:
        counts["incremental_prepare"] = prepare_incremental(db)


def _write_state(db: Database, base: str, last_run: str | None) -> None:
    db.execute(f"DELETE FROM {INCREMENTAL_STATE}")
    db.execute(
        f"INSERT INTO {INCREMENTAL_STATE} VALUES (?, ?, ?, ?)",
        [base, match_values_hash(), last_run, datetime.now(TIMEZONE).replace(tzinfo=None)],
    )


def _log(
    db: Database, run_id: str, stage: str, started: float, seconds: float, counts: dict[str, Any]
) -> None:
    """A run_log row as the pipeline writes them; counts say this stage ran incrementally."""
    from hanlink.pipeline import log_stage

    log_stage(db, run_id, stage, started, seconds, "ok", {"mode": "incremental", **counts})


def apply_delta(
    db: Database,
    cfg: Config,
    run_id: str,
    *,
    deletions: pl.DataFrame | None = None,
    on_stage: Callable[[str], None] | None = None,
    out_dir: Path | None = None,
) -> RunResult:
    """Run an incremental night on an open warehouse (cfg.sources name the delta files); see module doc.

    `deletions`: (source, source_record_id) of records to remove. `out_dir`: where to write the night's
    changes (none written without it). Returns counts and seconds per stage, and the files written.
    HanlinkError when there is no full run to build on; ConservationError if rows are lost.
    """
    try:
        return _apply(db, cfg, run_id, deletions, on_stage, out_dir)
    finally:
        for t in _TEMP:
            db.execute(f"DROP TABLE IF EXISTS {t}")


def _apply(
    db: Database,
    cfg: Config,
    run_id: str,
    deletions: pl.DataFrame | None,
    on_stage: Callable[[str], None] | None,
    out_dir: Path | None,
) -> RunResult:
    result = RunResult(run_id=run_id, database=Path(db.path))
    clock = {"t": time.perf_counter(), "wall": time.time()}

    def done(stage: str, counts: dict[str, Any]) -> None:
        now = time.perf_counter()
        result.counts[stage] = counts
        result.seconds[stage] = now - clock["t"]
        _log(db, run_id, stage, clock["wall"], now - clock["t"], counts)
        clock["t"], clock["wall"] = now, time.time()

    def step(stage: str) -> None:
        if on_stage:
            on_stage(stage)

    warm_up()  # the delta stages' lookup tables build while the warehouse is checked and prepared
    step("prepare")
    check_compatible(db, cfg)
    prepared = prepare_incremental(db)
    done("prepare", prepared)
    step("load")
    loaded = load_delta(db, cfg, run_id, deletions=deletions)
    offset = loaded.pop("offset")
    done("load", loaded)  # the delta's ingest, standardize and validate
    step("block")
    update_match_values(db, cfg, offset)
    done("block", block_delta(db, cfg, offset))
    step("score")
    done("score", {**update_pairs(db, cfg), "note": "scored with the last full run's model: no EM refit"})
    step("cluster")
    n_affected = affected_records(db)
    done("cluster", {"affected_records": n_affected, **recluster(db)})
    step("identify")
    from hanlink.identity import assign_stable_ids

    db.execute(f"""CREATE OR REPLACE TEMP TABLE _inc_old_ids AS SELECT DISTINCT entity_id FROM {T.ENTITIES}
                   WHERE rid IN (SELECT rid FROM {AFFECTED}) OR rid IN (SELECT rid FROM _inc_gone_rids)""")
    db.execute(f"DELETE FROM {T.ENTITIES} WHERE rid IN (SELECT rid FROM _inc_gone_rids)")
    done("identify", assign_stable_ids(db, run_id, scope=NEW_ENTITIES, gone="_inc_gone_keys"))
    step("survive")
    done("survive", _survive(db, cfg, run_id))
    step("review")
    from hanlink.review import review

    done("review", review(db, cfg.matching, run_id, scope=AFFECTED))
    step("report")
    from hanlink.report import report

    counts = report(db, cfg.report, run_id, sources=list(cfg.sources))
    books = check_books(db, run_id)
    _mark_summary(db, run_id)
    done("report", {**counts, "books": books})
    result.counts["conservation"] = books
    _write_state(db, prepared["base_run_id"], run_id)  # the night doesn't change the base (no re-check)
    if out_dir is not None:
        result.outputs = _export(db, cfg, run_id, out_dir)
    return result


def _mark_summary(db: Database, run_id: str) -> None:
    """report's run summary balances a full run's books (crosswalk = this run's rows); an incremental
    night's crosswalk spans the warehouse, so its books are check_books' (which raised if unbalanced)."""
    from hanlink import report

    summary = getattr(report, "RUN_SUMMARY", "dq_run_summary")
    if db.has_table(summary):
        db.execute(f"UPDATE {summary} SET value = 1 WHERE run_id = ? AND metric = 'balanced'", [run_id])
        db.execute(
            f"""INSERT INTO {summary} BY NAME SELECT run_id, as_of, 'incremental' AS metric,
                       1.0 AS value FROM {summary} WHERE run_id = ? AND metric = 'balanced'""",
            [run_id],
        )


def _survive(db: Database, cfg: Config, run_id: str) -> dict[str, Any]:
    """Crosswalk rows of every touched key replaced; golden records of the affected entities rebuilt."""
    from hanlink.survive import survive

    db.execute(f"""DELETE FROM {T.CROSSWALK} c WHERE EXISTS (SELECT 1 FROM _inc_touched_keys k
                   WHERE k.source = c.source AND k.source_record_id = c.source_record_id)""")
    db.execute(
        f"""
        INSERT INTO {T.CROSSWALK} BY NAME
        SELECT source, coalesce(source_record_id, CAST(row_number AS VARCHAR)) AS source_record_id,
               CAST(row_number AS BIGINT) AS row_number, NULL::BIGINT AS rid, NULL::VARCHAR AS entity_id,
               'quarantined' AS status
        FROM {T.QUARANTINE} WHERE run_id = ? ORDER BY source, row_number""",
        [run_id],
    )
    counts = survive(db, cfg.survivorship, run_id, scope=AFFECTED, replace_ids="_inc_old_ids")
    counts["crosswalk_quarantined"] = int(
        db.scalar(f"SELECT count(*) FROM {T.QUARANTINE} WHERE run_id = ?", [run_id])
    )
    return counts


def check_books(db: Database, run_id: str) -> dict[str, int]:
    """Row conservation after an incremental night; ConservationError unless it holds.

    The delta: raw rows = standardized; standardized = accepted + quarantined at validate. The warehouse:
    every active record has exactly one entity; the crosswalk links each active record once; every delta
    row (and nothing deleted) is in the crosswalk."""
    raw = sum(
        int(db.scalar(f"SELECT count(*) FROM {t} WHERE _run_id = ?", [run_id]))
        for t in db.tables(T.RAW_PREFIX)
        if "_run_id" in db.columns(t)
    )
    mine = "WHERE run_id = ?"
    std = int(db.scalar(f"SELECT count(*) FROM {T.STD_STANDARDIZED} {mine}", [run_id]))
    accepted = int(db.scalar(f"SELECT count(*) FROM {T.STD_RECORDS} {mine}", [run_id]))
    held = dict(db.fetchall(f"SELECT stage, count(*) FROM {T.QUARANTINE} {mine} GROUP BY 1", [run_id]))
    active = db.count(T.STD_RECORDS)
    entity_rows = db.count(T.ENTITIES)
    with_entity = int(db.scalar(f"SELECT count(*) FROM {T.ENTITIES} SEMI JOIN {T.STD_RECORDS} USING (rid)"))
    linked = int(db.scalar(f"SELECT count(*) FROM {T.CROSSWALK} WHERE status = 'linked'"))
    touched = db.fetchall(f"""
        SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n > 1)
        FROM (SELECT count(c.source) AS n FROM _inc_delta_keys k LEFT JOIN {T.CROSSWALK} c
              ON c.source = k.source AND c.source_record_id = k.source_record_id GROUP BY k.source,
              k.source_record_id)""")[0]
    delta_keys = db.count("_inc_delta_keys")
    books = {
        "raw_rows": raw,
        "standardized": std,
        "accepted": accepted,
        "quarantined_ingest": int(held.get("ingest", 0)),
        "quarantined_validate": int(held.get("validate", 0)),
        "active_records": active,
        "entity_rows": entity_rows,
        "with_entity": with_entity,
        "crosswalk_linked": linked,
        "delta_keys": delta_keys,
        "delta_keys_in_crosswalk": int(touched[0]),
    }
    broken = [
        name
        for name, ok in {
            "raw rows = standardized": raw == std,
            "standardized = accepted + quarantined at validate": std
            == accepted + books["quarantined_validate"],
            "active records = entity rows = records with an entity": active == entity_rows == with_entity,
            "crosswalk links every active record once": linked == active,
            "every delta key once in the crosswalk": int(touched[0]) == delta_keys and not touched[1],
        }.items()
        if not ok
    ]
    if broken:
        raise ConservationError(
            f"rows not conserved 行数不守恒: {'; '.join(broken)} ({books})",
            stage="incremental",
            run_id=run_id,
        )
    return books


def _export(db: Database, cfg: Config, run_id: str, out_dir: Path) -> dict[str, Path]:
    """The night's changes: crosswalk rows and golden records touched, entity events, findings, scorecard."""
    from hanlink.export import findings_frame
    from hanlink.scorecard import scorecard_json

    out_dir.mkdir(parents=True, exist_ok=True)
    frames = {
        "crosswalk_changes": db.query(f"""
            SELECT c.source, c.source_record_id, c.entity_id, c.status FROM {T.CROSSWALK} c
            WHERE c.rid IN (SELECT rid FROM {AFFECTED}) OR EXISTS (SELECT 1 FROM _inc_touched_keys k
                  WHERE k.source = c.source AND k.source_record_id = c.source_record_id)
            UNION ALL
            SELECT source, source_record_id, NULL, 'deleted' FROM _inc_deleted_keys k
            WHERE NOT EXISTS (SELECT 1 FROM {T.CROSSWALK} c
                              WHERE k.source = c.source AND k.source_record_id = c.source_record_id)
            ORDER BY 1, 2"""),
        "golden_records_changes": db.query(f"""
            SELECT * FROM {T.GOLDEN_RECORDS}
            WHERE entity_id IN (SELECT entity_id FROM {T.ENTITIES} SEMI JOIN {AFFECTED} USING (rid))
            ORDER BY entity_id"""),
        "entity_events": db.query("SELECT * FROM entity_history WHERE run_id = ? ORDER BY seq", [run_id]),
        "findings": findings_frame(db, run_id, language=cfg.project.language, with_source=True),
    }
    # Masked by role like every export: the analyst (default) never sees a raw phone or ID number here.
    from hanlink.csvsafe import write_csv_safe
    from hanlink.privacy.roles import protect, resolve_role

    role = resolve_role(None, cfg.privacy.role)
    frames["golden_records_changes"] = protect(frames["golden_records_changes"], role)
    paths = {k: out_dir / f"{k}.csv" for k in frames}
    for key, frame in frames.items():
        write_csv_safe(frame, paths[key])   # formula-like cells neutralised, as in every export
    paths["scorecard"] = out_dir / "scorecard.json"
    paths["scorecard"].write_text(
        json.dumps(scorecard_json(db, run_id), ensure_ascii=False, indent=2, default=str, sort_keys=True),
        encoding="utf-8",
    )
    return paths


def run_incremental(
    cfg: Config,
    *,
    run_id: str | None = None,
    out_dir: Path | None = None,
    deletions: Path | str | pl.DataFrame | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> RunResult:
    """An incremental night: cfg.sources point at files of new/changed rows.

    Runs like a full run does (hanlink.pipeline): under the run lock, on a staging copy, published in one
    step; the run folder holds the whole warehouse's exports (so `<out>/crosswalk.csv` stays complete) and the
    night's changes in `changes/`. `deletions`: a CSV (source, source_record_id) or frame of records to
    remove. Refuses (HanlinkError) without a previous full run, before anything is copied.
    """
    from hanlink.export import export_outputs
    from hanlink.pipeline import finish_run, open_run

    dels = read_deletions(deletions) if isinstance(deletions, str | Path) else deletions
    if cfg.database_path.exists():
        with open_database(cfg, read_only=True) as db:
            base_run_id(db)  # refuse before copying or reading any file
    else:
        raise HanlinkError("no previous full run to build on — 没有可依据的完整运行: run `hanlink run` first")
    warm_up()  # overlaps the staging copy and the pre-run backup (both release the GIL)
    with open_run(cfg, run_id=run_id or new_run_id(), out_dir=out_dir) as ctx:
        with open_database(ctx.cfg) as db:
            night = apply_delta(db, ctx.cfg, ctx.run_id, deletions=dels, on_stage=on_stage,
                                out_dir=ctx.run_dir / "changes")
            paths = export_outputs(db, ctx.run_id, ctx.run_dir, language=ctx.cfg.project.language,
                                   privacy=ctx.cfg.privacy)
        ctx.result.counts.update(night.counts)
        ctx.result.seconds.update(night.seconds)
        paths.update({f"changes/{k}": p for k, p in night.outputs.items()})
        return finish_run(ctx, paths)
