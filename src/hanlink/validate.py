"""Validate stage: std_standardized → dq_findings, std_records (rows kept) and quarantine (rows rejected).

Every rule of the catalogue (hanlink.rules) is a Pandera check named by its rule id, hung on the `rid`
column so a failure case is a row id, never a raw value. The StdRecords contract is checked in the
same pass; a contract failure is a bug upstream and stops the run. Rejected rows are found by joining
failure indexes to rid (not drop_invalid_rows: open bugs on polars).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from hanlink.config import SourceConfig
from hanlink.db import Database, ident
from hanlink.errors import ConservationError, StageError
from hanlink.fields import CANONICAL_FIELDS
from hanlink.mask import mask_field
from hanlink.rules import CATALOGUE, RULES, catalogue_frame
from hanlink.standardize.name_data import SAMPLE_NAMES
from hanlink.tables import DQ_FINDINGS, QUARANTINE, STD_RECORDS, STD_REJECTED, STD_STANDARDIZED, raw_table
from schemas.dq_findings import DqFindings
from schemas.quarantine import Quarantine
from schemas.std_records import StdRecords

LINEAGE_COLUMNS = ("_row_number", "_source", "_file", "_file_sha256", "_run_id")
RAW_FIELDS = tuple(f for f in CANONICAL_FIELDS if f != "record_id")
_REJECTED = "_hanlink_validate_rejected"

Check = tuple[str, str, pl.Expr]   # (rule id, field, expression true where the row FAILS)


def _blank(col: str) -> pl.Expr:
    return pl.col(col).is_null() | (pl.col(col).str.strip_chars() == "")


def _present(field: str) -> pl.Expr:
    """A usable standardized value for a canonical field (record_id: a non-blank original)."""
    return ~_blank("record_id_raw") if field == "record_id" else pl.col(field).is_not_null()


def rule_checks(sources: Sequence[SourceConfig]) -> list[Check]:
    """One (rule id, field, failing-row expression) per check, in catalogue order.

    Rules found while standardizing are read from `std_issues`; the others compare fields or records.
    record.required_missing has one check per field some source requires (field = that field).
    """
    required: dict[str, list[str]] = {}
    for src in sources:
        for f in src.required:
            required.setdefault(f, []).append(src.name)
    name_required = required.get("name", [])
    cross: dict[str, list[Check]] = {
        "record.empty": [("record.empty", "record",
                          pl.all_horizontal([_blank(f"{f}_raw") for f in RAW_FIELDS]))],
        "record.required_missing": [
            ("record.required_missing", f, pl.col("source").is_in(names) & ~_present(f))
            for f, names in required.items()],
        "record.junk": [("record.junk", "record",
                         ((pl.col("name_type") == "junk") | pl.col("name").is_in(list(SAMPLE_NAMES)))
                         & pl.col("phone").is_null()
                         & pl.col("landline").is_null() & ~pl.col("id_valid") & pl.col("email").is_null())],
        "record.duplicate_id": [("record.duplicate_id", "record_id",
                                 ~_blank("record_id_raw")
                                 & pl.struct("source", "source_record_id").is_duplicated())],
        "name.missing": [("name.missing", "name",
                          (pl.col("name_type") == "missing") & ~pl.col("source").is_in(name_required))],
        "id.birth_mismatch": [("id.birth_mismatch", "birth_date",
                               pl.col("id_birth_date") != pl.col("birth_date"))],
        "id.gender_mismatch": [("id.gender_mismatch", "gender", pl.col("id_gender") != pl.col("gender"))],
    }
    checks: list[Check] = []
    for r in RULES:
        if r.detected_by == "standardize":
            checks.append((r.id, r.field, pl.col("std_issues").list.contains(r.id)))
        elif r.detected_by == "validate":
            checks.extend(cross[r.id])
    return checks


def _passes(failing: pl.Expr) -> Callable[[PolarsData], pl.LazyFrame]:
    def check(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~failing.fill_null(False))
    return check


def find_failures(df: pl.DataFrame, sources: Sequence[SourceConfig], run_id: str) -> pl.DataFrame:
    """Run the contract and every rule in one lazy Pandera validation: (rid, rule_id, field) per failure.

    Raises StageError when the frame breaks the StdRecords contract (counts only, no values)."""
    checks = rule_checks(sources)
    schema = StdRecords.to_schema()
    rid_checks = list(schema.columns["rid"].checks)
    offset = len(rid_checks)
    schema = schema.update_column("rid", checks=[
        *rid_checks, *(pa.Check(_passes(expr), name=rule_id) for rule_id, _, expr in checks)])
    empty = pl.DataFrame(schema={"rid": pl.Int64, "rule_id": pl.String, "field": pl.String})
    try:
        schema.validate(df, lazy=True)
        return empty
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    is_rule = ((pl.col("column") == "rid") & (pl.col("check_number") >= offset)
               & pl.col("index").is_not_null()).fill_null(False)
    broken = fc.filter(~is_rule)
    if broken.height:
        summary = broken.group_by("column", "check").len().sort("column", "check")
        detail = "; ".join(f"{c}: {k} ({n} rows)" for c, k, n in summary.iter_rows())
        raise StageError(f"{STD_STANDARDIZED} breaks the std_records contract: {detail}",
                         stage="validate", run_id=run_id)
    which = pl.DataFrame({"check_number": list(range(offset, offset + len(checks))),
                          "rule_id": [c[0] for c in checks], "field": [c[1] for c in checks]},
                         schema={"check_number": pl.Int32, "rule_id": pl.String, "field": pl.String})
    hits = fc.filter(is_rule).select("check_number", "index").join(which, on="check_number")
    rids = df.select("rid").with_row_index("index").with_columns(pl.col("index").cast(pl.Int32))
    return hits.join(rids, on="index").select("rid", "rule_id", "field")


def build_findings(df: pl.DataFrame, failures: pl.DataFrame, run_id: str) -> pl.DataFrame:
    """dq_findings rows: lineage, rule, severity, masked value of the field's original, messages."""
    cat = catalogue_frame().with_row_index("_order").select(
        "_order", rule_id="id", severity="severity", message_zh="message_zh", message_en="message_en")
    raw_cols = [c for c in df.columns if c.endswith("_raw")]
    rows = (failures.join(cat, on="rule_id")
            .join(df.select("rid", "source", "source_record_id", "row_number", *raw_cols), on="rid"))
    value = pl.lit(None, dtype=pl.String)
    for field in rows["field"].unique().sort().to_list():
        if f"{field}_raw" in raw_cols:
            value = (pl.when((pl.col("field") == field) & (pl.col("rule_id") != "record.required_missing"))
                     .then(mask_field(field, pl.col(f"{field}_raw"))).otherwise(value))
    return rows.sort("rid", "_order", "field").select(
        run_id=pl.lit(run_id), rid="rid", source="source", source_record_id="source_record_id",
        row_number="row_number", rule_id="rule_id", field="field", severity="severity",
        value_masked=value, message_zh="message_zh", message_en="message_en")


def _raw_json(db: Database, keys: pl.DataFrame, df: pl.DataFrame) -> pl.DataFrame:
    """(source, row_number, file, raw_json) for the rejected rows: the raw_<source> row as read, every
    source column (lineage left out) as a JSON object keyed by the original headers."""
    parts = []
    for (source,), sub in keys.group_by("source", maintain_order=True):
        table = raw_table(str(source))
        if db.has_table(table):
            cols = [c for c in db.columns(table) if c not in LINEAGE_COLUMNS]
            obj = ", ".join(f"'{c.replace(chr(39), chr(39) * 2)}', CAST({ident(c)} AS VARCHAR)" for c in cols)
            db.write(_REJECTED, sub.select("row_number"))
            parts.append(db.query(
                f"SELECT CAST(? AS VARCHAR) AS source, CAST(r._row_number AS BIGINT) AS row_number, "
                f"CAST(r._file AS VARCHAR) AS file, CAST(json_object({obj}) AS VARCHAR) AS raw_json "
                f"FROM {table} r JOIN {_REJECTED} k ON r._row_number = k.row_number", [str(source)]))
            db.execute(f"DROP TABLE IF EXISTS {_REJECTED}")
        else:   # no raw table (std built elsewhere): the mapped originals are what we have
            raw_cols = [c for c in df.columns if c.endswith("_raw")]
            parts.append(sub.join(df.select("source", "row_number", *raw_cols), on=["source", "row_number"])
                         .select("source", "row_number", file=pl.lit(None, dtype=pl.String),
                                 raw_json=pl.struct(raw_cols).struct.json_encode()))
    schema = {"source": pl.String, "row_number": pl.Int64, "file": pl.String, "raw_json": pl.String}
    return pl.concat([p.cast(schema) for p in parts]) if parts else pl.DataFrame(schema=schema)  # type: ignore[arg-type]


def build_quarantine(db: Database, df: pl.DataFrame, findings: pl.DataFrame, run_id: str) -> pl.DataFrame:
    """One quarantine row per rejected record with ALL its reject rule ids and reasons (catalogue order)."""
    rej = findings.filter(pl.col("severity") == "reject")
    per_field = pl.col("rule_id") == "record.required_missing"
    rej = rej.with_columns(
        reason_zh=pl.when(per_field).then(pl.col("message_zh") + "：" + pl.col("field"))
        .otherwise(pl.col("message_zh")),
        reason_en=pl.when(per_field).then(pl.col("message_en") + ": " + pl.col("field"))
        .otherwise(pl.col("message_en")))
    grouped = rej.group_by("rid", maintain_order=True).agg(
        pl.col("source").first(), pl.col("row_number").first(), pl.col("source_record_id").first(),
        rule_ids=pl.col("rule_id").unique(maintain_order=True).str.join(";"),
        reason_zh=pl.col("reason_zh").unique(maintain_order=True).str.join("；"),
        reason_en=pl.col("reason_en").unique(maintain_order=True).str.join("; "))
    raw = _raw_json(db, grouped.select("source", "row_number"), df)
    return grouped.join(raw, on=["source", "row_number"], how="left", maintain_order="left").select(
        "rid", run_id=pl.lit(run_id), stage=pl.lit("validate"), source="source", file="file",
        row_number="row_number", source_record_id="source_record_id", rule_ids="rule_ids",
        reason_zh="reason_zh", reason_en="reason_en", raw_json="raw_json")


def check_conservation(db: Database, run_id: str) -> tuple[int, int, int]:
    """(std_standardized, std_records, validate-quarantined) row counts; ConservationError unless the
    first is the sum of the other two."""
    n_std, n_rec = db.count(STD_STANDARDIZED), db.count(STD_RECORDS)
    n_q = int(db.scalar(f"SELECT count(*) FROM {QUARANTINE} WHERE run_id = ? AND stage = 'validate'",
                        [run_id]))
    if n_std != n_rec + n_q:
        raise ConservationError(
            f"{STD_STANDARDIZED} has {n_std} rows but {STD_RECORDS} {n_rec} + quarantined {n_q} = "
            f"{n_rec + n_q}", stage="validate", run_id=run_id)
    return n_std, n_rec, n_q


# Rows checked per pass: all of std_standardized at 10M rows passes 16 GB in polars + Pandera. Parts are
# split by (source, source_record_id), so the one cross-row rule (record.duplicate_id) still sees every row
# of a key together, and the results are put back in rid order: the same tables as one pass.
PART_ROWS = 2_000_000


def _check_in_parts(db: Database, sources: Sequence[SourceConfig], run_id: str
                    ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(findings, quarantine) of std_standardized, checked in parts of about PART_ROWS rows."""
    parts = max(1, -(-db.count(STD_STANDARDIZED) // PART_ROWS))
    if parts == 1:
        df = db.table(STD_STANDARDIZED)
        findings = build_findings(df, find_failures(df, sources, run_id), run_id)
        return findings, build_quarantine(db, df, findings, run_id)
    # The contract's rid uniqueness spans parts: checked once over all rows.
    repeated = int(db.scalar(f"SELECT count(*) - count(DISTINCT rid) FROM {STD_STANDARDIZED}") or 0)
    if repeated:
        raise StageError(f"{STD_STANDARDIZED} breaks the std_records contract: rid: unique ({repeated} rows)",
                         stage="validate", run_id=run_id)
    found, held = [], []
    for i in range(parts):
        df = db.query(f"SELECT * FROM {STD_STANDARDIZED} "
                      f"WHERE hash(source, source_record_id) % {parts} = {i} ORDER BY rid")
        part = build_findings(df, find_failures(df, sources, run_id), run_id)
        found.append(part)
        held.append(build_quarantine(db, df, part, run_id))
        del df
    return (pl.concat(found).sort("rid", maintain_order=True),
            pl.concat(held).sort("rid", maintain_order=True))


def validate(db: Database, sources: Sequence[SourceConfig], run_id: str) -> dict[str, int]:
    """Stage entry: check std_standardized, write dq_findings (replaced), std_records (replaced: rows not
    rejected, rid kept) and this run's validate rows of quarantine (replaced, other stages kept).

    Conservation: rows(std_standardized) = rows(std_records) + validate-quarantined rows, else
    ConservationError."""
    if not db.has_table(STD_STANDARDIZED):
        raise StageError(f"table {STD_STANDARDIZED} not found: run standardize first",
                         stage="validate", run_id=run_id)
    findings, quarantine = _check_in_parts(db, sources, run_id)
    DqFindings.validate(findings, lazy=True)
    Quarantine.validate(quarantine.drop("rid"), lazy=True)
    with db.transaction():
        db.write(DQ_FINDINGS, findings)
        if db.has_table(QUARANTINE):
            db.execute(f"DELETE FROM {QUARANTINE} WHERE run_id = ? AND stage = 'validate'", [run_id])
        db.write(QUARANTINE, quarantine.drop("rid"), mode="append")
        # std_records is a view: copying the wide table cost ≈ 8 s of validate's ≈ 11 s at 1M rows (the
        # copy and its checkpoint), while every later stage reads only a few of its columns.
        db.write(STD_REJECTED, quarantine.select("rid"))
        db.drop(STD_RECORDS)
        db.execute(f"CREATE VIEW {STD_RECORDS} AS SELECT * FROM {STD_STANDARDIZED} "
                   f"WHERE rid NOT IN (SELECT rid FROM {STD_REJECTED})")
    n_std, n_rec, n_q = check_conservation(db, run_id)
    return {"rows": n_std, "accepted": n_rec, "quarantined": n_q, "findings": findings.height,
            "findings_reject": int((findings["severity"] == "reject").sum()),
            "findings_warn": int((findings["severity"] == "warn").sum()),
            "rules_fired": findings["rule_id"].n_unique()}


__all__ = ["CATALOGUE", "build_findings", "build_quarantine", "check_conservation", "find_failures",
           "rule_checks", "validate"]
