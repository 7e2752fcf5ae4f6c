"""The rule catalogue: stable, complete metadata, and docs/rules.md generated from it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from hanlink.fields import CANONICAL_FIELDS
from hanlink.rules import CATALOGUE, RULES, Dimension, GbtIndicator, catalogue_frame, render_markdown, rule

DOC = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


def test_docs_are_generated_from_the_catalogue() -> None:
    assert DOC.read_text(encoding="utf-8") == render_markdown(), "run: python -m hanlink.rules"


def test_ids_are_unique_stable_and_well_formed() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", i) for i in ids)
    # ids other stages and reports rely on
    for rule_id in ("ingest.undecodable", "ingest.ragged", "phone.malformed", "phone.placeholder",
                    "phone.missing_digit", "id.checksum", "id.placeholder", "id.birth_mismatch",
                    "id.gender_mismatch", "id.malformed", "date.impossible", "email.malformed", "record.junk",
                    "record.required_missing", "name.missing"):
        assert rule_id in CATALOGUE


def test_metadata_is_complete() -> None:
    for r in RULES:
        assert r.field in (*CANONICAL_FIELDS, "record"), r
        assert r.severity in ("reject", "warn")
        assert r.dimension in get_args(Dimension) and r.gbt in get_args(GbtIndicator)
        assert re.search(r"[\u4e00-\u9fff]", r.message_zh) and re.search(r"[A-Za-z]", r.message_en)
    # every GB/T 36344 indicator has at least one rule, so the scorecard can show all six
    assert {r.gbt for r in RULES} == set(get_args(GbtIndicator))
    assert catalogue_frame().height == len(RULES)


def test_unknown_rule_names_the_valid_ones() -> None:
    with pytest.raises(KeyError, match=r"phone\.placeholder"):
        rule("phone.typo")
