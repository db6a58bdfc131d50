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
from collections.abc import Iterable, Iterator, Mapping, Sequence
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
_log = logging.getLogger("darkfigure.link")


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


@contextlib.contextmanager
def _stage(times: dict[str, float], name: str) -> Iterator[None]:
    """Add the wall time of the block to ``times[name]`` (the per-stage timings of a fit)."""
    t0 = time.perf_counter()
    _log.info("linkage stage %s started", name)
    try:
        yield
    finally:
        times[name] = round(times.get(name, 0.0) + time.perf_counter() - t0, 3)
        # stage names and times only: nothing about the records reaches the log
        _log.info("linkage stage %s: %.1f s", name, time.perf_counter() - t0)


_EQUI = re.compile(r'^\s*l\."?(\w+)"?\s*=\s*r\."?(\w+)"?\s*$', re.IGNORECASE)


def _count_equi_join_pairs(con: Any, table: str, rule: Any) -> int | None:
    """Pairs a dedupe blocking rule made only of ``l.x = r.x`` terms joined by AND generates (exact, from
    group counts, without forming the pairs); None for any other rule (its size is not known cheaply)."""
    if not isinstance(rule, str):
        return None
    cols = []
    for term in re.split(r"\s+AND\s+", rule.strip(), flags=re.IGNORECASE):
        m = _EQUI.match(term)
        if not m or m.group(1) != m.group(2):
            return None
        cols.append(m.group(1))
    keys = ", ".join(f'"{c}"' for c in cols)
    nonnull = " AND ".join(f'"{c}" IS NOT NULL' for c in cols)
    try:
        res = con.execute(
            f"SELECT coalesce(sum(c * (c - 1) // 2), 0) FROM "
            f"(SELECT count(*) AS c FROM {table} WHERE {nonnull} GROUP BY {keys})"
        ).fetchall()[0][0]
    except Exception:  # a column that is not a feature (a user rule on an expression): size unknown
        return None
    return int(res)


def _components_of(ids: pd.Series, pairs: pd.DataFrame, must_link: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Connected components of the records under the kept pairs and reviewed matches (``id``, ``component``
    columns)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    index = pd.Index(ids.astype(str))
    left = [str(a) for a, _ in must_link]
    right = [str(b) for _, b in must_link]
    a = index.get_indexer(pd.concat([pairs["unique_id_l"].astype(str), pd.Series(left, dtype=object)]))
    b = index.get_indexer(pd.concat([pairs["unique_id_r"].astype(str), pd.Series(right, dtype=object)]))
    ok = (a >= 0) & (b >= 0)
    n = len(index)
    g = coo_matrix((np.ones(int(ok.sum()), dtype=np.int8), (a[ok], b[ok])), shape=(n, n))
    labels = connected_components(g, directed=False)[1] if n else np.zeros(0, dtype=np.int64)
    return pd.DataFrame({"id": index.to_numpy(dtype=object), "component": labels.astype(np.int64)})


def _uses_tf(model: Mapping[str, Any]) -> bool:
    """True if a comparison level of the model has a term-frequency adjustment."""
    return any(
        lev.get("tf_adjustment_column") for c in model["comparisons"] for lev in c["comparison_levels"]
    )


def _pattern_weights(model: Mapping[str, Any], gammas: np.ndarray) -> np.ndarray:
    """Match weights of comparison patterns (one row of comparison-vector values per pattern).

    Splink numbers the non-null levels of a comparison from ``k - 1`` (the first) down to 0 (the last)
    and the null level -1, whose Bayes factor is 1; the weight is the prior log-odds plus the log2 Bayes
    factors of the levels reached.
    """
    lam = float(model["probability_two_random_records_match"])
    w = np.full(len(gammas), math.log2(lam / (1.0 - lam)))
    for j, comp in enumerate(model["comparisons"]):
        levels = [lev for lev in comp["comparison_levels"] if not lev.get("is_null_level")]
        k = len(levels)
        table = np.zeros(k + 1)  # index g + 1: position 0 is the null level (-1)
        for i, lev in enumerate(levels):
            m, u = float(lev["m_probability"]), float(lev["u_probability"])
            table[(k - 1 - i) + 1] = (
                math.log2(m / u) if m > 0 and u > 0 else (-math.inf if m <= 0 else math.inf)
            )
        w = w + table[gammas[:, j] + 1]
    return w


def comparison_vectors(linker: Any) -> tuple[Any, Any]:
    """Every blocked pair with its comparison levels (``gamma_*``), and the blocked pairs, as Splink
    dataframes (the caller drops both tables when done).

    Splink's own blocking and comparison-vector SQL, what ``predict()`` runs before adding the weights;
    the linker scores these itself, and ``benchmarks/link_ceiling.py`` labels them.
    """
    from splink.internals.comparison_vector_values import (
        compute_comparison_vector_values_from_id_pairs_sqls,
    )
    from splink.internals.pipeline import CTEPipeline
    from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

    so = linker._settings_obj
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    pipeline = CTEPipeline([blocked])
    enqueue_df_concat_with_tf(linker, pipeline)
    pipeline.enqueue_list_of_sqls(
        compute_comparison_vector_values_from_id_pairs_sqls(
            so._columns_to_select_for_blocking,
            so._columns_to_select_for_comparison_vector_values,
            input_tablename_l="__splink__df_concat_with_tf",
            input_tablename_r="__splink__df_concat_with_tf",
            source_dataset_input_column=so.column_info_settings.source_dataset_input_column,
            unique_id_input_column=so.column_info_settings.unique_id_input_column,
            link_type=so._link_type,
            sql_dialect_str=linker._sql_dialect_str,
        )
    )
    return linker._db_api.sql_pipeline_to_splink_dataframe(pipeline), blocked


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
    ['cluster_sizes', 'clusters_resplit_by_guard', 'em_pair_sample_share']
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
        t_feat = time.perf_counter()
        feats = build_features(records)
        ids = feats["unique_id"].tolist()
        self.settings_ = s
        self.threshold_ = float(d["threshold"])
        self.contradictions_: list[tuple[str, str]] = []
        self.stage_seconds_: dict[str, float] = {"features": round(time.perf_counter() - t_feat, 3)}
        pairs, n_compared, hist, model, missed, expected_found = self._run_splink(feats, s)
        must, cannot = self._decision_pairs()
        t_cl = time.perf_counter()
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
        pid = pd.Series(self.person_ids_)
        same = pid.reindex(linked["unique_id_l"]).to_numpy() == pid.reindex(linked["unique_id_r"]).to_numpy()
        linked = linked[same]
        best = pd.concat(
            [
                linked.groupby("unique_id_l")["match_weight"].max(),
                linked.groupby("unique_id_r")["match_weight"].max(),
            ]
        )
        best = best.groupby(level=0).max()
        self.match_weights_ = {str(k): float(v) for k, v in best.items()}
        self.stage_seconds_["cluster"] = round(time.perf_counter() - t_cl, 3)
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
            # wall time of each stage, and the share of each EM blocking rule's pairs that EM read
            # (below 1 when the rule's pairs exceed training.em_max_pairs)
            "stage_seconds": dict(self.stage_seconds_),
            "em_pair_sample_share": dict(self.em_sampling_),
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
        times = self.stage_seconds_
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")  # the CLI prints its own summary
        # a shared machine: DuckDB spills to disk rather than take most of the memory — into a private
        # temporary folder (mode 0700) removed afterwards, since spilled tables hold derived name keys
        spill = tempfile.mkdtemp(prefix="darkfigure-link-")
        con.execute(f"SET temp_directory = '{spill}'")
        con.execute(f"SET memory_limit = '{d.get('duckdb_memory_limit', '4GB')}'")
        # row order of intermediate tables does not matter here, and keeping it costs memory on large inputs
        con.execute("SET preserve_insertion_order = false")
        # Splink logs progress at INFO; the CLI must stay quiet and never echo data
        logging.getLogger("splink").setLevel(logging.ERROR)
        try:
            with _stage(times, "load_duckdb"):
                table = features_to_arrow(feats)
                con.register("df_features_arrow", table)
                con.execute("CREATE TABLE df_features AS SELECT * FROM df_features_arrow")
                con.unregister("df_features_arrow")
                del table
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
                with _stage(times, "prior_deterministic_rules"), contextlib.suppress(Exception):
                    linker.training.estimate_probability_two_random_records_match(
                        list(tr["deterministic_rules"]), recall=float(tr["deterministic_recall"])
                    )
                with _stage(times, "u_random_sampling"):
                    max_pairs = float(min(float(tr["u_max_pairs"]), max(total_pairs, 1.0)))
                    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
                floor = float(tr.get("m_floor", 0.01))
                model = _smooth(linker.misc.save_model_to_json(), floor, max_m_else=tr.get("max_m_else"))
                em_cap = float(tr.get("em_max_pairs", 20_000_000) or 0)
                self.em_sampling_: dict[str, float] = {}
                for rule in tr["em_blocking_rules"]:
                    em_rule = rule
                    n_rule = _count_equi_join_pairs(con, "df_features", rule)
                    if em_cap > 0 and n_rule is not None and n_rule > em_cap:
                        # EM reads only the counts of comparison patterns: a uniform random share of the
                        # rule's pairs gives the same proportions.  A pair is kept when both records fall
                        # in the same of k hash buckets of the record id (probability 1/k for every pair,
                        # matches and non-matches alike), which DuckDB joins on without enumerating the
                        # pairs it drops — at a million records "same birth year" is 10^10 pairs.
                        k = math.ceil(n_rule / em_cap)
                        em_rule = (
                            f"({rule}) AND hash(l.unique_id, {seed}) % {k} = hash(r.unique_id, {seed}) % {k}"
                        )
                        self.em_sampling_[str(rule)] = 1.0 / k
                    # each EM session starts from the smoothed model, so one degenerate session cannot
                    # poison the next
                    linker = Linker(sdf, model, log_level=None)
                    try:
                        with _stage(times, "em"):
                            # without term-frequency adjustments EM on the counts of comparison patterns
                            # is the same EM, and each iteration reads a few hundred rows instead of every
                            # pair (Splink otherwise re-scans all compared pairs 15 times)
                            linker.training.estimate_parameters_using_expectation_maximisation(
                                em_rule, estimate_without_term_frequencies=not _uses_tf(model)
                            )
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
                with _stage(times, "predict"):
                    name, weights, counts, model, n_compared = self._score(
                        con, Linker, sdf, model, raw_u, rounds, tr, total_pairs
                    )
            with _stage(times, "pairs_and_contradictions"):
                hist = _histogram(weights, counts=counts)
                expected_found = float(np.sum(counts / (1.0 + np.exp2(-weights))))
                keep = float(min(d["keep_pairs_above"], d["review_band"][0], d["threshold"]))
                mw = "match_weight"
                pairs = con.execute(
                    f"SELECT unique_id_l, unique_id_r, {mw} AS match_weight, "
                    f"1.0 / (1.0 + pow(2.0, -{mw})) AS match_probability FROM {name} "
                    f"WHERE 1.0 / (1.0 + pow(2.0, -{mw})) >= {keep!r}"
                ).df()
                # pairs the model rejects (a chain A–B–C whose A–C is one is re-split by cluster_pairs);
                # only between records that some pair links at the threshold, the others cannot share a
                # cluster (reviewed matches aside), which keeps this list small on large inputs
                cb = float(d.get("contradiction_below", 0.0))
                if cb > 0:
                    p_sql = f"1.0 / (1.0 + pow(2.0, -{mw}))"
                    thr = float(d["threshold"])
                    # ... and only between records that the kept pairs (or reviewed matches) connect at all:
                    # no threshold at or above the kept-pairs floor can put the others in one cluster.  At a
                    # million records most records are linked to someone, and without this the list held
                    # tens of millions of pairs that could never meet
                    comp = _components_of(feats["unique_id"], pairs, self._decision_pairs()[0])
                    con.register("__df_components", comp)
                    low = con.execute(
                        f"WITH linked AS (SELECT unique_id_l AS id FROM {name} WHERE {p_sql} >= {thr!r} "
                        f"UNION SELECT unique_id_r FROM {name} WHERE {p_sql} >= {thr!r}) "
                        f"SELECT s.unique_id_l, s.unique_id_r FROM {name} s "
                        "JOIN __df_components a ON s.unique_id_l = a.id "
                        "JOIN __df_components b ON s.unique_id_r = b.id "
                        f"WHERE a.component = b.component AND {p_sql} < {cb!r} "
                        "AND s.unique_id_l IN (SELECT id FROM linked) "
                        "AND s.unique_id_r IN (SELECT id FROM linked)"
                    ).fetchall()
                    con.unregister("__df_components")
                    self.contradictions_ = [(str(a), str(b)) for a, b in low]
            with _stage(times, "missed_by_blocking"):
                missed = self._missed_by_blocking(con, model, s, n, n_compared, seed)
        finally:
            con.close()
            shutil.rmtree(spill, ignore_errors=True)
        pairs["unique_id_l"] = pairs["unique_id_l"].astype(str)
        pairs["unique_id_r"] = pairs["unique_id_r"].astype(str)
        return pairs, n_compared, hist, model, missed, expected_found

    @staticmethod
    def _score(
        con: Any,
        Linker: Any,
        sdf: Any,
        model: dict[str, Any],
        raw_u: Mapping[str, Any],
        rounds: int,
        tr: Mapping[str, Any],
        total_pairs: float,
    ) -> tuple[str, np.ndarray, np.ndarray, dict[str, Any], int]:
        """Compare the blocked pairs once; fix the prior and correct u on the pattern counts.

        Without term-frequency adjustments a pair's match weight depends only on its comparison pattern
        (the level reached in each comparison), so Splink computes the patterns once and the rounds of
        prior fixing and u correction work on the (few hundred) distinct patterns and their counts instead
        of re-scoring every pair with Splink each round.  Returns the name of a table of ``unique_id_l``,
        ``unique_id_r`` and ``match_weight`` under the final model, the distinct weights and their counts,
        the final model and the number of pairs compared.
        """
        if _uses_tf(model):
            return RecordLinker._score_with_splink(con, Linker, sdf, model, raw_u, rounds, tr, total_pairs)
        cv, blocked = comparison_vectors(Linker(sdf, model, log_level=None))
        comps = [c["output_column_name"] for c in model["comparisons"]]
        gcols = [f"gamma_{c}" for c in comps]
        gsel = ", ".join(gcols)
        con.execute(
            f"CREATE TABLE __df_pairs AS SELECT unique_id_l, unique_id_r, {gsel} FROM {cv.physical_name}"
        )
        cv.drop_table_from_database_and_remove_from_cache()
        blocked.drop_table_from_database_and_remove_from_cache()
        pat = con.execute(f"SELECT {gsel}, count(*) AS n FROM __df_pairs GROUP BY ALL").df()
        gam = pat[gcols].to_numpy(dtype=np.int64).reshape(-1, len(gcols))
        counts = pat["n"].to_numpy(dtype=float)
        n_compared = int(counts.sum())
        if tr.get("u_at_least_compared", True) and total_pairs > 0:
            model = _u_at_least_compared(model, gam, counts, total_pairs)
            raw_u = _u_at_least_compared(copy.deepcopy(dict(raw_u)), gam, counts, total_pairs)
        weights = np.zeros(len(gam))
        for r in range(rounds + 1):
            weights = _pattern_weights(model, gam)
            # the prior is fixed once, from the first scoring: re-fixing it after lowering u would feed
            # back (lower u → higher probabilities → higher prior → ...)
            if r == 0 and tr.get("prior_from_predictions", True) and total_pairs > 0:
                lam0 = float(model["probability_two_random_records_match"])
                lam = _prior_fixed_point(weights, lam0, total_pairs, counts=counts)
                model["probability_two_random_records_match"] = lam
                weights = _pattern_weights(model, gam)
            if r < rounds:
                model = _decontaminate_u(model, raw_u, float(model["probability_two_random_records_match"]))
        con.register(
            "__df_pattern_weights",
            pd.DataFrame({**{g: gam[:, i] for i, g in enumerate(gcols)}, "match_weight": weights}),
        )
        con.execute(
            "CREATE TABLE __df_scored AS SELECT p.unique_id_l, p.unique_id_r, w.match_weight "
            f"FROM __df_pairs p JOIN __df_pattern_weights w USING ({gsel})"
        )
        con.unregister("__df_pattern_weights")
        con.execute("DROP TABLE __df_pairs")
        return "__df_scored", weights, counts, model, n_compared

    @staticmethod
    def _score_with_splink(
        con: Any,
        Linker: Any,
        sdf: Any,
        model: dict[str, Any],
        raw_u: Mapping[str, Any],
        rounds: int,
        tr: Mapping[str, Any],
        total_pairs: float,
    ) -> tuple[str, np.ndarray, np.ndarray, dict[str, Any], int]:
        """:meth:`_score` by re-scoring every pair with Splink each round (term-frequency adjustments make a
        pair's weight depend on more than its comparison pattern)."""
        shift = 0.0
        name = ""
        weights = np.zeros(0)
        n_compared = 0
        for r in range(rounds + 1):
            pred = Linker(sdf, model, log_level=None).inference.predict()
            name = pred.physical_name
            n_compared = int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
            weights = np.asarray(
                con.execute(f"SELECT match_weight FROM {name}").fetchnumpy()["match_weight"], dtype=float
            )
            lam0 = float(model["probability_two_random_records_match"])
            shift = 0.0
            if r == 0 and tr.get("prior_from_predictions", True) and total_pairs > 0:
                lam = _prior_fixed_point(weights, lam0, total_pairs)
                shift = math.log2(lam / (1 - lam)) - math.log2(lam0 / (1 - lam0))
                model["probability_two_random_records_match"] = lam
            if r < rounds:
                model = _decontaminate_u(model, raw_u, float(model["probability_two_random_records_match"]))
                shift = 0.0
        con.execute(
            "CREATE TABLE __df_scored AS SELECT unique_id_l, unique_id_r, "
            f"match_weight + {shift!r} AS match_weight FROM {name}"
        )
        return "__df_scored", weights + shift, np.ones(len(weights)), model, n_compared

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


def _u_at_least_compared(
    model: dict[str, Any], gammas: np.ndarray, counts: np.ndarray, total_pairs: float
) -> dict[str, Any]:
    """Raise each level's u to at least its share of all pairs counted among the compared pairs.

    u comes from a random sample of pairs (``u_max_pairs``): a level that few pairs reach (two records
    sharing a name no other record has) is met a handful of times or never, so its u — and its weight —
    is noise.  The compared pairs are a subset of all pairs, counted exactly, so a level's share of all
    pairs is at least (its count among them) / (all pairs): for levels only blocked pairs reach this is
    the exact value.  Levels are then renormalised.  (Splink numbers the non-null levels of a comparison
    from ``k - 1`` down to 0.)
    """
    for j, comp in enumerate(model["comparisons"]):
        levels = [lev for lev in comp["comparison_levels"] if not lev.get("is_null_level")]
        k = len(levels)
        us = []
        for i, lev in enumerate(levels):
            seen = float(counts[gammas[:, j] == k - 1 - i].sum()) / total_pairs
            us.append(max(float(lev["u_probability"]), seen))
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


def _prior_fixed_point(
    weights: np.ndarray,
    lam0: float,
    total_pairs: float,
    iters: int = 50,
    counts: np.ndarray | None = None,
) -> float:
    """The prior match probability consistent with the scored pairs.

    Deterministic rules give only a rough prior (their recall is a guess).  Given the trained m/u, the prior
    that agrees with the data satisfies ``lambda = sum_ij p_ij(lambda) / n_pairs`` over the compared pairs
    (pairs outside the blocks contribute little; their share is estimated separately).  Solved by fixed-point
    iteration on the log-odds shift of every pair's weight.  ``counts`` (optional) gives the number of
    pairs with each weight (weights of comparison patterns rather than of pairs).
    """
    ok = np.isfinite(weights)
    w = weights[ok]
    c = np.ones(len(w)) if counts is None else np.asarray(counts, dtype=float)[ok]
    base = math.log2(lam0 / (1 - lam0))
    lam = lam0
    for _ in range(iters):
        shift = math.log2(lam / (1 - lam)) - base
        new = float(np.sum(c / (1.0 + np.exp2(-(w + shift))))) / total_pairs
        new = min(max(new, 1e-12), 0.5)
        if abs(new - lam) <= 1e-6 * lam:
            lam = new
            break
        lam = new
    return lam


def _histogram(w: np.ndarray, bins: int = 40, counts: np.ndarray | None = None) -> dict[str, list[float]]:
    """Histogram of match weights (``counts``: how many pairs have each weight, default one each)."""
    c = np.ones(len(w)) if counts is None else np.asarray(counts, dtype=float)
    ok = np.isfinite(w) & (c > 0)
    w, c = w[ok], c[ok]
    if len(w) == 0:
        return {"edges": [], "counts": []}
    lo, hi = math.floor(float(w.min())), math.ceil(float(w.max()))
    if hi <= lo:
        hi = lo + 1
    hist, edges = np.histogram(w, bins=bins, range=(lo, hi), weights=c)
    return {"edges": [round(float(e), 4) for e in edges], "counts": [round(float(x)) for x in hist]}


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
