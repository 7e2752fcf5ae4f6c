"""Incremental nights, part 1: the delta read, standardized and validated aside, then added to the warehouse.

The delta files go through the very stages of a full run (ingest, standardize, validate) in a scratch
in-memory database, so a row is read and judged exactly as a full run would. The results are appended to the
warehouse with rids continuing after the largest rid ever given (never reused). A record is its
(source, source_record_id): a delta row with a known key replaces the previous version, whose rid goes to
`std_superseded` (reason 'changed', with the run that replaced it); keys in the deletions list go there too
(reason 'deleted'). `std_records` becomes std_standardized minus rejected minus superseded rows.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import Any

import polars as pl

from hanlink import tables as T
from hanlink.config import Config
from hanlink.db import Database, ident
from hanlink.errors import ConfigError, SourceError

STD_SUPERSEDED = "std_superseded"  # rid, run_id (the run that replaced or deleted it), reason
_SUPERSEDED_DDL = f"CREATE TABLE IF NOT EXISTS {STD_SUPERSEDED} (rid BIGINT, run_id VARCHAR, reason VARCHAR)"
_KEYS = "source VARCHAR, source_record_id VARCHAR"


def read_deletions(path: str | Path) -> pl.DataFrame:
    """The deletions list: a CSV with columns source, source_record_id (other columns ignored)."""
    p = Path(path)
    if not p.is_file():
        raise SourceError("deletions file not found", source="deletions", path=str(p))
    frame = pl.read_csv(p, infer_schema=False)
    missing = {"source", "source_record_id"} - set(frame.columns)
    if missing:
        raise SourceError(
            f"deletions file lacks column(s) {sorted(missing)}",
            source="deletions",
            path=str(p),
            hint="columns: source, source_record_id",
        )
    return frame.select("source", "source_record_id").unique().sort("source", "source_record_id")


_WARM: dict[str, threading.Thread] = {}


def _build_lookups() -> None:
    """Import the delta stages and build their per-process lookup tables (each cached once per process)."""
    try:
        for module in ("hanlink.ingest", "hanlink.validate"):  # validate: pandera and the schemas
            importlib.import_module(module)
        from hanlink.standardize import addresses, lookups, romanized

        lookups.t2s_table()
        lookups.pinyin_table()
        romanized.surname_ranks()
        lookups.known_adcodes()
        addresses.admin_index()
    except Exception:  # only a head start: the stages themselves raise what matters
        pass


def warm_up() -> threading.Thread:
    """Start building the delta stages' fixed per-process costs (imports; pinyin, traditional→simplified,
    division tables: ≈ 1.5 s, pure Python) in a background thread, once per process, so that they overlap
    the warehouse work done before the delta is standardized (DuckDB, the staging copy and the backup of a
    published night release the GIL). `_scratch_stages` joins it before standardize, so the tables are never
    built twice at once."""
    thread = _WARM.get("thread")
    if thread is None:
        thread = threading.Thread(target=_build_lookups, name="hanlink-warm-up", daemon=True)
        _WARM["thread"] = thread
        thread.start()
    return thread


def check_record_ids(cfg: Config) -> None:
    """A record can only be replaced by key: every source must map record_id."""
    missing = [s.name for s in cfg.sources if "record_id" not in s.fields]
    if missing:
        raise ConfigError(
            "incremental runs need a record id for every source — 增量运行要求每个来源映射记录编号",
            key=f"sources[{', '.join(missing)}].fields.record_id",
            valid="map record_id to the column that identifies a record in that source",
        )


def _scratch_stages(
    cfg: Config, run_id: str, listed: pl.DataFrame | None = None
) -> tuple[dict[str, Any], dict[str, pl.DataFrame]]:
    """Ingest, standardize and validate the delta in a scratch database: (counts, the tables produced).

    `listed`: the warehouse's suppression list — people who asked to be forgotten are held back right after
    standardize, as in a full run (privacy_holdback keeps no values)."""
    from hanlink.ingest import ingest
    from hanlink.privacy import suppression
    from hanlink.standardize import standardize
    from hanlink.validate import validate

    out: dict[str, pl.DataFrame] = {}
    with Database(":memory:") as scratch:
        counts: dict[str, Any] = {"ingest": ingest(scratch, cfg.sources, run_id, base_dir=Path(cfg.base_dir))}
        warm_up().join()  # the lookup tables: built by now, or being built (never twice at once)
        counts["standardize"] = standardize(scratch, cfg.sources, run_id)
        if listed is not None and not listed.is_empty():
            from hanlink.privacy.tokens import token_key

            file = cfg.privacy.token_key_file
            key = token_key(key_file=str(cfg.resolve(file)) if file else None)
            counts["privacy"] = suppression.apply(scratch, run_id, token_key=key, listed=listed)
        counts["validate"] = validate(scratch, cfg.sources, run_id)
        for name in (
            suppression.HOLDBACK,
            T.QUARANTINE,
            T.STD_STANDARDIZED,
            T.DQ_FINDINGS,
            T.STD_REJECTED,
            *(T.raw_table(s.name) for s in cfg.sources),
        ):
            if scratch.has_table(name):
                out[name] = scratch.table(name)
    return counts, out


def _append_raw(db: Database, table: str, frame: pl.DataFrame) -> None:
    """Append delta raw rows; a header the warehouse's raw table lacks becomes a new VARCHAR column."""
    if db.has_table(table):
        have = set(db.columns(table))
        for col in frame.columns:
            if col not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {ident(col)} VARCHAR")
    db.write(table, frame, mode="append")


def load_delta(
    db: Database, cfg: Config, run_id: str, *, deletions: pl.DataFrame | None = None
) -> dict[str, Any]:
    """Bring the delta into the warehouse; leaves temp tables for the matching step:

    `_inc_gone_rids` (rid: records of std_records before this run that are replaced or deleted),
    `_inc_gone_keys` (their keys), `_inc_touched_keys` (every key of the delta or the deletions list).
    Returns counts per stage plus `offset` (the first rid of this run).
    """
    from hanlink.privacy.suppression import HOLDBACK, suppression_list

    check_record_ids(cfg)
    counts, frames = _scratch_stages(cfg, run_id, suppression_list(db))
    offset = int(db.scalar(f"SELECT coalesce(max(rid), -1) + 1 FROM {T.STD_STANDARDIZED}"))
    shift = pl.col("rid") + offset
    std = frames[T.STD_STANDARDIZED].with_columns(shift)
    quarantine = frames.get(T.QUARANTINE)
    keys = std.select("source", "source_record_id")
    if quarantine is not None and quarantine.height:
        keys = pl.concat(
            [
                keys,
                quarantine.filter(pl.col("source_record_id").is_not_null()).select(
                    "source", "source_record_id"
                ),
            ]
        )
    db.execute(_SUPERSEDED_DDL)
    db.write("_inc_delta_keys", keys.unique())
    dels = (
        deletions
        if deletions is not None
        else pl.DataFrame(schema={"source": pl.String, "source_record_id": pl.String})
    )
    db.write("_inc_deleted_keys", dels.select("source", "source_record_id"))
    # The previous versions of every key the night names (changed or deleted), found in one scan of
    # std_standardized; what follows reads this small table instead of scanning the warehouse again.
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _inc_prev AS
        SELECT s.rid, s.source, s.source_record_id FROM {T.STD_STANDARDIZED} s
        SEMI JOIN (SELECT source, source_record_id FROM _inc_delta_keys
                   UNION SELECT source, source_record_id FROM _inc_deleted_keys) k
          ON k.source = s.source AND k.source_record_id = s.source_record_id
        WHERE s.rid < {offset} AND s.rid NOT IN (SELECT rid FROM {STD_SUPERSEDED})""")
    rid_sql = """
        SELECT s.rid FROM _inc_prev s SEMI JOIN {keys} k
          ON k.source = s.source AND k.source_record_id = s.source_record_id"""
    run = run_id.replace("'", "''")
    with db.transaction():
        for src in cfg.sources:
            raw = frames.get(T.raw_table(src.name))
            if raw is not None:
                _append_raw(db, T.raw_table(src.name), raw)
        if quarantine is not None:
            db.execute(f"DELETE FROM {T.QUARANTINE} WHERE run_id = ?", [run_id])
            db.write(T.QUARANTINE, quarantine, mode="append")
        held = frames.get(HOLDBACK)
        if held is not None and held.height:
            if db.has_table(HOLDBACK):
                db.execute(f"DELETE FROM {HOLDBACK} WHERE run_id = ?", [run_id])
            db.write(HOLDBACK, held, mode="append")
        # Previous versions: changed keys first; a deleted key that also came back in the delta stays.
        # Gone from std_records = superseded now and not rejected (none of _inc_prev was superseded before):
        # the same rows as a semi join with the std_records view, without its scan of std_standardized.
        db.execute(f"""
            CREATE OR REPLACE TEMP TABLE _inc_superseded AS
            SELECT rid, 'changed' AS reason FROM ({rid_sql.format(keys="_inc_delta_keys")})
            UNION ALL
            SELECT rid, 'deleted' FROM ({rid_sql.format(keys="_inc_deleted_keys")})
            WHERE rid NOT IN ({rid_sql.format(keys="_inc_delta_keys")})""")
        db.execute(f"""
            CREATE OR REPLACE TEMP TABLE _inc_gone_rids AS
            SELECT rid FROM _inc_superseded WHERE rid NOT IN (SELECT rid FROM {T.STD_REJECTED})""")
        db.execute("""
            CREATE OR REPLACE TEMP TABLE _inc_gone_keys AS
            SELECT DISTINCT s.source, s.source_record_id FROM _inc_prev s
            SEMI JOIN _inc_gone_rids USING (rid)""")
        db.execute(
            f"INSERT INTO {STD_SUPERSEDED} SELECT rid, '{run}', reason FROM _inc_superseded ORDER BY rid"
        )
        db.write(T.STD_STANDARDIZED, std, mode="append")
        if T.DQ_FINDINGS in frames:
            db.write(T.DQ_FINDINGS, frames[T.DQ_FINDINGS].with_columns(shift), mode="append")
        if T.STD_REJECTED in frames:
            db.write(T.STD_REJECTED, frames[T.STD_REJECTED].with_columns(shift), mode="append")
        define_std_records(db)
        db.execute("""
            CREATE OR REPLACE TEMP TABLE _inc_touched_keys AS
            SELECT source, source_record_id FROM _inc_delta_keys
            UNION SELECT source, source_record_id FROM _inc_deleted_keys""")
    superseded = dict(db.fetchall("SELECT reason, count(*) FROM _inc_superseded GROUP BY 1"))
    counts["validate"] = {
        **counts["validate"],
        "replaced": int(superseded.get("changed", 0)),
        "deleted": int(superseded.get("deleted", 0)),
        "deletions_requested": dels.height,
        "first_rid": offset,
    }
    counts["offset"] = offset
    db.execute("DROP TABLE IF EXISTS _inc_superseded")
    db.execute("DROP TABLE IF EXISTS _inc_prev")
    return counts


def define_std_records(db: Database) -> None:
    """std_records as a view: rows not rejected by validate and not replaced or deleted since."""
    db.execute(_SUPERSEDED_DDL)
    db.drop(T.STD_RECORDS)
    db.execute(f"""CREATE VIEW {T.STD_RECORDS} AS SELECT * FROM {T.STD_STANDARDIZED}
        WHERE rid NOT IN (SELECT rid FROM {T.STD_REJECTED})
          AND rid NOT IN (SELECT rid FROM {STD_SUPERSEDED})""")
