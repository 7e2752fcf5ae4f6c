"""override_components: must-links first, cannot-links never joined, ID codes as in clustering."""

from __future__ import annotations

import numpy as np

from hanlink.overrides import override_components

E = np.array([], dtype=np.int64)


def groups(roots: np.ndarray) -> set[frozenset[int]]:
    out: dict[int, set[int]] = {}
    for i, r in enumerate(roots.tolist()):
        out.setdefault(r, set()).add(i)
    return {frozenset(g) for g in out.values()}


def a(*xs: int) -> np.ndarray:
    return np.array(xs, dtype=np.int64)


def test_no_labels_is_plain_constrained_clustering() -> None:
    ident = a(0, -1, 1, -1)
    roots, rm, refused = override_components(4, E, E, a(0, 1, 2), a(1, 2, 3), ident, E, E)
    assert groups(roots) == {frozenset({0, 1}), frozenset({2, 3})} and (rm, refused) == (0, 1)


def test_cannot_link_cuts_the_weakest_edge_of_a_chain() -> None:
    no_ids = np.full(3, -1)
    roots, _, refused = override_components(3, E, E, a(0, 1), a(1, 2), no_ids, a(0), a(2))
    assert groups(roots) == {frozenset({0, 1}), frozenset({2})} and refused == 1


def test_cannot_link_does_not_block_a_record_from_its_true_match_with_an_id() -> None:
    # 0 holds ID A, cannot-link(0, 1); 1 matches 2 which holds ID B: 1 and 2 still join.
    roots, _, _ = override_components(3, E, E, a(1), a(2), a(0, -1, 1), a(0), a(1))
    assert groups(roots) == {frozenset({0}), frozenset({1, 2})}


def test_several_cannot_links_on_one_record() -> None:
    no_ids = np.full(4, -1)
    roots, _, _ = override_components(4, E, E, a(0, 0, 0), a(1, 2, 3), no_ids, a(0, 0), a(1, 2))
    assert groups(roots) == {frozenset({0, 3}), frozenset({1}), frozenset({2})}


def test_must_link_joins_two_valid_ids_and_later_edges_may_follow() -> None:
    ident = a(0, 1, 0, 2)
    roots, rm, refused = override_components(4, a(0), a(1), a(1, 2), a(3, 0), ident, E, E)
    assert groups(roots) == {frozenset({0, 1, 2}), frozenset({3})} and (rm, refused) == (0, 1)


def test_must_link_contradicting_a_cannot_link_is_refused() -> None:
    no_ids = np.full(3, -1)
    roots, rm, _ = override_components(3, a(0, 1), a(1, 2), E, E, no_ids, a(0), a(2))
    assert rm == 1 and groups(roots) == {frozenset({0, 1}), frozenset({2})}
