"""A deletion request end to end: parse who is named, forget them in the warehouse, rewrite the exports on
disk, write the bilingual deletion report. (forget.py does the database part.)"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import polars as pl

from hanlink.config import Config
from hanlink.db import Database
from hanlink.errors import HanlinkError
from hanlink.mask import mask_id, mask_phone
from hanlink.privacy import audit
from hanlink.privacy.backup import suppression_mirror
from hanlink.privacy.forget import ForgetResult, forget
from hanlink.privacy.suppression import now
from hanlink.privacy.tokens import token_key

_EXPORT_FILES = {"crosswalk.csv", "findings.csv", "golden_records.csv", "scorecard.json",
                 "findings_summary.csv"}
_ENTITY = re.compile(r"^E[0-9A-Fa-f]{12}$")
_ID = re.compile(r"^(\d{17}[\dXx]|\d{15})$")


def classify(values: list[str]) -> dict[str, list[str]]:
    """Split a list of identifiers into ID numbers, phones and entity ids (by shape; 'id:' / 'phone:' /
    'entity:' prefixes force a kind)."""
    out: dict[str, list[str]] = {"id_numbers": [], "phones": [], "entity_ids": []}
    for raw in values:
        v = raw.strip()
        if not v or v.startswith("#"):
            continue
        kind, sep, rest = v.partition(":")
        if sep and kind in ("id", "phone", "entity"):
            out[{"id": "id_numbers", "phone": "phones", "entity": "entity_ids"}[kind]].append(rest.strip())
        elif _ENTITY.match(v):
            out["entity_ids"].append(v)
        elif _ID.match(re.sub(r"\s", "", v)):
            out["id_numbers"].append(v)
        elif re.fullmatch(r"[\d\s+()-]{7,20}", v):
            out["phones"].append(v)
        else:
            raise HanlinkError(
                f"not an ID number, phone or entity id: {_shown(v)!r}",
                hint="one per line; prefix id:, phone: or entity: to say which",
            )
    return out


def _shown(v: str) -> str:
    """A value as it may appear in a message or report (masked)."""
    frame = pl.DataFrame({"v": [v]})
    fn = mask_id if _ID.match(re.sub(r"\s", "", v)) else mask_phone
    return v if _ENTITY.match(v) else str(frame.select(fn(pl.col("v")))["v"][0])


def rewrite_exports(db: Database, cfg: Config) -> list[str]:
    """Export again, from what is left, into every folder an export was audited into (same role)."""
    from hanlink.export import export_outputs
    from hanlink.scorecard import latest_run_id

    if not db.has_table(audit.AUDIT_LOG):
        return []
    done = []
    places = db.fetchall(
        f"SELECT DISTINCT objects, role FROM {audit.AUDIT_LOG} WHERE action = 'export' ORDER BY 1, 2"
    )
    try:
        run_id = latest_run_id(db)
    except HanlinkError:
        return []
    for folder, role in places:
        path = Path(folder)
        if not path.is_dir():
            continue
        for old in path.iterdir():  # files of an earlier export that this role no longer gets
            if old.is_file() and old.name.removesuffix(".enc") in _EXPORT_FILES:
                old.unlink()
        paths = export_outputs(
            db, run_id, path, language=cfg.project.language, role=role, privacy=cfg.privacy
        )
        done += [str(p) for p in paths.values()]
    return done


def write_report(cfg: Config, result: ForgetResult, named: dict[str, list[str]], actor: str) -> Path:
    """The deletion report (Markdown, 中文 + English): who asked for what, what was removed, no values."""
    folder = cfg.work_path / "privacy" / "deletions"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.request_id}.md"
    shown = [_shown(v) for vs in named.values() for v in vs]
    table = "\n".join(f"| {t} | {n} |" for t, n in sorted(result.removed.items())) or "| — | 0 |"
    path.write_text(
        f"""# 删除报告 / Deletion report {result.request_id}

- 时间 / at: {now():%Y-%m-%d %H:%M:%S} (Asia/Shanghai)
- 执行人 / by: {actor}
- 请求对象 / named (masked): {", ".join(shown)}
- 找到的记录 / records found: {result.records} · 实体 / entities: {result.entities}
- 加入抑制名单的密钥哈希 / keyed hashes added to the suppression list: {result.tokens_added}
- 重写的导出文件 / export files rewritten: {len(result.files)}

| 表 / table | 删除行数 / rows removed |
|---|---|
{table}

以后的导入中，此人的记录将被拦截并报告（privacy_holdback）。备份不做修改：恢复时会重新应用抑制名单，
过期策略删除旧备份。
Later loads hold this person's records back and report them (privacy_holdback). Backups are not edited:
a restore re-applies the suppression list, and old backups expire by policy.
""",
        encoding="utf-8",
    )
    return path


def carry_out(
    db: Database,
    cfg: Config,
    named: dict[str, list[str]],
    *,
    request_id: str | None = None,
    actor: str | None = None,
) -> ForgetResult:
    """Forget the people `named` (see `classify`), rewrite exports, write the report; returns the result."""
    actor = actor or audit.current_actor(cfg.privacy.identity)
    request_id = request_id or f"DR{datetime.now():%Y%m%d%H%M%S}"
    key = token_key(
        key_file=str(cfg.resolve(cfg.privacy.token_key_file)) if cfg.privacy.token_key_file else None
    )
    assert key is not None
    result = forget(
        db, **named, request_id=request_id, token_key=key, mirror=suppression_mirror(cfg), actor=actor
    )
    result.files = rewrite_exports(db, cfg)
    result.report = write_report(cfg, result, named, actor)
    return result


def forget_people(
    cfg: Config,
    named: dict[str, list[str]],
    *,
    request_id: str | None = None,
    actor: str | None = None,
) -> ForgetResult:
    """Carry out a deletion request on the live warehouse, alone, and leave no readable trace in its file.

    Holds the run lock (a run working on a staging copy would publish the person back) and the write lock
    (no label writer has the file open), then rewrites the file so the deleted rows' bytes are gone too
    (DuckDB keeps them in place until a row group is rewritten). WarehouseBusyError while a run is going."""
    from hanlink.db import compact_database
    from hanlink.lock import exclusive
    from hanlink.pipeline import open_database
    from hanlink.privacy.keys import database_key

    with exclusive(cfg.database_path, "删除请求", "the deletion request"):
        with open_database(cfg) as db:
            result = carry_out(db, cfg, named, request_id=request_id, actor=actor)
        compact_database(cfg.database_path, database_key(cfg))
    return result
