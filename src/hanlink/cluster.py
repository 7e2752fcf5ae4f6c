"""Clustering: matched pairs joined strongest first, never putting two different valid ID numbers together."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from hanlink import tables as T
from hanlink.config import MatchingConfig
from hanlink.db import Database
from hanlink.errors import StageError


def constrained_components(n: int, left: np.ndarray, right: np.ndarray,
                           ident: np.ndarray) -> tuple[np.ndarray, int]:
    """Components of edges taken in the order given (strongest first): (root index per node, refused unions).

    `ident[i]` is a code for node i's valid ID number (-1 = none). A union that would put two different
    codes in one component is refused, so a single bad edge can't chain two people together. Only
    components that hold two codes need the sequential pass; the rest are found vectorized.
    """
    roots = _components(n, left, right)
    has = ident >= 0
    codes = pl.DataFrame({"root": roots[has], "ident": ident[has]})
    torn = codes.group_by("root").agg(pl.col("ident").n_unique()).filter(pl.col("ident") > 1)["root"]
    if torn.is_empty():
        return roots, 0
    inside = np.isin(roots, torn.to_numpy())
    edges = inside[left]
    greedy, refused = greedy_components(n, left[edges], right[edges], ident)
    roots[inside] = greedy[inside]
    return roots, refused


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Plain connected components, vectorized: hook roots onto smaller roots, then jump pointers."""
    parent = np.arange(n, dtype=np.int64)
    while True:
        a, b = parent[left], parent[right]
        apart = a != b
        if not apart.any():
            return parent
        np.minimum.at(parent, np.maximum(a, b)[apart], np.minimum(a, b)[apart])
        parent = flatten(parent)


def flatten(parent: np.ndarray) -> np.ndarray:
    """Point every node of a parent array straight at its root (pointer jumping)."""
    while True:
        up = parent[parent]
        if np.array_equal(up, parent):
            return parent
        parent = up


def greedy_components(n: int, left: np.ndarray, right: np.ndarray,
                      ident: np.ndarray) -> tuple[np.ndarray, int]:
    """The sequential cannot-link union-find (a Python loop, ≈ 2 µs per edge); see constrained_components."""
    parent = list(range(n))
    code = ident.tolist()
    size = [1] * n
    refused = 0
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        while parent[a] != a:                 # find with path halving
            parent[a] = parent[parent[a]]
            a = parent[a]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a == b:
            continue
        ca, cb = code[a], code[b]
        if ca >= 0 and cb >= 0 and ca != cb:
            refused += 1
            continue
        merged = ca if ca >= 0 else cb          # the union keeps whichever ID either side had
        if size[a] < size[b]:
            a, b = b, a
        parent[b] = a
        size[a] += size[b]
        code[a] = merged
    return flatten(np.asarray(parent, dtype=np.int64)), refused


def write_entities(db: Database, groups: pl.DataFrame, *, into: str = T.ENTITIES) -> None:
    """Replace `entities` from a grouping of records (columns rid, grp): one entity per group.

    entity_id = 'E' + 12 upper hex chars of sha1 of the group's smallest member key (source|source_record_id).
    Two groups could share a smallest key only if a source repeats a record id: then the smallest rid tells
    them apart (stable as long as the duplicates are). `into` names another table to write (incremental
    runs name a subset's clusters there).
    """
    db.write("_entity_groups", groups.select("rid", pl.col("grp").cast(pl.String)))
    db.execute(f"""
        CREATE OR REPLACE TABLE {into} AS
        WITH keyed AS (
            SELECT g.rid, g.grp, s.source || '|' || s.source_record_id AS member_key
            FROM _entity_groups g JOIN {T.STD_RECORDS} s USING (rid)),
        comps AS (
            SELECT grp, min(member_key) AS entity_key, min(rid) AS first_rid,
                   count(*)::INTEGER AS cluster_size
            FROM keyed GROUP BY grp),
        named AS (
            SELECT grp, cluster_size, CASE WHEN count(*) OVER (PARTITION BY entity_key) > 1
                THEN entity_key || '|' || first_rid ELSE entity_key END AS entity_key
            FROM comps)
        SELECT k.rid, 'E' || upper(left(sha1(n.entity_key), 12)) AS entity_id, n.cluster_size
        FROM keyed k JOIN named n USING (grp) ORDER BY k.rid""")
    db.execute("DROP TABLE _entity_groups")


def cluster(db: Database, cfg: MatchingConfig) -> dict[str, Any]:
    """Write entities (rid, entity_id, cluster_size) for every std_records row, singletons included.

    entity_id = 'E' + 12 upper hex chars of sha1 of the smallest member key (source|source_record_id):
    it stays the same when a record joins a cluster, unless the newcomer's key is the smallest.
    """
    for table in (T.STD_RECORDS, T.PAIRS_SCORED):
        if not db.has_table(table):
            raise StageError(f"table {table} is missing: run score first", stage="cluster")
    records = db.query(f"""
        SELECT rid, CASE WHEN id_valid AND id_number IS NOT NULL
                    THEN dense_rank() OVER (ORDER BY CASE WHEN id_valid THEN id_number END) END AS ident
        FROM {T.STD_RECORDS} ORDER BY rid""")
    rids = records["rid"].to_numpy()
    ident = records["ident"].fill_null(0).to_numpy().astype(np.int64) - 1
    edges = db.query(f"""
        SELECT rid_l, rid_r FROM {T.PAIRS_SCORED} WHERE match ORDER BY weight DESC, rid_l, rid_r""")
    left = np.searchsorted(rids, edges["rid_l"].to_numpy())
    right = np.searchsorted(rids, edges["rid_r"].to_numpy())
    roots, refused = constrained_components(len(rids), left, right, ident)
    write_entities(db, pl.DataFrame({"rid": rids, "grp": roots}))
    n_entities, multi = db.fetchall(
        f"SELECT count(DISTINCT entity_id), count(DISTINCT entity_id) FILTER (WHERE cluster_size > 1) "
        f"FROM {T.ENTITIES}")[0]
    return {"records": len(rids), "match_edges": edges.height, "refused_unions": refused,
            "entities": int(n_entities), "multi_record_entities": int(multi)}
