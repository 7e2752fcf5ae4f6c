"""The nightly flow: one Prefect task per stage on the run's staging copy, then publish; no server needed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# No network here and no reason to phone home from a customer's machine.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from hanlink.config import load_config
from hanlink.pipeline import (
    STAGES,
    RunContext,
    RunResult,
    Stage,
    export_run,
    finish_run,
    new_run_id,
    open_database,
    open_run,
    run_stage_in,
)


@task(name="stage", cache_policy=NONE, retries=0, task_run_name="{stage}")
def stage_task(stage: Stage, ctx: RunContext) -> dict[str, Any]:
    """Open the run's staging copy, run one stage, close it: a retried task starts from a clean connection."""
    with open_database(ctx.cfg) as db:
        counts = run_stage_in(ctx, stage, db)
    get_run_logger().info("%s: %s", stage, counts)
    return counts


@task(name="publish", cache_policy=NONE)
def publish_task(ctx: RunContext) -> RunResult:
    """Export the run into its own folder, make it current in one step, then publish its summary, scorecard
    and dashboard link as artifacts and raise its quality alerts (logged at ERROR, a Prefect event each)."""
    from hanlink.alerts import notify_alerts
    from hanlink.artifacts import publish_artifacts

    with open_database(ctx.cfg) as db:
        paths = export_run(ctx, db)
    result = finish_run(ctx, paths)
    lang = ctx.cfg.project.language
    with open_database(ctx.live_cfg, read_only=True) as db:
        dashboard = ctx.run_dir / "dashboard" / f"{ctx.run_id}.html"
        publish_artifacts(db, ctx.run_id, dashboard if dashboard.exists() else None, lang=lang)
        notify_alerts(db, ctx.run_id, lang=lang)
    return result


@flow(name="hanlink-nightly", log_prints=True)
def nightly(
    config_path: str = "hanlink.toml", run_id: str | None = None, out_dir: str | None = None
) -> RunResult:
    """Lock → stage aside → ingest … report (one task each) → export → publish: the steps of `hanlink run`.

    The flow holds the run lock throughout; a failed task leaves the previous run published."""
    cfg = load_config(config_path)
    with open_run(cfg, run_id=run_id or new_run_id(), out_dir=Path(out_dir) if out_dir else None) as ctx:
        counts: dict[str, dict[str, Any]] = {stage: stage_task(stage, ctx) for stage in STAGES}
        result = publish_task(ctx)
    # Prefect may hand tasks a copy of ctx: take the counts from the task results, seconds from run_log.
    result.counts = counts
    with open_database(ctx.live_cfg, read_only=True) as db:
        logged = db.fetchall("SELECT stage, seconds FROM run_log WHERE run_id = ?", [ctx.run_id])
    result.seconds = {s: float(t) for s, t in logged}
    return result


if __name__ == "__main__":
    import sys

    nightly(sys.argv[1] if len(sys.argv) > 1 else "hanlink.toml")
