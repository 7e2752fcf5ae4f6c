"""Scoring: EM learns that agreement is evidence, common names weigh less, hard rules hold, reruns agree."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import numpy as np
import polars as pl
import pytest
from matching_data import frame, id_number, synthetic_std_records

from hanlink.block import block, match_values_sql
from hanlink.compare import COMPARISONS, compare, comparison, comparison_sql, register_functions
from hanlink.config import BlockingConfig, MatchingConfig
from hanlink.db import Database
from hanlink.explain import explain_pair
from hanlink.score import fit_em, params_frame, score, scored_sql, unmix_u, weight_floor
from schemas.pairs import ModelParams, PairsScored

CFG = MatchingConfig(u_sample_size=20_000, em_sample_size=1_000, seed=7)
RARE, COMMON = "欧阳娜娜", "张伟"


def population() -> pl.DataFrame:
    """400 synthetic people, 30 different 张伟, and a duplicated person under a rare and a common name."""
    crowd = [{"name": COMMON, "phone": f"1501234{i:04d}", "true_person": 10_000 + i} for i in range(30)]
    twins = [{"name": name, "phone": phone, "birth_date": date(1980, 1, 2), "true_person": person}
             for name, phone, person in ((RARE, "13512340001", 20_000), (COMMON, "13512340002", 20_001))
             for _ in range(2)]
    base = synthetic_std_records(400, seed=5)
    extra = frame(*({k: v for k, v in p.items() if k != "true_person"} for p in crowd + twins))
    extra = extra.with_columns(rid=pl.col("rid") + base.height, source=pl.lit("extra"),
                               true_person=pl.Series([p["true_person"] for p in crowd + twins]))
    return pl.concat([base, extra.select(base.columns)])


@pytest.fixture(scope="module")
def scored() -> Iterator[tuple[Database, dict[str, Any]]]:
    """The population blocked, compared and scored once (and the score stage's counts)."""
    db = Database()
    db.write("std_records", population())
    block(db, BlockingConfig())
    compare(db)
    out = score(db, CFG, "t1")
    yield db, out
    db.close()


def _params(db: Database) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["comparison"], r["label"]): r for r in db.table("model_params").iter_rows(named=True)}


def test_em_converges_and_learns_that_agreement_is_evidence(scored: tuple[Database, dict[str, Any]]) -> None:
    db, out = scored
    assert out["em_sessions"] and all(s["converged"] for s in out["em_sessions"])
    params = _params(db)
    for name in ("name", "phone", "id_number", "email", "birth_date", "gender"):
        exact, other = params[(name, "exact")], params[(name, "else")]
        assert exact["m"] > exact["u"] and exact["weight"] > 0 > other["weight"], name
        assert exact["em_sessions"] > 0, name
    assert 0 < params[("_prior", "λ: P(match) for two random records")]["m"] < 0.01
    ModelParams.validate(db.table("model_params"), lazy=True)
    PairsScored.validate(db.table("pairs_scored"), lazy=True)


def test_matches_are_mostly_true_and_most_true_pairs_match(scored: tuple[Database, dict[str, Any]]) -> None:
    db, _ = scored
    tp, matched, true = db.fetchall("""
        SELECT count(*) FILTER (WHERE match AND l.true_person = r.true_person), count(*) FILTER (WHERE match),
               count(*) FILTER (WHERE l.true_person = r.true_person)
        FROM pairs_scored p JOIN std_records l ON l.rid = p.rid_l JOIN std_records r ON r.rid = p.rid_r""")[0]
    assert tp / matched >= 0.97 and tp / true >= 0.9


def test_agreeing_on_a_rare_name_weighs_more(scored: tuple[Database, dict[str, Any]]) -> None:
    db, _ = scored
    rows = db.query("""
        SELECT l.name, p.g_name, p.w_name FROM pairs_scored p
        JOIN std_records l ON l.rid = p.rid_l JOIN std_records r ON r.rid = p.rid_r
        WHERE l.source = 'extra' AND r.source = 'extra' AND l.phone = r.phone""")
    w = {r["name"]: r["w_name"] for r in rows.iter_rows(named=True)}
    assert set(rows["g_name"]) == {0}
    assert w[RARE] > w[COMMON] + 3    # 34 张伟 among ~680 records against 2 欧阳娜娜: ≈ log2(17) bits apart


def test_explanation_contributions_sum_to_the_pair_weight(scored: tuple[Database, dict[str, Any]]) -> None:
    db, _ = scored
    for rid_l, rid_r in db.fetchall("SELECT rid_l, rid_r FROM pairs_scored ORDER BY weight DESC LIMIT 3"):
        ex = explain_pair(db, rid_r, rid_l)
        assert ex["scored"] and (ex["rid_l"], ex["rid_r"]) == (rid_l, rid_r)
        assert ex["prior"] + ex["comparisons"]["weight"].sum() == pytest.approx(ex["weight"])
        assert ex["comparisons"]["comparison"].to_list() == [c.name for c in COMPARISONS]
    never = explain_pair(db, 0, db.count("std_records") - 1)     # not a candidate: scored on the spot
    assert not never["scored"] and not never["match"]
    assert never["prior"] + never["comparisons"]["weight"].sum() == pytest.approx(never["weight"])


def test_on_the_spot_explanation_equals_the_stored_score(scored: tuple[Database, dict[str, Any]]) -> None:
    db, _ = scored
    rid_l, rid_r = db.fetchall("SELECT rid_l, rid_r FROM pairs_scored WHERE g_name = 0 LIMIT 1")[0]
    stored = explain_pair(db, rid_l, rid_r)
    db.execute("ALTER TABLE pairs_scored RENAME TO pairs_scored_kept")
    try:
        fresh = explain_pair(db, rid_l, rid_r)
    finally:
        db.execute("ALTER TABLE pairs_scored_kept RENAME TO pairs_scored")
    assert not fresh["scored"]
    assert fresh["weight"] == pytest.approx(stored["weight"])
    assert fresh["comparisons"].equals(stored["comparisons"])


def test_score_is_deterministic(scored: tuple[Database, dict[str, Any]]) -> None:
    db, _ = scored
    before = db.query("SELECT * FROM pairs_scored ORDER BY rid_l, rid_r")
    params = db.table("model_params")
    score(db, CFG, "t1")
    assert db.query("SELECT * FROM pairs_scored ORDER BY rid_l, rid_r").equals(before)
    assert db.table("model_params").equals(params)


def test_em_recovers_m_on_a_two_class_mixture() -> None:
    """Patterns drawn from known m and u: EM with u fixed finds m and λ again."""
    rng = np.random.default_rng(0)
    m_true = [np.array([0.9, 0.1]), np.array([0.8, 0.15, 0.05])]
    u = [np.array([0.05, 0.95]), np.array([0.01, 0.09, 0.9])]
    is_match = rng.random(20_000) < 0.3
    pats = np.column_stack([np.where(is_match, rng.choice(len(mc), 20_000, p=mc),
                                     rng.choice(len(uc), 20_000, p=uc))
                            for mc, uc in zip(m_true, u, strict=True)])
    uniq, counts = np.unique(pats, axis=0, return_counts=True)
    m, lam, iterations, converged = fit_em(uniq, counts.astype(float), u, 200)
    assert converged and iterations < 200
    assert lam == pytest.approx(0.3, abs=0.02)
    for got, want in zip(m, m_true, strict=True):
        assert np.allclose(got, want, atol=0.03)


def score_under_strong_model(db: Database, pairs: list[tuple[int, int]]) -> pl.DataFrame:
    """pairs_scored rows for `pairs` of std_records under a model in which every level short of "else" is
    overwhelming evidence: what remains to stop a match is the hard rules (vetoes)."""
    register_functions(db)
    u = [np.r_[np.full(len(c.levels) - 1, 1e-9), 1 - (len(c.levels) - 1) * 1e-9] for c in COMPARISONS]
    m = [np.r_[np.full(len(c.levels) - 1, 0.99 / (len(c.levels) - 1)), 0.01] for c in COMPARISONS]
    values = ", ".join(f"({a}, {b})" for a, b in pairs)
    relation = f"(SELECT * FROM (VALUES {values}) t(rid_l, rid_r))"
    side = f"({match_values_sql()})"
    sql = scored_sql(f"({comparison_sql(relation, side)})", side, params_frame("t", m, u, 0.5), 0.95)
    return db.query(sql).sort("rid_l")


def test_hard_rules_block_a_match_whatever_the_weight(db: Database) -> None:
    id_a, id_b = id_number("110105", date(1990, 3, 5), 123), id_number("110105", date(1991, 4, 6), 123)
    db.write("std_records", frame(
        {"name": "王芳", "phone": "13812345678", "id_number": id_a},
        {"name": "王芳", "phone": "13812345678", "id_number": id_b},        # two valid IDs: two people
        {"name": "王建国", "landline": "01062345678", "district": "朝阳区"},
        {"name": "王秀英", "landline": "01062345678", "district": "朝阳区"},  # a household
        {"name": "李娜", "phone": "13912345678"},
        {"name": "李娜", "phone": "13912345678"}))
    out = score_under_strong_model(db, [(0, 1), (2, 3), (4, 5)])
    assert out["probability"].to_list() == pytest.approx([1.0, 1.0, 1.0])
    assert out["veto"].to_list() == ["different_valid_id", "no_identity_agreement", None]
    assert out["match"].to_list() == [False, False, True]


def test_household_veto_fires_only_when_names_disagree_as_people(db: Database) -> None:
    """Only landline/address agree: a family (different given names) is vetoed; a typo'd name is not."""
    home = {"landline": "01062345678", "city": "北京市", "district": "朝阳区", "address_detail": "建设路12号"}
    db.write("std_records", frame(
        {"name": "John Smith", **home}, {"name": "Mary Smith", **home},         # a household
        {"name": "John Smith", **home}, {"name": "Jon Smith", **home},          # one person, a typo
        {"name": "王建国", **home}, {"name": "王秀英", **home},                     # a Chinese household
        {"name": "Adam Eveston", "birth_date": date(1994, 6, 23), **home},
        {"name": "Travis Eveston", "birth_date": date(1994, 6, 23), **home}))   # one token + birth date
    out = score_under_strong_model(db, [(0, 1), (2, 3), (4, 5), (6, 7)])
    assert out["veto"].to_list() == ["no_identity_agreement", None, "no_identity_agreement", None]


def test_latin_names_sharing_only_a_family_name_stay_a_household(db: Database) -> None:
    """Surname-first names share a long prefix (JW 0.84–0.91): not enough to be one person."""
    home = {"landline": "01062345678", "city": "北京市", "district": "朝阳区", "address_detail": "建设路12号"}
    db.write("std_records", frame(
        {"name": "Jon Smith", **home}, {"name": "John Smith", **home},             # a typo: one person
        {"name": "Smith Mary", **home}, {"name": "Smith John", **home},             # JW 0.84, Jaro 0.73
        {"name": "Zhang Wei", **home}, {"name": "Zhang Min", **home}))              # pinyin, surname first
    out = score_under_strong_model(db, [(0, 1), (2, 3), (4, 5)])
    assert out["veto"].to_list() == [None, "no_identity_agreement", "no_identity_agreement"]



def test_a_nickname_on_the_same_birth_date_is_one_person_but_chinese_twins_are_not(db: Database) -> None:
    """Latin names closer than one shared token + the same birth date pass the household rule; two
    Chinese given names one syllable apart on one birth date (twins) don't."""
    home = {"landline": "01062345678", "city": "北京市", "district": "朝阳区", "address_detail": "建设路12号"}
    born = {"birth_date": date(1855, 1, 1), **home}
    db.write("std_records", frame(
        {"name": "Will Lloyd", **born}, {"name": "Wilford Lloyd", **born},
        {"name": "王小明", **born}, {"name": "王小敏", **born},
        {"name": "Will Lloyd", **home}, {"name": "Wilford Lloyd", **home}))      # no birth date
    out = score_under_strong_model(db, [(0, 1), (2, 3), (4, 5)])
    assert out["veto"].to_list() == [None, "no_identity_agreement", "no_identity_agreement"]


def test_an_exact_agreement_never_weighs_less_than_a_looser_one_it_implies() -> None:
    """Identical addresses scored below near-identical ones when copies are usually mistyped."""
    addr = comparison("address_text")
    exact, jw = addr.level_index("exact"), addr.level_index("jw_0.90")
    u = np.full(len(addr.levels), 1e-5)
    u[-1] = 1 - u[:-1].sum()
    m = np.full(len(addr.levels), 0.02)
    m[exact], m[jw] = 0.05, 0.8
    m[-1] = 1 - (m.sum() - m[-1])
    floor = weight_floor(addr, m, u, exact)
    assert floor == pytest.approx(np.log2(m[jw] / u[jw]))
    assert weight_floor(addr, m, u, jw) is None                   # jw_0.90 implies nothing declared
    m[exact], m[jw] = 0.8, 0.05                                   # exact agreement is the usual case
    assert weight_floor(addr, m, u, exact) is None
    # With term frequencies, the floor holds too: a pair sharing a frequent address keeps jw_0.90's weight.
    mm = [np.full(len(c.levels), 1 / len(c.levels)) for c in COMPARISONS]
    uu = [np.full(len(c.levels), 1 / len(c.levels)) for c in COMPARISONS]
    i = [c.name for c in COMPARISONS].index("address_text")
    mm[i], uu[i] = m.copy(), u.copy()
    mm[i][exact], mm[i][jw] = 0.05, 0.8
    params = params_frame("t", mm, uu, 0.01)
    is_exact = (pl.col("comparison") == "address_text") & (pl.col("level") == exact)
    row = params.filter(is_exact).row(0, named=True)
    assert row["weight"] == pytest.approx(row["weight_floor"]) == pytest.approx(np.log2(0.8 / 1e-5))
    with Database() as db:
        db.write("std_records", frame(*[{"address_raw": "devon tq13 8df"}] * 50))
        register_functions(db)
        side = f"({match_values_sql()})"
        pairs = "(SELECT 0 AS rid_l, 1 AS rid_r)"
        out = db.query(scored_sql(f"({comparison_sql(pairs, side)})", side, params, 0.95))
    assert out["w_address_text"].item() == pytest.approx(row["weight_floor"])


def test_unmix_u_removes_the_matches_hidden_in_random_pairs() -> None:
    """Random pairs hold true matches at rate λ: u must be recovered among non-matches only."""
    u_true = [np.array([1e-6, 1e-4, 1 - 1.01e-4]), np.array([2e-6, 1 - 2e-6])]
    m = [np.array([0.8, 0.15, 0.05]), np.array([0.9, 0.1])]
    lam = 1e-4
    mixed = [lam * mc + (1 - lam) * uc for mc, uc in zip(m, u_true, strict=True)]
    got = unmix_u(mixed, m, lam, 10_000_000)
    for g, want in zip(got, u_true, strict=True):
        assert g.sum() == pytest.approx(1.0)
        assert np.allclose(g, want, rtol=0.05, atol=2e-7)
    # Exact agreement now weighs more than the prior costs (before: ≈ log2(1/λ), no more).
    assert np.log2(m[0][0] / got[0][0]) > np.log2(1 / lam) + 5
    assert np.log2(m[0][0] / mixed[0][0]) < np.log2(1 / lam)


def test_a_nickname_on_a_birth_date_with_one_part_mistyped_is_one_person(db: Database) -> None:
    """One digit of the date mistyped (1855 / 1865) still passes for Latin names; a different month and day
    (another sibling) doesn't; Chinese names one syllable apart stay apart even on a near-identical date."""
    home = {"landline": "01062345678", "city": "北京市", "district": "朝阳区", "address_detail": "建设路12号"}
    db.write("std_records", frame(
        {"name": "Will Lloyd", "birth_date": date(1855, 3, 14), **home},
        {"name": "Wilford Lloyd", "birth_date": date(1865, 3, 14), **home},      # one digit off
        {"name": "Will Lloyd", "birth_date": date(1855, 3, 14), **home},
        {"name": "Wilford Lloyd", "birth_date": date(1857, 9, 2), **home},       # another date
        {"name": "王小明", "birth_date": date(1985, 3, 14), **home},
        {"name": "王小敏", "birth_date": date(1985, 3, 15), **home}))
    out = score_under_strong_model(db, [(0, 1), (2, 3), (4, 5)])
    assert out["g_birth_date"].to_list()[0] == comparison("birth_date").level_index("one_part")
    assert out["veto"].to_list() == [None, "no_identity_agreement", "no_identity_agreement"]
