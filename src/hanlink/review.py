"""The analysts' review loop: the queue of doubtful pairs, their labels, and labels as clustering overrides.

- `review` (a pipeline stage, after identify) writes `review_queue` for the run.
- `save_label` appends to `review_labels` (kept across runs), keyed by source + source_record_id, never by
  rid (rids are renumbered every run). The latest label of a pair wins; 'unsure' records a doubt and
  changes nothing.
- `overrides` turns labels into must-link / cannot-link rid pairs for the current run, and
  `apply_overrides` (called by identity.identify before stable ids are assigned, so an unmerge shows in
  entity_history as a split) re-clusters the components the labels touch.
- `label_accuracy` compares the labelled pairs with the model's clusters (before overrides).

Queue priority (higher first) = impact × closeness:
  impact    = records a decision would move: size(entity_l) + size(entity_r) when the pair spans two
              entities (a 'match' would join them), size(entity) when it is already inside one (a
              'non_match' would split it);
  closeness = 1 / (1 + |w − w_t|), w = log2(p / (1 − p)) the pair's log-odds, w_t the match threshold's:
              1 at the threshold, ½ one bit away. Conflicts (two valid ID numbers in one entity) count as 1.
"""

from __future__ import annotations

import getpass
import os
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from hanlink import tables as T
from hanlink.config import MatchingConfig
from hanlink.db import Database
from hanlink.errors import HanlinkError, StageError
from hanlink.overrides import override_components

REVIEW_QUEUE = "review_queue"
REVIEW_LABELS = "review_labels"
ENTITIES_MODEL = "entities_model"     # the cluster stage's grouping, before analysts' overrides
LABELS: tuple[str, ...] = ("match", "non_match", "unsure")
Label = Literal["match", "non_match", "unsure"]
RecordRef = int | str | tuple[str, str]
TIMEZONE = ZoneInfo("Asia/Shanghai")

_LABELS_DDL = f"""CREATE TABLE IF NOT EXISTS {REVIEW_LABELS} (seq BIGINT, source_l VARCHAR,
    source_record_id_l VARCHAR, source_r VARCHAR, source_record_id_r VARCHAR, label VARCHAR, comment VARCHAR,
    who VARCHAR, labelled_at TIMESTAMP, run_id VARCHAR)"""
# The latest label of each pair of record keys.
_EFFECTIVE = f"""(SELECT * FROM {REVIEW_LABELS} QUALIFY row_number() OVER (
    PARTITION BY source_l, source_record_id_l, source_r, source_record_id_r
    ORDER BY labelled_at DESC, seq DESC) = 1)"""
# Effective labels resolved to this run's rids (labels on records no longer present drop out).
_LABEL_RIDS = f"""(SELECT least(a.rid, b.rid) AS rid_l, greatest(a.rid, b.rid) AS rid_r, x.label
    FROM {_EFFECTIVE} x
    JOIN {T.STD_RECORDS} a ON a.source = x.source_l AND a.source_record_id = x.source_record_id_l
    JOIN {T.STD_RECORDS} b ON b.source = x.source_r AND b.source_record_id = x.source_record_id_r
    WHERE a.rid <> b.rid)"""


def resolve_record(db: Database, ref: RecordRef) -> tuple[str, str]:
    """(source, source_record_id) of an accepted record given as rid, 'source:record_id' or a tuple."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        row = db.fetchall(f"SELECT source, source_record_id FROM {T.STD_RECORDS} WHERE rid = ?", [int(ref)])
    else:
        source, record_id = ref if isinstance(ref, tuple) else (ref.partition(":")[0], ref.partition(":")[2])
        row = db.fetchall(f"SELECT source, source_record_id FROM {T.STD_RECORDS} "
                          "WHERE source = ? AND source_record_id = ? LIMIT 1", [source, record_id])
    if not row:
        raise HanlinkError(f"no accepted record {ref!r} in this run 本次运行中没有该记录",
                           hint="give a rid, or source:record_id as in crosswalk.csv")
    return str(row[0][0]), str(row[0][1])


def save_label(db: Database, left: RecordRef, right: RecordRef, label: str, comment: str = "", *,
               who: str | None = None, when: datetime | None = None, run_id: str | None = None
               ) -> dict[str, Any]:
    """Append an analyst's decision on a pair to review_labels and return the stored row.

    `left`/`right`: rid, 'source:record_id' or (source, source_record_id) of records of the current run;
    stored by key, so the label holds in later runs. `who` defaults to $HANLINK_REVIEWER, else the OS user;
    `when` to now (Asia/Shanghai). The next run applies 'match' as must-link and 'non_match' as cannot-link.
    """
    if label not in LABELS:
        raise HanlinkError(f"label {label!r} is not one of {', '.join(LABELS)}")
    a, b = sorted((resolve_record(db, left), resolve_record(db, right)))
    if a == b:
        raise HanlinkError(f"a pair needs two different records, got {a[0]}:{a[1]} twice")
    db.execute(_LABELS_DDL)
    row = {"seq": int(db.scalar(f"SELECT coalesce(max(seq), 0) + 1 FROM {REVIEW_LABELS}")),
           "source_l": a[0], "source_record_id_l": a[1], "source_r": b[0], "source_record_id_r": b[1],
           "label": label, "comment": comment or "",
           "who": who or os.environ.get("HANLINK_REVIEWER") or getpass.getuser(),
           "labelled_at": (when or datetime.now(TIMEZONE)).replace(tzinfo=None), "run_id": run_id}
    db.write(REVIEW_LABELS, pl.DataFrame([row]), mode="append")
    return row


def effective_labels(db: Database) -> pl.DataFrame:
    """The latest label of every labelled pair of record keys (empty frame if nobody labelled yet)."""
    if not db.has_table(REVIEW_LABELS):
        return pl.DataFrame()
    return db.query(f"SELECT * FROM {_EFFECTIVE} ORDER BY seq")


def overrides(db: Database) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(must_link, cannot_link) rid pairs (rid_l < rid_r) for the current std_records, from the labels."""
    if not db.has_table(REVIEW_LABELS):
        empty = pl.DataFrame(schema={"rid_l": pl.Int64, "rid_r": pl.Int64})
        return empty, empty
    pairs = db.query(f"SELECT * FROM {_LABEL_RIDS} ORDER BY rid_l, rid_r")
    pick = pl.col("label")
    return (pairs.filter(pick == "match").select("rid_l", "rid_r"),
            pairs.filter(pick == "non_match").select("rid_l", "rid_r"))


def apply_overrides(db: Database, run_id: str) -> dict[str, int]:
    """Re-cluster `entities` under the labels: must-link pairs joined, cannot-link pairs kept apart.

    Only the components (under must-link + matched edges) that hold a labelled record are redone;
    the others keep the cluster stage's grouping. Ids follow the cluster stage's naming, so that
    identify maps them as usual. Keeps the pre-override grouping in entities_model.
    """
    for table in (T.ENTITIES, T.STD_RECORDS):
        if not db.has_table(table):
            raise StageError(f"table {table} is missing: run cluster first", stage="identify", run_id=run_id)
    db.execute(f"CREATE OR REPLACE TABLE {ENTITIES_MODEL} AS SELECT rid, entity_id FROM {T.ENTITIES}")
    must, cannot = overrides(db)
    db.execute("CREATE OR REPLACE TEMP TABLE _review_labelled_rids (rid BIGINT)")
    counts = {"must_link": must.height, "cannot_link": cannot.height, "records_reclustered": 0,
              "refused_must_link": 0}
    if not must.height and not cannot.height:
        return counts
    both = pl.concat([must, cannot])
    db.write("_review_rids", pl.concat([both["rid_l"], both["rid_r"]]).unique().sort().to_frame("rid"))
    db.execute("INSERT INTO _review_labelled_rids SELECT rid FROM _review_rids")
    db.execute("DROP TABLE _review_rids")
    records = db.query(f"""
        SELECT rid, CASE WHEN id_valid AND id_number IS NOT NULL
                    THEN dense_rank() OVER (ORDER BY CASE WHEN id_valid THEN id_number END) END AS ident
        FROM {T.STD_RECORDS} ORDER BY rid""")
    rids = records["rid"].to_numpy()
    edges = (db.query(f"SELECT rid_l, rid_r FROM {T.PAIRS_SCORED} WHERE match "
                      "ORDER BY weight DESC, rid_l, rid_r")
             if db.has_table(T.PAIRS_SCORED) else pl.DataFrame({"rid_l": [], "rid_r": []}))

    def idx(col: pl.Series) -> np.ndarray:
        return np.searchsorted(rids, col.to_numpy()).astype(np.int64)

    left, right = idx(edges["rid_l"]), idx(edges["rid_r"])
    must_l, must_r, cannot_l, cannot_r = idx(must["rid_l"]), idx(must["rid_r"]), idx(cannot["rid_l"]), \
        idx(cannot["rid_r"])
    from hanlink.cluster import constrained_components, write_entities  # plain components: no ID codes

    n = len(rids)
    roots, _ = constrained_components(n, np.concatenate([must_l, left]), np.concatenate([must_r, right]),
                                      np.full(n, -1, dtype=np.int64))
    touched = np.unique(roots[np.concatenate([must_l, must_r, cannot_l, cannot_r])])
    inside = np.isin(roots, touched)
    ident = np.where(inside, records["ident"].fill_null(0).to_numpy().astype(np.int64) - 1, -1)
    keep = inside[left]
    new_roots, refused_must, _ = override_components(n, must_l, must_r, left[keep], right[keep], ident,
                                                     cannot_l, cannot_r)
    current = db.query(f"SELECT rid, entity_id FROM {T.ENTITIES} ORDER BY rid")
    if current.height != n or not np.array_equal(current["rid"].to_numpy(), rids):
        raise StageError("entities and std_records disagree on the records", stage="identify", run_id=run_id)
    group = np.where(inside, np.char.add("G", new_roots.astype(str)), current["entity_id"].to_numpy())
    write_entities(db, pl.DataFrame({"rid": rids, "grp": group}))
    counts.update(records_reclustered=int(inside.sum()), refused_must_link=int(refused_must))
    return counts


def review(db: Database, cfg: MatchingConfig, run_id: str, *, scope: str | None = None) -> dict[str, Any]:
    """Write review_queue: unlabelled grey-zone pairs and conflicting pairs, by priority (see module doc).

    Incremental runs pass `scope`, a table of rids (whole entities): only pairs touching them are
    recomputed; queued pairs of records outside it stay (those of records gone from `entities` drop out),
    and the whole queue is ranked again.
    """
    for table in (T.ENTITIES, T.STD_RECORDS, T.PAIRS_SCORED):
        if not db.has_table(table):
            raise StageError(f"table {table} is missing: run identify first", stage="review", run_id=run_id)
    db.execute(_LABELS_DDL)
    t, lo = cfg.match_threshold, cfg.review_threshold
    w_t = float(np.log2(t / (1 - t)))
    has_veto = "veto" in db.columns(T.PAIRS_SCORED)
    veto = "p.veto" if has_veto else "NULL::VARCHAR"
    # A scope's records are active ones: std_standardized is read directly (std_records is a filtered view).
    records, in_scope, touching = T.STD_RECORDS, "", ""
    if scope is not None:
        records = f"(SELECT * FROM {T.STD_STANDARDIZED} SEMI JOIN {scope} USING (rid))"
        in_scope = f" AND s.rid IN (SELECT rid FROM {scope})"
        touching = f" AND (rid_l IN (SELECT rid FROM {scope}) OR rid_r IN (SELECT rid FROM {scope}))"
    db.execute(f"""
        CREATE OR REPLACE TABLE {REVIEW_QUEUE if scope is None else '_rq_new'} AS
        WITH ids AS (
            SELECT e.entity_id, s.id_number, min(s.rid) AS rid
            FROM {records} s JOIN {T.ENTITIES} e USING (rid)
            WHERE s.id_valid AND s.id_number IS NOT NULL{in_scope} GROUP BY ALL),
        conflict AS (
            SELECT least(a.rid, b.rid) AS rid_l, greatest(a.rid, b.rid) AS rid_r, 0 AS kind_order
            FROM ids a JOIN ids b ON a.entity_id = b.entity_id AND a.id_number < b.id_number),
        grey AS (
            SELECT rid_l, rid_r, 1 AS kind_order FROM {T.PAIRS_SCORED}
            WHERE NOT match AND probability >= {lo!r}{touching}),
        both_kinds AS (SELECT rid_l, rid_r, min(kind_order) AS kind_order
                 FROM (SELECT * FROM conflict UNION ALL SELECT * FROM grey) GROUP BY rid_l, rid_r),
        cand AS (SELECT * FROM both_kinds
                 ANTI JOIN (SELECT rid_l, rid_r FROM {_LABEL_RIDS}) USING (rid_l, rid_r)),
        q AS (
            SELECT c.rid_l, c.rid_r, CASE c.kind_order WHEN 0 THEN 'conflict' ELSE 'grey_zone' END AS kind,
                   sl.source AS source_l, sl.source_record_id AS source_record_id_l,
                   sr.source AS source_r, sr.source_record_id AS source_record_id_r,
                   el.entity_id AS entity_l, er.entity_id AS entity_r,
                   el.cluster_size::BIGINT AS size_l, er.cluster_size::BIGINT AS size_r,
                   p.probability, p.weight, {veto} AS veto,
                   CASE WHEN el.entity_id = er.entity_id THEN el.cluster_size::BIGINT
                        ELSE el.cluster_size::BIGINT + er.cluster_size END AS impact,
                   CASE WHEN c.kind_order = 0 OR p.probability IS NULL THEN 1.0
                        ELSE 1.0 / (1.0 + abs(log2(greatest(least(p.probability, 1 - 1e-12), 1e-12)
                             / (1 - greatest(least(p.probability, 1 - 1e-12), 1e-12))) - {w_t!r})) END
                       AS closeness
            FROM cand c
            JOIN {T.STD_RECORDS} sl ON sl.rid = c.rid_l JOIN {T.STD_RECORDS} sr ON sr.rid = c.rid_r
            JOIN {T.ENTITIES} el ON el.rid = c.rid_l JOIN {T.ENTITIES} er ON er.rid = c.rid_r
            LEFT JOIN {T.PAIRS_SCORED} p ON p.rid_l = c.rid_l AND p.rid_r = c.rid_r)
        SELECT '{run_id.replace("'", "''")}' AS run_id,
               row_number() OVER (ORDER BY impact * closeness DESC, kind, source_l, source_record_id_l,
                                  source_r, source_record_id_r) AS rank,
               impact * closeness AS priority, * EXCLUDE (closeness),
               CASE WHEN kind = 'conflict'
                    THEN '同一实体 ' || entity_l || '（' || size_l || ' 条记录）含两个不同的有效身份证号'
                    WHEN entity_l = entity_r
                    THEN '匹配概率 ' || printf('%.3f', probability) || ' 处于待审区间；'
                         || '两条记录已经通过其他记录归入同一实体（' || size_l || ' 条），'
                         || '判为不匹配将拆分该实体'
                    ELSE '匹配概率 ' || printf('%.3f', probability) || ' 处于待审区间；判为匹配将合并 '
                         || size_l || ' + ' || size_r || ' 条记录' END
                    || CASE WHEN veto IS NOT NULL THEN '；被规则否决：' || veto ELSE '' END AS reason_zh,
               CASE WHEN kind = 'conflict'
                    THEN 'two different valid ID numbers in entity ' || entity_l
                         || ' (' || size_l || ' records)'
                    WHEN entity_l = entity_r
                    THEN 'probability ' || printf('%.3f', probability) || ' in the review zone [{lo}, {t}); '
                         || 'already in one entity of ' || size_l || ' through other records: '
                         || 'non_match would split it'
                    ELSE 'probability ' || printf('%.3f', probability) || ' in the review zone [{lo}, {t}); '
                         || 'match would join ' || size_l || ' + ' || size_r || ' records' END
                    || CASE WHEN veto IS NOT NULL THEN '; vetoed: ' || veto ELSE '' END AS reason_en
        FROM q ORDER BY rank""")
    if scope is not None:
        _merge_queue(db, scope, run_id)
    n, conflicts = db.fetchall(
        f"SELECT count(*), count(*) FILTER (WHERE kind = 'conflict') FROM {REVIEW_QUEUE}")[0]
    labels = int(db.scalar(f"SELECT count(*) FROM {_EFFECTIVE}"))
    return {"queued_pairs": int(n), "queued_conflicts": int(conflicts), "labelled_pairs": labels}


def _merge_queue(db: Database, scope: str, run_id: str) -> None:
    """The recomputed rows (_rq_new) with the kept ones, ranked again as review() ranks them."""
    run = run_id.replace("'", "''")
    kept = (f"SELECT * FROM {REVIEW_QUEUE} q WHERE rid_l NOT IN (SELECT rid FROM {scope}) "
            f"AND rid_r NOT IN (SELECT rid FROM {scope}) AND rid_l IN (SELECT rid FROM {T.ENTITIES}) "
            f"AND rid_r IN (SELECT rid FROM {T.ENTITIES})") if db.has_table(REVIEW_QUEUE) else \
        "SELECT * FROM _rq_new WHERE false"
    db.execute(f"""
        CREATE OR REPLACE TABLE {REVIEW_QUEUE} AS
        SELECT '{run}' AS run_id,
               row_number() OVER (ORDER BY priority DESC, kind, source_l, source_record_id_l, source_r,
                                  source_record_id_r) AS rank,
               * EXCLUDE (run_id, rank)
        FROM ({kept} UNION ALL BY NAME SELECT * FROM _rq_new) ORDER BY rank""")
    db.execute("DROP TABLE _rq_new")


def review_queue(db: Database, top: int | None = None) -> pl.DataFrame:
    """The current review queue, best first (`top` rows, or all)."""
    if not db.has_table(REVIEW_QUEUE):
        raise HanlinkError("no review queue yet 还没有待审队列", hint="run `hanlink run` first")
    limit = f" LIMIT {int(top)}" if top else ""
    return db.query(f"SELECT * FROM {REVIEW_QUEUE} ORDER BY rank{limit}")


def label_accuracy(db: Database, basis: Literal["model", "final"] = "model") -> dict[str, Any]:
    """Precision and recall of the run's clusters on the analysts' labelled pairs.

    basis='model' judges the cluster stage's grouping before the labels were applied (entities_model):
    after overrides the labelled pairs agree with the labels by construction. A labelled 'match' in one
    entity is a true positive, in two a false negative; a 'non_match' in one entity a false positive.
    Labelled pairs come from the review queue, not a random sample: read the figures as a check, not an
    estimate for the whole warehouse. precision/recall are None when nothing to divide by.
    """
    table = ENTITIES_MODEL if basis == "model" and db.has_table(ENTITIES_MODEL) else T.ENTITIES
    if not db.has_table(table):
        raise HanlinkError(f"table {table} is missing: run the pipeline first")
    if not db.has_table(REVIEW_LABELS):
        return {"basis": basis, "labelled_pairs": 0, "resolved_pairs": 0, "tp": 0, "fn": 0, "fp": 0, "tn": 0,
                "unsure": 0, "precision": None, "recall": None}
    tp, fn, fp, tn, unsure = (int(x or 0) for x in db.fetchall(f"""
        SELECT count(*) FILTER (WHERE label = 'match' AND same),
               count(*) FILTER (WHERE label = 'match' AND NOT same),
               count(*) FILTER (WHERE label = 'non_match' AND same),
               count(*) FILTER (WHERE label = 'non_match' AND NOT same),
               count(*) FILTER (WHERE label = 'unsure')
        FROM (SELECT x.label, a.entity_id = b.entity_id AS same FROM {_LABEL_RIDS} x
              JOIN {table} a ON a.rid = x.rid_l JOIN {table} b ON b.rid = x.rid_r)""")[0])
    labelled = int(db.scalar(f"SELECT count(*) FROM {_EFFECTIVE}"))
    return {"basis": "model" if table == ENTITIES_MODEL else "final", "labelled_pairs": labelled,
            "resolved_pairs": tp + fn + fp + tn + unsure, "tp": tp, "fn": fn, "fp": fp, "tn": tn,
            "unsure": unsure, "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None}
