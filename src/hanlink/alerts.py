"""Quality alerts: a scorecard metric that turned red, or fell sharply against its recent runs → dq_alerts.

Which metrics: those at [quality].alert_levels (default overall, dimension, source), plus any named under
[quality.metrics]. A 'red' alert fires when the metric turned red since its previous run
(alert_on_red = 'turned', the default; 'always' alerts every red run, 'never' not at all); a 'drop' alert
fires when it is more than alert_drop points below the median of the metric's last history_runs runs
(earlier run ids). Each run's alerts replace that run's rows in dq_alerts. `alert_exit_code` gives
`hanlink run` its status (6), and `notify_alerts` logs at error level and emits a Prefect event.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import polars as pl

from hanlink import tables as T
from hanlink.config import QualityConfig, ReportConfig
from hanlink.db import Database
from hanlink.errors import QualityAlertError
from hanlink.report import DIMENSIONS, metric_key, row_order, thresholds

DQ_ALERTS = "dq_alerts"
EVENT = "hanlink.quality.alert"
KEY = ["level", "source", "field", "rule_id", "dimension"]
ALERTS_SCHEMA: dict[str, Any] = {
    "run_id": pl.Utf8,
    "as_of": pl.Date,
    "kind": pl.Utf8,
    "metric": pl.Utf8,
    "level": pl.Utf8,
    "source": pl.Utf8,
    "field": pl.Utf8,
    "rule_id": pl.Utf8,
    "dimension": pl.Utf8,
    "gbt_indicator": pl.Utf8,
    "score": pl.Float64,
    "baseline": pl.Float64,
    "history": pl.Int64,
    "limit": pl.Float64,
    "message_zh": pl.Utf8,
    "message_en": pl.Utf8,
}


def _history(db: Database, run_id: str, runs: int) -> pl.DataFrame:
    """Median score and number of runs of every metric over its last `runs` runs before `run_id`, and
    its light in the run just before."""
    return db.query(
        f"""
        SELECT level, source, field, rule_id, dimension, median(score) AS baseline, count(*) AS history,
               min(light) FILTER (WHERE k = 1) AS previous_light
        FROM (SELECT *, row_number() OVER (PARTITION BY level, source, field, rule_id, dimension
                                           ORDER BY run_id DESC) AS k
              FROM {T.DQ_SCORECARD} WHERE run_id < ? AND score IS NOT NULL)
        WHERE k <= ? GROUP BY ALL""",
        [run_id, runs],
    )


def _label(row: dict[str, Any], lang: Literal["zh", "en"]) -> str:
    """'有效性（规范性）· 字段 phone · 来源 crm' / 'Validity (规范性) · field phone · source crm'."""
    if row["level"] == "overall":
        name = "总分" if lang == "zh" else "Overall score"
    elif row["level"] == "rule":
        name = ("规则 " if lang == "zh" else "rule ") + str(row["rule_id"])
    else:
        d = DIMENSIONS[row["dimension"]]
        name = f"{d.name_zh}（{d.gbt_indicator}）" if lang == "zh" else f"{d.name_en} ({d.gbt_indicator})"
        if row["level"] == "field":
            name += (" · 字段 " if lang == "zh" else " · field ") + str(row["field"])
    if row["source"]:
        name += (" · 来源 " if lang == "zh" else " · source ") + str(row["source"])
    return name


def _messages(kind: str, row: dict[str, Any], limit: float) -> tuple[str, str]:
    zh, en = _label(row, "zh"), _label(row, "en")
    if kind == "red":
        return (
            f"🔴 红灯：{zh} 得分 {row['score']:.1f}，低于黄灯线 {limit:g}",
            f"🔴 red: {en} scored {row['score']:.1f}, below the amber line {limit:g}",
        )
    drop = row["baseline"] - row["score"]
    return (
        f"📉 骤降：{zh} 得分 {row['score']:.1f}，比近 {row['history']} 次运行中位数 {row['baseline']:.1f} "
        f"低 {drop:.1f} 分（阈值 {limit:g}）",
        f"📉 drop: {en} scored {row['score']:.1f}, {drop:.1f} points below the median "
        f"{row['baseline']:.1f} of its last {row['history']} runs (limit {limit:g})",
    )


def evaluate_alerts(
    db: Database, run_id: str, quality: QualityConfig, cfg: ReportConfig | None = None
) -> pl.DataFrame:
    """Compare the run's scorecard with its lights and history; write and return the run's dq_alerts rows.

    Reads dq_scorecard (the run must be reported first; report() calls this). `cfg` gives the default
    lights the run was lit with. Deterministic: alerts come out in scorecard order.
    """
    cfg = cfg or ReportConfig()
    card = db.query(f"SELECT * FROM {T.DQ_SCORECARD} WHERE run_id = ?", [run_id])
    hist = _history(db, run_id, quality.history_runs)
    rows = card.join(hist, on=KEY, how="left", nulls_equal=True).to_dicts() if card.height else []
    out: list[dict[str, Any]] = []
    for row in sorted(rows, key=row_order):
        key = metric_key(row["level"], row["dimension"], row["field"], row["rule_id"])
        own = quality.metrics.get(key)
        if row["level"] not in quality.alert_levels and own is None:
            continue
        on_red = own.alert_on_red if own and own.alert_on_red is not None else quality.alert_on_red
        drop = own.alert_drop if own and own.alert_drop is not None else quality.alert_drop
        found: list[tuple[str, float]] = []
        turned = row["previous_light"] is not None and row["previous_light"] != "red"
        if row["light"] == "red" and (on_red == "always" or (on_red == "turned" and turned)):
            found.append(("red", thresholds(quality, cfg, key, row["dimension"])[1]))
        if row["baseline"] is not None and row["baseline"] - row["score"] > drop:
            found.append(("drop", drop))
        for kind, limit in found:
            zh, en = _messages(kind, row, limit)
            out.append(
                {
                    "run_id": run_id,
                    "as_of": row["as_of"],
                    "kind": kind,
                    "metric": key,
                    **{k: row[k] for k in (*KEY, "gbt_indicator", "score", "baseline", "history")},
                    "limit": float(limit),
                    "message_zh": zh,
                    "message_en": en,
                }
            )
    frame = pl.DataFrame(out, schema=ALERTS_SCHEMA)
    if db.has_table(DQ_ALERTS):
        db.execute(f"DELETE FROM {DQ_ALERTS} WHERE run_id = ?", [run_id])
    db.write(DQ_ALERTS, frame, mode="append")
    return frame


def run_alerts(db: Database, run_id: str) -> pl.DataFrame:
    """The alerts of a past run (empty when none, or when the run predates alerts)."""
    if not db.has_table(DQ_ALERTS):
        return pl.DataFrame(schema=ALERTS_SCHEMA)
    return db.query(f"SELECT * FROM {DQ_ALERTS} WHERE run_id = ? ORDER BY rowid", [run_id])


def alert_lines(db: Database, run_id: str, lang: Literal["zh", "en"] = "zh") -> list[str]:
    """One readable line per alert of the run, in the run summary's language."""
    return run_alerts(db, run_id)["message_en" if lang == "en" else "message_zh"].to_list()


def alert_exit_code(db: Database, run_id: str) -> int:
    """0 when the run raised no alert, else QualityAlertError.exit_code (6): what `hanlink run` exits with."""
    return QualityAlertError.exit_code if run_alerts(db, run_id).height else 0


def alert_error(db: Database, run_id: str) -> QualityAlertError | None:
    """The error to report (and exit 6 with) when the run has alerts; None when it has none."""
    n = run_alerts(db, run_id).height
    if not n:
        return None
    return QualityAlertError(f"{n} quality alert(s) 质量告警 {n} 项", run_id=run_id, alerts=n)


def notify_alerts(db: Database, run_id: str, *, lang: Literal["zh", "en"] = "zh") -> int:
    """Say so where stewards look: each alert logged at ERROR (the Prefect run logger inside a flow or
    task run, else the 'hanlink.alerts' logger) and, inside a Prefect run, one event `hanlink.quality.alert`
    (payload: run_id, count, lines) for automations to notify on. Outside Prefect no event is sent (it
    would start a temporary server just for that). Returns the number of alerts."""
    from prefect.context import FlowRunContext, TaskRunContext

    lines = alert_lines(db, run_id, lang)
    if not lines:
        return 0
    in_prefect = FlowRunContext.get() is not None or TaskRunContext.get() is not None
    logger: Any = logging.getLogger("hanlink.alerts")
    if in_prefect:
        from prefect import get_run_logger

        logger = get_run_logger()
    for line in lines:
        logger.error("%s: %s", run_id, line)
    if in_prefect:
        from prefect.events import emit_event

        emit_event(
            event=EVENT,
            resource={
                "prefect.resource.id": f"hanlink.run.{run_id}",
                "prefect.resource.name": f"hanlink run {run_id}",
            },
            payload={"run_id": run_id, "alerts": len(lines), "lines": lines},
        )
    return len(lines)
