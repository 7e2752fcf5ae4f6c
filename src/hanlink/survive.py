"""Survivorship: one golden record per entity, the record and rule behind every golden value, and the crosswalk.

How a value is chosen (all in DuckDB SQL over a long form: one candidate row per record and field):

- Only *usable* values compete, whatever the rule: never a placeholder or invalid phone, a junk name, an ID
  number that fails its checksum/date, an invalid e-mail. A golden record is what downstream systems trust;
  the originals stay in std_records and dq_findings says why they were passed over.
- The field's rule (cfg.rules[field], else cfg.default_rule) ranks the candidates first:
  valid_first (the better kind: mobile over landline, Hanzi over mixed over pinyin, a valid 18-digit ID over
  an upgraded 15-digit one, a birth date/gender that agrees with the record's own valid ID), most_recent
  (updated_at), most_frequent, most_complete (longest value), source_priority (cfg.source_priority order,
  unlisted sources after them, alphabetically).
- Every rule then breaks ties with the same chain: most frequent value in the entity, most recent
  updated_at (unknown last), source priority, smallest rid. rid is unique, so the order is total and a rerun
  picks the same record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hanlink import tables as T
from hanlink.config import SurvivorshipConfig, SurvivorshipRule
from hanlink.db import Database
from hanlink.errors import ConservationError, StageError

GOLDEN_FIELDS: tuple[str, ...] = (
    "name", "phone", "landline", "id_number", "email", "address",
    "province", "city", "district", "birth_date", "gender",
)
GOLDEN_CONFLICTS = "golden_conflicts"


@dataclass(frozen=True)
class _Candidate:
    """How one golden field reads a std_records row: its usable value (NULL if none) and its kind (lower wins)."""

    value: str
    tier: str = "0"


# A city equal to its province (直辖市: 北京市/北京市) is written once in the composed address.
_COMPOSED_ADDRESS = ("concat_ws('', s.province, CASE WHEN s.city IS DISTINCT FROM s.province THEN s.city END, "
                     "s.district, s.address_detail)")

CANDIDATES: dict[str, _Candidate] = {
    "name": _Candidate(
        "CASE WHEN s.name_type IN ('hanzi', 'company', 'mixed', 'romanized') THEN nullif(trim(s.name), '') END",
        "CASE s.name_type WHEN 'hanzi' THEN 0 WHEN 'company' THEN 0 WHEN 'mixed' THEN 1 ELSE 2 END"),
    "phone": _Candidate(
        "CASE WHEN s.phone_type IN ('mobile', 'landline') THEN s.phone END",
        "CASE s.phone_type WHEN 'mobile' THEN 0 ELSE 1 END"),
    "landline": _Candidate(
        "CASE WHEN s.landline_type IN ('landline', 'mobile') THEN s.landline END",
        "CASE s.landline_type WHEN 'landline' THEN 0 ELSE 1 END"),
    "id_number": _Candidate(
        "CASE WHEN s.id_valid THEN s.id_number END",
        "CASE s.id_status WHEN 'valid' THEN 0 ELSE 1 END"),
    "email": _Candidate("CASE WHEN s.email_valid THEN s.email END"),
    # The standard form: admin parts + detail when the address was parsed, else the standardized text.
    "address": _Candidate(
        f"nullif(CASE WHEN s.address_detail IS NOT NULL THEN {_COMPOSED_ADDRESS} ELSE s.address END, '')",
        "3 - ((s.province IS NOT NULL)::INT + (s.city IS NOT NULL)::INT + (s.district IS NOT NULL)::INT)"),
    "province": _Candidate("s.province"),
    "city": _Candidate("s.city"),
    "district": _Candidate("s.district"),
    "birth_date": _Candidate(
        "CAST(s.birth_date AS VARCHAR)",
        "CASE WHEN s.id_valid AND s.id_birth_date IS NOT NULL AND s.birth_date <> s.id_birth_date THEN 1 ELSE 0 END"),
    "gender": _Candidate(
        "s.gender",
        "CASE WHEN s.id_valid AND s.id_gender IS NOT NULL AND s.gender <> s.id_gender THEN 1 ELSE 0 END"),
}

# The rule's own ranking key (ascending); the shared tie-break chain follows it.
_PRIMARY: dict[SurvivorshipRule, str] = {
    "valid_first": "tier",
    "most_recent": "coalesce(-epoch_us(updated_at), 9223372036854775807)",
    "most_frequent": "0",
    "most_complete": "-length(value)",
    "source_priority": "src_rank",
}
_TIE_CHAIN = "freq DESC, updated_at DESC NULLS LAST, src_rank, rid"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def source_ranks(priority: list[str], sources: list[str]) -> dict[str, int]:
    """Rank of each source: the configured order first, then the unlisted ones alphabetically."""
    listed = [s for s in dict.fromkeys(priority)]
    rest = sorted(set(sources) - set(listed))
    return {s: i for i, s in enumerate([*listed, *rest])}


def _rank_sql(ranks: dict[str, int]) -> str:
    if not ranks:
        return "0"
    whens = " ".join(f"WHEN {_literal(s)} THEN {r}" for s, r in ranks.items())
    return f"CASE s.source {whens} ELSE {len(ranks)} END"


def _rule(cfg: SurvivorshipConfig, field: str) -> SurvivorshipRule:
    return cfg.rules.get(field, cfg.default_rule)


def _candidates_sql(cfg: SurvivorshipConfig, rank_sql: str) -> str:
    """One SELECT per golden field, unioned: the long form every rule ranks over."""
    parts = []
    for field in GOLDEN_FIELDS:
        cand = CANDIDATES[field]
        rule = _rule(cfg, field)
        parts.append(f"""
            SELECT entity_id, {_literal(field)} AS field, {_literal(rule)} AS rule, value, tier, rid, source,
                   source_record_id, updated_at, src_rank
            FROM (SELECT e.entity_id, {cand.value} AS value, ({cand.tier})::INTEGER AS tier, s.rid, s.source,
                         s.source_record_id, s.updated_at, {rank_sql} AS src_rank
                  FROM _survive_records s JOIN {T.ENTITIES} e USING (rid))
            WHERE value IS NOT NULL""")
    return " UNION ALL ".join(parts)


def _primary_sql(cfg: SurvivorshipConfig) -> str:
    whens = " ".join(f"WHEN {_literal(f)} THEN {_PRIMARY[_rule(cfg, f)]}" for f in GOLDEN_FIELDS)
    return f"CASE field {whens} END"


def _mask_id_sql(col: str) -> str:
    return f"left({col}, 6) || repeat('*', greatest(length({col}) - 10, 0)) || right({col}, 4)"


def _check_inputs(db: Database, run_id: str) -> None:
    for name in (T.STD_RECORDS, T.ENTITIES):
        if not db.has_table(name):
            raise StageError(f"table {name} is missing: run the stages before survive", stage="survive",
                             run_id=run_id)
    total = db.count(T.STD_RECORDS)
    mine = int(db.scalar(f"SELECT count(*) FROM {T.STD_RECORDS} WHERE run_id = ?", [run_id]) or 0)
    if total and not mine:
        other = db.scalar(f"SELECT min(run_id) FROM {T.STD_RECORDS}")
        raise StageError(f"{T.STD_RECORDS} holds run {other!r}, not this run: rerun the stages before survive",
                         stage="survive", run_id=run_id)


def _check_entities(db: Database, run_id: str) -> None:
    """Each record of the run needs exactly one entity, else the crosswalk would lose or double rows."""
    missing, doubled = db.fetchall(f"""
        SELECT count(*) FILTER (WHERE n = 0), count(*) FILTER (WHERE n > 1)
        FROM (SELECT s.rid, count(e.rid) AS n FROM _survive_records s LEFT JOIN {T.ENTITIES} e USING (rid)
              GROUP BY s.rid)""")[0]
    if missing or doubled:
        example = db.scalar(f"""
            SELECT s.rid FROM _survive_records s LEFT JOIN {T.ENTITIES} e USING (rid)
            GROUP BY s.rid HAVING count(e.rid) <> 1 ORDER BY s.rid LIMIT 1""")
        raise ConservationError(
            f"{missing} records without an entity and {doubled} with several (e.g. rid {example}): "
            "each record needs exactly one", stage="survive", run_id=run_id)


def survive(db: Database, cfg: SurvivorshipConfig, run_id: str) -> dict[str, Any]:
    """Write golden_records, golden_provenance, crosswalk and golden_conflicts for `run_id`.

    Reads std_records (this run's rows), entities and quarantine. Deterministic: the same inputs give the
    same rows in the same order. Returns counts for the run log.
    """
    _check_inputs(db, run_id)
    # A view, not a copy: this run's rows of std_records (the table normally holds only the latest run).
    db.execute(f"CREATE OR REPLACE TEMP VIEW _survive_records AS "
               f"SELECT * FROM {T.STD_RECORDS} WHERE run_id = {_literal(run_id)}")
    try:
        _check_entities(db, run_id)
        sources = [r[0] for r in db.fetchall("SELECT DISTINCT source FROM _survive_records ORDER BY 1")]
        rank_sql = _rank_sql(source_ranks(cfg.source_priority, sources))
        with db.transaction():
            _write_provenance(db, cfg, rank_sql)
            _write_golden(db)
            _write_crosswalk(db, run_id)
            _write_conflicts(db)
        counts = db.fetchall(f"""
            SELECT (SELECT count(*) FROM {T.GOLDEN_RECORDS}), (SELECT count(*) FROM {T.GOLDEN_PROVENANCE}),
                   (SELECT count(*) FILTER (WHERE status = 'linked') FROM {T.CROSSWALK}),
                   (SELECT count(*) FILTER (WHERE status = 'quarantined') FROM {T.CROSSWALK}),
                   (SELECT count(*) FROM {GOLDEN_CONFLICTS}), (SELECT count(*) FROM _survive_records)""")[0]
    finally:
        db.execute("DROP VIEW IF EXISTS _survive_records")
    golden, prov, linked, held, conflicts, records = (int(x) for x in counts)
    if linked != records:
        raise ConservationError(f"{records} records but {linked} linked crosswalk rows", stage="survive",
                                run_id=run_id)
    return {"golden_records": golden, "provenance_rows": prov, "crosswalk_rows": linked + held,
            "crosswalk_linked": linked, "crosswalk_quarantined": held, "conflicts": conflicts}


def _write_provenance(db: Database, cfg: SurvivorshipConfig, rank_sql: str) -> None:
    db.execute(f"""
        CREATE OR REPLACE TABLE {T.GOLDEN_PROVENANCE} AS
        WITH cand AS ({_candidates_sql(cfg, rank_sql)}),
        counted AS (SELECT *, count(*) OVER (PARTITION BY entity_id, field, value) AS freq FROM cand),
        ranked AS (
            SELECT *, row_number() OVER (PARTITION BY entity_id, field
                                         ORDER BY {_primary_sql(cfg)}, {_TIE_CHAIN}) AS pick
            FROM counted)
        SELECT entity_id, field, value, rid, source, source_record_id, rule
        FROM ranked WHERE pick = 1
        ORDER BY entity_id, field""")


def _write_golden(db: Database) -> None:
    def pick(f: str) -> str:
        value = f"max(value) FILTER (WHERE field = {_literal(f)})"
        return f"CAST({value} AS DATE) AS {f}" if f == "birth_date" else f"{value} AS {f}"

    db.execute(f"""
        CREATE OR REPLACE TABLE {T.GOLDEN_RECORDS} AS
        WITH members AS (
            SELECT e.entity_id, count(*) AS n_records,
                   string_agg(DISTINCT s.source, ';' ORDER BY s.source) AS sources
            FROM _survive_records s JOIN {T.ENTITIES} e USING (rid) GROUP BY e.entity_id),
        picked AS (
            SELECT entity_id, {", ".join(pick(f) for f in GOLDEN_FIELDS)}
            FROM {T.GOLDEN_PROVENANCE} GROUP BY entity_id)
        SELECT m.entity_id, {", ".join(f"p.{f}" for f in GOLDEN_FIELDS)}, m.n_records, m.sources
        FROM members m LEFT JOIN picked p USING (entity_id)
        ORDER BY m.entity_id""")


def _write_crosswalk(db: Database, run_id: str) -> None:
    """Every ingested row once: accepted ones with their entity, quarantined ones with none."""
    held = ""
    params: list[object] = []
    if db.has_table(T.QUARANTINE):
        # A row that could not be read may have no record id: its row number stands in, as in std_records.
        held = f"""UNION ALL
            SELECT source, coalesce(source_record_id, CAST(row_number AS VARCHAR)), CAST(row_number AS BIGINT),
                   NULL::BIGINT, NULL::VARCHAR, 'quarantined'
            FROM {T.QUARANTINE} WHERE run_id = ?"""
        params.append(run_id)
    db.execute(f"""
        CREATE OR REPLACE TABLE {T.CROSSWALK} AS
        SELECT * FROM (
            SELECT s.source, s.source_record_id, CAST(s.row_number AS BIGINT) AS row_number, s.rid,
                   e.entity_id, 'linked' AS status
            FROM _survive_records s JOIN {T.ENTITIES} e USING (rid)
            {held})
        ORDER BY source, row_number, status, source_record_id""", params)


def _write_conflicts(db: Database) -> None:
    """Two different valid ID numbers in one entity: reported for a steward, never silently resolved."""
    db.execute(f"""
        CREATE OR REPLACE TABLE {GOLDEN_CONFLICTS} AS
        WITH ids AS (
            SELECT e.entity_id, s.id_number, min(s.rid) AS rid
            FROM _survive_records s JOIN {T.ENTITIES} e USING (rid)
            WHERE s.id_valid AND s.id_number IS NOT NULL
            GROUP BY e.entity_id, s.id_number)
        SELECT entity_id, 'id_number' AS field,
               string_agg({_mask_id_sql("id_number")}, ';' ORDER BY id_number) AS "values",
               count(*) AS n,
               string_agg(CAST(rid AS VARCHAR), ';' ORDER BY id_number) AS rids
        FROM ids GROUP BY entity_id HAVING count(*) > 1
        ORDER BY entity_id""")
