"""Contract of `std_standardized` (every row read) and `std_records` (the rows validation accepted).

One row per input record. Every canonical field keeps its original text in `<field>_raw` beside the
standardized value. Standardized values are null when the original is missing or unusable; the reason
is in `dq_findings`, never lost. Columns typed `X | None` were added later (standardize always writes
them); they are not required, so hand-made frames of the original contract still validate.
"""

from __future__ import annotations

from typing import Annotated

import pandera.polars as pa
import polars as pl
from pandera.engines import polars_engine

from hanlink.fields import sensitivity

NAME_TYPES = ["hanzi", "romanized", "mixed", "company", "junk", "missing"]
PHONE_TYPES = ["mobile", "landline", "placeholder", "invalid", "missing"]
ID_STATUSES = ["valid", "valid_15", "checksum_error", "bad_date", "placeholder", "malformed",
               "credit_code", "missing"]


class StdRecords(pa.DataFrameModel):
    """One standardized customer record."""

    # lineage
    rid: int = pa.Field(ge=0, unique=True)            # dense row id in this run: source order, row number
    source: str
    source_record_id: str                              # the source's record id, else the 1-based row number
    row_number: int = pa.Field(ge=1)                   # 1-based data row number in the source file
    run_id: str

    # originals, exactly as read (text or null)
    record_id_raw: str | None = pa.Field(nullable=True)   # the mapped record id as read (may be blank)
    name_raw: str = pa.Field(nullable=True, metadata=sensitivity("name"))
    phone_raw: str = pa.Field(nullable=True, metadata=sensitivity("phone"))
    landline_raw: str = pa.Field(nullable=True, metadata=sensitivity("phone"))
    id_number_raw: str = pa.Field(nullable=True, metadata=sensitivity("id_number"))
    email_raw: str = pa.Field(nullable=True, metadata=sensitivity("email"))
    address_raw: str = pa.Field(nullable=True, metadata=sensitivity("address"))
    province_raw: str = pa.Field(nullable=True)
    city_raw: str = pa.Field(nullable=True)
    district_raw: str = pa.Field(nullable=True)
    birth_date_raw: str = pa.Field(nullable=True, metadata=sensitivity("birth_date"))
    gender_raw: str = pa.Field(nullable=True)
    updated_at_raw: str = pa.Field(nullable=True)

    # name
    # NFKC, simplified; romanized → lowercase "zhang wei"
    name: str = pa.Field(nullable=True, metadata=sensitivity("name"))
    name_type: str = pa.Field(isin=NAME_TYPES)
    # Hanzi surname (compound ones too), or pinyin surname
    surname: str = pa.Field(nullable=True, metadata=sensitivity("name"))
    # surname reading: 曾 → "zeng", 欧阳 → "ou yang"
    surname_pinyin: str | None = pa.Field(nullable=True, metadata=sensitivity("name"))
    # readings of a HK/TW spelling: "wang;huang"
    surname_alt: str | None = pa.Field(nullable=True, metadata=sensitivity("name"))
    given_name: str = pa.Field(nullable=True, metadata=sensitivity("name"))
    # toneless syllables, surname first: "zeng xiao ming"
    name_pinyin: str = pa.Field(nullable=True, metadata=sensitivity("name"))
    given_pinyin: str = pa.Field(nullable=True, metadata=sensitivity("name"))  # "xiao ming"
    # order-free key: syllables sorted, space-joined
    name_key: str = pa.Field(nullable=True, metadata=sensitivity("name"))

    # phones: digits only; mobiles 11 digits, landlines area code + number ("01062345678") or, in a
    # landline column written without the area code, the 7–8 local digits ("62345678")
    phone: str = pa.Field(nullable=True, str_matches=r"^[0-9]{7,12}$", metadata=sensitivity("phone"))
    phone_type: str = pa.Field(isin=PHONE_TYPES)
    phone_ext: str = pa.Field(nullable=True, str_matches=r"^[0-9]{1,6}$", metadata=sensitivity("phone"))
    landline: str = pa.Field(nullable=True, str_matches=r"^[0-9]{7,12}$", metadata=sensitivity("phone"))
    landline_type: str = pa.Field(isin=PHONE_TYPES)
    landline_ext: str | None = pa.Field(nullable=True, str_matches=r"^[0-9]{1,6}$",
                                        metadata=sensitivity("phone"))

    # resident ID number (GB 11643) or unified social credit code (GB 32100)
    # 18 chars, 'X' upper; 15 → 18
    id_number: str = pa.Field(nullable=True, str_matches=r"^[0-9A-Z]{18}$", metadata=sensitivity("id_number"))
    id_status: str = pa.Field(isin=ID_STATUSES)
    id_valid: bool                                     # checksum and birth date good, not a placeholder
    id_birth_date: pl.Date = pa.Field(nullable=True, metadata=sensitivity("birth_date"))
    id_gender: str = pa.Field(nullable=True, isin=["M", "F"])
    id_region: str = pa.Field(nullable=True, str_matches=r"^[0-9]{6}$")

    # valid only, lower case
    email: str = pa.Field(nullable=True, str_matches=r"^[^@\sA-Z]+@[^@\sA-Z]+$",
                          metadata=sensitivity("email"))
    email_valid: bool

    # address: admin parts normalized to full names (北京市, 北京市, 朝阳区); detail is the rest
    address: str = pa.Field(nullable=True, metadata=sensitivity("address"))
    province: str = pa.Field(nullable=True)
    city: str = pa.Field(nullable=True)
    district: str = pa.Field(nullable=True)
    address_detail: str = pa.Field(nullable=True, metadata=sensitivity("address"))

    birth_date: pl.Date = pa.Field(nullable=True, metadata=sensitivity("birth_date"))
    gender: str = pa.Field(nullable=True, isin=["M", "F"])
    updated_at: pl.Datetime = pa.Field(nullable=True)

    # rule ids of the problems standardize found while parsing (validate reports them as findings)
    std_issues: Annotated[polars_engine.List, pl.String()] | None

    class Config:
        strict = False      # later stages may carry extra helper columns
        coerce = False
