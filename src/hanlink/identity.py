"""Stable entity ids across runs: a persistent registry, merge/split/retire history and aliases.

The cluster stage names clusters by a hash of their smallest member key; that name changes whenever the
smallest member changes. This stage (`identify`, between cluster and survive) maps each of this run's
clusters onto the ids of the previous run through `entity_registry` (source + source_record_id → entity id,
kept across runs) and rewrites `entities.entity_id` with the stable id.

Rules (the overlap of cluster c and previous entity o = this run's records of c that were members of o):

- Each previous id goes to at most one cluster and each cluster keeps at most one previous id, chosen
  greedily over the (c, o) overlaps in this total order: larger overlap first, then the older id (earliest
  `created`/`split` event in entity_history), then the smaller id, then the cluster holding the smallest
  previous member key. Hence
  * merge: a cluster holding members of several previous ids keeps the one covering most of its previous
    members (then the oldest, then the smallest); the others are retired and alias to it;
  * split: a previous id whose members went to several clusters stays with the part holding most of its
    previous members (ties: the part with the smallest member key); the other parts get new ids.
- A cluster that keeps no previous id gets a new id: its cluster-stage hash, re-hashed with a counter if
  that id was ever used (registry, history, aliases), so a retired id never comes back.
- First run: every id is the cluster stage's id. The same input again: same ids, no history rows.
- A record gone from the sources drops out (the registry row turns inactive); an entity with no records
  left is retired.

entity_history events (entity_id = the id the event is about, other_entity_id = the related id):
created (new cluster, no previous members) · split (entity_id received n records of other_entity_id,
which lives on) · merged (entity_id was retired into other_entity_id, alias written) · retired (all
records of entity_id vanished).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from hanlink import tables as T
from hanlink.db import Database
from hanlink.errors import ConservationError, StageError

ENTITY_REGISTRY = "entity_registry"
ENTITY_HISTORY = "entity_history"
ENTITY_ALIASES = "entity_aliases"

_DDL = {
    ENTITY_REGISTRY: """source VARCHAR, source_record_id VARCHAR, entity_id VARCHAR, first_run_id VARCHAR,
                        last_run_id VARCHAR, active BOOLEAN""",
    ENTITY_HISTORY: """seq BIGINT, run_id VARCHAR, event VARCHAR, entity_id VARCHAR, other_entity_id VARCHAR,
                       n_records BIGINT, reason VARCHAR, reason_zh VARCHAR""",
    ENTITY_ALIASES: "retired_id VARCHAR, entity_id VARCHAR, run_id VARCHAR, reason VARCHAR",
}


def ensure_identity_tables(db: Database) -> None:
    """Create the kept-across-runs tables if this warehouse has never had them (no run drops them)."""
    for name, cols in _DDL.items():
        db.execute(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")


def identify(db: Database, run_id: str) -> dict[str, Any]:
    """Apply the analysts' overrides to `entities`, then give every cluster its stable entity id.

    Rewrites entities.entity_id, updates entity_registry, appends entity_history and entity_aliases.
    Returns counts for the run log (kept, new ids, merged, split, retired, overrides applied).
    """
    for table in (T.ENTITIES, T.STD_RECORDS):
        if not db.has_table(table):
            raise StageError(f"table {table} is missing: run cluster first", stage="identify", run_id=run_id)
    from hanlink.review import apply_overrides

    before = db.count(T.ENTITIES)
    counts = {f"overrides_{k}": v for k, v in apply_overrides(db, run_id).items()}
    counts.update(assign_stable_ids(db, run_id))
    if db.count(T.ENTITIES) != before:
        raise ConservationError(f"{before} entity rows before identify, {db.count(T.ENTITIES)} after",
                                stage="identify", run_id=run_id)
    return counts


def _greedy_assignment(edges: pl.DataFrame) -> pl.DataFrame:
    """Greedy one-to-one matching of clusters to previous ids along `edges` taken in `ord` order.

    Vectorized in rounds: an edge that comes first for both its cluster and its previous id is exactly
    the edge the sequential greedy would take; the global first edge always qualifies, so rounds end.
    """
    taken = []
    while edges.height:
        top = edges.filter((pl.col("ord") == pl.col("ord").min().over("old"))
                           & (pl.col("ord") == pl.col("ord").min().over("cluster")))
        taken.append(top.select("cluster", "old"))
        edges = (edges.join(top.select("old"), on="old", how="anti")
                 .join(top.select("cluster"), on="cluster", how="anti"))
    schema = {"cluster": pl.String, "old": pl.String}
    return pl.concat(taken) if taken else pl.DataFrame(schema=schema)


def _new_ids(db: Database, clusters: pl.DataFrame) -> pl.DataFrame:
    """cluster → new id: the cluster's own hash id unless ever used, else re-hashed with a counter."""
    # Checked in SQL: pulling every id ever used into Python cost ≈ 1 s per million.
    used = f"""SELECT entity_id FROM {ENTITY_REGISTRY} UNION ALL SELECT entity_id FROM {ENTITY_HISTORY}
        UNION ALL SELECT other_entity_id FROM {ENTITY_HISTORY}
        UNION ALL SELECT retired_id FROM {ENTITY_ALIASES} UNION ALL SELECT entity_id FROM _id_kept"""
    out = clusters.with_columns(pl.col("cluster").alias("entity_id"))
    salt = 0
    while True:  # collisions are rare (a split part that holds the old smallest key): a few passes at most
        db.write("_id_candidates", out)
        clash = db.query(f"""
            SELECT cluster FROM _id_candidates
            WHERE entity_id IN ({used})
               OR entity_id IN (SELECT entity_id FROM _id_candidates GROUP BY 1 HAVING count(*) > 1)""")
        db.execute("DROP TABLE _id_candidates")
        if not clash.height:
            return out
        salt += 1
        db.write("_id_rehash", clash)
        fresh = db.query(f"SELECT cluster, 'E' || upper(left(sha1(cluster || '#{salt}'), 12)) AS entity_id "
                         "FROM _id_rehash")
        db.execute("DROP TABLE _id_rehash")
        out = out.update(fresh, on="cluster")


def assign_stable_ids(db: Database, run_id: str, *, scope: str | None = None,
                      gone: str | None = None) -> dict[str, int]:
    """Map this run's clusters (entities.entity_id as written by cluster) onto stable ids; see module doc.

    Incremental runs pass `scope`: a table (rid, entity_id, cluster_size) holding only the re-clustered
    records, as whole entities (every active member of any entity they touch); entities outside it keep
    their ids and rows. `gone`: a table (source, source_record_id) of keys deleted or replaced this run
    (their entities must be in scope); a key not back in `scope` turns inactive. The same rules give the
    same ids as a full run over the same clusters; the `entities` rows of the scope's rids are replaced.
    """
    ensure_identity_tables(db)
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _id_cur AS
        SELECT e.rid, e.entity_id AS cluster, e.cluster_size, s.source, s.source_record_id,
               s.source || '|' || s.source_record_id AS member_key
        FROM {scope or T.ENTITIES} e JOIN {T.STD_RECORDS} s USING (rid)""")
    # The previous entities this run may change: all (full run), or those holding a key of the scope.
    touched = ""
    if scope is not None:
        gone_keys = f" UNION SELECT source, source_record_id FROM {gone}" if gone else ""
        touched = (f" AND entity_id IN (SELECT r.entity_id FROM {ENTITY_REGISTRY} r SEMI JOIN "
                   f"(SELECT source, source_record_id FROM _id_cur{gone_keys}) k "
                   "ON r.source = k.source AND r.source_record_id = k.source_record_id)")
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _id_prev AS
        SELECT entity_id, count(*) AS n FROM {ENTITY_REGISTRY} WHERE active{touched} GROUP BY entity_id""")
    edges = db.query(f"""
        WITH overlap AS (
            SELECT c.cluster, r.entity_id AS old, count(*) AS n, min(c.member_key) AS first_key
            FROM _id_cur c JOIN {ENTITY_REGISTRY} r
              ON r.active AND r.source = c.source AND r.source_record_id = c.source_record_id
            GROUP BY c.cluster, r.entity_id),
        born AS (
            SELECT entity_id, min(seq) AS born FROM {ENTITY_HISTORY}
            WHERE event IN ('created', 'split') AND entity_id IN (SELECT old FROM overlap) GROUP BY entity_id)
        SELECT o.cluster, o.old, o.n, o.first_key FROM overlap o LEFT JOIN born b ON b.entity_id = o.old
        ORDER BY o.n DESC, b.born ASC NULLS FIRST, o.old, o.first_key, o.cluster""").with_row_index("ord")
    kept = _greedy_assignment(edges)
    db.write("_id_kept", kept.rename({"old": "entity_id"}))
    db.write("_id_edges", edges)
    clusters = db.query("SELECT DISTINCT cluster FROM _id_cur ANTI JOIN _id_kept USING (cluster) ORDER BY 1")
    db.write("_id_final", pl.concat([kept.rename({"old": "entity_id"}), _new_ids(db, clusters)]))
    try:
        with db.transaction():
            events = _record_events(db, run_id)
            if scope is None:
                _rewrite(db, run_id)
            else:
                _rewrite_scope(db, run_id, gone)
    finally:
        for t in ("_id_kept", "_id_edges", "_id_final", "_id_cur", "_id_prev"):
            db.execute(f"DROP TABLE IF EXISTS {t}")
    counts = {"kept_ids": kept.height, "new_ids": clusters.height}
    counts.update({e: events.get(e, 0) for e in ("created", "merged", "split", "retired")})
    return counts


def _record_events(db: Database, run_id: str) -> dict[str, int]:
    """Append this run's created / split / merged / retired rows to entity_history, and the aliases."""
    rid = run_id.replace("'", "''")
    # Rids of analysts' labelled pairs (written by review.apply_overrides): their events say so.
    db.execute("CREATE TEMP TABLE IF NOT EXISTS _review_labelled_rids (rid BIGINT)")
    db.execute("""
        CREATE OR REPLACE TEMP TABLE _id_events AS
        WITH sizes AS (SELECT cluster, count(*) AS n FROM _id_cur GROUP BY cluster),
        e AS (SELECT x.*, f.entity_id AS final,
                     x.old IN (SELECT entity_id FROM _id_kept) AS old_lives,
                     x.ord = min(x.ord) OVER (PARTITION BY x.old) AS best_for_old,
                     x.cluster IN (SELECT cluster FROM _id_cur SEMI JOIN _review_labelled_rids USING (rid))
                         AS labelled
              FROM _id_edges x JOIN _id_final f USING (cluster)),
        prev AS (SELECT entity_id, n FROM _id_prev)
        SELECT 'created' AS event, f.entity_id, NULL::VARCHAR AS other_entity_id, s.n AS n_records,
               false AS labelled,
               'new cluster of ' || s.n || ' record(s), none seen in an earlier run' AS reason,
               '新实体：' || s.n || ' 条记录，均为首次出现' AS reason_zh
        FROM _id_final f JOIN sizes s USING (cluster)
        WHERE cluster NOT IN (SELECT cluster FROM _id_edges)
        UNION ALL
        SELECT 'merged', old, final, n, labelled,
               'retired: ' || n || ' of its records now belong to ' || final
                   || '; alias ' || old || ' → ' || final,
               '已合并：其 ' || n || ' 条记录并入 ' || final || '，旧编号指向 ' || final
        FROM e WHERE final <> old AND NOT old_lives AND best_for_old
        UNION ALL
        SELECT 'split', final, old, n, labelled,
               n || ' record(s) of ' || old || ' moved to ' ||
               CASE WHEN final IN (SELECT entity_id FROM _id_kept) THEN 'existing entity '
                    ELSE 'new entity ' END || final
               || CASE WHEN old_lives THEN ' (the part holding most of its records kept ' || old || ')'
                       ELSE ' (' || old || ' was merged elsewhere)' END,
               old || ' 的 ' || n || ' 条记录拆分至 ' || final
        FROM e WHERE final <> old AND (old_lives OR NOT best_for_old)
        UNION ALL
        SELECT 'retired', p.entity_id, NULL, p.n, false,
               'all ' || p.n || ' of its records are gone from the sources',
               '其全部 ' || p.n || ' 条记录已从来源中删除'
        FROM prev p WHERE p.entity_id NOT IN (SELECT old FROM _id_edges)""")
    if db.scalar("SELECT count(*) FROM _id_events"):
        db.execute(f"""
            INSERT INTO {ENTITY_HISTORY} BY NAME
            SELECT coalesce((SELECT max(seq) FROM {ENTITY_HISTORY}), 0)
                   + row_number() OVER (ORDER BY event, entity_id, other_entity_id) AS seq,
                   '{rid}' AS run_id, event, entity_id, other_entity_id, n_records,
                   reason || CASE WHEN labelled THEN ' — after analysts'' labels (review_labels)' ELSE '' END
                       AS reason,
                   reason_zh || CASE WHEN labelled THEN '（依据人工审核标注）' ELSE '' END AS reason_zh
            FROM _id_events ORDER BY seq""")
        # Follow chains: whatever pointed at an id retired now points at its new survivor.
        db.execute(f"""
            UPDATE {ENTITY_ALIASES} a SET entity_id = m.other_entity_id
            FROM (SELECT entity_id, other_entity_id FROM _id_events WHERE event = 'merged') m
            WHERE a.entity_id = m.entity_id""")
        db.execute(f"""
            INSERT INTO {ENTITY_ALIASES} BY NAME
            SELECT entity_id AS retired_id, other_entity_id AS entity_id, '{rid}' AS run_id, reason
            FROM _id_events WHERE event = 'merged' ORDER BY entity_id""")
    counts = dict(db.fetchall("SELECT event, count(*) FROM _id_events GROUP BY event"))
    db.execute("DROP TABLE _id_events")
    return {k: int(v) for k, v in counts.items()}


def _rewrite(db: Database, run_id: str) -> None:
    """entities with the stable ids; the registry: this run's records active, vanished ones inactive."""
    rid = run_id.replace("'", "''")
    db.execute(f"""
        CREATE OR REPLACE TABLE {T.ENTITIES} AS
        SELECT e.rid, f.entity_id, e.cluster_size
        FROM {T.ENTITIES} e JOIN _id_final f ON f.cluster = e.entity_id ORDER BY e.rid""")
    # A source that repeats a record id: the key follows its first row (smallest rid).
    db.execute(f"""
        CREATE OR REPLACE TABLE {ENTITY_REGISTRY} AS
        WITH cur AS (
            SELECT c.source, c.source_record_id, arg_min(f.entity_id, c.rid) AS entity_id
            FROM _id_cur c JOIN _id_final f USING (cluster) GROUP BY c.source, c.source_record_id)
        SELECT coalesce(c.source, r.source) AS source,
               coalesce(c.source_record_id, r.source_record_id) AS source_record_id,
               coalesce(c.entity_id, r.entity_id) AS entity_id,
               coalesce(r.first_run_id, '{rid}') AS first_run_id,
               CASE WHEN c.source IS NULL THEN r.last_run_id ELSE '{rid}' END AS last_run_id,
               c.source IS NOT NULL AS active
        FROM {ENTITY_REGISTRY} r FULL JOIN cur c
          ON r.source = c.source AND r.source_record_id = c.source_record_id
        ORDER BY source, source_record_id""")


def _rewrite_scope(db: Database, run_id: str, gone: str | None) -> None:
    """Incremental: the scope's entities rows and registry keys rewritten in place; gone keys inactive."""
    rid = run_id.replace("'", "''")
    db.execute(f"DELETE FROM {T.ENTITIES} WHERE rid IN (SELECT rid FROM _id_cur)")
    db.execute(f"""
        INSERT INTO {T.ENTITIES} (rid, entity_id, cluster_size)
        SELECT c.rid, f.entity_id, c.cluster_size FROM _id_cur c JOIN _id_final f USING (cluster)
        ORDER BY c.rid""")
    db.execute("""
        CREATE OR REPLACE TEMP TABLE _id_keys AS
        SELECT c.source, c.source_record_id, arg_min(f.entity_id, c.rid) AS entity_id
        FROM _id_cur c JOIN _id_final f USING (cluster) GROUP BY c.source, c.source_record_id""")
    if gone:
        db.execute(f"""
            UPDATE {ENTITY_REGISTRY} r SET active = false
            FROM (SELECT * FROM {gone} g ANTI JOIN _id_keys k
                    ON k.source = g.source AND k.source_record_id = g.source_record_id) g
            WHERE r.source = g.source AND r.source_record_id = g.source_record_id AND r.active""")
    db.execute(f"""
        UPDATE {ENTITY_REGISTRY} r SET entity_id = k.entity_id, last_run_id = '{rid}', active = true
        FROM _id_keys k WHERE r.source = k.source AND r.source_record_id = k.source_record_id""")
    db.execute(f"""
        INSERT INTO {ENTITY_REGISTRY} BY NAME
        SELECT k.source, k.source_record_id, k.entity_id, '{rid}' AS first_run_id, '{rid}' AS last_run_id,
               true AS active
        FROM _id_keys k ANTI JOIN {ENTITY_REGISTRY} r
          ON r.source = k.source AND r.source_record_id = k.source_record_id
        ORDER BY k.source, k.source_record_id""")
    db.execute("DROP TABLE _id_keys")


def resolve_entity_id(db: Database, entity_id: str) -> str:
    """The id to use now for `entity_id`: itself if live, its survivor if it was merged away."""
    if db.has_table(ENTITY_ALIASES):
        target = db.scalar(f"SELECT entity_id FROM {ENTITY_ALIASES} WHERE retired_id = ?", [entity_id])
        if target is not None:
            return str(target)
    return entity_id
