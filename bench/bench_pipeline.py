"""Benchmark the one-shot pipeline on generated data: wall time per stage, peak memory, accuracy vs truth.

    python bench/bench_pipeline.py --sizes 10000 100000 1000000 [--difficulty normal] [--repeat 1]

Each size runs in its own process (so peak RSS is that run's), on data generated once into bench/out/.
Prints a markdown table; --json writes the raw figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

OUT = Path(__file__).parent / "out"


def data_dir(n: int, difficulty: str) -> Path:
    return OUT / f"data_{difficulty}_{n}"


def ensure_data(n: int, difficulty: str) -> Path:
    from hanlink.generate import generate

    d = data_dir(n, difficulty)
    if not (d / "truth.csv").exists():
        generate(n, d, seed=42, difficulty=difficulty, layout="single")  # type: ignore[arg-type]
    return d


def input_file(d: Path) -> Path:
    for name in ("customers.parquet", "customers.csv"):
        if (d / name).exists():
            return d / name
    raise FileNotFoundError(d)


def accuracy(out_dir: Path, truth_csv: Path) -> dict[str, float]:
    """Pairwise and B-cubed scores of crosswalk.csv against truth; quarantined records count as singletons."""
    from hanlink.evaluate import bcubed_metrics, pairwise_metrics

    xw = pl.read_csv(
        out_dir / "crosswalk.csv", schema_overrides={"source_record_id": pl.Utf8, "entity_id": pl.Utf8}
    )
    pred = xw.select(
        pl.col("source_record_id").alias("key"),
        pl.coalesce("entity_id", pl.lit("Q:") + pl.col("source_record_id")).alias("cluster"),
    )
    truth = pl.read_csv(
        truth_csv, schema_overrides={"source_record_id": pl.Utf8, "entity_id": pl.Utf8}
    ).select(pl.col("source_record_id").alias("key"), pl.col("entity_id").alias("cluster"))
    pw, b3 = pairwise_metrics(pred, truth), bcubed_metrics(pred, truth)
    return {
        **{f"pairwise_{k}": float(v) for k, v in pw.items()},
        **{f"bcubed_{k}": float(v) for k, v in b3.items()},
    }


def run_one(n: int, difficulty: str) -> dict[str, object]:
    from hanlink.oneshot import dedupe_file

    d = data_dir(n, difficulty)
    out = OUT / f"run_{difficulty}_{n}"
    t0 = time.perf_counter()
    result = dedupe_file(input_file(d), out, run_id="bench")
    wall = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "n": n,
        "difficulty": difficulty,
        "wall_s": wall,
        "peak_rss_mib": peak_mib,
        "stages_s": result.seconds,
        "counts": result.counts.get("cluster", {}),
        **accuracy(out, d / "truth.csv"),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--difficulty", default="normal", choices=["normal", "hard"])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.difficulty), default=str))
        return
    rows = []
    for n in args.sizes:
        ensure_data(n, args.difficulty)
        runs = []
        for _ in range(args.repeat):
            proc = subprocess.run(
                [sys.executable, __file__, "--one", str(n), "--difficulty", args.difficulty],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                sys.exit(f"run at {n} failed:\n{proc.stderr[-4000:]}")
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        best = dict(runs[0])
        best["wall_s"] = statistics.median(r["wall_s"] for r in runs)
        best["peak_rss_mib"] = statistics.median(r["peak_rss_mib"] for r in runs)
        best["stages_s"] = {s: statistics.median(r["stages_s"][s] for r in runs) for s in runs[0]["stages_s"]}
        rows.append(best)
        print(
            f"{n}: {best['wall_s']:.1f}s, {best['peak_rss_mib']:.0f} MiB, "
            f"pairwise F1 {best['pairwise_f1']:.4f}",
            file=sys.stderr,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))
    print(markdown(rows, args))


def markdown(rows: list[dict], args: argparse.Namespace) -> str:
    stages = list(rows[0]["stages_s"])
    head = "| records | wall s | peak RSS MiB | " + " | ".join(stages) + " |"
    lines = [head, "|" + "---|" * (3 + len(stages))]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['wall_s']:.1f} | {r['peak_rss_mib']:.0f} | "
            + " | ".join(f"{r['stages_s'][s]:.2f}" for s in stages)
            + " |"
        )
    lines += [
        "",
        "| records | pairwise P | pairwise R | pairwise F1 | B³ P | B³ R | B³ F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['pairwise_precision']:.4f} | {r['pairwise_recall']:.4f} | "
            f"{r['pairwise_f1']:.4f} | {r['bcubed_precision']:.4f} | {r['bcubed_recall']:.4f} | "
            f"{r['bcubed_f1']:.4f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
