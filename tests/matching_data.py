"""Made-up std_records for the matching tests: hand-written people, and a seeded synthetic population.

Run as a script to time block → compare → score → cluster on a synthetic population:
    python tests/matching_data.py 62500      # ≈ 100k records (≈ 1.6 records per person)
"""

from __future__ import annotations

import sys
import time
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from hanlink_tables import STD_SCHEMA, std_frame, std_row
from pypinyin import lazy_pinyin

PLACEHOLDER_PHONES = {"13800138000", "13888888888", "13900000000"}
PLACEHOLDER_IDS = {"110101199001011234", "111111111111111111"}
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = "10X98765432"


def id_number(region: str, birth: date, seq: int) -> str:
    """A checksum-valid 18-character resident ID number (seq 0..999; odd = male)."""
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + _ID_CHECK[int(np.dot(_ID_WEIGHTS, [int(c) for c in body])) % 11]


def person(i: int, **given: Any) -> dict[str, Any]:
    """A std_records row for rid i; name/phone/ID-derived columns are filled the way standardize would."""
    row = dict(given)
    name = row.get("name")
    if name and "name_pinyin" not in row:
        ascii_name = name.isascii()
        syllables = name.lower().split() if ascii_name else lazy_pinyin(name)
        row.setdefault("name_type", "romanized" if ascii_name else "hanzi")
        row["name"] = name.lower() if ascii_name else name
        row["name_pinyin"] = " ".join(syllables)
        row.setdefault("name_key", " ".join(sorted(syllables)))
        if not ascii_name:
            row.setdefault("surname", name[0])
            row.setdefault("given_name", name[1:])
            row.setdefault("given_pinyin", " ".join(syllables[1:]))
    phone = row.get("phone")
    if phone and "phone_type" not in row:
        row["phone_type"] = ("placeholder" if phone in PLACEHOLDER_PHONES
                             else "mobile" if len(phone) == 11 and phone[0] == "1" else "landline")
    ident = row.get("id_number")
    if ident and "id_status" not in row:
        if ident in PLACEHOLDER_IDS:
            row["id_status"] = "placeholder"
        elif len(ident) != 18:
            row["id_status"] = "malformed"
        else:
            ok = _ID_CHECK[int(np.dot(_ID_WEIGHTS, [int(c) for c in ident[:17]])) % 11] == ident[17]
            row["id_status"] = "valid" if ok else "checksum_error"
    if ident and row.get("id_status") not in ("placeholder", "malformed"):
        row.setdefault("id_region", ident[:6])
        row.setdefault("id_birth_date", date(int(ident[6:10]), int(ident[10:12]), int(ident[12:14])))
        row.setdefault("id_gender", "M" if int(ident[16]) % 2 else "F")
    if row.get("email"):
        row.setdefault("email_valid", "@" in row["email"] and row["email"] != "test@test.com")
    if any(row.get(k) for k in ("province", "city", "district", "address_detail")):
        row.setdefault("address", "".join(row.get(k) or "" for k in ("province", "city", "district",
                                                                      "address_detail")))
    return std_row(i, **row)


def frame(*people: dict[str, Any]) -> pl.DataFrame:
    """std_records from person() keyword dicts, rid = position."""
    return std_frame([person(i, **p) for i, p in enumerate(people)])


# -- a synthetic population -------------------------------------------------------------------------
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓"
                 "曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华"
              "玉萍红建文辉力斌宇浩凯鹏飞鑫波宁峰晨欣怡婷雪琳")
_HOMOPHONE = {"伟": "玮", "丽": "莉", "静": "靖", "敏": "民", "杰": "洁", "婷": "亭", "军": "君", "涛": "韬"}
_PLACES = [  # (province, city, district, ID region code)
    ("北京市", "北京市", "朝阳区", "110105"), ("北京市", "北京市", "海淀区", "110108"),
    ("上海市", "上海市", "浦东新区", "310115"), ("上海市", "上海市", "徐汇区", "310104"),
    ("广东省", "广州市", "天河区", "440106"), ("广东省", "深圳市", "南山区", "440305"),
    ("浙江省", "杭州市", "西湖区", "330106"), ("江苏省", "南京市", "鼓楼区", "320106"),
    ("四川省", "成都市", "武侯区", "510107"), ("湖北省", "武汉市", "洪山区", "420111"),
    ("陕西省", "西安市", "雁塔区", "610113"), ("山东省", "济南市", "历下区", "370102"),
]
_STREETS = list("建设人民解放中山和平胜利新华文化光明幸福")


def _pick(rng: np.random.Generator, items: list[str], n: int, zipf: float = 1.0) -> np.ndarray:
    weights = 1.0 / np.arange(1, len(items) + 1) ** zipf
    return np.asarray(items, dtype=object)[rng.choice(len(items), n, p=weights / weights.sum())]


def _id_numbers(regions: np.ndarray, births: np.ndarray, seqs: np.ndarray) -> np.ndarray:
    days = np.char.replace(np.datetime_as_string(births, unit="D"), "-", "")
    bodies = np.char.add(np.char.add(regions.astype("U6"), days), np.char.zfill(seqs.astype("U3"), 3))
    digits = np.frombuffer(bodies.astype("S17").tobytes(), dtype=np.uint8).reshape(-1, 17) - 48
    check = np.asarray(list(_ID_CHECK))[(digits @ _ID_WEIGHTS) % 11]
    return np.char.add(bodies, check.astype("U1"))


def _typo_digit(rng: np.random.Generator, values: np.ndarray, first: int) -> np.ndarray:
    """Each string with one digit (at a position ≥ first) changed."""
    out = values.astype(object).copy()
    for i, v in enumerate(out):  # test data only, a few thousand values
        p = int(rng.integers(first, len(v) - 1))
        out[i] = v[:p] + str((int(v[p]) + int(rng.integers(1, 10))) % 10) + v[p + 1:]
    return out


def synthetic_std_records(n_people: int, seed: int = 0) -> pl.DataFrame:
    """≈1.6 records per person with missing fields, typos, homophones, romanized names, placeholders,
    moves, and households that share a landline and address. Column `true_person` holds the truth."""
    rng = np.random.default_rng(seed)
    n = n_people
    surname = _pick(rng, _SURNAMES, n, 1.0)
    given = np.where(rng.random(n) < 0.6, _pick(rng, _GIVEN, n, 0.9),
                     _pick(rng, _GIVEN, n, 0.9) + _pick(rng, _GIVEN, n, 0.9))
    birth = np.datetime64("1950-01-01") + rng.integers(0, 20000, n).astype("timedelta64[D]")
    sex = rng.integers(0, 2, n)
    place = rng.integers(0, len(_PLACES), n)
    detail = np.char.add(np.char.add(_pick(rng, _STREETS, n, 0.5).astype(str), "路"),
                         np.char.add(rng.integers(1, 300, n).astype(str), "号"))
    detail = np.char.add(detail, np.char.add(rng.integers(1, 30, n).astype(str), "栋"))
    landline = np.where(rng.random(n) < 0.4,
                        np.char.add("0", rng.integers(10**9, 10**10, n).astype(str)), None)
    # Households: a person moves in with an earlier one (same surname, landline, address).
    host = np.where(rng.random(n) < 0.15, rng.integers(0, n, n), -1)
    joined = host >= 0
    surname[joined], place[joined] = surname[host[joined]], place[host[joined]]
    detail[joined], landline[joined] = detail[host[joined]], landline[host[joined]]
    seq = rng.integers(0, 500, n) * 2 + sex
    regions = np.asarray([p[3] for p in _PLACES])[place]
    ids = _id_numbers(regions, birth, seq)
    mobile = np.char.add(np.char.add("1", rng.choice(list("3456789"), n).astype(str)),
                         np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9))
    email = np.char.add(np.char.add(np.char.add("u", np.arange(n).astype(str)), "x"),
                        rng.choice(["@163.com", "@qq.com", "@126.com"], n))

    copies = 1 + np.minimum(rng.poisson(0.6, n), 4)
    p = np.repeat(np.arange(n), copies)
    m = len(p)
    first = np.r_[True, p[1:] != p[:-1]]
    noise = ~first

    def chance(x: float) -> np.ndarray:
        return rng.random(m) < x

    name = (surname + given)[p].astype(object)
    homophone = noise & chance(0.05)
    name[homophone] = [s[0] + "".join(_HOMOPHONE.get(c, c) for c in s[1:]) for s in name[homophone]]
    phone = mobile[p].astype(object)
    typo = noise & chance(0.05)
    phone[typo] = _typo_digit(rng, phone[typo], 3)
    phone[chance(0.02)] = "13800138000"
    phone[chance(0.2)] = None
    ident = ids[p].astype(object)
    typo = noise & chance(0.03)
    ident[typo] = _typo_digit(rng, ident[typo], 14)
    ident[chance(0.01)] = "110101199001011234"
    ident[chance(0.35)] = None
    mail = email[p].astype(object)
    mail[chance(0.5)] = None
    rec_place = place[p].copy()
    moved = noise & chance(0.1)
    rec_place[moved] = rng.integers(0, len(_PLACES), int(moved.sum()))
    rec_detail = detail[p].astype(object)
    rec_detail[moved] = "新街" + rng.integers(1, 99, int(moved.sum())).astype(str) + "号"
    rec_detail[chance(0.1)] = None
    bdate = pl.Series(birth[p]).cast(pl.Date).scatter(np.flatnonzero(chance(0.3)), None)
    gender = np.where(sex[p] == 1, "M", "F").astype(object)
    gender[chance(0.2)] = None

    def text(values: np.ndarray) -> pl.Series:
        return pl.Series([None if v is None else str(v) for v in values.tolist()], dtype=pl.Utf8)

    rows = pl.DataFrame({"true_person": p, "name": text(name), "phone": text(phone), "id_number": text(ident),
                         "email": text(mail), "landline": text(landline[p]), "place": rec_place,
                         "address_detail": text(rec_detail), "birth_date": bdate, "gender": text(gender)})
    # Names, phones and IDs through person() once per distinct value: derived columns as standardize would.
    names = pl.DataFrame([{"name": v, **{k: person(0, name=v)[k] for k in (
        "name_type", "name_pinyin", "name_key", "surname", "given_name", "given_pinyin")}}
        for v in rows["name"].unique().to_list()])
    id_cols = ("id_status", "id_region", "id_birth_date", "id_gender")
    id_info = pl.DataFrame([{"id_number": v, **{k: person(0, id_number=v).get(k) for k in id_cols}}
                            for v in rows["id_number"].drop_nulls().unique().to_list()],
                           schema={"id_number": pl.Utf8, "id_status": pl.Utf8, "id_region": pl.Utf8,
                                   "id_birth_date": pl.Date, "id_gender": pl.Utf8})
    places = pl.DataFrame({"place": range(len(_PLACES)), "province": [x[0] for x in _PLACES],
                           "city": [x[1] for x in _PLACES], "district": [x[2] for x in _PLACES]})
    df = (rows.with_row_index("rid").with_columns(pl.col("rid").cast(pl.Int64))
          .join(names, on="name", how="left").join(id_info, on="id_number", how="left")
          .join(places.with_columns(pl.col("place").cast(pl.Int64)), on="place", how="left")
          .with_columns(
              source=pl.lit("crm"), source_record_id=pl.format("C{}", pl.col("rid")),
              row_number=pl.col("rid") + 1, run_id=pl.lit("synthetic"),
              phone_type=pl.when(pl.col("phone").is_null()).then(pl.lit("missing"))
              .when(pl.col("phone").is_in(list(PLACEHOLDER_PHONES))).then(pl.lit("placeholder"))
              .otherwise(pl.lit("mobile")),
              landline_type=pl.when(pl.col("landline").is_null()).then(pl.lit("missing"))
              .otherwise(pl.lit("landline")),
              id_status=pl.col("id_status").fill_null("missing"),
              email_valid=pl.col("email").is_not_null(),
              address=pl.concat_str("province", "city", "district", "address_detail", ignore_nulls=True))
          .with_columns(id_valid=pl.col("id_status") == "valid")
          .sort("rid"))
    for col, dtype in STD_SCHEMA.items():
        if col not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=dtype).alias(col))
    return df.select([pl.col(c).cast(t) for c, t in STD_SCHEMA.items()] + [pl.col("true_person")])


def pairwise_quality(db: Any) -> dict[str, float]:
    """Pairwise precision and recall of entities against std_records.true_person."""
    row = db.fetchall("""
        WITH e AS (SELECT e.entity_id, s.true_person FROM entities e JOIN std_records s USING (rid)),
        found AS (SELECT sum(n * (n - 1) / 2) AS x FROM (SELECT count(*) n FROM e GROUP BY entity_id)),
        truth AS (SELECT sum(n * (n - 1) / 2) AS x FROM (SELECT count(*) n FROM e GROUP BY true_person)),
        hit AS (SELECT sum(n * (n - 1) / 2) AS x
                FROM (SELECT count(*) n FROM e GROUP BY entity_id, true_person))
        SELECT hit.x / found.x, hit.x / truth.x FROM hit, found, truth""")[0]
    return {"precision": float(row[0] or 0), "recall": float(row[1] or 0)}


def _bench(n_people: int) -> None:
    from hanlink.block import block
    from hanlink.cluster import cluster
    from hanlink.compare import compare
    from hanlink.config import BlockingConfig, MatchingConfig
    from hanlink.db import Database
    from hanlink.score import score

    t = time.perf_counter()
    df = synthetic_std_records(n_people, seed=1)
    print(f"generated {df.height:,} records of {n_people:,} people in {time.perf_counter() - t:.1f} s")
    db = Database(":memory:")
    db.write("std_records", df)
    total = 0.0
    for name, call in (("block", lambda: block(db, BlockingConfig())), ("compare", lambda: compare(db)),
                       ("score", lambda: score(db, MatchingConfig(), "bench")),
                       ("cluster", lambda: cluster(db, MatchingConfig()))):
        t = time.perf_counter()
        out = call()
        took = time.perf_counter() - t
        total += took
        out.pop("warnings", None)
        print(f"{name:8s} {took:6.2f} s  {out}")
    print(f"total    {total:6.2f} s   quality {pairwise_quality(db)}")


if __name__ == "__main__":
    _bench(int(sys.argv[1]) if len(sys.argv) > 1 else 62_500)
