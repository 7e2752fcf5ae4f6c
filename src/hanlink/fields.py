"""The canonical customer fields every source is mapped onto, and which of them are sensitive."""

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
