"""Clustering under analysts' labels: must-link edges first, cannot-link pairs never in one component.

Pure numpy/Python (no database): review.apply_overrides feeds it only the components that a label touches,
so the sequential loop runs over a few edges, not the whole warehouse.
"""

from __future__ import annotations

import numpy as np

from hanlink.cluster import flatten


def override_components(n: int, must_l: np.ndarray, must_r: np.ndarray, left: np.ndarray, right: np.ndarray,
                        ident: np.ndarray, cannot_l: np.ndarray, cannot_r: np.ndarray
                        ) -> tuple[np.ndarray, int, int]:
    """Union-find over n nodes: (root per node, must-links refused, edges refused).

    Must-link edges are unioned first and may join two different valid ID numbers (the analyst decided);
    then the matched edges (`left`, `right`, strongest first) as in cluster.constrained_components: a
    union is refused when both sides hold ID codes (`ident`, -1 = none) and neither side's codes contain
    the other's. A cannot-link pair is never put in one component, by either kind of edge: a must-link
    that contradicts a cannot-link is refused (splitting is the safer mistake) and counted.

    Unlike giving each cannot-link pair two ID codes, this handles a record in several cannot-link pairs and
    a record that already holds a valid ID.
    """
    parent = list(range(n))
    size = [1] * n
    codes: dict[int, frozenset[int]] = {i: frozenset((c,)) for i, c in enumerate(ident.tolist()) if c >= 0}
    forbid: dict[int, set[int]] = {}      # root → nodes that may never join it
    members: dict[int, set[int]] = {}     # root → its nodes that appear in a cannot-link pair
    for a, b in zip(cannot_l.tolist(), cannot_r.tolist(), strict=True):
        forbid.setdefault(a, set()).add(b)
        forbid.setdefault(b, set()).add(a)
        members.setdefault(a, {a})
        members.setdefault(b, {b})

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int, forced: bool) -> bool:
        a, b = find(a), find(b)
        if a == b:
            return True
        ma, mb = members.get(a, set()), members.get(b, set())
        fa, fb = forbid.get(a, set()), forbid.get(b, set())
        if not ma.isdisjoint(fb) or not mb.isdisjoint(fa):
            return False
        ca, cb = codes.get(a), codes.get(b)
        if not forced and ca and cb and not (ca <= cb or cb <= ca):
            return False
        root, child = (a, b) if size[a] >= size[b] else (b, a)
        parent[child] = root
        size[root] += size[child]
        if ca or cb:
            codes[root] = (ca or frozenset()) | (cb or frozenset())
        if ma or mb:
            members[root] = ma | mb
            members.pop(child, None)
        if fa or fb:
            forbid[root] = fa | fb
            forbid.pop(child, None)
        return True

    refused_must = sum(not union(a, b, True) for a, b in zip(must_l.tolist(), must_r.tolist(), strict=True))
    refused = sum(not union(a, b, False) for a, b in zip(left.tolist(), right.tolist(), strict=True))
    return flatten(np.asarray(parent, dtype=np.int64)), refused_must, refused
