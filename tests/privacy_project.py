"""Helpers of the privacy tests: a small generated project run once, the raw values to look for in outputs."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from hanlink.config import Config, load_config
from hanlink.db import Database
from hanlink.pipeline import STAGES, run_stage
from hanlink.privacy import hooks

TOKEN_KEY = "test-token-key-0123456789abcdef"


def make_project(root: Path, records: int = 600, seed: int = 7) -> Config:
    """Generate a 4-source project under `root` and return its config."""
    from hanlink.generate import generate

    data = generate(records, root, seed=seed, layout="sources")
    return load_config(data.config)


def run_all(cfg: Config, run_id: str) -> dict[str, dict]:
    """Every stage once with the privacy hooks where the nightly run calls them (hanlink.privacy.hooks)."""
    counts = {}
    with Database(cfg.database_path) as db:
        for stage in STAGES:
            counts[stage] = run_stage(stage, db, cfg, run_id)
            if stage == "standardize":
                counts["holdback"] = hooks.after_standardize(db, cfg, run_id)
        hooks.after_run(db, cfg, run_id)
    return counts


def secret_values(db: Database) -> set[str]:
    """Raw and standardized ID numbers and phones of the input (11+ characters). Placeholders
    (13800138000, 11111111111: known dummy values, in the rule catalogue's own messages) are no one's."""
    cols = ["id_number", "id_number_raw", "phone", "phone_raw", "landline", "landline_raw"]
    frame = db.query(f"""SELECT {", ".join(cols)} FROM std_standardized
                         WHERE phone_type != 'placeholder' AND landline_type != 'placeholder'
                           AND id_status != 'placeholder'""")
    values = set()
    for c in cols:
        values |= {
            v.strip()
            for v in frame[c].drop_nulls().to_list()
            if len(v.strip()) >= 11 and len(set(v.strip())) > 2
        }
    return values


def scan(folder: Path, values: set[str]) -> dict[str, list[str]]:
    """Files under `folder` (recursively) that contain any of `values`, with the first few found."""
    hits: dict[str, list[str]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", errors="replace")
        # a whole number, not digits inside a longer one (0.1111111111111 in a colour scale); values
        # written with separators ('138-1234-5678') are distinctive enough to look for as they are
        runs = set(re.findall(r"[0-9]+[Xx]?", text))
        found = sorted(v for v in values if (v in runs if re.fullmatch(r"[0-9]+[Xx]?", v) else v in text))
        if found:
            hits[str(path)] = found[:3]
    return hits


def person(db: Database) -> dict[str, object]:
    """An entity of several records with a valid ID number and a mobile: the subject of a deletion request."""
    row = db.query("""
        SELECT e.entity_id, list(DISTINCT s.id_number) FILTER (WHERE s.id_valid) AS ids,
               list(DISTINCT s.phone) FILTER (WHERE s.phone_type = 'mobile') AS phones,
               list(s.rid) AS rids, list(s.source || '|' || s.source_record_id) AS keys
        FROM entities e JOIN std_records s USING (rid)
        GROUP BY ALL HAVING count(*) >= 3 AND len(ids) = 1 AND len(phones) >= 1
        ORDER BY e.entity_id LIMIT 1""").row(0, named=True)
    return row


def frame_has(df: pl.DataFrame, values: set[str]) -> bool:
    text = df.write_csv()
    return any(v in text for v in values)
