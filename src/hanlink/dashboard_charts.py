"""The dashboard's charts (plotly figures, one per language) and its bilingual text helper."""

from __future__ import annotations

from html import escape
from typing import Any, Literal

import plotly.graph_objects as go
import polars as pl

from hanlink.report import DIMENSIONS
from hanlink.rules import CATALOGUE

Lang = Literal["zh", "en"]
LIGHT_COLOURS: dict[str | None, str] = {
    "green": "#1a9850",
    "amber": "#f4a11d",
    "red": "#d73027",
    None: "#888888",
}
FONT = '"Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'


def t(zh: str, en: str) -> str:
    """Both languages of a piece of text; the page's stylesheet shows one of them."""
    return f'<span class="zh">{escape(zh)}</span><span class="en">{escape(en)}</span>'


def fmt(v: float | None, digits: int = 1) -> str:
    """A score or count for display: 1 decimal, thousands separated, — when missing."""
    return "—" if v is None else f"{v:,.{digits}f}"


def _layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(
        template="none",  # plotly's default template adds ≈ 10 kB of styling to every chart
        height=height,
        margin={"l": 60, "r": 20, "t": 40, "b": 50},
        font={"family": FONT},
        paper_bgcolor="white",
        plot_bgcolor="white",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
    )
    return fig


def trend_figure(trend: pl.DataFrame, card: dict[str, Any], lang: Lang) -> go.Figure:
    fig = go.Figure()
    green, amber = card["thresholds"]["green"], card["thresholds"]["amber"]
    fig.add_hrect(y0=green, y1=100, fillcolor=LIGHT_COLOURS["green"], opacity=0.08, line_width=0)
    fig.add_hrect(y0=amber, y1=green, fillcolor=LIGHT_COLOURS["amber"], opacity=0.08, line_width=0)
    for metric in ("overall", *DIMENSIONS):
        rows = trend.filter(pl.col("metric") == metric)
        if not rows.height:
            continue
        name = (
            ("总分" if lang == "zh" else "Overall")
            if metric == "overall"
            else DIMENSIONS[metric].name_zh
            if lang == "zh"
            else DIMENSIONS[metric].name_en
        )
        main = metric == "overall"
        fig.add_trace(
            go.Scatter(
                x=rows["run_id"].to_list(),
                y=rows["score"].round(2).to_list(),
                name=name,
                mode="lines+markers",
                line={"width": 4 if main else 1.5, "dash": None if main else "dot"},
                marker={"size": 10 if main else 5},
                visible=True if main else "legendonly",
            )
        )
    fig.update_xaxes(type="category", title="运行" if lang == "zh" else "Run")
    fig.update_yaxes(
        range=[max(0, min([amber - 10, *trend["score"].to_list()]) - 2), 100.5],
        title="得分" if lang == "zh" else "Score",
    )
    return _layout(fig, 340)


def heatmap(card: dict[str, Any], lang: Lang) -> go.Figure | None:
    sources = list(card["sources"])
    dims = [d for d in DIMENSIONS if any(d in card["sources"][s]["dimensions"] for s in sources)]
    if not sources or not dims:
        return None
    z = [[card["sources"][s]["dimensions"].get(d, {}).get("score") for d in dims] for s in sources]
    labels = [
        f"{DIMENSIONS[d].name_zh}<br>{DIMENSIONS[d].gbt_indicator}"
        if lang == "zh"
        else f"{DIMENSIONS[d].name_en}<br>{DIMENSIONS[d].gbt_indicator}"
        for d in dims
    ]
    green, amber = card["thresholds"]["green"], card["thresholds"]["amber"]
    scale = [
        [0, LIGHT_COLOURS["red"]],
        [amber / 100, "#fdae61"],
        [green / 100, "#fee08b"],
        [1, LIGHT_COLOURS["green"]],
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=labels,
            y=sources,
            zmin=0,
            zmax=100,
            colorscale=scale,
            text=[[fmt(v) for v in row] for row in z],
            texttemplate="%{text}",
            hovertemplate="%{y} · %{x}: %{z:.1f}<extra></extra>",
            xgap=3,
            ygap=3,
        )
    )
    fig.update_yaxes(automargin=True)
    return _layout(fig, 90 + 46 * len(sources))


def problems_figure(problems: list[dict[str, Any]], lang: Lang) -> go.Figure | None:
    if not problems:
        return None
    rows = list(reversed(problems))
    fig = go.Figure(
        go.Bar(
            x=[r["failed"] for r in rows],
            y=[r["rule_id"] for r in rows],
            orientation="h",
            marker_color=[LIGHT_COLOURS[r["light"]] for r in rows],
            hovertext=[
                CATALOGUE[r["rule_id"]].message_zh
                if lang == "zh" and r["rule_id"] in CATALOGUE
                else CATALOGUE[r["rule_id"]].message_en
                if r["rule_id"] in CATALOGUE
                else r["rule_id"]
                for r in rows
            ],
        )
    )
    fig.update_xaxes(
        title="未通过记录数" if lang == "zh" else "Records failing", rangemode="tozero", tickformat=",d"
    )
    fig.update_yaxes(automargin=True)
    return _layout(fig, 80 + 28 * len(rows))


def chart(build: Any, name: str, *args: Any) -> str:
    """Two renderings of a chart, one per language; the language switch shows one and resizes it."""
    out = []
    for lang in ("zh", "en"):
        fig = build(*args, lang)
        if fig is None:
            return f'<p class="muted">{t("无数据", "No data")}</p>'
        out.append(
            f'<div class="{lang} chart">'
            + fig.to_html(
                full_html=False,
                include_plotlyjs=False,
                div_id=f"{name}-{lang}",
                config={"displaylogo": False, "responsive": True},
            )
            + "</div>"
        )
    return "".join(out)
