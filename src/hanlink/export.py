"""Writes a run's outputs to a folder: the file contract that other tools and the one-shot CLI rely on.

Files (names and columns are a contract, keep them stable):
- crosswalk.csv       source_record_id,entity_id — one row per input record, in input order; quarantined
                      records have an empty entity_id. With several sources a leading `source`
                      column is added.
- findings.csv        source_record_id,rule_id,field,severity,message — one row per problem found
                      (quarantined-at-ingest rows included); values in messages are masked.
- golden_records.csv  one row per entity.
- scorecard.json      the run's quality scorecard.

What is written depends on the role (hanlink.privacy.roles): a steward gets the files above as they are;
an analyst (the default) gets them with every sensitive value masked and, given a token key, a keyed token
beside each phone / ID number / email; a manager gets scorecard.json and findings_summary.csv (counts)
only. With encryption on, each file is written as `<name>.enc` instead. Every export is audited.
Cells a spreadsheet would run as a formula (`=cmd|…`) are written with a leading apostrophe (csvsafe).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl

from hanlink import tables as T
from hanlink.csvsafe import write_csv_safe
from hanlink.db import Database

if TYPE_CHECKING:
    from hanlink.config import PrivacyConfig
    from hanlink.privacy.roles import Role

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


def findings_summary_frame(db: Database, run_id: str) -> pl.DataFrame:
    """Counts of findings per source, rule, field and severity: what a manager may see of the findings."""
    return db.query(f"""SELECT source, rule_id, field, severity, count(*) AS n
                        FROM {T.DQ_FINDINGS} WHERE run_id = ? GROUP BY ALL ORDER BY ALL""", [run_id])


def export_outputs(db: Database, run_id: str, out_dir: Path, *, language: Language = "zh",
                   role: Role | None = None, privacy: PrivacyConfig | None = None) -> dict[str, Path]:
    """Write the run's outputs for `role` to `out_dir` and audit it; returns the paths.

    `role` None: $HANLINK_ROLE, else `privacy.role`, else analyst (masked). Analysts need no token key
    unless `privacy.require_tokens`; without one their files have no token columns.
    """
    from hanlink.privacy import audit
    from hanlink.privacy.roles import protect, resolve_role
    from hanlink.privacy.tokens import token_key
    from hanlink.scorecard import scorecard_json

    role = resolve_role(role, privacy.role if privacy else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_sources = int(db.scalar(f"SELECT count(DISTINCT source) FROM {T.CROSSWALK}") or 0)
    with_source = n_sources > 1
    paths = {"scorecard": out_dir / "scorecard.json"}
    frames: dict[str, pl.DataFrame] = {}
    if role == "manager":
        frames["findings_summary"] = findings_summary_frame(db, run_id)
    else:
        key = None
        if role == "analyst":
            key = token_key(key_file=privacy.token_key_file if privacy else None,
                            required=bool(privacy and privacy.require_tokens))
        golden = db.query(f"SELECT * FROM {T.GOLDEN_RECORDS} ORDER BY entity_id")
        frames = {
            "crosswalk": crosswalk_frame(db, with_source=with_source),
            "findings": findings_frame(db, run_id, language=language, with_source=with_source),
            "golden_records": protect(golden, role, token_key=key),
        }
    paths.update({k: out_dir / f"{k}.csv" for k in frames})
    for key_name, frame in frames.items():
        _atomic_write(paths[key_name], partial(write_csv_safe, frame))
    card = scorecard_json(db, run_id)
    _atomic_write(
        paths["scorecard"],
        lambda p: p.write_text(
            json.dumps(card, ensure_ascii=False, indent=2, default=str, sort_keys=True), encoding="utf-8"
        ),
    )
    if privacy is not None and privacy.encrypt_exports:
        from hanlink.privacy.crypto import encrypt_file, export_key

        secret = export_key()
        paths = {k: encrypt_file(p, secret) for k, p in paths.items()}
    from hanlink.dashboard import write_dashboard  # masked figures only: readable from a shared drive

    paths["dashboard"] = write_dashboard(db, run_id, out_dir, lang=language)
    audit.record(db, "export", str(out_dir), sum(f.height for f in frames.values()), role=role,
                 detail={"run_id": run_id, "files": sorted(p.name for p in paths.values())})
    return paths
