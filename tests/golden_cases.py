"""Checks a standardizer's output row against a golden case from tests/cases/standardize/*.json."""

from __future__ import annotations


def check_case(case: dict[str, object], out: dict[str, object]) -> None:
    """Every key of the case except 'raw' must equal the output's value for it."""
    for key, want in case.items():
        if key != "raw":
            assert out[key] == want, f"{case['raw']!r}: {key} = {out[key]!r}, want {want!r}"
