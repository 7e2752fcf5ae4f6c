"""Block, compare, score and cluster with Spark doing the pairwise work; DuckDB keeps the run's tables.

Hand-over: each stage exports what it needs from DuckDB as Parquet into the exchange directory, Spark
reads it, writes its result as Parquet, and the result is loaded back into the DuckDB table the DuckDB stage
would have written (same name, columns, order), so review, survive and report don't know which engine ran.

What runs where, and why:
- The per-record match values (block.MATCH_VALUES over std_records) are computed by DuckDB, with the same
  SQL the DuckDB stages use, while exporting: one linear pass over data that lives in DuckDB anyway (ingest,
  standardize and validate run there). Everything per *pair* — the blocking self-joins, the comparison
  levels, the weights — runs on Spark.
- Comparison levels: compare.COMPARISONS' SQL translated by sqlglot, calling the same rapidfuzz functions
  (compare.*_arrow) as Arrow UDFs. Weights: score.scored_sql translated the same way.
- The model (u from seeded random pairs, m by EM per blocking rule, the prior) is fitted on the driver with
  score.py's own functions, from level counts Spark aggregates: the same numbers in, the same model out.
- Clustering collects the match edges to the driver and runs cluster.py's constrained union-find
  (≈ 1–2 edges per record: 10M records ≈ 200 MB of edges). A distributed connected-components pass
  (label propagation) would scale further but can't apply the cannot-link rule (two valid ID numbers) in
  weight order; see docs/spark.md.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from pyspark.sql import DataFrame, SparkSession

from hanlink import block as duck_block
from hanlink import cluster as duck_cluster
from hanlink import score as duck_score
from hanlink import tables as T
from hanlink.config import Config
from hanlink.db import Database
from hanlink.errors import StageError
from hanlink.spark.session import spark_session
from hanlink.spark.sql import comparison_sql_spark, scored_sql_spark

SIDE = "side.parquet"


def exchange_dir(cfg: Config) -> Path:
    """Where Parquet files pass between DuckDB and Spark ([spark] exchange_dir, else <work_dir>/spark)."""
    path = Path(cfg.spark.exchange_dir) if cfg.spark.exchange_dir else cfg.work_path / "spark"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _side(db: Database, spark: SparkSession, xdir: Path, view: str) -> DataFrame:
    """std_records' match values (rid + MATCH_VALUES), exported by DuckDB, as Spark temp view `view`."""
    if not db.has_table(T.STD_RECORDS):
        raise StageError(f"table {T.STD_RECORDS} is missing: run validate first", stage="block")
    path = xdir / SIDE
    db.execute(f"COPY ({duck_block.match_values_sql()}) TO {_quote(path)} (FORMAT parquet)")
    frame = spark.read.parquet(str(path))
    frame.createOrReplaceTempView(view)
    return frame


def _spark_table(spark: SparkSession, xdir: Path, name: str, view: str, stage: str) -> DataFrame:
    path = xdir / name
    if not path.exists():
        raise StageError(f"{path} is missing: run the Spark stage that writes {name} first", stage=stage)
    frame = spark.read.parquet(str(path))
    frame.createOrReplaceTempView(view)
    return frame


def _save(db: Database, frame: DataFrame, xdir: Path, table: str) -> int:
    """Write a Spark result as Parquet and load it as DuckDB `table`, ordered by (rid_l, rid_r)."""
    path = xdir / table
    shutil.rmtree(path, ignore_errors=True)
    frame.write.mode("overwrite").parquet(str(path))
    db.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_parquet("
               f"{_quote(path / '*.parquet')}) ORDER BY rid_l, rid_r")
    return db.count(table)


def _struct_args(keys: list[str]) -> str:
    return ", ".join(f"'{k}', {k}" for k in keys)


def block(db: Database, cfg: Config) -> dict[str, Any]:
    """Spark version of block.block: the same rules, cap and outputs (pairs_candidate, pairs_blocking_stats).

    One key per (record, rule) — the rule's key values as JSON, so rules of different key types share one
    plan — then the capped self-join per key, unioned and de-duplicated with the rules named per pair."""
    bcfg = cfg.blocking
    rules = duck_block._rules(bcfg)
    spark = spark_session(cfg.spark)
    xdir = exchange_dir(cfg)
    _side(db, spark, xdir, "_blk_side")
    n_records = spark.table("_blk_side").count()
    keyed = " UNION ALL ".join(
        f"SELECT rid, {idx} AS rule_idx, to_json(named_struct({_struct_args(keys)})) AS k "
        f"FROM _blk_side WHERE {' AND '.join(f'{k} IS NOT NULL' for k in keys)}"
        for idx, keys in enumerate(rules))
    # Cached: the stats, the groups and both sides of the self-join read it (small: one row per key).
    keyed_frame = spark.sql(keyed).cache()
    keyed_frame.createOrReplaceTempView("_blk_keyed")
    spark.sql("SELECT rule_idx, k, count(*) AS n FROM _blk_keyed GROUP BY rule_idx, k HAVING count(*) > 1"
              ).createOrReplaceTempView("_blk_groups")
    cap = bcfg.max_block_size
    found = {row["rule_idx"]: row for row in spark.sql(f"""
        SELECT rule_idx,
               coalesce(sum(CASE WHEN n <= {cap} THEN n * (n - 1) DIV 2 END), 0) AS estimated_pairs,
               coalesce(sum(n * (n - 1) DIV 2), 0) AS uncapped_pairs,
               count(CASE WHEN n > {cap} THEN 1 END) AS excluded_values,
               coalesce(sum(CASE WHEN n > {cap} THEN n END), 0) AS excluded_records,
               coalesce(max(n), 0) AS largest_block,
               coalesce(max(CASE WHEN n <= {cap} THEN n END), 0) AS largest_kept_block
        FROM _blk_groups GROUP BY rule_idx""").collect()}
    names = ", ".join(f"'{duck_block.rule_name(keys)}'" for keys in rules)
    candidates = spark.sql(f"""
        WITH kept AS (
            SELECT kk.rid, kk.rule_idx, kk.k FROM _blk_keyed kk
            JOIN _blk_groups g ON g.rule_idx = kk.rule_idx AND g.k = kk.k WHERE g.n <= {cap}),
        pairs AS (
            SELECT a.rid AS rid_l, b.rid AS rid_r, a.rule_idx FROM kept a
            JOIN kept b ON a.rule_idx = b.rule_idx AND a.k = b.k AND a.rid < b.rid)
        SELECT rid_l, rid_r,
               concat_ws(';', transform(array_sort(collect_set(rule_idx)),
                                        i -> element_at(array({names}), i + 1))) AS rules
        FROM pairs GROUP BY rid_l, rid_r""")
    n_pairs = _save(db, candidates, xdir, T.PAIRS_CANDIDATE)
    keyed_frame.unpersist()
    # A pair shares at most one key value per rule, so a rule's pairs before de-duplication are the
    # candidates that name it.
    actual = dict(db.fetchall(f"SELECT rule, count(*) FROM (SELECT unnest(string_split(rules, ';')) AS rule "
                              f"FROM {T.PAIRS_CANDIDATE}) GROUP BY rule"))
    stats = []
    for idx, keys in enumerate(rules):
        row = found.get(idx)
        stat: dict[str, Any] = {"rule": duck_block.rule_name(keys)}
        for col in ("estimated_pairs", "uncapped_pairs", "excluded_values", "excluded_records",
                    "largest_block", "largest_kept_block"):
            stat[col] = int(row[col]) if row is not None else 0
        stat["actual_pairs"] = int(actual.get(stat["rule"], 0))
        stats.append(stat)
    warnings = duck_block._warnings(stats, n_records, cap)
    columns = ("rule", "estimated_pairs", "actual_pairs", "excluded_values", "largest_block",
               "excluded_records", "uncapped_pairs", "largest_kept_block")
    schema = {c: pl.String if c == "rule" else pl.Int64 for c in columns}
    db.write(duck_block.BLOCKING_STATS,
             pl.DataFrame([{c: s[c] for c in columns} for s in stats], schema=schema))
    return {"records": n_records, "pairs": n_pairs, "rules": len(rules),
            "pairs_before_dedup": sum(s["actual_pairs"] for s in stats),
            "excluded_values": sum(s["excluded_values"] for s in stats), "warnings": warnings,
            "engine": "spark"}


def compare(db: Database, cfg: Config) -> dict[str, Any]:
    """Spark version of compare.compare: pairs_compared from compare.COMPARISONS' own SQL and functions."""
    spark = spark_session(cfg.spark)
    xdir = exchange_dir(cfg)
    _side(db, spark, xdir, "_cmp_side")
    _spark_table(spark, xdir, T.PAIRS_CANDIDATE, "_cmp_pairs", "compare")
    n = _save(db, spark.sql(comparison_sql_spark("_cmp_pairs", "_cmp_side")), xdir, T.PAIRS_COMPARED)
    return {"pairs": n, "comparisons": len(duck_score.COMPARISONS), "engine": "spark"}


def _level_counts(spark: SparkSession, view: str) -> dict[str, np.ndarray]:
    """score._level_counts on Spark: per comparison, pairs of `view` per level (nulls left out)."""
    comps = duck_score.COMPARISONS
    # One pass (stack = unpivot): a UNION ALL per comparison would recompute `view` once per branch.
    pairs = ", ".join(f"'{c.name}', {c.column}" for c in comps)
    sql = (f"SELECT comparison, level, count(*) AS n FROM (SELECT stack({len(comps)}, {pairs}) "
           f"AS (comparison, level) FROM {view}) WHERE level >= 0 GROUP BY comparison, level")
    out = {c.name: np.zeros(len(c.levels)) for c in comps}
    for row in spark.sql(sql).collect():
        out[row["comparison"]][row["level"]] = row["n"]
    return out


def _estimate_u(spark: SparkSession, rids: np.ndarray, n_pairs: int, seed: int) -> dict[str, np.ndarray]:
    """score.estimate_u with the comparisons on Spark: the same seeded random pairs, so the same u."""
    comps = duck_score.COMPARISONS
    if len(rids) < 2:
        return {c.name: duck_score._smooth(np.zeros(len(c.levels))) for c in comps}
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(rids), n_pairs)
    b = rng.integers(0, len(rids) - 1, n_pairs)
    b = b + (b >= a)
    pairs = pl.DataFrame({"rid_l": rids[np.minimum(a, b)], "rid_r": rids[np.maximum(a, b)]}).to_pandas()
    spark.createDataFrame(pairs).createOrReplaceTempView("_sc_u_pairs")
    spark.sql(comparison_sql_spark("_sc_u_pairs", "_sc_side")).createOrReplaceTempView("_sc_u_cmp")
    return {name: duck_score._smooth(c) for name, c in _level_counts(spark, "_sc_u_cmp").items()}


def _sample(spark: SparkSession, n: int, n_sample: int, seed: int) -> pl.DataFrame:
    """score._sample on Spark: the same seeded positions in (rid_l, rid_r) order, grouped the same way."""
    source = "_sc_compared"
    if n > n_sample:
        pos = np.sort(np.random.default_rng(seed).choice(n, n_sample, replace=False))
        spark.createDataFrame(pl.DataFrame({"pos": pos}).to_pandas()).createOrReplaceTempView("_sc_pos")
        # One global ordering, as DuckDB's row_number(): a single Spark partition, cheap next to the
        # comparisons (two integers per pair); the sample itself is then a semi-join.
        source = ("(SELECT * FROM (SELECT *, row_number() OVER (ORDER BY rid_l, rid_r) - 1 AS pos "
                  "FROM _sc_compared) LEFT SEMI JOIN _sc_pos USING (pos))")
    cols = [c.column for c in duck_score.COMPARISONS]
    sample = spark.sql(f"SELECT p.rules, {', '.join(f'c.{c}' for c in cols)}, count(*) AS n FROM {source} c "
                       f"JOIN _sc_candidate p ON p.rid_l = c.rid_l AND p.rid_r = c.rid_r "
                       f"GROUP BY p.rules, {', '.join(f'c.{c}' for c in cols)}").toArrow()
    out = pl.from_arrow(sample)
    assert isinstance(out, pl.DataFrame)
    return out.with_columns(pl.col(cols).cast(pl.Int32), pl.col("n").cast(pl.Int64)).sort(out.columns)


def _all_patterns(spark: SparkSession) -> tuple[np.ndarray, np.ndarray]:
    """score._all_patterns on Spark: distinct level patterns (sorted) and their pair counts."""
    cols = ", ".join(c.column for c in duck_score.COMPARISONS)
    rows = spark.sql(f"SELECT {cols}, count(*) FROM _sc_compared GROUP BY {cols}").collect()
    arr = np.array(rows, dtype=np.int64).reshape(-1, len(duck_score.COMPARISONS) + 1)
    arr = arr[np.lexsort(arr.T[::-1])] if len(arr) else arr
    return arr[:, :-1], arr[:, -1].astype(np.float64)


def score(db: Database, cfg: Config, run_id: str) -> dict[str, Any]:
    """Spark version of score.score: the model fitted on the driver from Spark's level counts with
    score.py's functions (model_params), then pairs_scored from score.scored_sql translated to Spark."""
    mcfg = cfg.matching
    spark = spark_session(cfg.spark)
    xdir = exchange_dir(cfg)
    side = _side(db, spark, xdir, "_sc_side")
    n_pairs = _spark_table(spark, xdir, T.PAIRS_COMPARED, "_sc_compared", "score").count()
    _spark_table(spark, xdir, T.PAIRS_CANDIDATE, "_sc_candidate", "score")
    rid_table = side.select("rid").orderBy("rid").toArrow()
    rids = rid_table.column("rid").to_numpy()
    n_records = len(rids)
    # The fitting sequence of score.score, step for step (the parity test holds the two together).
    u_by_name = _estimate_u(spark, rids, mcfg.u_sample_size, mcfg.seed)
    u = [u_by_name[c.name] for c in duck_score.COMPARISONS]
    m, used, sessions = duck_score.fit_m(_sample(spark, n_pairs, mcfg.em_sample_size, mcfg.seed), u,
                                         mcfg.em_max_iterations)
    patterns, counts = _all_patterns(spark)
    total = n_records * (n_records - 1) / 2
    lam = duck_score.fit_prior(patterns, counts, m, u, total, mcfg.em_max_iterations)
    u = duck_score.unmix_u(u, m, lam, mcfg.u_sample_size)
    lam = duck_score.fit_prior(patterns, counts, m, u, total, mcfg.em_max_iterations)
    params = duck_score.params_frame(run_id, m, u, lam, used)
    db.write(T.MODEL_PARAMS, params)
    scored = spark.sql(scored_sql_spark(duck_score.scored_sql("_sc_compared", "_sc_side", params,
                                                              mcfg.match_threshold)))
    _save(db, scored, xdir, T.PAIRS_SCORED)
    pairs, matches, vetoed = db.fetchall(
        f"SELECT count(*), count(*) FILTER (WHERE match), "
        f"count(*) FILTER (WHERE veto IS NOT NULL AND probability >= {mcfg.match_threshold!r}) "
        f"FROM {T.PAIRS_SCORED}")[0]
    return {"pairs": int(pairs), "matches": int(matches), "vetoed": int(vetoed), "prior": lam,
            "em_sessions": sessions, "engine": "spark"}


def cluster(db: Database, cfg: Config) -> dict[str, Any]:
    """Entities from Spark's pairs_scored: the match edges are collected to the driver (they are loaded
    into DuckDB by score) and joined by cluster.py's constrained union-find, strongest first."""
    return {**duck_cluster.cluster(db, cfg.matching), "engine": "spark"}


SPARK_STAGES = ("block", "compare", "score", "cluster")


def run_stage(stage: str, db: Database, cfg: Config, run_id: str) -> dict[str, Any]:
    """One of SPARK_STAGES on Spark, for the pipeline's stage dispatch when cfg.spark.enabled."""
    if stage == "block":
        return block(db, cfg)
    if stage == "compare":
        return compare(db, cfg)
    if stage == "score":
        return score(db, cfg, run_id)
    if stage == "cluster":
        return cluster(db, cfg)
    raise StageError(f"no Spark version of this stage; Spark runs {', '.join(SPARK_STAGES)}", stage=stage)


def run_matching(db: Database, cfg: Config, run_id: str) -> dict[str, dict[str, Any]]:
    """block → compare → score → cluster on Spark; the per-stage counts, keyed by stage name."""
    return {"block": block(db, cfg), "compare": compare(db, cfg), "score": score(db, cfg, run_id),
            "cluster": cluster(db, cfg)}
