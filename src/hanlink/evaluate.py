"""Accuracy of a clustering against ground truth: pairwise and B-cubed precision, recall and F1.

Both are computed from the contingency table of (predicted cluster, true cluster) sizes, never from the
pairs themselves, so a million keys take well under a second:
- pairwise: TP = Σ C(n_ij, 2), predicted pairs = Σ C(n_i., 2), true pairs = Σ C(n_.j, 2);
- B-cubed (Bagga & Baldwin 1998): precision = (1/N) Σ n_ij² / n_i., recall = (1/N) Σ n_ij² / n_.j.

Edge cases, defined so that the figures stay in [0, 1] and mean something: with no predicted pairs,
pairwise precision is 1.0 (nothing wrongly merged); with no true pairs, pairwise recall is 1.0 (nothing to
find); F1 is 0.0 when precision + recall is 0. All-singleton predictions thus score precision 1, recall 0
(if the truth has pairs). With no keys at all every figure is 1.0.
"""

from __future__ import annotations

import polars as pl

from hanlink.db import Database
from hanlink.errors import HanlinkError


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _check(frame: pl.DataFrame, side: str, key: str, cluster: str) -> None:
    missing = [c for c in (key, cluster) if c not in frame.columns]
    if missing:
        raise HanlinkError(f"{side} has no column {', '.join(map(repr, missing))}; columns: {frame.columns}")
    if frame[key].null_count() or frame[cluster].null_count():
        nulls = frame.filter(pl.col(key).is_null() | pl.col(cluster).is_null())
        raise HanlinkError(f"{side}: {nulls.height} rows have a null key or cluster, e.g. {nulls.row(0)!r}",
                           hint="give an unlinked record a cluster of its own (a singleton)")


def _check_unique(frame: pl.DataFrame, side: str, key: str) -> None:
    dupes = frame.filter(pl.col(key).is_duplicated())
    if dupes.height:
        raise HanlinkError(
            f"{side}: {dupes[key].n_unique()} keys appear more than once, e.g. {dupes[key][0]!r}",
            hint="each key belongs to exactly one cluster")


def contingency(pred: pl.DataFrame, truth: pl.DataFrame, *, key: str = "key",
                cluster: str = "cluster") -> pl.DataFrame:
    """Per non-empty (predicted `_p`, true `_t`) cluster pair: n shared keys. Both sides must hold the
    same keys, each once; a HanlinkError says how many keys are missing where, with an example."""
    _check(pred, "pred", key, cluster)
    _check(truth, "truth", key, cluster)
    p = pred.select(pl.col(key), pl.col(cluster).alias("_p"))
    t = truth.select(pl.col(key), pl.col(cluster).alias("_t"))
    if p.schema[key] != t.schema[key]:
        raise HanlinkError(f"key types differ: pred {p.schema[key]}, truth {t.schema[key]}",
                           hint="cast both key columns to the same type (e.g. text)")
    joined = p.join(t, on=key)
    # Each joined key once and as many rows as either side ⇔ both sides hold the same keys, each once.
    if not (joined.height == p.height == t.height and joined[key].n_unique() == joined.height):
        _check_unique(p, "pred", key)
        _check_unique(t, "truth", key)
        for side, this, other in (("truth", p, t), ("pred", t, p)):
            lost = this.join(other, on=key, how="anti")
            if lost.height:
                raise HanlinkError(
                    f"{lost.height} keys are missing from {side}, e.g. {lost[key][0]!r}",
                    hint="pred and truth must cover the same records (unlinked ones: a singleton cluster)")
    return joined.group_by("_p", "_t").agg(pl.len().alias("n"))


def pairwise_metrics(pred: pl.DataFrame, truth: pl.DataFrame, *, key: str = "key",
                     cluster: str = "cluster") -> dict[str, float | int]:
    """Pairwise precision, recall, F1 and the pair counts tp, fp, fn of `pred` against `truth`.

    Each frame: one row per record, `key` (unique) and `cluster` (its cluster id). A pair counts once.
    """
    table = contingency(pred, truth, key=key, cluster=cluster)

    def pairs(sizes: pl.Series) -> int:
        n = sizes.cast(pl.Int64)
        return int((n * (n - 1) // 2).sum() or 0)

    tp = pairs(table["n"])
    pred_pairs = pairs(table.group_by("_p").agg(pl.col("n").sum())["n"])
    true_pairs = pairs(table.group_by("_t").agg(pl.col("n").sum())["n"])
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    return {"precision": precision, "recall": recall, "f1": _f1(precision, recall),
            "tp": tp, "fp": pred_pairs - tp, "fn": true_pairs - tp}


def bcubed_metrics(pred: pl.DataFrame, truth: pl.DataFrame, *, key: str = "key",
                   cluster: str = "cluster") -> dict[str, float]:
    """B-cubed precision, recall and F1: per-record overlap of its predicted and true cluster, averaged."""
    table = contingency(pred, truth, key=key, cluster=cluster)
    total = int(table["n"].sum() or 0)
    if total == 0:
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    sizes = table.with_columns(pl.col("n").sum().over("_p").alias("n_p"),
                               pl.col("n").sum().over("_t").alias("n_t"))
    sq = pl.col("n").cast(pl.Float64) ** 2
    sums = sizes.select((sq / pl.col("n_p")).sum().alias("p"), (sq / pl.col("n_t")).sum().alias("r"))
    precision, recall = float(sums["p"][0]) / total, float(sums["r"][0]) / total
    return {"precision": precision, "recall": recall, "f1": _f1(precision, recall)}


def crosswalk_clusters(db: Database) -> pl.DataFrame:
    """The run's clustering as [key, cluster] with key = source|source_record_id (as in the truth files);
    a quarantined record is a cluster of its own."""
    return db.query("""
        SELECT source || '|' || source_record_id AS key,
               coalesce(entity_id, 'Q|' || source || '|' || source_record_id) AS cluster
        FROM crosswalk ORDER BY source, row_number""")
