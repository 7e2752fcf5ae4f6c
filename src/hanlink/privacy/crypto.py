"""Encrypted exports (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`) and the key behind them.

An encrypted export is `<file>.enc`; `hanlink decrypt` turns it back. The key is $HANLINK_EXPORT_KEY (or
…_FILE): a Fernet key (`hanlink keygen`), or any passphrase of 16+ characters (stretched with scrypt).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from hanlink.errors import HanlinkError
from hanlink.privacy.keys import EXPORT_KEY_ENV, read_key

SUFFIX = ".enc"
_SALT = b"hanlink-export-v1"  # fixed: the same passphrase must open files written on another machine


def _fernet(key: str):  # type: ignore[no-untyped-def]
    from cryptography.fernet import Fernet

    raw = key.encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return Fernet(raw)
    except (ValueError, TypeError):
        pass
    derived = hashlib.scrypt(raw, salt=_SALT, n=2**14, r=8, p=1, dklen=32)
    return Fernet(base64.urlsafe_b64encode(derived))


def new_key() -> str:
    """A fresh random Fernet key (text)."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def export_key(key_file: str | None = None) -> str:
    """The export key; raises SecretKeyError naming the variable when it is missing."""
    return read_key(EXPORT_KEY_ENV, what="export", key_file=key_file) or ""


def encrypt_bytes(data: bytes, key: str) -> bytes:
    return _fernet(key).encrypt(data)  # type: ignore[no-any-return]


def decrypt_bytes(token: bytes, key: str, *, where: str = "") -> bytes:
    """The plaintext, or a HanlinkError for a wrong key or a damaged file (never partial output)."""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(key).decrypt(token)  # type: ignore[no-any-return]
    except InvalidToken:
        raise HanlinkError(
            "wrong export key or damaged file — 导出密钥错误或文件损坏", where=where or None
        ) from None


def encrypt_file(path: Path, key: str, *, remove_plain: bool = True) -> Path:
    """Write `path`.enc (atomically) and, by default, remove the plaintext."""
    target = path.with_name(path.name + SUFFIX)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(encrypt_bytes(path.read_bytes(), key))
    os.replace(tmp, target)
    if remove_plain:
        path.unlink()
    return target


def decrypt_file(path: Path, key: str, out: Path | None = None) -> Path:
    """Decrypt `x.csv.enc` to `out` (default `x.csv` beside it); nothing is written on a wrong key."""
    data = decrypt_bytes(path.read_bytes(), key, where=str(path))
    target = out or (
        path.with_name(path.name.removesuffix(SUFFIX))
        if path.name.endswith(SUFFIX)
        else path.with_name(path.name + ".plain")
    )
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target
