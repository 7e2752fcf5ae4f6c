"""hanlink vs Splink side by side (issue 4): wall time, peak RSS and accuracy on the same generated data.

    python bench/bench_splink.py --difficulty normal hard --sizes 100000 --repeat 3 \
        --json bench/out/splink_100k.json

Needs the optional `bench` dependency group (`pip install -e '.[bench]'`: splink). For each (difficulty, size)
the two tools run alternately, each run in its own subprocess so that peak RSS is that run's own; a run that
passes --timeout seconds or --max-rss-gib is stopped and recorded as such. Figures are medians over --repeat.

Splink gets a fair, simple preparation that any Splink user would write (see `splink_frame`): digits-only
phone without +86/0086, ID digits + X, lower-case email, dates parsed from four formats, a pinyin column
(pypinyin over distinct names), values shared by more than --max-shared records nulled (what a user does
after reading `profile_columns`). Its model follows Splink's tutorials (see `splink_settings`, `run_splink`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from bench_pipeline import OUT, accuracy, data_dir, ensure_data, input_file

SCAN = (0.05, 0.2, 0.5, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999)
DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y年%m月%d日")


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- hanlink
def run_hanlink(n: int, difficulty: str) -> dict[str, Any]:
    from hanlink.oneshot import dedupe_file

    d = data_dir(n, difficulty)
    out = OUT / f"vs_splink_hanlink_{difficulty}_{n}"
    t0 = time.perf_counter()
    result = dedupe_file(input_file(d), out, run_id="bench")
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "peak_rss_mib": _peak_mib(), "phases_s": dict(result.seconds),
            **accuracy(out, d / "truth.csv")}


# ---------------------------------------------------------------- Splink
def _fields(d: Path) -> dict[str, str]:
    """Canonical field → header, from the hanlink.toml the generator writes beside the data."""
    return tomllib.loads((d / "hanlink.toml").read_text())["sources"][0]["fields"]


def _pinyin_of(names: pl.Series) -> pl.Series:
    from pypinyin import lazy_pinyin

    # Once per distinct name; Latin names ("Qiang Li") pass through lazy_pinyin unchanged.
    return pl.Series([None if s is None else "".join(lazy_pinyin(s)) for s in names.to_list()], dtype=pl.Utf8)


def splink_frame(path: Path, fields: dict[str, str], max_shared: int) -> pl.DataFrame:
    """The input Splink sees: simple, documented standardization (no hanlink code)."""
    raw = pl.read_csv(path, infer_schema=False) if path.suffix == ".csv" else pl.read_parquet(path)
    raw = raw.select(pl.col(fields[k]).cast(pl.Utf8).alias(k) for k in
                     ("record_id", "name", "phone", "id_number", "email", "birth_date", "gender", "address"))
    nfkc = {c: pl.col(c).str.normalize("NFKC").str.strip_chars() for c in raw.columns}
    digits = nfkc["phone"].str.replace_all(r"[^0-9]", "")
    phone = (pl.when(digits.str.len_chars().eq(13) & digits.str.starts_with("86")).then(digits.str.slice(2))
             .when(digits.str.len_chars().eq(15) & digits.str.starts_with("0086")).then(digits.str.slice(4))
             .otherwise(digits))
    dob = pl.coalesce([nfkc["birth_date"].str.to_date(f, strict=False) for f in DATE_FORMATS])
    gender = nfkc["gender"].str.to_lowercase().replace_strict(
        {"男": "M", "m": "M", "male": "M", "女": "F", "f": "F", "female": "F"}, default=None)
    df = raw.select(
        pl.col("record_id"),
        nfkc["name"].str.replace_all(r"\s+", " ").alias("name"),
        phone.alias("phone"),
        nfkc["id_number"].str.to_uppercase().str.replace_all(r"[^0-9X]", "").alias("id_number"),
        nfkc["email"].str.to_lowercase().alias("email"),
        dob.dt.to_string("%Y-%m-%d").alias("dob"),
        gender.alias("gender"),
        nfkc["address"].alias("address"),
    ).with_columns(pl.when(pl.col(c).str.len_chars() > 0).then(pl.col(c)).alias(c) for c in
                   ("name", "phone", "id_number", "email", "address"))
    if max_shared:
        # Placeholders (13800138000, 111…1, test@test.com) shared by hundreds of strangers would explode
        # blocking; a Splink user sees them in profile_columns and nulls them.
        df = df.with_columns(pl.when(pl.len().over(c) <= max_shared).then(pl.col(c)).alias(c)
                             for c in ("phone", "id_number", "email"))
    names = df.select(pl.col("name").unique())
    names = names.with_columns(
        _pinyin_of(names["name"]).str.to_lowercase().str.replace_all(r"[^a-z]", "").alias("name_py"))
    return df.join(names, on="name", how="left", nulls_equal=True).with_columns(
        pl.when(pl.col("name_py").str.len_chars() > 0).then(pl.col("name_py")).alias("name_py"))


def splink_settings() -> Any:
    """Splink's own comparison library; term frequencies on name, pinyin, phone, ID and email."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(output_column_name="name", comparison_levels=[
        cll.NullLevel("name_py"),
        cll.ExactMatchLevel("name").configure(tf_adjustment_column="name"),
        cll.ExactMatchLevel("name_py").configure(tf_adjustment_column="name_py",
                                                 label_for_charts="same pinyin"),
        cll.JaroWinklerLevel("name_py", 0.92),
        cll.JaroWinklerLevel("name_py", 0.88),
        cll.JaroWinklerLevel("name_py", 0.7),
        cll.ElseLevel(),
    ])
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        comparisons=[
            name,
            cl.LevenshteinAtThresholds("phone", [1, 2]).configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("id_number", [1, 2]).configure(term_frequency_adjustments=True),
            cl.EmailComparison("email"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.JaroWinklerAtThresholds("address", [0.9, 0.7]),
            # No gender comparison: on hard data EM drives its "differ" m to 0.0 and Splink 5 raises.
        ],
        blocking_rules_to_generate_predictions=[
            block_on("phone"), block_on("id_number"), block_on("email"), block_on("name_py", "dob"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _scan(pred: pl.DataFrame, ids: pl.Series, truth: pl.DataFrame) -> list[dict[str, float]]:
    """Pairwise/B³ F1 of connected components at each threshold in SCAN (untimed, to be generous)."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from hanlink.evaluate import bcubed_metrics, pairwise_metrics

    index = pl.DataFrame({"key": ids}).with_row_index("i")
    edges = (pred.join(index.rename({"key": "unique_id_l", "i": "l"}), on="unique_id_l")
             .join(index.rename({"key": "unique_id_r", "i": "r"}), on="unique_id_r"))
    rows = []
    for t in SCAN:
        e = edges.filter(pl.col("match_probability") >= t)
        graph = coo_matrix((np.ones(e.height), (e["l"].to_numpy(), e["r"].to_numpy())),
                           shape=(len(ids), len(ids)))
        _, labels = connected_components(graph, directed=False)
        clusters = pl.DataFrame({"key": ids, "cluster": labels})
        pw, b3 = pairwise_metrics(clusters, truth), bcubed_metrics(clusters, truth)
        rows.append({"threshold": t, "pairwise_f1": float(pw["f1"]),
                     "pairwise_precision": float(pw["precision"]), "pairwise_recall": float(pw["recall"]),
                     "bcubed_f1": float(b3["f1"])})
    return rows


def run_splink(n: int, difficulty: str, threshold: float, max_shared: int,
               max_pairs_u: float) -> dict[str, Any]:
    from splink import DuckDBAPI, Linker, block_on

    from hanlink.evaluate import bcubed_metrics, pairwise_metrics

    d = data_dir(n, difficulty)
    phases: dict[str, float] = {}
    t0 = tick = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal tick
        now = time.perf_counter()
        phases[name] = now - tick
        tick = now

    df = splink_frame(input_file(d), _fields(d), max_shared)
    lap("prepare")
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(df.to_arrow(), table_name="customers"), splink_settings(),
                    log_level=logging.WARNING)
    lap("register")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("id_number"), block_on("phone", "name_py")], recall=0.8)
    lap("prior")
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs_u, seed=42)
    lap("estimate_u")
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_py", "dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    lap("em")
    predictions = linker.inference.predict(threshold_match_probability=SCAN[0])
    lap("predict")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
    got = clusters.as_duckdbpyrelation().select("record_id, cluster_id").pl()
    lap("cluster")
    wall = time.perf_counter() - t0
    peak = _peak_mib()

    truth = pl.read_csv(d / "truth.csv", schema_overrides={"source_record_id": pl.Utf8, "entity_id": pl.Utf8})
    truth = truth.select(pl.col("source_record_id").alias("key"), pl.col("entity_id").alias("cluster"))
    pred = got.select(pl.col("record_id").alias("key"), pl.col("cluster_id").cast(pl.Utf8).alias("cluster"))
    pw, b3 = pairwise_metrics(pred, truth), bcubed_metrics(pred, truth)
    pairs = predictions.as_duckdbpyrelation().select(
        "record_id_l AS unique_id_l, record_id_r AS unique_id_r, match_probability").pl()
    scan = _scan(pairs, df["record_id"], truth)
    best = max(scan, key=lambda r: r["pairwise_f1"])
    return {"wall_s": wall, "peak_rss_mib": peak, "phases_s": phases, "pairs_scored": pairs.height,
            **{f"pairwise_{k}": float(v) for k, v in pw.items()},
            **{f"bcubed_{k}": float(v) for k, v in b3.items()},
            "best_threshold": best["threshold"], "best_pairwise_f1": best["pairwise_f1"],
            "best_bcubed_f1": best["bcubed_f1"], "scan": scan}


# ---------------------------------------------------------------- driver
def _child(args: argparse.Namespace, tool: str, n: int, difficulty: str, log: Path) -> dict[str, Any]:
    """Run one tool in a subprocess; stop it (by its pid) past the time or memory limit."""
    cmd = [sys.executable, __file__, "--one", tool, str(n), difficulty, "--threshold", str(args.threshold),
           "--max-shared", str(args.max_shared), "--u-max-pairs", str(args.u_max_pairs)]
    t0, peak_kib, status = time.perf_counter(), 0, "ok"
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        while proc.poll() is None:
            try:
                status_text = Path(f"/proc/{proc.pid}/status").read_text()
                rss = next(int(line.split()[1]) for line in status_text.splitlines()
                           if line.startswith("VmRSS:"))
                peak_kib = max(peak_kib, rss)
            except (OSError, StopIteration):
                pass
            if time.perf_counter() - t0 > args.timeout:
                status = f"stopped after {args.timeout:.0f} s"
            elif peak_kib > args.max_rss_gib * 2**20:
                status = f"stopped at {peak_kib / 2**20:.1f} GiB RSS"
            if status != "ok":
                proc.kill()
                proc.wait()
                break
            time.sleep(0.5)
        out = proc.stdout.read() if proc.stdout else ""
    if status == "ok" and proc.returncode != 0:
        status = f"failed (exit {proc.returncode}, see {log})"
    if status != "ok":
        return {"status": status, "wall_s": time.perf_counter() - t0, "peak_rss_mib": peak_kib / 1024}
    return {"status": "ok", **json.loads(out.strip().splitlines()[-1])}


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if r["status"] == "ok"]
    if not ok:
        return dict(runs[-1])
    best = dict(ok[0])
    for k in ("wall_s", "peak_rss_mib"):
        best[k] = statistics.median(r[k] for r in ok)
    best["phases_s"] = {p: statistics.median(r["phases_s"][p] for r in ok) for p in ok[0]["phases_s"]}
    best["walls"] = [round(r["wall_s"], 1) for r in runs]
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--difficulty", nargs="+", default=["normal"], choices=["normal", "hard"])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--tools", nargs="+", default=["hanlink", "splink"], choices=["hanlink", "splink"])
    ap.add_argument("--threshold", type=float, default=0.95, help="Splink clustering match probability")
    ap.add_argument("--max-shared", type=int, default=20, help="null phone/ID/email shared by more (0: keep)")
    ap.add_argument("--u-max-pairs", type=float, default=1e6)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--max-rss-gib", type=float, default=14.0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        tool, n, difficulty = args.one[0], int(args.one[1]), args.one[2]
        res = (run_hanlink(n, difficulty) if tool == "hanlink"
               else run_splink(n, difficulty, args.threshold, args.max_shared, args.u_max_pairs))
        print(json.dumps(res, default=str))
        return
    logs = OUT / "vs_splink_logs"
    logs.mkdir(parents=True, exist_ok=True)
    rows = []
    for difficulty in args.difficulty:
        for n in args.sizes:
            ensure_data(n, difficulty)
            runs: dict[str, list[dict[str, Any]]] = {t: [] for t in args.tools}
            for rep in range(args.repeat):
                order = args.tools if rep % 2 == 0 else args.tools[::-1]  # alternate who goes first
                for tool in order:
                    r = _child(args, tool, n, difficulty, logs / f"{tool}_{difficulty}_{n}_{rep}.log")
                    runs[tool].append(r)
                    f1 = r.get("pairwise_f1", float("nan"))
                    print(f"{difficulty} {n:,} {tool} #{rep}: {r['status']}, {r['wall_s']:.1f} s, "
                          f"{r['peak_rss_mib']:.0f} MiB, pairwise F1 {f1:.4f}",
                          file=sys.stderr, flush=True)
            for tool in args.tools:
                rows.append({"tool": tool, "difficulty": difficulty, "n": n, **_median(runs[tool])})
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))
    print(markdown(rows))


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| data | records | tool | wall s | peak RSS MiB | pairwise P | pairwise R | pairwise F1 | "
             "B³ P | B³ R | B³ F1 |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        head = f"| {r['difficulty']} | {r['n']:,} | {r['tool']} |"
        if r["status"] != "ok":
            lines.append(f"{head} {r['status']} | {r['peak_rss_mib']:.0f} |" + " – |" * 6)
            continue
        lines.append(f"{head} {r['wall_s']:.1f} | {r['peak_rss_mib']:.0f} | {r['pairwise_precision']:.4f} | "
                     f"{r['pairwise_recall']:.4f} | {r['pairwise_f1']:.4f} | {r['bcubed_precision']:.4f} | "
                     f"{r['bcubed_recall']:.4f} | {r['bcubed_f1']:.4f} |")
    lines += ["", "| data | records | tool | phases (s) | extra |", "|---|---|---|---|---|"]
    for r in rows:
        if r["status"] != "ok":
            continue
        phases = ", ".join(f"{k} {v:.1f}" for k, v in r["phases_s"].items())
        extra = (f"best threshold {r['best_threshold']}: pairwise F1 {r['best_pairwise_f1']:.4f}, "
                 f"B³ F1 {r['best_bcubed_f1']:.4f}; {r['pairs_scored']:,} pairs ≥ {SCAN[0]}"
                 if r["tool"] == "splink" else "")
        lines.append(f"| {r['difficulty']} | {r['n']:,} | {r['tool']} | {phases} | {extra} |")
    return "\n".join(lines)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
