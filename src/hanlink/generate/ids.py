"""Vectorized builders of valid identifiers: resident ID numbers (GB 11643) and credit codes (GB 32100).

Identifiers are held as (n, width) arrays of Unicode code points so that typos, truncation and case changes
are array operations; `to_strings` turns them into strings without a Python loop.
"""

from __future__ import annotations

import numpy as np

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = "10X98765432"                       # ISO 7064 MOD 11-2: check character by (sum mod 11)
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100 alphabet (no I, O, S, V, Z)
USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)  # GB 11714 organization code

_ID_CHECK_CODES = np.array([ord(c) for c in ID_CHECK], dtype=np.uint32)
_USCC_CODES = np.array([ord(c) for c in USCC_CHARS], dtype=np.uint32)


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """The decimal digits of non-negative integers as an (n, width) int64 array, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (np.asarray(values, dtype=np.int64)[:, None] // powers) % 10


def to_strings(codes: np.ndarray) -> np.ndarray:
    """(n, k) code points → length-k strings (numpy '<Uk')."""
    k = codes.shape[1]
    return np.ascontiguousarray(codes, dtype=np.uint32).view(f"<U{k}").ravel()


def resident_id_codes(region: np.ndarray, year: np.ndarray, month: np.ndarray, day: np.ndarray,
                      seq: np.ndarray) -> np.ndarray:
    """18-character resident IDs as code points: region(6) birth date(8) sequence(3) check(1).

    The caller sets the sequence parity (odd = male); the check character is computed here.
    """
    body = np.concatenate(
        [digits(region, 6), digits(year, 4), digits(month, 2), digits(day, 2), digits(seq, 3)], axis=1)
    check = _ID_CHECK_CODES[(body * ID_WEIGHTS).sum(axis=1) % 11]
    return np.concatenate([body.astype(np.uint32) + ord("0"), check[:, None]], axis=1)


def credit_code_codes(region: np.ndarray, org_body: np.ndarray) -> np.ndarray:
    """18-character unified social credit codes of enterprises registered with market regulation (91…):
    '9' '1' region(6) organization code(8 digits + its GB 11714 check) check(1)."""
    org = digits(org_body, 8)
    c9 = 11 - (org * ORG_WEIGHTS).sum(axis=1) % 11
    # 10 → 'X' (value 29 in the GB 32100 alphabet), 11 → '0'
    org_check = np.where(c9 == 10, USCC_CHARS.index("X"), np.where(c9 == 11, 0, c9))
    n = len(region)
    values = np.concatenate(
        [np.full((n, 1), 9), np.full((n, 1), 1), digits(region, 6), org, org_check[:, None]], axis=1)
    check = (31 - (values * USCC_WEIGHTS).sum(axis=1) % 31) % 31
    return np.concatenate([_USCC_CODES[values], _USCC_CODES[check][:, None]], axis=1)
