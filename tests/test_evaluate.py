"""Pairwise and B-cubed metrics: against brute force on random clusterings, edge cases, a hand example."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hanlink.errors import HanlinkError
from hanlink.evaluate import bcubed_metrics, pairwise_metrics


def frame(labels: list[int] | list[str], keys: list[str] | None = None) -> pl.DataFrame:
    keys = keys or [f"k{i}" for i in range(len(labels))]
    return pl.DataFrame({"key": keys, "cluster": labels})


def brute_pairs(pred: list[int], truth: list[int]) -> tuple[int, int, int]:
    """(tp, fp, fn) by enumerating every pair of records."""
    tp = fp = fn = 0
    for i, j in combinations(range(len(pred)), 2):
        same_p, same_t = pred[i] == pred[j], truth[i] == truth[j]
        tp += same_p and same_t
        fp += same_p and not same_t
        fn += same_t and not same_p
    return tp, fp, fn


def brute_bcubed(pred: list[int], truth: list[int]) -> tuple[float, float]:
    n = len(pred)
    p = (
        sum(
            sum(pred[j] == pred[i] and truth[j] == truth[i] for j in range(n)) / pred.count(pred[i])
            for i in range(n)
        )
        / n
    )
    r = (
        sum(
            sum(pred[j] == pred[i] and truth[j] == truth[i] for j in range(n)) / truth.count(truth[i])
            for i in range(n)
        )
        / n
    )
    return p, r


clusterings = st.integers(1, 30).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 6), min_size=n, max_size=n),
        st.lists(st.integers(0, 6), min_size=n, max_size=n),
    )
)


@settings(max_examples=150, deadline=None)
@given(clusterings)
def test_pairwise_matches_brute_force(labels: tuple[list[int], list[int]]) -> None:
    pred, truth = labels
    got = pairwise_metrics(frame(pred), frame(truth))
    tp, fp, fn = brute_pairs(pred, truth)
    assert (got["tp"], got["fp"], got["fn"]) == (tp, fp, fn)
    assert got["precision"] == (tp / (tp + fp) if tp + fp else 1.0)
    assert got["recall"] == (tp / (tp + fn) if tp + fn else 1.0)
    assert 0.0 <= got["f1"] <= 1.0


@settings(max_examples=150, deadline=None)
@given(clusterings)
def test_bcubed_matches_brute_force(labels: tuple[list[int], list[int]]) -> None:
    pred, truth = labels
    got = bcubed_metrics(frame(pred), frame(truth))
    p, r = brute_bcubed(pred, truth)
    assert got["precision"] == pytest.approx(p) and got["recall"] == pytest.approx(r)
    assert got["f1"] == pytest.approx(2 * p * r / (p + r))


def test_perfect_clustering_scores_one_whatever_the_labels() -> None:
    truth = frame(["a", "a", "b", "c", "c", "c"])
    pred = frame([7, 7, 3, 1, 1, 1]).reverse()  # other labels, other row order, same partition
    pred = pred.with_columns(
        pl.Series("key", ["k5", "k4", "k3", "k2", "k1", "k0"]), pl.Series("cluster", [1, 1, 1, 3, 7, 7])
    )
    assert pairwise_metrics(pred, truth) == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "tp": 4,
        "fp": 0,
        "fn": 0,
    }
    assert bcubed_metrics(pred, truth) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_all_singletons_have_precision_one_recall_zero() -> None:
    truth = frame([0, 0, 1, 1, 1])
    pw = pairwise_metrics(frame([0, 1, 2, 3, 4]), truth)
    assert pw == {"precision": 1.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 0, "fn": 4}
    b3 = bcubed_metrics(frame([0, 1, 2, 3, 4]), truth)
    assert b3["precision"] == 1.0 and b3["recall"] == pytest.approx((2 * 1 / 2 + 3 * 1 / 3) / 5)
    # nothing to find and nothing claimed: perfect, not undefined
    assert pairwise_metrics(frame([0, 1]), frame([5, 6]))["f1"] == 1.0


def test_hand_example() -> None:
    # truth {a,b,c} {d,e}; pred {a,b} {c,d,e}
    truth = frame([1, 1, 1, 2, 2], ["a", "b", "c", "d", "e"])
    pred = frame([1, 1, 2, 2, 2], ["a", "b", "c", "d", "e"])
    pw = pairwise_metrics(pred, truth)
    # pred pairs ab, cd, ce, de; true pairs ab, ac, bc, de; shared ab, de
    assert pw == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "tp": 2, "fp": 2, "fn": 2}
    b3 = bcubed_metrics(pred, truth)
    # precision per record: a 1, b 1, c 1/3, d 2/3, e 2/3 → 11/15
    # recall per record: a 2/3, b 2/3, c 1/3, d 1, e 1 → 11/15
    assert b3["precision"] == pytest.approx(11 / 15) and b3["recall"] == pytest.approx(11 / 15)


def test_mismatched_keys_are_an_error_naming_count_and_example() -> None:
    truth = frame([1, 1, 2], ["a", "b", "c"])
    with pytest.raises(HanlinkError, match=r"2 keys are missing from truth, e.g. 'x'"):
        pairwise_metrics(
            frame([1, 1, 1, 1], ["a", "x", "y", "b"]).filter(pl.col("key") != "b").vstack(frame([1], ["c"])),
            truth,
        )
    with pytest.raises(HanlinkError, match=r"1 keys are missing from pred, e.g. 'c'"):
        bcubed_metrics(frame([1, 1], ["a", "b"]), truth)
    with pytest.raises(HanlinkError, match="appear more than once"):
        pairwise_metrics(frame([1, 2, 3], ["a", "a", "c"]), truth)
    with pytest.raises(HanlinkError, match="null key or cluster"):
        pairwise_metrics(frame([1, None, 2], ["a", "b", "c"]), truth)


def test_a_million_keys_give_the_closed_form_figures() -> None:
    # Speed belongs to benchmarks; at this size we check the figures against arithmetic done by hand:
    # truth = triples, prediction = pairs of triples (clusters of 6) under shuffled keys and labels.
    rng = np.random.default_rng(0)
    n = 999_996  # a multiple of 6
    keys = rng.permutation(n)
    truth = pl.DataFrame({"key": keys, "cluster": keys // 3})
    labels = rng.permutation(n // 6)
    pred = pl.DataFrame({"key": keys, "cluster": labels[keys // 6]})
    pw, b3 = pairwise_metrics(pred, truth), bcubed_metrics(pred, truth)
    # true pairs: n/3 triples × 3; predicted: n/6 clusters × 15 pairs, of which the true ones are all found
    assert pw["precision"] == pytest.approx((n // 3 * 3) / (n // 6 * 15))
    assert pw["recall"] == pytest.approx(1.0)
    assert b3["precision"] == pytest.approx(0.5) and b3["recall"] == pytest.approx(1.0)
