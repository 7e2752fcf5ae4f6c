"""Person and company names: type, simplified comparison value, surname split, pinyin and an order-free key.

Work is done once per DISTINCT raw name and joined back. Hanzi names (the bulk) are vectorized with
per-character tables (OpenCC t2s, pypinyin); romanized and mixed names are parsed in Python per distinct
value (romanized.py); surnames take their surname reading (曾 zeng, 单 shan) from name_data.
"""

from __future__ import annotations

import polars as pl

from hanlink.standardize.lookups import han_pinyin, pinyin_table, to_simplified
from hanlink.standardize.name_data import (
    COMPANY_LATIN,
    COMPANY_SUFFIXES,
    COMPANY_WORDS,
    COMPOUND_SURNAMES,
    JUNK_NAMES,
    SURNAME_READINGS,
)
from hanlink.standardize.romanized import ParsedName, parse_mixed, parse_romanized
from hanlink.standardize.text import issue

NAME_COLUMNS: dict[str, pl.DataType] = {
    "name": pl.String(), "name_type": pl.String(), "surname": pl.String(), "given_name": pl.String(),
    "surname_pinyin": pl.String(), "surname_alt": pl.String(), "name_pinyin": pl.String(),
    "given_pinyin": pl.String(), "name_key": pl.String(), "name_issue": pl.String(),
}

# Middle dots people type between the parts of a transliterated (e.g. Uyghur) name.
_DOTS = ["・", "•", "‧", "∙", "⋅", "･", "●", "．", "."]
_HAN = r"\p{Han}"
_JUNK_REGEX = r"^[0-9]+$|测试|^test|^(?:null|none|n/?a|unknown)$"


# What CRM, shop and call-centre staff add to a name: a note in brackets (张伟（VIP）, 李娜【已离职】), a
# courtesy title after a Hanzi surname or name (王小姐, 张伟先生) or before a Latin name (Mr. Zhang Wei).
# Left out of the comparison value (the raw name keeps them) when a name remains; flagged name.annotated.
# Greedy, first opening to last closing bracket: what is left has no pair of that kind, so standardizing
# the result again changes nothing (nested and repeated notes included).
_NOTES = (r"\(.*\)", r"【.*】", r"\[.*\]", r"〔.*〕")
_HAN_TITLE = r"^(\p{Han}[\p{Han}·]*?)(?:\s*(?:先生|女士|小姐|太太|夫人))+$"
# Not sir / lady / lord: in old records (historical_figures) the title often stands for the name.
_LATIN_TITLE = r"^(?:(?i:mr|mrs|ms|miss|mx|dr|prof)\.?\s+)+(\S)"


def _cleaned(raw: pl.Expr) -> pl.Expr:
    """NFKC, simplified (for comparison), control and zero-width characters out, middle dots → '·',
    trimmed."""
    s = to_simplified(raw.str.replace_all(r"[\p{Cc}\p{Cf}]", "").str.normalize("NFKC"))
    s = s.str.replace_all(r"(\p{Han})\s*[" + "".join(_DOTS) + r"·]\s*(\p{Han})", "${1}·${2}")
    return s.str.strip_chars()


def _without_annotations(cleaned: pl.Expr) -> pl.Expr:
    """`cleaned` without bracketed notes and courtesy titles, or as it was when nothing else is left."""
    s = cleaned
    for note in _NOTES:
        s = s.str.replace(note, " ")
    s = s.str.replace_all(r"\s+", " ").str.strip_chars()
    s = s.str.replace(_HAN_TITLE, "${1}").str.replace(_LATIN_TITLE, "${1}")
    return pl.when(s.str.contains(r"[\p{L}\p{N}]")).then(s).otherwise(cleaned)


def _core(cleaned: pl.Expr) -> pl.Expr:
    """Lower case, accents, spaces and punctuation out (the '·' of ethnic names kept): what classification
    sees. Accents go because romanized names lose them too ('Ìì' must be junk like the 'ii' it becomes)."""
    return (cleaned.str.to_lowercase().str.normalize("NFD").str.replace_all(r"[\s\p{P}\p{S}\p{Mn}&&[^·]]", "")
            .str.normalize("NFC").str.strip_chars("·"))


def _is_junk(core: pl.Expr) -> pl.Expr:
    """A placeholder rather than a name, judged on the classification core."""
    repeated = core.str.split("").list.n_unique() == 1
    return (core.is_in(JUNK_NAMES) | (core == "") | core.str.contains(_JUNK_REGEX)
            | (repeated & core.str.contains(r"^[a-z]{2,}$|^\p{Han}{3,}$")))


def _name_type() -> pl.Expr:
    core = pl.col("_core")
    junk = _is_junk(core)
    lower = pl.col("_clean").str.to_lowercase()
    company = (core.str.contains_any(list(COMPANY_WORDS))     # core: '公 司' and '公:司' count too
               | (pl.any_horizontal([core.str.ends_with(s) for s in COMPANY_SUFFIXES])
                  & (core.str.len_chars() >= 3) & core.str.contains(r"^\p{Han}+$"))
               | lower.str.contains(COMPANY_LATIN))
    return (
        pl.when(pl.col("_clean").is_null() | (pl.col("_clean") == "")).then(pl.lit("missing"))
        .when(junk).then(pl.lit("junk"))
        .when(company).then(pl.lit("company"))
        .when(core.str.contains(r"^[\p{Han}·]+$")).then(pl.lit("hanzi"))
        .when(pl.col("_clean").str.contains(r"^[\p{Latin}\s,.'’\-]+$")).then(pl.lit("romanized"))
        .otherwise(pl.lit("mixed"))
    )


def _hanzi(df: pl.DataFrame) -> pl.DataFrame:
    """Vectorized Hanzi names: surname split (compound surnames, '·' names) and pinyin."""
    readings = dict(SURNAME_READINGS)
    h = pl.col("_core").str.replace_all("·+", "·")
    dotted = pl.col("name").str.contains("·")
    n = pl.col("name").str.len_chars()
    first2 = pl.col("name").str.slice(0, 2)
    surname = (pl.when(dotted).then(pl.col("name").str.split("·").list.last())
               .when(first2.is_in(COMPOUND_SURNAMES) & (n >= 3)).then(first2)
               .otherwise(pl.col("name").str.slice(0, 1)))
    parts = pl.col("name").str.split("·")
    given = (pl.when(dotted).then(parts.list.slice(0, parts.list.len() - 1).list.join("·"))
             .otherwise(pl.col("name").str.slice(pl.col("surname").str.len_chars())))
    sur_py = pl.coalesce(
        pl.when(~dotted).then(pl.col("surname").replace_strict(readings, default=None,
                                                                return_dtype=pl.String)),
        han_pinyin(pl.col("surname")))
    out = (df.lazy().with_columns(name=h).with_columns(surname=surname)
           .with_columns(given_name=pl.when(given != "").then(given))
           .with_columns(surname_pinyin=sur_py, given_pinyin=han_pinyin(pl.col("given_name")))
           .with_columns(name_pinyin=pl.concat_str(["surname_pinyin", "given_pinyin"], separator=" ",
                                                   ignore_nulls=True))
           .with_columns(name_key=pl.col("name_pinyin").str.split(" ").list.sort().list.join(" ")))
    return out.collect()


def _company(df: pl.DataFrame) -> pl.DataFrame:
    """Organisations: simplified, lower case, single spaces (none next to Hanzi); key without spaces and
    punctuation."""
    s = pl.col("_clean").str.to_lowercase().str.replace_all(r"\s+", " ")
    s = s.str.replace_all(r"\s*(\p{Han})\s*", "${1}")
    return df.with_columns(name=s).with_columns(
        name_key=pl.col("name").str.replace_all(r"[\s\p{P}\p{S}]", ""))


def _python_parsed(df: pl.DataFrame, kind: str) -> pl.DataFrame:
    """Romanized / mixed names through the per-value parsers (few distinct values)."""
    chars, readings = pinyin_table() if kind == "mixed" else ([], [])
    char_pinyin = dict(zip(chars, readings, strict=True))
    texts = df["_clean"].to_list()
    if kind == "mixed":
        parsed: list[ParsedName] = [parse_mixed(t, char_pinyin) for t in texts]
    else:
        parsed = [parse_romanized(t) for t in texts]
    cols = list(ParsedName.__annotations__)
    table = pl.DataFrame(parsed, schema=dict.fromkeys(cols, pl.String), orient="row") if parsed \
        else pl.DataFrame(schema=dict.fromkeys(cols, pl.String))
    out = pl.concat([df, table], how="horizontal")
    # Parsing folds accents and drops letters pinyin has no use for: judge junk again on what came out,
    # so that standardizing the result gives the same answer ('AAØ' → 'a a' is junk like 'aa').
    junk = pl.col("name").is_null() | _is_junk(_core(pl.col("name")))
    return out.with_columns(name_type=pl.when(junk).then(pl.lit("junk")).otherwise(pl.col("name_type"))
                            ).with_columns(pl.when(pl.col("name_type") != "junk").then(pl.col(c)).alias(c)
                                           for c in cols)


def standardize_names(values: pl.Series) -> pl.DataFrame:
    """Standardize names (same length and order as `values`): name, name_type, surname, given_name,
    surname_pinyin, surname_alt, name_pinyin, given_pinyin, name_key, name_issue.

    name_type: hanzi | romanized | mixed | company | junk | missing. `name` is the comparison value
    (NFKC, simplified, no spaces or punctuation for Hanzi; lower-case syllables for romanized), null for
    junk and missing (issue name.junk). `name_key` sorts the pinyin syllables, so 张伟, 'Zhang Wei',
    'WEI ZHANG', 'zhangwei' and 'ZHANG, Wei' share 'wei zhang'. Surnames in Hanzi stay Hanzi; romanized
    surnames are pinyin (HK/TW spellings mapped: Wong → wang, all readings in surname_alt).
    """
    frame = pl.DataFrame({"_raw": values.cast(pl.String)})
    uniq = frame.unique(maintain_order=True).with_columns(_full=_cleaned(pl.col("_raw"))).with_columns(
        _clean=_without_annotations(pl.col("_full"))).with_columns(
        _core=_core(pl.col("_clean")), _annotated=pl.col("_clean") != pl.col("_full")).with_columns(
        name_type=_name_type())
    parts = []
    for kind, fn in (("hanzi", _hanzi), ("company", _company), ("romanized", None), ("mixed", None)):
        sub = uniq.filter(pl.col("name_type") == kind)
        if sub.height:
            parts.append(fn(sub) if fn else _python_parsed(sub, kind))
    parts.append(uniq.filter(pl.col("name_type").is_in(["junk", "missing"])))
    schema = {"_raw": pl.String(), "_annotated": pl.Boolean(), **NAME_COLUMNS}
    table = pl.concat([p.with_columns([pl.lit(None, dtype=t).alias(c) for c, t in schema.items()
                                       if c not in p.columns]).select(list(schema)) for p in parts])
    table = table.with_columns(name_issue=pl.coalesce(
        issue(pl.col("name_type") == "junk", "name.junk"),
        issue(pl.col("_annotated").fill_null(False) & pl.col("name_type").ne("missing"), "name.annotated")))
    return frame.join(table, on="_raw", how="left", nulls_equal=True, maintain_order="left").drop(
        "_raw", "_annotated")
