"""The suppression list: keyed hashes (never values) of people who asked to be forgotten, and the hold-back
that keeps them out of every later run.

`apply(db, run_id)` runs right after standardize: rows whose ID number, phone or email token is on the list
leave raw_* and std_standardized for `privacy_holdback` (token, source, row number, reason: no values), so
ingested = standardized + held back, and nothing downstream ever sees them.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from hanlink import tables as T
from hanlink.db import Database
from hanlink.fields import SensitivityTag

SUPPRESSION = "privacy_suppression"
HOLDBACK = "privacy_holdback"
# Columns of std_standardized whose tokens are checked. Landlines are left out on purpose: a household
# shares one, and one member's deletion request must not hold back the others.
CHECKED: dict[str, SensitivityTag] = {"id_number": "id_number", "phone": "phone", "email": "email"}
_TZ = ZoneInfo("Asia/Shanghai")
_SUPPRESSION_SCHEMA = {"token": pl.String, "tag": pl.String, "request_id": pl.String, "added_at": pl.Datetime}


def now() -> datetime:
    return datetime.now(_TZ).replace(tzinfo=None, microsecond=0)


def suppression_list(db: Database) -> pl.DataFrame:
    """The list (token, tag, request_id, added_at); empty when nobody asked."""
    if not db.has_table(SUPPRESSION):
        return pl.DataFrame(schema=_SUPPRESSION_SCHEMA)
    return db.query(f"SELECT token, tag, request_id, added_at FROM {SUPPRESSION} ORDER BY added_at, token")


def add(db: Database, tokens: pl.DataFrame, *, mirror: Path | None = None) -> int:
    """Add (token, tag, request_id) rows not yet listed; also append them to the `mirror` CSV outside the
    database, which survives a restore from an older backup (see backup.restore). Returns rows added."""
    new = tokens.select("token", "tag", "request_id").unique(["token", "tag"], maintain_order=True)
    have = suppression_list(db)
    new = new.join(have.select("token", "tag"), on=["token", "tag"], how="anti").with_columns(
        added_at=pl.lit(now())
    )
    if new.is_empty():
        return 0
    db.write(SUPPRESSION, new, mode="append")
    if mirror is not None:
        mirror.parent.mkdir(parents=True, exist_ok=True)
        old = read_mirror(mirror)
        both = pl.concat([old, new.select(old.columns)]).unique(
            ["token", "tag"], keep="first", maintain_order=True
        )
        tmp = mirror.with_name(f".{mirror.name}.tmp")
        both.write_csv(tmp)
        os.replace(tmp, mirror)
    return new.height


def read_mirror(mirror: Path) -> pl.DataFrame:
    """The suppression list's copy on disk (empty when there is none)."""
    if not mirror.exists():
        return pl.DataFrame(schema=_SUPPRESSION_SCHEMA)
    return pl.read_csv(mirror, schema=_SUPPRESSION_SCHEMA)


def apply(db: Database, run_id: str, *, token_key: bytes | None = None,
          listed: pl.DataFrame | None = None) -> dict[str, int]:
    """Hold back this run's rows of suppressed people (call right after standardize); returns counts.

    Needs the token key only when the list is not empty. std_standardized rids stay dense (renumbered).
    `listed`: the list to use when `db` is not the warehouse (an incremental night's scratch database:
    pass `suppression_list(warehouse)`); the hold-back rows are then written to `db` too.
    """
    listed = suppression_list(db) if listed is None else listed
    if listed.is_empty() or not db.has_table(T.STD_STANDARDIZED):
        return {"held_back": 0}
    from hanlink.privacy.tokens import token_key as read_token_key

    key = token_key or read_token_key()
    assert key is not None
    db.con.register("_suppression_in", listed.select("token", "tag", "request_id"))
    try:
        held = listed_rows(db, T.STD_STANDARDIZED, key, run_id=run_id, list_table="_suppression_in")
    finally:
        db.con.unregister("_suppression_in")
    if held.is_empty():
        return {"held_back": 0}
    rows = held.select(
        run_id=pl.lit(run_id),
        source="source",
        row_number="row_number",
        token="token",
        field="field",
        request_id="request_id",
        reason_zh=pl.lit("删除请求：该个人已在抑制名单中，不再处理"),
        reason_en=pl.lit("deletion request: this person is on the suppression list and is not processed"),
        held_at=pl.lit(now()),
    )
    with db.transaction():
        if db.has_table(HOLDBACK):
            db.execute(f"DELETE FROM {HOLDBACK} WHERE run_id = ?", [run_id])
        db.write(HOLDBACK, rows, mode="append")
        db.con.register("_held", held.select("rid", "source", "row_number"))
        try:
            for source in held["source"].unique().sort().to_list():
                raw = T.raw_table(source)
                if db.has_table(raw):
                    # only this run's rows: an incremental warehouse keeps older runs' raw rows too
                    this_run = " AND _run_id = ?" if "_run_id" in db.columns(raw) else ""
                    db.execute(
                        f"DELETE FROM {raw} WHERE _row_number IN "
                        f"(SELECT row_number FROM _held WHERE source = ?){this_run}",
                        [source, run_id] if this_run else [source],
                    )
            db.execute(f"DELETE FROM {T.STD_STANDARDIZED} WHERE rid IN (SELECT rid FROM _held)")
            # rid stays dense 0..n-1 in the same order (the std_standardized contract; nothing refers to
            # this run's rids yet): each later rid moves down by the held-back rids before it. An UPDATE of
            # the rows after the first gap, not a rewrite of the wide table.
            db.execute(
                f"""UPDATE {T.STD_STANDARDIZED} s SET rid = s.rid - g.before
                    FROM (SELECT t.rid, (SELECT count(*) FROM _held h WHERE h.rid < t.rid) AS before
                          FROM {T.STD_STANDARDIZED} t WHERE t.rid > (SELECT min(rid) FROM _held)) g
                    WHERE s.rid = g.rid AND g.before > 0"""
            )
        finally:
            db.con.unregister("_held")
    return {"held_back": held.height}


def listed_rows(db: Database, table: str, key: bytes, *, run_id: str | None = None,
                list_table: str = SUPPRESSION) -> pl.DataFrame:
    """Rows of `table` (a std_standardized-shaped table) whose ID number, phone or email token is listed:
    rid, source, row_number, token, request_id, field — one row per rid (first field by name).

    Only `run_id`'s rows when given. Tokens are computed in DuckDB (tokens.token_sql): ≈ 1M values per
    column in 1–2 s."""
    from hanlink.privacy.tokens import hmac_pads, token_sql

    hits = " UNION ALL ".join(
        f"""SELECT s.rid, s.source, s.row_number, l.token, l.request_id, '{col}' AS field
            FROM {table} s JOIN {list_table} l
              ON l.tag = '{tag}' AND l.token = {token_sql(f"s.{col}", tag)}
            {"WHERE s.run_id = $3" if run_id else ""}"""
        for col, tag in CHECKED.items())
    return db.query(f"""SELECT * FROM ({hits})
                        QUALIFY row_number() OVER (PARTITION BY rid ORDER BY field) = 1 ORDER BY rid""",
                    [*hmac_pads(key), *([run_id] if run_id else [])])


def holdback_report(db: Database, run_id: str) -> pl.DataFrame:
    """This run's held-back rows (source, row number, field, request id, reason): no personal values."""
    if not db.has_table(HOLDBACK):
        return pl.DataFrame()
    return db.query(
        f"SELECT source, row_number, field, request_id, reason_zh, reason_en FROM {HOLDBACK} "
        "WHERE run_id = ? ORDER BY source, row_number",
        [run_id],
    )
