"""The canonical customer fields every source is mapped onto, and which of them are sensitive.

This module is the single source of sensitivity: `SENSITIVE` tags canonical fields, `COLUMN_TAGS` tags
every stored column derived from one (raw text, pinyin, birth date taken from an ID number, …). The
Pandera schemas carry the same tags in their field metadata (`sensitivity(...)`), and a test checks they
agree; masking (hanlink.mask) and tokens (hanlink.privacy.tokens) are applied by tag, never by hand.
"""

from __future__ import annotations

from typing import Literal

# Order matters: it is the column order of std_records and of the golden records.
CANONICAL_FIELDS: tuple[str, ...] = (
    "record_id",    # the source system's own id of the record (客户编号); lineage, never compared
    "name",         # 姓名: Hanzi, traditional, pinyin in any order, or a company name
    "phone",        # 手机号: usually a mobile, sometimes a landline
    "landline",     # 座机/固定电话: shared by a household, so weak evidence
    "id_number",    # 身份证号 (GB 11643) or a unified social credit code for companies
    "email",
    "address",      # 详细地址, free text
    "province",
    "city",
    "district",     # 区县
    "birth_date",
    "gender",
    "updated_at",   # when the source last changed the record: survivorship and timeliness
)

Field = Literal[
    "record_id", "name", "phone", "landline", "id_number", "email", "address",
    "province", "city", "district", "birth_date", "gender", "updated_at",
]

SensitivityTag = Literal["name", "phone", "id_number", "email", "address", "birth_date"]
SENSITIVITY_TAGS: tuple[SensitivityTag, ...] = (
    "name", "phone", "id_number", "email", "address", "birth_date")

# Sensitivity tags drive masking and tokenization (issue 7); reports never show these raw.
SENSITIVE: dict[str, SensitivityTag] = {
    "name": "name",
    "phone": "phone",
    "landline": "phone",
    "id_number": "id_number",
    "email": "email",
    "address": "address",
    "birth_date": "birth_date",
}

# Tags whose values identify one person on their own: they get keyed tokens (joinable without the value),
# they are what a deletion request names, and no analyst or manager output may contain them raw.
IDENTIFYING: tuple[SensitivityTag, ...] = ("phone", "id_number", "email")

# Every stored column that holds (part of) a sensitive value, by tag: the canonical columns, their `_raw`
# originals, and the columns derived from them in std_records (schemas/std_records.py).
COLUMN_TAGS: dict[str, SensitivityTag] = {
    **SENSITIVE,
    **{f"{f}_raw": t for f, t in SENSITIVE.items()},
    "surname": "name", "surname_pinyin": "name", "surname_alt": "name", "given_name": "name",
    "name_pinyin": "name", "given_pinyin": "name", "name_key": "name",
    "phone_ext": "phone", "landline_ext": "phone",
    "id_birth_date": "birth_date",
    "address_detail": "address",
    "other_id": "id_number", "address_text": "address",
}


def sensitivity(tag: SensitivityTag) -> dict[str, str]:
    """Pandera field metadata for a sensitive column: `pa.Field(..., metadata=sensitivity("phone"))`."""
    return {"sensitivity": tag}


def column_tag(column: str) -> SensitivityTag | None:
    """The sensitivity tag of a stored column (None: not sensitive)."""
    return COLUMN_TAGS.get(column)
