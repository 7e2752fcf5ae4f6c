"""`hanlink` commands of the privacy subsystem: audit, forget, backup, restore, export, decrypt, keygen."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hanlink.config import Config
from hanlink.db import Database
from hanlink.errors import HanlinkError
from hanlink.lock import exclusive

err = Console(stderr=True)
out = Console()
ConfigOpt = Annotated[Path, typer.Option("--config", "-c")]
RoleOpt = Annotated[
    str | None,
    typer.Option(
        "--role", help="steward | analyst | manager (default $HANLINK_ROLE, else privacy.role, else analyst)"
    ),
]


def _fail(exc: HanlinkError) -> None:
    err.print(f"[bold red]错误 / error[/]: {exc}", highlight=False)
    raise typer.Exit(exc.exit_code)


def _load(config: Path) -> Config:
    from hanlink.config import load_config

    return load_config(config)


def _open(cfg: Config, *, read_only: bool = False) -> Database:
    from hanlink.pipeline import open_database  # the one way a warehouse is opened (key, limits)

    return open_database(cfg, read_only=read_only)


def register(app: typer.Typer) -> None:
    """Add the privacy commands to the `hanlink` app."""

    @app.command("audit")
    def audit_cmd(
        config: ConfigOpt = Path("hanlink.toml"),
        action: Annotated[str | None, typer.Option(help="only this action")] = None,
        limit: Annotated[int, typer.Option("--limit", "-n")] = 50,
    ) -> None:
        """Show the audit log, newest first (审计日志): who, when, what, on which objects, how many rows."""
        from hanlink.privacy import audit

        try:
            cfg = _load(config)
            with _open(cfg, read_only=True) as db:
                rows = audit.entries(db, action=action, limit=limit, masked=True)
                broken = audit.verify(db)
        except HanlinkError as exc:
            _fail(exc)
        table = Table("#", "at 时间", "who 执行人", "role", "action 操作", "objects 对象", "rows 行数")
        for r in rows.iter_rows(named=True):
            table.add_row(
                str(r["seq"]),
                str(r["logged_at"]),
                r["actor"],
                r["role"] or "—",
                r["action"],
                r["objects"] or "",
                "—" if r["rows"] is None else str(r["rows"]),
            )
        out.print(table)
        if broken:
            err.print(f"[bold red]audit chain broken at entries 审计链断裂于[/] {broken}")
            raise typer.Exit(1)

    @app.command("forget")
    def forget_cmd(
        values: Annotated[
            list[str] | None,
            typer.Argument(
                help="ID numbers, phones or entity ids (kind guessed; or prefix id:/phone:/entity:)"
            ),
        ] = None,
        file: Annotated[Path | None, typer.Option("--file", "-f", help="one per line")] = None,
        config: ConfigOpt = Path("hanlink.toml"),
        role: RoleOpt = None,
        request_id: Annotated[str | None, typer.Option(help="the request's reference")] = None,
    ) -> None:
        """Deletion request (删除请求): remove people everywhere, keep keyed hashes, hold them back later."""
        from hanlink.privacy.requests import classify, forget_people
        from hanlink.privacy.roles import require, resolve_role

        try:
            cfg = _load(config)
            require(resolve_role(role, cfg.privacy.role), "steward", action="carry out deletion requests")
            items = list(values or [])
            if file is not None:
                try:
                    items += file.read_text(encoding="utf-8").splitlines()
                except OSError as exc:
                    raise HanlinkError(f"cannot read: {exc.strerror}", where=str(file)) from None
            named = classify(items)
            if not any(named.values()):
                raise HanlinkError(
                    "nobody named — 未指定任何人", hint="hanlink forget 110101199003071234 or --file"
                )
            result = forget_people(cfg, named, request_id=request_id)
        except HanlinkError as exc:
            _fail(exc)
        out.print(
            f"request {result.request_id}: {result.records} records / {result.entities} entities removed "
            f"({sum(result.removed.values())} rows in {len(result.removed)} tables), "
            f"{result.tokens_added} keyed hashes suppressed, {len(result.files)} export files rewritten"
        )
        out.print(f"report 删除报告: {result.report}")

    backup_app = typer.Typer(help="Verified backups of the warehouse (备份).", invoke_without_command=True)

    @backup_app.callback()
    def backup_create(
        ctx: typer.Context, config: ConfigOpt = Path("hanlink.toml"), label: str = "manual"
    ) -> None:
        """Create a backup with a sha256 manifest (no sub-command), or verify/list/expire them."""
        if ctx.invoked_subcommand is not None:
            return
        from hanlink.privacy import backup

        try:
            folder = backup.create(_load(config), label=label)
        except HanlinkError as exc:
            _fail(exc)
        out.print(f"backup 备份: {folder}")

    @backup_app.command("verify")
    def backup_verify(
        folder: Annotated[Path | None, typer.Argument(help="default: the newest")] = None,
        config: ConfigOpt = Path("hanlink.toml"),
    ) -> None:
        """Restore a backup into a temporary folder, open it and compare every table with its manifest."""
        from hanlink.privacy import backup

        try:
            cfg = _load(config)
            target = folder or _newest(cfg)
            checked = backup.verify(cfg, target)
        except HanlinkError as exc:
            _fail(exc)
        out.print(f"ok 校验通过: {target} — {checked['tables']} tables, {checked['rows']} rows")

    @backup_app.command("list")
    def backup_list(config: ConfigOpt = Path("hanlink.toml")) -> None:
        """List backups, oldest first."""
        from hanlink.privacy import backup

        try:
            for folder in backup.list_backups(_load(config)):
                out.print(str(folder))
        except HanlinkError as exc:
            _fail(exc)

    @backup_app.command("expire")
    def backup_expire(config: ConfigOpt = Path("hanlink.toml")) -> None:
        """Delete backups past privacy.backup_max_age_days (the newest backup_keep always stay)."""
        from hanlink.privacy import backup

        try:
            gone = backup.expire(_load(config))
        except HanlinkError as exc:
            _fail(exc)
        out.print(f"expired 已过期删除: {len(gone)}")

    app.add_typer(backup_app, name="backup")

    @app.command("restore")
    def restore_cmd(
        folder: Annotated[Path | None, typer.Argument(help="default: the newest backup")] = None,
        config: ConfigOpt = Path("hanlink.toml"),
        role: RoleOpt = None,
    ) -> None:
        """Verify a backup and put it in place of the warehouse; deletion requests are re-applied (恢复)."""
        from hanlink.privacy import backup
        from hanlink.privacy.roles import require, resolve_role

        try:
            cfg = _load(config)
            require(resolve_role(role, cfg.privacy.role), "steward", action="restore the warehouse")
            target = folder or _newest(cfg)
            with exclusive(cfg.database_path, "恢复", "the restore"):
                done = backup.restore(cfg, target)
        except HanlinkError as exc:
            _fail(exc)
        out.print(
            f"restored 已恢复: {target} — {done['tables']} tables, {done['rows']} rows; "
            f"deletion requests re-applied: {sum(done['reapplied'].values())} rows"
        )

    @app.command("export")
    def export_cmd(
        out_dir: Annotated[Path, typer.Option("--out", "-o")],
        config: ConfigOpt = Path("hanlink.toml"),
        role: RoleOpt = None,
        run_id: Annotated[str | None, typer.Option()] = None,
    ) -> None:
        """Export a run as a role may see it (按角色导出): masked for analysts, counts for managers."""
        from hanlink.export import export_outputs
        from hanlink.privacy.roles import check_role
        from hanlink.scorecard import latest_run_id

        try:
            cfg = _load(config)
            with _open(cfg) as db:
                paths = export_outputs(
                    db,
                    run_id or latest_run_id(db),
                    out_dir,
                    language=cfg.project.language,
                    role=check_role(role, where="--role") if role else None,
                    privacy=cfg.privacy,
                )
        except HanlinkError as exc:
            _fail(exc)
        for key, path in paths.items():
            out.print(f"  {key:<16} {path}")

    @app.command("decrypt")
    def decrypt_cmd(file: Path, out_path: Annotated[Path | None, typer.Option("--out", "-o")] = None) -> None:
        """Decrypt an encrypted export (x.csv.enc → x.csv) with $HANLINK_EXPORT_KEY (解密导出文件)."""
        from hanlink.privacy.crypto import decrypt_file, export_key

        try:
            if not file.exists():
                raise HanlinkError("file not found", where=str(file))
            target = decrypt_file(file, export_key(), out_path)
        except HanlinkError as exc:
            _fail(exc)
        out.print(f"wrote {target}")

    @app.command("encrypt-db")
    def encrypt_db_cmd(config: ConfigOpt = Path("hanlink.toml")) -> None:
        """Encrypt an existing plain warehouse in place with the database key (加密现有数据库)."""
        from hanlink.db import encrypt_database
        from hanlink.privacy.keys import DB_KEY_ENV, read_key

        try:
            cfg = _load(config)
            file = cfg.privacy.db_key_file
            key = read_key(DB_KEY_ENV, what="database", key_file=cfg.resolve(file) if file else None)
            with exclusive(cfg.database_path, "加密", "the encryption"):
                encrypt_database(cfg.database_path, key or "")
        except HanlinkError as exc:
            _fail(exc)
        out.print(f"encrypted 已加密: {cfg.database_path}")

    @app.command("keygen")
    def keygen_cmd() -> None:
        """Print a new random key (for HANLINK_TOKEN_KEY, HANLINK_DB_KEY or HANLINK_EXPORT_KEY files)."""
        from hanlink.privacy.crypto import new_key

        out.print(new_key(), highlight=False)


def _newest(cfg: Config) -> Path:
    from hanlink.privacy import backup

    found = backup.list_backups(cfg)
    if not found:
        raise HanlinkError("no backups yet — 还没有备份", hint="hanlink backup")
    return found[-1]
