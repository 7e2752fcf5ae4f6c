"""Spark backend parity: on the same std_records Spark and DuckDB give the same pairs, weights, clusters."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pytest
from matching_data import synthetic_std_records
from polars.testing import assert_frame_equal

from hanlink import spark as hs
from hanlink.block import block
from hanlink.cluster import cluster
from hanlink.compare import COMPARISONS, compare, comparison
from hanlink.config import config_from_dict
from hanlink.db import Database
from hanlink.score import score
from hanlink.spark.session import spark_session

pytestmark = pytest.mark.spark

RUN = "parity"


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Database]]:
    """The same ≈2,100 synthetic records matched twice: on DuckDB, and on Spark (local[2])."""
    tmp = tmp_path_factory.mktemp("spark")
    # Samples smaller than the data, so the seeded sampling paths (u pairs, EM positions) are exercised.
    cfg = config_from_dict({
        "project": {"work_dir": str(tmp)},
        "matching": {"u_sample_size": 20_000, "em_sample_size": 1_000},
        "spark": {"enabled": True, "master": "local[2]", "shuffle_partitions": 1,
                  "exchange_dir": str(tmp / "exchange")}})
    records = synthetic_std_records(1_300, seed=7)
    duck, spark = Database(tmp / "duck.duckdb"), Database(tmp / "spark.duckdb")
    for db in (duck, spark):
        db.write("std_records", records)
    block(duck, cfg.blocking)
    compare(duck)
    score(duck, cfg.matching, RUN)
    cluster(duck, cfg.matching)
    counts = hs.run_matching(spark, cfg, RUN)
    assert {c["engine"] for c in counts.values()} == {"spark"}
    yield duck, spark
    spark_session(cfg.spark).stop()
    duck.close()
    spark.close()


def _table(db: Database, sql: str) -> pl.DataFrame:
    return db.query(sql)


def test_same_candidate_pairs_and_blocking_stats(engines: tuple[Database, Database]) -> None:
    duck, spark = engines
    sql = "SELECT rid_l, rid_r, rules FROM pairs_candidate ORDER BY rid_l, rid_r"
    expected = _table(duck, sql)
    assert expected.height > 1_000              # enough pairs for the EM sample to be a sample
    assert_frame_equal(_table(spark, sql), expected)
    stats = "SELECT * FROM pairs_blocking_stats ORDER BY rule"
    assert_frame_equal(_table(spark, stats), _table(duck, stats))


def test_same_comparison_levels(engines: tuple[Database, Database]) -> None:
    duck, spark = engines
    sql = "SELECT * FROM pairs_compared ORDER BY rid_l, rid_r"
    expected = _table(duck, sql)
    # Fuzzy levels (Python UDFs) are actually reached, not only exact ones.
    name = comparison("name")
    fuzzy = (name.level_index("jw_0.92"), name.level_index("one_token"))
    assert expected.filter(pl.col("g_name").is_between(*fuzzy)).height > 0
    assert_frame_equal(_table(spark, sql), expected)


def test_same_model_and_weights(engines: tuple[Database, Database]) -> None:
    duck, spark = engines
    params = "SELECT comparison, level, label, m, u, weight FROM model_params ORDER BY comparison, level"
    assert_frame_equal(_table(spark, params), _table(duck, params), check_exact=False, rel_tol=0,
                       abs_tol=1e-9)
    w_cols = ", ".join(f"w_{c.name}" for c in COMPARISONS)
    g_cols = ", ".join(c.column for c in COMPARISONS)
    sql = (f"SELECT rid_l, rid_r, {g_cols}, {w_cols}, weight, probability, match, veto FROM pairs_scored "
           "ORDER BY rid_l, rid_r")
    expected = _table(duck, sql)
    assert expected["match"].sum() > 100
    assert_frame_equal(_table(spark, sql), expected, check_exact=False, rel_tol=0, abs_tol=1e-9)


def test_same_clusters(engines: tuple[Database, Database]) -> None:
    duck, spark = engines
    sql = "SELECT rid, entity_id, cluster_size FROM entities ORDER BY rid"
    expected = _table(duck, sql)
    assert expected["cluster_size"].max() > 1
    assert_frame_equal(_table(spark, sql), expected)


def test_config_switch_defaults_to_duckdb() -> None:
    assert config_from_dict({}).spark.enabled is False
    assert config_from_dict({"spark": {"enabled": True}}).spark.master == "local[2]"


def test_the_pipeline_switch_sends_the_heavy_stages_to_spark(
    engines: tuple[Database, Database], tmp_path_factory: pytest.TempPathFactory
) -> None:
    from hanlink.pipeline import run_stage

    duck, _ = engines
    tmp = tmp_path_factory.mktemp("switch")
    cfg = config_from_dict({"project": {"work_dir": str(tmp)},
                            "spark": {"enabled": True, "master": "local[2]", "shuffle_partitions": 1,
                                      "exchange_dir": str(tmp / "exchange")}})
    with Database(tmp / "w.duckdb") as db:
        db.write("std_records", duck.table("std_records"))
        counts = run_stage("block", db, cfg, RUN)  # the pipeline's own stage runner, logged in run_log
        assert counts.get("engine") == "spark"
        sql = "SELECT rid_l, rid_r, rules FROM pairs_candidate ORDER BY rid_l, rid_r"
        assert_frame_equal(db.query(sql), duck.query(sql))
