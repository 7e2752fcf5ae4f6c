"""Keyed tokens (HMAC-SHA256): the same person gets the same token in every output, so masked data can still
be joined and matched, but nobody without the key can turn a token back into a phone or ID number (a plain
SHA-256 of an 11-digit phone is reversed by trying every number)."""

from __future__ import annotations

import hashlib
import hmac
import re

import polars as pl

from hanlink.fields import SensitivityTag
from hanlink.privacy.keys import TOKEN_KEY_ENV, read_key

TOKEN_HEX = 32  # 128 bits: collisions are out of reach for any customer base


def token_key(*, key_file: str | None = None, required: bool = True) -> bytes | None:
    """The HMAC key from $HANLINK_TOKEN_KEY (or …_FILE, or `key_file`); SecretKeyError when required."""
    key = read_key(TOKEN_KEY_ENV, what="token", key_file=key_file, required=required)
    return key.encode("utf-8") if key else None


def normalize(tag: SensitivityTag, value: str) -> str:
    """The form tokens are computed on, so that '138-1234-5678' and '+86 13812345678' give one token.

    Phones: digits, without a leading 86/0086; ID numbers: no spaces, upper case; others: trimmed, lower.
    """
    v = value.strip()
    if tag == "phone":
        d = re.sub(r"\D", "", v)
        return d[4:] if d.startswith("0086") else d[2:] if d.startswith("86") and len(d) == 13 else d
    if tag == "id_number":
        return re.sub(r"\s", "", v).upper()
    return v.lower()


def token(tag: SensitivityTag, value: str, key: bytes) -> str:
    """The keyed token of one value (already in standardized form, or passed through `normalize`)."""
    return hmac.new(key, f"{tag}:{value}".encode(), hashlib.sha256).hexdigest()[:TOKEN_HEX]


def hmac_pads(key: bytes) -> list[bytes]:
    """[outer pad, inner pad] of HMAC-SHA256 for `key` (RFC 2104): the parameters `$1`, `$2` of token_sql."""
    k = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return [bytes(b ^ 0x5C for b in k), bytes(b ^ 0x36 for b in k)]


def token_sql(expr: str, tag: SensitivityTag) -> str:
    """SQL for the token of `expr` (same value as `token`), computed inside DuckDB on all cores.

    HMAC written out as two SHA-256 passes; run it with `hmac_pads(key)` as parameters $1 and $2, so the
    key never appears in the SQL text.
    """
    inner = f"unhex(sha256($2::BLOB || encode('{tag}:' || {expr})))"
    return f"left(sha256($1::BLOB || {inner}), {TOKEN_HEX})"


def tokenize(values: pl.Series, tag: SensitivityTag, key: bytes) -> pl.Series:
    """Tokens of a column of standardized values (nulls stay null); one HMAC per distinct value."""
    distinct = values.drop_nulls().unique()
    table = {v: token(tag, v, key) for v in distinct.to_list()}
    return values.replace_strict(table, default=None, return_dtype=pl.String).alias(values.name)


def tokenize_frame(df: pl.DataFrame, columns: dict[str, SensitivityTag], key: bytes) -> pl.DataFrame:
    """Add `<column>_token` after each listed column that `df` has (values cast to text first)."""
    out = df
    for col, tag in columns.items():
        if col in df.columns:
            out = out.with_columns(tokenize(df[col].cast(pl.String), tag, key).alias(f"{col}_token"))
    return out
