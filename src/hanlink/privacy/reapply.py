"""Re-applying the suppression list to a warehouse that may hold forgotten people again (after a restore)."""

from __future__ import annotations

import polars as pl

from hanlink import tables as T
from hanlink.config import Config
from hanlink.db import Database
from hanlink.privacy import suppression
from hanlink.privacy.forget import purge
from hanlink.privacy.tokens import token_key, tokenize


def reapply_suppression(db: Database, cfg: Config) -> dict[str, int]:
    """Merge the on-disk suppression list into `db`, then purge every record (whole entity) and quarantined
    row whose ID number / phone / email token is listed. Returns rows removed per table."""
    from hanlink.privacy.backup import suppression_mirror

    mirror = suppression.read_mirror(suppression_mirror(cfg))
    if not mirror.is_empty():
        suppression.add(db, mirror.select("token", "tag", "request_id"))
    listed = suppression.suppression_list(db)
    if listed.is_empty() or not db.has_table(T.STD_STANDARDIZED):
        return {}
    key = token_key(key_file=cfg.privacy.token_key_file)
    assert key is not None
    hits = suppression.listed_rows(db, T.STD_STANDARDIZED, key)
    hit_rids: set[int] = set(hits["rid"].to_list())
    raw_values: set[str] = set()
    if hit_rids:  # the values themselves, to find the person's older quarantined rows by their raw text
        vals = db.query(
            f"SELECT id_number, phone FROM {T.STD_STANDARDIZED} WHERE rid IN (SELECT unnest(?::BIGINT[]))",
            [sorted(hit_rids)],
        )
        raw_values = {v for c in vals.columns for v in vals[c].drop_nulls().to_list()}
    # quarantined rows never reached std: look at the numbers in their raw text
    if db.has_table(T.QUARANTINE):
        nums = db.query(
            f"SELECT DISTINCT unnest(regexp_extract_all(upper(raw_json), '[0-9X]{{7,18}}')) AS v "
            f"FROM {T.QUARANTINE}"
        )["v"]
        for tag in ("id_number", "phone"):
            wanted = set(listed.filter(pl.col("tag") == tag)["token"].to_list())
            raw_values |= set(
                nums.filter(tokenize(nums, tag, key).is_in(list(wanted)).fill_null(False)).to_list()
            )  # type: ignore[arg-type]
    has_ent = db.has_table(T.ENTITIES)
    db.con.register("_hit", pl.DataFrame({"rid": sorted(hit_rids)}, schema={"rid": pl.Int64}))
    try:
        recs = db.query(f"""
            SELECT s.rid, s.source, s.row_number, s.source_record_id, {
            "e.entity_id" if has_ent else "NULL AS entity_id"
        }
            FROM {T.STD_STANDARDIZED} s {f"LEFT JOIN {T.ENTITIES} e USING (rid)" if has_ent else ""}
            WHERE s.rid IN (SELECT rid FROM _hit) {
            f'''OR s.rid IN (SELECT rid FROM {T.ENTITIES} WHERE entity_id IN
                (SELECT entity_id FROM {T.ENTITIES} WHERE rid IN (SELECT rid FROM _hit)))'''
            if has_ent
            else ""
        }""")
    finally:
        db.con.unregister("_hit")
    if recs.is_empty() and not raw_values:
        return {}
    with db.transaction():
        removed = purge(db, recs, sorted(set(recs["entity_id"].drop_nulls().to_list())), sorted(raw_values))
    db.execute("CHECKPOINT")
    return removed
