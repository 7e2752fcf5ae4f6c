"""Review loop: labels keyed by record keys, the queue and its priority, overrides applied by the next run,
label accuracy, the CLI, and the marimo notebook run headless."""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest
from typer.testing import CliRunner

from hanlink.cli import app
from hanlink.cluster import cluster
from hanlink.config import MatchingConfig, load_config
from hanlink.db import Database
from hanlink.errors import HanlinkError
from hanlink.identity import identify
from hanlink.pipeline import run_pipeline
from hanlink.review import (
    REVIEW_QUEUE,
    effective_labels,
    label_accuracy,
    overrides,
    review,
    save_label,
)
from schemas.review import ReviewLabels, ReviewQueue

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "review.py"


def records(db: Database, run_id: str, keys: list[str], ids: dict[str, str] | None = None) -> None:
    """std_records with just what clustering and review read: rid in list order, source 's', valid IDs."""
    ids = ids or {}
    db.write("std_records", pl.DataFrame({
        "rid": list(range(len(keys))), "source": ["s"] * len(keys), "source_record_id": keys,
        "run_id": [run_id] * len(keys), "id_number": [ids.get(k) for k in keys],
        "id_valid": [k in ids for k in keys]}, schema_overrides={"id_number": pl.String}))


def scored(db: Database, keys: list[str], pairs: list[tuple[str, str, float]], t: float = 0.95) -> None:
    """pairs_scored from (key, key, probability): weight = log2 odds, match = p ≥ t."""
    rid = {k: i for i, k in enumerate(keys)}
    rows = [(min(rid[a], rid[b]), max(rid[a], rid[b]), p) for a, b, p in pairs]
    db.write("pairs_scored", pl.DataFrame({
        "rid_l": [r[0] for r in rows], "rid_r": [r[1] for r in rows], "probability": [r[2] for r in rows],
        "weight": [math.log2(r[2] / (1 - r[2])) for r in rows], "match": [r[2] >= t for r in rows]}))


def entity_of(db: Database) -> dict[str, str]:
    return dict(db.fetchall(
        "SELECT s.source_record_id, e.entity_id FROM entities e JOIN std_records s USING (rid)"))


def test_save_label_checks_and_keys_by_record_not_rid(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    records(db, "r1", ["a", "b", "c"])
    monkeypatch.setenv("HANLINK_REVIEWER", "analyst-1")
    for bad in (("a", "b", "maybe"), ("s:a", "s:a", "match"), ("s:a", "s:zz", "match"), (0, 99, "match")):
        with pytest.raises(HanlinkError):
            save_label(db, *bad)
    row = save_label(db, "s:b", 0, "non_match", "different people")
    assert (row["source_l"], row["source_record_id_l"], row["source_r"], row["source_record_id_r"]) == \
        ("s", "a", "s", "b")
    assert row["who"] == "analyst-1"
    save_label(db, ("s", "a"), ("s", "b"), "match", "second look", who="lead")
    labels = effective_labels(db)
    assert labels.select("label", "who").rows() == [("match", "lead")]   # the latest label wins
    ReviewLabels.validate(db.table("review_labels"), lazy=True)
    # Next run: rids renumbered; the label follows the records.
    records(db, "r2", ["c", "b", "a"])
    must, cannot = overrides(db)
    assert must.rows() == [(1, 2)] and cannot.is_empty()


@pytest.fixture
def queued(db: Database) -> Database:
    """Hand-made tables: entity {a,b}, singletons c and d, and {e,f,g} holding two valid ID numbers."""
    keys = ["a", "b", "c", "d", "e", "f", "g"]
    records(db, "r1", keys, ids={"e": "ID-A", "f": "ID-B"})
    scored(db, keys, [("a", "b", 0.99), ("b", "c", 0.9), ("c", "d", 0.6), ("a", "d", 0.3),
                      ("e", "g", 0.99), ("f", "g", 0.97), ("a", "c", 0.8)])
    groups = {"E1": [0, 1], "E2": [2], "E3": [3], "E4": [4, 5, 6]}
    db.write("entities", pl.DataFrame([{"rid": r, "entity_id": e, "cluster_size": len(rs)}
                                       for e, rs in groups.items() for r in rs]).sort("rid"))
    return db


def closeness(p: float, t: float = 0.95) -> float:
    return 1 / (1 + abs(math.log2(p / (1 - p)) - math.log2(t / (1 - t))))


def test_queue_holds_grey_zone_and_conflicts_ordered_by_priority(queued: Database) -> None:
    counts = review(queued, MatchingConfig(), "r1")
    q = queued.table(REVIEW_QUEUE)
    ReviewQueue.validate(q, lazy=True)
    got = [(r["source_record_id_l"], r["source_record_id_r"], r["kind"]) for r in q.iter_rows(named=True)]
    expected = {("e", "f", "conflict"): 3 * 1.0, ("b", "c", "grey_zone"): 3 * closeness(0.9),
                ("a", "c", "grey_zone"): 3 * closeness(0.8), ("c", "d", "grey_zone"): 2 * closeness(0.6)}
    assert got == sorted(expected, key=lambda k: -expected[k])   # 0.3 is below review, matches are out
    for r in q.iter_rows(named=True):
        key = (r["source_record_id_l"], r["source_record_id_r"], r["kind"])
        assert r["priority"] == pytest.approx(expected[key])
    assert q["rank"].to_list() == [1, 2, 3, 4] and counts["queued_conflicts"] == 1
    assert not any(v in "".join(q["reason_en"] + q["reason_zh"]) for v in ("ID-A", "ID-B"))  # never the IDs

    save_label(queued, "s:b", "s:c", "non_match")
    review(queued, MatchingConfig(), "r1")
    left = queued.fetchall(f"SELECT source_record_id_l, source_record_id_r FROM {REVIEW_QUEUE}")
    assert ("b", "c") not in left


def test_label_accuracy_counts_against_the_clusters(queued: Database) -> None:
    assert label_accuracy(queued)["precision"] is None
    save_label(queued, "s:a", "s:b", "match")        # same entity: true positive
    save_label(queued, "s:c", "s:d", "match")        # two entities: false negative
    save_label(queued, "s:e", "s:g", "non_match")    # same entity: false positive
    save_label(queued, "s:b", "s:c", "non_match")    # two entities: true negative
    save_label(queued, "s:a", "s:d", "unsure")
    acc = label_accuracy(queued)
    assert (acc["tp"], acc["fn"], acc["fp"], acc["tn"], acc["unsure"]) == (1, 1, 1, 1, 1)
    assert acc["precision"] == 0.5 and acc["recall"] == 0.5


def test_overrides_unmerge_and_merge_in_the_next_run_with_history(db: Database) -> None:
    keys = ["a", "b", "c", "d", "e"]
    pairs = [("a", "b", 0.999), ("b", "c", 0.97), ("d", "e", 0.2)]

    def run(run_id: str, order: list[str]) -> dict[str, str]:
        records(db, run_id, order)
        scored(db, order, pairs)
        cluster(db, MatchingConfig())
        identify(db, run_id)
        return entity_of(db)

    first = run("r1", keys)
    assert first["a"] == first["b"] == first["c"] != first["d"] != first["e"]
    save_label(db, "s:a", "s:c", "non_match", "different customers")   # cut the chain a-b-c
    save_label(db, "s:d", "s:e", "match", "same phone, same person")
    second = run("r2", list(reversed(keys)))                               # rids renumbered
    assert second["a"] == second["b"] == first["a"] and second["c"] != first["a"]
    assert second["d"] == second["e"]
    hist = db.fetchall("SELECT event, entity_id, other_entity_id, n_records, reason FROM entity_history "
                       "WHERE run_id = 'r2' ORDER BY seq")
    survivor, retired = sorted((first["d"], first["e"]))
    assert [h[:4] for h in hist] == [("merged", retired, survivor, 1), ("split", second["c"], first["a"], 1)]
    assert all("analysts' labels" in h[4] for h in hist)
    assert label_accuracy(db)["fp"] == 1 and label_accuracy(db, "final")["fp"] == 0
    # No change in run 3: same ids, no events.
    assert run("r3", keys) == second
    assert db.scalar("SELECT count(*) FROM entity_history WHERE run_id = 'r3'") == 0


# -- end to end: pipeline, CLI and the notebook --------------------------------------------------------------


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated 4-source project of 1,500 hard records run once (run id r1), with a non-empty review queue
    (the model is decisive: smaller or cleaner sets leave no pair in the grey zone); tests copy it."""
    from hanlink.generate import generate

    out = tmp_path_factory.mktemp("review_project")
    config = Path(generate(1500, out, seed=42, layout="sources", difficulty="hard").config)
    run_pipeline(load_config(config), run_id="r1", out_dir=out / "out1")
    return config


@pytest.fixture
def project(ran: Path, tmp_path: Path) -> Path:
    """A private copy of the run project: its hanlink.toml."""
    shutil.copytree(ran.parent, tmp_path / "p")
    return tmp_path / "p" / ran.name


def load_notebook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("review_notebook", NOTEBOOK)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebook_runs_headless_and_shows_the_top_pair_masked(project: Path, tmp_path: Path) -> None:
    cfg = load_config(project)
    with Database(cfg.database_path, read_only=True) as db:
        top = db.query(f"SELECT rid_l, rid_r FROM {REVIEW_QUEUE} ORDER BY rank LIMIT 1")
        assert top.height == 1, "the generated run should have pairs to review"
        raw = [v for (v,) in db.fetchall(
            "SELECT v FROM (SELECT unnest([phone, id_number, email]) AS v FROM std_records "
            "WHERE rid IN (?, ?)) WHERE v IS NOT NULL", top.row(0))]
    html = tmp_path / "review.html"
    notebook = shutil.copy(NOTEBOOK, tmp_path / "review.py")   # marimo leaves a __marimo__ cache beside it
    done = subprocess.run([sys.executable, "-m", "marimo", "export", "html", str(notebook), "-o", str(html),
                           "--no-include-code", "-f"], env={**os.environ, "HANLINK_CONFIG": str(project)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    text = html.read_text(encoding="utf-8")
    assert "Pair #1" in text and "Per-field comparison" in text and "bits" in text
    assert "cannot open the run" not in text
    assert raw and not any(v in text for v in raw)     # analysts see masked values only


def test_label_saved_by_the_notebook_is_applied_by_the_next_run(project: Path, tmp_path: Path) -> None:
    cfg = load_config(project)
    with Database(cfg.database_path, read_only=True) as db:
        xw = db.query("SELECT source || ':' || source_record_id AS ref, entity_id FROM crosswalk "
                      "WHERE status = 'linked' ORDER BY source, source_record_id")
    sizes = xw.group_by("entity_id").len()
    pair_entity = sizes.filter(pl.col("len") == 2)["entity_id"].sort()[0]
    split_refs = xw.filter(pl.col("entity_id") == pair_entity)["ref"].to_list()
    singles = sizes.filter(pl.col("len") == 1)["entity_id"].sort()[:2].to_list()
    merge_refs = xw.filter(pl.col("entity_id").is_in(singles))["ref"].to_list()

    notebook = load_notebook()
    notebook.save_pair_label(str(project), *split_refs, "non_match", "two people", who="nb-test")
    notebook.save_pair_label(str(project), *merge_refs, "match", "same customer", who="nb-test")
    run_pipeline(cfg, run_id="r2", out_dir=tmp_path / "out2")

    with Database(cfg.database_path, read_only=True) as db:
        now = dict(db.fetchall("SELECT source || ':' || source_record_id, entity_id FROM crosswalk "
                               "WHERE status = 'linked'"))
        hist = db.fetchall("SELECT event, entity_id, other_entity_id FROM entity_history WHERE run_id = 'r2'")
        assert db.scalar("SELECT count(*) FROM review_labels WHERE who = 'nb-test'") == 2
    assert now[split_refs[0]] != now[split_refs[1]]
    assert pair_entity in (now[split_refs[0]], now[split_refs[1]])   # one part keeps the id
    assert ("split", ({now[r] for r in split_refs} - {pair_entity}).pop(), pair_entity) in hist
    assert now[merge_refs[0]] == now[merge_refs[1]] == min(singles)
    assert ("merged", max(singles), min(singles)) in hist


def test_cli_review_lists_and_labels(project: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["review", "-c", str(project), "-n", "3"])
    assert listed.exit_code == 0, listed.output
    cfg = load_config(project)
    with Database(cfg.database_path, read_only=True) as db:
        left, right = db.fetchall(
            f"SELECT source_l || ':' || source_record_id_l, source_r || ':' || source_record_id_r "
            f"FROM {REVIEW_QUEUE} WHERE rank = 1")[0]
    assert left in listed.output.replace("\n", "") or left[:10] in listed.output
    bad = runner.invoke(app, ["review", "-c", str(project), "--label", left, "nosuch:1", "match"])
    assert bad.exit_code == 1 and "nosuch:1" in bad.output
    wrong = runner.invoke(app, ["review", "-c", str(project), "--label", left, right, "maybe"])
    assert wrong.exit_code == 1 and "maybe" in wrong.output
    ok = runner.invoke(app, ["review", "-c", str(project), "--label", left, right, "non_match",
                             "--comment", "checked", "--who", "cli-test"])
    assert ok.exit_code == 0, ok.output
    with Database(cfg.database_path, read_only=True) as db:
        assert db.fetchall("SELECT label, comment, who, run_id FROM review_labels") == \
            [("non_match", "checked", "cli-test", "r1")]
    acc = runner.invoke(app, ["review", "-c", str(project), "--accuracy"])
    assert acc.exit_code == 0 and "'labelled_pairs': 1" in acc.output
