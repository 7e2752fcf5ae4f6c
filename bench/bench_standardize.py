"""Benchmark: standardize + validate on a synthetic N-row input (default 1M) in DuckDB.

    python bench/bench_standardize.py --rows 1000000 [--db work/bench.duckdb]

Builds two raw_<source> tables shaped like ingest's output (Chinese and English headers, every value
text) with realistic mess: traditional characters, romanized names in any order, HK spellings, junk
names, +86 / full-width / extension phones, 15-digit and bad-checksum IDs, addresses with and without
province, separate province/city columns, dates in many formats. Prints wall time per stage.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import polars as pl

from hanlink.config import config_from_dict
from hanlink.db import Database
from hanlink.standardize import standardize
from hanlink.standardize.idnumbers import id_check_char
from hanlink.standardize.lookups import divisions, han_pinyin
from hanlink.standardize.name_data import COMMON_SURNAMES
from hanlink.validate import validate

GIVEN_CHARS = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文辉力成鹏飞"
               "宇浩然子涵欣怡梓轩雨婷佳琪嘉俊晨阳思博雪梅海燕春林波斌宁凯琳颖慧晶丹健亮新云峰鑫淑珍")
TRAD = {"张": "張", "陈": "陳", "刘": "劉", "黄": "黃", "郑": "鄭", "伟": "偉", "华": "華", "丽": "麗"}
JUNK = ["测试", "test", "未知", "无", "aaa"]
COMPANY = ["北京某某科技有限公司", "上海华宇贸易有限公司", "ABC Trading Co., Ltd.", "广州市天河区某某商行"]


def _pick(rng: np.random.Generator, options: list[str], n: int, p: list[float] | None = None) -> np.ndarray:
    return rng.choice(np.array(options, dtype=object), size=n, p=p)


def make_raw(n: int, seed: int = 42) -> pl.DataFrame:
    """A synthetic source of n rows with canonical-ish columns (all text)."""
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, len(COMMON_SURNAMES) + 1)
    rows = divisions().filter(pl.col("level") == 3).sample(n, with_replacement=True, seed=seed)
    df = pl.DataFrame({
        "surname": _pick(rng, list(COMMON_SURNAMES), n, list(weights / weights.sum())),
        "g1": _pick(rng, list(GIVEN_CHARS), n),
        "g2": np.where(rng.random(n) < 0.7, _pick(rng, list(GIVEN_CHARS), n), ""),
        "junk": _pick(rng, JUNK, n), "company": _pick(rng, COMPANY, n),
        "mobile": rng.integers(13_000_000_000, 19_999_999_999, n).astype(str),
        "birth": rng.integers(-20_000, 12_000, n),            # days since 1970: 1915 … 2002
        "seq": rng.integers(0, 1000, n).astype(str),
        "street": _pick(rng, ["建国路", "人民路", "中山大道", "解放街", "文三路", "科技园"], n),
        "num": rng.integers(1, 999, n).astype(str),
        "sex": _pick(rng, ["男", "女", "M", "F", "1", "0"], n),
        **{k: rng.random(n) for k in ("u", "v", "w", "a", "b", "e")},
    }).with_columns(rows.select("province", "province_short", "city", "city_short", "district", "adcode"))
    df = df.with_columns(given=pl.col("g1") + pl.col("g2"), birth=pl.col("birth").cast(pl.Date)).with_columns(
        hanzi=pl.col("surname") + pl.col("given"), sp=han_pinyin(pl.col("surname")),
        gp=han_pinyin(pl.col("given")).str.replace_all(" ", ""),
        body=pl.col("adcode") + pl.col("birth").dt.strftime("%Y%m%d") + pl.col("seq").str.zfill(3))
    df = df.with_columns(n=pl.col("body").cast(pl.Int64)).with_columns(
        ids=pl.col("body") + id_check_char(pl.col("n")))
    u, v, w, a, b, m, ids = (pl.col(c) for c in ("u", "v", "w", "a", "b", "mobile", "ids"))
    name = (pl.when(u < 0.03).then(pl.col("hanzi").str.replace_many(list(TRAD), list(TRAD.values())))
            .when(u < 0.06).then(pl.col("sp").str.to_titlecase() + " " + pl.col("gp").str.to_titlecase())
            .when(u < 0.08).then(pl.col("gp").str.to_uppercase() + " " + pl.col("sp").str.to_uppercase())
            .when(u < 0.09).then(pl.col("sp") + pl.col("gp"))
            .when(u < 0.10).then(pl.col("sp").str.to_uppercase() + ", " + pl.col("gp").str.to_titlecase())
            .when(u < 0.12).then(pl.col("junk")).when(u < 0.14).then(pl.col("company"))
            .when(u < 0.16).then(None).otherwise(pl.col("hanzi")))
    phone = (pl.when(v < 0.05).then(None).when(v < 0.10).then("+86 " + m)
             .when(v < 0.15).then(m.str.slice(0, 3) + "-" + m.str.slice(3, 4) + "-" + m.str.slice(7))
             .when(v < 0.17).then(pl.lit("13800138000")).when(v < 0.18).then(m.str.slice(0, 10))
             .when(v < 0.20).then("010-6" + m.str.slice(4, 7) + "转8001").otherwise(m))
    id_number = (pl.when(w < 0.2).then(None).when(w < 0.22).then(ids.str.slice(0, 6) + ids.str.slice(8, 9))
                 .when(w < 0.24).then(ids.str.slice(0, 17) + "0").otherwise(ids))
    tail = pl.col("street") + pl.col("num")
    address = (pl.when(a < 0.05).then(None)
               .when(a < 0.35).then(pl.col("province_short") + pl.col("city_short") + pl.col("district")
                                    + tail + "号")
               .when(a < 0.45).then(pl.col("district") + tail + "#")
               .otherwise(pl.col("province") + pl.col("city") + pl.col("district") + tail + "号"))
    bd = pl.col("birth")
    birth_text = (pl.when(b < 0.1).then(None).when(b < 0.3).then(bd.dt.strftime("%Y/%-m/%-d"))
                  .when(b < 0.4).then(bd.dt.strftime("%Y%m%d"))
                  .when(b < 0.5).then(bd.dt.strftime("%Y年%-m月%-d日"))
                  .when(b < 0.6).then(bd.dt.strftime("%Y-%m-%d 00:00:00"))
                  .otherwise(bd.dt.strftime("%Y-%m-%d")))
    return df.select(
        客户编号=pl.int_range(1, n + 1).cast(pl.String), 姓名=name, 手机=phone, 身份证号=id_number,
        邮箱=pl.when(pl.col("e") < 0.4).then(pl.col("sp") + pl.col("gp") + pl.col("num") + "@qq.com"),
        地址=address, 城市=pl.when(a < 0.45).then(pl.col("city_short")), 出生日期=birth_text,
        性别=pl.col("sex"),
        更新时间=pl.lit("2024-05-01 10:00:00"))


def lineage(df: pl.DataFrame, source: str, run_id: str) -> pl.DataFrame:
    return df.with_columns(
        _row_number=pl.int_range(1, df.height + 1, dtype=pl.Int64), _source=pl.lit(source),
        _file=pl.lit(f"{source}.csv"), _file_sha256=pl.lit("0" * 64), _run_id=pl.lit(run_id))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--db", default=":memory:", help="DuckDB file (default in memory)")
    args = ap.parse_args()
    run_id = "bench"
    t0 = time.perf_counter()
    raw = make_raw(args.rows)
    split = int(args.rows * 0.7)
    if args.db != ":memory:":
        Path(args.db).unlink(missing_ok=True)
    db = Database(args.db)
    db.write("raw_crm", lineage(raw.head(split), "crm", run_id))
    db.write("raw_shop", lineage(raw.tail(args.rows - split), "shop", run_id))
    fields = {"record_id": "客户编号", "name": "姓名", "phone": "手机", "id_number": "身份证号",
              "email": "邮箱", "address": "地址", "city": "城市", "birth_date": "出生日期", "gender": "性别",
              "updated_at": "更新时间"}
    cfg = config_from_dict({"sources": [{"name": "crm", "path": "crm.csv", "fields": fields},
                                        {"name": "shop", "path": "shop.csv", "fields": fields,
                                         "required": ["name", "phone"]}]})
    t1, c1 = time.perf_counter(), time.process_time()
    print(f"generate + load raw: {t1 - t0:.1f} s ({args.rows:,} rows)")
    s = standardize(db, cfg.sources, run_id)
    t2, c2 = time.perf_counter(), time.process_time()
    print(f"standardize: {t2 - t1:.1f} s wall, {c2 - c1:.1f} s CPU  {s}")
    v = validate(db, cfg.sources, run_id)
    t3, c3 = time.perf_counter(), time.process_time()
    print(f"validate:    {t3 - t2:.1f} s wall, {c3 - c2:.1f} s CPU  {v}")
    print(f"standardize + validate: {t3 - t1:.1f} s wall, {c3 - c1:.1f} s CPU "
          f"({os.cpu_count()} cores; CPU/2 is the floor on this machine)")

if __name__ == "__main__":
    main()
