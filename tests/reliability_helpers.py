"""Digests of what a run published (warehouse tables, output files) for the reliability tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from hanlink.config import Config
from hanlink.db import Database, ident

# Columns that name the run or the clock: excluded when two runs on the same input are compared.
RUN_COLUMNS = {"run_id", "_run_id", "as_of", "started_at", "seconds", "created_at", "at", "saved_at", "ts"}
# Tables whose content must not depend on which run produced it (same input, same config).
INVARIANT_TABLES = (
    "golden_records",
    "golden_provenance",
    "crosswalk",
    "entities",
    "std_standardized",
    "dq_findings",
    "pairs_scored",
    "model_params",
)
OUTPUT_FILES = ("crosswalk.csv", "findings.csv", "golden_records.csv", "scorecard.json")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def table_digest(db: Database, table: str, *, where: str = "", skip_run_columns: bool = True) -> str:
    """SHA-256 of a table's rows in a canonical order (ORDER BY ALL), run id / clock columns left out,
    doubles rounded to 6 decimals."""
    types = dict(
        db.fetchall(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [table]
        )
    )
    cols = [c for c in db.columns(table) if not (skip_run_columns and c in RUN_COLUMNS)]

    def text(c: str) -> str:
        # DuckDB's parallel sums (EM, weights) are not bit-reproducible: doubles compare to 6 decimals.
        value = f"round({ident(c)}, 6)" if types.get(c) in ("DOUBLE", "FLOAT") else ident(c)
        return f"CAST({value} AS VARCHAR) AS {ident(c)}"  # lists, structs too

    select = ", ".join(text(c) for c in cols)
    frame = db.query(f"SELECT {select} FROM {table} {where} ORDER BY ALL")
    return hashlib.sha256(frame.write_csv().encode("utf-8")).hexdigest()


def warehouse_digest(path: Path) -> dict[str, str]:
    """Every table of a warehouse file, all columns: the full published state."""
    with Database(path, read_only=True) as db:
        return {t: table_digest(db, t, skip_run_columns=False) for t in db.tables()}


def scorecard_content(path: Path) -> Any:
    """scorecard.json without the run id and date (what stays equal between runs on the same input)."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in RUN_COLUMNS}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(json.loads(path.read_text(encoding="utf-8")))


def run_content(cfg: Config, out_dir: Path, run_id: str) -> dict[str, Any]:
    """What must be equal for two runs on the same input: invariant tables, this run's scorecard rows,
    its quarantine, and the output files (scorecard.json without run id / date)."""
    out: dict[str, Any] = {}
    with Database(cfg.database_path, read_only=True) as db:
        for t in INVARIANT_TABLES:
            if db.has_table(t):
                out[t] = table_digest(db, t)
        rid = run_id.replace("'", "''")
        out["dq_scorecard"] = table_digest(db, "dq_scorecard", where=f"WHERE run_id = '{rid}'")
        out["quarantine"] = table_digest(db, "quarantine", where=f"WHERE run_id = '{rid}'")
    for name in OUTPUT_FILES[:-1]:
        out[name] = sha256(out_dir / name)
    out["scorecard.json"] = scorecard_content(out_dir / "scorecard.json")
    return out


def published_files(out_dir: Path) -> dict[str, str]:
    """SHA-256 of each published file as a reader opening <out>/<file> sees it."""
    return {name: sha256(out_dir / name) for name in OUTPUT_FILES if (out_dir / name).exists()}
