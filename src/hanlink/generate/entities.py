"""The real-world entities behind the synthetic records: people (some in families), companies and junk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from hanlink.generate import vocab
from hanlink.generate.ids import credit_code_codes, resident_id_codes

PERSON, COMPANY, JUNK = 0, 1, 2
KIND_NAMES = ("person", "company", "junk")

FAMILY_SHARE = 0.2            # share of people living with relatives of the same surname
FAMILY_SIZES = (2, 3, 4)
FAMILY_SIZE_P = (0.5, 0.3, 0.2)
ONE_CHAR_GIVEN = 0.25         # 张伟-style names: where the collisions are
EMAIL_SHARE = 0.65
LANDLINE_SHARE = 0.15         # people outside families who still have a landline


@dataclass
class Entities:
    """One row per entity in `df`; resident IDs / credit codes as code points in `id_codes` (same order)."""

    df: pl.DataFrame
    id_codes: np.ndarray


def take(table: list[str], idx: np.ndarray) -> pl.Series:
    """table[idx] as a polars string Series; index -1 gives ''."""
    idx = np.asarray(idx)
    return pl.Series([*table, ""]).gather(np.where(idx < 0, len(table), idx))


def repeats(values: np.ndarray) -> np.ndarray:
    """True at every occurrence of a value but its first."""
    _, first = np.unique(values, return_index=True)
    dup = np.ones(len(values), dtype=bool)
    dup[first] = False
    return dup


def unique_ints(values: np.ndarray, redraw: Callable[[np.ndarray], np.ndarray],
                forbidden: np.ndarray | None = None) -> np.ndarray:
    """Redraw repeated (or forbidden) values until all are distinct; redraw(mask) gives new values."""
    values = values.copy()
    for _ in range(100):
        dup = repeats(values)
        if forbidden is not None:
            dup |= np.isin(values, forbidden)
        if not dup.any():
            return values
        values[dup] = redraw(dup)
    raise RuntimeError("could not draw distinct values")  # only with an absurdly small value space


def null_where(values: pl.Series | pl.Expr, mask: np.ndarray) -> pl.Series:
    """values with nulls where mask is true."""
    return pl.select(pl.when(pl.Series(mask)).then(None).otherwise(values)).to_series()


def _ymd(days_since_1950: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dates = np.datetime64("1950-01-01") + days_since_1950.astype("timedelta64[D]")
    months = dates.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (dates - months).astype(np.int64) + 1
    return year, month, day


def _mobiles(rng: np.random.Generator, n: int, taken: np.ndarray | None = None) -> np.ndarray:
    """Distinct mobile numbers, none a placeholder or in `taken`."""
    prefixes = np.array(vocab.MOBILE_PREFIXES, dtype=np.int64)

    def draw(mask: np.ndarray) -> np.ndarray:
        k = int(mask.sum())
        return rng.choice(prefixes, k) * 10**8 + rng.integers(0, 10**8, k)

    forbidden = np.array([int(p) for p in vocab.PLACEHOLDER_PHONES], dtype=np.int64)
    if taken is not None:
        forbidden = np.concatenate([forbidden, taken])
    return unique_ints(draw(np.ones(n, dtype=bool)), draw, forbidden)


def _places(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """A region (row of vocab.regions) and a street-level detail per entity."""
    reg = vocab.regions()
    w = reg["weight"].to_numpy()
    rows = rng.choice(reg.height, n, p=w / w.sum())
    suffixes, suffix_p = vocab.weights_of(vocab.STREET_SUFFIXES)
    street = pl.concat_str(
        take(list(vocab.STREET_STEMS), rng.integers(0, len(vocab.STREET_STEMS), n)),
        take(list(vocab.STREET_DIRECTIONS), rng.integers(0, len(vocab.STREET_DIRECTIONS), n)),
        take(suffixes, rng.choice(len(suffixes), n, p=suffix_p)),
    )
    number = pl.Series(np.minimum(rng.geometric(0.012, n), 999)).cast(pl.String)
    has_compound = rng.random(n) < 0.7
    compound = pl.concat_str(
        take(list(vocab.COMPOUND_STEMS), rng.integers(0, len(vocab.COMPOUND_STEMS), n)),
        take(list(vocab.COMPOUND_SUFFIXES), rng.integers(0, len(vocab.COMPOUND_SUFFIXES), n)),
        pl.Series(rng.integers(1, 31, n)).cast(pl.String), pl.lit("栋"),
        pl.Series(rng.integers(1, 7, n)).cast(pl.String), pl.lit("单元"),
        pl.Series(rng.integers(1, 33, n) * 100 + rng.integers(1, 7, n)).cast(pl.String), pl.lit("室"),
    )
    frame = reg[rows].select("prov_full", "prov_short", "city_full", "city_short", "district", "municipality",
                             "adcode", "area_code")
    return frame.with_columns(
        detail=pl.concat_str(
            street, number, pl.lit("号"),
            pl.when(pl.Series(has_compound)).then(compound).otherwise(pl.lit("")),
        ),
    )


def _landlines(rng: np.random.Generator, area_code: pl.Series) -> pl.Series:
    n = len(area_code)
    short = (area_code.str.len_chars() == 3).to_numpy()   # 010, 021, …: eight-digit local numbers
    eight = short | (rng.random(n) < 0.5)
    local = np.where(eight, rng.integers(2 * 10**7, 9 * 10**7, n), rng.integers(2 * 10**6, 9 * 10**6, n))
    return pl.select(pl.concat_str(area_code, pl.lit("-"), pl.Series(local).cast(pl.String))).to_series()


def _families(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """family index (-1 alone), role (0 head, 1 spouse, 2+ child) and head row of each person."""
    target = int(n * FAMILY_SHARE)
    sizes = rng.choice(FAMILY_SIZES, max(target // 2, 1), p=FAMILY_SIZE_P)
    sizes = sizes[np.cumsum(sizes) <= target]
    members = int(sizes.sum())
    family = np.full(n, -1, dtype=np.int64)
    family[:members] = np.repeat(np.arange(len(sizes)), sizes)
    starts = (np.cumsum(sizes) - sizes).astype(np.int64)   # exclusive sums: empty when no family fits
    head = np.arange(n, dtype=np.int64)
    head[:members] = np.repeat(starts, sizes)
    role = np.arange(n, dtype=np.int64) - head
    return family, role, head


def draw_people(rng: np.random.Generator, n: int) -> tuple[pl.DataFrame, np.ndarray]:
    """People with valid resident IDs consistent with birth date, gender and birth region; families share
    surname, address and landline but have their own names, birth dates, IDs and mobiles."""
    t = vocab.name_tables()
    family, role, head = _families(rng, n)
    in_family = family >= 0
    sur = rng.choice(len(t.surnames), n, p=t.surname_p)[head]
    gender = np.where(in_family, np.where(role == 0, 1, np.where(role == 1, 0, rng.integers(0, 2, n))),
                      rng.integers(0, 2, n))
    male = gender == 1
    n_given = len(t.given)
    g1 = np.where(male, rng.choice(n_given, n, p=t.given_p_male), rng.choice(n_given, n, p=t.given_p_female))
    g2 = np.where(male, rng.choice(n_given, n, p=t.given_p_male), rng.choice(n_given, n, p=t.given_p_female))
    g2 = np.where(rng.random(n) < ONE_CHAR_GIVEN, -1, g2)
    # Relatives never share a full name: move a repeated name's first given character along the table.
    for _ in range(100):
        dup = repeats(np.where(in_family, family, -1 - np.arange(n)) * 10**6 + g1 * 1000 + (g2 + 1))
        if not dup.any():
            break
        g1 = np.where(dup, (g1 + 1) % n_given, g1)

    # Heads born 1953–1978, spouses within a few years, children 20–30 years after the head (≤ 2008).
    alone = rng.integers(0, (2006 - 1950) * 365, n)
    head_days = rng.integers(3 * 365, 28 * 365, n)[head]
    member_days = np.where(role == 0, head_days,
                           np.where(role == 1, head_days + rng.integers(-3 * 365, 6 * 365, n),
                                    head_days + rng.integers(20 * 365, 30 * 365, n)))
    year, month, day = _ymd(np.where(in_family, member_days, alone))

    places = _places(rng, n)[head]      # relatives live (and were born) at the head's place
    adcode = places["adcode"].to_numpy()
    base = adcode * 10**11 + (year * 10**4 + month * 100 + day) * 1000

    def draw_seq(mask: np.ndarray) -> np.ndarray:
        # sequence numbers 000–999, odd for men (GB 11643)
        return base[mask] + rng.integers(0, 500, int(mask.sum())) * 2 + gender[mask]

    body = unique_ints(draw_seq(np.ones(n, dtype=bool)), draw_seq)
    id_codes = resident_id_codes(adcode, year, month, day, body % 1000)

    landline = _landlines(rng, places["area_code"])[head]
    has_landline = in_family | (rng.random(n) < LANDLINE_SHARE)
    email = _emails(rng, take(t.surname_pinyin, sur), take(t.given_pinyin, g1), take(t.given_pinyin, g2),
                    year)
    df = places.with_columns(
        kind=pl.lit(PERSON, dtype=pl.Int8),
        family=pl.Series(family, dtype=pl.Int64),
        sur=pl.Series(sur, dtype=pl.Int32),
        g1=pl.Series(g1, dtype=pl.Int32),
        g2=pl.Series(g2, dtype=pl.Int32),
        name=pl.concat_str(take(t.surnames, sur), take(t.given, g1), take(t.given, g2)),
        gender=pl.Series(gender, dtype=pl.Int8),
        by=pl.Series(year, dtype=pl.Int32),
        bm=pl.Series(month, dtype=pl.Int32),
        bd=pl.Series(day, dtype=pl.Int32),
        phone=pl.Series(_mobiles(rng, n), dtype=pl.Int64),
        landline=null_where(landline, ~has_landline),
        email=null_where(email, rng.random(n) >= EMAIL_SHARE),
        has_id=pl.lit(True),
    )
    return df, id_codes


def _emails(rng: np.random.Generator, sur_py: pl.Series, g1_py: pl.Series, g2_py: pl.Series,
            year: np.ndarray) -> pl.Series:
    """Pinyin-based or QQ-number addresses, distinct per person."""
    n = len(sur_py)
    domains, domain_p = vocab.weights_of(vocab.EMAIL_DOMAINS)
    style = rng.choice(4, n, p=[0.45, 0.1, 0.1, 0.35])
    digits = np.where(rng.random(n) < 0.5, year % 100, rng.integers(1, 10000, n))
    suffix = pl.when(pl.Series(rng.random(n) < 0.7)).then(pl.Series(digits).cast(pl.String)) \
        .otherwise(pl.lit(""))
    given = pl.concat_str(g1_py, g2_py)
    initials = pl.concat_str(sur_py.str.slice(0, 1), g1_py.str.slice(0, 1), g2_py.str.slice(0, 1))
    qq = pl.Series(rng.integers(10**5, 3 * 10**9, n)).cast(pl.String)
    local = (
        pl.when(pl.Series(style == 0)).then(pl.concat_str(sur_py, given, suffix))
        .when(pl.Series(style == 1)).then(pl.concat_str(given, pl.lit("."), sur_py))
        .when(pl.Series(style == 2)).then(pl.concat_str(initials, pl.Series(year).cast(pl.String)))
        .otherwise(qq)
    )
    domain = pl.when(pl.Series(style == 3)).then(pl.lit("qq.com")).otherwise(
        take(domains, rng.choice(len(domains), n, p=domain_p)))
    frame = pl.select(local=local, domain=domain, row=pl.int_range(n))
    # The address is a key of the mail system: a second zhangwei@163.com gets the row number appended.
    return frame.select(
        email=pl.concat_str(
            pl.when(pl.struct("local", "domain").is_first_distinct()).then(pl.col("local"))
            .otherwise(pl.concat_str("local", pl.lit("_"), pl.col("row").cast(pl.String))),
            pl.lit("@"), "domain"),
    )["email"]


def draw_companies(rng: np.random.Generator, n: int, taken_phones: np.ndarray | None = None
                   ) -> tuple[pl.DataFrame, np.ndarray]:
    """Companies named (city)(two words)(industry)有限公司, distinct per city, each with a valid
    unified social credit code."""
    places = _places(rng, n)
    forms, form_p = vocab.weights_of(vocab.COMPANY_FORMS)
    words, industries = list(vocab.COMPANY_WORDS), list(vocab.COMPANY_INDUSTRIES)
    w1, w2 = rng.integers(0, len(words), n), rng.integers(0, len(words), n)
    ind = rng.integers(0, len(industries), n)
    city = places["city_full"].rank("dense").to_numpy().astype(np.int64)
    for _ in range(100):
        dup = repeats(city * 10**6 + w1 * 10**4 + w2 * 100 + ind)
        if not dup.any():
            break
        k = int(dup.sum())
        w1[dup], w2[dup], ind[dup] = (rng.integers(0, len(words), k), rng.integers(0, len(words), k),
                                      rng.integers(0, len(industries), k))
    name = pl.concat_str(places["city_short"], take(words, w1), take(words, w2), take(industries, ind),
                         take(forms, rng.choice(len(forms), n, p=form_p)))
    org = unique_ints(rng.integers(10**7, 10**8, n), lambda m: rng.integers(10**7, 10**8, int(m.sum())))
    id_codes = credit_code_codes(places["adcode"].to_numpy(), org)
    email = pl.concat_str(pl.lit("kf"), pl.Series(org).cast(pl.String), pl.lit("@163.com"))
    df = places.with_columns(
        kind=pl.lit(COMPANY, dtype=pl.Int8),
        family=pl.lit(-1, dtype=pl.Int64),
        sur=pl.lit(-1, dtype=pl.Int32), g1=pl.lit(-1, dtype=pl.Int32), g2=pl.lit(-1, dtype=pl.Int32),
        name=name,
        gender=pl.lit(None, dtype=pl.Int8),
        by=pl.lit(None, dtype=pl.Int32), bm=pl.lit(None, dtype=pl.Int32), bd=pl.lit(None, dtype=pl.Int32),
        phone=pl.Series(_mobiles(rng, n, taken_phones), dtype=pl.Int64),
        landline=null_where(_landlines(rng, places["area_code"]), rng.random(n) >= 0.8),
        email=null_where(email, rng.random(n) >= 0.5),
        has_id=pl.lit(True),
    )
    return df, id_codes


def draw_junk(rng: np.random.Generator, n: int, like: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """Test and junk records (测试, test, 张三, aaa) with placeholder phones, IDs and emails; no place."""
    placeholder_phones = np.array([int(p) for p in vocab.PLACEHOLDER_PHONES], dtype=np.int64)
    placeholder_ids = np.array([[ord(c) for c in p] for p in vocab.PLACEHOLDER_IDS], dtype=np.uint32)
    has_id = rng.random(n) < 0.5
    id_codes = placeholder_ids[rng.integers(0, len(placeholder_ids), n)]
    nulls = {c: pl.lit(None, dtype=like.schema[c]) for c in like.columns}
    email = take(list(vocab.JUNK_EMAILS), rng.integers(0, len(vocab.JUNK_EMAILS), n))
    df = pl.DataFrame({"_row": np.arange(n)}).with_columns(**nulls).drop("_row").with_columns(
        kind=pl.lit(JUNK, dtype=pl.Int8),
        family=pl.lit(-1, dtype=pl.Int64),
        sur=pl.lit(-1, dtype=pl.Int32), g1=pl.lit(-1, dtype=pl.Int32), g2=pl.lit(-1, dtype=pl.Int32),
        name=take(list(vocab.JUNK_NAMES), rng.integers(0, len(vocab.JUNK_NAMES), n)),
        detail=take(list(vocab.JUNK_ADDRESSES), rng.integers(0, len(vocab.JUNK_ADDRESSES), n)),
        by=null_where(pl.lit(1900, dtype=pl.Int32), rng.random(n) >= 0.3),
        bm=pl.lit(1, dtype=pl.Int32), bd=pl.lit(1, dtype=pl.Int32),
        phone=null_where(pl.Series(rng.choice(placeholder_phones, n), dtype=pl.Int64), rng.random(n) >= 0.8),
        email=null_where(email, email.to_numpy() == ""),
        has_id=pl.Series(has_id),
    )
    return df, id_codes


def draw_entities(rng: np.random.Generator, n_people: int, n_companies: int, n_junk: int) -> Entities:
    """All entities, people first, then companies, then junk; entity ids P…/C…/J… and family ids F…."""
    people, people_ids = draw_people(rng, n_people)
    companies, company_ids = draw_companies(rng, n_companies, people["phone"].to_numpy())
    junk, junk_ids = draw_junk(rng, n_junk, people)
    df = pl.concat([people, companies, junk.select(people.columns)], how="vertical")
    width = max(7, len(str(max(n_people, n_companies, n_junk))))
    prefix = pl.col("kind").replace_strict([PERSON, COMPANY, JUNK], ["P", "C", "J"], return_dtype=pl.String)
    number = (pl.int_range(1, pl.len() + 1).over("kind")).cast(pl.String).str.zfill(width)
    df = df.with_columns(
        entity_id=pl.concat_str(prefix, number),
        entity_kind=pl.col("kind").replace_strict([PERSON, COMPANY, JUNK], list(KIND_NAMES),
                                                  return_dtype=pl.String),
        family_id=pl.when(pl.col("family") >= 0)
        .then(pl.concat_str(pl.lit("F"), (pl.col("family") + 1).cast(pl.String).str.zfill(width - 1)))
        .otherwise(None),
    )
    return Entities(df=df, id_codes=np.concatenate([people_ids, company_ids, junk_ids]))
