"""Stable entity ids: kept when records join, merge/split/retire rules and history, aliases, reruns."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest

from hanlink.config import load_config
from hanlink.db import Database
from hanlink.identity import ENTITY_ALIASES, ENTITY_HISTORY, ENTITY_REGISTRY, assign_stable_ids
from hanlink.pipeline import run_pipeline
from schemas.identity import EntityAliases, EntityHistory, EntityRegistry


def cluster_id(keys: list[str]) -> str:
    """The cluster stage's name for a cluster: 'E' + sha1 of its smallest member key."""
    return "E" + hashlib.sha1(f"s|{min(keys)}".encode()).hexdigest()[:12].upper()


def step(db: Database, run_id: str, groups: list[list[str]]) -> dict[str, str]:
    """One run's clusters (lists of record ids of source 's') through the id step: record id → entity id."""
    keys = sorted(k for g in groups for k in g)
    rid = {k: i for i, k in enumerate(keys)}
    db.write("std_records", pl.DataFrame({"rid": list(range(len(keys))), "source": ["s"] * len(keys),
                                          "source_record_id": keys, "run_id": [run_id] * len(keys)}))
    ent = [{"rid": rid[k], "entity_id": cluster_id(g), "cluster_size": len(g)} for g in groups for k in g]
    db.write("entities", pl.DataFrame(ent).sort("rid"))
    assign_stable_ids(db, run_id)
    got = db.query("SELECT s.source_record_id AS k, e.entity_id "
                   "FROM entities e JOIN std_records s USING (rid)")
    return dict(got.iter_rows())


def events(db: Database, run_id: str) -> list[tuple]:
    return db.fetchall(f"SELECT event, entity_id, other_entity_id, n_records FROM {ENTITY_HISTORY} "
                       "WHERE run_id = ? ORDER BY seq", [run_id])


def test_first_run_ids_are_cluster_ids_and_rerun_changes_nothing(db: Database) -> None:
    groups = [["a", "b"], ["c"], ["d", "e", "f"]]
    first = step(db, "r1", groups)
    assert first == {k: cluster_id(g) for g in groups for k in g}
    assert sorted(e[0] for e in events(db, "r1")) == ["created"] * 3
    again = step(db, "r2", groups)
    assert again == first
    assert events(db, "r2") == []
    EntityRegistry.validate(db.table(ENTITY_REGISTRY), lazy=True)
    EntityHistory.validate(db.table(ENTITY_HISTORY), lazy=True)


def test_new_record_joins_without_changing_the_id_even_as_smallest_key(db: Database) -> None:
    first = step(db, "r1", [["b", "c"], ["d"]])
    # 'a' is now the smallest key: the cluster stage's hash changes, the stable id must not.
    second = step(db, "r2", [["a", "b", "c"], ["d"]])
    assert second["a"] == second["b"] == first["b"]
    assert second["d"] == first["d"]
    assert events(db, "r2") == []


def test_deleted_records_drop_out_and_an_empty_entity_is_retired(db: Database) -> None:
    first = step(db, "r1", [["a", "b"], ["c"]])
    second = step(db, "r2", [["a"]])
    assert second == {"a": first["a"]}
    assert events(db, "r2") == [("retired", first["c"], None, 1)]
    reg = dict(db.fetchall(f"SELECT source_record_id, active FROM {ENTITY_REGISTRY}"))
    assert reg == {"a": True, "b": False, "c": False}
    # The record comes back alone later: its old (retired) id is never handed out again.
    third = step(db, "r3", [["a"], ["c"]])
    assert third["c"] not in (first["c"], first["a"])


def test_merge_keeps_the_id_covering_most_previous_members_and_aliases_the_other(db: Database) -> None:
    first = step(db, "r1", [["a", "b"], ["x", "y", "z"]])
    second = step(db, "r2", [["a", "b", "x", "y", "z"]])
    survivor, retired = first["x"], first["a"]
    assert set(second.values()) == {survivor}
    assert events(db, "r2") == [("merged", retired, survivor, 2)]
    aliases = db.table(ENTITY_ALIASES)
    EntityAliases.validate(aliases, lazy=True)
    assert aliases.select("retired_id", "entity_id").rows() == [(retired, survivor)]


def test_merge_tie_goes_to_the_older_id_then_the_smaller(db: Database) -> None:
    step(db, "r1", [["m", "n"]])
    # Pick a second entity, created a run later, whose id sorts *before* the older one: age must win.
    older = cluster_id(["m"])
    newer_keys = next([f"k{i}", f"k{i}x"] for i in range(1000) if cluster_id([f"k{i}"]) < older)
    step(db, "r2", [["m", "n"], newer_keys])
    merged = step(db, "r3", [["m", "n", *newer_keys]])
    assert set(merged.values()) == {older}
    assert events(db, "r3") == [("merged", cluster_id(newer_keys), older, 2)]
    # Same age, same overlap: the smaller id survives.
    db2 = Database(":memory:")
    step(db2, "r1", [["m", "n"], newer_keys])
    assert set(step(db2, "r2", [["m", "n", *newer_keys]]).values()) == {min(older, cluster_id(newer_keys))}
    db2.close()


def test_split_larger_part_keeps_the_id_smaller_gets_a_new_one(db: Database) -> None:
    first = step(db, "r1", [["a", "b", "c"]])
    old = first["a"]
    # The larger part lacks the smallest key 'a': its hash differs, yet it keeps the id; part {a} would
    # hash to the old id and must get a fresh one.
    second = step(db, "r2", [["a"], ["b", "c"]])
    assert second["b"] == second["c"] == old
    assert second["a"] != old
    assert events(db, "r2") == [("split", second["a"], old, 1)]


def test_split_tie_goes_to_the_part_with_the_smallest_key(db: Database) -> None:
    old = step(db, "r1", [["a", "b", "c", "d"]])["a"]
    second = step(db, "r2", [["c", "d"], ["a", "b"]])
    assert second["a"] == old and second["c"] != old
    assert events(db, "r2") == [("split", second["c"], old, 2)]


def test_aliases_follow_chains_of_merges(db: Database) -> None:
    first = step(db, "r1", [["a"], ["b", "c"], ["d", "e", "f", "g"]])
    step(db, "r2", [["a", "b", "c"], ["d", "e", "f", "g"]])
    step(db, "r3", [["a", "b", "c", "d", "e", "f", "g"]])
    aliases = dict(db.fetchall(f"SELECT retired_id, entity_id FROM {ENTITY_ALIASES}"))
    assert aliases == {first["a"]: first["d"], first["b"]: first["d"]}
    from hanlink.identity import resolve_entity_id

    assert resolve_entity_id(db, first["a"]) == first["d"] == resolve_entity_id(db, first["d"])


# -- end to end: two pipeline runs with added, changed and deleted records ----------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A generated single-file project of 400 records (customers.csv) with its hanlink.toml."""
    from hanlink.generate import generate

    return Path(generate(400, tmp_path, seed=5, layout="single").config)


def test_ids_stable_across_runs_with_added_changed_deleted_records(project: Path, tmp_path: Path) -> None:
    cfg = load_config(project)
    run_pipeline(cfg, run_id="r1", out_dir=tmp_path / "o1")
    with Database(cfg.database_path, read_only=True) as db:
        before = db.query("SELECT source_record_id AS k, entity_id FROM crosswalk WHERE status = 'linked'")
    sizes = before.group_by("entity_id").len()
    multi = sizes.filter(pl.col("len") >= 3)["entity_id"].sort()[0]
    single = sizes.filter(pl.col("len") == 1)["entity_id"].sort()[0]
    multi_keys = before.filter(pl.col("entity_id") == multi)["k"].sort().to_list()
    gone_single = before.filter(pl.col("entity_id") == single)["k"].item()

    csv = project.parent / "customers.csv"
    data = pl.read_csv(csv, infer_schema=False)
    copy = data.filter(pl.col("记录编号") == multi_keys[1]).with_columns(pl.lit("NEW00001").alias("记录编号"))
    changed = data.with_columns(  # a changed record: later timestamp, same person
        pl.when(pl.col("记录编号") == multi_keys[2]).then(pl.lit("2026-11-01 08:00:00"))
        .otherwise(pl.col("更新时间")).alias("更新时间"))
    kept = changed.filter(~pl.col("记录编号").is_in([multi_keys[0], gone_single]))
    pl.concat([kept, copy]).write_csv(csv)
    run_pipeline(cfg, run_id="r2", out_dir=tmp_path / "o2")

    with Database(cfg.database_path, read_only=True) as db:
        after = dict(db.fetchall("SELECT source_record_id, entity_id FROM crosswalk WHERE status = 'linked'"))
        hist = db.fetchall("SELECT event, entity_id, other_entity_id FROM entity_history WHERE run_id = 'r2'")
        assert db.scalar("SELECT count(*) FROM crosswalk WHERE source_record_id = ?", [multi_keys[0]]) == 0
    assert after["NEW00001"] == after[multi_keys[1]] == after[multi_keys[2]] == multi
    assert ("retired", single, None) in hist
    # A record present in both runs changes id only through a recorded merge (its old id retired into
    # the new one) or split (its new id took records of the old one).
    old_of = dict(before.iter_rows())
    merged = {(e, o) for ev, e, o in hist if ev == "merged"}
    split = {(e, o) for ev, e, o in hist if ev == "split"}
    for k, new in after.items():
        if k in old_of and old_of[k] != new:
            assert (old_of[k], new) in merged or (new, old_of[k]) in split, (k, old_of[k], new)
