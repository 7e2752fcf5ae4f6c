"""Prefect artifacts of a run: the short Markdown summary, the scorecard as a table, a link to the dashboard.

Call inside a Prefect flow or task run (the nightly flow's publish step); outside one Prefect still
stores them, unattached to any run. Keys are stable so the Prefect UI keeps one history per artifact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from hanlink import tables as T
from hanlink.db import Database
from hanlink.report import row_order
from hanlink.scorecard import summary_markdown

SUMMARY_KEY = "hanlink-run-summary"
SCORECARD_KEY = "hanlink-scorecard"
DASHBOARD_KEY = "hanlink-dashboard"
# The table artifact keeps the levels a reader scans; field and rule rows stay in dq_scorecard / the page.
TABLE_LEVELS = ("overall", "dimension", "source")


def scorecard_rows(db: Database, run_id: str, levels: tuple[str, ...] = TABLE_LEVELS) -> list[dict[str, Any]]:
    """The run's scorecard rows at `levels`, in scorecard order, JSON-ready (score rounded to 2 places)."""
    rows = db.query(f"SELECT * FROM {T.DQ_SCORECARD} WHERE run_id = ?", [run_id]).to_dicts()
    out = []
    for r in sorted((r for r in rows if r["level"] in levels), key=row_order):
        out.append(
            {
                "level": r["level"],
                "source": r["source"] or "",
                "dimension": r["dimension"] or "",
                "gbt_indicator": r["gbt_indicator"] or "",
                "score": None if r["score"] is None else round(r["score"], 2),
                "light": r["light"],
                "numerator": r["numerator"],
                "denominator": r["denominator"],
            }
        )
    return out


def publish_artifacts(
    db: Database, run_id: str, dashboard: Path | None = None, *, lang: Literal["zh", "en"] = "zh"
) -> dict[str, UUID]:
    """Publish the run's summary (markdown), scorecard (table) and, when given, a file:// link to its
    dashboard page. Returns the artifact ids by key."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

    # Called from synchronous code these return the id (the async variants are for coroutines).
    ids: dict[str, Any] = {
        SUMMARY_KEY: create_markdown_artifact(
            key=SUMMARY_KEY,
            markdown=summary_markdown(db, run_id, lang=lang),
            description=f"hanlink run {run_id}",
        ),
        SCORECARD_KEY: create_table_artifact(
            key=SCORECARD_KEY,
            table=scorecard_rows(db, run_id),
            description=f"hanlink scorecard 质量评分卡 · run {run_id}",
        ),
    }
    if dashboard is not None:
        ids[DASHBOARD_KEY] = create_link_artifact(
            key=DASHBOARD_KEY,
            link=Path(dashboard).resolve().as_uri(),
            link_text=f"hanlink 数据质量看板 dashboard · {run_id}",
            description=f"hanlink run {run_id}",
        )
    return ids
