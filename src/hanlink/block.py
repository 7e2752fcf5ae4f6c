"""Blocking: candidate pairs from several equality rules, unioned, with oversized blocks kept out."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from hanlink import tables as T
from hanlink.config import BlockingConfig
from hanlink.db import Database
from hanlink.errors import StageError

log = logging.getLogger(__name__)

BLOCKING_STATS = "pairs_blocking_stats"

# ID statuses whose number is not evidence about a person at all.
_ID_UNUSABLE = "('placeholder', 'malformed', 'missing')"
_ID_USABLE = f"id_number IS NOT NULL AND id_status NOT IN {_ID_UNUSABLE}"

# The one place that says which std_records value is usable as evidence, for blocking and comparing alike.
# Each is SQL over std_records that is NULL when the value must not count: placeholders, invalid emails,
# junk names. Blocking keys (config BlockingKey) and comparison columns (compare.COMPARISONS) name these.
MATCH_VALUES: dict[str, str] = {
    "name": "CASE WHEN name_type NOT IN ('junk', 'missing') THEN nullif(trim(name), '') END",
    "name_pinyin": "CASE WHEN name_type NOT IN ('junk', 'missing') THEN nullif(trim(name_pinyin), '') END",
    "name_key": "CASE WHEN name_type NOT IN ('junk', 'missing') THEN nullif(trim(name_key), '') END",
    # Spaces and dots dropped: "zhang wei" = "zhangwei", "阿卜杜·热合曼" = "阿卜杜热合曼".
    "name_norm": ("CASE WHEN name_type NOT IN ('junk', 'missing') THEN "
                  "nullif(regexp_replace(lower(name), '[\\s·•.\\-]', '', 'g'), '') END"),
    "surname": "CASE WHEN name_type NOT IN ('junk', 'missing') THEN nullif(surname, '') END",
    "given_pinyin": "CASE WHEN name_type NOT IN ('junk', 'missing') THEN nullif(given_pinyin, '') END",
    # A mobile is personal; a mobile typed into the landline column still is.
    "phone": "CASE WHEN phone_type = 'mobile' THEN phone WHEN landline_type = 'mobile' THEN landline END",
    "phone_last4": ("right(CASE WHEN phone_type = 'mobile' THEN phone "
                    "WHEN landline_type = 'mobile' THEN landline END, 4)"),
    # A landline is shared by a household: weak evidence, compared but never enough on its own.
    "landline": "CASE WHEN landline_type = 'landline' THEN landline WHEN phone_type = 'landline' THEN phone END",
    # Checksum errors and bad dates stay in: a typo in an ID is still close to the right ID.
    "id_number": f"CASE WHEN {_ID_USABLE} THEN id_number END",
    "id_valid": "coalesce(id_valid, false)",
    "id_birth": f"CASE WHEN {_ID_USABLE} AND id_status <> 'credit_code' THEN id_birth_date END",
    "email": "CASE WHEN email_valid THEN nullif(email, '') END",
    "birth_date": (f"coalesce(birth_date, CASE WHEN {_ID_USABLE} AND id_status NOT IN "
                   "('credit_code', 'bad_date') THEN id_birth_date END)"),
    "gender": "coalesce(gender, id_gender)",
    "province": "province",
    "city": "city",
    "district": "district",
    "address_detail": "nullif(trim(address_detail), '')",
    "address_norm": ("CASE WHEN nullif(trim(address_detail), '') IS NOT NULL THEN "
                     "regexp_replace(coalesce(district, '') || address_detail, '\\s', '', 'g') END"),
}

# Above this many estimated pairs per record a rule is reported as exploding (the cap still applies).
EXPLODE_PAIRS_PER_RECORD = 20


def match_values_sql(where: str = "") -> str:
    """SELECT rid and every MATCH_VALUES column from std_records (optionally filtered): one row per record."""
    cols = ",\n  ".join(f"{sql} AS {name}" for name, sql in MATCH_VALUES.items())
    return f"SELECT rid,\n  {cols}\nFROM {T.STD_RECORDS}" + (f"\nWHERE {where}" if where else "")


def rule_name(keys: Sequence[str]) -> str:
    """The name a rule has in pairs_candidate.rules and in the stats table: keys joined by '+'."""
    return "+".join(keys)


def _rules(cfg: BlockingConfig) -> list[list[str]]:
    """The configured rules, repeated rules dropped, every key checked against MATCH_VALUES."""
    seen: set[str] = set()
    out: list[list[str]] = []
    for keys in cfg.rules:
        unknown = [k for k in keys if k not in MATCH_VALUES]
        if unknown or not keys:
            raise StageError(f"blocking rule {list(keys)!r} uses unknown keys {unknown}; valid: "
                             f"{', '.join(MATCH_VALUES)}", stage="block")
        if rule_name(keys) not in seen:
            seen.add(rule_name(keys))
            out.append(list(keys))
    return out


def _estimate(db: Database, keys: list[str], max_block_size: int) -> dict[str, Any]:
    """Group the rule's key values (table _blk_groups) and count the pairs the join will make."""
    cols = ", ".join(keys)
    not_null = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _blk_groups AS
        SELECT {cols}, count(*) AS n, row_number() OVER () AS gid
        FROM _blk_side WHERE {not_null} GROUP BY {cols} HAVING count(*) > 1""")
    row = db.fetchall(f"""
        SELECT coalesce(sum(n * (n - 1) // 2) FILTER (WHERE n <= {max_block_size}), 0),
               coalesce(sum(n * (n - 1) // 2), 0),
               count(*) FILTER (WHERE n > {max_block_size}),
               coalesce(sum(n) FILTER (WHERE n > {max_block_size}), 0),
               coalesce(max(n), 0),
               coalesce(max(n) FILTER (WHERE n <= {max_block_size}), 0)
        FROM _blk_groups""")[0]
    return {"estimated_pairs": int(row[0]), "uncapped_pairs": int(row[1]), "excluded_values": int(row[2]),
            "excluded_records": int(row[3]), "largest_block": int(row[4]), "largest_kept_block": int(row[5])}


def _rule_pairs_sql(keys: list[str], rule_idx: int, max_block_size: int) -> str:
    """Pairs of records sharing a kept value of the rule's keys (a join on one integer group id)."""
    using = ", ".join(keys)
    return f"""
        INSERT INTO _blk_pairs
        WITH kept AS (
            SELECT s.rid, g.gid FROM _blk_side s JOIN _blk_groups g USING ({using})
            WHERE g.n <= {max_block_size})
        SELECT a.rid AS rid_l, b.rid AS rid_r, {rule_idx}::SMALLINT AS rule_idx
        FROM kept a JOIN kept b ON a.gid = b.gid AND a.rid < b.rid"""


def block(db: Database, cfg: BlockingConfig) -> dict[str, Any]:
    """Write pairs_candidate (rid_l < rid_r, ';'-joined rule names) and pairs_blocking_stats.

    A value shared by more than cfg.max_block_size records (a placeholder phone, 张伟 in one district)
    is not blocked on: it is counted in the stats table instead. Rules whose estimated pair count is
    large for the data size come back under "warnings" (also logged). Cost is near-linear in records
    as long as blocks are capped.
    """
    if not db.has_table(T.STD_RECORDS):
        raise StageError(f"table {T.STD_RECORDS} is missing: run validate first", stage="block")
    rules = _rules(cfg)
    needed = sorted({k for keys in rules for k in keys})
    side_cols = ", ".join(f"{MATCH_VALUES[k]} AS {k}" for k in needed)
    db.execute(f"CREATE OR REPLACE TEMP TABLE _blk_side AS SELECT rid, {side_cols} FROM {T.STD_RECORDS}")
    n_records = db.count("_blk_side")
    db.execute("CREATE OR REPLACE TEMP TABLE _blk_pairs (rid_l BIGINT, rid_r BIGINT, rule_idx SMALLINT)")
    db.execute("CREATE OR REPLACE TEMP TABLE _blk_rules (rule_idx SMALLINT, rule VARCHAR)")

    stats: list[dict[str, Any]] = []
    warnings: list[dict[str, str]] = []
    for idx, keys in enumerate(rules):
        name = rule_name(keys)
        est = _estimate(db, keys, cfg.max_block_size)
        if est["estimated_pairs"] > EXPLODE_PAIRS_PER_RECORD * max(n_records, 1):
            warnings.append({
                "rule": name,
                "message_zh": f"分块规则 {name} 预计产生 {est['estimated_pairs']:,} 对候选，相对 {n_records:,} 条记录过多",
                "message_en": f"blocking rule {name} would make {est['estimated_pairs']:,} candidate pairs "
                              f"for {n_records:,} records: too many, tighten the rule"})
        if est["excluded_values"]:
            warnings.append({
                "rule": name,
                "message_zh": f"分块规则 {name}：{est['excluded_values']} 个取值被超过 {cfg.max_block_size} 条记录共用"
                              f"（共 {est['excluded_records']} 条），不参与分块",
                "message_en": f"blocking rule {name}: {est['excluded_values']} values shared by more than "
                              f"{cfg.max_block_size} records ({est['excluded_records']} records) are not "
                              "blocked on"})
        db.execute(_rule_pairs_sql(keys, idx, cfg.max_block_size))
        db.execute("INSERT INTO _blk_rules VALUES (?, ?)", [idx, name])
        stats.append({"rule": name, **est})
    for w in warnings:
        log.warning("%s", w["message_en"])

    actual = dict(db.fetchall("SELECT rule_idx, count(*) FROM _blk_pairs GROUP BY rule_idx"))
    for idx, row in enumerate(stats):
        row["actual_pairs"] = int(actual.get(idx, 0))
    # Within one rule a record is in one group only, so a pair repeats only across rules.
    db.execute(f"""
        CREATE OR REPLACE TABLE {T.PAIRS_CANDIDATE} AS
        SELECT p.rid_l, p.rid_r, string_agg(r.rule, ';' ORDER BY p.rule_idx) AS rules
        FROM _blk_pairs p JOIN _blk_rules r USING (rule_idx)
        GROUP BY p.rid_l, p.rid_r ORDER BY p.rid_l, p.rid_r""")
    db.execute(f"""
        CREATE OR REPLACE TABLE {BLOCKING_STATS} (
            rule VARCHAR, estimated_pairs BIGINT, actual_pairs BIGINT, excluded_values BIGINT,
            largest_block BIGINT, excluded_records BIGINT, uncapped_pairs BIGINT, largest_kept_block BIGINT)""")
    for row in stats:
        db.execute(f"INSERT INTO {BLOCKING_STATS} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [row["rule"], row["estimated_pairs"], row["actual_pairs"], row["excluded_values"],
                    row["largest_block"], row["excluded_records"], row["uncapped_pairs"],
                    row["largest_kept_block"]])
    for tmp in ("_blk_side", "_blk_groups", "_blk_pairs", "_blk_rules"):
        db.execute(f"DROP TABLE IF EXISTS {tmp}")
    pairs = db.count(T.PAIRS_CANDIDATE)
    return {"records": n_records, "pairs": pairs, "rules": len(rules),
            "pairs_before_dedup": sum(r["actual_pairs"] for r in stats),
            "excluded_values": sum(r["excluded_values"] for r in stats), "warnings": warnings}
