"""How high can pairwise precision and recall go on the simulator's default scenario?  (issue 6)

Run by hand: ``.venv/bin/python benchmarks/link_ceiling.py [OUT_DIR] [--reuse]`` (default OUT_DIR
``bench-output``; writes ``OUT_DIR/link/ceiling/``).  ``--reuse`` reads the scored pairs of an earlier run
from ``ceiling/pairs.parquet`` instead of running the linker again (same code, same seed: same pairs).

The default scenario (``simulate(seed=1)``) is linked once by ``RecordLinker()``; every compared pair is then
re-scored through the linker's own blocking and comparison-vector SQL with the trained model (the linker
keeps only the pairs above ``keep_pairs_above``, and not their comparison levels), labelled from the truth,
and measured against ceilings:

1. Blocking: the share of true pairs compared at all, and what a perfect scorer of the compared pairs gives
   after transitive closure (a chain of compared true pairs links an uncompared one).
2. Oracles that know the truth but see only what the model sees: P(match | comparison pattern) counted from
   the true labels (saturated: every dependence between comparisons included), a gradient-boosted classifier
   on the same levels, and one that also sees record-level information the levels drop (name counts, the
   pair of lists).  All are cross-fitted over persons (5 folds): a pair is scored by a fit that saw no pair
   touching its left record's woman.  Patterns unseen in training fall back to the model's probability.
3. One-to-one assignment per pair of lists with the model's probabilities.
4. The stepwise log-linear estimate from every linkage, against the estimate from the true histories.

Printed and written as markdown tables (``ceiling/tables.md``) and JSON (``ceiling/results.json``).
"""

from __future__ import annotations

import os

# a shared 2-core machine: BLAS / OpenMP (scikit-learn's boosting) use at most two threads
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "2")

import itertools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

N_FOLDS = 5
FOLD_SEED = 20261128


# --------------------------------------------------------------------------------------------- data
def scenario(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str], int]:
    """The default scenario's records (read back through ``darkfigure.io`` as the benchmark does), truth."""
    from bench_link import records_and_truth

    from darkfigure.simulate import simulate

    sim = simulate(seed=1)
    sim_dir = out / "sim_default"
    sim.write(sim_dir)
    recs, truth = records_and_truth(sim_dir)
    sources = sorted(recs["source"].unique())
    return recs, truth[["record_id", "person"]], sources, int(sim.truth_summary()["N"])


def compared_pairs(recs: pd.DataFrame, model: dict[str, Any]) -> pd.DataFrame:
    """Every pair the trained model's blocking compares, with its comparison levels and match weight.

    The same Splink SQL as ``RecordLinker._score`` (blocked pairs → comparison vectors); weights from the
    final model by ``_pattern_weights``, i.e. what the linker scored.  The caller checks them against the
    linker's kept pairs.
    """
    import duckdb
    from splink import DuckDBAPI, Linker

    from darkfigure.link._features import build_features, features_to_arrow
    from darkfigure.link._linker import _pattern_weights, comparison_vectors

    feats = build_features(recs)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    con.register("df_features_arrow", features_to_arrow(feats))
    con.execute("CREATE TABLE df_features AS SELECT * FROM df_features_arrow")
    con.unregister("df_features_arrow")
    db = DuckDBAPI(connection=con)
    sdf = db.register("df_features", dataset_display_name="records")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv, _ = comparison_vectors(Linker(sdf, model, log_level=None))
    gcols = [f"gamma_{c['output_column_name']}" for c in model["comparisons"]]
    df = con.execute(f"SELECT unique_id_l, unique_id_r, {', '.join(gcols)} FROM {cv.physical_name}").df()
    con.close()
    df["unique_id_l"] = df["unique_id_l"].astype(str)
    df["unique_id_r"] = df["unique_id_r"].astype(str)
    # DuckDB returns the pairs in no fixed order; a fixed one makes ties (assignment, boosting's validation
    # split) fall the same way in every run
    df = df.sort_values(["unique_id_l", "unique_id_r"], ignore_index=True)
    gam = df[gcols].to_numpy(dtype=np.int64)
    df["match_weight"] = _pattern_weights(model, gam)
    df["p_model"] = 1.0 / (1.0 + np.exp2(-df["match_weight"].to_numpy()))
    # record-level information the comparison levels drop (for the richer oracle only)
    f = feats.set_index("unique_id")
    for side in ("l", "r"):
        ids = df[f"unique_id_{side}"]
        df[f"source_{side}"] = f["source"].reindex(ids).to_numpy()
        df[f"name_n_{side}"] = f["name_n"].reindex(ids).astype("float").to_numpy()
        df[f"pinyin_n_{side}"] = f["pinyin_n"].reindex(ids).astype("float").to_numpy()
    return df


# --------------------------------------------------------------------------------------------- scoring
def true_pair_set(truth: pd.DataFrame) -> set[tuple[str, str]]:
    """Every pair of records of one woman (as sorted id tuples)."""
    out: set[tuple[str, str]] = set()
    for _, g in truth.groupby("person")["record_id"]:
        out.update(tuple(sorted(x)) for x in itertools.combinations(g.tolist(), 2))
    return out


def pair_scores(prob: np.ndarray, label: np.ndarray, n_true: int, thr: float) -> dict[str, float]:
    """Pairwise precision / recall of linking the compared pairs at ``prob >= thr`` (no clustering);
    recall counts every true pair, compared or not."""
    sel = prob >= thr
    tp = int(label[sel].sum())
    return {"precision": tp / max(int(sel.sum()), 1), "recall": tp / n_true}


def best_f1(prob: np.ndarray, label: np.ndarray, n_true: int) -> dict[str, float]:
    """The threshold of the best pairwise F1 over the compared pairs (no clustering), and the best recall
    at precision ≥ 0.97 and precision at recall ≥ 0.97 over the thresholds (0 when out of reach)."""
    order = np.argsort(-prob, kind="stable")
    p_sorted, tp = prob[order], np.cumsum(label[order])
    # only the last pair of a run of tied probabilities is a reachable cut
    last = np.r_[p_sorted[1:] != p_sorted[:-1], True]
    k = np.arange(1, len(prob) + 1)[last]
    tp = tp[last]
    prec, rec = tp / k, tp / n_true
    f1 = 2 * prec * rec / np.maximum(prec + rec, 1e-12)
    i = int(np.argmax(f1))
    ok_p, ok_r = prec >= 0.97, rec >= 0.97
    return {
        "threshold": float(p_sorted[last][i]),
        "precision": float(prec[i]),
        "recall": float(rec[i]),
        "f1": float(f1[i]),
        "recall_at_precision_0.97": float(rec[ok_p].max()) if ok_p.any() else 0.0,
        "precision_at_recall_0.97": float(prec[ok_r].max()) if ok_r.any() else 0.0,
    }


def contradictions_of(pairs: pd.DataFrame, linked: np.ndarray, cut: float) -> list[tuple[str, str]]:
    """The linker's contradiction rule applied to another set of links: compared pairs the MODEL scores
    below ``cut`` whose two records the links put in one component (``RecordLinker`` computes the same for
    its own links at the threshold)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ids = pd.Index(pd.unique(np.r_[pairs["unique_id_l"].to_numpy(), pairs["unique_id_r"].to_numpy()]))
    a = ids.get_indexer(pairs["unique_id_l"])
    b = ids.get_indexer(pairs["unique_id_r"])
    g = coo_matrix((np.ones(int(linked.sum())), (a[linked], b[linked])), shape=(len(ids), len(ids)))
    comp = connected_components(g, directed=False)[1]
    low = (pairs["p_model"].to_numpy() < cut) & (comp[a] == comp[b])
    return list(zip(pairs["unique_id_l"].to_numpy()[low], pairs["unique_id_r"].to_numpy()[low], strict=True))


class Evaluator:
    """Clusters links the way the linker does and scores them against the truth and by the estimate."""

    def __init__(
        self,
        recs: pd.DataFrame,
        truth: pd.DataFrame,
        sources: list[str],
        pairs: pd.DataFrame,
        contradiction_below: float,
        max_cluster_size: int,
        min_cluster_density: float,
    ) -> None:
        self.recs, self.truth, self.sources, self.pairs = recs, truth, sources, pairs
        self.ids = recs["record_id"].tolist()
        self.cut, self.max_size, self.min_density = contradiction_below, max_cluster_size, min_cluster_density
        self._est_cache: dict[frozenset[tuple[str, ...]], dict[str, float]] = {}

    def cluster(
        self, prob: np.ndarray, thr: float, contradictions: Iterable[tuple[str, str]] | None = None
    ) -> dict[str, str]:
        """Person ids from linking the compared pairs at ``prob >= thr`` (with the chaining guards)."""
        from darkfigure.link import cluster_pairs
        from darkfigure.link._cluster import person_ids_from_labels

        if contradictions is None:
            contradictions = contradictions_of(self.pairs, prob >= thr, self.cut)
        keep = prob >= min(thr, 0.01)
        frame = pd.DataFrame(
            {
                "unique_id_l": self.pairs["unique_id_l"].to_numpy()[keep],
                "unique_id_r": self.pairs["unique_id_r"].to_numpy()[keep],
                "match_probability": prob[keep],
            }
        )
        lab, _ = cluster_pairs(
            self.ids, frame, thr, self.max_size, self.min_density, contradictions=contradictions
        )
        return person_ids_from_labels(lab)

    def score(self, pids: dict[str, str]) -> dict[str, float]:
        """Pairwise precision / recall (the benchmark's ``pairwise_scores``), persons seen and estimates."""
        from bench_link import _loglinear
        from synth import pairwise_scores

        from darkfigure.link import histories_from_links

        p, r = pairwise_scores(pids, self.truth)
        groups: dict[str, list[str]] = {}
        for rec, pid in pids.items():
            groups.setdefault(pid, []).append(rec)
        key = frozenset(tuple(sorted(g)) for g in groups.values())
        if key not in self._est_cache:
            h = histories_from_links(self.recs, pids, sources=self.sources)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._est_cache[key] = {
                    "persons": float(h.observed),
                    "stepwise": _loglinear(h),
                    "all_two_way": _loglinear(h, "none", "all"),
                }
        return {"precision": p, "recall": r, **self._est_cache[key]}


# --------------------------------------------------------------------------------------------- oracles
def person_folds(truth: pd.DataFrame) -> dict[str, int]:
    """A fold (0 … N_FOLDS − 1) per woman, at random."""
    persons = np.array(sorted(truth["person"].unique()))
    rng = np.random.default_rng(FOLD_SEED)
    folds = rng.permutation(len(persons)) % N_FOLDS
    return dict(zip(persons.tolist(), folds.tolist(), strict=True))


def cross_fit(
    pairs: pd.DataFrame,
    label: np.ndarray,
    fold_l: np.ndarray,
    fold_r: np.ndarray,
    fit_predict: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Out-of-fold P(match) for every pair.

    The pairs of fold k (the fold of the left record's woman) are scored by a fit on the pairs that touch
    no woman of fold k.  That training set holds about 80 % of the true pairs but 64 % of the false ones;
    sample weights restore the full set's proportion of matches, so the probabilities stay calibrated.
    ``fit_predict(train_mask, weights, test_mask)`` returns the probabilities of the test pairs.
    """
    out = np.full(len(pairs), np.nan)
    for k in range(N_FOLDS):
        train = (fold_l != k) & (fold_r != k)
        test = fold_l == k
        w_true = label.sum() / label[train].sum()
        w_false = (~label).sum() / (~label[train]).sum()
        weights = np.where(label[train], w_true, w_false)
        out[test] = fit_predict(train, weights, test)
    return out


def saturated_oracle(
    pairs: pd.DataFrame, label: np.ndarray, fold_l: np.ndarray, fold_r: np.ndarray, key_cols: list[str]
) -> tuple[np.ndarray, int, int]:
    """P(match | pattern of ``key_cols``) counted from the true labels, cross-fitted; unseen patterns take
    the model's probability.  Returns the probabilities, the number of patterns, the pairs that fell back."""
    code = pairs.groupby(key_cols, sort=False, dropna=False).ngroup().to_numpy()
    n_pat = int(code.max()) + 1
    p_model = pairs["p_model"].to_numpy()
    fallback = np.zeros(len(pairs), dtype=bool)

    def fit_predict(train: np.ndarray, weights: np.ndarray, test: np.ndarray) -> np.ndarray:
        m = np.bincount(code[train], weights=weights * label[train], minlength=n_pat)
        tot = np.bincount(code[train], weights=weights, minlength=n_pat)
        c = code[test]
        seen = tot[c] > 0
        fallback[np.flatnonzero(test)[~seen]] = True
        # rounded: patterns with the same counts must tie exactly whatever the order of summation
        return np.where(seen, np.round(m[c] / np.where(seen, tot[c], 1.0), 12), p_model[test])

    prob = cross_fit(pairs, label, fold_l, fold_r, fit_predict)
    return prob, n_pat, int(fallback.sum())


def in_sample_saturated(pairs: pd.DataFrame, label: np.ndarray, key_cols: list[str]) -> np.ndarray:
    """The share of matches among ALL pairs of each pattern (not cross-fitted).

    Optimistic: a pattern met once is "known" perfectly.  But on these pairs no function of the pattern
    ranks them better, so its precision / recall curve bounds that of every scorer of these levels here.
    """
    code = pairs.groupby(key_cols, sort=False, dropna=False).ngroup().to_numpy()
    m = np.bincount(code, weights=label.astype(float))
    tot = np.bincount(code)
    return (m / tot)[code]


def recall_bound(
    pairs: pd.DataFrame, label: np.ndarray, key_cols: list[str], n_true: int, p_min: float
) -> float:
    """The largest recall at precision ≥ ``p_min`` of any selection of these pairs by their pattern.

    A linear-programming bound: patterns may be taken in part (a randomised rule), so it is at least the
    best choice of whole patterns.  The optimum takes patterns in decreasing order of their share of
    matches, the last one in the part that brings precision down to ``p_min``.
    """
    code = pairs.groupby(key_cols, sort=False, dropna=False).ngroup().to_numpy()
    m = np.bincount(code, weights=label.astype(float))
    t = np.bincount(code).astype(float)
    order = np.argsort(-(m / t), kind="stable")
    m, t = m[order], t[order]
    cm, ct = np.r_[0.0, np.cumsum(m)], np.r_[0.0, np.cumsum(t)]
    best = 0.0
    for i in range(len(m)):
        if ct[i] > 0 and cm[i] / ct[i] < p_min:
            break
        deficit = p_min * t[i] - m[i]  # > 0 when the pattern's share is below p_min
        f = 1.0 if deficit <= 0 else min(1.0, (cm[i] - p_min * ct[i]) / deficit)
        best = max(best, (cm[i] + f * m[i]) / n_true)
    return best


def list_pair(pairs: pd.DataFrame) -> np.ndarray:
    """The pair of lists of each pair of records, in name order ("a×b")."""
    sl, sr = pairs["source_l"].to_numpy().astype(str), pairs["source_r"].to_numpy().astype(str)
    return np.where(sl <= sr, np.char.add(np.char.add(sl, "×"), sr), np.char.add(np.char.add(sr, "×"), sl))


def boosted_oracle(
    pairs: pd.DataFrame,
    label: np.ndarray,
    fold_l: np.ndarray,
    fold_r: np.ndarray,
    gcols: list[str],
    extra: bool,
) -> np.ndarray:
    """A gradient-boosted classifier (scikit-learn, a dev dependency) on the comparison levels — and, with
    ``extra``, on the records' name counts and the pair of lists — trained on the true labels, cross-fitted.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    cols = [pairs[g].to_numpy(dtype=np.int64) + 1 for g in gcols]  # levels −1 … k−1 as categories 0 … k
    categorical = [True] * len(cols)
    if extra:
        lists = sorted(set(pairs["source_l"]) | set(pairs["source_r"]))
        lo = np.minimum(pairs["source_l"].map(lists.index), pairs["source_r"].map(lists.index)).to_numpy()
        hi = np.maximum(pairs["source_l"].map(lists.index), pairs["source_r"].map(lists.index)).to_numpy()
        cols.append(lo * len(lists) + hi)
        categorical.append(True)
        for c in ("name_n", "pinyin_n"):
            a, b = pairs[f"{c}_l"].to_numpy(), pairs[f"{c}_r"].to_numpy()
            cols += [np.fmin(a, b), np.fmax(a, b)]  # NaN (no name) stays NaN: boosting routes it itself
            categorical += [False, False]
    x = np.column_stack(cols).astype(float)

    def fit_predict(train: np.ndarray, weights: np.ndarray, test: np.ndarray) -> np.ndarray:
        # regularised: with the library defaults (learning rate 0.1, 20 pairs per leaf, no L2) the held-out
        # log loss on fold 0 was 0.0066, worse than the EM model's 0.0031; these settings gave 0.0023
        clf = HistGradientBoostingClassifier(
            categorical_features=np.array(categorical),
            max_iter=500,
            learning_rate=0.05,
            min_samples_leaf=200,
            l2_regularization=1.0,
            random_state=0,
        )
        clf.fit(x[train], label[train], sample_weight=weights)
        return clf.predict_proba(x[test])[:, 1]

    return cross_fit(pairs, label, fold_l, fold_r, fit_predict)


# --------------------------------------------------------------------------------------------- assignment
def one_to_one(pairs: pd.DataFrame, lo: float, prob: np.ndarray | None = None) -> np.ndarray:
    """Pairs chosen by a maximum-weight one-to-one assignment per pair of lists (mask over ``pairs``).

    Candidates: pairs of records on two different lists with probability above ``lo`` (the model's, or
    ``prob``).  Each record
    takes part once per other list (a woman is on a list once, up to the list's own duplicates, which are
    left to the threshold).  The weight of a candidate is its log-odds above ``logit(lo)`` (all positive:
    the assignment links as many candidates as it can, preferring the likeliest); non-candidates weigh 0 and
    are dropped afterwards, so the result is a maximum-weight matching.  Solved per connected component of
    the bipartite candidate graph.
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    sl, sr = pairs["source_l"].to_numpy(), pairs["source_r"].to_numpy()
    if prob is None:
        w = pairs["match_weight"].to_numpy() - math.log2(lo / (1.0 - lo))
        prob = pairs["p_model"].to_numpy()
    else:
        # an oracle's probabilities reach 0 and 1: bounded log-odds keep the weights finite
        q = np.clip(prob, 1e-9, 1 - 1e-9)
        w = np.log2(q / (1 - q)) - math.log2(lo / (1.0 - lo))
    cand = np.flatnonzero((sl != sr) & (prob > lo))
    # a node is (record, the other list): record a's A×B and A×C assignments are separate problems
    left = pairs["unique_id_l"].to_numpy()[cand].astype(object) + "|" + sr[cand].astype(object)
    right = pairs["unique_id_r"].to_numpy()[cand].astype(object) + "|" + sl[cand].astype(object)
    nodes = pd.Index(pd.unique(np.r_[left, right]))
    a, b = nodes.get_indexer(left), nodes.get_indexer(right)
    g = coo_matrix((np.ones(len(cand)), (a, b)), shape=(len(nodes), len(nodes)))
    comp = connected_components(g, directed=False)[1]
    chosen = np.zeros(len(pairs), dtype=bool)
    ec = comp[a]
    order = np.argsort(ec, kind="stable")
    bounds = np.flatnonzero(np.r_[True, ec[order][1:] != ec[order][:-1], True])
    for s, e in itertools.pairwise(bounds):
        idx = order[s:e]
        if len(idx) == 1:
            chosen[cand[idx[0]]] = True
            continue
        # orient each edge by list name, so both sides of the matrix are one list each
        ea, eb = a[idx], b[idx]
        flip = sl[cand[idx]] > sr[cand[idx]]
        ea, eb = np.where(flip, eb, ea), np.where(flip, ea, eb)
        ra, rb = np.unique(ea, return_inverse=True), np.unique(eb, return_inverse=True)
        mat = np.zeros((len(ra[0]), len(rb[0])))
        mat[ra[1], rb[1]] = w[cand[idx]]
        rows, cols = linear_sum_assignment(mat, maximize=True)
        pos = {(int(i), int(j)): k for k, (i, j) in enumerate(zip(ra[1], rb[1], strict=True))}
        for i, j in zip(rows, cols, strict=True):
            k = pos.get((int(i), int(j)))
            if k is not None:
                chosen[cand[idx[k]]] = True
    return chosen


# --------------------------------------------------------------------------------------------- tables
def fmt(x: float, nd: int = 3) -> str:
    return f"{x:.{nd}f}"


def est(x: float, ref: float) -> str:
    return f"{x:,.0f} ({100 * (x / ref - 1):+.1f} %)"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- main
def main(out_dir: Path, reuse: bool) -> None:
    out = out_dir / "link" / "ceiling"
    out.mkdir(parents=True, exist_ok=True)
    t_start, cpu_start = time.perf_counter(), time.process_time()
    recs, truth, sources, n_true_pop = scenario(out)
    cache = out / "pairs.parquet"
    meta_file = out / "linker.json"
    res: dict[str, Any] = {
        "command": "python benchmarks/link_ceiling.py",
        "load_average_start": os.getloadavg(),
    }
    if reuse and cache.exists() and meta_file.exists():
        pairs = pd.read_parquet(cache)
        meta = json.loads(meta_file.read_text())
    else:
        from darkfigure.link import RecordLinker

        t0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lk = RecordLinker().fit(recs)
        res["linker_seconds"] = {
            "wall": time.perf_counter() - t0,
            "cpu_main_process": time.process_time() - c0,
        }
        pairs = compared_pairs(recs, lk.model_)
        # the re-scored pairs must be the linker's: same pairs above the kept floor, same weights
        kept = lk.pairs_.merge(
            pairs[["unique_id_l", "unique_id_r", "match_weight"]],
            on=["unique_id_l", "unique_id_r"],
            how="left",
            suffixes=("", "_re"),
        )
        if kept["match_weight_re"].isna().any() or not np.allclose(
            kept["match_weight"], kept["match_weight_re"]
        ):
            raise RuntimeError("re-scored pairs differ from the linker's kept pairs")
        if len(pairs) != lk.diagnostics_["n_pairs_compared"]:
            raise RuntimeError("re-scored pair count differs from the linker's")
        d = lk.settings_["darkfigure"]
        meta = {
            "person_ids": lk.person_ids_,
            "contradictions": lk.contradictions_,
            "threshold": lk.threshold_,
            "contradiction_below": float(d["contradiction_below"]),
            "max_cluster_size": int(d["max_cluster_size"]),
            "min_cluster_density": float(d["min_cluster_density"]),
            "gcols": [f"gamma_{c['output_column_name']}" for c in lk.model_["comparisons"]],
        }
        pairs.to_parquet(cache)
        meta_file.write_text(json.dumps(meta))
    gcols: list[str] = meta["gcols"]
    thr = float(meta["threshold"])
    person = dict(zip(truth["record_id"], truth["person"], strict=True))
    pl = pairs["unique_id_l"].map(person).to_numpy()
    pr = pairs["unique_id_r"].map(person).to_numpy()
    label = pl == pr
    true_pairs = true_pair_set(truth)
    n_true = len(true_pairs)
    ev = Evaluator(
        recs,
        truth,
        sources,
        pairs,
        meta["contradiction_below"],
        meta["max_cluster_size"],
        meta["min_cluster_density"],
    )
    truth_ids = dict(zip(truth["record_id"], truth["person"], strict=True))
    ref = ev.score({r: str(p) for r, p in truth_ids.items()})
    ref_est = ref["stepwise"]
    p_model = pairs["p_model"].to_numpy()
    md: list[str] = [
        f"Records {len(recs):,}; women {n_true_pop:,}; true pairs {n_true:,}; pairs compared "
        f"{len(pairs):,}; true histories: {ref['persons']:,.0f} persons, stepwise "
        f"{ref_est:,.0f}, all two-way {ref['all_two_way']:,.0f}."
    ]

    # ---- the linker itself (its own clusters) and a check that the re-clustering reproduces them
    model_own = ev.score(meta["person_ids"])
    model_re = ev.score(ev.cluster(p_model, thr))
    res["linker"] = {"own": model_own, "reclustered": model_re}

    # ---- 1. blocking ceiling
    n_compared_true = int(label.sum())
    perfect = ev.cluster(label.astype(float), 0.5, contradictions=())
    perfect_s = ev.score(perfect)
    res["blocking"] = {
        "true_pairs": n_true,
        "true_pairs_compared": n_compared_true,
        "perfect_scorer_clustered": perfect_s,
    }
    rows1 = [
        [
            "true pairs compared (recall bound of any scorer, pairwise)",
            f"{n_compared_true:,} / {n_true:,}",
            fmt(n_compared_true / n_true, 4),
            "1",
            "",
            "",
        ],
        [
            "perfect scorer of the compared pairs, clustered (transitive closure, guards)",
            "",
            fmt(perfect_s["recall"], 4),
            fmt(perfect_s["precision"], 4),
            f"{perfect_s['persons']:,.0f}",
            est(perfect_s["stepwise"], ref_est),
        ],
        [
            f"the linker at {thr} (its own clusters)",
            "",
            fmt(model_own["recall"]),
            fmt(model_own["precision"]),
            f"{model_own['persons']:,.0f}",
            est(model_own["stepwise"], ref_est),
        ],
    ]
    md.append(
        "### 1. Blocking ceiling\n\n"
        + table(
            ["", "count", "recall", "precision", "persons", "stepwise estimate (vs true histories)"], rows1
        )
    )

    # ---- 2. oracles
    folds = person_folds(truth)
    fold_l = pd.Series(pl).map(folds).to_numpy()
    fold_r = pd.Series(pr).map(folds).to_numpy()
    oracles: dict[str, np.ndarray] = {"model (EM, no labels)": p_model}
    t0 = time.process_time()
    sat, n_pat, n_fb = saturated_oracle(pairs, label, fold_l, fold_r, gcols)
    oracles["saturated oracle (levels)"] = sat
    with_lists = pairs.assign(lists=list_pair(pairs))
    sat2, n_pat2, n_fb2 = saturated_oracle(with_lists, label, fold_l, fold_r, [*gcols, "lists"])
    oracles["saturated oracle (levels × pair of lists)"] = sat2
    res["saturated"] = {
        "patterns": n_pat,
        "pairs_fallback": n_fb,
        "patterns_with_lists": n_pat2,
        "pairs_fallback_with_lists": n_fb2,
        "cpu_seconds": time.process_time() - t0,
    }
    t0 = time.process_time()
    oracles["boosted oracle (levels)"] = boosted_oracle(pairs, label, fold_l, fold_r, gcols, extra=False)
    oracles["boosted oracle (levels + name counts + pair of lists)"] = boosted_oracle(
        pairs, label, fold_l, fold_r, gcols, extra=True
    )
    res["boosted_cpu_seconds"] = time.process_time() - t0
    insample = in_sample_saturated(pairs, label, gcols)
    oracles["saturated, in-sample: optimistic bound (levels)"] = insample
    oracles["saturated, in-sample: optimistic bound (levels × pair of lists)"] = in_sample_saturated(
        with_lists, label, [*gcols, "lists"]
    )
    # the Bayes error of the levels on these pairs: true pairs whose pattern is mostly non-matches, and the
    # reverse — no scorer of these levels links the first without also linking as many non-matches
    bayes: dict[str, float] = {
        "true_pairs_in_mostly_false_patterns": int((label & (insample < 0.5)).sum()),
        "false_pairs_in_mostly_true_patterns": int((~label & (insample >= 0.5)).sum()),
        "true_pairs_in_patterns_with_any_false": int((label & (insample < 1.0)).sum()),
    }
    bayes["recall_bound_at_precision_0.97"] = recall_bound(pairs, label, gcols, n_true, 0.97)
    bayes["recall_bound_at_precision_0.97_with_lists"] = recall_bound(
        with_lists, label, [*gcols, "lists"], n_true, 0.97
    )
    res["bayes_error_levels"] = bayes
    rows2a, rows2b = [], []
    res["oracles"] = {}
    for name, prob in oracles.items():
        at = pair_scores(prob, label, n_true, 0.5)
        bf = best_f1(prob, label, n_true)
        cl_lk = ev.score(ev.cluster(prob, 0.5, contradictions=meta["contradictions"]))
        cl_re = ev.score(ev.cluster(prob, 0.5))
        cl_bf = ev.score(ev.cluster(prob, bf["threshold"]))
        # calibration check: how many true pairs the scorer expects among the compared pairs
        res["oracles"][name] = {
            "pairs_at_0.5": at,
            "best_f1_pairs": bf,
            "clustered_0.5_linker_contradictions": cl_lk,
            "clustered_0.5": cl_re,
            "clustered_best_f1_threshold": cl_bf,
            "expected_true_pairs": float(prob.sum()),
        }
        rows2a.append(
            [
                name,
                fmt(at["precision"]),
                fmt(at["recall"]),
                f"{fmt(bf['precision'])} / {fmt(bf['recall'])} (F1 {fmt(bf['f1'])} at {bf['threshold']:.3g})",
                fmt(bf["recall_at_precision_0.97"]),
                fmt(bf["precision_at_recall_0.97"]),
                f"{prob.sum():,.0f}",
            ]
        )
        rows2b.append(
            [
                name,
                f"{fmt(cl_lk['precision'])} / {fmt(cl_lk['recall'])}",
                est(cl_lk["stepwise"], ref_est),
                f"{fmt(cl_re['precision'])} / {fmt(cl_re['recall'])}",
                est(cl_re["stepwise"], ref_est),
                f"{fmt(cl_bf['precision'])} / {fmt(cl_bf['recall'])}",
                est(cl_bf["stepwise"], ref_est),
            ]
        )
    md.append(
        "### 2. Oracles (cross-fitted over women, 5 folds)\n\n"
        f"Saturated: {n_pat:,} distinct comparison patterns ({n_fb:,} pairs fell back to the model's "
        f"probability); with the pair of lists {n_pat2:,} patterns ({n_fb2:,} fell back).\n\n"
        "On the compared pairs, no clustering (recall over all true pairs):\n\n"
        + table(
            [
                "scorer",
                "precision at 0.5",
                "recall at 0.5",
                "best F1 point: P / R",
                "best R at P ≥ 0.97",
                "best P at R ≥ 0.97",
                "sum of P(match)",
            ],
            rows2a,
        )
        + "\n\nAfter clustering (`cluster_pairs`, guards as the linker; pairwise over clusters, the "
        "benchmark's `pairwise_scores`):\n\n"
        + table(
            [
                "scorer",
                "0.5, linker's contradictions: P / R",
                "stepwise",
                "0.5, contradictions of these links: P / R",
                "stepwise",
                "best-F1 threshold: P / R",
                "stepwise",
            ],
            rows2b,
        )
    )

    # ---- 3. one-to-one assignment per pair of lists (the model's probabilities; an oracle's for comparison)
    rows3 = []
    res["assignment"] = {}
    base = ev.score(ev.cluster(p_model, thr))
    at = pair_scores(p_model, label, n_true, thr)
    rows3.append(
        [
            "model",
            f"(threshold {thr} only)",
            "0",
            fmt(at["precision"]),
            fmt(at["recall"]),
            fmt(base["precision"]),
            fmt(base["recall"]),
            f"{base['persons']:,.0f}",
            est(base["stepwise"], ref_est),
            est(base["all_two_way"], ref["all_two_way"]),
        ]
    )
    scorers = {"model": p_model, "boosted oracle (levels)": oracles["boosted oracle (levels)"]}
    for sname, sprob in scorers.items():
        res["assignment"][sname] = {}
        for lo in (0.1, 0.2, 0.3):
            t0 = time.process_time()
            chosen = one_to_one(pairs, lo, None if sname == "model" else sprob)
            below = chosen & (sprob < thr)
            linked = (sprob >= thr) | chosen
            # assigned pairs below the threshold enter the clustering at the threshold: linked, and the
            # first links a guard drops when it re-splits a cluster
            prob = np.where(below, thr, sprob)
            s = ev.score(ev.cluster(prob, thr))
            tp = int(label[linked].sum())
            res["assignment"][sname][str(lo)] = {
                **s,
                "pairs_added": int(below.sum()),
                "pairs_added_true": int(label[below].sum()),
                "pairs_precision": tp / linked.sum(),
                "pairs_recall": tp / n_true,
                "cpu_seconds": time.process_time() - t0,
            }
            rows3.append(
                [
                    sname,
                    str(lo),
                    f"{int(below.sum()):,} ({int(label[below].sum()):,} true)",
                    fmt(tp / linked.sum()),
                    fmt(tp / n_true),
                    fmt(s["precision"]),
                    fmt(s["recall"]),
                    f"{s['persons']:,.0f}",
                    est(s["stepwise"], ref_est),
                    est(s["all_two_way"], ref["all_two_way"]),
                ]
            )
    md.append(
        "### 3. One-to-one assignment per pair of lists\n\n"
        + table(
            [
                "probabilities",
                "lo",
                "pairs added below 0.5",
                "pairs: P",
                "pairs: R",
                "clustered: P",
                "clustered: R",
                "persons",
                "stepwise",
                "all two-way",
            ],
            rows3,
        )
    )

    # ---- where the true pairs are lost, by pair of lists (pairs at 0.5, before clustering)
    lp_all = pd.Series(list_pair(pairs))
    true_lp = pd.Series(
        ["×".join(sorted((a.split("::")[0], b.split("::")[0]))) for a, b in true_pairs]
    ).value_counts()
    rows5 = []
    boosted = oracles["boosted oracle (levels)"]
    res["by_list_pair"] = {}
    for lp_name, n_lp in true_lp.items():
        m = (lp_all == lp_name).to_numpy()
        lab = label & m
        r = {
            "true_pairs": int(n_lp),
            "compared": int(lab.sum()),
            "model": int((lab & (p_model >= 0.5)).sum()),
            "boosted": int((lab & (boosted >= 0.5)).sum()),
            "in_sample": int((lab & (insample >= 0.5)).sum()),
            "boosted_false_links": int((~label & m & (boosted >= 0.5)).sum()),
        }
        res["by_list_pair"][str(lp_name)] = r
        rows5.append(
            [
                str(lp_name),
                f"{r['true_pairs']:,}",
                fmt(r["compared"] / n_lp),
                fmt(r["model"] / n_lp),
                fmt(r["boosted"] / n_lp),
                fmt(r["in_sample"] / n_lp),
                f"{r['boosted_false_links']:,}",
            ]
        )
    missed = {k: v["true_pairs"] - v["in_sample"] for k, v in res["by_list_pair"].items()}
    res["in_sample_bound_missed"] = {
        "total": sum(missed.values()),
        "involving_deportation_record": sum(v for k, v in missed.items() if "deportation_record" in k),
    }
    md.append(
        "### Where the true pairs are lost (pairs at 0.5, before clustering; recall within each pair of "
        "lists)\n\n"
        f"Bayes error of the levels (in-sample patterns): {bayes['true_pairs_in_mostly_false_patterns']:,} "
        "compared true pairs have a pattern shared mostly by non-matches, "
        f"{bayes['false_pairs_in_mostly_true_patterns']:,} false pairs one shared mostly by matches; "
        f"{bayes['true_pairs_in_patterns_with_any_false']:,} of the {n_compared_true:,} compared true pairs "
        "share their pattern with at least one non-match.  No selection of pairs by their pattern (even in "
        "part) has recall above "
        f"{bayes['recall_bound_at_precision_0.97']:.3f} at precision ≥ 0.97 "
        f"({bayes['recall_bound_at_precision_0.97_with_lists']:.3f} by pattern × pair of lists).  "
        "The in-sample bound misses "
        f"{res['in_sample_bound_missed']['total']:,} true pairs (uncompared or in a mostly-false pattern), "
        f"{res['in_sample_bound_missed']['involving_deportation_record']:,} of them with a deportation "
        "record.\n\n"
        + table(
            [
                "pair of lists",
                "true pairs",
                "compared",
                "model",
                "boosted oracle",
                "in-sample bound",
                "boosted oracle's false links",
            ],
            rows5,
        )
    )

    # ---- 4. the estimate from each linkage
    rows4 = [
        ["true histories", "1 / 1", f"{ref['persons']:,.0f}", f"{ref_est:,.0f}", f"{ref['all_two_way']:,.0f}"]
    ]

    def row4(name: str, s: dict[str, float]) -> list[str]:
        return [
            name,
            f"{fmt(s['precision'])} / {fmt(s['recall'])}",
            f"{s['persons']:,.0f}",
            est(s["stepwise"], ref_est),
            est(s["all_two_way"], ref["all_two_way"]),
        ]

    rows4.append(row4("perfect scorer of the compared pairs (blocking only)", perfect_s))
    rows4.append(row4(f"the linker at {thr}", model_own))
    for name in oracles:
        rows4.append(row4(f"{name} at 0.5, clustered", res["oracles"][name]["clustered_0.5"]))
    for sname, by_lo in res["assignment"].items():
        for lo, r in by_lo.items():
            rows4.append(row4(f"{sname}: one-to-one per pair of lists, lo {lo}", r))
    md.append(
        "### 4. Stepwise estimate from each linkage (target: within 5 % of the true histories')\n\n"
        + table(["linkage", "P / R (clustered)", "persons", "stepwise", "all two-way"], rows4)
    )

    res["reference_true_histories"] = ref
    res["linker_reclustered_check"] = {"own": model_own, "reclustered": model_re}
    res["load_average_end"] = os.getloadavg()
    res["seconds"] = {
        "wall": time.perf_counter() - t_start,
        "cpu_main_process": time.process_time() - cpu_start,
    }
    md.append(
        f"Linker check: own clusters P {model_own['precision']:.4f} / R {model_own['recall']:.4f}; "
        f"re-clustered here P {model_re['precision']:.4f} / R {model_re['recall']:.4f}.  Load average at "
        f"start {res['load_average_start'][0]:.2f}, at end {res['load_average_end'][0]:.2f}; "
        f"{res['seconds']['wall']:.0f} s wall, {res['seconds']['cpu_main_process']:.0f} s CPU."
    )
    text = "\n\n".join(md) + "\n"
    (out / "tables.md").write_text(text)
    (out / "results.json").write_text(json.dumps(res, indent=2, default=str))
    print(text, flush=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0]) if args else HERE.parent / "bench-output", reuse="--reuse" in sys.argv[1:])
