"""Retention limits: records their source has not updated for longer than `privacy.retention_days` are
flagged (listed in `privacy_retention` for a steward to decide) or purged, by the nightly run."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from hanlink import tables as T
from hanlink.config import PrivacyConfig
from hanlink.db import Database
from hanlink.privacy import audit
from hanlink.privacy.forget import purge
from hanlink.privacy.suppression import now

RETENTION = "privacy_retention"


def apply_retention(
    db: Database, cfg: PrivacyConfig, run_id: str, *, at: datetime | None = None
) -> dict[str, int]:
    """Flag or purge this run's records with `updated_at` older than the limit (none set: nothing happens).

    Flagging writes (run_id, source, source_record_id, updated_at, action) rows; purging also removes the
    records from every table (like a deletion request, but without suppression: a refreshed record may
    come back). Records with no `updated_at` are never purged (their age is unknown).
    """
    if cfg.retention_days is None or not db.has_table(T.STD_STANDARDIZED):
        return {"stale": 0, "purged": 0}
    limit = (at or now()) - timedelta(days=cfg.retention_days)
    stale = db.query(
        f"""SELECT rid, source, row_number, source_record_id, updated_at
                         FROM {T.STD_STANDARDIZED} WHERE updated_at < ? ORDER BY rid""",
        [limit],
    )
    rows = stale.select(
        run_id=pl.lit(run_id),
        source="source",
        source_record_id="source_record_id",
        updated_at="updated_at",
        action=pl.lit(cfg.retention_action),
        limit_days=pl.lit(cfg.retention_days),
    )
    if db.has_table(RETENTION):
        db.execute(f"DELETE FROM {RETENTION} WHERE run_id = ?", [run_id])
    db.write(RETENTION, rows, mode="append")
    purged = 0
    if cfg.retention_action == "purge" and stale.height:
        with db.transaction():
            # privacy_retention keeps the list of what was purged (ids and dates only), so spare it.
            removed = purge(db, stale, [], [], spare=(RETENTION,))
            purged = removed.get(T.STD_STANDARDIZED, 0)
            audit.record(
                db,
                "retention",
                sorted(removed),
                sum(removed.values()),
                detail={"run_id": run_id, "limit_days": cfg.retention_days},
            )
    return {"stale": stale.height, "purged": purged}
