"""One pipeline run at scale (default 10M records) with time AND peak memory per stage, under a memory cap.

    python bench/bench_10m.py --n 10000000 --memory-limit 12GB --threads 2 --json bench/out/scale_10m.json

Same data and config as bench/bench_pipeline.py (generated once into bench/out/, mapping guessed from the
headers as `hanlink dedupe` does), plus DuckDB's memory_limit/threads (DuckDB spills to
<database>.tmp beyond the limit). A sampler thread reads this process's RSS every 0.1 s and keeps the peak
per stage; if RSS passes --rss-cap-gib the run stops at once and says in which stage (so a runaway stage
can't push the shared machine into the OOM killer). Prints one JSON line; --json also writes it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from bench_pipeline import OUT, accuracy, ensure_data, input_file


class Sampler(threading.Thread):
    """Peak RSS per stage of this process (MiB), sampled every `every` seconds."""

    def __init__(self, cap_gib: float, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process()
        self.cap = cap_gib * 1024**3
        self.every = every
        self.stage = "setup"
        self.peaks: dict[str, float] = {}
        self.min_available = float("inf")
        self.done = threading.Event()

    def set_stage(self, stage: str) -> None:
        self.stage = stage
        print(f"{time.strftime('%H:%M:%S')} stage {stage}", file=sys.stderr, flush=True)

    def run(self) -> None:
        while not self.done.is_set():
            rss = self.proc.memory_info().rss
            self.min_available = min(self.min_available, psutil.virtual_memory().available)
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0.0), rss / 2**20)
            if rss > self.cap:
                print(json.dumps({"error": f"RSS {rss / 2**30:.1f} GiB over the cap in stage {self.stage}",
                                  "peaks_mib": self.peaks}), flush=True)
                os._exit(3)
            time.sleep(self.every)


def scale_rules() -> list[list[str]]:
    """The default blocking rules with `id_birth+surname` narrowed to the district: one birth date and a
    common surname are shared by a number of people that grows with the population (≈ 19 per block at 10M
    Chinese records, 89.5M estimated pairs alone), while a district keeps blocks the same size."""
    from hanlink.config import BlockingConfig

    return [[*keys, "district"] if keys == ["id_birth", "surname"] else list(keys)
            for keys in BlockingConfig().rules]


def run(n: int, difficulty: str, memory_limit: str, threads: int, cap_gib: float, blocking: str
        ) -> dict[str, Any]:
    from hanlink.config import config_from_dict
    from hanlink.ingest import FORMATS
    from hanlink.mapping import guess_mapping, read_headers
    from hanlink.pipeline import run_pipeline

    t_gen = time.perf_counter()
    data = ensure_data(n, difficulty)
    gen_s = time.perf_counter() - t_gen
    path = input_file(data)
    out = OUT / f"scale_{difficulty}_{n}_{blocking}"
    out.mkdir(parents=True, exist_ok=True)
    database = out / "hanlink.duckdb"
    for stale in (database, database.with_name(database.name + ".wal")):
        stale.unlink(missing_ok=True)
    fmt = FORMATS[path.suffix.lower()]
    guess = guess_mapping(read_headers(path, fmt))
    cfg = config_from_dict({
        "project": {"name": "scale", "database": str(database.resolve()), "work_dir": str(out.resolve()),
                    "memory_limit": memory_limit, "threads": threads},
        "sources": [{"name": "input", "path": str(path.resolve()), "format": fmt, "fields": guess.fields,
                     "required": []}],
        **({"blocking": {"rules": scale_rules()}} if blocking == "scale" else {}),
    })
    sampler = Sampler(cap_gib)
    sampler.start()
    t0 = time.perf_counter()
    try:
        result = run_pipeline(cfg, run_id="scale", out_dir=out, on_stage=sampler.set_stage)
    except Exception as exc:
        # Keep what was measured: the stage that failed, its error, and the peaks so far.
        print(json.dumps({"error": str(exc).splitlines()[0], "failed_stage": sampler.stage,
                          "seconds_so_far": time.perf_counter() - t0, "peaks_mib": sampler.peaks}),
              flush=True)
        raise
    wall = time.perf_counter() - t0
    sampler.set_stage("export")
    sampler.done.set()
    sampler.join()
    return {
        "n": n, "difficulty": difficulty, "memory_limit": memory_limit, "threads": threads,
        "blocking": blocking,
        "generate_s": gen_s, "wall_s": wall, "stages_s": result.seconds, "peaks_mib": sampler.peaks,
        "peak_rss_mib": max(sampler.peaks.values()),
        "min_available_gib": sampler.min_available / 2**30,
        "load_avg_1m_end": os.getloadavg()[0],
        "counts": {k: {kk: vv for kk, vv in v.items() if isinstance(vv, int | float)}
                   for k, v in result.counts.items() if isinstance(v, dict)},
        **accuracy(out, data / "truth.csv"),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--difficulty", default="normal", choices=["normal", "hard"])
    ap.add_argument("--memory-limit", default="12GB", help="DuckDB memory_limit (it spills beyond)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rss-cap-gib", type=float, default=21.0, help="stop the run if RSS passes this")
    ap.add_argument("--blocking", default="default", choices=["default", "scale"],
                    help="scale: id_birth+surname narrowed to the district (see scale_rules)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    figures = run(args.n, args.difficulty, args.memory_limit, args.threads, args.rss_cap_gib, args.blocking)
    text = json.dumps(figures, default=str)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    print(text)


if __name__ == "__main__":
    main()
