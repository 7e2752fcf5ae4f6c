"""The nightly flow: one Prefect task per stage, in order; needs no Prefect server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# No network here and no reason to phone home from a customer's machine.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE

from hanlink.config import load_config
from hanlink.pipeline import STAGES, RunResult, Stage, new_run_id, open_database, run_stage


@task(name="stage", cache_policy=NONE, retries=0, task_run_name="{stage}")
def stage_task(stage: Stage, config_path: str, run_id: str) -> dict[str, Any]:
    """Open the warehouse, run one stage, close it: a retried task starts from a clean connection."""
    cfg = load_config(config_path)
    with open_database(cfg) as db:
        counts = run_stage(stage, db, cfg, run_id)
    get_run_logger().info("%s: %s", stage, counts)
    return counts


@task(name="publish", cache_policy=NONE)
def publish_task(config_path: str, run_id: str, out_dir: str | None) -> dict[str, str]:
    """Export the run's outputs and publish its summary as a Prefect artifact."""
    from hanlink.export import export_outputs
    from hanlink.scorecard import summary_markdown

    cfg = load_config(config_path)
    with open_database(cfg) as db:
        paths = export_outputs(
            db, run_id, Path(out_dir) if out_dir else cfg.work_path / "output", language=cfg.project.language
        )
        summary = summary_markdown(db, run_id, lang=cfg.project.language)
    create_markdown_artifact(key="hanlink-run-summary", markdown=summary, description=f"hanlink run {run_id}")
    return {k: str(v) for k, v in paths.items()}


@flow(name="hanlink-nightly", log_prints=True)
def nightly(
    config_path: str = "hanlink.toml", run_id: str | None = None, out_dir: str | None = None
) -> RunResult:
    """Ingest → standardize → validate → block → compare → score → cluster → survive → report → publish."""
    cfg = load_config(config_path)
    run_id = run_id or new_run_id()
    result = RunResult(run_id=run_id, database=cfg.database_path)
    for stage in STAGES:
        result.counts[stage] = stage_task(stage, config_path, run_id)
    result.outputs = {k: Path(v) for k, v in publish_task(config_path, run_id, out_dir).items()}
    with open_database(cfg, read_only=True) as db:
        result.seconds = {
            s: float(t)
            for s, t in db.fetchall("SELECT stage, seconds FROM run_log WHERE run_id = ?", [run_id])
        }
    return result


if __name__ == "__main__":
    import sys

    nightly(sys.argv[1] if len(sys.argv) > 1 else "hanlink.toml")
