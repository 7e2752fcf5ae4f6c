"""Prefect artifacts of a run, published inside a real flow run (test harness) and read back from the API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from prefect import flow
from prefect.testing.utilities import prefect_test_harness
from test_report import AS_OF, SOURCES, write_run

from hanlink.alerts import notify_alerts
from hanlink.artifacts import DASHBOARD_KEY, SCORECARD_KEY, SUMMARY_KEY, publish_artifacts, scorecard_rows
from hanlink.config import ReportConfig
from hanlink.dashboard import write_dashboard
from hanlink.db import Database
from hanlink.report import report


@pytest.fixture(scope="module")
def prefect_api():
    """A temporary Prefect server for this module (≈15 s to start)."""
    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A DuckDB file holding runs r1 and r2 (r2 lit strictly, so it has alerts) and r2's dashboard."""
    path = tmp_path / "hanlink.duckdb"
    with Database(path) as db:
        write_run(db, "r1")
        report(db, ReportConfig(green=60, amber=50), "r1", as_of=AS_OF, sources=SOURCES)
        write_run(db, "r2")
        report(db, ReportConfig(green=95, amber=80), "r2", as_of=AS_OF, sources=SOURCES)
        write_dashboard(db, "r2", tmp_path)
    return path


@flow(name="hanlink-artifacts-test")
def publish_flow(database: str, dashboard: str) -> dict[str, Any]:
    with Database(database, read_only=True) as db:
        ids = publish_artifacts(db, "r2", Path(dashboard), lang="en")
        alerts = notify_alerts(db, "r2")
    return {"ids": {k: str(v) for k, v in ids.items()}, "alerts": alerts}


def test_summary_scorecard_and_dashboard_link_are_published(prefect_api: None, warehouse: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    page = warehouse.parent / "dashboard" / "r2.html"
    state = publish_flow(str(warehouse), str(page), return_state=True)
    assert state.is_completed(), state
    out = state.result()
    assert out["alerts"] == 4    # uniqueness and timeliness turned red (run-wide), timeliness in crm and web

    async def read() -> dict[str, Any]:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[SUMMARY_KEY, SCORECARD_KEY,
                                                                           DASHBOARD_KEY])))
            return {a.key: a for a in found if a.flow_run_id == state.state_details.flow_run_id}

    artifacts = asyncio.run(read())
    assert set(artifacts) == {SUMMARY_KEY, SCORECARD_KEY, DASHBOARD_KEY}
    summary = artifacts[SUMMARY_KEY]
    assert summary.type == "markdown" and "run r2" in summary.data and "quality alert(s)" in summary.data
    table = artifacts[SCORECARD_KEY]
    assert table.type == "table"
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    with Database(warehouse, read_only=True) as db:
        expected = scorecard_rows(db, "r2")
        n_top = db.scalar("SELECT count(*) FROM dq_scorecard WHERE run_id = 'r2' "
                          "AND level IN ('overall', 'dimension', 'source')")
    assert rows == expected and len(rows) == n_top
    assert rows[0]["level"] == "overall"
    assert {r["gbt_indicator"] for r in rows} >= {"完整性", "规范性", "准确性"}
    # Prefect 3 stores a link artifact as a Markdown link
    assert f"({page.resolve().as_uri()})" in artifacts[DASHBOARD_KEY].data
