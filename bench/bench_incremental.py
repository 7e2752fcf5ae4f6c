"""Incremental night vs full rebuild: time, peak memory and accuracy on generated data.

    python bench/bench_incremental.py --existing 1000000 --new 8000 --changed 2000 --deleted 100 --repeat 3

Data (generated once into bench/out/incremental_<existing>/): `generate(existing + new)` in the single-file
layout as Parquet, split into base (existing records), delta (the new records plus `changed` base records
with an edited address and a newer updated_at) and combined (base with the changes applied and the new
records appended: what a full rebuild reads). A few base records are deleted through a deletions list.

Measured, each in its own process (peak RSS is that process's own), the warehouse restored from a copy of
the base before each repeat:
- full(base): the pipeline's stages on the base (once), then `prepare_incremental` (timed separately);
- incremental: `apply_delta` on the base warehouse (stages only) and the export of the night's changes;
- full rebuild: the pipeline's stages on the combined files (same warehouse history, run r2).
With `--published`, every repeat also measures both as an operator runs them, side by side:
`hanlink run --incremental` (`run_incremental`: staging copy, pre-run backup, stages, full masked exports +
changes/, publish) and `hanlink run` (`run_pipeline`, the same around a full rebuild); the part outside the
stages is reported as `*_publish_overhead_seconds`.
Accuracy: pairwise and B³ F1 of both against the generator's truth, and how many records the two runs
put in a different entity.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import polars as pl

from hanlink.config import Config

OUT = Path(__file__).resolve().parent / "out"


def data_dir(existing: int) -> Path:
    return OUT / f"incremental_{existing}"


def make_data(existing: int, new: int, changed: int, deleted: int, seed: int = 42) -> Path:
    """Generate and split once; returns the data directory."""
    from hanlink.generate import generate

    d = data_dir(existing)
    if (d / "delta" / "customers.parquet").exists():
        return d
    gen = generate(existing + new, d / "gen", seed=seed, layout="single", formats={"customers": "parquet"})
    df = pl.read_parquet(gen.out_dir / "customers.parquet").with_columns(pl.all().cast(pl.String))
    fields = tomllib.loads(gen.config.read_text())["sources"][0]["fields"]
    rng = np.random.default_rng(seed)
    order = rng.permutation(df.height)
    is_new = np.zeros(df.height, bool)
    is_new[order[:new]] = True
    is_changed = np.zeros(df.height, bool)
    is_changed[order[new : new + changed]] = True
    is_deleted = np.zeros(df.height, bool)
    is_deleted[order[new + changed : new + changed + deleted]] = True
    edited = df.filter(pl.Series(is_changed)).with_columns(
        (pl.col(fields["address"]) + "101室").alias(fields["address"]),
        pl.lit("2026-11-25 10:00:00").alias(fields["updated_at"]),
    )
    delta = pl.concat([df.filter(pl.Series(is_new)), edited])
    base = df.filter(pl.Series(~is_new))
    combined = pl.concat([df.filter(pl.Series(~(is_new | is_changed | is_deleted))), delta])
    for part, frame in (("base", base), ("delta", delta), ("combined", combined)):
        (d / part).mkdir(parents=True, exist_ok=True)
        frame.write_parquet(d / part / "customers.parquet")
    df.filter(pl.Series(is_deleted)).select(
        pl.lit("customers").alias("source"), pl.col(fields["record_id"]).alias("source_record_id")
    ).write_csv(d / "deletions.csv")
    return d


def config(d: Path, part: str, database: Path) -> Config:
    from hanlink.config import config_from_dict

    data = tomllib.loads((d / "gen" / "hanlink.toml").read_text())
    for src in data["sources"]:
        src.update(path="customers.parquet", format="parquet", encoding="auto")
    data["project"].update(database=str(database), work_dir=str(database.parent / "work"))
    return config_from_dict(data, base_dir=d / part)


def worker(args: argparse.Namespace) -> dict[str, object]:
    """One measured run in this process; prints its figures as JSON."""
    from hanlink.db import Database
    from hanlink.incremental import apply_delta, prepare_incremental, run_incremental
    from hanlink.pipeline import STAGES, run_stage

    d, db_path = Path(args.data), Path(args.db)
    out: dict[str, object] = {}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    if args.worker == "full" and args.publish:
        from hanlink.pipeline import run_pipeline

        cfg = config(d, args.part, db_path)
        t0 = time.perf_counter()
        res = run_pipeline(cfg, run_id=args.run_id, out_dir=db_path.parent / "out")
        out["seconds"] = time.perf_counter() - t0
        out["stages"] = {k: round(v, 3) for k, v in res.seconds.items()}
        out["publish"] = res.publish
    elif args.worker == "full":
        cfg = config(d, args.part, db_path)
        t0 = time.perf_counter()
        with Database(db_path) as db:
            stages = {}
            for stage in STAGES:
                t = time.perf_counter()
                run_stage(stage, db, cfg, args.run_id)
                stages[stage] = round(time.perf_counter() - t, 3)
            out["seconds"] = time.perf_counter() - t0
            t = time.perf_counter()
            prepare_incremental(db)
            out["prepare_seconds"] = time.perf_counter() - t
        out["stages"] = stages
    else:
        cfg = config(d, "delta", db_path)
        from hanlink.incremental_load import read_deletions

        dels = read_deletions(d / "deletions.csv")
        if args.with_export:
            t0 = time.perf_counter()
            res = run_incremental(cfg, run_id=args.run_id, deletions=dels, out_dir=db_path.parent / "inc_out")
            out["seconds"] = time.perf_counter() - t0
            out["publish"] = res.publish
        else:
            t0 = time.perf_counter()
            with Database(db_path) as db:
                res = apply_delta(db, cfg, args.run_id, deletions=dels)
            out["seconds"] = time.perf_counter() - t0
        out["stages"] = {k: round(v, 3) for k, v in res.seconds.items()}
        out["counts"] = {k: res.counts.get(k) for k in ("block", "score", "cluster", "identify")}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["cpu_seconds"] = usage.ru_utime + usage.ru_stime - cpu0
    out["peak_mib"] = usage.ru_maxrss / 1024
    print(json.dumps(out, default=str))
    return out


def spawn(*argv: str) -> dict[str, object]:
    proc = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"worker {argv} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def clusters(db_path: Path) -> pl.DataFrame:
    from hanlink.db import Database
    from hanlink.evaluate import crosswalk_clusters

    with Database(db_path, read_only=True) as db:
        return crosswalk_clusters(db)


def accuracy(pred: pl.DataFrame, d: Path) -> dict[str, float]:
    from hanlink.evaluate import bcubed_metrics, pairwise_metrics

    truth = pl.read_csv(d / "gen" / "truth.csv", infer_schema=False).select(
        key=pl.col("source") + "|" + pl.col("source_record_id"), cluster="entity_id"
    )
    truth = truth.join(pred.select("key"), on="key", how="semi")  # deleted records are gone from both
    pw, b3 = pairwise_metrics(pred, truth), bcubed_metrics(pred, truth)
    return {
        "pairwise_p": pw["precision"],
        "pairwise_r": pw["recall"],
        "pairwise_f1": pw["f1"],
        "bcubed_f1": b3["f1"],
        "fp": pw["fp"],
        "fn": pw["fn"],
    }


def disagreement(a: pl.DataFrame, b: pl.DataFrame) -> dict[str, int]:
    """Records whose entity differs between two runs (ids compared: both continue the same history)."""
    j = a.join(b, on="key", how="full", suffix="_b", coalesce=True)
    return {
        "records": j.height,
        "different_entity": int(j.filter(pl.col("cluster").ne_missing(pl.col("cluster_b"))).height),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--existing", type=int, default=1_000_000)
    ap.add_argument("--new", type=int, default=8_000)
    ap.add_argument("--changed", type=int, default=2_000)
    ap.add_argument("--deleted", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--worker", choices=["full", "inc"])
    ap.add_argument("--part", default="base")
    ap.add_argument("--data")
    ap.add_argument("--db")
    ap.add_argument("--run-id", default="r1")
    ap.add_argument("--with-export", action="store_true")
    ap.add_argument("--publish", action="store_true", help="worker: a published full run (run_pipeline)")
    ap.add_argument(
        "--published",
        action="store_true",
        help="also time `hanlink run --incremental` and `hanlink run` as published, every repeat",
    )
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    d = make_data(args.existing, args.new, args.changed, args.deleted)
    work = d / "runs"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    base_db = work / "base.duckdb"
    base = spawn(
        "--worker", "full", "--part", "base", "--data", str(d), "--db", str(base_db), "--run-id", "r1"
    )
    print("full(base)", json.dumps(base), flush=True)
    runs: dict[str, list[dict[str, object]]] = {"incremental": [], "incremental_with_export": [], "full": []}
    kinds: list[tuple[str, list[str]]] = [
        ("incremental", ["--worker", "inc"]),
        ("incremental_with_export", ["--worker", "inc", "--with-export"]),
        ("full", ["--worker", "full", "--part", "combined"]),
    ]
    if args.published:
        runs["full_published"] = []
        kinds.append(("full_published", ["--worker", "full", "--part", "combined", "--publish"]))
    acc: dict[str, dict[str, float]] = {}
    agree: dict[str, int] = {}

    def live(kind: str) -> Path:  # each kind its own folder: backups, outputs and locks apart
        return work / kind / "hanlink.duckdb"

    for i in range(args.repeat):
        for kind, argv in kinds:
            if kind == "incremental_with_export" and i and not args.published:
                continue
            db = live(kind)
            shutil.rmtree(db.parent, ignore_errors=True)
            db.parent.mkdir(parents=True)
            shutil.copy(base_db, db)
            got = spawn(*argv, "--data", str(d), "--db", str(db), "--run-id", "r2")
            runs[kind].append(got)
            print(kind, i, json.dumps(got, default=str), flush=True)
            if i == 0 and kind in ("incremental", "full"):
                acc[kind] = accuracy(clusters(db), d)
        agree = (
            disagreement(clusters(live("incremental")), clusters(live("full")))
            if i == 0
            else agree
        )
        for kind in runs:
            shutil.rmtree(live(kind).parent, ignore_errors=True)
    summary = {
        "existing": args.existing,
        "new": args.new,
        "changed": args.changed,
        "deleted": args.deleted,
        "repeat": args.repeat,
        "full_base_seconds": base["seconds"],
        "prepare_seconds": base["prepare_seconds"],
        **{f"{k}_seconds_median": statistics.median(float(r["seconds"]) for r in v) for k, v in runs.items()},
        **{f"{k}_seconds_all": [round(float(r["seconds"]), 2) for r in v] for k, v in runs.items()},
        **{
            f"{k}_peak_mib_median": statistics.median(float(r["peak_mib"]) for r in v)
            for k, v in runs.items()
        },
        **{
            f"{k}_cpu_seconds_median": statistics.median(float(r["cpu_seconds"]) for r in v)
            for k, v in runs.items()
        },
        "night_without_prepare_seconds_median": statistics.median(
            float(r["seconds"]) - float(r["stages"]["prepare"]) for r in runs["incremental"]
        ),
        "incremental_stages_median": {
            s: statistics.median(float(r["stages"][s]) for r in runs["incremental"])
            for s in runs["incremental"][0]["stages"]
        },
        "full_stages_median": {
            s: statistics.median(float(r["stages"][s]) for r in runs["full"])
            for s in runs["full"][0]["stages"]
        },
        "incremental_counts": runs["incremental"][0]["counts"],
        "accuracy": acc,
        "incremental_vs_full": agree,
    }
    summary["ratio"] = summary["incremental_seconds_median"] / summary["full_seconds_median"]
    if args.published:
        for kind in ("incremental_with_export", "full_published"):
            summary[f"{kind}_publish_overhead_seconds_median"] = statistics.median(
                float(r["seconds"]) - sum(float(v) for v in r["stages"].values()) for r in runs[kind]
            )
        summary["published_ratio"] = (
            summary["incremental_with_export_seconds_median"] / summary["full_published_seconds_median"]
        )
    summary["cpu_ratio"] = summary["incremental_cpu_seconds_median"] / summary["full_cpu_seconds_median"]
    print(json.dumps(summary, indent=2, default=str))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
