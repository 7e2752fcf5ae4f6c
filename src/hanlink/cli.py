"""The `hanlink` command: init, run, dedupe, generate, demo, report, explain, review; errors print a message,
not a traceback.


Exit codes: 0 ok · 1 error · 2 config error · 3 source unreadable · 4 stage failed · 5 rows not conserved ·
6 quality alert (the run is published) · 75 another run in progress (try again later).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hanlink.config import Config
from hanlink.db import Database
from hanlink.errors import HanlinkError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="hanlink — 中文客户数据质量与去重 / data quality and deduplication for Chinese customer records",
)
err = Console(stderr=True)
out = Console()


def _fail(exc: HanlinkError) -> None:
    err.print(f"[bold red]错误 / error[/]: {exc}", highlight=False)
    raise typer.Exit(exc.exit_code)


def _print_outputs(outputs: dict[str, Path], database: Path, lang: str) -> None:
    title = "输出文件" if lang == "zh" else "Outputs"
    out.print(f"[bold]{title}[/]")
    out.print(f"  database       {database}")
    for key, path in outputs.items():
        out.print(f"  {key:<14} {path}")


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="config file to write")] = Path("hanlink.toml"),
    force: Annotated[bool, typer.Option(help="overwrite an existing file")] = False,
) -> None:
    """Write a commented starter config (写一个带注释的起始配置文件)."""
    from hanlink.starter import STARTER_CONFIG

    if path.exists() and not force:
        _fail(HanlinkError(f"{path} exists; use --force to overwrite it"))
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    out.print(f"wrote {path} — edit [sources] and run `hanlink run --config {path}`")


@app.command()
def run(
    config: Annotated[Path, typer.Option("--config", "-c")] = Path("hanlink.toml"),
    prefect: Annotated[bool, typer.Option(help="run as a Prefect flow (one task per stage)")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="where to export outputs")] = None,
    incremental: Annotated[
        bool, typer.Option(help="the sources hold only new/changed rows: match them against the warehouse")
    ] = False,
    deletions: Annotated[
        Path | None, typer.Option(help="with --incremental: CSV of source,source_record_id to remove")
    ] = None,
) -> None:
    """Run the nightly pipeline once (每晚流程运行一次); --incremental for a night of changes only (增量)."""
    from hanlink.config import load_config

    try:
        if deletions is not None and not incremental:
            raise HanlinkError("--deletions needs --incremental (a full run rebuilds from the sources)")
        cfg = load_config(config)
        if incremental:
            if prefect:
                raise HanlinkError("--incremental runs without --prefect for now (one process, one night)")
            from hanlink.incremental import run_incremental

            with err.status("running…") as status:
                result = run_incremental(cfg, out_dir=out_dir, deletions=deletions,
                                         on_stage=lambda s: status.update(f"stage {s}…"))
        elif prefect:
            from flows.nightly import nightly

            result = nightly(str(config), out_dir=str(out_dir) if out_dir else None)
        else:
            from hanlink.pipeline import run_pipeline

            with err.status("running…") as status:
                result = run_pipeline(cfg, out_dir=out_dir, on_stage=lambda s: status.update(f"stage {s}…"))
    except HanlinkError as exc:  # RunLockedError (another run going) exits 75; nothing was changed
        _fail(exc)
    out.print(f"run {result.run_id} finished in {sum(result.seconds.values()):.1f}s")
    c = result.conservation
    if c:  # the row books, checked before publishing (a violation fails the run with exit code 5)
        out.print(
            f"rows 行数: in 输入 {c['rows_in']} = standardized 标准化 {c['standardized']}"
            f" + quarantined at ingest 读入隔离 {c['quarantined_ingest']}; {c['standardized']}"
            f" = accepted 通过 {c['accepted']} + quarantined 校验隔离 {c['quarantined_validate']};"
            f" {c['with_entity']} records with one entity 每条记录一个实体;"
            f" crosswalk 对照表 {c['crosswalk_rows']} — conserved 守恒 ✓",
            highlight=False,
        )
    if result.run_dir:
        out.print(f"published 已发布: {result.run_dir}", highlight=False)
    _print_summary(cfg, result.run_id)
    _print_outputs(result.outputs, result.database, cfg.project.language)
    _exit_on_alerts(cfg, result.run_id)


def _exit_on_alerts(cfg: Config, run_id: str) -> None:
    """A published run whose quality turned red (or dropped sharply) exits 6, so a scheduler sees it."""
    from hanlink.alerts import alert_error
    from hanlink.pipeline import open_database

    with open_database(cfg, read_only=True) as db:
        alert = alert_error(db, run_id)
    if alert is not None:
        _fail(alert)


def _print_summary(cfg: Config, run_id: str) -> None:
    from rich.markdown import Markdown

    from hanlink.pipeline import open_database
    from hanlink.scorecard import summary_markdown

    with open_database(cfg, read_only=True) as db:
        out.print(Markdown(summary_markdown(db, run_id, lang=cfg.project.language)))


@app.command()
def dedupe(
    input: Annotated[Path, typer.Argument(help="CSV, Excel or Parquet file")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output folder")],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="override the guessed mapping: field=header (repeatable)"),
    ] = None,
    lang: Annotated[str, typer.Option(help="zh or en")] = "zh",
) -> None:
    """One-shot dedupe of one file: guesses the field mapping from its headers (单文件去重)."""
    from hanlink.oneshot import dedupe_file

    if lang not in ("zh", "en"):
        _fail(HanlinkError(f"--lang {lang!r}: valid: zh, en"))
    try:
        with err.status("…") as status:
            result = dedupe_file(
                input,
                out,
                overrides=_parse_overrides(map_ or []),
                language=lang,  # type: ignore[arg-type]
                announce=lambda text: err.print(text, highlight=False),
                on_stage=lambda s: status.update(f"stage {s}…"),
            )
    except HanlinkError as exc:
        _fail(exc)
    _print_outputs(result.outputs, result.database, lang)


def _parse_overrides(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        field, sep, header = item.partition("=")
        if not sep or not field.strip():
            _fail(HanlinkError(f"--map {item!r}: expected field=header, e.g. --map phone=联系电话"))
        pairs[field.strip()] = header.strip()
    return pairs


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Option("--out", "-o")] = Path("data/generated"),
    records: Annotated[int, typer.Option("--records", "-n")] = 10_000,
    seed: int = 42,
    difficulty: Annotated[str, typer.Option(help="normal or hard")] = "normal",
    layout: Annotated[str, typer.Option(help="sources (4 systems) or single (one file)")] = "sources",
) -> None:
    """Generate synthetic Chinese customer records with ground truth (生成合成数据)."""
    from hanlink.generate import generate as gen

    if difficulty not in ("normal", "hard") or layout not in ("sources", "single"):
        _fail(HanlinkError("--difficulty must be normal|hard and --layout sources|single"))
    if records < 1:
        _fail(HanlinkError(f"--records must be at least 1, not {records} — 记录数至少为 1"))
    data = gen(records, out_dir, seed=seed, difficulty=difficulty, layout=layout)  # type: ignore[arg-type]
    out.print(f"wrote {records} records to {out_dir}")
    for path in (p for paths in data.files.values() for p in paths):
        out.print(f"  {path}")
    out.print(f"  {data.truth}\n  {data.config}")


@app.command()
def demo(
    dir: Annotated[Path, typer.Option("--dir", help="demo folder")] = Path("hanlink-demo"),
    records: Annotated[int, typer.Option("--records", "-n")] = 5_000,
    prefect: Annotated[bool, typer.Option(help="run under Prefect (the nightly flow)")] = True,
) -> None:
    """Generate sample data and run the nightly flow on it (演示：生成样例数据并运行每晚流程)."""
    from hanlink.generate import generate as gen

    data = gen(records, dir, seed=42, layout="sources")
    out.print(f"generated {records} records from 4 source systems in {dir}")
    run(config=data.config, prefect=prefect, out_dir=None)


@app.command()
def report(
    config: Annotated[Path, typer.Option("--config", "-c")] = Path("hanlink.toml"),
    run_id: Annotated[str | None, typer.Option(help="a past run (default: the latest)")] = None,
    lang: Annotated[str, typer.Option(help="zh or en")] = "zh",
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="folder for dashboard/ (default: the run's folder in <work_dir>/output)"),
    ] = None,
) -> None:
    """Print a run's quality summary and rebuild its dashboard page (打印质量摘要并重建该次运行的看板)."""
    from hanlink.config import load_config
    from hanlink.dashboard import write_dashboard
    from hanlink.pipeline import open_database
    from hanlink.scorecard import latest_run_id, summary_markdown

    if lang not in ("zh", "en"):
        _fail(HanlinkError(f"--lang {lang!r}: valid: zh, en"))
    try:
        cfg = load_config(config)
        with open_database(cfg, read_only=True) as db:
            rid = run_id or latest_run_id(db)
            out.print(summary_markdown(db, rid, lang=lang))  # type: ignore[arg-type]
            # By default into the run's own published folder (<output>/runs/<run_id>), when there is one.
            output = cfg.work_path / "output"
            own = output / "runs" / rid
            folder = out_dir or (own if own.is_dir() else output)
            page = write_dashboard(db, rid, folder, lang=lang)  # type: ignore[arg-type]
    except HanlinkError as exc:
        _fail(exc)
    out.print(f"{'看板' if lang == 'zh' else 'dashboard'}: {page}", highlight=False)


def _find_rid(db: Database, ref: str) -> int:
    """A record by rid ('123') or by its source and id ('crm:C000123')."""
    if ref.isdigit():
        return int(ref)
    source, sep, record_id = ref.partition(":")
    rid = (
        db.scalar(
            "SELECT rid FROM std_records WHERE source = ? AND source_record_id = ?", [source, record_id]
        )
        if sep
        else None
    )
    if rid is None:
        raise HanlinkError(
            f"no accepted record {ref!r}", hint="give a rid, or source:record_id as in crosswalk.csv"
        )
    return int(rid)


@app.command()
def explain(
    left: Annotated[str, typer.Argument(help="rid, or source:record_id")],
    right: Annotated[str, typer.Argument(help="rid, or source:record_id")],
    config: Annotated[Path, typer.Option("--config", "-c")] = Path("hanlink.toml"),
    unmasked: Annotated[bool, typer.Option(help="show raw values (stewards only)")] = False,
) -> None:
    """Why two records were or weren't merged: each comparison's level and weight (解释两条记录的匹配)."""
    from rich.table import Table

    from hanlink.config import load_config
    from hanlink.explain import explain_pair, mask_explanation
    from hanlink.pipeline import open_database

    try:
        cfg = load_config(config)
        if unmasked:  # raw values are for stewards (PIPL: minimal access)
            from hanlink.privacy.roles import require, resolve_role

            require(resolve_role(None, cfg.privacy.role), "steward", action="see raw values 查看原始值")
        with open_database(cfg, read_only=True) as db:
            why = explain_pair(
                db, _find_rid(db, left), _find_rid(db, right), match_threshold=cfg.matching.match_threshold
            )
    except HanlinkError as exc:
        _fail(exc)
    if not unmasked:  # analysts see masked values; the weights explain the decision without them
        why = mask_explanation(why)
    frame = why["comparisons"]
    table = Table("comparison", "left", "right", "level", "weight (bits)")
    for r in frame.iter_rows(named=True):
        table.add_row(
            r["comparison"], r["value_l"] or "—", r["value_r"] or "—", r["label"], f"{r['weight']:+.2f}"
        )
    out.print(table)
    verdict = "match 合并" if why["match"] else "no match 不合并"
    veto = f" · veto: {why['veto']}" if why.get("veto") else ""
    out.print(
        f"prior {why['prior']:+.2f} + Σ = weight {why['weight']:+.2f} → "
        f"probability {why['probability']:.4f} → {verdict}{veto}"
    )


@app.command("review")
def review_cmd(
    config: Annotated[Path, typer.Option("--config", "-c")] = Path("hanlink.toml"),
    top: Annotated[int, typer.Option("--top", "-n", help="how many queued pairs to list")] = 20,
    label: Annotated[
        tuple[str, str, str] | None,
        typer.Option(help="LEFT RIGHT match|non_match|unsure (records as source:record_id or rid)"),
    ] = None,
    comment: Annotated[str, typer.Option(help="why (saved with the label)")] = "",
    who: Annotated[str | None, typer.Option(help="reviewer (default $HANLINK_REVIEWER or OS user)")] = None,
    accuracy: Annotated[
        bool, typer.Option(help="precision/recall of the model on the labelled pairs")
    ] = False,
) -> None:
    """List the review queue, or label a pair; the next run applies the label (审核待定的记录对)."""
    from rich.table import Table

    from hanlink import review as rv
    from hanlink.config import load_config
    from hanlink.pipeline import open_database

    try:
        cfg = load_config(config)
        if label is not None:
            from hanlink.lock import write_lock
            from hanlink.privacy import audit

            left, right, decision = label
            # the write lock: a label saved while a run publishes is carried into the new warehouse
            with write_lock(cfg.database_path), open_database(cfg) as db:
                run = db.scalar(f"SELECT max(run_id) FROM {rv.REVIEW_QUEUE}") if db.has_table(
                    rv.REVIEW_QUEUE) else None
                row = rv.save_label(db, left, right, decision, comment, who=who, run_id=run)
                audit.record(db, "review", [f"{left}~{right}"], 1, actor=row["who"])
            out.print(f"saved 已保存: {row['source_l']}:{row['source_record_id_l']} ~ "
                      f"{row['source_r']}:{row['source_record_id_r']} = {row['label']} ({row['who']}); "
                      "the next run applies it 下次运行生效")
            return
        with open_database(cfg, read_only=True) as db:
            if accuracy:
                out.print(rv.label_accuracy(db))
                return
            queue = rv.review_queue(db, top)
    except HanlinkError as exc:
        _fail(exc)
    if queue.is_empty():
        out.print("the review queue is empty 待审队列为空")
        return
    reason = "reason_zh" if cfg.project.language == "zh" else "reason_en"
    table = Table("#", "priority", "left", "right", "p", "reason")
    for r in queue.iter_rows(named=True):
        p = "—" if r["probability"] is None else f"{r['probability']:.3f}"
        table.add_row(str(r["rank"]), f"{r['priority']:.2f}", f"{r['source_l']}:{r['source_record_id_l']}",
                      f"{r['source_r']}:{r['source_record_id_r']}", p, r[reason])
    out.print(table)
    out.print("label 标注: hanlink review --label LEFT RIGHT match|non_match|unsure --comment …")


# Subsystems keep their commands next to their code: each module here has `register(app)`, which adds its
# commands. A module is listed once it exists (one line per subsystem).
COMMAND_MODULES: tuple[str, ...] = ("hanlink.privacy.commands",)


def _register_commands() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_commands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
