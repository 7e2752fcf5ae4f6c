"""`python -m hanlink.generate N OUT_DIR`: synthetic records with ground truth (see hanlink.generate)."""

from __future__ import annotations

import argparse
import time

from hanlink.generate import generate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hanlink.generate", description=__doc__)
    parser.add_argument("n_records", type=int)
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--difficulty", choices=["normal", "hard"], default="normal")
    parser.add_argument("--layout", choices=["sources", "single"], default="sources")
    parser.add_argument("--format", action="append", default=[], metavar="SOURCE=FMT[,FMT]",
                        help="file format(s) of a source, e.g. pos=parquet or customers=csv,parquet")
    args = parser.parse_args(argv)
    formats = {}
    for item in args.format:
        source, _, fmts = item.partition("=")
        formats[source] = fmts.split(",")
    start = time.perf_counter()
    try:
        g = generate(args.n_records, args.out_dir, seed=args.seed, difficulty=args.difficulty,
                     layout=args.layout, formats=formats or None)
    except ValueError as exc:
        parser.error(str(exc))
    took = time.perf_counter() - start
    print(f"{g.n_records:,} records of {g.n_entities:,} entities ({g.entities_by_kind}) in {took:.1f} s")
    for source, paths in g.files.items():
        print(f"  {source}: {', '.join(str(p) for p in paths)} ({g.records_by_source[source]:,} records)")
    print(f"  truth: {g.truth}\n  config: {g.config}")


if __name__ == "__main__":
    main()
