"""The precision/recall trade-off of the match threshold, on generated multi-source data with ground truth.

    python bench/bench_thresholds.py [--records 50000] [--difficulty hard] [--thresholds 0.5 0.9 0.95 0.99]

For each threshold the whole pipeline runs (clustering depends on the threshold), and pairwise and B-cubed
precision/recall/F1 of the crosswalk against truth.csv are reported as a markdown table.
"""

from __future__ import annotations

import argparse
import time
import tomllib
from pathlib import Path

import polars as pl

from hanlink.config import config_from_dict
from hanlink.evaluate import bcubed_metrics, pairwise_metrics
from hanlink.generate import generate
from hanlink.pipeline import run_pipeline

OUT = Path(__file__).parent / "out"


def scores(crosswalk: Path, truth: Path) -> dict[str, float]:
    key = pl.col("source") + "|" + pl.col("source_record_id")
    t = pl.read_csv(truth, infer_schema=False).select(key.alias("key"), pl.col("entity_id").alias("cluster"))
    x = pl.read_csv(crosswalk, infer_schema=False).select(
        key.alias("key"), pl.coalesce("entity_id", pl.lit("Q|") + key).alias("cluster"))
    pw, b3 = pairwise_metrics(x, t), bcubed_metrics(x, t)
    return {"P": pw["precision"], "R": pw["recall"], "F1": pw["f1"], "FP": pw["fp"], "FN": pw["fn"],
            "B3_F1": b3["f1"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--difficulty", default="hard", choices=["normal", "hard"])
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
    args = ap.parse_args()
    data = OUT / f"sources_{args.difficulty}_{args.records}"
    if not (data / "truth.csv").exists():
        generate(args.records, data, seed=3, difficulty=args.difficulty, formats={"pos": "parquet"})
    base = tomllib.loads((data / "hanlink.toml").read_text(encoding="utf-8"))
    print("| match_threshold | pairwise P | pairwise R | pairwise F1 | FP pairs | FN pairs | B³ F1 | s |")
    print("|---|---|---|---|---|---|---|---|")
    for t in args.thresholds:
        work = OUT / f"thresholds_{args.difficulty}_{args.records}" / f"t{t}"
        db = work / "hanlink.duckdb"
        db.unlink(missing_ok=True)
        cfg = config_from_dict({
            **base,
            "project": {**base["project"], "database": str(db), "work_dir": str(work)},
            "matching": {"match_threshold": t, "review_threshold": min(0.5, t / 2)},
        }, base_dir=data)
        t0 = time.perf_counter()
        result = run_pipeline(cfg, run_id="thresholds")
        s = scores(result.outputs["crosswalk"], data / "truth.csv")
        print(f"| {t} | {s['P']:.4f} | {s['R']:.4f} | {s['F1']:.4f} | {int(s['FP']):,} | {int(s['FN']):,} | "
              f"{s['B3_F1']:.4f} | {time.perf_counter() - t0:.1f} |", flush=True)


if __name__ == "__main__":
    main()
