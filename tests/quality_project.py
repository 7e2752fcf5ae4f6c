"""A generated 4-source project run twice through the pipeline: shared by the scorecard, dashboard and alert
tests (the runs take ≈ 10 s; parquet instead of Excel / GBK CSV keeps them short)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from hanlink.config import Config, load_config
from hanlink.generate import GeneratedData, generate
from hanlink.pipeline import run_pipeline

RUNS = ("20260301T020000", "20260302T020000")


@dataclass(frozen=True)
class QualityProject:
    data: GeneratedData
    cfg: Config
    out: Path

    def source_frame(self, source: str) -> pl.DataFrame:
        """The source file as written by the generator, every column as text (read here, not by hanlink)."""
        path = self.data.files[source][0]
        if path.suffix == ".csv":
            return pl.read_csv(path, infer_schema_length=0)
        frame = pl.read_parquet(path)
        return frame.with_columns(pl.all().cast(pl.String))

    def truth(self) -> pl.DataFrame:
        """truth.csv with one row per (record, injected error)."""
        t = pl.read_csv(self.data.truth, infer_schema_length=0)
        return t.with_columns(pl.col("errors").fill_null("").str.split(";")).explode("errors")


_BUILT: dict[int, QualityProject] = {}


def shared_project(tmp_path_factory: pytest.TempPathFactory) -> QualityProject:
    """One project per test session, whichever test module asks first (the runs are the slow part)."""
    if not _BUILT:
        _BUILT[0] = build_project(tmp_path_factory.mktemp("quality"))
    return _BUILT[0]


def build_project(root: Path, n_records: int = 600) -> QualityProject:
    """Generate the project under `root` and run the pipeline for both RUNS (outputs under root/out)."""
    data = generate(n_records, root, seed=5, layout="sources",
                    formats={"pos": "parquet", "ecommerce": "parquet"})
    cfg = load_config(data.config)
    out = root / "out"
    for run_id in RUNS:
        run_pipeline(cfg, run_id=run_id, out_dir=out)
    return QualityProject(data, cfg, out)
