"""Pairs → clusters → person ids, with a guard against chaining.

Connected components at the threshold can chain: A~B and B~C put A and C together even when A and C look
nothing alike.  Every component is therefore checked as a whole: one larger than ``max_cluster_size``, one
of 4+ records whose share of linked pairs is below ``min_cluster_density``, or one holding a pair a reviewer
marked "non-match" is re-split at a stricter threshold (halfway to 1), repeatedly, until it passes.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..exceptions import LinkageWarning

__all__ = ["cluster_pairs", "person_id_of"]


def person_id_of(record_ids: Iterable[str]) -> str:
    """Stable opaque person id of a cluster: the same records always give the same id.

    Examples
    --------
    >>> person_id_of(["r2", "r1"]) == person_id_of(["r1", "r2"])
    True
    """
    h = hashlib.sha256("\n".join(sorted(record_ids)).encode("utf-8")).hexdigest()
    return "P" + h[:15]


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    g = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    return connected_components(g, directed=False)[1]


def cluster_pairs(
    ids: Sequence[str],
    pairs: pd.DataFrame,
    threshold: float,
    max_cluster_size: int = 12,
    min_cluster_density: float = 0.4,
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
    max_rounds: int = 8,
    contradictions: Iterable[tuple[str, str]] = (),
) -> tuple[dict[str, int], dict[str, int]]:
    """Cluster records from scored pairs.

    Parameters
    ----------
    ids : sequence of str
        Every record id (singletons included).
    pairs : DataFrame
        Columns ``unique_id_l``, ``unique_id_r``, ``match_probability``.
    threshold : float
        Pairs at or above it are linked.
    max_cluster_size, min_cluster_density : int, float
        The chaining guard (see module docstring).
    must_link, cannot_link : iterable of (id, id)
        Reviewer decisions: a must-link pair is linked whatever its score, a cannot-link pair is never linked
        directly and its component is re-split until the two fall apart.
    contradictions : iterable of (id, id)
        Pairs the model scores as near-certain non-matches: a component holding one (a chain A–B–C whose
        A–C the model rejects) is re-split like one holding a cannot-link pair, without a warning when the
        split does not separate them.

    Returns
    -------
    labels : dict
        record id → cluster number.
    stats : dict
        ``resplit_components`` (components the guard re-split) and ``unresolved_cannot_link``.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"unique_id_l": ["a", "b"], "unique_id_r": ["b", "c"],
    ...                   "match_probability": [.99, .95]})
    >>> lab, _ = cluster_pairs(["a", "b", "c", "d"], p, 0.9)
    >>> lab["a"] == lab["b"] == lab["c"] != lab["d"]
    True
    """
    index = {r: i for i, r in enumerate(ids)}
    n = len(ids)
    cannot = {
        (min(index[a], index[b]), max(index[a], index[b]))
        for a, b in cannot_link
        if a in index and b in index
    }
    l_idx = pairs["unique_id_l"].map(index).to_numpy()
    r_idx = pairs["unique_id_r"].map(index).to_numpy()
    prob = pairs["match_probability"].to_numpy(dtype=float)
    ok = ~(pd.isna(l_idx) | pd.isna(r_idx))
    l_idx, r_idx, prob = l_idx[ok].astype(np.int64), r_idx[ok].astype(np.int64), prob[ok]
    lo, hi = np.minimum(l_idx, r_idx), np.maximum(l_idx, r_idx)
    if cannot:
        key = lo * n + hi
        banned = np.isin(key, np.array([a * n + b for a, b in cannot], dtype=np.int64))
        prob = np.where(banned, 0.0, prob)
    forced = [(index[a], index[b]) for a, b in must_link if a in index and b in index]
    if forced:
        fa = np.array([min(x) for x in forced], dtype=np.int64)
        fb = np.array([max(x) for x in forced], dtype=np.int64)
        lo, hi = np.concatenate([lo, fa]), np.concatenate([hi, fb])
        prob = np.concatenate([prob, np.ones(len(fa))])
    keep = prob >= threshold
    lo, hi, prob = lo[keep], hi[keep], prob[keep]
    labels = _components(n, lo, hi)
    resplit = 0
    unresolved = 0
    next_label = int(labels.max()) + 1 if n else 0
    cannot_arr = np.array(sorted(cannot), dtype=np.int64).reshape(-1, 2)
    contra_arr = np.array(
        [(index[a], index[b]) for a, b in contradictions if a in index and b in index], dtype=np.int64
    ).reshape(-1, 2)
    for _ in range(max_rounds):
        sizes = np.bincount(labels, minlength=next_label)
        edge_lab = labels[lo]
        edges_per = np.bincount(edge_lab, minlength=next_label)
        with np.errstate(divide="ignore", invalid="ignore"):
            density = edges_per / (sizes * (sizes - 1) / 2.0)
        bad = (sizes > max_cluster_size) | ((sizes >= 4) & (density < min_cluster_density))
        if len(cannot_arr):
            same = labels[cannot_arr[:, 0]] == labels[cannot_arr[:, 1]]
            bad[np.unique(labels[cannot_arr[same, 0]])] = True
        if len(contra_arr):
            same = labels[contra_arr[:, 0]] == labels[contra_arr[:, 1]]
            bad[np.unique(labels[contra_arr[same, 0]])] = True
        bad_labels = np.flatnonzero(bad)
        if len(bad_labels) == 0:
            break
        # records and edges grouped by label once per round (stable sorts keep each group in index order):
        # looking each bad cluster up in the whole arrays costs O(records) per cluster, hours at a million
        node_order = np.argsort(labels, kind="stable")
        node_sorted = labels[node_order]
        edge_order = np.argsort(edge_lab, kind="stable")
        edge_sorted = edge_lab[edge_order]
        keep_edges = np.ones(len(lo), dtype=bool)
        for lab in bad_labels:
            a, b = np.searchsorted(node_sorted, [lab, lab + 1])
            members = node_order[a:b]
            ea, eb = np.searchsorted(edge_sorted, [lab, lab + 1])
            sel = edge_order[ea:eb]
            e_lo, e_hi, e_p = lo[sel], hi[sel], prob[sel]
            current = float(e_p.min()) if len(e_p) else 1.0
            stricter = current + (1.0 - current) / 2.0
            keep_e = e_p > stricter if stricter < 1.0 else e_p >= 1.0
            la = np.searchsorted(members, e_lo[keep_e]).astype(np.int64)
            lb = np.searchsorted(members, e_hi[keep_e]).astype(np.int64)
            sub = _components(len(members), la, lb)
            labels[members] = next_label + sub
            next_label += int(sub.max()) + 1
            # drop the edges below the stricter threshold so later rounds see the split graph
            keep_edges[sel[~keep_e]] = False
            resplit += 1
        lo, hi, prob = lo[keep_edges], hi[keep_edges], prob[keep_edges]
    if len(cannot_arr):
        unresolved = int((labels[cannot_arr[:, 0]] == labels[cannot_arr[:, 1]]).sum())
        if unresolved:
            warnings.warn(
                f"{unresolved} reviewed non-match pair(s) are still in one cluster through reviewed matches",
                LinkageWarning,
                stacklevel=2,
            )
    return (
        {r: int(labels[i]) for r, i in index.items()},
        {"resplit_components": resplit, "unresolved_cannot_link": unresolved},
    )


def person_ids_from_labels(labels: Mapping[str, int]) -> dict[str, str]:
    """record id → stable person id (see :func:`person_id_of`)."""
    members: dict[int, list[str]] = {}
    for r, lab in labels.items():
        members.setdefault(lab, []).append(r)
    out: dict[str, str] = {}
    for recs in members.values():
        pid = person_id_of(recs)
        for r in recs:
            out[r] = pid
    return out
