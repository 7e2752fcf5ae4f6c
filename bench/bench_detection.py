"""Benchmark: does validation catch the errors the generator injected, and leave clean records alone?

    python bench/bench_detection.py --rows 100000 [--layout sources single] [--difficulty normal hard]

Generates seeded data (cached under bench/out/detect_*), runs ingest → standardize → validate on a DuckDB
file, joins dq_findings to truth.csv by (source, source_record_id) and prints, per injected error type:
- flaggable types (a rule should see them): recall = share of the records carrying the type that got a
  finding from one of the rules in DETECTED_BY (targets: recall ≥ 0.99 for every such type);
- clean-but-varied types (formats, variants, blanks no rule asks for): the share of records carrying the
  type (and no flaggable error) that got any finding — each of these is a false flag;
- invisible types (real errors no rule can see, e.g. a phone typo that is still a valid mobile): reported,
  not scored.
The false-flag rate is over "clean" records — truth has no flaggable error — broken down by rule
(target ≤ 0.5%). --json writes the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

OUT = Path(__file__).parent / "out"

# Injected error type → the rule ids any one of which counts as catching it. One documented table.
DETECTED_BY: dict[str, tuple[str, ...]] = {
    "phone_placeholder": ("phone.placeholder",),
    "phone_missing_digit": ("phone.missing_digit", "phone.malformed"),
    # A changed digit breaks the check character; if it lands in the birth date the date may break first.
    "id_typo": ("id.checksum", "id.bad_date", "id.malformed"),
    "id_placeholder": ("id.placeholder",),
    "date_impossible": ("date.impossible",),
    "email_malformed": ("email.malformed",),
    "junk_record": ("record.junk",),
}
# Variants of a correct value: standardize must understand them, validate must NOT flag them. field_missing
# blanks optional fields (phone, landline, email, address, birth date, gender) and id_missing the ID; no
# generated source requires those, so a blank there is not a finding either.
CLEAN_BUT_VARIED: tuple[str, ...] = (
    "name_traditional", "name_pinyin", "phone_format", "landline_format", "id_15digit", "id_lowercase_x",
    "email_case", "address_variant", "date_format", "gender_format", "field_missing", "id_missing",
)
# Real errors no rule can see from one record (a typo that leaves a well-formed value): not scored.
INVISIBLE: tuple[str, ...] = ("name_homophone", "name_typo", "phone_typo")


def data_dir(n: int, layout: str, difficulty: str, seed: int) -> Path:
    return OUT / f"detect_{layout}_{difficulty}_{n}_s{seed}"


def ensure_data(n: int, layout: str, difficulty: str, seed: int) -> Path:
    from hanlink.generate import generate

    d = data_dir(n, layout, difficulty, seed)
    if not (d / "truth.csv").exists():
        # Parquet instead of Excel for pos: the same records, without Excel's ≈ 1 s per 100k rows.
        formats = {"pos": "parquet"} if layout == "sources" else None
        generate(n, d, seed=seed, difficulty=difficulty, layout=layout, formats=formats)  # type: ignore[arg-type]
    return d


def run_stages(d: Path, db_path: Path) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, float]]:
    """(dq_findings, ingest quarantine) after ingest → standardize → validate on a DuckDB file."""
    from hanlink.config import load_config
    from hanlink.db import Database
    from hanlink.ingest import ingest
    from hanlink.standardize import standardize
    from hanlink.validate import validate

    cfg = load_config(d / "hanlink.toml")
    db = Database(db_path)
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    ingest(db, cfg.sources, "detect", base_dir=Path(cfg.base_dir))
    seconds["ingest"], t = time.perf_counter() - t, time.perf_counter()
    standardize(db, cfg.sources, "detect")
    seconds["standardize"], t = time.perf_counter() - t, time.perf_counter()
    validate(db, cfg.sources, "detect")
    seconds["validate"] = time.perf_counter() - t
    findings = db.query("SELECT source, source_record_id, rule_id, field, severity FROM dq_findings")
    quarantined = db.query("SELECT source, row_number, rule_ids FROM quarantine WHERE stage = 'ingest'")
    db.close()
    return findings, quarantined, seconds


def score(truth: pl.DataFrame, findings: pl.DataFrame) -> dict[str, object]:
    """Recall per flaggable type, flag rate per clean-but-varied type, false flags on clean records."""
    key = ["source", "source_record_id"]
    truth = truth.with_columns(errs=pl.col("errors").fill_null("").str.split(";")
                               .list.eval(pl.element().filter(pl.element() != "")))
    seen = set(truth["errs"].explode().drop_nulls().unique())
    unknown = seen - {*DETECTED_BY, *CLEAN_BUT_VARIED, *INVISIBLE}
    if unknown:
        sys.exit(f"error types without a class in bench_detection.py: {sorted(unknown)}")
    rules = findings.group_by(key).agg(rules=pl.col("rule_id").unique().sort())
    t = truth.join(rules, on=key, how="left").with_columns(
        rules=pl.col("rules").fill_null(pl.lit([], dtype=pl.List(pl.String))))
    flaggable = pl.col("errs").list.set_intersection(pl.lit(list(DETECTED_BY))).list.len() > 0
    t = t.with_columns(clean=~flaggable)
    recall = {}
    for err, ids in DETECTED_BY.items():
        sub = t.filter(pl.col("errs").list.contains(err))
        hit = sub.filter(pl.col("rules").list.set_intersection(pl.lit(list(ids))).list.len() > 0)
        missed = (sub.join(hit.select(key), on=key, how="anti")
                  .select(pl.col("rules").list.join(",")).to_series().value_counts(sort=True).head(5))
        recall[err] = {"n": sub.height, "caught": hit.height,
                       "recall": hit.height / sub.height if sub.height else None,
                       "missed_with_rules": {str(r): int(c) for r, c in missed.iter_rows()}}
    clean = t.filter(pl.col("clean"))
    flagged = clean.filter(pl.col("rules").list.len() > 0)
    by_rule = (flagged.select(pl.col("rules").explode()).to_series().value_counts(sort=True))
    varied = {}
    for err in (*CLEAN_BUT_VARIED, *INVISIBLE):
        sub = clean.filter(pl.col("errs").list.contains(err))
        bad = sub.filter(pl.col("rules").list.len() > 0)
        varied[err] = {"n": sub.height, "flagged": bad.height,
                       "rate": bad.height / sub.height if sub.height else None,
                       "rules": {str(r): int(c) for r, c in bad.select(pl.col("rules").explode())
                                 .to_series().value_counts(sort=True).head(5).iter_rows()}}
    return {
        "records": t.height,
        "recall": recall,
        "varied": varied,
        "clean": clean.height,
        "clean_flagged": flagged.height,
        "false_flag_rate": flagged.height / clean.height if clean.height else 0.0,
        "false_flags_by_rule": {str(r): int(c) for r, c in by_rule.iter_rows()},
    }


def run_one(n: int, layout: str, difficulty: str, seed: int) -> dict[str, object]:
    d = ensure_data(n, layout, difficulty, seed)
    truth = pl.read_csv(d / "truth.csv", infer_schema=False).select("source", "source_record_id", "errors")
    with tempfile.TemporaryDirectory() as tmp:
        findings, quarantined, seconds = run_stages(d, Path(tmp) / "detect.duckdb")
    out = score(truth, findings)
    return {"n": n, "layout": layout, "difficulty": difficulty, "seed": seed, "seconds": seconds,
            "ingest_quarantined": quarantined.height, **out}


def markdown(results: list[dict]) -> str:
    cols = [f"{r['layout']}/{r['difficulty']}" for r in results]
    lines = ["| error type (rules that catch it) | " + " | ".join(f"recall {c}" for c in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for err, ids in DETECTED_BY.items():
        cells = []
        for r in results:
            x = r["recall"][err]
            cells.append(f"{x['recall']:.4f} ({x['caught']:,}/{x['n']:,})" if x["n"] else "–")
        lines.append(f"| {err} ({' / '.join(ids)}) | " + " | ".join(cells) + " |")
    lines += ["", "| clean-but-varied / invisible type | " + " | ".join(f"flagged {c}" for c in cols) + " |",
              "|---|" + "---|" * len(cols)]
    for err in (*CLEAN_BUT_VARIED, *INVISIBLE):
        cells = []
        for r in results:
            x = r["varied"][err]
            cells.append(f"{x['rate']:.4%} ({x['flagged']:,}/{x['n']:,})" if x["n"] else "–")
        tag = " (invisible)" if err in INVISIBLE else ""
        lines.append(f"| {err}{tag} | " + " | ".join(cells) + " |")
    lines += ["", "| clean records | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols),
              "| false-flag rate | " + " | ".join(
                  f"{r['false_flag_rate']:.4%} ({r['clean_flagged']:,}/{r['clean']:,})" for r in results)
              + " |"]
    rule_ids = sorted({k for r in results for k in r["false_flags_by_rule"]})
    for rid in rule_ids:
        lines.append(f"| · {rid} | " + " | ".join(
            f"{r['false_flags_by_rule'].get(rid, 0) / r['clean']:.4%}" for r in results) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--layout", nargs="+", default=["sources", "single"], choices=["sources", "single"])
    ap.add_argument("--difficulty", nargs="+", default=["normal", "hard"], choices=["normal", "hard"])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    results = []
    for layout in args.layout:
        for difficulty in args.difficulty:
            r = run_one(args.rows, layout, difficulty, args.seed)
            low = {e: x["recall"] for e, x in r["recall"].items()
                   if x["recall"] is not None and x["recall"] < 0.99}
            print(f"{layout}/{difficulty}: false flags {r['false_flag_rate']:.4%}, "
                  f"recall < 0.99: {low or 'none'}, seconds {r['seconds']}", file=sys.stderr)
            results.append(r)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(markdown(results))


if __name__ == "__main__":
    main()
