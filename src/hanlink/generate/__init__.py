"""Synthetic Chinese customer records with ground truth: our own test and benchmark data.

`generate(n_records, out_dir)` draws people (with families sharing an address and landline), a few
companies and some junk records, spreads each entity's 1–6 records over four source systems with their
own formats and habits (crm CSV, ecommerce GBK CSV, pos Excel, callcenter Parquet — or one merged
customers file), injects errors at configurable rates and writes `truth.csv` (the entity behind every
record and the errors injected into it) and a ready-to-run `hanlink.toml`.

Everything is fictitious. Resident ID numbers are syntactically valid (real region codes, birth date,
sequence with gender parity, GB 11643 check character) and credit codes pass the GB 32100 check, but
they are drawn at random and belong to nobody; names, phones, emails and addresses are random
combinations of common parts. Same seed → byte-identical files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hanlink.generate.corrupt import ERROR_TYPES, NORMAL_RATES, Difficulty, error_rates
from hanlink.generate.entities import draw_entities
from hanlink.generate.records import build_records, plan_records
from hanlink.generate.sources import SINGLE, SOURCES, FileFormat, Layout, SourceSpec
from hanlink.generate.write import file_name, source_frame, write_config, write_table, write_truth

__all__ = ["ERROR_TYPES", "NORMAL_RATES", "GeneratedData", "error_rates", "generate"]

FORMATS: tuple[str, ...] = ("csv", "excel", "parquet")


@dataclass(frozen=True)
class GeneratedData:
    """What `generate` wrote: data files per source (the first is the one hanlink.toml points to), the
    truth and the config, and counts."""

    out_dir: Path
    files: dict[str, list[Path]]
    truth: Path
    config: Path
    n_records: int
    records_by_source: dict[str, int]
    entities_by_kind: dict[str, int]     # person, company, junk
    n_families: int
    error_counts: dict[str, int] = field(default_factory=dict)   # records carrying each error type

    @property
    def n_entities(self) -> int:
        return sum(self.entities_by_kind.values())


def _formats(layout: Layout, formats: Mapping[str, FileFormat | Sequence[FileFormat]] | None
             ) -> list[tuple[SourceSpec, list[FileFormat]]]:
    specs = SOURCES if layout == "sources" else (SINGLE,)
    chosen = dict(formats or {})
    unknown = set(chosen) - {s.name for s in specs}
    if unknown:
        raise ValueError(f"formats: unknown source(s) {sorted(unknown)} for layout={layout!r}; "
                         f"valid: {[s.name for s in specs]}")
    out: list[tuple[SourceSpec, list[FileFormat]]] = []
    for spec in specs:
        value = chosen.get(spec.name, spec.file_format)
        fmts: list[FileFormat] = [value] if isinstance(value, str) else list(value)  # type: ignore[list-item]
        bad = [f for f in fmts if f not in FORMATS]
        if bad or not fmts:
            raise ValueError(f"formats[{spec.name!r}] = {value!r}: each must be one of {list(FORMATS)}")
        out.append((spec, fmts))
    return out


def generate(n_records: int, out_dir: Path | str, *, seed: int = 42, difficulty: Difficulty = "normal",
             layout: Layout = "sources",
             formats: Mapping[str, FileFormat | Sequence[FileFormat]] | None = None) -> GeneratedData:
    """Write n_records synthetic records (+ truth.csv and hanlink.toml) into out_dir.

    layout='sources': crm.csv (UTF-8), ecommerce.csv (GBK), pos.xlsx, callcenter.parquet.
    layout='single': customers.csv with Chinese headers, every field, all records shuffled.
    formats overrides a source's file format(s), e.g. {'pos': 'parquet'} (Excel is the slow one: ≈ 1 s per
    100k rows) or {'customers': ['csv', 'parquet']}; the first format listed is the one in hanlink.toml.
    difficulty='hard' doubles every error rate. Deterministic: the same arguments give the same bytes.
    """
    if not isinstance(n_records, int | np.integer) or n_records < 1:
        raise ValueError(f"n_records must be a positive integer, not {n_records!r}")
    if layout not in ("sources", "single"):
        raise ValueError(f"layout must be 'sources' or 'single', not {layout!r}")
    plan_formats = _formats(layout, formats)
    rates = error_rates(difficulty)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    # Independent streams: the entities don't change when only the error rates do.
    plan = plan_records(np.random.default_rng([seed, 1]), int(n_records), rates["crm"]["junk_record"])
    ents = draw_entities(np.random.default_rng([seed, 2]), plan.n_people, plan.n_companies, plan.n_junk)
    records, error_counts = build_records(np.random.default_rng([seed, 3]), ents, plan, layout, rates)

    files: dict[str, list[Path]] = {}
    entries = []
    for spec, fmts in plan_formats:
        files[spec.name] = []
        for fmt in fmts:
            path = out / file_name(spec, fmt)
            write_table(source_frame(records, spec, fmt), path, fmt, spec.encoding, sheet=spec.name)
            files[spec.name].append(path)
        entries.append((spec, files[spec.name][0].name, fmts[0]))
    truth_path = out / "truth.csv"
    write_truth(records, truth_path, [s.name for s, _ in plan_formats])
    config_path = out / "hanlink.toml"
    write_config(config_path, entries,
                 f"Synthetic data from hanlink.generate (n_records={n_records}, seed={seed}, "
                 f"difficulty={difficulty}, layout={layout}); every person in it is fictitious.")

    kinds = ents.df["entity_kind"]
    return GeneratedData(
        out_dir=out,
        files=files,
        truth=truth_path,
        config=config_path,
        n_records=records.height,
        records_by_source={s.name: int((records["source"] == s.name).sum()) for s, _ in plan_formats},
        entities_by_kind={k: int((kinds == k).sum()) for k in ("person", "company", "junk")},
        n_families=int(ents.df["family_id"].n_unique() - (1 if ents.df["family_id"].null_count() else 0)),
        error_counts={e: error_counts.get(e, 0) for e in ERROR_TYPES},
    )
