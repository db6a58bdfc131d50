"""Does the maximum-likelihood estimate of a log-linear MSE model exist, and is it identifiable?

With sparse lists some capture patterns are never seen, and for some models the likelihood then has no
maximum at finite parameter values (the estimate "runs off to infinity"), or several parameter values fit
equally well (not identifiable).  Fienberg & Rinaldo (2012) show the MLE exists iff the vector of observed
sufficient statistics ``t = A n`` lies in the relative interior of the cone spanned by the columns of the
design matrix ``A`` (parameters x cells), which a linear program decides:

    maximise s   subject to   A x = t,   x_c >= s >= 0 for every cell c.

The optimum is 0 iff no strictly positive table has the observed margins, i.e. the MLE does not exist.
Identifiability is full column rank of the design matrix.  These are the checks of SparseMSE's
``checkident`` (error codes 0 = fine, 1 = no MLE, 2 = not identifiable, 3 = both) and ``checkallmodels``
(Chan, Silverman & Vincent 2021), including its handling of pairs of lists that never overlap: such a term's
parameter is fixed at minus infinity, i.e. the cells holding both lists are structural zeros and are dropped.

Speed: every observed cell (count > 0) belongs to every model's cell set, so when the observed cells' rows of
the design matrix already have full rank the MLE exists without any linear program (a positive
combination of spanning vectors is interior).  Only rank-deficient cases go to the LP, and
:func:`check_all_models` reduces the ``2**k`` top-level models (``k`` = non-overlapping pairs) to the
distinct sets of *relevant* zero cells they keep before solving anything.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog

from ..exceptions import EstimationError
from ..histories import CaptureHistories
from ._fast import all_pairs, design_matrix

__all__ = ["IdentifiabilityResult", "check_all_models", "check_identifiability", "parse_terms"]

_TOL = 1e-9


@dataclass(frozen=True)
class IdentifiabilityResult:
    """Outcome of :func:`check_identifiability`.

    Attributes
    ----------
    mle_exists : bool
        The (extended) maximum-likelihood estimate exists.
    identifiable : bool
        The design matrix has full column rank.
    ierr : int
        SparseMSE's code: ``1 * (not mle_exists) + 2 * (not identifiable)``.
    empty_overlaps : tuple of str
        Terms of the model whose two lists never overlap (fixed at minus infinity).
    """

    mle_exists: bool
    identifiable: bool
    ierr: int
    empty_overlaps: tuple[str, ...] = ()


def parse_terms(terms: str | Sequence[str] | Sequence[tuple[int, int]] | None,
                lists: Sequence[str]) -> list[tuple[int, int]]:
    """Turn ``"A:B,C:D"``, ``["A:B", "C:D"]``, ``"all"`` or index pairs into sorted index pairs.

    ``None`` or ``""`` means main effects only; ``"all"`` every two-list term.

    Examples
    --------
    >>> parse_terms("B:A, A:C", ["A", "B", "C"])
    [(0, 1), (0, 2)]
    """
    t = len(lists)
    if terms is None:
        return []
    if isinstance(terms, str):
        if terms.strip().lower() == "all":
            return all_pairs(t)
        items: list[str | tuple[int, int]] = [s.strip() for s in terms.replace("+", ",").split(",")
                                              if s.strip()]
    else:
        items = list(terms)
    index = {name: k for k, name in enumerate(lists)}
    out: set[tuple[int, int]] = set()
    for it in items:
        if isinstance(it, str):
            parts = [p.strip() for p in it.split(":")]
            if len(parts) != 2 or parts[0] not in index or parts[1] not in index or parts[0] == parts[1]:
                raise EstimationError(f"term {it!r} is not of the form LIST:LIST with two different list "
                                      f"names among {', '.join(lists)}")
            i, j = index[parts[0]], index[parts[1]]
        else:
            i, j = int(it[0]), int(it[1])
            if not (0 <= i < t and 0 <= j < t and i != j):
                raise EstimationError(f"term {it!r} does not name two different lists")
        out.add((min(i, j), max(i, j)))
    return sorted(out)


def term_name(pair: tuple[int, int], lists: Sequence[str]) -> str:
    """``(0, 1)`` -> ``"A:B"``."""
    return f"{lists[pair[0]]}:{lists[pair[1]]}"


def _lp_no_mle(a: npt.NDArray[np.float64], tvec: npt.NDArray[np.float64]) -> bool:
    """SparseMSE's LP (parameters x cells ``a``): True when the optimum is 0, i.e. no MLE."""
    npar, ncell = a.shape
    scale = max(1.0, float(np.abs(tvec).max()))
    c = np.zeros(ncell + 1)
    c[-1] = -1.0
    a_eq = np.hstack([a, np.zeros((npar, 1))])
    a_ub = np.hstack([-np.eye(ncell), np.ones((ncell, 1))])  # s - x_c <= 0
    res = linprog(c, A_ub=a_ub, b_ub=np.zeros(ncell), A_eq=a_eq, b_eq=tvec / scale,
                  bounds=[(0, None)] * (ncell + 1), method="highs")
    if res.status != 0:  # infeasible cannot happen (x = counts is feasible); be conservative
        return True
    return bool(-res.fun <= _TOL)


def _rank(x: npt.NDArray[np.float64]) -> int:
    return int(np.linalg.matrix_rank(x)) if x.size else 0


def ident_arrays(cells: npt.NDArray[np.int8], counts: npt.ArrayLike,
                 pairs: Sequence[tuple[int, int]]) -> tuple[int, list[tuple[int, int]]]:
    """``(ierr, empty_pairs)`` for a model on a full table (all ``2**t - 1`` cells, zeros included)."""
    cells = np.asarray(cells)
    counts = np.asarray(counts, dtype=np.float64)
    keep = np.ones(len(counts), dtype=bool)
    eff: list[tuple[int, int]] = []
    empty: list[tuple[int, int]] = []
    for i, j in pairs:
        both = (cells[:, i] == 1) & (cells[:, j] == 1)
        if counts[both].sum() == 0:
            empty.append((i, j))
            keep &= ~both
        else:
            eff.append((i, j))
    x = design_matrix(cells[keep], eff)
    y = counts[keep]
    p = x.shape[1]
    rankdef = p - _rank(x)
    obs = y > 0
    no_mle = False if rankdef == 0 and _rank(x[obs]) == p else _lp_no_mle(x.T, x.T @ y)
    return int(no_mle) + 2 * int(rankdef > 0), empty


def check_identifiability(histories: CaptureHistories,
                          terms: str | Sequence[str] | Sequence[tuple[int, int]] | None = "all"
                          ) -> IdentifiabilityResult:
    """Check one model for existence and identifiability of the MLE (SparseMSE ``checkident``).

    Parameters
    ----------
    histories : CaptureHistories
        Unstratified capture histories.
    terms : str, sequence or None
        Two-list terms (``"A:B,C:D"``, a list of ``"A:B"``, index pairs), ``"all"`` (default; SparseMSE's
        ``mX = 0``) or ``None`` for main effects only.

    Returns
    -------
    IdentifiabilityResult

    Examples
    --------
    >>> h = CaptureHistories.from_dict(["A", "B", "C"], {(1, 0, 0): 40, (0, 1, 0): 30, (0, 0, 1): 20,
    ...                                                 (1, 1, 0): 6})
    >>> check_identifiability(h, "all").ierr      # SparseMSE's Artificial_3: not identifiable
    2
    >>> check_identifiability(h, "A:B").ierr      # the MLE does not exist
    1
    >>> check_identifiability(h, "A:C,B:C").ierr  # fine
    0
    """
    cells, counts = histories.pooled().full_table() if histories.is_stratified else histories.full_table()
    pairs = parse_terms(terms, histories.lists)
    ierr, empty = ident_arrays(cells, counts, pairs)
    return IdentifiabilityResult(mle_exists=not (ierr & 1), identifiable=not (ierr & 2), ierr=ierr,
                                 empty_overlaps=tuple(term_name(p, histories.lists) for p in empty))


def _facial_no_mle(a: npt.NDArray[np.float64], obs: npt.NDArray[np.bool_],
                   kept: npt.NDArray[np.bool_]) -> bool:
    """No MLE iff some y with ``y'a_c = 0`` on observed cells has ``y'a_c >= 0`` on kept cells, not all 0.

    ``a`` is parameters x cells.  This is the Farkas dual of SparseMSE's LP (same answer), solved in the
    small null space of the observed columns.
    """
    a_obs = a[:, obs]
    u, s, _ = np.linalg.svd(a_obs, full_matrices=True)
    r = int((s > s.max() * 1e-10).sum()) if s.size else 0
    null = u[:, r:]
    if null.shape[1] == 0:
        return False
    cmat = a[:, kept & ~obs].T @ null
    cmat = cmat[np.abs(cmat).max(axis=1) > 1e-9] if cmat.size else cmat
    if cmat.shape[0] == 0:
        # every direction in the null space leaves all kept cells at 0: A'y = 0 there means the model
        # only loses identifiability, the margins are still interior
        return False
    return _cone_feasible(cmat)


def _cone_feasible(cmat: npt.NDArray[np.float64]) -> bool:
    """Is there w with ``C w >= 0`` and ``sum(C w) = 1``?"""
    d = cmat.shape[1]
    res = linprog(np.zeros(d), A_ub=-cmat, b_ub=np.zeros(cmat.shape[0]),
                  A_eq=cmat.sum(axis=0, keepdims=True), b_eq=[1.0], bounds=[(None, None)] * d,
                  method="highs")
    return bool(res.status == 0)


def check_all_models(histories: CaptureHistories, max_nonoverlapping: int = 24) -> list[str]:
    """Every two-list model whose extended MLE does not exist (SparseMSE ``checkallmodels``).

    As in SparseMSE: for each of the ``2**k`` choices of which non-overlapping pairs are in the model (their
    cells become structural zeros), the "top-level" model with every overlapping pair is tested; only if
    it fails are its sub-models (overlapping pairs left out) searched, using the fact that removing
    overlapping pairs cannot destroy existence.  Identifiability is not part of this list (SparseMSE checks
    it only for the model with every pair, see :func:`check_identifiability`).

    Parameters
    ----------
    histories : CaptureHistories
    max_nonoverlapping : int
        Refuse (EstimationError) when more pairs than this never overlap *and* the observed patterns do not
        already settle existence for every model (``2**k`` top-level models would have to be enumerated).

    Returns
    -------
    list of str
        Models as ``"A:B+A:C"`` (terms in list order), sorted by number of terms then terms.

    Examples
    --------
    >>> h = CaptureHistories.from_dict(["A", "B", "C"], {(1, 0, 0): 40, (0, 1, 0): 30, (0, 0, 1): 20,
    ...                                                 (1, 1, 0): 6})
    >>> check_all_models(h)
    ['A:B', 'A:B+A:C', 'A:B+B:C']
    """
    h = histories.pooled() if histories.is_stratified else histories
    cells, counts = h.full_table()
    t = h.n_lists
    pairs = all_pairs(t)
    x_all = design_matrix(cells, pairs)  # cells x (1 + t + npairs)
    nstar = x_all.T @ counts
    over = [k for k, _ in enumerate(pairs) if nstar[1 + t + k] > 0]
    nonover = [k for k, _ in enumerate(pairs) if nstar[1 + t + k] == 0]
    base_rows = list(range(1 + t)) + [1 + t + k for k in over]
    a = x_all[:, base_rows].T  # parameters x cells
    obs = counts > 0
    kk = len(nonover)
    # bit b of a cell's mask: the cell holds both lists of non-overlapping pair b (a structural zero
    # whenever that pair is in the model)
    cellmask = np.zeros(len(counts), dtype=np.int64)
    for b, k in enumerate(nonover):
        i, j = pairs[k]
        cellmask |= (((cells[:, i] == 1) & (cells[:, j] == 1)).astype(np.int64) << b)
    names = [term_name(p, h.lists) for p in pairs]

    # null space of the observed columns: only zero cells with a non-zero image can matter
    u, s, _ = np.linalg.svd(a[:, obs], full_matrices=True)
    r = int((s > s.max() * 1e-10).sum()) if s.size else 0
    null = u[:, r:]
    failing: list[int] = []
    if null.shape[1] > 0:
        cm = a.T @ null
        relevant = np.flatnonzero((~obs) & (np.abs(cm).max(axis=1) > 1e-9))
        if relevant.size and kk > max_nonoverlapping:
            raise EstimationError(f"{kk} pairs of lists never overlap: too many models to check one by one")
        if relevant.size:
            cm_rel = cm[relevant]
            rel_masks = cellmask[relevant]
            cache: dict[bytes, bool] = {}
            chunk = 1 << 14
            nmodels = 1 << kk
            for start in range(0, nmodels, chunk):
                js = np.arange(start, min(nmodels, start + chunk), dtype=np.int64)
                keptm = (js[:, None] & rel_masks[None, :]) == 0
                packed = np.packbits(keptm, axis=1)
                for row, jmask in zip(packed, js.tolist(), strict=True):
                    key = row.tobytes()
                    bad = cache.get(key)
                    if bad is None:
                        kept = np.unpackbits(row)[: relevant.size].astype(bool)
                        bad = bool(kept.any()) and _cone_feasible(cm_rel[kept])
                        cache[key] = bad
                    if bad:
                        failing.append(int(jmask))
    out: list[tuple[int, ...]] = []
    for jmask in failing:
        incl_non = [nonover[b] for b in range(kk) if (jmask >> b) & 1]
        kept_cells = (cellmask & jmask) == 0
        out.append(tuple(sorted(incl_non + over)))
        # branch search over sets of overlapping pairs left out (SparseMSE's subsetsearch)
        n = len(over)
        candidates: list[tuple[int, ...]] = [(q,) for q in range(n)]
        pos = 0
        while pos < len(candidates):
            zs = candidates[pos]
            pos += 1
            rows = list(range(1 + t)) + [1 + t + q for q in range(n) if q not in zs]
            if _facial_no_mle(a[rows], obs, kept_cells):
                out.append(tuple(sorted(incl_non + [over[q] for q in range(n) if q not in zs])))
                candidates.extend((*zs, q) for q in range(max(zs) + 1, n))
    uniq = sorted(set(out), key=lambda m: (len(m), m))
    return ["+".join(names[k] for k in m) for m in uniq]


def _all_models_bruteforce(histories: CaptureHistories) -> list[str]:  # pragma: no cover - test oracle
    """Every subset of pairs, one LP each (SparseMSE's LP verbatim); for small tables in the tests."""
    cells, counts = histories.full_table()
    pairs = all_pairs(histories.n_lists)
    bad = []
    for r in range(len(pairs) + 1):
        for sub in itertools.combinations(range(len(pairs)), r):
            ierr, _ = ident_arrays(cells, counts, [pairs[k] for k in sub])
            if ierr & 1:
                bad.append(sub)
    return ["+".join(term_name(pairs[k], histories.lists) for k in m)
            for m in sorted(bad, key=lambda m: (len(m), m))]
