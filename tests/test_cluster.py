"""Clustering: strongest pairs first, never two valid IDs together, stable entity ids, families apart."""

from __future__ import annotations

import hashlib
from datetime import date

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from matching_data import frame, id_number, pairwise_quality, synthetic_std_records

from hanlink.block import block
from hanlink.cluster import cluster, constrained_components, greedy_components
from hanlink.compare import compare
from hanlink.config import BlockingConfig, MatchingConfig
from hanlink.db import Database
from hanlink.score import score
from schemas.pairs import Entities

CFG = MatchingConfig(u_sample_size=20_000, em_sample_size=1_000, seed=3)


def _entity_id(key: str) -> str:
    return "E" + hashlib.sha1(key.encode()).hexdigest()[:12].upper()


def _matches(db: Database, edges: list[tuple[int, int, float]]) -> None:
    """A pairs_scored with just what cluster reads: the matched pairs and their weights."""
    db.write("pairs_scored", pl.DataFrame(
        {"rid_l": [a for a, _, _ in edges], "rid_r": [b for _, b, _ in edges],
         "weight": [w for *_, w in edges], "match": [True] * len(edges)},
        schema={"rid_l": pl.Int64, "rid_r": pl.Int64, "weight": pl.Float64, "match": pl.Boolean}))


def _groups(db: Database) -> list[list[int]]:
    rows = db.query("SELECT list(rid ORDER BY rid) AS g FROM entities GROUP BY entity_id ORDER BY min(rid)")
    return rows["g"].to_list()


def test_a_chain_between_two_valid_ids_is_cut_at_its_weakest_link(db: Database) -> None:
    id_a, id_c = id_number("110105", date(1990, 3, 5), 123), id_number("110105", date(1991, 4, 6), 123)
    db.write("std_records", frame({"name": "王芳", "id_number": id_a}, {"name": "王芳"},
                                  {"name": "王芳", "id_number": id_c}))
    _matches(db, [(0, 1, 20.0), (1, 2, 15.0)])
    out = cluster(db, CFG)
    assert _groups(db) == [[0, 1], [2]] and out["refused_unions"] == 1
    _matches(db, [(0, 1, 15.0), (1, 2, 20.0)])
    cluster(db, CFG)
    assert _groups(db) == [[0], [1, 2]]


def test_union_find_refuses_only_conflicting_unions() -> None:
    # 0-1-2-3 chain; 0 and 3 carry different IDs, 4-5 is a separate pair with the same ID as 0.
    roots, refused = constrained_components(
        6, np.array([0, 1, 2, 4]), np.array([1, 2, 3, 5]), np.array([0, -1, -1, 1, 0, -1]))
    assert refused == 1
    assert roots[0] == roots[1] == roots[2] != roots[3]
    assert roots[4] == roots[5] != roots[0]


def _partition(roots: np.ndarray) -> list[list[int]]:
    groups: dict[int, list[int]] = {}
    for node, root in enumerate(roots.tolist()):
        groups.setdefault(root, []).append(node)
    return sorted(groups.values())


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_vectorized_components_equal_the_sequential_union_find(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 40))
    edges = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
                               .filter(lambda e: e[0] != e[1]), max_size=60))
    ident = np.array(data.draw(st.lists(st.integers(-1, 3), min_size=n, max_size=n)))
    left = np.array([a for a, _ in edges], dtype=np.int64)
    right = np.array([b for _, b in edges], dtype=np.int64)
    fast, refused_fast = constrained_components(n, left, right, ident)
    slow, refused_slow = greedy_components(n, left, right, ident)
    assert _partition(fast) == _partition(slow) and refused_fast == refused_slow
    for group in _partition(fast):                             # never two IDs in one component
        assert len({int(ident[i]) for i in group} - {-1}) <= 1


def test_entity_ids_stay_when_a_record_joins_unless_it_has_the_smallest_key(db: Database) -> None:
    people = [{"name": "李娜", "source_record_id": k} for k in ("C0003", "C0005", "C0009", "C0001")]
    db.write("std_records", frame(*people[:3]))
    _matches(db, [(0, 1, 10.0)])
    cluster(db, CFG)
    before = db.table("entities")
    assert before["entity_id"].to_list() == [_entity_id("crm|C0003")] * 2 + [_entity_id("crm|C0009")]
    assert before["cluster_size"].to_list() == [2, 2, 1]

    _matches(db, [(0, 1, 10.0), (0, 2, 12.0)])                 # C0009 joins: its key is not the smallest
    cluster(db, CFG)
    assert db.table("entities")["entity_id"].to_list() == [_entity_id("crm|C0003")] * 3

    db.write("std_records", frame(*people))                   # C0001 joins: the id moves to its key
    _matches(db, [(0, 1, 10.0), (0, 2, 12.0), (2, 3, 11.0)])
    cluster(db, CFG)
    assert set(db.table("entities")["entity_id"]) == {_entity_id("crm|C0001")}
    Entities.validate(db.table("entities"), lazy=True)


def test_records_sharing_a_source_record_id_still_get_distinct_entities(db: Database) -> None:
    db.write("std_records", frame({"name": "李娜", "source_record_id": "X"},
                                  {"name": "刘洋", "source_record_id": "X"}))
    _matches(db, [])
    cluster(db, CFG)
    assert db.table("entities")["entity_id"].n_unique() == 2


def test_a_household_sharing_landline_and_address_is_not_merged(db: Database) -> None:
    home = {"landline": "01062345678", "province": "北京市", "city": "北京市", "district": "朝阳区",
            "address_detail": "建设路12号3栋"}
    family = frame(
        {"name": "王建国", "phone": "13811110001", "birth_date": date(1960, 5, 1), "gender": "M", **home},
        {"name": "王建国", "phone": "13811110001", "birth_date": date(1960, 5, 1), "gender": "M", **home},
        {"name": "王秀英", "phone": "13811110002", "birth_date": date(1962, 8, 9), "gender": "F", **home},
        {"name": "王小明", "birth_date": date(1990, 1, 3), "gender": "M", **home},
        {"name": "王小敏", "birth_date": date(1990, 1, 3), "gender": "F", **home})   # twins
    base = synthetic_std_records(300, seed=9)
    family = family.with_columns(rid=pl.col("rid") + base.height, source=pl.lit("family"),
                                 true_person=pl.Series([100_000, 100_000, 100_001, 100_002, 100_003]))
    db.write("std_records", pl.concat([base, family.select(base.columns)]))
    block(db, BlockingConfig(rules=[*BlockingConfig().rules, ["landline"], ["address_norm"]]))
    compare(db)
    score(db, CFG, "t")
    cluster(db, CFG)
    groups = db.query("SELECT list(rid - ? ORDER BY rid) AS g FROM entities JOIN std_records USING (rid) "
                      "WHERE source = 'family' GROUP BY entity_id ORDER BY min(rid)", [base.height])
    assert groups["g"].to_list() == [[0, 1], [2], [3], [4]]
    household = db.fetchall("SELECT count(*) FROM pairs_scored WHERE rid_l >= ? AND g_landline = 0",
                            [base.height])[0][0]
    assert household == 10                                     # every family pair was a candidate


def test_end_to_end_precision_and_recall_floors(db: Database) -> None:
    db.write("std_records", synthetic_std_records(1_000, seed=2))
    block(db, BlockingConfig())
    compare(db)
    score(db, CFG, "t")
    out = cluster(db, CFG)
    quality = pairwise_quality(db)
    assert quality["precision"] >= 0.98 and quality["recall"] >= 0.95, quality
    assert db.count("entities") == db.count("std_records") == out["records"]
    Entities.validate(db.table("entities"), lazy=True)


def test_an_id_carried_by_the_smaller_side_still_blocks_a_later_union() -> None:
    """Regression: {0 (ID a)} joined to the larger {6, 14} (no ID) keeps ID a, so 0–1 (ID b) is refused."""
    ident = np.full(15, -1)
    ident[0], ident[1] = 0, 1
    left, right = np.array([6, 0, 0]), np.array([14, 6, 1])
    for find in (constrained_components, greedy_components):
        roots, refused = find(15, left, right, ident)
        assert refused == 1
        assert roots[0] == roots[6] == roots[14] != roots[1]
