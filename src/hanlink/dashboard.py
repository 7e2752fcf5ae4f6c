"""The managers' dashboard: one self-contained HTML page per run (plotly.js inline, no CDN or server).

Chinese first with an English switch; reads only what the database keeps across runs (dq_scorecard,
dq_run_summary, dq_alerts), plus the run's dq_findings / quarantine for masked examples when still there,
so `hanlink report --run-id` can rebuild the page of any past run. Layout, styles: templates/dashboard.html.
"""

from __future__ import annotations

import os
import re
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any

import polars as pl
from plotly.offline import get_plotlyjs

from hanlink import tables as T
from hanlink.alerts import run_alerts
from hanlink.dashboard_charts import (
    Lang,
    chart,
    fmt,
    heatmap,
    problems_figure,
    t,
    trend_figure,
)
from hanlink.db import Database
from hanlink.mask import mask_field
from hanlink.report import DIMENSIONS, MEASURED_FIELDS
from hanlink.rules import CATALOGUE
from hanlink.scorecard import scorecard_json

TREND_RUNS = 30  # runs shown in the trend chart
TOP_PROBLEMS = 10
CONSERVED_EN = "Rows conserved: every input row is accepted or quarantined"
WEIGHTS_ZH = "总分 = 各维度得分加权平均（权重：{}）；绿 ≥ "
WEIGHTS_EN = "Overall = weighted mean of the dimensions (weights: {}); green ≥ "


def _delta(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return '<span class="muted">—</span>'
    d = now - before
    cls = "up" if d > 0.05 else "down" if d < -0.05 else "flat"
    return f'<span class="{cls}">{"▲" if d > 0.05 else "▼" if d < -0.05 else "="} {d:+.1f}</span>'


def _lamp(light: str | None) -> str:
    names = {"green": ("绿", "green"), "amber": ("黄", "amber"), "red": ("红", "red")}
    zh, en = names.get(light or "", ("—", "—"))
    return f'<span class="lamp {light or "none"}"></span>{t(zh, en)}'


# -- data -----------------------------------------------------------------------------------------------
def _previous_run(db: Database, run_id: str) -> str | None:
    run = db.scalar(f"SELECT max(run_id) FROM {T.DQ_SCORECARD} WHERE run_id < ?", [run_id])
    return None if run is None else str(run)


def _trend(db: Database, run_id: str) -> pl.DataFrame:
    """Overall and dimension scores of the last TREND_RUNS runs up to `run_id` (long form)."""
    return db.query(
        f"""
        SELECT run_id, coalesce(dimension, 'overall') AS metric, score FROM {T.DQ_SCORECARD}
        WHERE source IS NULL AND level IN ('overall', 'dimension') AND run_id IN (
            SELECT DISTINCT run_id FROM {T.DQ_SCORECARD} WHERE run_id <= ? ORDER BY run_id DESC LIMIT ?)
        ORDER BY run_id""",
        [run_id, TREND_RUNS],
    )


def _examples(db: Database, run_id: str, rule_ids: list[str]) -> dict[str, str]:
    """A masked example per rule (mask.py): the finding's masked value, else the record's field value
    masked here, else its masked name; for rows quarantined at ingest, the source row. Empty when the
    run's findings are no longer kept (the tables hold the latest run)."""
    out: dict[str, str] = {}
    if rule_ids and db.has_table(T.DQ_FINDINGS) and db.has_table(T.STD_STANDARDIZED):
        raw = " ".join(f"WHEN {_sql_text(f)} THEN s.{f}_raw" for f in MEASURED_FIELDS)
        found = db.query(
            f"""
            SELECT f.rule_id, arg_min(f.field, f.rid) AS field, arg_min(f.value_masked, f.rid) AS value,
                   arg_min(CAST(CASE f.field {raw} END AS VARCHAR), f.rid) AS raw,
                   arg_min(s.name_raw, f.rid) AS name, arg_min(f.source || ':' || f.row_number, f.rid) AS row
            FROM {T.DQ_FINDINGS} f LEFT JOIN {T.STD_STANDARDIZED} s ON s.rid = f.rid AND s.run_id = f.run_id
            WHERE f.run_id = ? AND f.rule_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1 ORDER BY 1""",
            [run_id, rule_ids],
        )
        masked = pl.lit(None, dtype=pl.String)
        for field in found["field"].drop_nulls().unique().sort().to_list():
            masked = (
                pl.when(pl.col("field") == field).then(mask_field(field, pl.col("raw"))).otherwise(masked)
            )
        found = found.with_columns(masked=masked, name=mask_field("name", pl.col("name")))
        for r in found.iter_rows(named=True):
            shown = r["value"] or r["masked"] or r["name"]
            out[r["rule_id"]] = (
                " ".join(x for x in (shown, f"({r['row']})" if r["row"] else None) if x) or "—"
            )
    if db.has_table(T.QUARANTINE):
        for rule_id, row in db.fetchall(
            f"""
                SELECT rule_id, min(row) FROM (SELECT unnest(string_split(rule_ids, ';')) AS rule_id,
                       source || ':' || row_number AS row FROM {T.QUARANTINE}
                       WHERE run_id = ? AND stage = 'ingest')
                GROUP BY 1""",
            [run_id],
        ):
            out.setdefault(rule_id, f"({row})")
    return out


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def dashboard_data(db: Database, run_id: str) -> dict[str, Any]:
    """Everything the page shows, as plain data: this run's scorecard, the previous run's, the trend,
    top problems with masked examples, alerts and the row counts."""
    card = scorecard_json(db, run_id)
    prev_id = _previous_run(db, run_id)
    prev = scorecard_json(db, prev_id) if prev_id else None
    problems = sorted(
        (r for r in card["rules"] if r["failed"] > 0), key=lambda r: (-r["failed"], r["rule_id"])
    )[:TOP_PROBLEMS]
    examples = _examples(db, run_id, [r["rule_id"] for r in problems])
    for r in problems:
        r["example"] = examples.get(r["rule_id"])
        r["before"] = next(
            (p["failed"] for p in (prev or {}).get("rules", []) if p["rule_id"] == r["rule_id"]), None
        )
    return {
        "card": card,
        "previous": prev,
        "trend": _trend(db, run_id),
        "problems": problems,
        "alerts": run_alerts(db, run_id).to_dicts(),
    }


# -- page -----------------------------------------------------------------------------------------------
def _dim_name(d: str) -> str:
    return t(DIMENSIONS[d].name_zh, DIMENSIONS[d].name_en)


def _kpis(card: dict[str, Any], prev: dict[str, Any] | None, n_alerts: int) -> str:
    c, pc = card["conservation"], (prev or {}).get("conservation", {})
    overall = card["overall"]
    dups = c.get("accepted", 0) - c.get("entities", c.get("accepted", 0))
    pdups = pc.get("accepted", 0) - pc.get("entities", pc.get("accepted", 0)) if pc else None
    quarantined_share = 100 * c.get("quarantined", 0) / c["records_in"] if c.get("records_in") else None

    def kpi(label: str, value: str, sub: str, cls: str = "") -> str:
        return (
            f'<div class="kpi {cls}"><div class="label">{label}</div><div class="value">{value}</div>'
            f'<div class="sub">{sub}</div></div>'
        )

    def count_delta(key: str) -> str:
        return _delta(c.get(key), pc.get(key)) if pc else ""

    return (
        '<section class="kpis">'
        + "".join(
            [
                kpi(
                    t("总分", "Overall score"),
                    f'<span id="overall-score">{fmt(overall["score"])}</span>',
                    _lamp(overall["light"])
                    + " "
                    + _delta(overall["score"], (prev or {}).get("overall", {}).get("score")),
                    f"big {overall['light'] or ''}",
                ),
                kpi(t("读入记录", "Records in"), f"{c.get('records_in', 0):,}", count_delta("records_in")),
                kpi(
                    t("隔离区", "Quarantined"),
                    f"{c.get('quarantined', 0):,}",
                    f"{fmt(quarantined_share)}% " + count_delta("quarantined"),
                ),
                kpi(
                    t("发现重复", "Duplicates found"),
                    f"{dups:,}",
                    t("条记录并入其他记录", "records merged into others")
                    + " "
                    + (_delta(dups, pdups) if pc else ""),
                ),
                kpi(t("黄金记录", "Golden records"), f"{c.get('golden', 0):,}", count_delta("golden")),
                kpi(
                    t("质量告警", "Quality alerts"),
                    f"{n_alerts}",
                    t("见下方", "see below") if n_alerts else "",
                    "alert" if n_alerts else "",
                ),
            ]
        )
        + "</section>"
    )


def _alerts(alerts: list[dict[str, Any]]) -> str:
    if not alerts:
        return f'<p class="ok">✔ {t("本次运行无质量告警", "No quality alerts in this run")}</p>'
    items = "".join(f"<li>{t(a['message_zh'], a['message_en'])}</li>" for a in alerts)
    return f'<ul class="alerts">{items}</ul>'


def _dimension_table(card: dict[str, Any], prev: dict[str, Any] | None) -> str:
    rows = []
    for d, dim in DIMENSIONS.items():
        fig = card["dimensions"].get(d)
        if fig is None:
            continue
        before = (prev or {}).get("dimensions", {}).get(d, {}).get("score")
        rows.append(
            f'<tr><td class="dim">{_dim_name(d)}</td><td><code>{d}</code></td><td>{dim.gbt_indicator}</td>'
            f'<td class="num">{dim.weight:.2f}</td><td class="num">{fmt(fig["score"])}</td>'
            f"<td>{_lamp(fig['light'])}</td>"
            f'<td class="num">{fig.get("numerator", 0):,} / {fig.get("denominator", 0):,}</td>'
            f'<td class="num">{_delta(fig["score"], before)}</td></tr>'
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            t("维度", "Dimension"),
            "DAMA",
            t("国标 GB/T 36344 指标", "GB/T 36344 indicator"),
            t("权重", "Weight"),
            t("得分", "Score"),
            t("状态", "Light"),
            t("通过 / 总数", "Passed / total"),
            t("较上次", "vs last run"),
        )
    )
    return f'<table class="dimensions"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _source_table(card: dict[str, Any]) -> str:
    dims = [d for d in DIMENSIONS if any(d in s["dimensions"] for s in card["sources"].values())]
    head = f"<th>{t('来源', 'Source')}</th><th>{t('总分', 'Overall')}</th>" + "".join(
        f"<th>{_dim_name(d)}</th>" for d in dims
    )
    body = "".join(
        f"<tr><td><b>{escape(s)}</b></td>"
        f'<td class="num {v["overall"]["light"]}">{fmt(v["overall"]["score"])}</td>'
        + "".join(
            f'<td class="num {v["dimensions"].get(d, {}).get("light") or ""}">'
            f"{fmt(v['dimensions'].get(d, {}).get('score'))}</td>"
            for d in dims
        )
        + "</tr>"
        for s, v in card["sources"].items()
    )
    return f'<table class="sources"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _problem_table(problems: list[dict[str, Any]]) -> str:
    if not problems:
        return f'<p class="ok">✔ {t("没有未通过的规则", "No rule failed")}</p>'
    rows = []
    for r in problems:
        rule = CATALOGUE.get(r["rule_id"])
        msg = t(rule.message_zh, rule.message_en) if rule else ""
        rows.append(
            f'<tr><td><code>{escape(r["rule_id"])}</code><div class="msg">{msg}</div></td>'
            f'<td>{escape(r["field"] or "—")}</td><td class="nowrap">{_dim_name(r["dimension"])}</td>'
            f'<td class="nowrap">{escape(r["gbt_indicator"] or "")}</td>'
            f'<td class="num"><b>{r["failed"]:,}</b></td>'
            f'<td class="num">{_delta(r["failed"], r["before"]) if r["before"] is not None else "—"}</td>'
            f'<td class="num">{fmt(r["score"])}%</td>'
            f'<td class="example">{escape(r["example"] or "—")}</td></tr>'
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            t("规则", "Rule"),
            t("字段", "Field"),
            t("维度", "Dimension"),
            "GB/T",
            t("未通过", "Failing"),
            t("较上次", "vs last run"),
            t("通过率", "Pass rate"),
            t("示例（已脱敏）", "Example (masked)"),
        )
    )
    return f'<table class="problems"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _changes(card: dict[str, Any], prev: dict[str, Any] | None) -> str:
    if prev is None:
        first = t("这是第一次运行，没有可比较的上次运行。", "First run: nothing to compare with.")
        return f'<p class="muted">{first}</p>'
    items = [
        f"{t('总分', 'Overall score')}: {fmt(prev['overall']['score'])} → {fmt(card['overall']['score'])} "
        f"{_delta(card['overall']['score'], prev['overall']['score'])}"
    ]
    for d in DIMENSIONS:
        now, before = card["dimensions"].get(d, {}).get("score"), prev["dimensions"].get(d, {}).get("score")
        if now is not None and before is not None and abs(now - before) >= 0.05:
            items.append(f"{_dim_name(d)}: {fmt(before)} → {fmt(now)} {_delta(now, before)}")
    for key, zh, en in (
        ("records_in", "读入记录", "Records in"),
        ("quarantined", "隔离", "Quarantined"),
        ("golden", "黄金记录", "Golden records"),
    ):
        a, b = prev["conservation"].get(key), card["conservation"].get(key)
        if a is not None and b is not None and a != b:
            items.append(f"{t(zh, en)}: {a:,} → {b:,} ({b - a:+,})")
    failing = {r["rule_id"] for r in card["rules"] if r["failed"]}
    before = {r["rule_id"] for r in prev["rules"] if r["failed"]}
    if failing - before:
        items.append(
            t("新出现的问题", "New problems")
            + ": "
            + ", ".join(f"<code>{escape(x)}</code>" for x in sorted(failing - before))
        )
    if before - failing:
        items.append(
            t("已解决的问题", "Resolved problems")
            + ": "
            + ", ".join(f"<code>{escape(x)}</code>" for x in sorted(before - failing))
        )
    return (
        f'<p class="muted">{t("对比上次运行", "Compared with run")} <code>{escape(prev["run_id"])}</code></p>'
        '<ul class="changes">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
    )


_COUNTS = (
    ("records_in", "读入记录（含读入时隔离）", "Records in (incl. unreadable)"),
    ("quarantined_ingest", "读入时隔离", "Quarantined at ingest"),
    ("standardized", "已标准化", "Standardized"),
    ("quarantined_validate", "校验时隔离", "Quarantined at validation"),
    ("accepted", "入库", "Accepted"),
    ("entities", "实体", "Entities"),
    ("golden", "黄金记录", "Golden records"),
    ("crosswalk", "对照表行数", "Crosswalk rows"),
)


def _conservation(card: dict[str, Any]) -> str:
    c = card["conservation"]
    rows = "".join(
        f'<tr><td>{t(zh, en)}</td><td class="num">{c[k]:,}</td></tr>' for k, zh, en in _COUNTS if k in c
    )
    ok = c.get("balanced")
    verdict = (
        f'<p class="ok">✔ {t("行数守恒：每条输入记录都已入库或隔离", CONSERVED_EN)}</p>'
        if ok
        else f'<p class="bad">✘ {t("行数不守恒", "Rows not conserved")}</p>'
    )
    return f'<table class="counts"><tbody>{rows}</tbody></table>{verdict}'


def _field_table(card: dict[str, Any]) -> str:
    dims = [d for d in DIMENSIONS if any(d in f for f in card["fields"].values())]
    head = f"<th>{t('字段', 'Field')}</th>" + "".join(f"<th>{_dim_name(d)}</th>" for d in dims)
    body = "".join(
        f"<tr><td><code>{escape(f)}</code></td>"
        + "".join(
            f'<td class="num {v.get(d, {}).get("light") or ""}">{fmt(v.get(d, {}).get("score"))}</td>'
            for d in dims
        )
        + "</tr>"
        for f, v in card["fields"].items()
    )
    return f'<table class="fields"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _section(zh: str, en: str, body: str, sid: str) -> str:
    return f'<section id="{sid}"><h2>{t(zh, en)}</h2>{body}</section>'


def render_html(data: dict[str, Any], *, lang: Lang = "zh") -> str:
    """The whole page as one HTML string (plotly.js, styles and script inline)."""
    card, prev = data["card"], data["previous"]
    weights = " · ".join(f"{DIMENSIONS[d].name_zh} {w:g}" for d, w in card["weights"].items())
    weights_en = " · ".join(f"{DIMENSIONS[d].name_en} {w:g}" for d, w in card["weights"].items())
    body = "".join(
        [
            _kpis(card, prev, len(data["alerts"])),
            _section("质量告警", "Quality alerts", _alerts(data["alerts"]), "alerts"),
            _section(
                "总分趋势",
                "Overall score over runs",
                chart(trend_figure, "trend", data["trend"], card),
                "trend",
            ),
            _section("各维度得分", "Score by dimension", _dimension_table(card, prev), "dimensions"),
            _section(
                "各来源 × 维度",
                "Each dimension by source",
                chart(heatmap, "heatmap", card) + _source_table(card),
                "sources",
            ),
            _section(
                "最需关注的问题",
                "Top problems",
                chart(problems_figure, "problems", data["problems"]) + _problem_table(data["problems"]),
                "problems",
            ),
            _section("与上次运行相比", "What changed since the last run", _changes(card, prev), "changes"),
            _section("行数守恒", "Row conservation", _conservation(card), "conservation"),
            _section("各字段得分", "Score by field", _field_table(card), "fields"),
            f"<footer>{t(WEIGHTS_ZH.format(weights), WEIGHTS_EN.format(weights_en))}"
            f"{card['thresholds']['green']:g}, {t('黄 ≥ ', 'amber ≥ ')}{card['thresholds']['amber']:g}. "
            f"{t('详见 docs/scorecard.md。', 'See docs/scorecard.md.')}</footer>",
        ]
    )
    template = files("hanlink").joinpath("templates/dashboard.html").read_text(encoding="utf-8")
    page = {
        "__LANG__": "zh-CN" if lang == "zh" else "en",
        "__RUN_ID__": escape(card["run_id"]),
        "__AS_OF__": escape(card["as_of"]),
        "__PREVIOUS__": escape(prev["run_id"]) if prev else "—",
        "__BODY__": body,
    }
    for key, value in page.items():
        template = template.replace(key, value)
    # plotly.js last: its own text must not be searched for our placeholders
    return template.replace("<!--PLOTLYJS-->", "<script>" + get_plotlyjs() + "</script>")


def _safe_name(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)


def write_dashboard(db: Database, run_id: str, out_dir: Path, *, lang: Lang = "zh") -> Path:
    """Write <out_dir>/dashboard/<run_id>.html (and latest.html when `run_id` is the newest run with a
    scorecard); returns the run's page. Works for any past run kept in dq_scorecard. `lang`: the language
    the page opens in (the reader can switch)."""
    html = render_html(dashboard_data(db, run_id), lang=lang)
    folder = out_dir / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_safe_name(run_id)}.html"
    newest = db.scalar(f"SELECT max(run_id) FROM {T.DQ_SCORECARD}") if db.has_table(T.DQ_SCORECARD) else None
    targets = [path] + ([folder / "latest.html"] if newest is None or run_id >= str(newest) else [])
    for target in targets:
        tmp = target.with_name(f".{target.name}.tmp")  # a reader never sees half a page
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, target)
    return path
