"""The nightly flow really runs under Prefect (test harness: a temporary local server), one task per stage."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from hanlink.config import load_config
from hanlink.db import Database
from hanlink.pipeline import STAGES


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect server for the session (≈15 s to start)."""
    with prefect_test_harness(server_startup_timeout=90):
        yield


def test_nightly_flow_runs_every_stage_and_publishes(
    prefect_server, demo_project: Path, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client

    from flows.nightly import nightly

    state = nightly(str(demo_project), run_id="flow1", out_dir=str(tmp_path), return_state=True)
    assert state.is_completed(), state
    result = state.result()
    assert list(result.counts) == list(STAGES)
    for name in ("crosswalk.csv", "findings.csv", "golden_records.csv", "scorecard.json"):
        assert (tmp_path / name).stat().st_size > 0
    # Built aside and published in one step, like `hanlink run`: the flat files follow the `current` link.
    assert os.readlink(tmp_path / "current") == os.path.join("runs", "flow1")
    assert result.conservation["rows_in"] == result.conservation["crosswalk_rows"] == 3_000
    assert not (load_config(demo_project).database_path.parent / ".hanlink.duckdb.staging").exists()
    with Database(load_config(demo_project).database_path, read_only=True) as db:
        stages = {r[0] for r in db.fetchall("SELECT stage FROM run_log WHERE run_id='flow1' AND status='ok'")}
    assert stages == set(STAGES)

    async def task_names() -> list[str]:
        async with get_client() as client:
            runs = await client.read_task_runs()
            return [r.name for r in runs if r.flow_run_id == state.state_details.flow_run_id]

    names = asyncio.run(task_names())
    assert set(STAGES) <= set(names), names

    async def artifact() -> str:
        async with get_client() as client:
            latest = await client.read_latest_artifacts()
            return next(a.data for a in latest if a.key == "hanlink-run-summary")

    assert "flow1" in asyncio.run(artifact())


def test_nightly_flow_refuses_while_another_run_holds_the_lock(
    prefect_server, demo_project: Path, tmp_path: Path
) -> None:
    from flows.nightly import nightly
    from hanlink.lock import RunLockedError, run_lock

    with run_lock(load_config(demo_project).database_path, "someone-else"):
        state = nightly(str(demo_project), run_id="flow2", out_dir=str(tmp_path), return_state=True)
    assert state.is_failed()
    with pytest.raises(RunLockedError, match="someone-else"):
        state.result()
    assert not (tmp_path / "runs" / "flow2").exists()


def test_deployment_schedule_is_in_beijing_time() -> None:
    import yaml

    spec = yaml.safe_load((Path(__file__).parents[1] / "prefect.yaml").read_text(encoding="utf-8"))
    schedule = spec["deployments"][0]["schedules"][0]
    assert schedule["timezone"] == "Asia/Shanghai"
    assert spec["deployments"][0]["entrypoint"] == "flows/nightly.py:nightly"
