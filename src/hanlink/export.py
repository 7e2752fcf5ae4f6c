"""Writes a run's outputs to a folder: the file contract that other tools and the one-shot CLI rely on.

Files (names and columns are a contract, keep them stable):
- crosswalk.csv       source_record_id,entity_id — one row per input record, in input order; quarantined
                      records have an empty entity_id. With several sources a leading `source`
                      column is added.
- findings.csv        source_record_id,rule_id,field,severity,message — one row per problem found
                      (quarantined-at-ingest rows included); values in messages are masked.
- golden_records.csv  one row per entity.
- scorecard.json      the run's quality scorecard.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import polars as pl

from hanlink import tables as T
from hanlink.db import Database

Language = Literal["zh", "en"]


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file and rename, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def crosswalk_frame(db: Database, *, with_source: bool) -> pl.DataFrame:
    """The crosswalk in input order (source, then row number)."""
    cols = "source, source_record_id, entity_id" if with_source else "source_record_id, entity_id"
    return db.query(f"SELECT {cols} FROM {T.CROSSWALK} ORDER BY source, row_number, source_record_id")


def findings_frame(
    db: Database, run_id: str, *, language: Language = "zh", with_source: bool = False
) -> pl.DataFrame:
    msg = "message_zh" if language == "zh" else "message_en"
    reason = "reason_zh" if language == "zh" else "reason_en"
    src = "source, " if with_source else ""
    parts = [
        f"""SELECT {src}source_record_id, rule_id, field, severity, {msg} AS message,
                        source AS _s, row_number AS _r
                 FROM {T.DQ_FINDINGS} WHERE run_id = ?"""
    ]
    params: list[object] = [run_id]
    if db.has_table(T.QUARANTINE):
        # Rows that could not even be read have no findings of their own: their reason is the finding.
        parts.append(f"""SELECT {src}coalesce(source_record_id, CAST(row_number AS VARCHAR)),
                                unnest(string_split(rule_ids, ';')), NULL, 'reject', {reason},
                                source, row_number
                         FROM {T.QUARANTINE} WHERE run_id = ? AND stage = 'ingest'""")
        params.append(run_id)
    sql = " UNION ALL ".join(parts)
    return db.query(f"SELECT * EXCLUDE (_s, _r) FROM ({sql}) ORDER BY _s, _r, rule_id", params)


def export_outputs(db: Database, run_id: str, out_dir: Path, *, language: Language = "zh") -> dict[str, Path]:
    """Write crosswalk, findings, golden records and scorecard of `run_id` to `out_dir`; returns the paths."""
    from hanlink.scorecard import scorecard_json

    out_dir.mkdir(parents=True, exist_ok=True)
    n_sources = int(db.scalar(f"SELECT count(DISTINCT source) FROM {T.CROSSWALK}") or 0)
    with_source = n_sources > 1
    paths = {
        "crosswalk": out_dir / "crosswalk.csv",
        "findings": out_dir / "findings.csv",
        "golden_records": out_dir / "golden_records.csv",
        "scorecard": out_dir / "scorecard.json",
    }
    frames = {
        "crosswalk": crosswalk_frame(db, with_source=with_source),
        "findings": findings_frame(db, run_id, language=language, with_source=with_source),
        "golden_records": db.query(f"SELECT * FROM {T.GOLDEN_RECORDS} ORDER BY entity_id"),
    }
    for key, frame in frames.items():
        _atomic_write(paths[key], frame.write_csv)
    card = scorecard_json(db, run_id)
    _atomic_write(
        paths["scorecard"],
        lambda p: p.write_text(
            json.dumps(card, ensure_ascii=False, indent=2, default=str, sort_keys=True), encoding="utf-8"
        ),
    )
    return paths
