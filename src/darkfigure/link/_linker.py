"""The linkage pipeline: features → Splink (DuckDB) EM training and scoring → clusters → person ids."""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._provenance import Provenance, sha256_bytes
from ..exceptions import LinkageError, LinkageWarning, NotFittedError, OptionalDependencyError
from ..histories import CaptureHistories
from ._cluster import cluster_pairs, person_ids_from_labels
from ._features import FEATURE_COLUMNS, build_features, features_to_arrow
from ._settings import check_settings, load_settings

__all__ = ["RecordLinker", "histories_from_links", "score_sql"]

_FEATURES = [c for c in FEATURE_COLUMNS if c != "unique_id"]


def _import_splink() -> Any:
    try:
        import duckdb
        from splink import DuckDBAPI, Linker
    except ImportError:  # pragma: no cover - the link extra is part of the dev install
        raise OptionalDependencyError("splink", "link") from None
    return duckdb, DuckDBAPI, Linker


def score_sql(model: Mapping[str, Any]) -> str:
    """A SQL expression of the match weight of a pair under a trained Splink model.

    The expression reads the ``<col>_l`` / ``<col>_r`` columns the model's comparison levels use.  It is used
    to score pairs outside the blocks (the estimate of matches missed by blocking) with the same model.
    """
    lam = float(model["probability_two_random_records_match"])
    parts = [f"{math.log2(lam / (1.0 - lam))!r}"]
    for comp in model["comparisons"]:
        cases = []
        for lev in comp["comparison_levels"]:
            cond = lev["sql_condition"]
            if lev.get("is_null_level"):
                w = 0.0
            else:
                m, u = lev.get("m_probability"), lev.get("u_probability")
                w = 0.0 if m is None or u is None or m <= 0 or u <= 0 else math.log2(m / u)
            if cond.strip().upper() == "ELSE":
                cases.append(f"ELSE {w!r}")
            else:
                cases.append(f"WHEN coalesce(({cond}), false) THEN {w!r}")
        if not cases[-1].startswith("ELSE"):
            cases.append("ELSE 0.0")
        parts.append("(CASE " + " ".join(cases) + " END)")
    return " + ".join(parts)


def _rule_as_condition(rule: Mapping[str, Any]) -> str:
    """A blocking rule as a pair condition (exploded array equality becomes list_has_any)."""
    sql = str(rule["blocking_rule"])
    for col in rule.get("arrays_to_explode") or []:
        sql = re.sub(rf'l\."?{col}"?\s*=\s*r\."?{col}"?', f"list_has_any(l.{col}, r.{col})", sql)
    return f"coalesce(({sql}), false)"


class RecordLinker:
    """Probabilistic record linkage across organisations' lists (Fellegi–Sunter, EM, Splink on DuckDB).

    Parameters
    ----------
    settings : path, mapping or None
        User settings merged over ``default_settings.yaml`` (see :func:`load_settings`).
    threshold : float, optional
        Match probability at which records are linked (overrides the settings).
    decisions : DataFrame, optional
        Reviewer decisions: columns ``record_id_l``, ``record_id_r``, ``decision`` ("match"/"non-match");
        they override the model.

    Attributes
    ----------
    person_ids_ : dict
        record id → person id.
    match_weights_ : dict
        record id → the highest match weight among the links that put it in its cluster (linked records only).
    pairs_ : DataFrame
        Scored pairs kept (``unique_id_l``, ``unique_id_r``, ``match_weight``, ``match_probability``).
    model_ : dict
        The trained Splink model (settings with m and u probabilities), JSON-serialisable.
    diagnostics_ : dict
        The ``linkage.json`` keys of the results folder (see :meth:`diagnostics`).
    provenance_ : Provenance
        Input SHA-256 (of the record ids and sources only), seed, settings.

    Examples
    --------
    >>> import pandas as pd
    >>> recs = pd.DataFrame({"record_id": [f"r{i}" for i in range(4)], "source": ["a", "b", "a", "b"],
    ...     "name_hangul": ["김영희", None, "박순자", None],
    ...     "name_romanised": [None, "Kim Yong-hui", None, "Choe Kum-sil"],
    ...     "date_of_birth": ["1994-03", "1994", "1990", "1985"], "home_province": ["Ryanggang"] * 4})
    >>> lk = RecordLinker(settings={"darkfigure": {"training": {"em_blocking_rules": []}}}).fit(recs)
    >>> len(lk.person_ids_), lk.person_ids_["r2"] == lk.person_ids_["r3"]
    (4, False)
    >>> sorted(lk.diagnostics())[:3]
    ['cluster_sizes', 'clusters_resplit_by_guard', 'estimated_matches_in_blocks']
    """

    def __init__(
        self,
        settings: str | Path | Mapping[str, Any] | None = None,
        threshold: float | None = None,
        decisions: pd.DataFrame | None = None,
    ) -> None:
        self.settings = settings
        self.threshold = threshold
        self.decisions = decisions

    # ------------------------------------------------------------------ fit
    def fit(self, records: pd.DataFrame) -> RecordLinker:
        """Link ``records`` (the store's ``records_frame(identifying=True)`` or the same columns)."""
        t0 = time.perf_counter()
        s = load_settings(self.settings)
        if self.threshold is not None:
            s["darkfigure"]["threshold"] = float(self.threshold)
        check_settings(s)
        d = s["darkfigure"]
        if records.empty:
            raise LinkageError("no records to link")
        for col in ("record_id", "source"):
            if col not in records.columns:
                raise LinkageError(f"records need a '{col}' column")
        feats = build_features(records)
        ids = feats["unique_id"].tolist()
        self.settings_ = s
        self.threshold_ = float(d["threshold"])
        self.contradictions_: list[tuple[str, str]] = []
        pairs, n_compared, hist, model, missed, expected_found = self._run_splink(feats, s)
        must, cannot = self._decision_pairs()
        labels, stats = cluster_pairs(
            ids,
            pairs,
            self.threshold_,
            int(d["max_cluster_size"]),
            float(d["min_cluster_density"]),
            must,
            cannot,
            contradictions=self.contradictions_,
        )
        self.labels_ = labels
        self.person_ids_ = person_ids_from_labels(labels)
        self.pairs_ = pairs
        self.model_ = model
        linked = pairs[pairs["match_probability"] >= self.threshold_]
        same = [
            self.person_ids_[a] == self.person_ids_[b]
            for a, b in zip(linked["unique_id_l"], linked["unique_id_r"], strict=True)
        ]
        linked = linked[np.array(same, dtype=bool)] if len(linked) else linked
        mw: dict[str, float] = {}
        for col in ("unique_id_l", "unique_id_r"):
            best = linked.groupby(col)["match_weight"].max()
            for rid, w in best.items():
                mw[str(rid)] = max(mw.get(str(rid), -math.inf), float(w))
        self.match_weights_ = mw
        sizes = pd.Series(self.person_ids_).value_counts().value_counts().sort_index()
        per_source = feats["source"].value_counts().sort_index()
        n_persons = len(set(self.person_ids_.values()))
        self.diagnostics_ = {
            "n_records": len(ids),
            "n_persons": n_persons,
            "n_pairs_compared": int(n_compared),
            "match_weight_histogram": hist,
            "cluster_sizes": {str(int(k)): int(v) for k, v in sizes.items()},
            "estimated_missed_by_blocking": missed,
            "estimated_matches_in_blocks": expected_found,
            "threshold": self.threshold_,
            "per_source": {str(k): int(v) for k, v in per_source.items()},
            "n_links": len(linked),
            "review_decisions": {"match": len(must), "non_match": len(cannot)},
            "clusters_resplit_by_guard": stats["resplit_components"],
            "unresolved_non_match_decisions": stats["unresolved_cannot_link"],
            "seconds": round(time.perf_counter() - t0, 3),
        }
        # the input digest covers ids and sources only: identifying values never enter provenance
        digest = sha256_bytes(
            "\n".join(f"{a}\t{b}" for a, b in zip(feats["unique_id"], feats["source"], strict=True)).encode()
        )
        self.provenance_ = Provenance(
            input_sha256=digest, seed=int(d["seed"]), settings={"threshold": self.threshold_, "darkfigure": d}
        )
        if expected_found > 0 and missed > 0.05 * expected_found:
            warnings.warn(
                f"blocking may miss about {missed:.0f} true matches "
                f"({100 * missed / (missed + expected_found):.1f}% of them); consider more blocking rules",
                LinkageWarning,
                stacklevel=2,
            )
        return self

    def _decision_pairs(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        if self.decisions is None or len(self.decisions) == 0:
            return [], []
        must: list[tuple[str, str]] = []
        cannot: list[tuple[str, str]] = []
        for a, b, dec in zip(
            self.decisions["record_id_l"],
            self.decisions["record_id_r"],
            self.decisions["decision"],
            strict=True,
        ):
            (must if dec == "match" else cannot).append((str(a), str(b)))
        return must, cannot

    def _run_splink(
        self, feats: pd.DataFrame, s: Mapping[str, Any]
    ) -> tuple[pd.DataFrame, int, dict[str, list[float]], dict[str, Any], float, float]:
        duckdb, DuckDBAPI, Linker = _import_splink()
        d = s["darkfigure"]
        tr = d["training"]
        seed = int(d["seed"])
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")  # the CLI prints its own summary
        # a shared machine: DuckDB spills to disk rather than take most of the memory — into a private
        # temporary folder (mode 0700) removed afterwards, since spilled tables hold derived name keys
        spill = tempfile.mkdtemp(prefix="darkfigure-link-")
        con.execute(f"SET temp_directory = '{spill}'")
        con.execute(f"SET memory_limit = '{d.get('duckdb_memory_limit', '4GB')}'")
        # Splink logs progress at INFO; the CLI must stay quiet and never echo data
        logging.getLogger("splink").setLevel(logging.ERROR)
        try:
            table = features_to_arrow(feats)
            con.register("df_features_arrow", table)
            con.execute("CREATE TABLE df_features AS SELECT * FROM df_features_arrow")
            con.unregister("df_features_arrow")
            db = DuckDBAPI(connection=con)
            sdf = db.register("df_features", dataset_display_name="records")
            splink_settings = dict(s["splink"])
            n = len(feats)
            total_pairs = n * (n - 1) / 2
            splink_settings.setdefault(
                "probability_two_random_records_match", min(0.5, max(1e-9, 2.0 / max(n, 2)))
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                linker = Linker(sdf, splink_settings, log_level=None)
                # no deterministic match in tiny data: keep the prior 2/n
                with contextlib.suppress(Exception):
                    linker.training.estimate_probability_two_random_records_match(
                        list(tr["deterministic_rules"]), recall=float(tr["deterministic_recall"])
                    )
                max_pairs = float(min(float(tr["u_max_pairs"]), max(total_pairs, 1.0)))
                linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
                floor = float(tr.get("m_floor", 0.01))
                model = _smooth(linker.misc.save_model_to_json(), floor, max_m_else=tr.get("max_m_else"))
                for rule in tr["em_blocking_rules"]:
                    # each EM session starts from the smoothed model, so one degenerate session cannot
                    # poison the next
                    linker = Linker(sdf, model, log_level=None)
                    try:
                        linker.training.estimate_parameters_using_expectation_maximisation(rule)
                    except Exception as exc:
                        warnings.warn(
                            f"EM with blocking rule {rule!r} did not run ({type(exc).__name__})",
                            LinkageWarning,
                            stacklevel=4,
                        )
                        continue
                    model = _smooth(linker.misc.save_model_to_json(), floor, max_m_else=tr.get("max_m_else"))
                raw_u = copy.deepcopy(model)
                rounds = (
                    int(tr.get("u_decontamination_rounds", 2))
                    if tr.get("prior_from_predictions", True)
                    else 0
                )
                for r in range(rounds + 1):
                    linker = Linker(sdf, model, log_level=None)
                    pred = linker.inference.predict()
                    name = pred.physical_name
                    n_compared = int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
                    weights = np.asarray(
                        con.execute(f"SELECT match_weight FROM {name}").fetchnumpy()["match_weight"],
                        dtype=float,
                    )
                    lam0 = float(model["probability_two_random_records_match"])
                    shift = 0.0
                    # the prior is fixed once, from the first prediction: re-fixing it after lowering u
                    # would feed back (lower u → higher probabilities → higher prior → ...)
                    if r == 0 and tr.get("prior_from_predictions", True) and total_pairs > 0:
                        lam = _prior_fixed_point(weights, lam0, total_pairs)
                        shift = math.log2(lam / (1 - lam)) - math.log2(lam0 / (1 - lam0))
                        model["probability_two_random_records_match"] = lam
                    if r < rounds:
                        model = _decontaminate_u(
                            model, raw_u, float(model["probability_two_random_records_match"])
                        )
                        shift = 0.0
            weights = weights + shift
            hist = _histogram(weights)
            expected_found = float(np.sum(1.0 / (1.0 + np.exp2(-weights))))
            keep = float(min(d["keep_pairs_above"], d["review_band"][0], d["threshold"]))
            mw = f"(match_weight + {shift!r})"
            pairs = con.execute(
                f"SELECT unique_id_l, unique_id_r, {mw} AS match_weight, "
                f"1.0 / (1.0 + pow(2.0, -{mw})) AS match_probability FROM {name} "
                f"WHERE 1.0 / (1.0 + pow(2.0, -{mw})) >= {keep!r}"
            ).df()
            # pairs the model rejects (a chain A–B–C whose A–C is one is re-split by cluster_pairs); only
            # between records that some pair links at the threshold, the others cannot share a cluster
            # (reviewed matches aside), which keeps this list small on large inputs
            cb = float(d.get("contradiction_below", 0.0))
            if cb > 0:
                p_sql = f"1.0 / (1.0 + pow(2.0, -{mw}))"
                thr = float(d["threshold"])
                low = con.execute(
                    f"WITH linked AS (SELECT unique_id_l AS id FROM {name} WHERE {p_sql} >= {thr!r} "
                    f"UNION SELECT unique_id_r FROM {name} WHERE {p_sql} >= {thr!r}) "
                    f"SELECT unique_id_l, unique_id_r FROM {name} WHERE {p_sql} < {cb!r} "
                    "AND unique_id_l IN (SELECT id FROM linked) AND unique_id_r IN (SELECT id FROM linked)"
                ).fetchall()
                self.contradictions_ = [(str(a), str(b)) for a, b in low]
            missed = self._missed_by_blocking(con, model, s, n, n_compared, seed)
        finally:
            con.close()
            shutil.rmtree(spill, ignore_errors=True)
        pairs["unique_id_l"] = pairs["unique_id_l"].astype(str)
        pairs["unique_id_r"] = pairs["unique_id_r"].astype(str)
        return pairs, n_compared, hist, model, missed, expected_found

    @staticmethod
    def _missed_by_blocking(
        con: Any, model: Mapping[str, Any], s: Mapping[str, Any], n: int, n_compared: int, seed: int
    ) -> float:
        """Expected number of true matches among pairs that no blocking rule generates.

        Draws random pairs, keeps those outside every blocking rule, scores them with the trained model
        (:func:`score_sql`) and scales the mean match probability up to all pairs outside the blocks.
        """
        k = int(s["darkfigure"].get("missed_by_blocking_sample", 200_000))
        total = n * (n - 1) // 2
        outside = total - n_compared
        if n < 3 or outside <= 0 or k <= 0:
            return 0.0
        rng = np.random.default_rng(seed)
        k = int(min(k, total))
        i = rng.integers(0, n, size=k)
        j = rng.integers(0, n, size=k)
        m = i != j
        pairs = pd.DataFrame({"i": np.minimum(i[m], j[m]), "j": np.maximum(i[m], j[m])})
        con.register("df_sample_pairs", pairs)
        rules = s["splink"].get("blocking_rules_to_generate_predictions", [])
        in_blocks = (
            " OR ".join(
                _rule_as_condition(r if isinstance(r, Mapping) else {"blocking_rule": r}) for r in rules
            )
            or "false"
        )
        cols = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in _FEATURES)
        sql = (
            "WITH f AS (SELECT row_number() OVER (ORDER BY unique_id) - 1 AS rn, * FROM df_features), "
            "p AS (SELECT s.i, s.j FROM df_sample_pairs s), "
            f"x AS (SELECT {cols}, NOT ({in_blocks}) AS outside FROM p "
            "JOIN f l ON p.i = l.rn JOIN f r ON p.j = r.rn) "
            f"SELECT count(*) FILTER (WHERE outside) AS n_out, "
            "coalesce(sum(1.0 / (1.0 + pow(2.0, -("
            f"{score_sql(model)})))) FILTER (WHERE outside), 0) AS p_out "
            "FROM x"
        )
        n_out, p_out = con.execute(sql).fetchall()[0]
        con.unregister("df_sample_pairs")
        if not n_out:
            return 0.0
        return float(p_out) / float(n_out) * float(outside)

    # ------------------------------------------------------------------ views
    def _check(self) -> None:
        if not hasattr(self, "person_ids_"):
            raise NotFittedError("RecordLinker is not fitted: call fit(records) first")

    def diagnostics(self) -> dict[str, Any]:
        """The ``linkage.json`` content (results-folder contract keys plus a few more)."""
        self._check()
        return dict(self.diagnostics_)

    def review_pairs(self, band: Sequence[float] | None = None) -> pd.DataFrame:
        """Scored pairs whose match probability lies in ``band`` (default: the settings' review band)."""
        self._check()
        lo, hi = band if band is not None else self.settings_["darkfigure"]["review_band"]
        p = self.pairs_
        return p[(p["match_probability"] >= float(lo)) & (p["match_probability"] <= float(hi))].copy()

    def save(self, folder: str | Path) -> Path:
        """Write ``settings_used.yaml``, ``model.json`` (trained parameters), ``linkage.json`` and
        ``pairs.csv.gz`` (record ids and scores only) into ``folder``."""
        import json

        import yaml

        self._check()
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        (out / "settings_used.yaml").write_text(
            yaml.safe_dump(self.settings_, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        (out / "model.json").write_text(json.dumps(self.model_, indent=2, default=str), encoding="utf-8")
        diag = dict(self.diagnostics_)
        diag["provenance"] = self.provenance_.to_dict()
        (out / "linkage.json").write_text(json.dumps(diag, indent=2), encoding="utf-8")
        self.pairs_.to_csv(out / "pairs.csv.gz", index=False)
        return out


def _smooth(
    model: dict[str, Any], floor: float, u_floor: float = 1e-7, max_m_else: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """Keep every m probability at or above ``floor`` and every u at or above ``u_floor`` (renormalised);
    cap the m of the last ("different") level of the comparisons named in ``max_m_else``.

    The cap guards against EM settling on the wrong latent class: when many non-matching pairs share
    birth year, province and year of leaving, EM may call them "matches with different names".  Saying that
    at most ``max_m_else[name]`` of true matches have entirely different names keeps the classes apart.

    EM without labels can drive the m of a level to 0 when few matches disagree on a weak field (province,
    year of leaving): one disagreement would then veto a link however strong the name and birth evidence.
    A floor is a pseudo-count saying "true matches disagree here now and then" (data-entry errors).
    """
    # in tiny data the deterministic rules can claim every pair matches; the prior must stay a probability
    lam = float(model.get("probability_two_random_records_match") or 1e-4)
    model["probability_two_random_records_match"] = min(max(lam, 1e-9), 0.5)
    for comp in model["comparisons"]:
        levels = [lev for lev in comp["comparison_levels"] if not lev.get("is_null_level")]
        ms = [lev.get("m_probability") for lev in levels]
        if any(m is None or isinstance(m, str) for m in ms):
            ms = [m if isinstance(m, (int, float)) else 0.0 for m in ms]
        ms = [max(float(m), floor) for m in ms]
        cap = (max_m_else or {}).get(comp.get("output_column_name", ""))
        if cap is not None and len(ms) > 1:
            rest = sum(ms[:-1])
            ms[-1] = min(ms[-1] / sum(ms), float(cap))
            ms[:-1] = [m / rest * (1 - ms[-1]) for m in ms[:-1]]
        total = sum(ms)
        for lev, m in zip(levels, ms, strict=True):
            lev["m_probability"] = m / total
        # a level never seen among random pairs (u = 0) would make its weight infinite
        us = [lev.get("u_probability") for lev in levels]
        us = [max(float(u) if isinstance(u, (int, float)) else 0.0, u_floor) for u in us]
        total = sum(us)
        for lev, u in zip(levels, us, strict=True):
            lev["u_probability"] = u / total
    return model


def _decontaminate_u(model: dict[str, Any], raw: Mapping[str, Any], lam: float) -> dict[str, Any]:
    """u probabilities with the true matches among the random pairs taken out.

    The u of a level is estimated from random pairs, which include true matches in proportion ``lam``; for
    a level that matches almost always reach (the same name key) those matches are a large share of the
    agreements.  The count at a level is ``lam * m + (1 - lam) * u`` of the sample, so
    ``u = (u_raw - lam * m) / (1 - lam)``, kept at no less than a twentieth of ``u_raw``.
    """
    out = copy.deepcopy(model)
    for comp, comp_raw in zip(out["comparisons"], raw["comparisons"], strict=True):
        levels = [lev for lev in comp["comparison_levels"] if not lev.get("is_null_level")]
        raws = [lev for lev in comp_raw["comparison_levels"] if not lev.get("is_null_level")]
        us = []
        for lev, rl in zip(levels, raws, strict=True):
            u_raw, m = float(rl["u_probability"]), float(lev["m_probability"])
            us.append(max((u_raw - lam * m) / (1 - lam), u_raw / 20))
        total = sum(us)
        for lev, u in zip(levels, us, strict=True):
            lev["u_probability"] = u / total
    return out


def _prior_fixed_point(weights: np.ndarray, lam0: float, total_pairs: float, iters: int = 50) -> float:
    """The prior match probability consistent with the scored pairs.

    Deterministic rules give only a rough prior (their recall is a guess).  Given the trained m/u, the prior
    that agrees with the data satisfies ``lambda = sum_ij p_ij(lambda) / n_pairs`` over the compared pairs
    (pairs outside the blocks contribute little; their share is estimated separately).  Solved by fixed-point
    iteration on the log-odds shift of every pair's weight.
    """
    w = weights[np.isfinite(weights)]
    base = math.log2(lam0 / (1 - lam0))
    lam = lam0
    for _ in range(iters):
        shift = math.log2(lam / (1 - lam)) - base
        new = float(np.sum(1.0 / (1.0 + np.exp2(-(w + shift))))) / total_pairs
        new = min(max(new, 1e-12), 0.5)
        if abs(new - lam) <= 1e-6 * lam:
            lam = new
            break
        lam = new
    return lam


def _histogram(w: np.ndarray, bins: int = 40) -> dict[str, list[float]]:
    w = w[np.isfinite(w)]
    if len(w) == 0:
        return {"edges": [], "counts": []}
    lo, hi = math.floor(float(w.min())), math.ceil(float(w.max()))
    if hi <= lo:
        hi = lo + 1
    counts, edges = np.histogram(w, bins=bins, range=(lo, hi))
    return {"edges": [round(float(e), 4) for e in edges], "counts": [int(c) for c in counts]}


def _stratum_value(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, (list, tuple, np.ndarray)):
        return str(v[0]) if len(v) else None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NA:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    s = str(v).strip()
    return s or None


def histories_from_links(
    records: pd.DataFrame,
    person_ids: Mapping[str, str],
    strata: Iterable[str] | None = None,
    prefix: str = "in_",
    sources: Sequence[str] | None = None,
) -> CaptureHistories:
    """Capture histories from linked records: one person per person id, one list per source.

    Parameters
    ----------
    records : DataFrame
        ``record_id``, ``source`` and any stratum columns (no identifying column is needed).
    person_ids : mapping
        record id → person id; a record without one counts as a person of its own.
    strata : iterable of str, optional
        Columns whose value (the most common among a person's records; the first code of a list field)
        defines the stratum; several columns are joined with ``/``.  Unknown values become ``unknown``.
    prefix : str
        Prefix of the list columns (``in_<source>``).
    sources : sequence of str, optional
        List order (default: sorted source names).

    Examples
    --------
    >>> import pandas as pd
    >>> recs = pd.DataFrame({"record_id": ["a", "b", "c"], "source": ["x", "y", "y"]})
    >>> h = histories_from_links(recs, {"a": "P1", "b": "P1", "c": "P2"})
    >>> h.lists, h.count_of((1, 1)), h.count_of((0, 1))
    (('in_x', 'in_y'), 1, 1)
    """
    strata = list(strata or [])
    missing = [c for c in ["record_id", "source", *strata] if c not in records.columns]
    if missing:
        raise LinkageError(f"records lack column(s): {', '.join(missing)}")
    srcs = list(sources) if sources is not None else sorted(records["source"].astype(str).unique())
    if len(srcs) < 2:
        raise LinkageError("capture histories need records from at least 2 sources")
    pid = [person_ids.get(str(r), f"__single__{r}") for r in records["record_id"]]
    df = pd.DataFrame({"pid": pid, "source": records["source"].astype(str).to_numpy()})
    m = pd.crosstab(df["pid"], df["source"]).reindex(columns=srcs, fill_value=0)
    membership = (m.to_numpy() > 0).astype(np.int8)
    lists = [f"{prefix}{s}" for s in srcs]
    if not strata:
        return CaptureHistories.from_membership(membership, lists)
    labels: list[str] = []
    per_col = []
    for c in strata:
        vals = pd.DataFrame({"pid": pid, "v": [_stratum_value(v) for v in records[c].tolist()]}).dropna()
        mode = vals.groupby("pid")["v"].agg(
            lambda x: sorted(x.value_counts().loc[lambda y: y == y.max()].index)[0]
        )
        per_col.append(mode.reindex(m.index).fillna("unknown"))
    labels = ["/".join(t) for t in zip(*[pc.tolist() for pc in per_col], strict=True)]
    return CaptureHistories.from_membership(membership, lists, strata=labels, stratum_name="/".join(strata))
