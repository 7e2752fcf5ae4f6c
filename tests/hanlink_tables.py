"""Hand-made stage tables for tests: std_records rows with every unspecified contract column filled."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl

# Column → dtype of the std_records contract (schemas/std_records.py), in contract order.
STD_SCHEMA: dict[str, Any] = {
    "rid": pl.Int64,
    "source": pl.Utf8,
    "source_record_id": pl.Utf8,
    "row_number": pl.Int64,
    "run_id": pl.Utf8,
    **{
        f"{f}_raw": pl.Utf8
        for f in (
            "name",
            "phone",
            "landline",
            "id_number",
            "email",
            "address",
            "province",
            "city",
            "district",
            "birth_date",
            "gender",
            "updated_at",
        )
    },
    "name": pl.Utf8,
    "name_type": pl.Utf8,
    "surname": pl.Utf8,
    "given_name": pl.Utf8,
    "name_pinyin": pl.Utf8,
    "given_pinyin": pl.Utf8,
    "name_key": pl.Utf8,
    "phone": pl.Utf8,
    "phone_type": pl.Utf8,
    "phone_ext": pl.Utf8,
    "landline": pl.Utf8,
    "landline_type": pl.Utf8,
    "id_number": pl.Utf8,
    "id_status": pl.Utf8,
    "id_valid": pl.Boolean,
    "id_birth_date": pl.Date,
    "id_gender": pl.Utf8,
    "id_region": pl.Utf8,
    "email": pl.Utf8,
    "email_valid": pl.Boolean,
    "address": pl.Utf8,
    "province": pl.Utf8,
    "city": pl.Utf8,
    "district": pl.Utf8,
    "address_detail": pl.Utf8,
    "birth_date": pl.Date,
    "gender": pl.Utf8,
    "updated_at": pl.Datetime("us"),
}
_RAW_FIELDS = (
    "name",
    "phone",
    "landline",
    "id_number",
    "email",
    "address",
    "province",
    "city",
    "district",
    "birth_date",
    "gender",
    "updated_at",
)


def _raw_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def std_row(i: int, run_id: str = "r1", **given: Any) -> dict[str, Any]:
    """One std_records row: `given` values, the rest defaulted (types follow the values, raw = the value)."""
    row: dict[str, Any] = dict.fromkeys(STD_SCHEMA)
    row.update(rid=i, source="crm", source_record_id=None, row_number=None, run_id=run_id)
    row.update(given)
    row["source_record_id"] = row["source_record_id"] or f"C{i:04d}"
    row["row_number"] = row["row_number"] or i + 1
    defaults = {
        "name_type": "hanzi" if row["name"] else "missing",
        "phone_type": "mobile" if row["phone"] else "missing",
        "landline_type": "landline" if row["landline"] else "missing",
        "id_status": "valid" if row["id_number"] else "missing",
        "id_valid": row.get("id_status") in (None, "valid", "valid_15") and bool(row["id_number"]),
        "email_valid": bool(row["email"]),
    }
    for key, value in defaults.items():
        if key not in given:
            row[key] = value
    for f in _RAW_FIELDS:
        if f"{f}_raw" not in given:
            row[f"{f}_raw"] = _raw_text(row[f])
    return row


def std_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A std_records frame with exactly the contract's columns and dtypes."""
    return pl.DataFrame(rows, schema=STD_SCHEMA)


def entities_frame(groups: dict[str, list[int]]) -> pl.DataFrame:
    """entities rows from {entity_id: [rid, ...]}."""
    rows = [
        {"rid": rid, "entity_id": eid, "cluster_size": len(rids)}
        for eid, rids in groups.items()
        for rid in rids
    ]
    return pl.DataFrame(rows, schema={"rid": pl.Int64, "entity_id": pl.Utf8, "cluster_size": pl.Int32})


QUARANTINE_SCHEMA: dict[str, Any] = {
    "run_id": pl.Utf8,
    "stage": pl.Utf8,
    "source": pl.Utf8,
    "file": pl.Utf8,
    "row_number": pl.Int64,
    "source_record_id": pl.Utf8,
    "rule_ids": pl.Utf8,
    "reason_zh": pl.Utf8,
    "reason_en": pl.Utf8,
    "raw_json": pl.Utf8,
}


def quarantine_frame(rows: list[dict[str, Any]], run_id: str = "r1") -> pl.DataFrame:
    """quarantine rows: give source, row_number, stage (default 'validate'), optional source_record_id."""
    full = [
        {
            **dict.fromkeys(QUARANTINE_SCHEMA),
            "run_id": run_id,
            "stage": "validate",
            "file": "in.csv",
            "rule_ids": "name.missing",
            "reason_zh": "缺少姓名",
            "reason_en": "name missing",
            "raw_json": "{}",
            **r,
        }
        for r in rows
    ]
    return pl.DataFrame(full, schema=QUARANTINE_SCHEMA)


FINDINGS_SCHEMA: dict[str, Any] = {
    "run_id": pl.Utf8,
    "rid": pl.Int64,
    "source": pl.Utf8,
    "source_record_id": pl.Utf8,
    "row_number": pl.Int64,
    "rule_id": pl.Utf8,
    "field": pl.Utf8,
    "severity": pl.Utf8,
    "value_masked": pl.Utf8,
    "message_zh": pl.Utf8,
    "message_en": pl.Utf8,
}


def findings_frame(rows: list[dict[str, Any]], run_id: str = "r1") -> pl.DataFrame:
    """dq_findings rows: give rid, source, rule_id, field (severity defaults to 'warn')."""
    full = [
        {
            **dict.fromkeys(FINDINGS_SCHEMA),
            "run_id": run_id,
            "severity": "warn",
            "message_zh": "问题",
            "message_en": "problem",
            **r,
        }
        for r in rows
    ]
    return pl.DataFrame(full, schema=FINDINGS_SCHEMA)
