"""Reading a run's scorecard back: the scorecard.json document, the short run summary, the latest run."""

from __future__ import annotations

from typing import Any, Literal

from hanlink import tables as T
from hanlink.alerts import alert_lines
from hanlink.config import ReportConfig
from hanlink.db import Database
from hanlink.errors import HanlinkError
from hanlink.report import DIMENSIONS, RUN_SUMMARY, WEIGHTS, row_order


def latest_run_id(db: Database) -> str:
    """The most recent run with a scorecard (run ids sort by time, see pipeline.new_run_id)."""
    run = db.scalar(f"SELECT max(run_id) FROM {T.DQ_SCORECARD}") if db.has_table(T.DQ_SCORECARD) else None
    if run is None:
        raise HanlinkError("no run has a scorecard yet 还没有任何运行的质量评分",
                           hint="run `hanlink run` (or `hanlink dedupe FILE`) first")
    return str(run)


def _figure(row: dict[str, Any]) -> dict[str, Any]:
    score = None if row["score"] is None else round(row["score"], 2)
    out: dict[str, Any] = {"score": score, "light": row["light"]}
    if row["denominator"] is not None:
        out.update(numerator=row["numerator"], denominator=row["denominator"])
    return out


def _rule_figure(row: dict[str, Any]) -> dict[str, Any]:
    return {"rule_id": row["rule_id"], "field": row["field"], "dimension": row["dimension"],
            "gbt_indicator": row["gbt_indicator"], **_figure(row),
            "failed": row["denominator"] - row["numerator"]}


def _scope(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """overall / dimensions / fields / rules of one scope (the whole run, or one source)."""
    out: dict[str, Any] = {"overall": {"score": None, "light": None}, "dimensions": {}, "fields": {},
                           "rules": []}
    for r in rows:
        if r["level"] == "overall":
            out["overall"] = _figure(r)
        elif r["level"] in ("dimension", "source"):
            out["dimensions"][r["dimension"]] = _figure(r)
        elif r["level"] == "field":
            out["fields"].setdefault(r["field"], {})[r["dimension"]] = _figure(r)
        elif r["level"] == "rule":
            out["rules"].append(_rule_figure(r))
    return out


def scorecard_json(db: Database, run_id: str) -> dict[str, Any]:
    """The scorecard of `run_id` as one JSON-ready document (what scorecard.json holds; docs/scorecard.md).

    {run_id, as_of, thresholds, weights, dimension_names, overall, dimensions, fields, rules, sources,
    conservation, timeliness}: scores are 0–100 rounded to 2 places with their traffic light and
    numerator/denominator;
    `sources` repeats overall/dimensions/fields/rules per source.
    """
    rows = (db.query(f"SELECT * FROM {T.DQ_SCORECARD} WHERE run_id = ?", [run_id]).to_dicts()
            if db.has_table(T.DQ_SCORECARD) else [])
    summary = (db.fetchall(f"SELECT metric, value, as_of FROM {RUN_SUMMARY} WHERE run_id = ?", [run_id])
               if db.has_table(RUN_SUMMARY) else [])
    if not rows and not summary:
        raise HanlinkError(f"no scorecard for run {run_id!r} 该运行没有质量评分",
                           hint="run the report stage for it, or pick a run listed in dq_scorecard")
    # A run with no records at all (a header-only file) has counts but no scores: still a valid scorecard.
    rows.sort(key=row_order)
    metrics = {m: v for m, v, _ in summary}
    as_of = rows[0]["as_of"] if rows else summary[0][2]
    defaults = ReportConfig()
    conservation: dict[str, Any] = {k: int(v) for k, v in metrics.items()
                                    if not k.startswith(("threshold_", "timely_days", "update_age"))}
    timeliness = {k: v for k, v in metrics.items() if k.startswith(("timely_days", "update_age"))}
    if "balanced" in conservation:
        conservation["balanced"] = bool(conservation["balanced"])
    sources = sorted({r["source"] for r in rows if r["source"] is not None})
    whole = _scope([r for r in rows if r["source"] is None])
    return {
        "run_id": run_id,
        "as_of": as_of.isoformat(),
        "thresholds": {"green": float(metrics.get("threshold_green", defaults.green)),
                       "amber": float(metrics.get("threshold_amber", defaults.amber))},
        "weights": dict(WEIGHTS),
        "dimension_names": {k: {"zh": d.name_zh, "en": d.name_en, "gbt_indicator": d.gbt_indicator}
                            for k, d in DIMENSIONS.items()},
        **whole,
        "sources": {s: _scope([r for r in rows if r["source"] == s]) for s in sources},
        "conservation": conservation,
        "timeliness": timeliness,
    }


_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "### hanlink 数据质量摘要 · 运行 {run_id}（基准日 {as_of}）",
        "overall": "**总分 {score} {light}**（绿 ≥ {green:g}，黄 ≥ {amber:g}）",
        "head": "| 维度 | GB/T 36344 指标 | 得分 | 状态 |",
        "sources": "**各来源**：{per}",
        "rows": "**行数**：读入 {records_in:,} 行，隔离 {quarantined:,} 行，入库 {accepted:,} 行 → "
                "实体 {entities:,} 个，黄金记录 {golden:,} 条，对照表 {crosswalk:,} 行；行数守恒 {ok}",
        "conflicts": "**待核查**：{conflicts:,} 个实体含两个不同的有效身份证号（golden_conflicts）",
        "worst": "**最需关注的规则**：",
        "rule": "- `{rule_id}`（{field}，{dim}）：通过率 {score:.1f}%，{failed:,} 条未通过",
        "green": "🟢 绿", "amber": "🟡 黄", "red": "🔴 红",
        "alerts": "**⚠ 质量告警 {n} 项**（dq_alerts）：", "no_alerts": "**质量告警**：无",
    },
    "en": {
        "title": "### hanlink data quality · run {run_id} (as of {as_of})",
        "overall": "**Overall {score} {light}** (green ≥ {green:g}, amber ≥ {amber:g})",
        "head": "| Dimension | GB/T 36344 indicator | Score | Light |",
        "sources": "**Sources**: {per}",
        "rows": "**Rows**: {records_in:,} read, {quarantined:,} quarantined, {accepted:,} accepted → "
                "{entities:,} entities, {golden:,} golden records, {crosswalk:,} crosswalk rows; "
                "rows conserved {ok}",
        "conflicts": "**To check**: {conflicts:,} entities hold two different valid ID numbers "
                     "(golden_conflicts)",
        "worst": "**Rules to look at first**:",
        "rule": "- `{rule_id}` ({field}, {dim}): {score:.1f}% pass, {failed:,} failed",
        "green": "🟢 green", "amber": "🟡 amber", "red": "🔴 red",
        "alerts": "**⚠ {n} quality alert(s)** (dq_alerts):", "no_alerts": "**Quality alerts**: none",
    },
}
_MAX_ALERT_LINES = 5
_ROW_COUNTS = ("records_in", "quarantined", "accepted", "entities", "golden", "crosswalk")


def _score(fig: dict[str, Any]) -> str:
    return "—" if fig.get("score") is None else f"{fig['score']:.1f}"


def summary_markdown(db: Database, run_id: str, lang: Literal["zh", "en"] = "zh") -> str:
    """A short Markdown summary of a run's scorecard (Chinese by default, English with lang='en')."""
    card = scorecard_json(db, run_id)
    text = _TEXT["en" if lang == "en" else "zh"]
    lang_key = "en" if lang == "en" else "zh"

    def lamp(fig: dict[str, Any]) -> str:
        return text.get(fig.get("light") or "", "—")

    lines = [text["title"].format(run_id=run_id, as_of=card["as_of"]), "",
             text["overall"].format(score=_score(card["overall"]), light=lamp(card["overall"]),
                                    **card["thresholds"]), "",
             text["head"], "|---|---|---:|---|"]
    for key, names in card["dimension_names"].items():
        if key in card["dimensions"]:
            fig = card["dimensions"][key]
            lines.append(f"| {names[lang_key]} | {names['gbt_indicator']} | {_score(fig)} | {lamp(fig)} |")
    if card["sources"]:
        per = " · ".join(f"{s} {_score(v['overall'])} {lamp(v['overall']).split()[0]}"
                         for s, v in card["sources"].items())
        lines += ["", text["sources"].format(per=per)]
    counts = card["conservation"]
    if counts:
        lines += ["", text["rows"].format(ok="✔" if counts.get("balanced") else "✘",
                                          **{k: counts.get(k, 0) for k in _ROW_COUNTS})]
        if counts.get("conflicts"):
            lines.append(text["conflicts"].format(conflicts=counts["conflicts"]))
    worst = sorted((r for r in card["rules"] if r["failed"] > 0), key=lambda r: (r["score"], r["rule_id"]))
    worst = worst[:3]
    if worst:
        lines += ["", text["worst"]]
        lines += [text["rule"].format(rule_id=r["rule_id"], field=r["field"] or "—", score=r["score"],
                                      failed=r["failed"],
                                      dim=card["dimension_names"][r["dimension"]][lang_key])
                  for r in worst]
    alerts = alert_lines(db, run_id, lang_key)  # type: ignore[arg-type]
    lines += ["", text["alerts"].format(n=len(alerts)) if alerts else text["no_alerts"]]
    lines += [f"- {a}" for a in alerts[:_MAX_ALERT_LINES]]
    if len(alerts) > _MAX_ALERT_LINES:
        lines.append(f"- … +{len(alerts) - _MAX_ALERT_LINES}")
    return "\n".join(lines) + "\n"
