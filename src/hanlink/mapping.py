"""Guess which header holds which canonical field, from common Chinese and English column names.

Headers are compared after NFKC (full-width → half-width), case folding and dropping spaces and
punctuation, so '手机号码', ' Mobile ', 'MOBILE_NO' and '手机号（必填）' all find `phone`. A header equal
to a known name beats one that only contains a Chinese name ('客户手机号'), which beats one sharing an
English word ('customer phone'); within a tier the earlier name in the list wins. Each field gets at most
one header and each header one field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from hanlink.errors import ConfigError
from hanlink.fields import CANONICAL_FIELDS
from hanlink.ingest import read_headers

__all__ = ["SYNONYMS", "MappingGuess", "apply_overrides", "guess_for_file", "guess_mapping", "read_headers"]

# Best first within a field; compared without spaces, punctuation or case, so 'full_name' is also 'Full Name'.
_SYNONYM_TEXT = {
    "record_id": (
        "记录编号 客户编号 会员号 会员编号 会员卡号 客户号 客户id 会员id 用户id 编号 "
        "record_id customer_id cust_id client_id member_id user_id id"
    ),
    "name": (
        "姓名 客户姓名 会员姓名 名字 客户名称 联系人 真实姓名 用户姓名 会员名称 会员名 收货人 收件人 "
        "收货人姓名 收件人姓名 持卡人 "
        "name full_name customer_name client_name member_name contact_name"
    ),
    "phone": (
        "手机号 手机号码 手机 移动电话 联系电话 联系方式 电话 电话号码 "
        "mobile mobile_phone mobile_no cellphone cell phone phone_number tel telephone"
    ),
    "landline": "座机 座机号码 固定电话 固话 家庭电话 办公电话 landline fixed_phone home_phone office_phone",
    "id_number": (
        "身份证号 身份证号码 身份证 公民身份号码 证件号码 证件号 "
        "id_number id_no idcard id_card id_card_no identity_card national_id idno"
    ),
    "email": "邮箱 电子邮箱 邮箱地址 电子邮件 邮件地址 email e_mail email_address mail",
    "address": (
        "地址 详细地址 联系地址 家庭住址 住址 通讯地址 收货地址 居住地址 "
        "address addr street_address full_address"
    ),
    "birth_date": "出生日期 生日 出生年月日 出生年月 birth_date birthday date_of_birth dob birthdate",
    "gender": "性别 gender sex",
    "province": "省份 省 所在省份 省名 province prov state",
    "city": "城市 市 所在城市 地市 city",
    "district": "区县 区 县 县区 所在区县 district county",
    "updated_at": (
        "更新时间 最后更新 最后更新时间 修改时间 最后修改时间 更新日期 修改日期 "
        "updated_at last_modified update_time modified_at last_updated updated"
    ),
}
SYNONYMS: dict[str, tuple[str, ...]] = {f: tuple(text.split()) for f, text in _SYNONYM_TEXT.items()}

# Names that mean this field only when a better header took the field they usually mean: next to 手机,
# a column called 电话 is the landline.
FALLBACKS: dict[str, tuple[str, ...]] = {
    "landline": ("电话", "电话号码", "联系电话", "tel", "telephone", "phone")
}
_FALLBACK_RANK = 100

Tier = Literal["exact", "contains", "word"]
_TIERS: dict[Tier, int] = {"exact": 0, "contains": 1, "word": 2}
_CJK = re.compile(r"[\u3400-\u9fff]")


def _compact(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def _words(text: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", unicodedata.normalize("NFKC", text))  # customerPhone
    return [w for w in re.split(r"[^0-9a-z]+", spaced.casefold()) if w]


def _candidates(header: str) -> list[tuple[int, int, str, Tier]]:
    """(tier, rank, field, tier name) for every field this header could be, best first."""
    compact, words = _compact(header), _words(header)
    found: list[tuple[int, int, str, Tier]] = []
    for fld in SYNONYMS:
        best: tuple[int, int, str, Tier] | None = None
        for rank, name in _names(fld):
            key = _compact(name)
            if compact == key:
                tier: Tier | None = "exact"
            elif rank >= _FALLBACK_RANK:  # a fallback name counts only as the whole header
                tier = None
            elif _CJK.search(name) and len(key) >= 2 and key in compact:
                tier = "contains"
            elif not _CJK.search(name) and _has_words(words, _words(name)):
                tier = "word"
            else:
                tier = None
            if tier and (best is None or (_TIERS[tier], rank) < best[:2]):
                best = (_TIERS[tier], rank, fld, tier)
        if best:
            found.append(best)
    return sorted(found)


def _names(fld: str) -> list[tuple[int, str]]:
    ranked = list(enumerate(SYNONYMS[fld]))
    return ranked + [(_FALLBACK_RANK + i, n) for i, n in enumerate(FALLBACKS.get(fld, ()))]


def _has_words(words: list[str], wanted: list[str]) -> bool:
    """`wanted` appears as consecutive words ('customer phone' has 'phone'); a bare 'id' never counts
    (wechat id, order id), it must be the whole header."""
    n = len(wanted)
    if n == 0 or wanted == ["id"]:
        return False
    return any(words[i : i + n] == wanted for i in range(len(words) - n + 1))


@dataclass(frozen=True)
class MappingGuess:
    """Canonical field → header, the headers left unmapped, and for each left-out header why."""

    fields: dict[str, str]
    unmapped: list[str]
    headers: list[str]
    partial: dict[str, str] = field(default_factory=dict)  # header → the name it only partly matched
    ignored: dict[str, tuple[str, str]] = field(default_factory=dict)  # header → (field, header that won)
    overridden: tuple[str, ...] = ()

    def describe(self, lang: Literal["zh", "en"] = "zh") -> str:
        """The mapping in words, for the user to check before trusting the result."""
        zh = lang == "zh"
        lines = ["字段映射（表头 → 标准字段）：" if zh else "Field mapping (header → canonical field):"]
        for fld in CANONICAL_FIELDS:
            if fld in self.fields:
                header = self.fields[fld]
                note = ""
                if fld in self.overridden:
                    note = "（手动指定）" if zh else " (set by you)"
                elif header in self.partial:
                    note = (
                        f"（部分匹配“{self.partial[header]}”）"
                        if zh
                        else f" (partial match of '{self.partial[header]}')"
                    )
                lines.append(f"  {header} → {fld}{note}")
        for header, (fld, winner) in self.ignored.items():
            lines.append(
                f"  未使用 {header}：也像 {fld}，已选用 {winner}"
                if zh
                else f"  ignored {header}: also looks like {fld}, but {winner} was used"
            )
        rest = [h for h in self.unmapped if h not in self.ignored]
        if rest:
            lines.append(
                ("  未识别（不参与匹配）：" if zh else "  not recognised (not used): ") + ", ".join(rest)
            )
        missing = [f for f in ("name", "phone", "id_number") if f not in self.fields]
        if missing:
            lines.append(
                ("  缺少：" if zh else "  missing: ")
                + ", ".join(missing)
                + ("；可用 --map 字段=表头 指定" if zh else "; use --map field=header to set one")
            )
        return "\n".join(lines)


def guess_mapping(headers: Sequence[str]) -> MappingGuess:
    """Guess canonical field → header for a file's headers (as read_headers gives them)."""
    options = {h: _candidates(h) for h in headers}
    ranked = sorted(((c[0], c[1], i, h, c[2], c[3]) for i, h in enumerate(headers) for c in options[h]))
    fields: dict[str, str] = {}
    partial: dict[str, str] = {}
    used: set[str] = set()
    for _, rank, _, header, fld, tier in ranked:
        if fld in fields or header in used:
            continue
        fields[fld] = header
        used.add(header)
        if tier != "exact":
            partial[header] = dict(_names(fld))[rank]
    ignored = {}
    for h in headers:
        if h not in used and options[h]:
            best = options[h][0][2]
            ignored[h] = (best, fields[best])
    ordered = {f: fields[f] for f in CANONICAL_FIELDS if f in fields}
    return MappingGuess(ordered, [h for h in headers if h not in used], list(headers), partial, ignored)


def apply_overrides(guess: MappingGuess, overrides: Mapping[str, str | None]) -> MappingGuess:
    """The guess with some fields set by hand (field → header; None or '' unmaps the field).

    ConfigError names the bad field or header and lists what is valid."""
    fields = dict(guess.fields)
    for fld, header in overrides.items():
        if fld not in CANONICAL_FIELDS:
            raise ConfigError(
                "unknown canonical field", key="mapping", value=fld, valid=", ".join(CANONICAL_FIELDS)
            )
        if not header:
            fields.pop(fld, None)
            continue
        if header not in guess.headers:
            raise ConfigError(
                f"no header {header!r} in the file (表头不存在)",
                key=f"mapping.{fld}",
                value=header,
                valid=", ".join(guess.headers),
            )
        # The header now means this field only; whatever it was guessed as loses it.
        fields = {f: h for f, h in fields.items() if h != header}
        fields[fld] = header
    used = set(fields.values())
    ordered = {f: fields[f] for f in CANONICAL_FIELDS if f in fields}
    return MappingGuess(
        ordered,
        [h for h in guess.headers if h not in used],
        guess.headers,
        {h: n for h, n in guess.partial.items() if h in used and h not in overrides.values()},
        {h: why for h, why in guess.ignored.items() if h not in used and why[1] in used},
        tuple(f for f, h in overrides.items() if h),
    )


def guess_for_file(path: str | Path, format: str = "auto", **options: object) -> MappingGuess:
    """Read just the headers of a file (the ingest readers) and guess its mapping."""
    return guess_mapping(read_headers(path, format, **options))  # type: ignore[arg-type]
