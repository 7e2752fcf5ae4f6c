"""The audit log: an append-only table of who did what, when, on which objects, to how many rows.

Rows are only ever inserted (`record`); nothing in hanlink updates or deletes them. Each row carries the
sha256 of the row before it (`prev_hash`), so `verify` notices a row edited or removed by hand.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import polars as pl

from hanlink.db import Database

AUDIT_LOG = "audit_log"
Action = Literal["run", "export", "review", "forget", "restore", "backup", "retention", "decrypt", "view"]
ACTOR_ENV = "HANLINK_ACTOR"
_TZ = ZoneInfo("Asia/Shanghai")

_DDL = f"""CREATE TABLE IF NOT EXISTS {AUDIT_LOG} (
    seq BIGINT, logged_at TIMESTAMP, actor VARCHAR, role VARCHAR, action VARCHAR, objects VARCHAR,
    rows BIGINT, detail VARCHAR, prev_hash VARCHAR)"""


def current_actor(configured: str | None = None) -> str:
    """Who acts: $HANLINK_ACTOR, else the configured identity, else the OS user."""
    if os.environ.get(ACTOR_ENV):
        return os.environ[ACTOR_ENV]
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return f"uid:{os.getuid()}"


def _row_hash(row: tuple[object, ...]) -> str:
    return hashlib.sha256(json.dumps([str(v) for v in row], ensure_ascii=False).encode()).hexdigest()


def record(
    db: Database,
    action: Action,
    objects: str | list[str],
    rows: int | None = None,
    *,
    actor: str | None = None,
    role: str | None = None,
    detail: dict[str, object] | None = None,
) -> int:
    """Append one entry (never raw personal data in `objects`/`detail`: table names, paths, counts, tokens).

    Returns the entry's sequence number.
    """
    db.execute(_DDL)
    objs = ";".join(objects) if isinstance(objects, list) else objects
    last = db.fetchall(
        f"SELECT seq, logged_at, actor, role, action, objects, rows, detail, prev_hash FROM {AUDIT_LOG} "
        "ORDER BY seq DESC LIMIT 1"
    )
    seq = (last[0][0] + 1) if last else 1
    prev = _row_hash(last[0]) if last else ""
    at = datetime.now(_TZ).replace(tzinfo=None, microsecond=0)
    db.execute(
        f"INSERT INTO {AUDIT_LOG} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            seq,
            at,
            actor or current_actor(),
            role,
            action,
            objs,
            rows,
            json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
            prev,
        ],
    )
    return seq


def entries(
    db: Database, *, action: str | None = None, limit: int | None = None, masked: bool = False
) -> pl.DataFrame:
    """The log, newest first (empty frame when nothing was recorded yet).

    Entries hold no personal values by design; `masked` also hides the middle of any long number in
    `objects` and `detail` (138****5678), should a caller have put one there anyway.
    """
    if not db.has_table(AUDIT_LOG):
        db_empty = pl.DataFrame(
            schema={
                "seq": pl.Int64,
                "logged_at": pl.Datetime,
                "actor": pl.String,
                "role": pl.String,
                "action": pl.String,
                "objects": pl.String,
                "rows": pl.Int64,
                "detail": pl.String,
            }
        )
        return db_empty
    where = "WHERE action = ?" if action else ""
    lim = f" LIMIT {int(limit)}" if limit else ""
    log = db.query(
        f"SELECT * EXCLUDE (prev_hash) FROM {AUDIT_LOG} {where} ORDER BY seq DESC{lim}",
        [action] if action else [],
    )
    if masked:
        hide = r"(^|[^0-9])([0-9]{3})[0-9]{4,11}([0-9Xx]{4})([^0-9]|$)"
        log = log.with_columns(
            pl.col(c).str.replace_all(hide, "${1}${2}****${3}${4}") for c in ("objects", "detail")
        )
    return log


def verify(db: Database) -> list[int]:
    """Sequence numbers whose predecessor was changed or removed (empty: the chain is intact)."""
    if not db.has_table(AUDIT_LOG):
        return []
    rows = db.fetchall(
        f"SELECT seq, logged_at, actor, role, action, objects, rows, detail, prev_hash FROM {AUDIT_LOG} "
        "ORDER BY seq"
    )
    broken = []
    for i, row in enumerate(rows):
        expected = _row_hash(rows[i - 1]) if i else ""
        if row[8] != expected or (i and row[0] != rows[i - 1][0] + 1):
            broken.append(int(row[0]))
    return broken
