"""Deletion requests (PIPL art. 47): remove a person from every table and export, keep only keyed hashes.

A person is named by ID number, phone or entity id. Their records are found, widened to their whole
entity (all records of the same person), and removed table by table: raw_*, std_standardized (so the
std_records view), std_rejected, quarantine (raw_json too), dq_findings, pairs_*, review tables, entities,
identity tables, golden_*, crosswalk, and any other table keyed by rid, entity id or source record id.
Exports on disk are written again from what is left. The ID numbers, mobile phones and emails of those
records go on the suppression list as keyed tokens, so the next ingest holds the person back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from hanlink import tables as T
from hanlink.db import Database
from hanlink.errors import HanlinkError
from hanlink.privacy import audit, suppression
from hanlink.privacy.tokens import normalize, tokenize


@dataclass
class ForgetResult:
    """What a deletion request removed: rows per table, tokens listed, files rewritten, the report."""

    request_id: str
    records: int = 0
    entities: int = 0
    removed: dict[str, int] = field(default_factory=dict)
    tokens_added: int = 0
    files: list[str] = field(default_factory=list)
    report: Path | None = None


def _base_tables(db: Database) -> list[str]:
    rows = db.fetchall(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_type = 'BASE TABLE' ORDER BY table_name"
    )
    return [r[0] for r in rows]


def find_records(
    db: Database, *, id_numbers: list[str], phones: list[str], entity_ids: list[str]
) -> pl.DataFrame:
    """Records (rid, source, row_number, source_record_id, entity_id) of the people named, whole entities."""
    ids = sorted({normalize("id_number", v) for v in id_numbers if v.strip()})
    tels = sorted({normalize("phone", v) for v in phones if v.strip()})
    ents = sorted({v.strip().upper() for v in entity_ids if v.strip()})
    std = T.STD_STANDARDIZED
    has_ent = db.has_table(T.ENTITIES)
    sql = f"""
        WITH hit AS (
            SELECT rid FROM {std}
            WHERE list_contains(?::VARCHAR[], id_number)
               OR list_contains(?::VARCHAR[], upper(regexp_replace(id_number_raw, '\\s', '', 'g')))
               OR list_contains(?::VARCHAR[], phone) OR list_contains(?::VARCHAR[], landline)
               OR list_contains(?::VARCHAR[], regexp_replace(phone_raw, '\\D', '', 'g'))
            {
        f"UNION SELECT rid FROM {T.ENTITIES} WHERE list_contains(?::VARCHAR[], entity_id)" if has_ent else ""
    }
        ),
        ent AS ({
        f"SELECT DISTINCT entity_id FROM {T.ENTITIES} WHERE rid IN (SELECT rid FROM hit)"
        if has_ent
        else "SELECT NULL::VARCHAR AS entity_id WHERE false"
    }),
        everyone AS (
            SELECT rid FROM hit
            {
        f"UNION SELECT rid FROM {T.ENTITIES} WHERE entity_id IN (SELECT entity_id FROM ent)"
        if has_ent
        else ""
    }
        )
        SELECT s.rid, s.source, s.row_number, s.source_record_id, s.id_number, s.phone, s.email,
               {"e.entity_id" if has_ent else "NULL::VARCHAR AS entity_id"}
        FROM {std} s {f"LEFT JOIN {T.ENTITIES} e USING (rid)" if has_ent else ""}
        WHERE s.rid IN (SELECT rid FROM everyone) ORDER BY s.rid"""
    params: list[object] = [ids, ids, tels, tels, tels, *([ents] if has_ent else [])]
    return db.query(sql, params)


def purge(
    db: Database,
    recs: pl.DataFrame,
    entity_ids: list[str],
    raw_values: list[str],
    *,
    spare: tuple[str, ...] = (),
) -> dict[str, int]:
    """Delete every row about these records / entities from every base table; rows removed per table.

    `recs` needs rid, source, row_number, source_record_id; `raw_values` are normalized ID numbers / phones
    looked for in quarantined rows' raw_json; tables in `spare` (and the privacy tables) are left alone.
    """
    removed: dict[str, int] = {}
    db.con.register("_f_recs0", recs.select("rid", "source", "row_number", "source_record_id"))
    # Each record's run, kept aside before std_standardized loses it: raw_* and quarantine rows are matched
    # by source, row number AND run, since an incremental warehouse keeps rows of many runs side by side.
    run_of = f"(SELECT s.run_id FROM {T.STD_STANDARDIZED} s WHERE s.rid = r.rid)" if db.has_table(
        T.STD_STANDARDIZED) else "NULL::VARCHAR"
    db.execute(f"CREATE OR REPLACE TEMP TABLE _f_recs AS SELECT r.*, {run_of} AS run_id FROM _f_recs0 r")
    db.con.unregister("_f_recs0")
    db.con.register("_f_ents", pl.DataFrame({"entity_id": entity_ids}, schema={"entity_id": pl.String}))
    keep = {suppression.SUPPRESSION, suppression.HOLDBACK, audit.AUDIT_LOG, *spare}
    try:
        for table in _base_tables(db):
            if table in keep:
                continue
            cols = set(db.columns(table))
            conds = []
            if table.startswith(T.RAW_PREFIX) and {"_source", "_row_number"} <= cols:
                if "_run_id" in cols:
                    conds.append("(_source, _row_number, _run_id) IN "
                                 "(SELECT source, row_number, run_id FROM _f_recs)")
                else:
                    conds.append("(_source, _row_number) IN (SELECT source, row_number FROM _f_recs)")
            if table == T.QUARANTINE:
                conds.append("(source, row_number, run_id) IN "
                             "(SELECT source, row_number, run_id FROM _f_recs)")
                if raw_values:  # older runs' quarantined rows of the person: only their raw text knows
                    conds.append(
                        "list_has_any(?::VARCHAR[], regexp_extract_all("
                        "upper(regexp_replace(raw_json, '[ -]', '', 'g')), '[0-9X]{7,18}'))"
                    )
            if "rid" in cols and table != T.QUARANTINE:
                conds.append("rid IN (SELECT rid FROM _f_recs)")
            for a, b in (("rid_l", "rid_r"),):
                if {a, b} <= cols:
                    conds.append(f"{a} IN (SELECT rid FROM _f_recs) OR {b} IN (SELECT rid FROM _f_recs)")
            for suffix in ("", "_l", "_r"):
                s, r = f"source{suffix}", f"source_record_id{suffix}"
                if {s, r} <= cols:
                    conds.append(f"({s}, {r}) IN (SELECT source, source_record_id FROM _f_recs)")
            for col in ("entity_id", "other_entity_id", "retired_id", "entity_l", "entity_r"):
                if col in cols:
                    conds.append(f"{col} IN (SELECT entity_id FROM _f_ents)")
            if not conds:
                continue
            where = " OR ".join(f"({c})" for c in conds)
            params: list[object] = [raw_values] if table == T.QUARANTINE and raw_values else []
            before = db.count(table)
            db.execute(f"DELETE FROM {table} WHERE {where}", params)
            n = before - db.count(table)
            if n:
                removed[table] = n
    finally:
        db.execute("DROP TABLE IF EXISTS _f_recs")
        db.con.unregister("_f_ents")
    return removed


def forget(
    db: Database,
    *,
    id_numbers: Sequence[str] = (),
    phones: Sequence[str] = (),
    entity_ids: Sequence[str] = (),
    request_id: str,
    token_key: bytes,
    mirror: Path | None = None,
    actor: str | None = None,
) -> ForgetResult:
    """Carry out one deletion request in the database (exports: see commands / `rewrite_exports`).

    Raises HanlinkError when nothing was named. A request that matches no record still puts the given ID
    numbers and phones on the suppression list (the person may arrive in a later load).
    """
    if not (id_numbers or phones or entity_ids):
        raise HanlinkError(
            "a deletion request needs an ID number, a phone or an entity id — "
            "请提供身份证号、手机号或实体编号"
        )
    result = ForgetResult(request_id=request_id)
    recs = (
        find_records(db, id_numbers=list(id_numbers), phones=list(phones), entity_ids=list(entity_ids))
        if db.has_table(T.STD_STANDARDIZED)
        else pl.DataFrame(
            schema={
                "rid": pl.Int64,
                "source": pl.String,
                "row_number": pl.Int64,
                "source_record_id": pl.String,
                "id_number": pl.String,
                "phone": pl.String,
                "email": pl.String,
                "entity_id": pl.String,
            }
        )
    )
    ents = sorted(set(recs["entity_id"].drop_nulls().to_list()) | {e.strip().upper() for e in entity_ids})
    given = [("id_number", normalize("id_number", v)) for v in id_numbers] + [
        ("phone", normalize("phone", v)) for v in phones
    ]
    values = (
        pl.concat(
            [
                pl.DataFrame(given, schema={"tag": pl.String, "value": pl.String}, orient="row"),
                *(recs.select(tag=pl.lit(c), value=pl.col(c)) for c in ("id_number", "phone", "email")),
            ]
        )
        .drop_nulls()
        .unique(maintain_order=True)
    )
    raw_values = sorted(set(values.filter(pl.col("tag") != "email")["value"].to_list()))
    with db.transaction():
        result.removed = purge(db, recs, ents, raw_values)
        toks = pl.concat(
            [
                pl.DataFrame(
                    {
                        "token": tokenize(values.filter(pl.col("tag") == t)["value"], t, token_key),  # type: ignore[arg-type]
                        "tag": t,
                    },
                    # typed: a kind of value the person lacks (no email) gives an empty, untyped column
                    schema={"token": pl.String, "tag": pl.String},
                )
                for t in ("id_number", "phone", "email")
            ]
        )
        result.tokens_added = suppression.add(
            db, toks.with_columns(request_id=pl.lit(request_id)), mirror=mirror
        )
        result.records, result.entities = recs.height, len(ents)
        audit.record(
            db,
            "forget",
            sorted(result.removed),
            sum(result.removed.values()),
            actor=actor,
            role="steward",
            detail={
                "request_id": request_id,
                "records": recs.height,
                "entities": len(ents),
                "tokens_added": result.tokens_added,
            },
        )
    db.execute("CHECKPOINT")  # deleted rows leave the file's live blocks now, not at some later checkpoint
    return result
