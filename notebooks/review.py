"""Analysts' review notebook (marimo): the latest run's review queue, one pair side by side, label it.

Run as an app:  marimo run notebooks/review.py      (edit: marimo edit notebooks/review.py)
Headless:       HANLINK_CONFIG=path/to/hanlink.toml marimo export html notebooks/review.py -o review.html
The project config comes from $HANLINK_CONFIG or the text field (default hanlink.toml). The role comes from
$HANLINK_ROLE, else the config's privacy.role (default analyst): analysts see masked values, stewards the
raw ones, managers are refused (aggregates only: see the dashboard). Labels are saved to review_labels
(audited) and applied by the next `hanlink run`. No pipeline logic lives here.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="hanlink review 人工审核")

with app.setup:
    import os

    import marimo as mo
    import polars as pl

    from hanlink import review as rv
    from hanlink.config import load_config
    from hanlink.errors import HanlinkError
    from hanlink.explain import explain_pair, mask_explanation
    from hanlink.pipeline import open_database
    from hanlink.privacy import audit
    from hanlink.privacy.roles import require, resolve_role

    LABEL_CHOICES = {"match 是同一客户": "match", "not a match 不是同一客户": "non_match",
                     "unsure 不确定": "unsure"}


@app.function
def notebook_role(config_path: str) -> str:
    """The role in force ($HANLINK_ROLE, else privacy.role); managers may not open record pairs."""
    role = resolve_role(None, load_config(config_path).privacy.role)
    require(role, "steward", "analyst", action="review record pairs")
    return role


@app.function
def load_queue(config_path: str, top: int = 500) -> pl.DataFrame:
    """The latest run's review queue, best first (raises HanlinkError when there is none)."""
    notebook_role(config_path)
    cfg = load_config(config_path)
    with open_database(cfg, read_only=True) as db:
        return rv.review_queue(db, top)


@app.function
def pair_view(config_path: str, rid_l: int, rid_r: int) -> dict:
    """explain_pair as the role may see it (masked for analysts): comparisons, weights, probability."""
    role = notebook_role(config_path)
    cfg = load_config(config_path)
    with open_database(cfg, read_only=True) as db:
        why = explain_pair(db, rid_l, rid_r, match_threshold=cfg.matching.match_threshold)
    return why if role == "steward" else mask_explanation(why)


@app.function
def save_pair_label(config_path: str, left: str, right: str, label: str, comment: str = "",
                    who: str | None = None, run_id: str | None = None) -> dict:
    """Save an analyst's label (records as 'source:record_id'); the next run applies it."""
    role = notebook_role(config_path)
    from hanlink.lock import write_lock

    cfg = load_config(config_path)
    # the write lock: a label saved while a run publishes is carried into the new warehouse
    with write_lock(cfg.database_path), open_database(cfg) as db:
        saved = rv.save_label(db, left, right, label, comment, who=who, run_id=run_id)
        audit.record(db, "review", f"{left}~{right}", 1, actor=saved["who"], role=role,
                     detail={"label": saved["label"], "run_id": run_id})
        return saved


@app.cell
def _():
    config_field = mo.ui.text(value=os.environ.get("HANLINK_CONFIG", "hanlink.toml"),
                              label="project config 项目配置", full_width=True)
    config_field  # noqa: B018 (a cell shows its last expression)
    return (config_field,)


@app.cell
def _(config_field):
    try:
        queue = load_queue(config_field.value)
        problem = None
    except HanlinkError as exc:
        queue, problem = None, str(exc)
    mo.stop(problem is not None,
            mo.callout(mo.md(f"**cannot open the run**: {problem}"), kind="danger"))
    mo.stop(queue.is_empty(), mo.callout(mo.md("the review queue is empty 待审队列为空"), kind="success"))
    shown = queue.select(
        "rank", "kind", pl.col("priority").round(2),
        pl.concat_str("source_l", pl.lit(":"), "source_record_id_l").alias("left"),
        pl.concat_str("source_r", pl.lit(":"), "source_record_id_r").alias("right"),
        pl.col("probability").round(3), "reason_zh", "reason_en")
    queue_table = mo.ui.table(shown, selection="single", page_size=10, label="review queue 待审队列")
    heading = mo.md(f"## Run {queue['run_id'][0]} · {queue.height} pairs to review 待审记录对")
    mo.vstack([heading, queue_table])
    return queue, queue_table


@app.cell
def _(config_field, queue, queue_table):
    picked = queue_table.value
    rank = int(picked["rank"][0]) if picked is not None and len(picked) else int(queue["rank"][0])
    pair = queue.filter(pl.col("rank") == rank).row(0, named=True)
    view = pair_view(config_field.value, pair["rid_l"], pair["rid_r"])
    comparisons = view["comparisons"].select(
        "comparison", pl.col("value_l").alias("left 左"), pl.col("value_r").alias("right 右"),
        pl.col("label").alias("level"), pl.col("weight").round(2).alias("weight (bits)"))
    verdict = "match 合并" if view["match"] else "no match 不合并"
    mo.vstack([
        mo.md(f"### Pair #{rank}: `{pair['source_l']}:{pair['source_record_id_l']}` ↔ "
              f"`{pair['source_r']}:{pair['source_record_id_r']}`"),
        mo.md(f"{pair['reason_zh']}  \n{pair['reason_en']}"),
        mo.hstack([mo.stat(value=pair["entity_l"], label=f"left entity · {pair['size_l']} records"),
                   mo.stat(value=pair["entity_r"], label=f"right entity · {pair['size_r']} records")]),
        mo.md("#### Per-field comparison 逐字段比较" + ("" if notebook_role(config_field.value) == "steward"
                                                         else " (values masked 已脱敏)")),
        mo.ui.table(comparisons, selection=None, pagination=False),
        mo.md(f"prior {view['prior']:+.2f} + Σ weights = **{view['weight']:+.2f} bits** → probability "
              f"**{view['probability']:.4f}** → {verdict}"
              + (f" · veto: {view['veto']}" if view.get("veto") else "")),
    ])
    return (pair,)


@app.cell
def _():
    decision = mo.ui.radio(options=list(LABEL_CHOICES), label="decision 判断")
    comment = mo.ui.text_area(label="comment 备注", full_width=True)
    save = mo.ui.run_button(label="save label 保存")
    mo.vstack([decision, comment, save])
    return comment, decision, save


@app.cell
def _(comment, config_field, decision, pair, save):
    mo.stop(not save.value)
    mo.stop(decision.value is None, mo.callout(mo.md("choose a decision first 请先选择判断"), kind="warn"))
    saved = save_pair_label(config_field.value, f"{pair['source_l']}:{pair['source_record_id_l']}",
                            f"{pair['source_r']}:{pair['source_record_id_r']}",
                            LABEL_CHOICES[decision.value], comment.value, run_id=pair["run_id"])
    mo.callout(mo.md(f"saved 已保存: **{saved['label']}** by {saved['who']} — "
                     "applied by the next run 下次运行生效"), kind="success")
    return


if __name__ == "__main__":
    app.run()
