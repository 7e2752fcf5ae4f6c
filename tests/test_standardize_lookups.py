"""The character tables' disk cache: read back exactly what was built, rebuilt when damaged or unwritable."""

from __future__ import annotations

from pathlib import Path

import pytest

from hanlink.standardize import lookups


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder named by $HANLINK_CACHE_DIR."""
    monkeypatch.setenv(lookups.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def _counting(result: tuple[list[str], list[str]]):
    calls: list[int] = []

    def build() -> tuple[list[str], list[str]]:
        calls.append(1)
        return result

    return build, calls


def test_built_once_then_read_back_the_same(cache: Path) -> None:
    table = (["張", "乾", "ü"], ["张", "qian", "v"])
    build, calls = _counting(table)
    assert lookups.cached_pairs("t", build, ("pypinyin",)) == table
    assert lookups.cached_pairs("t", build, ("pypinyin",)) == table
    assert len(calls) == 1 and len(list(cache.glob("t-*.parquet"))) == 1


def test_a_damaged_file_is_rebuilt(cache: Path) -> None:
    table = (["a"], ["b"])
    build, calls = _counting(table)
    lookups.cached_pairs("t", build, ())
    (file,) = cache.glob("t-*.parquet")
    file.write_bytes(b"not parquet")
    assert lookups.cached_pairs("t", build, ()) == table and len(calls) == 2


def test_an_unwritable_cache_still_gives_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(lookups.CACHE_ENV, str(blocker / "cache"))   # a folder can't be made under a file
    build, calls = _counting((["a"], ["b"]))
    assert lookups.cached_pairs("t", build, ()) == (["a"], ["b"])
    assert lookups.cached_pairs("t", build, ()) == (["a"], ["b"]) and len(calls) == 2


def test_the_real_tables_round_trip(cache: Path) -> None:
    built = lookups._build_pinyin()
    assert lookups.cached_pairs("pinyin", lookups._build_pinyin, ("pypinyin",)) == built
    assert lookups.cached_pairs("pinyin", lambda: ([], []), ("pypinyin",)) == built   # read, not rebuilt
    assert dict(zip(*built, strict=True))["吕"] == "lv"


def test_a_source_file_change_means_a_rebuild(cache: Path, tmp_path: Path) -> None:
    data = tmp_path / "data.py"
    data.write_text("SURNAMES = ['张']")
    build, calls = _counting((["zhang"], ["0"]))
    lookups.cached_pairs("t", build, (), sources=(str(data),))
    lookups.cached_pairs("t", build, (), sources=(str(data),))
    assert len(calls) == 1
    data.write_text("SURNAMES = ['张', '王']")
    lookups.cached_pairs("t", build, (), sources=(str(data),))
    assert len(calls) == 2


def test_surname_ranks_from_the_cache_equal_a_fresh_build(cache: Path) -> None:
    from hanlink.standardize import romanized

    fresh = {k: int(v) for k, v in zip(*romanized._build_surname_ranks(), strict=True)}
    romanized.surname_ranks.cache_clear()
    try:
        assert romanized.surname_ranks() == fresh          # built and saved
        romanized.surname_ranks.cache_clear()
        assert romanized.surname_ranks() == fresh          # read back
        assert list(cache.glob("surname_ranks-*.parquet"))
        assert fresh["wang"] < fresh["zhang"] < fresh["zeng"] < fresh["ouyang"]   # 曾 read as zeng
    finally:
        romanized.surname_ranks.cache_clear()
