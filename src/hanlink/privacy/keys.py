"""Secrets from the environment or a key file outside the repo: token key, database key, export key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from hanlink.errors import HanlinkError

if TYPE_CHECKING:
    from hanlink.config import Config

TOKEN_KEY_ENV = "HANLINK_TOKEN_KEY"  # HMAC key of the keyed tokens (joinable pseudonyms)
DB_KEY_ENV = "HANLINK_DB_KEY"  # DuckDB database encryption key
EXPORT_KEY_ENV = "HANLINK_EXPORT_KEY"  # key of encrypted exports (Fernet, urlsafe base64 32 bytes)
MIN_KEY_CHARS = 16


class SecretKeyError(HanlinkError):
    """A secret that an action needs is missing, unreadable or too short."""

    exit_code = 2


def _read_file(path: Path, what: str) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretKeyError(f"cannot read the {what} key file: {exc.strerror}", where=str(path)) from None
    if not text:
        raise SecretKeyError(f"the {what} key file is empty", where=str(path))
    return text


def read_key(env: str, *, what: str, key_file: str | Path | None = None, required: bool = True) -> str | None:
    """The secret in $`env`, else in $`env`_FILE, else in `key_file` (config); None when optional and absent.

    Key files belong outside the repository (e.g. ~/.config/hanlink/), readable by the service user only.
    """
    value = os.environ.get(env)
    file_env = os.environ.get(f"{env}_FILE")
    if not value and file_env:
        value = _read_file(Path(file_env).expanduser(), what)
    if not value and key_file:
        value = _read_file(Path(key_file).expanduser(), what)
    if not value:
        if not required:
            return None
        raise SecretKeyError(
            f"no {what} key: set {env} (or {env}_FILE, a file outside the repo) — 未设置{what}密钥",
            hint=f"generate one: python -c 'import secrets; print(secrets.token_hex(32))' > key; "
            f"export {env}_FILE=$PWD/key (keep it out of git)",
        )
    if len(value) < MIN_KEY_CHARS:
        raise SecretKeyError(
            f"the {what} key is too short ({len(value)} chars; at least {MIN_KEY_CHARS}) — 密钥太短"
        )
    return value


def database_key(cfg: Config) -> str | None:
    """The warehouse key: $HANLINK_DB_KEY, …_FILE, else `privacy.db_key_file`; None → a plain file."""
    file = cfg.privacy.db_key_file
    return read_key(DB_KEY_ENV, what="database", key_file=cfg.resolve(file) if file else None, required=False)
