"""Fellegi–Sunter scoring: u from random pairs, m and the prior by EM, term-frequency names, hard rules."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from hanlink import tables as T
from hanlink.block import match_values_sql, rule_keys
from hanlink.compare import COMPARISONS, Comparison, comparison_sql, register_functions, side_values
from hanlink.config import MatchingConfig
from hanlink.db import Database
from hanlink.errors import StageError

# Laplace pseudo-count added to every level's count, so that no level has m or u = 0 (an infinite weight).
PSEUDO_COUNT = 1.0
EM_TOLERANCE = 1e-6
# An EM session on fewer pairs than this says little: its comparisons keep the other sessions' estimate.
MIN_SESSION_PAIRS = 10
PRIOR = "_prior"

# Hard rule: a pair matches only if it agrees on something personal, not just what a household shares
# (landline, address): the mobile, the ID (exact or one typo), another ID number, the email, or the name
# as the same person's name. Chinese names: pinyin-or-better (siblings 王小明 / 王小敏 are one syllable
# apart, so a fuzzy pinyin match is family, not identity). Names in Latin letters: up to a typo
# (Jaro-Winkler ≥ 0.92: "jon smith" / "john smith"), while "mary smith" / "john smith" stays a household.
# Not 0.80: surname-first names share a long prefix, "zhang wei" / "zhang min" is 0.91 (Jaro 0.85).
_IDENTITY_LEVELS = {"name": "name_key", "phone": "exact", "id_number": "one_edit", "other_id": "one_edit",
                    "email": "exact"}
_LATIN_NAME_IDENTITY = "jw_0.92"


# Hard rule: two different valid ID numbers are two people.
_VETO_SQL = "l.id_valid AND r.id_valid AND l.id_number <> r.id_number"


def _identity_sql() -> str:
    parts = []
    by_name = {comp.name: comp for comp in COMPARISONS}
    for comp in COMPARISONS:
        if comp.name in _IDENTITY_LEVELS:
            parts.append(f"c.{comp.column} BETWEEN 0 AND {comp.level_index(_IDENTITY_LEVELS[comp.name])}")
    # One name token in common (Latin names: a given or a family name) on the same birth date is personal
    # evidence too; a household's members differ in birth date.
    name, dob = by_name["name"], by_name["birth_date"]
    parts.append(f"(c.{name.column} BETWEEN 0 AND {name.level_index(_LATIN_NAME_IDENTITY)} "
                 "AND l.name_latin IS NOT NULL AND r.name_latin IS NOT NULL)")
    # A Latin name closer than one token in common (a nickname or a typo in the given name: "will lloyd" /
    # "wilford lloyd") on the same birth date, or one with a part mistyped (a digit, day and month swapped,
    # the same year and month), is at least that. Not for Chinese names: twins share a birth date and a
    # surname, and their given names are often one syllable apart.
    parts.append(f"(c.{name.column} BETWEEN 0 AND {name.level_index('one_token')} "
                 f"AND c.{dob.column} BETWEEN 0 AND {dob.level_index('one_part')} "
                 "AND l.name_latin IS NOT NULL AND r.name_latin IS NOT NULL)")
    return " OR ".join(parts)


def _level_counts(db: Database, relation: str) -> dict[str, np.ndarray]:
    """Per comparison, how many pairs of `relation` fall in each level (nulls left out)."""
    union = " UNION ALL ".join(
        f"SELECT '{c.name}' AS comparison, {c.column} AS level, count(*) AS n FROM {relation} "
        f"WHERE {c.column} >= 0 GROUP BY {c.column}" for c in COMPARISONS)
    out = {c.name: np.zeros(len(c.levels)) for c in COMPARISONS}
    for name, level, n in db.fetchall(union):
        out[name][level] = n
    return out


def _smooth(counts: np.ndarray) -> np.ndarray:
    return (counts + PSEUDO_COUNT) / (counts.sum() + PSEUDO_COUNT * len(counts))


def estimate_u(db: Database, side: str, n_pairs: int, seed: int) -> dict[str, np.ndarray]:
    """u per comparison level: the level shares among `n_pairs` seeded random record pairs."""
    rids = db.query(f"SELECT rid FROM {side} ORDER BY rid")["rid"].to_numpy()
    if len(rids) < 2:
        return {c.name: _smooth(np.zeros(len(c.levels))) for c in COMPARISONS}
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(rids), n_pairs)
    b = rng.integers(0, len(rids) - 1, n_pairs)
    b = b + (b >= a)                        # never a record with itself
    left, right = rids[np.minimum(a, b)], rids[np.maximum(a, b)]
    db.write("_score_u_pairs", pl.DataFrame({"rid_l": left, "rid_r": right}))
    db.execute(f"CREATE OR REPLACE TEMP TABLE _score_u_cmp AS {comparison_sql('_score_u_pairs', side)}")
    counts = _level_counts(db, "_score_u_cmp")
    db.execute("DROP TABLE _score_u_pairs; DROP TABLE _score_u_cmp")
    return {name: _smooth(c) for name, c in counts.items()}


def _initial_m(n_levels: int) -> np.ndarray:
    return np.r_[0.9, np.full(n_levels - 1, 0.1 / (n_levels - 1))]


def fit_em(patterns: np.ndarray, counts: np.ndarray, u: list[np.ndarray], max_iterations: int,
           prior: float = 0.3) -> tuple[list[np.ndarray], float, int, bool]:
    """EM for m and λ with u held fixed: (m per comparison, λ, iterations run, converged).

    `patterns` holds one row of levels per distinct pattern (-1 = null, no evidence), `counts` how often.
    """
    m = [_initial_m(len(x)) for x in u]
    lam = prior
    if counts.sum() == 0:  # nothing to learn from: keep the starting model
        return m, lam, 0, False
    log_u = _log_sum(patterns, u)
    for iteration in range(1, max_iterations + 1):
        logit = np.clip(math.log(lam / (1 - lam)) + _log_sum(patterns, m) - log_u, -700, 700)
        weighted = counts / (1 + np.exp(-logit))       # expected matches per pattern
        new_lam = float(np.clip(weighted.sum() / counts.sum(), 1e-9, 1 - 1e-9))
        new_m = []
        for c, mc in enumerate(m):
            ok = patterns[:, c] >= 0
            new_m.append(_smooth(np.bincount(patterns[ok, c], weights=weighted[ok], minlength=len(mc))))
        delta = max(abs(new_lam - lam), *(float(np.abs(a - b).max()) for a, b in zip(new_m, m, strict=True)))
        m, lam = new_m, new_lam
        if delta < EM_TOLERANCE:
            return m, lam, iteration, True
    return m, lam, max_iterations, False


def _log_sum(patterns: np.ndarray, probs: list[np.ndarray]) -> np.ndarray:
    """Per pattern, the sum over non-null comparisons of log(prob of its level)."""
    out = np.zeros(len(patterns))
    for c, pc in enumerate(probs):
        ok = patterns[:, c] >= 0
        out[ok] += np.log(pc[patterns[ok, c]])
    return out


def _sample(db: Database, n_sample: int, seed: int) -> pl.DataFrame:
    """Distinct (blocking rules, level pattern) rows with their count `n`, in a seeded sample of pairs."""
    n = db.count(T.PAIRS_COMPARED)
    source = T.PAIRS_COMPARED
    if n > n_sample:
        pos = np.sort(np.random.default_rng(seed).choice(n, n_sample, replace=False))
        db.write("_score_em_pos", pl.DataFrame({"pos": pos}))
        source = (f"(SELECT * FROM (SELECT *, row_number() OVER (ORDER BY rid_l, rid_r) - 1 AS pos "
                  f"FROM {T.PAIRS_COMPARED}) SEMI JOIN _score_em_pos USING (pos))")
    cols = ", ".join(f"c.{c.column}" for c in COMPARISONS)
    out = db.query(f"SELECT p.rules, {cols}, count(*) AS n FROM {source} c "
                   f"JOIN {T.PAIRS_CANDIDATE} p USING (rid_l, rid_r) GROUP BY ALL ORDER BY ALL")
    db.execute("DROP TABLE IF EXISTS _score_em_pos")
    return out


def _all_patterns(db: Database) -> tuple[np.ndarray, np.ndarray]:
    """Every distinct level pattern among the candidate pairs (rows) and how many pairs have it."""
    cols = ", ".join(c.column for c in COMPARISONS)
    rows = db.fetchall(f"SELECT {cols}, count(*) FROM {T.PAIRS_COMPARED} GROUP BY ALL ORDER BY ALL")
    arr = np.array(rows, dtype=np.int64).reshape(-1, len(COMPARISONS) + 1)
    return arr[:, :-1], arr[:, -1].astype(np.float64)


def fit_m(sample: pl.DataFrame, u: list[np.ndarray], max_iterations: int
          ) -> tuple[list[np.ndarray], list[int], list[dict[str, Any]]]:
    """m per comparison from one EM session per blocking rule: (m, sessions that estimated it, sessions).

    Pairs found by a rule agree on its keys by construction, so u (random pairs) is wrong for those
    comparisons there: each session leaves them out (as Splink does). Estimating everything on all
    candidate pairs at once makes λ run to 1 and m copy the candidates. m = mean over the sessions.
    """
    patterns = sample.select(c.column for c in COMPARISONS).to_numpy().astype(np.int64)
    counts = sample["n"].to_numpy().astype(np.float64)
    rule_sets = [set(r.split(";")) for r in sample["rules"].to_list()]
    sums = [np.zeros(len(x)) for x in u]
    used = [0] * len(u)
    sessions: list[dict[str, Any]] = []
    for rule in sorted(set().union(*rule_sets)):
        mask = np.array([rule in rs for rs in rule_sets])
        if counts[mask].sum() < MIN_SESSION_PAIRS:
            continue
        keys = set(rule_keys(rule))
        blocked = [i for i, c in enumerate(COMPARISONS) if keys & set(c.keys)]
        session_patterns = patterns[mask].copy()
        session_patterns[:, blocked] = -1
        m, lam, iterations, converged = fit_em(session_patterns, counts[mask], u, max_iterations)
        for i in range(len(u)):
            if i not in blocked:
                sums[i] += m[i]
                used[i] += 1
        sessions.append({"rule": rule, "pairs": int(counts[mask].sum()), "lambda": round(lam, 6),
                         "iterations": iterations, "converged": converged})
    m_all = [sums[i] / used[i] if used[i] else _initial_m(len(u[i])) for i in range(len(u))]
    return m_all, used, sessions


def fit_prior(patterns: np.ndarray, counts: np.ndarray, m: list[np.ndarray], u: list[np.ndarray],
              total_pairs: float, max_iterations: int) -> float:
    """λ = P(match) for two records drawn at random, by EM over all record pairs with m and u fixed.

    Pairs that no blocking rule found are taken as non-matches (their posterior is ≈ 0 anyway).
    """
    if total_pairs <= 0 or counts.sum() == 0:
        return 1e-9
    log_bf = np.clip(_log_sum(patterns, m) - _log_sum(patterns, u), -700, 700)
    lam = float(counts.sum() / total_pairs)
    for _ in range(max_iterations):
        odds = lam / (1 - lam)
        post = 1 / (1 + np.exp(-np.clip(math.log(odds) + log_bf, -700, 700)))
        new = float(np.clip((counts * post).sum() / total_pairs, 1e-12, 1 - 1e-9))
        if abs(new - lam) < 1e-12 + 1e-9 * lam:
            return new
        lam = new
    return lam


def unmix_u(u: list[np.ndarray], m: list[np.ndarray], lam: float, n_pairs: int) -> list[np.ndarray]:
    """u among non-matches, from u among random pairs: those are a mixture λ·m + (1 − λ)·u.

    With many duplicates (λ ≈ 1e-4: 5,000 pairs among 10,000 records) the true matches in the random
    sample set u of every strong level to ≈ λ·m, so no agreement could weigh more than the prior's
    log2(1/λ): two fields agreeing exactly barely cancelled it. Floor: one pseudo pair in `n_pairs`.
    """
    floor = PSEUDO_COUNT / (n_pairs + PSEUDO_COUNT)
    out = []
    for uc, mc in zip(u, m, strict=True):
        pure = np.maximum((uc - lam * mc) / (1 - lam), floor)
        out.append(pure / pure.sum())
    return out


def weight_floor(comp: Comparison, m: np.ndarray, u: np.ndarray, level: int) -> float | None:
    """The least weight of a level: the highest weight among the looser levels it implies whose m is larger.

    When matches agree loosely more often than exactly (a field usually mistyped between copies), EM
    can give the exact level less weight than a typo: identical addresses scored below near-identical
    ones. An agreement that implies a looser one is never weaker evidence than it. None: no floor.
    """
    lv = comp.levels[level]
    floors = [math.log2(m[j] / u[j]) for j in map(comp.level_index, lv.implies) if m[j] > m[level]]
    return max(floors) if floors else None


def params_frame(run_id: str, m: list[np.ndarray], u: list[np.ndarray], lam: float,
                 sessions: list[int] | None = None) -> pl.DataFrame:
    """The fitted model as rows a person can read: one per comparison level, plus the prior.

    `sessions[i]`: how many EM sessions estimated comparison i's m (0 = the starting guess was kept).
    `weight_floor`: the least weight of the level (see weight_floor), also under term frequencies.
    """
    rows: list[dict[str, Any]] = [{
        "run_id": run_id, "comparison": PRIOR, "level": 0, "label": "λ: P(match) for two random records",
        "m": lam, "u": None, "weight": math.log2(lam / (1 - lam)), "tf_value": None, "em_sessions": None,
        "weight_floor": None}]
    for i, (comp, mc, uc) in enumerate(zip(COMPARISONS, m, u, strict=True)):
        for level, lv in enumerate(comp.levels):
            floor = weight_floor(comp, mc, uc, level)
            weight = math.log2(mc[level] / uc[level])
            rows.append({"run_id": run_id, "comparison": comp.name, "level": level, "label": lv.label,
                         "m": float(mc[level]), "u": float(uc[level]),
                         "weight": weight if floor is None else max(weight, floor), "tf_value": lv.tf_value,
                         "em_sessions": sessions[i] if sessions else None, "weight_floor": floor})
    return pl.DataFrame(rows, schema={"run_id": pl.String, "comparison": pl.String, "level": pl.Int32,
                                      "label": pl.String, "m": pl.Float64, "u": pl.Float64,
                                      "weight": pl.Float64, "tf_value": pl.String, "em_sessions": pl.Int32,
                                      "weight_floor": pl.Float64})


def _num(x: float) -> str:
    # A bare 1.5 is a DECIMAL to DuckDB: keep weights in DOUBLE, at full precision.
    return f"{float(x)!r}::DOUBLE"


def scored_sql(compared: str, side: str, params: pl.DataFrame, match_threshold: float, *,
               tf_tables: dict[str, str] | None = None) -> str:
    """SELECT the pairs_scored columns for relation `compared` under a fitted model (model_params rows).

    Levels with a tf_value weigh log2(m / frequency of the shared value among records) instead of log2(m/u).
    `tf_tables` (incremental runs): per tf value, a relation (v, u) of frequencies counted elsewhere.
    """
    prior = params.filter(pl.col("comparison") == PRIOR)["weight"].item()
    tf_values = sorted({v for v in params["tf_value"].drop_nulls()})
    tf_ctes = ",\n".join(
        f"tf_{v} AS (SELECT v, u FROM {tf_tables[v]})" if tf_tables and v in tf_tables else
        f"tf_{v} AS (SELECT {v} AS v, count(*) / sum(count(*)) OVER () AS u FROM {side} "
        f"WHERE {v} IS NOT NULL GROUP BY {v})" for v in tf_values)
    tf_joins = "".join(f"\nLEFT JOIN tf_{v} ON tf_{v}.v = l.{v}" for v in tf_values)
    weights = []
    for comp in COMPARISONS:
        whens = []
        for row in params.filter(pl.col("comparison") == comp.name).sort("level").iter_rows(named=True):
            w = _num(row["weight"])
            if row["tf_value"]:
                w = f"coalesce(log2({_num(row['m'])} / tf_{row['tf_value']}.u), {w})"
                if row.get("weight_floor") is not None:
                    w = f"greatest({w}, {_num(row['weight_floor'])})"
            whens.append(f"WHEN {row['level']} THEN {w}")
        weights.append(f"CASE c.{comp.column} {' '.join(whens)} ELSE 0.0::DOUBLE END AS w_{comp.name}")
    g_cols = ", ".join(f"c.{c.column}" for c in COMPARISONS)
    w_sum = " + ".join(f"w_{c.name}" for c in COMPARISONS)
    w_cols = ",\n    ".join(weights)
    return f"""
WITH {tf_ctes + "," if tf_ctes else ""}
weighted AS (
  SELECT c.rid_l, c.rid_r, {g_cols},
    {w_cols},
    CASE WHEN {_VETO_SQL} THEN 'different_valid_id'
         WHEN NOT coalesce({_identity_sql()}, false) THEN 'no_identity_agreement' END AS veto
  FROM {compared} c
  JOIN {side} l ON l.rid = c.rid_l
  JOIN {side} r ON r.rid = c.rid_r{tf_joins}),
totals AS (SELECT *, {_num(prior)} + {w_sum} AS weight FROM weighted),
probs AS (SELECT *, 1.0 / (1.0 + pow(2.0, -greatest(least(weight, 1000.0), -1000.0))) AS probability
          FROM totals)
SELECT * EXCLUDE (veto), probability >= {_num(match_threshold)} AND veto IS NULL AS match, veto
FROM probs"""


def score(db: Database, cfg: MatchingConfig, run_id: str) -> dict[str, Any]:
    """Fit the model (written to model_params) and write pairs_scored: per-comparison weights, total
    weight (log2 odds), probability, match. Deterministic for a given cfg.seed.

    A higher cfg.match_threshold → fewer, surer matches. Two different valid ID numbers, or agreement on
    nothing personal (only landline/address), never match whatever the weight.
    """
    for table in (T.STD_RECORDS, T.PAIRS_CANDIDATE, T.PAIRS_COMPARED):
        if not db.has_table(table):
            raise StageError(f"table {table} is missing: run compare first", stage="score", run_id=run_id)
    register_functions(db)
    side_cols = side_values(_identity_sql(), _VETO_SQL)
    db.execute(f"CREATE OR REPLACE TEMP TABLE _score_side AS {match_values_sql(columns=side_cols)}")
    n_records = db.count("_score_side")
    u_by_name = estimate_u(db, "_score_side", cfg.u_sample_size, cfg.seed)
    u = [u_by_name[c.name] for c in COMPARISONS]
    m, used, sessions = fit_m(_sample(db, cfg.em_sample_size, cfg.seed), u, cfg.em_max_iterations)
    patterns, counts = _all_patterns(db)
    lam = fit_prior(patterns, counts, m, u, n_records * (n_records - 1) / 2, cfg.em_max_iterations)
    u = unmix_u(u, m, lam, cfg.u_sample_size)
    lam = fit_prior(patterns, counts, m, u, n_records * (n_records - 1) / 2, cfg.em_max_iterations)
    params = params_frame(run_id, m, u, lam, used)
    db.write(T.MODEL_PARAMS, params)
    db.execute(f"CREATE OR REPLACE TABLE {T.PAIRS_SCORED} AS "
               f"{scored_sql(T.PAIRS_COMPARED, '_score_side', params, cfg.match_threshold)}"
               f"\nORDER BY rid_l, rid_r")
    db.execute("DROP TABLE IF EXISTS _score_side")
    pairs, matches, vetoed = db.fetchall(
        f"SELECT count(*), count(*) FILTER (WHERE match), "
        f"count(*) FILTER (WHERE veto IS NOT NULL AND probability >= {cfg.match_threshold!r}) "
        f"FROM {T.PAIRS_SCORED}")[0]
    return {"pairs": int(pairs), "matches": int(matches), "vetoed": int(vetoed), "prior": lam,
            "em_sessions": sessions}
