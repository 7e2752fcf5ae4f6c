"""The data-quality rule catalogue: stable rule ids with field, severity, DAMA dimension, GB/T 36344
indicator and bilingual messages. Data only; validate.py holds the checks, docs/rules.md is rendered here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

Severity = Literal["reject", "warn"]        # reject → quarantine; warn → kept and flagged
Dimension = Literal["completeness", "validity", "uniqueness", "consistency", "timeliness", "accuracy"]
GbtIndicator = Literal["规范性", "完整性", "准确性", "一致性", "时效性", "可访问性"]
# who finds it: ingest (quarantines the row itself), standardize (listed in std_issues while parsing),
# validate (a check across fields or records)
DetectedBy = Literal["ingest", "standardize", "validate"]


@dataclass(frozen=True)
class Rule:
    """One data-quality rule. `field` is the canonical field it concerns ('record' for whole rows)."""

    id: str
    field: str
    severity: Severity
    dimension: Dimension
    gbt: GbtIndicator
    detected_by: DetectedBy
    message_zh: str
    message_en: str


def _r(id: str, field: str, severity: Severity, dimension: Dimension, gbt: GbtIndicator,
       detected_by: DetectedBy, zh: str, en: str) -> Rule:
    return Rule(id, field, severity, dimension, gbt, detected_by, zh, en)


RULES: tuple[Rule, ...] = (
    _r("ingest.undecodable", "record", "reject", "validity", "可访问性", "ingest",
       "该行无法按源文件编码解码", "The row cannot be decoded in the source file's encoding"),
    _r("ingest.ragged", "record", "reject", "validity", "规范性", "ingest",
       "该行字段数与表头不一致", "The row has a different number of fields than the header"),
    _r("record.empty", "record", "reject", "completeness", "完整性", "validate",
       "记录的所有字段均为空", "Every field of the record is empty"),
    _r("record.required_missing", "record", "reject", "completeness", "完整性", "validate",
       "必填字段缺失或无效", "A required field is missing or unusable"),
    _r("record.junk", "record", "reject", "accuracy", "准确性", "validate",
       "测试或无效记录：姓名为占位值（或“张三”“李四”等示例姓名），且没有可用的手机、座机、证件号或邮箱",
       "Test or junk record: placeholder name (or a stand-in such as 张三, 李四) and no usable phone, "
       "landline, ID number or email"),
    _r("record.duplicate_id", "record_id", "warn", "uniqueness", "准确性", "validate",
       "同一来源中客户编号重复", "The same record id appears more than once in this source"),
    _r("name.missing", "name", "warn", "completeness", "完整性", "validate",
       "姓名缺失", "Name is missing"),
    _r("name.junk", "name", "warn", "accuracy", "准确性", "standardize",
       "姓名为占位值（如“测试”“未知”“无”）", "Name is a placeholder (test, unknown, none …)"),
    _r("name.annotated", "name", "warn", "validity", "规范性", "standardize",
       "姓名中带有称谓或备注（如“王小姐”“张伟（VIP）”），比对时已去除，原值保留",
       "The name carries a title or a note (Ms Wang, Zhang Wei (VIP)): left out for matching, the raw "
       "value kept"),
    _r("phone.malformed", "phone", "warn", "validity", "规范性", "standardize",
       "手机号不是有效的手机或座机号码", "Phone is neither a valid mobile nor a landline number"),
    _r("phone.missing_digit", "phone", "warn", "validity", "规范性", "standardize",
       "手机号只有 10 位，少一位数字", "Mobile number has 10 digits: one is missing"),
    _r("phone.placeholder", "phone", "warn", "accuracy", "准确性", "standardize",
       "手机号为占位号码（如 13800138000）", "Phone is a placeholder number (e.g. 13800138000)"),
    _r("phone.multiple", "phone", "warn", "validity", "规范性", "standardize",
       "一个单元格中有多个号码，已取第一个有效号码（其余保留在原始值中）",
       "Several numbers in one cell: the first usable one is kept (the others stay in the raw value)"),
    _r("landline.multiple", "landline", "warn", "validity", "规范性", "standardize",
       "一个单元格中有多个座机号码，已取第一个有效号码（其余保留在原始值中）",
       "Several landline numbers in one cell: the first usable one is kept (the others stay in the raw "
       "value)"),
    _r("landline.malformed", "landline", "warn", "validity", "规范性", "standardize",
       "座机号码无效（位数或区号不对）", "Landline is not a valid number (wrong length or area code)"),
    _r("landline.placeholder", "landline", "warn", "accuracy", "准确性", "standardize",
       "座机号码为占位号码", "Landline is a placeholder number"),
    _r("id.malformed", "id_number", "warn", "validity", "规范性", "standardize",
       "证件号既不是 18/15 位身份证号，也不是统一社会信用代码",
       "ID number is neither an 18/15-digit resident ID nor a unified social credit code"),
    _r("id.checksum", "id_number", "warn", "validity", "规范性", "standardize",
       "证件号校验位错误", "ID number's check character is wrong"),
    _r("id.bad_date", "id_number", "warn", "validity", "规范性", "standardize",
       "身份证号中的出生日期不存在或不合理", "The birth date inside the ID number is impossible"),
    _r("id.placeholder", "id_number", "warn", "accuracy", "准确性", "standardize",
       "证件号为占位或示例号码", "ID number is a placeholder or a sample number"),
    _r("id.region_unknown", "id_number", "warn", "validity", "规范性", "standardize",
       "证件号中的行政区划代码未知", "The region code in the ID number is not a known division"),
    _r("id.birth_mismatch", "birth_date", "warn", "consistency", "一致性", "validate",
       "出生日期与身份证号不一致", "Birth date differs from the one in the ID number"),
    _r("id.gender_mismatch", "gender", "warn", "consistency", "一致性", "validate",
       "性别与身份证号不一致", "Gender differs from the one in the ID number"),
    _r("email.multiple", "email", "warn", "validity", "规范性", "standardize",
       "一个单元格中有多个邮箱，已取第一个有效邮箱（其余保留在原始值中）",
       "Several email addresses in one cell: the first valid one is kept (the others stay in the raw value)"),
    _r("email.malformed", "email", "warn", "validity", "规范性", "standardize",
       "电子邮箱格式无效", "Email address is malformed"),
    _r("email.placeholder", "email", "warn", "accuracy", "准确性", "standardize",
       "电子邮箱为占位地址（如 test@test.com）", "Email is a placeholder address (e.g. test@test.com)"),
    _r("address.unparsed", "address", "warn", "validity", "规范性", "standardize",
       "地址中未识别出省、市或区县", "No province, city or district recognised in the address"),
    _r("address.ambiguous", "address", "warn", "accuracy", "准确性", "standardize",
       "区县名称多地同名，无法确定所属城市",
       "The district name exists in several cities; nothing says which"),
    _r("address.region_conflict", "address", "warn", "consistency", "一致性", "standardize",
       "地址与省/市/区县字段不一致", "The address and the province/city/district columns disagree"),
    _r("province.unknown", "province", "warn", "validity", "规范性", "standardize",
       "省份名称无法识别", "Province not recognised"),
    _r("city.unknown", "city", "warn", "validity", "规范性", "standardize",
       "城市名称无法识别", "City not recognised"),
    _r("district.unknown", "district", "warn", "validity", "规范性", "standardize",
       "区县名称无法识别", "District not recognised"),
    _r("date.malformed", "birth_date", "warn", "validity", "规范性", "standardize",
       "出生日期格式无法识别", "Birth date is in no known format"),
    _r("date.impossible", "birth_date", "warn", "accuracy", "准确性", "standardize",
       "出生日期不可能（不存在的日期、未来或 1900 年以前）",
       "Birth date is impossible (no such day, in the future or before 1900)"),
    _r("updated_at.malformed", "updated_at", "warn", "validity", "规范性", "standardize",
       "更新时间格式无法识别", "Update time is in no known format"),
    _r("updated_at.impossible", "updated_at", "warn", "timeliness", "时效性", "standardize",
       "更新时间不可能（未来或 1900 年以前）", "Update time is in the future or before 1900"),
    _r("gender.invalid", "gender", "warn", "validity", "规范性", "standardize",
       "性别取值无法识别", "Gender value not recognised"),
)

CATALOGUE: dict[str, Rule] = {r.id: r for r in RULES}


def rule(rule_id: str) -> Rule:
    """The rule with this id; KeyError names the valid ids."""
    try:
        return CATALOGUE[rule_id]
    except KeyError:
        raise KeyError(f"unknown rule id {rule_id!r}; valid: {', '.join(CATALOGUE)}") from None


def catalogue_frame() -> pl.DataFrame:
    """The catalogue as a table (one row per rule), e.g. for the scorecard and the dashboard."""
    return pl.DataFrame([r.__dict__ for r in RULES])


# What standardize does with the values the rules judge (rendered under the catalogue).
CONVENTIONS: tuple[tuple[str, str], ...] = (
    ("性别：男/男性/M/male/1 → M；女/女性/F/female/0/2 → F（1/0 是 CRM 导出常见的布尔约定，2 = 女 依 "
     "GB/T 2261.1）；9、未知、保密、空值视为缺失，不报问题。",
     "Gender: 男/M/male/1 → M; 女/F/female/0/2 → F (1/0 is the usual boolean of CRM exports, 2 = F "
     "per GB/T 2261.1); 9, unknown, blank are missing, not a finding."),
    ("电话：全角转半角；去掉 +86/0086/86 前缀、空格、横线、括号和点；“转/分机/ext/x/#”后的分机号"
     "及完整座机后的 -NNNN 存入 *_ext；手机 1[3-9] 开头 11 位；座机 0 + 区号 + 号码；"
     "座机列中未写区号的 7–8 位本地号码照写保留（市内可拨打，不算错误），手机列中的同样数字判为无效。",
     "Phones: full-width folded; +86/0086/86, spaces, dashes, brackets, dots dropped; extensions after "
     "转/分机/ext/x/# or a trailing -NNNN after a full landline go to *_ext; mobiles 1[3-9] + 9 digits; "
     "landlines 0 + area code + number; in a landline column a 7–8 digit local number written without its "
     "area code is kept as written (dialable in its city, not an error); the same digits in a mobile "
     "column are invalid."),
    ("证件号：x 转大写 X；15 位升为 18 位（补“19”并计算校验位）；校验位或出生日期错误的号码仍保留在 "
     "id_number 中供模糊比较，但 id_valid 为假；统一社会信用代码按 GB 32100 校验，状态为 credit_code。",
     "ID numbers: 'x' → 'X'; 15 digits upgraded to 18 ('19' + check); numbers with a bad check or date "
     "stay in id_number for fuzzy comparison with id_valid false; credit codes (GB 32100) get status "
     "credit_code."),
    ("日期：支持 1990-01-02、1990/1/2、19900102、1990年1月2日、1990.01.02、带时间的 Excel 文本及 Excel "
     "日期序号；两位年份和日在前的写法（02/01/1990）视为格式无法识别。",
     "Dates: 1990-01-02, 1990/1/2, 19900102, 1990年1月2日, 1990.01.02, Excel text with a time and Excel "
     "serial days; two-digit years and day-first forms (02/01/1990) count as malformed."),
    ("地址：NFKC、繁转简、去空白；省/市/区县规范为全称（直辖市的城市 = 省份）；另有省/市/区县列时以列为准，"
     "与地址文本不一致时报 address.region_conflict 并保留原文。",
     "Addresses: NFKC, simplified, no whitespace; province/city/district as full names (a municipality's "
     "city = its province); separate columns win over the text, a disagreement is address.region_conflict "
     "and the text is kept as written."),
    ("姓名：NFKC、去标点（少数民族姓名的间隔号“·”保留）、繁转简仅用于比较值；姓氏按姓氏读音注音（曾 zeng、"
     "单 shan）；name_key 为排序后的拼音音节，与书写顺序无关；港台拼写（Wong、Chan）映射到普通话拼音。",
     "Names: NFKC, punctuation out (the '·' of ethnic names kept), simplified for comparison only; "
     "surnames take surname readings (曾 zeng, 单 shan); name_key is the sorted syllables, order-free; "
     "HK/TW spellings (Wong, Chan) map to mainland pinyin."),
)

# The DAMA dimensions: Chinese and English names and the GB/T 36344-2018 indicator each reports as by default
# (a rule may name a closer indicator, e.g. ingest.undecodable → 可访问性). report.py adds the weights.
DIMENSION_NAMES: dict[str, tuple[str, str, GbtIndicator]] = {
    "completeness": ("完整性", "Completeness", "完整性"),
    "validity": ("有效性", "Validity", "规范性"),
    "accuracy": ("准确性", "Accuracy", "准确性"),
    "uniqueness": ("唯一性", "Uniqueness", "准确性"),
    "consistency": ("一致性", "Consistency", "一致性"),
    "timeliness": ("时效性", "Timeliness", "时效性"),
}
_DIMENSION_ZH = {k: v[0] for k, v in DIMENSION_NAMES.items()}
# Rule ids outside the catalogue (a check added without its metadata) count as validity / 规范性.
UNLISTED: tuple[Dimension, GbtIndicator] = ("validity", "规范性")


def rule_dimension(rule_id: str) -> tuple[Dimension, GbtIndicator]:
    """(DAMA dimension, GB/T indicator) a rule's findings count against: the catalogue's, else UNLISTED."""
    found = CATALOGUE.get(rule_id)
    return (found.dimension, found.gbt) if found else UNLISTED


def render_markdown() -> str:
    """docs/rules.md: the catalogue in Chinese and English (generated; tests check it is current)."""
    lines = [
        "# 数据质量规则目录 / Data-quality rule catalogue",
        "",
        "由 `hanlink.rules.render_markdown()` 生成，请勿手工编辑（`python -m hanlink.rules` 重新生成）。",
        "Generated by `hanlink.rules.render_markdown()`; do not edit by hand (`python -m hanlink.rules`).",
        "",
        "- 严重级别 severity：`reject` 拒绝（记录进入隔离区 quarantine）；`warn` 警告（记录保留并标记）。",
        "  `reject` sends the record to the quarantine; `warn` keeps it, flagged in dq_findings.",
        "- 维度 dimension：DAMA 数据质量维度；国标指标 GB/T 36344-2018 indicator：规范性、完整性、准确性、"
        "一致性、时效性、可访问性（国标无单独的唯一性，重复归入准确性）。",
        "  GB/T 36344 has no uniqueness indicator; duplicates count under 准确性 (accuracy).",
        "- 发现阶段 detected by：`ingest` 读入时；`standardize` 标准化解析时（记入 std_issues）；"
        "`validate` 校验时的跨字段或跨记录检查。",
        "",
        "| 规则 rule id | 字段 field | 级别 severity | 维度 dimension | 国标 GB/T | 阶段 detected by "
        "| 说明 | Message |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in RULES:
        lines.append(f"| `{r.id}` | {r.field} | {r.severity} | {_DIMENSION_ZH[r.dimension]} {r.dimension} "
                     f"| {r.gbt} | {r.detected_by} | {r.message_zh} | {r.message_en} |")
    lines += ["", "## 标准化约定 / Standardization conventions", ""]
    lines += [f"- {zh}  \n  {en}" for zh, en in CONVENTIONS]
    return "\n".join(lines) + "\n"


DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "rules.md"

if __name__ == "__main__":
    DOC_PATH.write_text(render_markdown(), encoding="utf-8")
    print(f"wrote {DOC_PATH}")
