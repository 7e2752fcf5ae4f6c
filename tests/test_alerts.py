"""Quality alerts: a metric that turns red, or falls below the median of its recent runs, per the config."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from test_report import AS_OF, SOURCES, write_run

from hanlink.alerts import (
    alert_error,
    alert_exit_code,
    alert_lines,
    evaluate_alerts,
    notify_alerts,
    run_alerts,
)
from hanlink.config import QualityConfig, ReportConfig, config_from_dict
from hanlink.db import Database
from hanlink.errors import ConfigError, QualityAlertError
from hanlink.report import report
from hanlink.scorecard import summary_markdown
from schemas.scorecard import DqAlerts

LENIENT = ReportConfig(green=60, amber=50)   # r1's dimensions all ≥ 70: nothing red


def set_score(db: Database, run_id: str, dimension: str, score: float, light: str) -> None:
    """Move one dimension figure of a stored run (history is data: the test writes the history it needs)."""
    db.execute("UPDATE dq_scorecard SET score = ?, light = ? WHERE run_id = ? AND level = 'dimension' "
               "AND dimension = ?", [score, light, run_id, dimension])


def runs(db: Database, *run_ids: str, cfg: ReportConfig = LENIENT,
         quality: QualityConfig | None = None) -> None:
    for run_id in run_ids:
        write_run(db, run_id)
        report(db, cfg, run_id, as_of=AS_OF, sources=SOURCES, quality=quality)


def test_a_first_run_raises_nothing_and_a_metric_turning_red_alerts(db: Database) -> None:
    runs(db, "r1")
    assert run_alerts(db, "r1").height == 0 and alert_exit_code(db, "r1") == 0
    # the same data reported with stricter lights: timeliness (70) and uniqueness (75) turn red
    runs(db, "r2", cfg=ReportConfig(green=95, amber=80))
    alerts = run_alerts(db, "r2").filter(level="dimension")
    assert sorted(alerts["metric"].to_list()) == ["timeliness", "uniqueness"]
    assert set(alerts["kind"]) == {"red"} and alerts["limit"].to_list() == [80.0, 80.0]
    assert alert_exit_code(db, "r2") == 6 == QualityAlertError.exit_code
    # still red in the next run: no new alert (it did not turn), unless asked for every red run
    runs(db, "r3", cfg=ReportConfig(green=95, amber=80))
    assert run_alerts(db, "r3").height == 0
    always = QualityConfig(alert_on_red="always", alert_levels=["dimension"])
    evaluate_alerts(db, "r3", always, ReportConfig(green=95, amber=80))
    assert sorted(run_alerts(db, "r3")["metric"]) == ["timeliness", "uniqueness"]


def test_a_drop_against_the_median_of_recent_runs(db: Database) -> None:
    runs(db, "r1", "r2", "r3", "r4")
    # completeness history 90, 70, 80 → median 80; r4 scores 48/58 = 82.76: no drop
    for run_id, score in (("r1", 90.0), ("r2", 70.0), ("r3", 80.0)):
        set_score(db, run_id, "completeness", score, "amber")
    quality = QualityConfig(alert_drop=5, history_runs=3)
    assert evaluate_alerts(db, "r4", quality, LENIENT).height == 0
    set_score(db, "r4", "completeness", 74.9, "amber")          # 5.1 points below the median
    alerts = evaluate_alerts(db, "r4", quality, LENIENT)
    assert alerts.select("kind", "metric", "baseline", "history").rows() == [
        ("drop", "completeness", 80.0, 3)]
    assert "5.1" in alerts["message_en"][0] and "80.0" in alerts["message_zh"][0]
    DqAlerts.validate(db.table("dq_alerts"), lazy=True)
    # only the last 2 runs (70, 80 → 75): 0.1 below, no alert
    assert evaluate_alerts(db, "r4", QualityConfig(alert_drop=5, history_runs=2), LENIENT).height == 0
    # per metric: a tighter limit for completeness alone
    tight = QualityConfig(history_runs=2, metrics={"completeness": {"alert_drop": 0.05}})
    assert evaluate_alerts(db, "r4", tight, LENIENT)["metric"].to_list() == ["completeness"]


def test_per_metric_lights_and_alerts_from_the_config(db: Database) -> None:
    cfg = config_from_dict({"quality": {"alert_on_red": "always", "metrics": {
        "validity:phone": {"green": 99, "amber": 90},           # 7/9 = 77.8 → red
        "consistency": {"amber": 95, "alert_on_red": "never"},  # 90.9 → red, but never alerts
    }}})
    runs(db, "r1", quality=cfg.quality)
    lights = dict(db.fetchall(
        "SELECT coalesce(field, dimension), light FROM dq_scorecard WHERE source IS NULL AND ("
        "(level = 'field' AND dimension = 'validity' AND field = 'phone') "
        "OR (level = 'dimension' AND dimension = 'consistency'))"))
    assert lights == {"phone": "red", "consistency": "red"}
    alerts = run_alerts(db, "r1")
    assert "validity:phone" in alerts["metric"].to_list()        # a field metric alerts once named
    assert "consistency" not in alerts["metric"].to_list()
    with pytest.raises(ConfigError, match="unknown metric 'validty'"):
        config_from_dict({"quality": {"metrics": {"validty": {"green": 90}}}})
    with pytest.raises(ConfigError, match="amber"):
        config_from_dict({"quality": {"metrics": {"overall": {"green": 80, "amber": 90}}}})


def test_alerts_reach_the_summary_the_exit_status_and_the_log(db: Database) -> None:
    runs(db, "r1")
    runs(db, "r2", cfg=ReportConfig(green=95, amber=80))
    assert "⚠ 质量告警" in summary_markdown(db, "r2")
    assert "quality alert(s)" in summary_markdown(db, "r2", "en")
    assert "质量告警**：无" in summary_markdown(db, "r1")
    error = alert_error(db, "r2")
    assert error is not None and error.exit_code == 6 and error.alerts == len(alert_lines(db, "r2"))
    assert alert_error(db, "r1") is None
    seen: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = seen.append  # type: ignore[method-assign]
    logger = logging.getLogger("hanlink.alerts")
    logger.addHandler(handler)
    try:
        assert notify_alerts(db, "r2", lang="en") == len(alert_lines(db, "r2"))
    finally:
        logger.removeHandler(handler)
    assert len(seen) == len(alert_lines(db, "r2")) and "r2: 🔴 red" in seen[0].getMessage()
    assert notify_alerts(db, "r1") == 0


def test_a_rerun_replaces_its_alerts(db: Database) -> None:
    runs(db, "r1")
    runs(db, "r2", cfg=ReportConfig(green=95, amber=80))
    n = run_alerts(db, "r2").height
    report(db, ReportConfig(green=95, amber=80), "r2", as_of=date(2026, 6, 30), sources=SOURCES)
    assert run_alerts(db, "r2").height == n
