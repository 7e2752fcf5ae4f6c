"""End to end on generated multi-source data: conservation, accuracy floors, determinism, run log."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest

from hanlink.config import load_config
from hanlink.db import Database
from hanlink.evaluate import bcubed_metrics, pairwise_metrics
from hanlink.pipeline import STAGES, run_pipeline


@pytest.fixture(scope="module")
def first_run(demo_project: Path, tmp_path_factory: pytest.TempPathFactory):
    """The demo project run once through the whole pipeline (no Prefect)."""
    cfg = load_config(demo_project)
    out = tmp_path_factory.mktemp("run1")
    return cfg, run_pipeline(cfg, run_id="r1", out_dir=out)


def _truth(demo_project: Path) -> pl.DataFrame:
    return pl.read_csv(demo_project.parent / "truth.csv", infer_schema=False)


def test_every_input_row_is_in_exactly_one_place(first_run, demo_project: Path) -> None:
    cfg, _ = first_run
    truth = _truth(demo_project)
    with Database(cfg.database_path, read_only=True) as db:
        raw = sum(db.count(t) for t in db.tables("raw_"))
        ingest_held = db.scalar("SELECT count(*) FROM quarantine WHERE run_id='r1' AND stage='ingest'")
        assert raw + ingest_held == truth.height
        kept = db.count("std_records")
        held = db.scalar("SELECT count(*) FROM quarantine WHERE run_id='r1' AND stage='validate'")
        assert kept + held == raw
        assert db.count("entities") == kept
        assert db.count("crosswalk") == truth.height
        assert (
            db.scalar(
                "SELECT count(*) FROM (SELECT source, source_record_id FROM crosswalk "
                "GROUP BY ALL HAVING count(*) > 1)"
            )
            == 0
        )
        logged = [r[0] for r in db.fetchall("SELECT stage FROM run_log WHERE run_id='r1' AND status='ok'")]
    assert sorted(logged) == sorted(STAGES)


def test_accuracy_floors_on_generated_data(first_run, demo_project: Path) -> None:
    _, result = first_run
    truth = _truth(demo_project).select(
        (pl.col("source") + "|" + pl.col("source_record_id")).alias("key"),
        pl.col("entity_id").alias("cluster"),
    )
    xw = pl.read_csv(result.outputs["crosswalk"], infer_schema=False)
    pred = xw.select(
        (pl.col("source") + "|" + pl.col("source_record_id")).alias("key"),
        pl.coalesce("entity_id", pl.lit("Q|") + pl.col("source") + pl.col("source_record_id")).alias(
            "cluster"
        ),
    )
    pw, b3 = pairwise_metrics(pred, truth), bcubed_metrics(pred, truth)
    assert pw["precision"] >= 0.99, pw
    assert pw["recall"] >= 0.98, pw
    assert b3["f1"] >= 0.99, b3


def test_families_sharing_address_and_landline_are_not_merged(first_run, demo_project: Path) -> None:
    _, result = first_run
    family = _truth(demo_project).filter(pl.col("family_id").is_not_null() & (pl.col("family_id") != ""))
    assert family["family_id"].n_unique() >= 5
    xw = pl.read_csv(result.outputs["crosswalk"], infer_schema=False).rename({"entity_id": "predicted"})
    joined = family.join(xw, on=["source", "source_record_id"]).filter(pl.col("predicted").is_not_null())
    # One predicted entity must never hold two different people of the same family.
    merged = (
        joined.group_by("predicted")
        .agg(pl.col("entity_id").n_unique().alias("people"))
        .filter(pl.col("people") > 1)
    )
    assert merged.height == 0, merged


def test_rerun_on_the_same_input_gives_identical_outputs(first_run, tmp_path: Path) -> None:
    cfg, result = first_run
    again = run_pipeline(cfg, run_id="r2", out_dir=tmp_path)
    for key in ("crosswalk", "golden_records", "findings"):
        assert (
            hashlib.sha256(result.outputs[key].read_bytes()).hexdigest()
            == hashlib.sha256(again.outputs[key].read_bytes()).hexdigest()
        ), key
