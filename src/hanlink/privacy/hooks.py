"""The privacy steps of the nightly run, one function per place in the recipe (the pipeline calls these)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hanlink.config import Config
from hanlink.db import Database
from hanlink.privacy import audit, backup, suppression
from hanlink.privacy.retention import apply_retention


def before_run(cfg: Config) -> Path | None:
    """Before the database is opened for a run: a verified backup (None on a first run), old ones expired."""
    return backup.before_run(cfg)


def after_standardize(db: Database, cfg: Config, run_id: str) -> dict[str, int]:
    """Right after standardize (before validate): hold back suppressed people, then apply retention.

    Both remove rows from raw_* and std_standardized together, so read = standardized + held back + purged
    (counts: held_back, stale, purged). Needs the token key only when the suppression list is not empty.
    """
    key = None
    if not suppression.suppression_list(db).is_empty():
        from hanlink.privacy.tokens import token_key

        file = cfg.privacy.token_key_file
        key = token_key(key_file=str(cfg.resolve(file)) if file else None)
    return {**suppression.apply(db, run_id, token_key=key), **apply_retention(db, cfg.privacy, run_id)}


def after_run(db: Database, cfg: Config, run_id: str, counts: dict[str, Any] | None = None) -> int:
    """At the end of a run: its audit entry (who, when, which tables, rows accepted). Returns its seq."""
    tables = ["raw_*", "std_standardized", "std_records", "golden_records", "crosswalk"]
    rows = db.count("std_records") if db.has_table("std_records") else None
    return audit.record(
        db,
        "run",
        tables,
        rows,
        actor=audit.current_actor(cfg.privacy.identity),
        detail={"run_id": run_id, **({"counts": counts} if counts else {})},
    )
