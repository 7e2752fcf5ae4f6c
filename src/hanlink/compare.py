"""Comparisons as data (ordered levels of SQL conditions) and the stage that levels every candidate pair."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from rapidfuzz.distance import OSA, Hamming, JaroWinkler
from rapidfuzz.fuzz import token_set_ratio
from rapidfuzz.process import cpdist

from hanlink import tables as T
from hanlink.block import MATCH_VALUES, match_values_sql
from hanlink.db import Database
from hanlink.errors import StageError


@dataclass(frozen=True)
class Level:
    """One level of a comparison: a SQL condition on `l.<value>` and `r.<value>` (MATCH_VALUES columns).

    `tf_value` names the value whose frequency among records replaces u for a pair at this level
    (term-frequency adjustment: agreeing on 张伟 is weaker evidence than agreeing on a rare name).
    `implies` names looser levels of the same comparison that are true whenever this one is (identical
    texts have Jaro-Winkler 1): scoring keeps this level's weight from falling below theirs.
    """

    label: str
    sql: str
    tf_value: str | None = None
    implies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """A comparison: levels strongest first, the first true one wins; the last level is the catch-all.

    `null_sql` true → level -1 (no evidence either way). `values` are what explanations show side by side.
    `keys` are the blocking keys that bias this comparison: pairs blocked on them agree by construction.
    """

    name: str
    values: tuple[str, ...]
    null_sql: str
    levels: tuple[Level, ...]
    keys: tuple[str, ...] = ()

    @property
    def column(self) -> str:
        return f"g_{self.name}"

    def level_index(self, label: str) -> int:
        return next(i for i, lv in enumerate(self.levels) if lv.label == label)

    def case_sql(self) -> str:
        whens = "".join(f" WHEN {lv.sql} THEN {i}" for i, lv in enumerate(self.levels[:-1]))
        return f"CAST(CASE WHEN {self.null_sql} THEN -1{whens} ELSE {len(self.levels) - 1} END AS INTEGER)"


def _nulls(*values: str) -> str:
    return " OR ".join(f"{side}.{v} IS NULL" for v in values for side in ("l", "r"))


ELSE = Level("else", "TRUE")
# Character-level Jaro-Winkler (DuckDB's own works on UTF-8 bytes, which flatters Chinese text).
JW = "hanlink_jw"
# Edit distance counting an adjacent swap as one edit (optimal string alignment), capped at 2: for
# "at most one edit" it agrees with DuckDB's damerau_levenshtein, at twice the speed.
EDITS = "hanlink_edits"
# Token-set similarity (0..1): words in common, in any order, one side's extra words ignored —
# "38 wentworth house 6148" against "38 fidge street wentworth house blair athol 6148".
TOKENS = "hanlink_tokens"


def _ascii(text: str) -> str:
    """SQL: `text` is all ASCII (as many bytes as characters; Spark-translatable, unlike strlen)."""
    return f"octet_length(encode({text})) = length({text})"


def jw_sql(a: str, b: str) -> str:
    """SQL for the character-level Jaro-Winkler of two texts. Where both are ASCII (pinyin, Latin names,
    email local parts) DuckDB's built-in one is the same rapidfuzz C++ code on bytes = characters, ten times
    cheaper than a Python call; Hanzi go to the Python function. Equal texts score 1 (the built-in gives 0
    for two empty texts)."""
    return (f"CASE WHEN {a} = {b} THEN 1.0 WHEN {_ascii(a)} AND {_ascii(b)} "
            f"THEN jaro_winkler_similarity({a}, {b}) ELSE {JW}({a}, {b}) END")


def _one_edit(v: str) -> str:
    # Equal lengths: one substitution is Hamming 1, an adjacent swap Hamming 2 — DuckDB's built-in Hamming is
    # cheap, so the Python edit distance only sees the Hamming-2 and off-by-one-length pairs (a few %).
    # (Equal texts first: the built-in refuses two empty texts.)
    a, b = f"l.{v}", f"r.{v}"
    return (f"CASE WHEN {a} = {b} THEN true WHEN length({a}) = length({b}) THEN hamming({a}, {b}) <= 1 "
            f"OR (hamming({a}, {b}) = 2 AND {EDITS}({a}, {b}) <= 1) "
            f"ELSE abs(length({a}) - length({b})) = 1 AND {EDITS}({a}, {b}) <= 1 END")

_NAME_TEXT = "coalesce({s}.name_pinyin, {s}.name)"
# DuckDB's own Jaro-Winkler (on bytes) is exact for the a-z0-9 text of Latin name keys, and costs nothing
# on the nulls of Chinese names, unlike a Python call.
_ASCII_JW = "jaro_winkler_similarity"
# Names in Latin letters on both sides are also compared as typed and with their tokens sorted (given and
# family name in either order); the best of the three similarities counts. Chinese names keep pinyin only.
_NAME_JW = (f"CASE WHEN l.name_latin IS NULL OR r.name_latin IS NULL "
            f"THEN {jw_sql(_NAME_TEXT.format(s='l'), _NAME_TEXT.format(s='r'))} "
            f"ELSE greatest({jw_sql(_NAME_TEXT.format(s='l'), _NAME_TEXT.format(s='r'))}, "
            f"{_ASCII_JW}(l.name_latin, r.name_latin), {_ASCII_JW}(l.name_tokens, r.name_tokens)) END")
# A name in Latin letters reads as pinyin only when its pinyin spells all of it (a guard: standardize now
# keeps every word of a Latin name, "bianca mccarthy" whole, but older std_records may not).
_WHOLE_PINYIN = " AND ".join(
    f"({s}.name_latin IS NULL "
    f"OR length(replace({s}.name_pinyin, ' ', '')) = length(replace({s}.name_latin, ' ', '')))"
    for s in ("l", "r"))
# Latin names: both parts agree up to a typo, in either order. A whole-name similarity is flattered by a
# shared given name ("frank carter" / "frank parker" 0.93): the family name must be close too, else only
# one token agrees. A one-word name is its own first and last token; "johnsmith" is "john smith".
_PARTS = ("(l.name_latin IS NULL OR r.name_latin IS NULL "
          "OR replace(l.name_latin, ' ', '') = replace(r.name_latin, ' ', '') "
          f"OR ({_ASCII_JW}(l.name_first, r.name_first) >= 0.8 "
          f"AND {_ASCII_JW}(l.name_last, r.name_last) >= 0.8) "
          f"OR ({_ASCII_JW}(l.name_first, r.name_last) >= 0.8 "
          f"AND {_ASCII_JW}(l.name_last, r.name_first) >= 0.8))")
# A short form of the same given name (block.NICKNAMES) and the same family name up to a typo.
_NICKNAME = ("l.name_first_full = r.name_first_full AND l.name_first <> r.name_first "
             "AND contains(l.name_latin, ' ') AND contains(r.name_latin, ' ') "
             f"AND {_ASCII_JW}(l.name_last, r.name_last) >= 0.9")
# One token of a Latin name agrees (up to a typo) with one of the other's: the family name, or the
# given name, in either order.
_ONE_TOKEN = ("greatest("
              f"{_ASCII_JW}(l.name_first, r.name_first), {_ASCII_JW}(l.name_last, r.name_last), "
              f"{_ASCII_JW}(l.name_first, r.name_last), {_ASCII_JW}(l.name_last, r.name_first)) >= 0.9")
# Two foreign addresses with no part of the same kind: words (a town) in one, only a postcode in the other.
_ADDRESS_APART = ("(l.address_place IS NULL OR r.address_place IS NULL) "
                  "AND (l.address_post IS NULL OR r.address_post IS NULL)")
# The same given name in another language (block.NAME_VARIANTS: "ian" / "john") and the same family name
# up to a typo.
_VARIANT = ("l.name_first_variant = r.name_first_variant AND l.name_first <> r.name_first "
            "AND contains(l.name_latin, ' ') AND contains(r.name_latin, ' ') "
            f"AND {_ASCII_JW}(l.name_last, r.name_last) >= 0.9")
# Latin names, both of two or more words: one given name is an initial of the other's ("j. goodall" /
# "john goodall"), the family names agree up to a typo.
_INITIAL = ("l.name_initials IS NOT NULL AND r.name_initials IS NOT NULL "
            "AND (length(l.name_first) = 1 OR length(r.name_first) = 1) "
            "AND left(l.name_first, 1) = left(r.name_first, 1) "
            f"AND {_ASCII_JW}(l.name_last, r.name_last) >= 0.9")
# The same family name (up to a typo) and given names with the same initial ("henry dobson" / "harold
# dobson"): a variant or a sibling — weaker than a nickname, stronger than a shared family name alone.
_GIVEN_INITIAL = f"l.name_initials = r.name_initials AND {_ASCII_JW}(l.name_last, r.name_last) >= 0.9"
# Words that stand in front of a name instead of a given name: titles, honorifics, ordinals ("1st").
_TITLE = ("(l.name_first IN {t} OR regexp_matches(l.name_first, '^[0-9]+(st|nd|rd|th)$'))")
_TITLES = ("('sir', 'dame', 'lady', 'lord', 'rev', 'reverend', 'rt', 'hon', 'the', 'dr', 'mr', 'mrs', "
           "'miss', 'ms', 'capt', 'captain', 'col', 'colonel', 'gen', 'general', 'maj', 'major', 'count', "
           "'countess')")
# One name says less than the other without contradicting it: a one-word name that is the other's family
# name ("pocknee" / "john pocknee"); weaker, its given name ("john" / "john pocknee") or a title in place of
# the given name ("sir doyle" / "arthur doyle").
_SUBSET = " OR ".join(
    f"({a}.name_initials IS NULL AND {b}.name_initials IS NOT NULL "
    f"AND {_ASCII_JW}({a}.name_first, {b}.name_last) >= 0.9)" for a, b in (("l", "r"), ("r", "l")))
_SUBSET_GIVEN = " OR ".join(
    f"({a}.name_initials IS NULL AND {b}.name_initials IS NOT NULL "
    f"AND {_ASCII_JW}({a}.name_first, {b}.name_first) >= 0.9) "
    f"OR ({a}.name_initials IS NOT NULL AND {b}.name_initials IS NOT NULL "
    f"AND {_TITLE.replace('l.', a + '.').format(t=_TITLES)} "
    f"AND {_ASCII_JW}({a}.name_last, {b}.name_last) >= 0.9)"
    for a, b in (("l", "r"), ("r", "l")))
# How many of the 8 digits of YYYYMMDD differ (pure SQL: cheap on the u sample's random pairs). Dates that
# don't parse (1856-86-18) take part through their typed digits. DuckDB's built-in Hamming counts them in
# one call where both have 8 (always, but for a year before 1000); digit by digit otherwise.
_DATE_DIGITS_DIFFERENT = (
    "(CASE WHEN length(l.birth_digits) = 8 AND length(r.birth_digits) = 8 "
    "THEN hamming(l.birth_digits, r.birth_digits) ELSE "
    + " + ".join(f"(substr(l.birth_digits, {i}, 1) <> substr(r.birth_digits, {i}, 1))::INT"
                 for i in range(1, 9))
    + " END)")
# The same date with one part mistyped: same year and month (the day differs), day and month swapped, or
# one typed digit off (1860-01-03 / 1850-01-03, 1856-86-18). Not when both dates are only a year (-01-01):
# those one digit apart are often neighbouring years of different people (level year_one_digit). Sharing
# month and day alone is no evidence: 01-01 stands for "year only" on a tenth of random pairs.
_DATE_ONE_PART = ("(year(l.birth_date) = year(r.birth_date) AND month(l.birth_date) = month(r.birth_date)) "
                  "OR (year(l.birth_date) = year(r.birth_date) AND month(l.birth_date) = day(r.birth_date) "
                  "AND day(l.birth_date) = month(r.birth_date)) "
                  f"OR ({_DATE_DIGITS_DIFFERENT} = 1 AND NOT (right(l.birth_digits, 4) = '0101' "
                  "AND right(r.birth_digits, 4) = '0101'))")
# Both names Chinese, one is the other with one character left out: 张伟 / 张伟明, 欧阳娜娜 / 欧阳娜. The
# shorter keeps at least two characters (张 alone is a surname, not a name).
_ONE_CHAR_MISSING = ("l.name_shape IS NOT NULL AND r.name_shape IS NOT NULL "
                     "AND abs(length(l.name) - length(r.name)) = 1 "
                     "AND least(length(l.name), length(r.name)) >= 2 "
                     f"AND {EDITS}(l.name, r.name) = 1")
_EMAIL_LOCAL_JW = jw_sql("split_part(l.email, '@', 1)", "split_part(r.email, '@', 1)")
_FREE_JW = jw_sql("l.address_free", "r.address_free")
_FREE_TOKENS = f"{TOKENS}(l.address_free, r.address_free)"
_DETAIL_JW = jw_sql("l.address_detail", "r.address_detail")
_SAME_DISTRICT = ("l.district = r.district AND (l.city = r.city OR l.city IS NULL OR r.city IS NULL) "
                  "AND (l.province = r.province OR l.province IS NULL OR r.province IS NULL)")

# The comparisons every pair gets, in pairs_compared column order. Plain data: a Spark backend runs the
# same SQL (registering hanlink_jw and hanlink_edits from the *_arrow functions as vectorized UDFs).
COMPARISONS: tuple[Comparison, ...] = (
    Comparison("name", ("name", "name_pinyin", "name_key"), _nulls("name"), (
        Level("exact", "l.name = r.name", tf_value="name"),
        Level("pinyin", f"l.name_pinyin = r.name_pinyin AND {_WHOLE_PINYIN}", tf_value="name_pinyin"),  # 繁体
        Level("name_key", f"l.name_key = r.name_key AND {_WHOLE_PINYIN}", tf_value="name_key"),  # Wei Zhang
        Level("shape", "l.name_shape = r.name_shape"),                              # 王小明 / 玉小明 (形近字)
        Level("one_char_missing", _ONE_CHAR_MISSING),                               # 张伟 / 张伟明
        Level("tokens", "l.name_tokens = r.name_tokens", tf_value="name_tokens"),   # Smith John = John Smith
        Level("nickname", _NICKNAME),                                              # bill / william smith
        Level("jw_0.92", f"{_NAME_JW} >= 0.92 AND {_PARTS}"),
        Level("jw_0.80", f"{_NAME_JW} >= 0.8 AND {_PARTS}"),
        Level("surname", "l.surname = r.surname"),
        Level("variant", _VARIANT),                                                 # ian / john pocknee
        Level("initial", _INITIAL),                                           # j. goodall / john goodall
        Level("given_initial", _GIVEN_INITIAL),                                     # henry / harold dobson
        Level("subset", _SUBSET),                                                   # pocknee / john pocknee
        Level("subset_given", _SUBSET_GIVEN),                                       # john / john pocknee
        Level("one_token", _ONE_TOKEN),
        ELSE), keys=("name", "name_pinyin", "name_key", "name_norm", "surname", "given_pinyin", "name_latin",
                     "name_tokens", "name_first", "name_last", "name_initials", "name_first_sdx",
                     "name_last_sdx", "name_shape", "name_first_full", "name_first_variant")),
    Comparison("phone", ("phone",), _nulls("phone"), (
        Level("exact", "l.phone = r.phone"),
        Level("one_edit", _one_edit("phone")),  # one digit or one swap
        ELSE), keys=("phone", "phone_last4")),
    Comparison("landline", ("landline",), _nulls("landline"), (
        Level("exact", "l.landline = r.landline"),
        ELSE), keys=("landline",)),
    Comparison("id_number", ("id_number",), _nulls("id_number"), (
        Level("exact", "l.id_number = r.id_number"),
        Level("one_edit", _one_edit("id_number")),
        Level("birth_region", "left(l.id_number, 14) = left(r.id_number, 14)"),  # region + birth date
        ELSE), keys=("id_number", "id_birth")),
    # A non-Chinese ID number (social security, passport): only ever present when both sides have one.
    Comparison("other_id", ("other_id",), _nulls("other_id"), (
        Level("exact", "l.other_id = r.other_id"),
        Level("one_edit", _one_edit("other_id")),
        ELSE), keys=("other_id",)),
    Comparison("email", ("email",), _nulls("email"), (
        Level("exact", "l.email = r.email"),
        Level("local_jw_0.90", f"{_EMAIL_LOCAL_JW} >= 0.9"),
        ELSE), keys=("email",)),
    # A date that doesn't parse is known to be wrong: its digits count when close to the other date (a
    # typo), and as no evidence otherwise (2003-04-31 against 2003-11-24 says nothing against the pair).
    Comparison("birth_date", ("birth_digits",),
               f"{_nulls('birth_digits')} OR ((l.birth_date IS NULL OR r.birth_date IS NULL) "
               f"AND {_DATE_DIGITS_DIFFERENT} > 2)", (
        Level("exact", "l.birth_digits = r.birth_digits", tf_value="birth_digits"),   # 01-01: weak
        Level("one_part", _DATE_ONE_PART),                  # 1854-01-04 / 1854-01-07, 1860- / 1850-01-03
        Level("year_one_digit", f"{_DATE_DIGITS_DIFFERENT} = 1"),    # 1843-01-01 / 1853-01-01: years only
        Level("within_31_days", "abs(date_diff('day', l.birth_date, r.birth_date)) <= 31"),
        # Two typed digits wrong (1977-01-29 / 1987-01-28): a typo, not another person's date.
        Level("two_digits", f"{_DATE_DIGITS_DIFFERENT} <= 2"),
        ELSE), keys=("birth_date", "id_birth", "birth_year", "birth_digits", "birth_md")),
    Comparison("gender", ("gender",), _nulls("gender"), (
        Level("exact", "l.gender = r.gender"),
        ELSE), keys=("gender",)),
    Comparison("address", ("province", "city", "district", "address_detail"),
               "coalesce(l.district, l.city) IS NULL OR coalesce(r.district, r.city) IS NULL", (
        Level("district_detail", f"{_SAME_DISTRICT} AND {_DETAIL_JW} >= 0.9"),
        Level("district", _SAME_DISTRICT),
        Level("city", "l.city = r.city"),
        ELSE), keys=("province", "city", "district", "address_detail", "address_norm")),
    # A foreign address (no Chinese division found in it) as free text; null for Chinese addresses, and
    # when the two say different kinds of thing (only a town in one, only a postcode in the other).
    Comparison("address_text", ("address_free",), f"{_nulls('address_free')} OR ({_ADDRESS_APART})", (
        Level("exact", "l.address_free = r.address_free", tf_value="address_free",
              implies=("jw_0.90", "tokens_0.90", "jw_0.80")),
        Level("jw_0.90", f"{_FREE_JW} >= 0.9"),
        Level("tokens_0.90", f"{_FREE_TOKENS} >= 0.9"),      # words left out or reordered
        Level("postcode_jw_0.80", f"l.address_post = r.address_post AND {_FREE_JW} >= 0.8"),
        Level("jw_0.80", f"{_FREE_JW} >= 0.8"),
        Level("postcode", "l.address_post = r.address_post", implies=("outward",)),
        Level("outward", "l.address_outward = r.address_outward"),  # sk9 7hx / sk9 7hz: same postal district
        ELSE), keys=("address_free", "address_post", "address_outward", "address_place")),
)


def comparison(name: str) -> Comparison:
    """The comparison called `name` (KeyError-free: raises StageError naming the valid ones)."""
    for c in COMPARISONS:
        if c.name == name:
            return c
    raise StageError(f"unknown comparison {name!r}; valid: {', '.join(c.name for c in COMPARISONS)}",
                     stage="compare")


def jaro_winkler_arrow(a: pa.Array, b: pa.Array) -> pa.Array:
    """Character-level Jaro-Winkler similarity (0..1) of two string arrays, element by element."""
    sims = cpdist(a.to_pylist(), b.to_pylist(), scorer=JaroWinkler.similarity, dtype=np.float64, workers=1)
    return pa.array(sims, type=pa.float64())


def edits_arrow(a: pa.Array, b: pa.Array) -> pa.Array:
    """Optimal-string-alignment distance of two string arrays, element by element, capped at 2."""
    dist = cpdist(a.to_pylist(), b.to_pylist(), scorer=OSA.distance, score_cutoff=2, dtype=np.int32,
                  workers=1)
    return pa.array(dist, type=pa.int32())


def hamming_arrow(a: pa.Array, b: pa.Array) -> pa.Array:
    """Hamming distance of two string arrays, element by element (DuckDB's built-in `hamming`, for Spark)."""
    dist = cpdist(a.to_pylist(), b.to_pylist(), scorer=Hamming.distance, dtype=np.int32, workers=1)
    return pa.array(dist, type=pa.int32())


def token_set_arrow(a: pa.Array, b: pa.Array) -> pa.Array:
    """Token-set similarity (0..1) of two string arrays, element by element (rapidfuzz token_set_ratio)."""
    sims = cpdist(a.to_pylist(), b.to_pylist(), scorer=token_set_ratio, dtype=np.float64, workers=1)
    return pa.array(sims / 100.0, type=pa.float64())


def register_functions(db: Database) -> None:
    """Make the Python comparison functions the level SQL uses callable on this database."""
    db.create_function(JW, jaro_winkler_arrow, ["VARCHAR", "VARCHAR"], "DOUBLE")
    db.create_function(TOKENS, token_set_arrow, ["VARCHAR", "VARCHAR"], "DOUBLE")
    db.create_function(EDITS, edits_arrow, ["VARCHAR", "VARCHAR"], "INTEGER")


def side_values(*extra_sql: str) -> list[str]:
    """The MATCH_VALUES the comparisons (and `extra_sql`) read as l.<value> / r.<value>, shown or count
    term frequencies of: what a side table needs (a blocking-only key like a Soundex code is left out)."""
    texts = [sql for c in COMPARISONS for sql in (c.null_sql, *(lv.sql for lv in c.levels))] + list(extra_sql)
    used = {m for t in texts for m in re.findall(r"\b[lr]\.(\w+)", t)}
    used |= {v for c in COMPARISONS for v in c.values} | {lv.tf_value for c in COMPARISONS for lv in c.levels
                                                         if lv.tf_value}
    return [name for name in MATCH_VALUES if name in used]


def comparison_sql(pairs: str, side: str) -> str:
    """SELECT rid_l, rid_r and one g_<comparison> level per comparison for the pairs in relation `pairs`.

    `side` is a relation with rid and the MATCH_VALUES columns (a table, or `(match_values_sql())`).
    """
    cases = ",\n  ".join(f"{c.case_sql()} AS {c.column}" for c in COMPARISONS)
    return (f"SELECT p.rid_l, p.rid_r,\n  {cases}\nFROM {pairs} p\n"
            f"JOIN {side} l ON l.rid = p.rid_l\nJOIN {side} r ON r.rid = p.rid_r")


def compare(db: Database) -> dict[str, Any]:
    """Write pairs_compared: for every candidate pair one integer level per comparison (-1 = a side null)."""
    for table in (T.STD_RECORDS, T.PAIRS_CANDIDATE):
        if not db.has_table(table):
            raise StageError(f"table {table} is missing: run block first", stage="compare")
    register_functions(db)
    db.execute(f"CREATE OR REPLACE TEMP TABLE _cmp_side AS {match_values_sql(columns=side_values())}")
    db.execute(f"CREATE OR REPLACE TABLE {T.PAIRS_COMPARED} AS "
               f"{comparison_sql(T.PAIRS_CANDIDATE, '_cmp_side')}\nORDER BY p.rid_l, p.rid_r")
    db.execute("DROP TABLE IF EXISTS _cmp_side")
    return {"pairs": db.count(T.PAIRS_COMPARED), "comparisons": len(COMPARISONS)}
