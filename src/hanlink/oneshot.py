"""One-shot dedupe of a single file: guess the field mapping, run every stage, write the output contract."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from hanlink.config import config_from_dict
from hanlink.errors import SourceError
from hanlink.pipeline import RunResult, Stage, run_pipeline


def dedupe_file(
    path: Path,
    out_dir: Path,
    *,
    overrides: dict[str, str] | None = None,
    language: Literal["zh", "en"] = "zh",
    run_id: str | None = None,
    announce: Callable[[str], None] | None = None,
    on_stage: Callable[[Stage], None] | None = None,
) -> RunResult:
    """De-duplicate one CSV/Excel/Parquet file into `out_dir`.

    Writes crosswalk.csv, findings.csv, golden_records.csv and scorecard.json. The mapping is guessed from
    Chinese or English headers; `overrides` maps field → header.
    """
    from hanlink.ingest import FORMATS
    from hanlink.mapping import apply_overrides, guess_mapping, read_headers

    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SourceError(
            f"unknown file type {path.suffix!r}",
            source="input",
            path=str(path),
            hint="valid: " + ", ".join(sorted(FORMATS)),
        )
    if not path.exists():
        raise SourceError("file not found", source="input", path=str(path))
    guess = guess_mapping(read_headers(path, fmt))
    if overrides:
        guess = apply_overrides(guess, overrides)
    if announce:
        announce(guess.describe(language))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    database = out_dir / "hanlink.duckdb"
    # A one-shot run starts from nothing, so that the same file always gives the same outputs.
    for stale in (database, database.with_name(database.name + ".wal")):
        stale.unlink(missing_ok=True)
    cfg = config_from_dict(
        {
            "project": {
                "name": "dedupe",
                "database": str(database.resolve()),
                "work_dir": str(out_dir.resolve()),
                "language": language,
            },
            "sources": [
                {
                    "name": "input",
                    "path": str(path.resolve()),
                    "format": fmt,
                    "fields": guess.fields,
                    "required": [],
                }
            ],
        },
        where=f"mapping guessed for {path}",
    )
    return run_pipeline(cfg, run_id=run_id, out_dir=out_dir, on_stage=on_stage)
