"""Spark backend for the heavy stages: block, compare, score and cluster on Apache Spark ([spark] enabled).

Same tables out as the DuckDB stages (pairs_candidate, pairs_compared, pairs_scored, model_params,
entities, pairs_blocking_stats), from the same SQL and the same Python comparison functions;
see docs/spark.md.
"""

from hanlink.spark.stages import SPARK_STAGES, block, cluster, compare, run_matching, run_stage, score

__all__ = ["SPARK_STAGES", "block", "cluster", "compare", "run_matching", "run_stage", "score"]
