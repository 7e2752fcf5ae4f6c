"""The SQL shortcuts of compare.py agree with the Python functions they spare: DuckDB's built-in Jaro-Winkler
on ASCII text (Hanzi still go to rapidfuzz), and the Hamming pre-test of "one edit"."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA, JaroWinkler

from hanlink.compare import _DATE_DIGITS_DIFFERENT, _one_edit, jw_sql, register_functions
from hanlink.db import Database

TEXT = st.text(alphabet="abcdez 张章伟玮é-1", max_size=8)
DIGITS = st.text(alphabet="0123", min_size=0, max_size=7)


def _pairs(db: Database, left: list[str], right: list[str]) -> None:
    db.write("_p", pl.DataFrame({"a": left, "b": right}))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=40))
def test_jaro_winkler_sql_equals_rapidfuzz(pairs: list[tuple[str, str]]) -> None:
    with Database() as db:
        register_functions(db)
        _pairs(db, [a for a, _ in pairs], [b for _, b in pairs])
        got = [r[0] for r in db.fetchall(f"SELECT {jw_sql('a', 'b')} FROM _p")]
    want = [JaroWinkler.similarity(a, b) for a, b in pairs]
    assert got == [pytest.approx(w, abs=1e-12) for w in want]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(DIGITS, DIGITS), min_size=1, max_size=40))
def test_one_edit_sql_equals_osa(pairs: list[tuple[str, str]]) -> None:
    with Database() as db:
        register_functions(db)
        db.write("_s", pl.DataFrame({"rid": list(range(2 * len(pairs))),
                                     "v": [x for pair in pairs for x in pair]}))
        sql = _one_edit("v")
        got = [r[0] for r in db.fetchall(
            f"SELECT {sql} FROM range({len(pairs)}) t(i) JOIN _s l ON l.rid = 2 * t.i "
            f"JOIN _s r ON r.rid = 2 * t.i + 1 ORDER BY t.i")]
    assert got == [OSA.distance(a, b) <= 1 for a, b in pairs]


DATES = st.one_of(st.text(alphabet="0123", min_size=8, max_size=8), st.text(alphabet="0123", max_size=9))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(DATES, DATES), min_size=1, max_size=40))
def test_date_digits_different_counts_positions(pairs: list[tuple[str, str]]) -> None:
    with Database() as db:
        db.write("_s", pl.DataFrame({"rid": list(range(2 * len(pairs))),
                                     "birth_digits": [x for pair in pairs for x in pair]}))
        got = [r[0] for r in db.fetchall(
            f"SELECT {_DATE_DIGITS_DIFFERENT} FROM range({len(pairs)}) t(i) JOIN _s l ON l.rid = 2 * t.i "
            f"JOIN _s r ON r.rid = 2 * t.i + 1 ORDER BY t.i")]
    assert got == [sum(a[i:i + 1] != b[i:i + 1] for i in range(8)) for a, b in pairs]
