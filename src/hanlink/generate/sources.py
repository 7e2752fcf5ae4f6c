"""The simulated source systems: their headers, file formats, id styles and habits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FileFormat = Literal["csv", "excel", "parquet"]
Layout = Literal["sources", "single"]


@dataclass(frozen=True)
class SourceSpec:
    """One source system: canonical field → header (in file column order) and how it writes things."""

    name: str
    headers: dict[str, str]
    file_format: FileFormat
    encoding: Literal["utf-8", "gbk"]
    id_prefix: str
    id_start: int
    updated_format: str          # strftime pattern of its last-changed timestamp
    share: float                 # share of the records that come from this source
    split_address: bool = False  # province / city / district in their own columns

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.headers)


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec(
        name="crm",
        headers={"record_id": "客户编号", "name": "姓名", "phone": "手机号", "id_number": "身份证号",
                 "email": "邮箱", "address": "地址", "birth_date": "出生日期", "gender": "性别",
                 "updated_at": "更新时间"},
        file_format="csv", encoding="utf-8", id_prefix="KH", id_start=1,
        updated_format="%Y-%m-%d %H:%M:%S", share=0.35,
    ),
    SourceSpec(
        name="ecommerce",
        headers={"record_id": "customer_id", "name": "name", "phone": "mobile", "email": "email",
                 "province": "province", "city": "city", "district": "district", "address": "address",
                 "updated_at": "updated_at"},
        file_format="csv", encoding="gbk", id_prefix="", id_start=10_000_001,
        updated_format="%Y-%m-%dT%H:%M:%S+08:00", share=0.30, split_address=True,
    ),
    SourceSpec(
        name="pos",
        headers={"record_id": "会员号", "name": "会员姓名", "phone": "电话", "id_number": "证件号码",
                 "birth_date": "生日", "gender": "性别", "province": "省份", "city": "城市",
                 "district": "区县", "address": "详细地址", "updated_at": "最后消费时间"},
        file_format="excel", encoding="utf-8", id_prefix="VIP", id_start=1,
        updated_format="%Y/%m/%d %H:%M", share=0.20, split_address=True,
    ),
    SourceSpec(
        name="callcenter",
        headers={"record_id": "ticket_id", "name": "caller_name", "phone": "phone", "landline": "landline",
                 "id_number": "id_no", "address": "address", "updated_at": "updated"},
        file_format="parquet", encoding="utf-8", id_prefix="T", id_start=1,
        updated_format="%Y-%m-%d %H:%M:%S", share=0.15,
    ),
)

# layout='single': one merged customer file holding every field, the input of `hanlink dedupe`.
SINGLE = SourceSpec(
    name="customers",
    headers={"record_id": "记录编号", "name": "姓名", "phone": "手机号", "id_number": "身份证号",
             "email": "邮箱", "address": "地址", "birth_date": "出生日期", "gender": "性别",
             "updated_at": "更新时间", "landline": "座机"},
    file_format="csv", encoding="utf-8", id_prefix="R", id_start=1,
    updated_format="%Y-%m-%d %H:%M:%S", share=1.0,
)

STYLE_NAMES: tuple[str, ...] = tuple(s.name for s in SOURCES)
