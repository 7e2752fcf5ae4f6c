"""ID numbers: golden cases (15 → 18, x → X, credit codes), the checksum against a reference
implementation, and properties."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from golden_cases import check_case
from hypothesis import given, settings
from hypothesis import strategies as st

from hanlink.standardize.idnumbers import standardize_ids
from schemas.std_records import ID_STATUSES

CASES = json.loads((Path(__file__).parent / "cases" / "standardize" / "idnumbers.json").read_text("utf-8"))
TODAY = date(2026, 11, 26)
WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]     # ISO 7064 MOD 11-2, from its definition


def reference_check(body17: str) -> str:
    """GB 11643 check character, written independently of the code under test."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(body17, WEIGHTS, strict=True)) % 11]


def reference_credit_check(body17: str) -> str:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    total = sum(chars.index(c) * (3 ** i % 31) for i, c in enumerate(body17))
    return chars[(31 - total % 31) % 31]


@pytest.fixture(scope="module")
def golden() -> list[dict[str, object]]:
    """The golden raw ID numbers standardized in one call (a fixed 'today' for the future check)."""
    out = standardize_ids(pl.Series([c["raw"] for c in CASES], dtype=pl.String), today=TODAY)
    return out.with_columns(pl.col("id_birth_date").cast(pl.String)).to_dicts()


@pytest.mark.parametrize("i", range(len(CASES)), ids=[repr(c["raw"]) for c in CASES])
def test_golden_case(golden: list[dict[str, object]], i: int) -> None:
    check_case(CASES[i], golden[i])


def test_golden_numbers_really_are_what_the_cases_say() -> None:
    """The case file's valid numbers satisfy the reference checksum (so the golden file is not circular)."""
    for case in CASES:
        if case.get("id_status") == "valid" and isinstance(case["raw"], str):
            norm = case.get("id_number") or case["raw"].strip().replace(" ", "").upper()
            assert reference_check(norm[:17]) == norm[17], case
        if case.get("id_status") == "credit_code":
            norm = case["raw"].upper()
            assert reference_credit_check(norm[:17]) == norm[17], case


@given(st.lists(st.tuples(st.dates(date(1900, 1, 1), TODAY), st.integers(0, 999),
                          st.sampled_from(["110105", "440305", "510107", "650102"])),
                min_size=1, max_size=30))
@settings(max_examples=40, deadline=None)
def test_checksum_matches_reference(rows: list[tuple[date, int, str]]) -> None:
    bodies = [f"{region}{d:%Y%m%d}{seq:03d}" for d, seq, region in rows]
    good = [b + reference_check(b) for b in bodies]
    bad = [b + next(c for c in "0123456789X" if c != reference_check(b)) for b in bodies]
    short = [b[:6] + b[8:] for b in bodies if b[6:8] == "19"]        # the 15-digit form
    out = standardize_ids(pl.Series(good + bad + short), today=TODAY)
    n = len(bodies)
    assert out["id_status"][:n].to_list() == ["valid"] * n
    assert out["id_birth_date"][:n].to_list() == [d for d, _, _ in rows]
    assert out["id_gender"][:n].to_list() == ["M" if seq % 2 else "F" for _, seq, _ in rows]
    assert out["id_status"][n:2 * n].to_list() == ["checksum_error"] * n
    assert out["id_number"][2 * n:].to_list() == [g for g in good if g[6:8] == "19"]
    assert set(out["id_status"][2 * n:].to_list()) <= {"valid_15"}


def test_future_birth_date_is_bad() -> None:
    body = f"110105{TODAY + timedelta(days=1):%Y%m%d}123"
    out = standardize_ids(pl.Series([body + reference_check(body)]), today=TODAY)
    assert out["id_status"][0] == "bad_date"
    assert out["id_valid"][0] is False


@given(st.lists(st.text(max_size=20) | st.text(alphabet="0123456789Xx -", max_size=20)
                | st.from_regex(r"\A[1-6]\d{14}\Z") | st.from_regex(r"\A[1-6]\d{16}[\dX]\Z"), max_size=20))
@settings(max_examples=40, deadline=None)
def test_never_crashes_and_is_idempotent(values: list[str]) -> None:
    out = standardize_ids(pl.Series(values, dtype=pl.String), today=TODAY)
    assert out.height == len(values)
    assert set(out["id_status"].to_list()) <= set(ID_STATUSES)
    assert out["id_number"].drop_nulls().str.contains(r"^[0-9A-Z]{18}$").all()
    again = standardize_ids(out["id_number"], today=TODAY)
    assert again["id_number"].to_list() == out["id_number"].to_list()
    assert again["id_valid"].to_list() == out["id_valid"].to_list()
