"""The scorecard on generated data: figures checked exactly against the generator's ground truth (truth.csv)
and the source files as written, read here without hanlink."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from quality_project import RUNS, QualityProject, shared_project

from hanlink.db import Database
from hanlink.pipeline import open_database
from hanlink.rules import CATALOGUE

RUN = RUNS[-1]
# injected error (truth.csv) → the catalogue rule that must flag exactly those records
INJECTED = {
    "phone_placeholder": "phone.placeholder",
    "id_placeholder": "id.placeholder",
    "email_malformed": "email.malformed",
    "date_impossible": "date.impossible",
}
# Junk records carry placeholder phones and ID numbers by design (generate.entities.draw_junk).
JUNK_VALUES = {"phone.placeholder", "id.placeholder"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> QualityProject:
    """600 generated records in 4 sources, run twice through the pipeline."""
    return shared_project(tmp_path_factory)


@pytest.fixture
def db(project: QualityProject) -> Database:
    """The project's warehouse, read-only."""
    with open_database(project.cfg, read_only=True) as database:
        yield database


def figure(db: Database, level: str, dimension: str | None, *, source: str | None = None,
           field: str | None = None, rule_id: str | None = None) -> tuple[int, int]:
    rows = db.fetchall(
        "SELECT numerator, denominator FROM dq_scorecard WHERE run_id = ? AND level = ? "
        "AND dimension IS NOT DISTINCT FROM ? AND source IS NOT DISTINCT FROM ? "
        "AND field IS NOT DISTINCT FROM ? AND rule_id IS NOT DISTINCT FROM ?",
        [RUN, level, dimension, source, field, rule_id])
    assert len(rows) <= 1
    return rows[0] if rows else (0, 0)


def present(project: QualityProject, source: str, field: str) -> int:
    """Non-blank cells of the column a source maps to `field`, counted in the file itself."""
    header = next(s for s in project.cfg.sources if s.name == source).fields[field]
    col = project.source_frame(source)[header]
    return int((col.is_not_null() & (col.str.strip_chars() != "")).sum())


def test_rows_in_and_out_match_the_truth(project: QualityProject, db: Database) -> None:
    truth = pl.read_csv(project.data.truth, infer_schema_length=0)
    junk = int((truth["entity_kind"] == "junk").sum())
    summary = dict(db.fetchall("SELECT metric, value FROM dq_run_summary WHERE run_id = ?", [RUN]))
    assert summary["records_in"] == truth.height == project.data.n_records
    assert summary["quarantined"] == junk          # junk records, and only they, are rejected here
    assert summary["accepted"] == truth.height - junk
    assert summary["golden"] == summary["entities"] and summary["balanced"] == 1
    for source, n in project.data.records_by_source.items():
        assert figure(db, "rule", "accuracy", source=source, field="record", rule_id="record.junk") == (
            n - int(((truth["entity_kind"] == "junk") & (truth["source"] == source)).sum()), n)


@pytest.mark.parametrize("field", ["name", "phone", "id_number", "email", "address", "birth_date"])
def test_completeness_per_source_and_field_is_the_share_of_filled_cells(
        project: QualityProject, db: Database, field: str) -> None:
    for src in project.cfg.sources:
        if field in src.fields:
            n = project.data.records_by_source[src.name]
            assert figure(db, "field", "completeness", source=src.name, field=field) == (
                present(project, src.name, field), n), src.name


def test_injected_errors_are_counted_exactly_by_their_rule(project: QualityProject, db: Database) -> None:
    truth = project.truth()
    kinds = pl.read_csv(project.data.truth, infer_schema_length=0)["entity_kind"]
    checked = 0
    for error, rule_id in INJECTED.items():
        field = CATALOGUE[rule_id].field
        for src in project.cfg.sources:
            if field not in src.fields:
                continue
            expected = int(((truth["errors"] == error) & (truth["source"] == src.name)).sum())
            if rule_id in JUNK_VALUES:
                expected += junk_with_value(project, src.name, field, kinds)
            scope = present(project, src.name, field)
            got = figure(db, "rule", CATALOGUE[rule_id].dimension, source=src.name, field=field,
                         rule_id=rule_id)
            # a rule that flagged nothing in the source passes every record in scope (or has no row at all)
            assert got in ([(scope - expected, scope)] if expected else [(scope, scope), (0, 0)]), (
                rule_id, src.name)
            checked += bool(expected)
    assert checked >= 5  # the generator did inject these errors into several sources


def junk_with_value(project: QualityProject, source: str, field: str, kinds: pl.Series) -> int:
    """Junk records of `source` (truth.csv) that have a value in `field` in the file."""
    header = next(s for s in project.cfg.sources if s.name == source).fields[field]
    col = project.source_frame(source)[header]
    sources = pl.read_csv(project.data.truth, infer_schema_length=0)["source"]
    is_junk = kinds.filter(sources == source) == "junk"
    return int((is_junk & col.is_not_null() & (col.str.strip_chars() != "")).sum())


def test_accuracy_of_phones_is_present_minus_placeholders(project: QualityProject, db: Database) -> None:
    truth = project.truth()
    kinds = pl.read_csv(project.data.truth, infer_schema_length=0)["entity_kind"]
    for src in project.cfg.sources:
        if "phone" in src.fields:
            mine = truth["source"] == src.name
            placeholders = int(((truth["errors"] == "phone_placeholder") & mine).sum())
            placeholders += junk_with_value(project, src.name, "phone", kinds)
            n = present(project, src.name, "phone")
            assert figure(db, "field", "accuracy", source=src.name, field="phone") == (n - placeholders, n)


def test_uniqueness_is_entities_over_accepted_records(db: Database) -> None:
    records, entities = db.fetchall("SELECT count(*), count(DISTINCT entity_id) FROM entities")[0]
    assert figure(db, "dimension", "uniqueness") == (entities, records)


def test_each_run_keeps_its_own_scorecard(db: Database, project: QualityProject) -> None:
    runs = [r[0] for r in db.fetchall("SELECT DISTINCT run_id FROM dq_scorecard ORDER BY 1")]
    assert runs == list(RUNS)
    # same input twice: the same figures
    a, b = (db.query("SELECT level, source, field, rule_id, dimension, numerator, denominator "
                     "FROM dq_scorecard WHERE run_id = ? ORDER BY ALL", [r]) for r in RUNS)
    assert a.equals(b)
    assert Path(project.out / "dashboard" / f"{RUN}.html").exists()
