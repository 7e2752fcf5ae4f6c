"""The Spark session for a config, with hanlink's comparison functions registered as Arrow UDFs."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import SparkSession
from pyspark.sql.functions import arrow_udf

from hanlink.compare import EDITS, JW, TOKENS, edits_arrow, hamming_arrow, jaro_winkler_arrow, token_set_arrow
from hanlink.config import SparkConfig

# DuckDB's built-in jaro_winkler_similarity (rapidfuzz's C++ under the hood) works on bytes; the level SQL
# only calls it on a-z0-9 text, where bytes are characters, so the character-level function is identical.
# sqlglot spells it JAROWINKLER_SIMILARITY in Spark SQL.
DUCKDB_JW = ("jaro_winkler_similarity", "jarowinkler_similarity")


def _null_safe(fn: Callable[[pa.Array, pa.Array], pa.Array], out: pa.DataType
               ) -> Callable[[pa.Array, pa.Array], pa.Array]:
    """NULL in either argument gives NULL without calling `fn`, as DuckDB does for these functions."""

    def wrapped(a: pa.Array, b: pa.Array) -> pa.Array:
        ok = pc.and_(pc.is_valid(a), pc.is_valid(b))
        if pc.all(ok).as_py():
            return fn(a, b).cast(out)
        values = fn(pc.filter(a, ok), pc.filter(b, ok)).cast(out).to_numpy(zero_copy_only=False)
        full = np.zeros(len(a), dtype=values.dtype)
        mask = ok.to_numpy(zero_copy_only=False)
        full[mask] = values
        return pa.array(full, type=out, mask=~mask)

    return wrapped


def register_functions(spark: SparkSession) -> None:
    """Register hanlink_jw, hanlink_edits, hanlink_tokens (and DuckDB's built-in jaro_winkler_similarity and
    hamming) in Spark SQL, calling the very functions compare.py registers in DuckDB."""

    def jw(a: pa.Array, b: pa.Array) -> pa.Array:
        return _null_safe(jaro_winkler_arrow, pa.float64())(a, b)

    def edits(a: pa.Array, b: pa.Array) -> pa.Array:
        return _null_safe(edits_arrow, pa.int32())(a, b)

    def tokens(a: pa.Array, b: pa.Array) -> pa.Array:
        return _null_safe(token_set_arrow, pa.float64())(a, b)

    def hamming(a: pa.Array, b: pa.Array) -> pa.Array:
        return _null_safe(hamming_arrow, pa.int32())(a, b)

    # (pyspark's stubs want the UDF type spelled out; the type hints pick SCALAR at run time)
    jw_udf = arrow_udf(jw, "double")  # type: ignore[call-overload]
    for name in (JW, *DUCKDB_JW):
        spark.udf.register(name, jw_udf)
    spark.udf.register(EDITS, arrow_udf(edits, "int"))  # type: ignore[call-overload]
    spark.udf.register(TOKENS, arrow_udf(tokens, "double"))  # type: ignore[call-overload]
    spark.udf.register("hamming", arrow_udf(hamming, "int"))  # type: ignore[call-overload]  # DuckDB built-in


def spark_session(cfg: SparkConfig) -> SparkSession:
    """getOrCreate a session for cfg (master, partitions, memory, extra conf) with the UDFs registered.

    In local mode the Python workers run this interpreter; on a cluster the executors need hanlink
    installed (docs/spark.md)."""
    if cfg.master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # local mode talks to itself: don't let Spark pick (and look up) a network interface
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    settings = {
        "spark.sql.shuffle.partitions": str(cfg.shuffle_partitions),
        "spark.driver.memory": cfg.driver_memory,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.showConsoleProgress": "false",
        **({"spark.ui.enabled": "false"} if cfg.master.startswith("local") else {}),
        **cfg.conf,
    }
    builder = SparkSession.builder.master(cfg.master).appName(cfg.app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    register_functions(spark)
    return spark
