"""Incremental nights, part 2: block the delta against the warehouse, score with the saved model, recluster.

- `pairs_match_values` keeps every active record's blocking/comparison values (block.MATCH_VALUES), so the
  delta is blocked against the warehouse without recomputing them for a million records each night.
- Blocking: for every rule, only the key values the delta brings or takes away are looked at, with their
  group sizes over the whole warehouse, so the frequent-value exclusion (cfg.blocking.max_block_size) is the
  full run's: a group that grows past the cap loses its existing pairs for that rule, one that shrinks
  under it gains them, the others gain the pairs that involve a new record.
- New pairs are compared with compare's SQL and scored with score's SQL under the model saved by the last
  full run (model_params; no EM refit) and term frequencies over the whole warehouse. Existing pairs keep
  their scores.
- Reclustering: the entities touched (new match edges, lost edges, records replaced or deleted), closed over
  match edges and analysts' must-links that reach other entities, are clustered again as the cluster stage
  and the analysts' overrides would; every other entity keeps its members.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np
import polars as pl

from hanlink import tables as T
from hanlink.block import MATCH_VALUES, _rules, match_values_sql, rule_name
from hanlink.cluster import constrained_components, write_entities
from hanlink.compare import comparison_sql, register_functions
from hanlink.config import Config
from hanlink.db import Database
from hanlink.overrides import override_components
from hanlink.score import scored_sql

MATCH_VALUES_TABLE = "pairs_match_values"
AFFECTED = "_inc_aff"  # rid: the records re-clustered this run (whole entities)
NEW_ENTITIES = "_inc_entities"  # rid, entity_id (cluster-stage name), cluster_size for AFFECTED
_PAIR_TABLES = (T.PAIRS_CANDIDATE, T.PAIRS_COMPARED, T.PAIRS_SCORED)


def match_values_hash() -> str:
    """Changes when block.MATCH_VALUES changes: pairs_match_values must then be rebuilt."""
    return hashlib.sha1(match_values_sql().encode()).hexdigest()[:16]


def build_match_values(db: Database) -> int:
    """(Re)build pairs_match_values from std_records: one row per active record."""
    db.execute(f"CREATE OR REPLACE TABLE {MATCH_VALUES_TABLE} AS {match_values_sql()} ORDER BY rid")
    return db.count(MATCH_VALUES_TABLE)


def update_match_values(db: Database, cfg: Config, offset: int) -> None:
    """Drop the replaced/deleted records' values (their blocking keys kept in _inc_old_mv), add the
    delta's (_inc_new_mv)."""
    keys = ", ".join(sorted({k for rule in _rules(cfg.blocking) for k in rule}))
    db.execute(f"""CREATE OR REPLACE TEMP TABLE _inc_old_mv AS SELECT rid, {keys} FROM {MATCH_VALUES_TABLE}
                   WHERE rid IN (SELECT rid FROM _inc_gone_rids)""")
    db.execute(f"DELETE FROM {MATCH_VALUES_TABLE} WHERE rid IN (SELECT rid FROM _inc_gone_rids)")
    db.execute(f"CREATE OR REPLACE TEMP TABLE _inc_new_mv AS {match_values_sql(f'rid >= {offset}')}")
    db.execute(f"INSERT INTO {MATCH_VALUES_TABLE} SELECT * FROM _inc_new_mv")


def block_delta(db: Database, cfg: Config, offset: int) -> dict[str, Any]:
    """Per-rule pairs gained (_inc_add) and lost (_inc_lost) by the delta, then _inc_final: every touched
    pair with its new ';'-joined rules (NULL = no rule left) and whether it was a candidate before."""
    rules = _rules(cfg.blocking)
    cap = cfg.blocking.max_block_size
    db.execute("CREATE OR REPLACE TEMP TABLE _inc_add (rid_l BIGINT, rid_r BIGINT, rule_idx SMALLINT)")
    db.execute("CREATE OR REPLACE TEMP TABLE _inc_lost (rid_l BIGINT, rid_r BIGINT, rule_idx SMALLINT)")
    db.write(
        "_inc_rules",
        pl.DataFrame(
            {"rule_idx": list(range(len(rules))), "rule": [rule_name(k) for k in rules]},
            schema={"rule_idx": pl.Int16, "rule": pl.String},
        ),
    )
    # Every rule in one statement per step (not five per rule): the delta's values per rule (rules told
    # apart by rule_idx, the keys a rule doesn't use left null), every active record holding one of them,
    # the groups' sizes before and after, and the pairs gained or lost.
    vals = []
    for idx, keys in enumerate(rules):
        cols = ", ".join(keys)
        not_null = " AND ".join(f"{k} IS NOT NULL" for k in keys)
        vals.append(f"""
            SELECT CAST({idx} AS SMALLINT) AS rule_idx, {cols},
                   count(*) FILTER (WHERE d > 0) AS n_new, count(*) FILTER (WHERE d < 0) AS n_gone
            FROM (SELECT {cols}, 1 AS d FROM _inc_new_mv WHERE {not_null}
                  UNION ALL SELECT {cols}, -1 FROM _inc_old_mv WHERE {not_null})
            GROUP BY {cols}""")
    db.execute(f"""CREATE OR REPLACE TEMP TABLE _inc_vals AS
                   SELECT *, row_number() OVER () AS gid FROM ({' UNION ALL BY NAME '.join(vals)})""")
    members = " UNION ALL ".join(
        f"SELECT m.rid, v.gid FROM {MATCH_VALUES_TABLE} m JOIN _inc_vals v ON v.rule_idx = {idx} AND "
        + " AND ".join(f"m.{k} = v.{k}" for k in keys)
        for idx, keys in enumerate(rules))
    db.execute(f"CREATE OR REPLACE TEMP TABLE _inc_mem AS {members}")
    db.execute("""
        CREATE OR REPLACE TEMP TABLE _inc_grp AS
        SELECT v.gid, v.rule_idx, count(m.rid) AS n_after, count(m.rid) - v.n_new + v.n_gone AS n_before
        FROM _inc_vals v LEFT JOIN _inc_mem m USING (gid) GROUP BY v.gid, v.rule_idx, v.n_new, v.n_gone""")
    pairs = ("FROM _inc_mem a JOIN _inc_mem b ON a.gid = b.gid AND a.rid < b.rid "
             "JOIN _inc_grp g ON g.gid = a.gid")
    # Under the cap: pairs with a new record, or every pair when the group just fell under the cap.
    db.execute(f"INSERT INTO _inc_add SELECT a.rid, b.rid, g.rule_idx {pairs} "
               f"WHERE g.n_after <= {cap} AND (b.rid >= {offset} OR g.n_before > {cap})")
    db.execute(f"INSERT INTO _inc_lost SELECT a.rid, b.rid, g.rule_idx {pairs} "
               f"WHERE g.n_before <= {cap} AND g.n_after > {cap} AND b.rid < {offset}")
    excluded = int(db.scalar(f"SELECT count(*) FROM _inc_grp WHERE n_after > {cap}"))
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _inc_final AS
        WITH touched AS (SELECT DISTINCT rid_l, rid_r FROM _inc_add
                         UNION SELECT rid_l, rid_r FROM _inc_lost),
        old AS (SELECT p.rid_l, p.rid_r, p.rules FROM {T.PAIRS_CANDIDATE} p
                SEMI JOIN touched USING (rid_l, rid_r)),
        cur AS (SELECT o.rid_l, o.rid_r, r.rule_idx
                FROM (SELECT rid_l, rid_r, unnest(string_split(rules, ';')) AS rule FROM old) o
                JOIN _inc_rules r USING (rule)),
        kept AS (SELECT * FROM cur UNION SELECT * FROM _inc_add EXCEPT SELECT * FROM _inc_lost),
        named AS (SELECT k.rid_l, k.rid_r, string_agg(r.rule, ';' ORDER BY r.rule_idx) AS rules
                  FROM kept k JOIN _inc_rules r USING (rule_idx) GROUP BY k.rid_l, k.rid_r)
        SELECT t.rid_l, t.rid_r, n.rules, o.rules IS NOT NULL AS existed, o.rules AS old_rules
        FROM touched t LEFT JOIN named n USING (rid_l, rid_r) LEFT JOIN old o USING (rid_l, rid_r)""")
    got = db.fetchall("""SELECT count(*) FILTER (WHERE NOT existed AND rules IS NOT NULL),
                                count(*) FILTER (WHERE existed AND rules IS NULL),
                                count(*) FILTER (WHERE existed AND rules IS DISTINCT FROM old_rules)
                         FROM _inc_final""")[0]
    for t in ("_inc_vals", "_inc_mem", "_inc_grp"):
        db.execute(f"DROP TABLE IF EXISTS {t}")
    return {
        "rules": len(rules),
        "new_pairs": int(got[0]),
        "dropped_pairs": int(got[1]),
        "pairs_rules_changed": int(got[2]),
        "excluded_values_touched": excluded,
    }


def update_pairs(db: Database, cfg: Config) -> dict[str, Any]:
    """Drop pairs of replaced/deleted records and pairs left without a rule; compare and score new pairs
    under the saved model; seeds of the recluster (_inc_seed) are the records of changed match edges."""
    db.execute("CREATE OR REPLACE TEMP TABLE _inc_seed (rid BIGINT)")
    db.execute("""CREATE OR REPLACE TEMP TABLE _inc_drop AS
                  SELECT rid_l, rid_r FROM _inc_final WHERE existed AND rules IS NULL""")
    gone = (
        "rid_l IN (SELECT rid FROM _inc_gone_rids) OR rid_r IN (SELECT rid FROM _inc_gone_rids) "
        "OR EXISTS (SELECT 1 FROM _inc_drop d WHERE d.rid_l = t.rid_l AND d.rid_r = t.rid_r)"
    )
    # One scan of pairs_scored for both ends of the lost match edges (a UNION of two scans cost twice).
    db.execute(f"""INSERT INTO _inc_seed SELECT DISTINCT unnest([rid_l, rid_r]) FROM {T.PAIRS_SCORED} t
                   WHERE match AND ({gone})""")
    for table in _PAIR_TABLES:
        db.execute(f"DELETE FROM {table} t WHERE {gone}")
    db.execute("DROP TABLE _inc_drop")
    # A few rows of a large table: delete and insert (an UPDATE … FROM rewrote every row group).
    db.execute("""CREATE OR REPLACE TEMP TABLE _inc_rerule AS SELECT rid_l, rid_r, rules FROM _inc_final
                  WHERE existed AND rules IS NOT NULL AND rules <> old_rules""")
    db.execute(f"""DELETE FROM {T.PAIRS_CANDIDATE} t WHERE EXISTS (
                       SELECT 1 FROM _inc_rerule d WHERE d.rid_l = t.rid_l AND d.rid_r = t.rid_r)""")
    db.execute(f"INSERT INTO {T.PAIRS_CANDIDATE} BY NAME SELECT * FROM _inc_rerule")
    db.execute("DROP TABLE _inc_rerule")
    db.execute("""CREATE OR REPLACE TEMP TABLE _inc_to_score AS
                  SELECT rid_l, rid_r, rules FROM _inc_final WHERE NOT existed AND rules IS NOT NULL
                  ORDER BY rid_l, rid_r""")
    register_functions(db)
    params = db.query(f"SELECT * FROM {T.MODEL_PARAMS}")
    tf_values = sorted(params["tf_value"].drop_nulls().unique()) if "tf_value" in params.columns else []
    tf_tables = {v: f"_inc_tf_{v}" for v in tf_values}
    threshold = cfg.matching.match_threshold
    compare_sql = comparison_sql("_inc_to_score", "_inc_side")
    score_sql = scored_sql("_inc_compared", "_inc_side", params, threshold, tf_tables=tf_tables)
    # Only the values the two statements read: fetching scattered rows costs a scan of every column fetched.
    used = set(re.findall(r"\b[lr]\.(\w+)", compare_sql + score_sql))
    cols = ", ".join(["rid", *(c for c in MATCH_VALUES if c in used)])
    db.execute(f"""CREATE OR REPLACE TEMP TABLE _inc_side AS SELECT {cols} FROM {MATCH_VALUES_TABLE}
                   WHERE rid IN (SELECT rid_l FROM _inc_to_score UNION SELECT rid_r FROM _inc_to_score)""")
    db.execute(f"CREATE OR REPLACE TEMP TABLE _inc_compared AS {compare_sql}")
    # Term frequencies over every active record, as a full run counts them, for the values at hand only;
    # the denominators (non-null values of each column) in one scan for all columns.
    totals: dict[str, int] = {}
    if tf_tables:
        counts = ", ".join(f"count({v})" for v in tf_tables)
        counted = db.fetchall(f"SELECT {counts} FROM {MATCH_VALUES_TABLE}")
        totals = dict(zip(tf_tables, (int(n) for n in counted[0]), strict=True))
    for v, table in tf_tables.items():
        db.execute(f"""CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT {v} AS v, count(*) / CAST({totals[v]} AS BIGINT) AS u
            FROM {MATCH_VALUES_TABLE} WHERE {v} IN (SELECT {v} FROM _inc_side) GROUP BY {v}""")
    db.execute(f"CREATE OR REPLACE TEMP TABLE _inc_scored AS {score_sql}")
    db.execute(f"INSERT INTO {T.PAIRS_CANDIDATE} BY NAME SELECT * FROM _inc_to_score")
    db.execute(f"INSERT INTO {T.PAIRS_COMPARED} BY NAME SELECT * FROM _inc_compared ORDER BY rid_l, rid_r")
    have = set(db.columns(T.PAIRS_SCORED))
    cols = ", ".join(c for c in db.columns("_inc_scored") if c in have)
    db.execute(f"INSERT INTO {T.PAIRS_SCORED} BY NAME SELECT {cols} FROM _inc_scored ORDER BY rid_l, rid_r")
    db.execute("""INSERT INTO _inc_seed SELECT rid_l FROM _inc_scored WHERE match
                  UNION SELECT rid_r FROM _inc_scored WHERE match UNION SELECT rid FROM _inc_new_mv""")
    pairs, matches = db.fetchall("SELECT count(*), count(*) FILTER (WHERE match) FROM _inc_scored")[0]
    for t in ("_inc_side", "_inc_compared", "_inc_scored", "_inc_to_score", *tf_tables.values()):
        db.execute(f"DROP TABLE IF EXISTS {t}")
    return {
        "pairs_scored": int(pairs),
        "matches": int(matches),
        "model_run_id": str(params["run_id"][0]),
        "em_refit": False,
    }


def _must_links(db: Database) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The analysts' (must-link, cannot-link) rid pairs; no lookup over std_records when nobody labelled."""
    from hanlink.review import REVIEW_LABELS, overrides

    if not db.has_table(REVIEW_LABELS) or not db.count(REVIEW_LABELS):
        empty = pl.DataFrame(schema={"rid_l": pl.Int64, "rid_r": pl.Int64})
        return empty, empty
    return overrides(db)


def affected_records(db: Database) -> int:
    """AFFECTED: whole entities of the seeds and of replaced/deleted records, plus the delta's records,
    closed over match edges and must-links that lead to another entity (a refused union, an override)."""
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE {AFFECTED} AS
        SELECT rid FROM {T.ENTITIES} WHERE entity_id IN (
            SELECT entity_id FROM {T.ENTITIES}
            WHERE rid IN (SELECT rid FROM _inc_seed UNION SELECT rid FROM _inc_gone_rids))
          AND rid NOT IN (SELECT rid FROM _inc_gone_rids)
        UNION SELECT rid FROM _inc_new_mv""")
    must, _ = _must_links(db)
    db.write("_inc_must", must)
    while True:
        db.execute(f"""
            CREATE OR REPLACE TEMP TABLE _inc_more AS
            WITH edges AS (SELECT rid_l, rid_r FROM {T.PAIRS_SCORED} WHERE match
                           UNION ALL SELECT rid_l, rid_r FROM _inc_must),
            other AS (SELECT rid_r AS rid FROM edges WHERE rid_l IN (SELECT rid FROM {AFFECTED})
                                                       AND rid_r NOT IN (SELECT rid FROM {AFFECTED})
                      UNION SELECT rid_l FROM edges WHERE rid_r IN (SELECT rid FROM {AFFECTED})
                                                       AND rid_l NOT IN (SELECT rid FROM {AFFECTED}))
            SELECT rid FROM {T.ENTITIES} WHERE entity_id IN (
                SELECT e.entity_id FROM {T.ENTITIES} e SEMI JOIN other USING (rid))""")
        if not db.count("_inc_more"):
            break
        db.execute(f"INSERT INTO {AFFECTED} SELECT rid FROM _inc_more")
    db.execute("DROP TABLE IF EXISTS _inc_more")
    return db.count(AFFECTED)


def recluster(db: Database) -> dict[str, Any]:
    """NEW_ENTITIES for AFFECTED: the cluster stage's constrained components over their match edges, then
    the analysts' must-link / cannot-link as review.apply_overrides applies them (same order, same rules)."""
    records = db.query(f"""
        SELECT rid, CASE WHEN id_valid AND id_number IS NOT NULL
                    THEN dense_rank() OVER (ORDER BY CASE WHEN id_valid THEN id_number END) END AS ident
        FROM {T.STD_STANDARDIZED} SEMI JOIN {AFFECTED} USING (rid) ORDER BY rid""")
    rids = records["rid"].to_numpy()
    n = len(rids)
    ident = records["ident"].fill_null(0).to_numpy().astype(np.int64) - 1
    inside = f"rid_l IN (SELECT rid FROM {AFFECTED}) AND rid_r IN (SELECT rid FROM {AFFECTED})"
    edges = db.query(
        f"SELECT rid_l, rid_r FROM {T.PAIRS_SCORED} WHERE match AND {inside} "
        "ORDER BY weight DESC, rid_l, rid_r"
    )

    def idx(col: pl.Series) -> np.ndarray:
        return np.searchsorted(rids, col.to_numpy()).astype(np.int64)

    left, right = idx(edges["rid_l"]), idx(edges["rid_r"])
    roots, refused = constrained_components(n, left, right, ident)
    groups = pl.DataFrame({"rid": rids, "grp": roots.astype(str)})
    must, cannot = (
        f.filter(pl.col("rid_l").is_in(rids.tolist()) & pl.col("rid_r").is_in(rids.tolist()))
        for f in _must_links(db)
    )
    db.execute("CREATE OR REPLACE TEMP TABLE _review_labelled_rids (rid BIGINT)")
    counts: dict[str, Any] = {
        "records": n,
        "match_edges": edges.height,
        "refused_unions": refused,
        "must_link": must.height,
        "cannot_link": cannot.height,
    }
    model = groups
    if must.height or cannot.height:
        both = pl.concat([must, cannot])
        db.write("_inc_lab", pl.concat([both["rid_l"], both["rid_r"]]).unique().to_frame("rid"))
        db.execute("INSERT INTO _review_labelled_rids SELECT rid FROM _inc_lab")
        db.execute("DROP TABLE _inc_lab")
        must_l, must_r, cannot_l, cannot_r = (
            idx(must["rid_l"]),
            idx(must["rid_r"]),
            idx(cannot["rid_l"]),
            idx(cannot["rid_r"]),
        )
        plain, _ = constrained_components(
            n, np.concatenate([must_l, left]), np.concatenate([must_r, right]), np.full(n, -1, dtype=np.int64)
        )
        touched = np.unique(plain[np.concatenate([must_l, must_r, cannot_l, cannot_r])])
        hit = np.isin(plain, touched)
        keep = hit[left]
        new_roots, refused_must, _ = override_components(
            n, must_l, must_r, left[keep], right[keep], np.where(hit, ident, -1), cannot_l, cannot_r
        )
        groups = pl.DataFrame(
            {
                "rid": rids,
                "grp": np.where(
                    hit, np.char.add("G", new_roots.astype(str)), np.char.add("C", roots.astype(str))
                ),
            }
        )
        counts.update(records_reclustered_by_labels=int(hit.sum()), refused_must_link=int(refused_must))
    write_entities(db, groups, into=NEW_ENTITIES)
    _update_model_grouping(db, model, groups is model)
    counts["entities"] = int(db.scalar(f"SELECT count(DISTINCT entity_id) FROM {NEW_ENTITIES}"))
    return counts


def _update_model_grouping(db: Database, model: pl.DataFrame, same: bool) -> None:
    """review.ENTITIES_MODEL (the grouping before the analysts' labels) for the affected records."""
    from hanlink.review import ENTITIES_MODEL

    if not db.has_table(ENTITIES_MODEL):
        return
    if same:
        db.execute(f"CREATE OR REPLACE TEMP TABLE _inc_model AS SELECT rid, entity_id FROM {NEW_ENTITIES}")
    else:
        write_entities(db, model, into="_inc_model")
    db.execute(
        f"DELETE FROM {ENTITIES_MODEL} WHERE rid IN (SELECT rid FROM {AFFECTED}) "
        "OR rid IN (SELECT rid FROM _inc_gone_rids)"
    )
    db.execute(f"INSERT INTO {ENTITIES_MODEL} BY NAME SELECT rid, entity_id FROM _inc_model")
    db.execute("DROP TABLE _inc_model")
