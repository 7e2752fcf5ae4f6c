"""Who sees what: steward (full data), analyst (masked values + keyed tokens, labels pairs), manager
(aggregates only). Every output path asks `protect(frame, role)` instead of masking by hand."""

from __future__ import annotations

import os
from typing import Literal, get_args

import polars as pl

from hanlink.errors import HanlinkError
from hanlink.fields import IDENTIFYING, column_tag
from hanlink.mask import mask_frame

Role = Literal["steward", "analyst", "manager"]
ROLES: tuple[Role, ...] = get_args(Role)
ROLE_ENV = "HANLINK_ROLE"
# Exports and views default to the analyst's masked view: full data must be asked for by name.
DEFAULT_ROLE: Role = "analyst"


class RoleError(HanlinkError):
    """An unknown role, or an action the role may not take."""

    exit_code = 2


def check_role(value: str, *, where: str = "role") -> Role:
    """`value` as a Role, or a RoleError naming the valid ones."""
    if value not in ROLES:
        raise RoleError(f"unknown role {value!r}", where=where, hint="valid: " + ", ".join(ROLES))
    return value  # type: ignore[return-value]


def resolve_role(explicit: str | None = None, configured: str | None = None) -> Role:
    """The role in force: a CLI option beats $HANLINK_ROLE, which beats the config; default analyst."""
    if explicit:
        return check_role(explicit, where="--role")
    if os.environ.get(ROLE_ENV):
        return check_role(os.environ[ROLE_ENV], where=ROLE_ENV)
    if configured:
        return check_role(configured, where="privacy.role")
    return DEFAULT_ROLE


def require(role: Role, *allowed: Role, action: str) -> None:
    """Raise RoleError unless `role` is one of `allowed` (e.g. only stewards run deletion requests)."""
    if role not in allowed:
        raise RoleError(f"role {role!r} may not {action} (allowed: {', '.join(allowed)}) — 当前角色无此权限")


def protect(df: pl.DataFrame, role: Role, *, token_key: bytes | None = None) -> pl.DataFrame:
    """A row-level frame as `role` may see it.

    steward: unchanged. analyst: every tagged column masked (fields.COLUMN_TAGS), and with a token key a
    `<column>_token` beside each identifying one (phone, ID number, email) so outputs still join.
    manager: refused (RoleError) — managers get aggregates, never rows.
    """
    if role == "steward":
        return df
    if role == "manager":
        raise RoleError("managers see aggregates only, not record-level data — 管理者仅可查看汇总数据")
    out = df
    if token_key is not None:
        from hanlink.privacy.tokens import tokenize_frame

        ident = {c: t for c in df.columns if (t := column_tag(c)) in IDENTIFYING}
        out = tokenize_frame(df, ident, token_key)  # type: ignore[arg-type]
    return mask_frame(out)
