"""Why two records do (or don't) match: per comparison the values side by side, the level and its weight."""

from __future__ import annotations

from typing import Any

import polars as pl

from hanlink import tables as T
from hanlink.block import match_values_sql
from hanlink.compare import COMPARISONS, comparison_sql, register_functions
from hanlink.config import MatchingConfig
from hanlink.db import Database
from hanlink.errors import HanlinkError
from hanlink.score import PRIOR, scored_sql


def _shown(row: dict[str, Any], values: tuple[str, ...]) -> str | None:
    parts = [str(row[v]) for v in values if row.get(v) is not None]
    return " | ".join(parts) if parts else None


def explain_pair(db: Database, rid_l: int, rid_r: int, *,
                 match_threshold: float | None = None) -> dict[str, Any]:
    """Explain one pair of records under the fitted model (model_params).

    Returns rid_l < rid_r, prior, weight (= prior + sum of the per-comparison weights), probability, match,
    veto (the hard rule that blocked a match, or None), scored (whether the pair is in pairs_scored), and
    `comparisons`: a polars frame of comparison, value_l, value_r, level, label, weight. A pair that was
    never a candidate is compared and scored on the spot (match against `match_threshold`, default config).
    """
    lo, hi = sorted((int(rid_l), int(rid_r)))
    if lo == hi:
        raise HanlinkError(f"a pair needs two different records, got rid {lo} twice")
    for table in (T.STD_RECORDS, T.MODEL_PARAMS):
        if not db.has_table(table):
            raise HanlinkError(f"table {table} is missing: run the score stage first")
    values = {r["rid"]: r for r in db.query(match_values_sql(f"rid IN ({lo}, {hi})")).iter_rows(named=True)}
    missing = [rid for rid in (lo, hi) if rid not in values]
    if missing:
        raise HanlinkError(f"no record with rid {missing[0]} in {T.STD_RECORDS}")
    params = db.table(T.MODEL_PARAMS)

    stored = (db.query(f"SELECT * FROM {T.PAIRS_SCORED} WHERE rid_l = ? AND rid_r = ?", [lo, hi])
              if db.has_table(T.PAIRS_SCORED) else pl.DataFrame())
    if stored.height:
        row = stored.row(0, named=True)
    else:
        register_functions(db)
        threshold = match_threshold if match_threshold is not None else MatchingConfig().match_threshold
        pair = f"(SELECT {lo}::BIGINT AS rid_l, {hi}::BIGINT AS rid_r)"
        side = f"({match_values_sql()})"
        sql = scored_sql(f"({comparison_sql(pair, side)})", side, params, threshold)
        row = db.query(sql).row(0, named=True)

    labels = {(r["comparison"], r["level"]): r["label"] for r in params.iter_rows(named=True)}
    frame = pl.DataFrame([{
        "comparison": c.name,
        "value_l": _shown(values[lo], c.values),
        "value_r": _shown(values[hi], c.values),
        "level": row[c.column],
        "label": labels.get((c.name, row[c.column]), "null"),
        "weight": row[f"w_{c.name}"],
    } for c in COMPARISONS], schema={"comparison": pl.String, "value_l": pl.String, "value_r": pl.String,
                                     "level": pl.Int32, "label": pl.String, "weight": pl.Float64})
    return {"rid_l": lo, "rid_r": hi, "prior": params.filter(pl.col("comparison") == PRIOR)["weight"].item(),
            "weight": row["weight"], "probability": row["probability"], "match": row["match"],
            "veto": row.get("veto"), "scored": bool(stored.height), "comparisons": frame}


# Comparisons whose values aren't held in a canonical field of the same name: masked like the field they hold.
MASK_AS = {"other_id": "id_number", "address_text": "address"}


def mask_explanation(why: dict[str, Any]) -> dict[str, Any]:
    """The same explanation with every value masked by its field's sensitivity tag (what analysts see)."""
    from hanlink.mask import mask_field

    frame = why["comparisons"]
    masked = frame.with_columns(
        pl.coalesce(
            [
                pl.when(pl.col("comparison") == c).then(mask_field(MASK_AS.get(c, c), pl.col(side)))
                for c in frame["comparison"].unique(maintain_order=True)
            ]
        ).alias(side)
        for side in ("value_l", "value_r")
    )
    return {**why, "comparisons": masked}
