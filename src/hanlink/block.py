"""Blocking: candidate pairs from several equality rules, unioned, with oversized blocks kept out."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

import polars as pl

from hanlink import tables as T
from hanlink.config import BlockingConfig
from hanlink.db import Database
from hanlink.errors import StageError

log = logging.getLogger(__name__)

BLOCKING_STATS = "pairs_blocking_stats"

# ID statuses whose number is not evidence about a person at all.
_ID_UNUSABLE = "('placeholder', 'malformed', 'missing')"
_ID_USABLE = f"id_number IS NOT NULL AND id_status NOT IN {_ID_UNUSABLE}"

# The one place that says which std_records value is usable as evidence, for blocking and comparing alike.
# Each is SQL over std_records that is NULL when the value must not count: placeholders, invalid emails,
# junk names. Blocking keys (config BlockingKey) and comparison columns (compare.COMPARISONS) name these.
_NAMED = "name_type NOT IN ('junk', 'missing')"
# A name written in Latin letters (no Han character), folded: "José  O'Brien" → "jose o brien". Names that
# aren't Chinese are matched as text and tokens (given/family order varies), not through pinyin.
_LATIN = (f"CASE WHEN {_NAMED} AND NOT regexp_matches(name, '\\p{{Han}}') THEN nullif(trim(regexp_replace("
          "lower(strip_accents(coalesce(name_raw, name))), '[^a-z0-9]+', ' ', 'g')), '') END")
_TOKENS = "_tokens"          # string_split(_latin, ' '): a helper column, see _HELPERS
# A non-Chinese ID number (a social security or passport number): alphanumerics of what was typed, when
# standardize found no Chinese ID in it. 15–18 characters look like a broken Chinese ID: left out.
_OTHER_ID = "regexp_replace(upper(id_number_raw), '[^0-9A-Z]', '', 'g')"
# Birth dates standardize set aside as impossible for a living customer (before 1900) are still evidence
# that two records are one person (genealogy, historical registers).
_RAW_DATE = "try_strptime(trim(birth_date_raw), ['%Y-%m-%d', '%Y%m%d', '%Y/%m/%d'])::DATE"
_OLD_DATE = (f"CASE WHEN birth_date IS NULL AND birth_date_raw IS NOT NULL "
             f"AND {_RAW_DATE} < DATE '1900-01-01' THEN {_RAW_DATE} END")
# A birth date typed year first that is no date at all (1856-86-18, 1828-01-00) still holds 8 typed digits:
# compared digit by digit they are a typo of the right date. Other orders (02/01/1990) are left out.
_RAW_DIGITS = ("CASE WHEN regexp_matches(trim(birth_date_raw), '^[0-9]{4}[-/.]?[0-9]{2}[-/.]?[0-9]{2}$') "
               "THEN regexp_replace(trim(birth_date_raw), '[^0-9]', '', 'g') END")


def soundex(expr: str) -> str:
    """SQL for the American Soundex code of a text (lower-case letter + 3 digits; NULL without letters).

    The code SQL databases' SOUNDEX gives (h and w don't separate equal codes), checked against
    jellyfish.soundex: "robert" = "rupert" = r163. Letters other than a-z are dropped first.
    """
    t = f"regexp_replace(lower({expr}), '[^a-z]', '', 'g')"
    codes = "translate({x}, 'abcdefghijklmnopqrstuvwxyz', '01230120022455012623010202')"
    first = codes.format(x=f"left({t}, 1)")
    rest = codes.format(x=f"regexp_replace(substr({t}, 2), '[hw]', '', 'g')")
    s = f"{first} || {rest}"
    for d in "0123456":   # runs of one code count once (RE2 has no back-references)
        s = f"regexp_replace({s}, '{d}+', '{d}', 'g')"
    return f"CASE WHEN {t} <> '' THEN left({t}, 1) || left(replace(substr({s}, 2), '0', '') || '000', 3) END"


# Characters of names often misread or mistyped for one another by their shape (形近字: 王/玉, 未/末,
# 己/已/巳), each group mapped onto its first character. Our own short list, curated from common confusions in
# handwriting and OCR; only groups whose readings differ (same-reading pairs already agree by pinyin).
SHAPE_GROUPS: tuple[str, ...] = (
    "王玉", "未末", "己已巳", "土士", "日曰", "戊戌戍", "大太犬", "人入", "刀力", "天夭", "千干", "午牛",
    "贝见", "栗粟", "休体", "免兔", "鸟乌", "宇字", "晴睛", "仓仑", "今令", "冶治", "拔拨", "崇祟", "徽微",
    "准淮", "明朋", "春舂", "白自", "田由甲申", "木本术", "目且", "东车", "丙两", "亨享",
)
# Only the other members are replaced, and only in names holding one (DuckDB's translate costs ≈ 10 µs a
# call on Chinese text: 10 s per million names, against 0.5 s with the guard).
_SHAPE_FROM = "".join(g[1:] for g in SHAPE_GROUPS)
_SHAPE_TO = "".join(g[0] * (len(g) - 1) for g in SHAPE_GROUPS)

# English given names and their common short forms (bill → william, peggy → margaret): our own list of
# well-known diminutives; a short form that belongs to several names (bert, al, nell) is left out.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "william": ("will", "willie", "willy", "bill", "billy", "wil", "liam"),
    "robert": ("rob", "robby", "robbie", "bob", "bobby"), "thomas": ("tom", "tommy", "thom"),
    "richard": ("rich", "richie", "rick", "ricky", "dick", "dickie", "dicky"),
    "james": ("jim", "jimmy", "jamie", "jem"), "john": ("jack", "johnny", "jonny"),
    "edward": ("ed", "eddie", "eddy", "ted", "teddy", "ned"),
    "elizabeth": ("liz", "lizzie", "lizzy", "beth", "betty", "bess", "bessie", "eliza", "libby", "elsie"),
    "margaret": ("maggie", "meg", "peggy", "marge", "madge", "margie"),
    "catherine": ("kate", "katie", "kathy", "cathy", "kitty", "katherine", "kathryn"),
    "charles": ("charlie", "chas", "chuck"), "henry": ("harry", "hank"), "albert": ("bertie", "albie"),
    "frederick": ("fred", "freddie", "freddy"), "alexander": ("alex", "alec", "sandy"),
    "benjamin": ("ben", "benny", "benji"), "david": ("dave", "davy", "davie"), "daniel": ("dan", "danny"),
    "joseph": ("joe", "joey"), "samuel": ("sam", "sammy"), "michael": ("mike", "mick", "micky", "mickey"),
    "arthur": ("art", "artie"), "alfred": ("alf", "alfie"), "anthony": ("tony",), "antoinette": ("toni",),
    "patrick": ("pat", "paddy"), "peter": ("pete",), "nicholas": ("nick", "nicky"), "matthew": ("matt",),
    "andrew": ("andy", "drew"), "stephen": ("steve", "stevie", "steven"), "christopher": ("chris",),
    "walter": ("walt", "wally"), "mary": ("molly", "polly", "mamie", "mae"), "sarah": ("sally", "sadie"),
    "susan": ("sue", "susie"), "dorothy": ("dot", "dolly", "dottie"), "jennifer": ("jenny", "jen"),
    "rebecca": ("becky",), "victoria": ("vicky", "tori"), "francis": ("frank",), "frances": ("fanny",),
    "lawrence": ("larry",), "donald": ("don", "donnie"), "ronald": ("ron", "ronnie"),
    "kenneth": ("ken", "kenny"), "timothy": ("tim", "timmy"), "gregory": ("greg",), "jacob": ("jake",),
    "isaac": ("ike",), "hugh": ("hughie", "huey"), "ann": ("annie", "nancy"),
    "archibald": ("archie",), "montague": ("monty",), "percival": ("percy",), "adelaide": ("addie",),
    "norman": ("norrie",), "howard": ("howie",), "herbert": ("herbie",), "abraham": ("abe",),
    "abigail": ("abby", "abbie"), "agnes": ("aggie",), "florence": ("flo", "florrie"),
    "gertrude": ("gertie",), "harriet": ("hattie",), "josephine": ("josie",), "leonard": ("len", "lenny"),
    "matilda": ("tilly", "tilda"), "oliver": ("ollie",), "philip": ("phil",), "reginald": ("reggie", "reg"),
    "vincent": ("vince",), "wilfred": ("wilf",), "tobias": ("toby",), "gilbert": ("gil",),
    "bartholomew": ("bart",), "barnabas": ("barney",), "mortimer": ("mort",), "zachary": ("zach", "zack"),
    "cecilia": ("cissie",),
}
# The same given name in other languages (Ian, Seán, Evan, Ivan = John; Gwilym = William): our own short
# list of well-known equivalents, keyed by the English form. Weaker than a short form — two brothers may be
# James and Jacob — so these have their own comparison level. Forms shared by names of both sexes (Jean)
# are left out.
NAME_VARIANTS: dict[str, tuple[str, ...]] = {
    "john": ("ian", "iain", "sean", "shaun", "evan", "ifan", "ivan", "juan", "johann", "johannes", "giovanni",
             "jock"),
    "james": ("jacob", "jacques", "jaime", "giacomo", "seamus", "hamish"),
    "william": ("gwilym", "wilhelm", "guillaume", "guillermo", "guglielmo"),
    "charles": ("karl", "carl", "carlos", "carlo"), "louis": ("lewis", "ludwig", "luis", "luigi"),
    "henry": ("heinrich", "henri", "enrique", "enrico"), "robert": ("rupert", "roberto"),
    "elizabeth": ("isabella", "isabel", "elisabeth", "elspeth", "isobel"), "ann": ("anne", "hannah", "anna"),
    "harriet": ("henrietta",), "mary": ("maria", "marie", "mair", "moira"),
    "peter": ("pierre", "pedro", "pietro"),
    "paul": ("pablo", "paolo"), "joseph": ("giuseppe", "jose"), "stephen": ("stefan", "esteban", "etienne"),
    "michael": ("miguel", "michel", "michele"), "george": ("georg", "jorge", "giorgio"),
    "edward": ("eduard", "eduardo", "edouard"), "frederick": ("friedrich", "federico"),
    "richard": ("ricardo", "riccardo"), "andrew": ("andreas", "andre", "andres"), "hugh": ("hugo", "hugues"),
    "matthew": ("matthias", "mathias", "mateo", "matteo"), "david": ("dafydd", "dewi"),
    "margaret": ("marguerite", "margarita", "margherita"), "catherine": ("katharina", "caterina", "catalina"),
}
_VARIANT_MAP = ", ".join(f"'{a}': '{full}'" for full, forms in NAME_VARIANTS.items() for a in forms)
_NICK_MAP = ", ".join(f"'{a}': '{full}'" for full, aliases in NICKNAMES.items() for a in aliases)

MATCH_VALUES: dict[str, str] = {
    "name": "CASE WHEN name_type NOT IN ('junk', 'missing') THEN nullif(trim(name), '') END",
    "name_pinyin": "CASE WHEN name_type NOT IN ('junk', 'missing') THEN nullif(trim(name_pinyin), '') END",
    "name_key": "CASE WHEN name_type NOT IN ('junk', 'missing') THEN nullif(trim(name_key), '') END",
    # Spaces and dots dropped: "zhang wei" = "zhangwei", "阿卜杜·热合曼" = "阿卜杜热合曼".
    "name_norm": ("CASE WHEN name_type NOT IN ('junk', 'missing') THEN "
                  "nullif(regexp_replace(lower(name), '[\\s·•.\\-]', '', 'g'), '') END"),
    "name_latin": "_latin",
    # A Chinese name with look-alike characters folded (玉小明 → 王小明): equal when only those differ.
    "name_shape": (f"CASE WHEN {_NAMED} AND regexp_matches(name, '\\p{{Han}}') THEN CASE WHEN "
                   f"regexp_matches(name, '[{_SHAPE_FROM}]') THEN translate(name, '{_SHAPE_FROM}', "
                   f"'{_SHAPE_TO}') ELSE name END END"),
    # Name tokens sorted: "chudleigh thomas" = "thomas chudleigh".
    "name_tokens": f"array_to_string(list_sort({_TOKENS}), ' ')",
    # First and last token of a name (given / family name in either order). A one-word name is both:
    # "terrick" may be the given name of "terrick hamilton", "pullan" the family name of "dick pullan".
    "name_first": f"CASE WHEN len({_TOKENS}) >= 1 THEN {_TOKENS}[1] END",
    "name_last": f"CASE WHEN len({_TOKENS}) >= 1 THEN {_TOKENS}[-1] END",
    # The first token as its full given name: "bill" → "william" (NICKNAMES), else as written.
    "name_first_full": (f"CASE WHEN len({_TOKENS}) >= 1 THEN coalesce(map_extract(MAP {{{_NICK_MAP}}}, "
                        f"{_TOKENS}[1])[1], {_TOKENS}[1]) END"),
    # The first token as its English given name: "iain" → "john", "bill" → "william" (NAME_VARIANTS after
    # NICKNAMES).
    "name_first_variant": (f"CASE WHEN len({_TOKENS}) >= 1 THEN coalesce("
                           f"map_extract(MAP {{{_VARIANT_MAP}}}, {_TOKENS}[1])[1], "
                           f"map_extract(MAP {{{_NICK_MAP}}}, {_TOKENS}[1])[1], {_TOKENS}[1]) END"),
    # Their Soundex codes: spelling variants and most typos keep the code (fraser / frazer, maitlsnd).
    "name_first_sdx": f"CASE WHEN len({_TOKENS}) >= 1 THEN {soundex(_TOKENS + '[1]')} END",
    "name_last_sdx": f"CASE WHEN len({_TOKENS}) >= 1 THEN {soundex(_TOKENS + '[-1]')} END",
    # Initials of a two-or-more-token name, in order: "thomas chudleigh" → "tc".
    "name_initials": (f"CASE WHEN len({_TOKENS}) >= 2 THEN left({_TOKENS}[1], 1) || left({_TOKENS}[-1], 1) "
                      "END"),
    "surname": "CASE WHEN name_type NOT IN ('junk', 'missing') THEN nullif(surname, '') END",
    "given_pinyin": "CASE WHEN name_type NOT IN ('junk', 'missing') THEN nullif(given_pinyin, '') END",
    # A mobile is personal; a mobile typed into the landline column still is.
    "phone": "CASE WHEN phone_type = 'mobile' THEN phone WHEN landline_type = 'mobile' THEN landline END",
    "phone_last4": ("right(CASE WHEN phone_type = 'mobile' THEN phone "
                    "WHEN landline_type = 'mobile' THEN landline END, 4)"),
    # A landline is shared by a household: weak evidence, compared but never enough on its own.
    "landline": ("CASE WHEN landline_type = 'landline' THEN landline "
                 "WHEN phone_type = 'landline' THEN phone END"),
    # Checksum errors and bad dates stay in: a typo in an ID is still close to the right ID.
    "id_number": f"CASE WHEN {_ID_USABLE} THEN id_number END",
    "id_valid": "coalesce(id_valid, false)",
    "id_birth": f"CASE WHEN {_ID_USABLE} AND id_status <> 'credit_code' THEN id_birth_date END",
    "other_id": (f"CASE WHEN id_status = 'malformed' AND length({_OTHER_ID}) BETWEEN 5 AND 14 "
                 f"AND length(replace({_OTHER_ID}, left({_OTHER_ID}, 1), '')) > 0 THEN {_OTHER_ID} END"),
    "email": "CASE WHEN email_valid THEN nullif(email, '') END",
    "birth_date": "_dob",
    "birth_year": "coalesce(year(_dob), CAST(left(_raw_digits, 4) AS INTEGER))",
    # Month and day of the birth date, for a year mistyped beyond a digit; not 01-01, which often stands
    # for "year only".
    "birth_md": "CASE WHEN strftime(_dob, '%m%d') <> '0101' THEN strftime(_dob, '%m%d') END",
    # YYYYMMDD of the birth date, else the 8 digits of a year-first date that doesn't parse.
    "birth_digits": "coalesce(strftime(_dob, '%Y%m%d'), _raw_digits)",
    "gender": "coalesce(gender, id_gender)",
    "province": "province",
    "city": "city",
    "district": "district",
    "address_detail": "nullif(trim(address_detail), '')",
    # The address as free text when no Chinese admin division was found in it (a foreign address).
    "address_free": ("CASE WHEN coalesce(province, city, district) IS NULL THEN nullif(trim(regexp_replace("
                     "lower(strip_accents(address_raw)), '[^a-z0-9]+', ' ', 'g')), '') END"),
    # The last token with a digit in a foreign address: a postcode, else a house number. Two such tokens in
    # a row are one postcode ("pe19 2pd": the inward code alone is shared across the country).
    "address_post": ("CASE WHEN coalesce(province, city, district) IS NULL THEN nullif(regexp_extract("
                     "lower(strip_accents(address_raw)), "
                     "'([a-z]*[0-9][a-z0-9]*( [a-z]*[0-9][a-z0-9]*)?)[^0-9]*$', 1), '') END"),
    # The postal district of a UK-style postcode ("sk9" of "sk9 7hx"): a town or part of one, as a Chinese
    # address's district is. Only a postcode of that exact shape, so house numbers never pass for one.
    "address_outward": ("CASE WHEN coalesce(province, city, district) IS NULL THEN nullif(regexp_extract("
                        "lower(strip_accents(address_raw)), "
                        "'(?:^|[^a-z0-9])([a-z]{1,2}[0-9][a-z0-9]?) [0-9][a-z]{2}[^0-9]*$', 1), '') END"),
    # The words of a foreign address without any token holding a digit (house numbers, postcodes): the
    # street and the town, "taverham" of "taverham nr8 6xp". Copies of one person's address often give
    # the town with the postcode in one and without it in another.
    "address_place": ("CASE WHEN coalesce(province, city, district) IS NULL THEN nullif(trim(regexp_replace("
                      "regexp_replace(regexp_replace(lower(strip_accents(address_raw)), "
                      "'[^a-z0-9]+', ' ', 'g'), '[a-z0-9]*[0-9][a-z0-9]*', '', 'g'), "
                      "' +', ' ', 'g')), '') END"),
    "address_norm": ("CASE WHEN nullif(trim(address_detail), '') IS NOT NULL THEN "
                     "regexp_replace(coalesce(district, '') || address_detail, '\\s', '', 'g') END"),
}

# Values several MATCH_VALUES share, computed once per record (a nested SELECT) instead of once per use:
# the folded Latin name and its tokens feed eight values; the birth date three.
_HELPERS: tuple[dict[str, str], ...] = (
    {"_latin": _LATIN, "_raw_digits": _RAW_DIGITS,
     "_dob": (f"coalesce(birth_date, CASE WHEN {_ID_USABLE} AND id_status NOT IN ('credit_code', 'bad_date') "
              f"THEN id_birth_date END, {_OLD_DATE})")},
    {"_tokens": "string_split(_latin, ' ')"},
)


def records_sql(where: str = "") -> str:
    """std_records (optionally filtered) plus the helper columns MATCH_VALUES use, as a relation."""
    out = f"{T.STD_RECORDS}" + (f" WHERE {where}" if where else "")
    for helpers in _HELPERS:
        cols = ", ".join(f"{sql} AS {name}" for name, sql in helpers.items())
        out = f"(SELECT *, {cols} FROM {out})"
    return out


MAX_RULES = 63   # rules are a bit mask per pair while pairs are unioned

# Above this many estimated pairs per record a rule is reported as exploding (the cap still applies).
EXPLODE_PAIRS_PER_RECORD = 20


def match_values_sql(where: str = "", columns: Collection[str] | None = None) -> str:
    """SELECT rid and every MATCH_VALUES column (or only `columns`) from std_records (optionally filtered):
    one row per record."""
    cols = ",\n  ".join(f"{sql} AS {name}" for name, sql in MATCH_VALUES.items()
                        if columns is None or name in columns)
    return f"SELECT rid,\n  {cols}\nFROM {records_sql(where)}"


def rule_name(keys: Sequence[str]) -> str:
    """The name a rule has in pairs_candidate.rules and in the stats table: keys joined by '+'."""
    return "+".join(keys)


def rule_keys(name: str) -> list[str]:
    """The keys of a rule from its name (inverse of rule_name)."""
    return name.split("+")


def _rules(cfg: BlockingConfig) -> list[list[str]]:
    """The configured rules, repeated rules dropped, every key checked against MATCH_VALUES."""
    seen: set[str] = set()
    out: list[list[str]] = []
    for keys in cfg.rules:
        unknown = [k for k in keys if k not in MATCH_VALUES]
        if unknown or not keys:
            raise StageError(f"blocking rule {list(keys)!r} uses unknown keys {unknown}; valid: "
                             f"{', '.join(MATCH_VALUES)}", stage="block")
        if rule_name(keys) not in seen:
            seen.add(rule_name(keys))
            out.append(list(keys))
    if len(out) > MAX_RULES:
        raise StageError(f"{len(out)} blocking rules: at most {MAX_RULES} are supported", stage="block")
    return out


def _estimate(db: Database, keys: list[str], idx: int, max_block_size: int) -> dict[str, Any]:
    """Group the rule's key values (table _blk_groups_<idx>) and count the pairs the join will make."""
    cols = ", ".join(keys)
    not_null = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    db.execute(f"""
        CREATE OR REPLACE TEMP TABLE _blk_groups_{idx} AS
        SELECT {cols}, count(*) AS n, row_number() OVER () AS gid
        FROM _blk_side WHERE {not_null} GROUP BY {cols} HAVING count(*) > 1""")
    row = db.fetchall(f"""
        SELECT coalesce(sum(n * (n - 1) // 2) FILTER (WHERE n <= {max_block_size}), 0),
               coalesce(sum(n * (n - 1) // 2), 0),
               count(*) FILTER (WHERE n > {max_block_size}),
               coalesce(sum(n) FILTER (WHERE n > {max_block_size}), 0),
               coalesce(max(n), 0),
               coalesce(max(n) FILTER (WHERE n <= {max_block_size}), 0)
        FROM _blk_groups_{idx}""")[0]
    return {"rule": rule_name(keys), "estimated_pairs": int(row[0]), "uncapped_pairs": int(row[1]),
            "excluded_values": int(row[2]), "excluded_records": int(row[3]), "largest_block": int(row[4]),
            "largest_kept_block": int(row[5])}


def _warnings(stats: list[dict[str, Any]], n_records: int, max_block_size: int) -> list[dict[str, str]]:
    out = []
    for est in stats:
        name = est["rule"]
        if est["estimated_pairs"] > EXPLODE_PAIRS_PER_RECORD * max(n_records, 1):
            out.append({
                "rule": name,
                "message_zh": f"分块规则 {name} 预计产生 {est['estimated_pairs']:,} 对候选，"
                              f"相对 {n_records:,} 条记录过多",
                "message_en": f"blocking rule {name} would make {est['estimated_pairs']:,} candidate pairs "
                              f"for {n_records:,} records: too many, tighten the rule"})
        if est["excluded_values"]:
            out.append({
                "rule": name,
                "message_zh": f"分块规则 {name}：{est['excluded_values']} 个取值被超过 "
                              f"{max_block_size} 条记录共用（共 {est['excluded_records']} 条），不参与分块",
                "message_en": f"blocking rule {name}: {est['excluded_values']} values shared by more than "
                              f"{max_block_size} records ({est['excluded_records']} records) are not "
                              "blocked on"})
    return out


def _prepare(db: Database, cfg: BlockingConfig) -> tuple[list[list[str]], int, list[dict[str, Any]]]:
    """Key values per record (_blk_side) and per-rule value groups: (rules, records, estimates)."""
    if not db.has_table(T.STD_RECORDS):
        raise StageError(f"table {T.STD_RECORDS} is missing: run validate first", stage="block")
    rules = _rules(cfg)
    needed = sorted({k for keys in rules for k in keys})
    side_cols = ", ".join(f"{MATCH_VALUES[k]} AS {k}" for k in needed)
    db.execute(f"CREATE OR REPLACE TEMP TABLE _blk_side AS SELECT rid, {side_cols} FROM {records_sql()}")
    stats = [_estimate(db, keys, idx, cfg.max_block_size) for idx, keys in enumerate(rules)]
    return rules, db.count("_blk_side"), stats


def _drop_temp(db: Database, n_rules: int) -> None:
    for tmp in ("_blk_side", "_blk_pairs", "_blk_rules", *(f"_blk_groups_{i}" for i in range(n_rules))):
        db.execute(f"DROP TABLE IF EXISTS {tmp}")


def estimate(db: Database, cfg: BlockingConfig) -> dict[str, Any]:
    """Per-rule pair counts (what block would make, and without the size cap) without making any pair."""
    rules, n_records, stats = _prepare(db, cfg)
    _drop_temp(db, len(rules))
    return {"records": n_records, "rules": stats, "warnings": _warnings(stats, n_records, cfg.max_block_size)}


def block(db: Database, cfg: BlockingConfig) -> dict[str, Any]:
    """Write pairs_candidate (rid_l < rid_r, ';'-joined rule names) and pairs_blocking_stats.

    Every rule is estimated before any pair is made. A value shared by more than cfg.max_block_size
    records (a placeholder phone, 张伟 in one district) is not blocked on: it is counted in the stats
    table instead. Rules whose estimated pair count is large for the data size come back under
    "warnings" (also logged). Cost is near-linear in records as long as blocks are capped.
    """
    rules, n_records, stats = _prepare(db, cfg)
    warnings = _warnings(stats, n_records, cfg.max_block_size)
    for w in warnings:
        log.warning("%s", w["message_en"])

    db.execute("CREATE OR REPLACE TEMP TABLE _blk_pairs (rid_l BIGINT, rid_r BIGINT, rule_idx SMALLINT)")
    db.execute("CREATE OR REPLACE TEMP TABLE _blk_rules (rule_idx SMALLINT, rule VARCHAR)")
    for idx, keys in enumerate(rules):
        # A join on one integer group id: records sharing a kept value of the rule's keys.
        db.execute(f"""
            INSERT INTO _blk_pairs
            WITH kept AS (
                SELECT s.rid, g.gid FROM _blk_side s JOIN _blk_groups_{idx} g USING ({", ".join(keys)})
                WHERE g.n <= {cfg.max_block_size})
            SELECT a.rid AS rid_l, b.rid AS rid_r, {idx}::SMALLINT AS rule_idx
            FROM kept a JOIN kept b ON a.gid = b.gid AND a.rid < b.rid""")
        db.execute("INSERT INTO _blk_rules VALUES (?, ?)", [idx, rule_name(keys)])
        db.execute(f"DROP TABLE _blk_groups_{idx}")

    actual = dict(db.fetchall("SELECT rule_idx, count(*) FROM _blk_pairs GROUP BY rule_idx"))
    for idx, row in enumerate(stats):
        row["actual_pairs"] = int(actual.get(idx, 0))
    # Rules as a bit mask per pair (an integer aggregate is ~5× faster than string_agg over millions of
    # pairs), named once per distinct mask.
    db.execute(f"""
        CREATE OR REPLACE TABLE {T.PAIRS_CANDIDATE} AS
        WITH agg AS (
            SELECT rid_l, rid_r, bit_or(1::BIGINT << rule_idx) AS mask FROM _blk_pairs GROUP BY rid_l, rid_r),
        named AS (
            SELECT m.mask, string_agg(r.rule, ';' ORDER BY r.rule_idx) AS rules
            FROM (SELECT DISTINCT mask FROM agg) m JOIN _blk_rules r ON (m.mask >> r.rule_idx) & 1 = 1
            GROUP BY m.mask)
        SELECT a.rid_l, a.rid_r, n.rules FROM agg a JOIN named n USING (mask) ORDER BY a.rid_l, a.rid_r""")
    columns = ("rule", "estimated_pairs", "actual_pairs", "excluded_values", "largest_block",
               "excluded_records", "uncapped_pairs", "largest_kept_block")
    schema = {c: pl.String if c == "rule" else pl.Int64 for c in columns}
    db.write(BLOCKING_STATS, pl.DataFrame([{c: row[c] for c in columns} for row in stats], schema=schema))
    _drop_temp(db, len(rules))
    return {"records": n_records, "pairs": db.count(T.PAIRS_CANDIDATE), "rules": len(rules),
            "pairs_before_dedup": sum(r["actual_pairs"] for r in stats),
            "excluded_values": sum(r["excluded_values"] for r in stats), "warnings": warnings}
