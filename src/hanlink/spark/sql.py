"""DuckDB SQL of the stages turned into Spark SQL (sqlglot), so Spark runs the stages' own SQL text."""

from __future__ import annotations

import sqlglot

from hanlink.compare import COMPARISONS, comparison_sql
from hanlink.errors import StageError


def to_spark(duckdb_sql: str, stage: str) -> str:
    """One DuckDB statement as Spark SQL; StageError naming the stage if it can't be translated."""
    try:
        out = sqlglot.transpile(duckdb_sql, read="duckdb", write="spark",
                                unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.SqlglotError as exc:
        raise StageError(f"its DuckDB SQL has no Spark translation: {exc}", stage=stage) from None
    return out[0]


def comparison_sql_spark(pairs: str, side: str) -> str:
    """compare.comparison_sql for Spark: the same levels, the same UDF names."""
    return to_spark(comparison_sql(pairs, side), "compare")


def scored_sql_spark(duckdb_scored: str) -> str:
    """score.scored_sql for Spark. Its last SELECT drops `veto` with DuckDB's `* EXCLUDE`, which Spark
    lacks: the columns are spelled out instead (pairs_scored's contract order)."""
    sql = to_spark(duckdb_scored, "score")
    star = "SELECT * EXCEPT (veto),"
    if sql.count(star) != 1:
        raise StageError("score.scored_sql changed shape: update hanlink.spark.sql.scored_sql_spark",
                         stage="score")
    cols = ["rid_l", "rid_r", *(c.column for c in COMPARISONS), *(f"w_{c.name}" for c in COMPARISONS),
            "weight", "probability"]
    return sql.replace(star, f"SELECT {', '.join(cols)},")
