"""Run a scenario: people, who saw them, the organisations' files, and the truth."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..exceptions import ScenarioError
from ..histories import CaptureHistories
from . import _names as nm
from ._population import Population, draw_captures, draw_population, streams
from ._scenario import PATHWAYS, Scenario, load_scenario
from ._writers import WRITER_CLASSES, OrgRecords, mapping_yaml

__all__ = ["Simulation", "simulate", "simulate_histories"]

#: Prefix of the list columns of the capture histories (the architecture's ``in_<source>``).
LIST_PREFIX = "in_"
SEX_TRADE = ("prostitution", "forced_marriage", "cybersex", "other_sex")


def _resolve(scenario: Scenario | str | Path | None, size: int | None) -> Scenario:
    if scenario is None:
        s = load_scenario()
    elif isinstance(scenario, Scenario):
        s = scenario
    elif isinstance(scenario, str | Path):
        s = load_scenario(scenario)
    else:
        raise ScenarioError("scenario must be a Scenario, a YAML path or a built-in scenario name")
    if size is not None and (not isinstance(size, int | np.integer) or isinstance(size, bool)):
        raise ScenarioError("size must be a positive integer")
    return s.with_size(None if size is None else int(size))


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ScenarioError("seed must be a non-negative integer")
    return int(seed)


def _shares(values: np.ndarray, keys: list[str] | tuple[str, ...]) -> dict[str, float]:
    n = max(len(values), 1)
    return {k: float(np.count_nonzero(values == k)) / n for k in keys}


def _multi_shares(values: np.ndarray) -> dict[str, float]:
    """Share of people whose ';'-joined list contains each code."""
    n = max(len(values), 1)
    uniq, cnt = np.unique(np.asarray(values, dtype=str), return_counts=True)
    counts: dict[str, int] = {}
    for v, c in zip(uniq.tolist(), cnt.tolist(), strict=True):
        for code in v.split(";"):
            if code:
                counts[code] = counts.get(code, 0) + c
    return {k: counts[k] / n for k in sorted(counts)}


def _population_shares(s: Scenario, c: dict[str, np.ndarray]) -> dict[str, Any]:
    pw = c["pathway"]
    prost = pw == "prostitution"
    sex = np.isin(pw, SEX_TRADE)
    return {
        "pathway": _shares(pw, PATHWAYS),
        "sex_trade": float(sex.mean()) if len(pw) else 0.0,
        "within_sex_trade": _shares(pw[sex], SEX_TRADE),
        "exploitation_types": _multi_shares(c["exploitation_types"]),
        "recruitment_means": _shares(c["recruitment_means"], list(s.recruitment.shares)),
        "outcome": _shares(c["outcome"], list(s.outcomes.shares)),
        "home_province": _shares(c["home_province"], list(s.population.provinces.shares)),
        "venue_class_among_prostitution": _shares(c["venue_class"][prost], ["Entertainment", "Service"]),
        "minors_at_exploitation": float((c["age_at_exploitation"] < 18).mean()) if len(pw) else 0.0,
    }


@dataclass
class Simulation:
    """The result of :func:`simulate`: the truth and the organisations' lists.

    Attributes
    ----------
    scenario : Scenario
        The scenario actually run (with ``size`` applied).
    seed : int
        The seed used.
    people : pandas.DataFrame
        The truth: one row per person (``person_id``, canonical names, attributes, ``in_<org>`` flags).
    records : dict of str to pandas.DataFrame
        Per organisation, its list in its own layout (the columns of its file), in file order.
    org_records : dict of str to OrgRecords
        The same lists with the truth about each row (person, duplicate flag, deliberate breakage).
    true_histories : CaptureHistories
        Who each organisation saw (one list per organisation; people seen by none are not in the table).
    links : pandas.DataFrame
        ``source, source_record_id, person_id`` for every record written.
    broken_rows : pandas.DataFrame
        Rows broken on purpose: ``source, file, row, source_record_id, field, rule, reason``.
    """

    scenario: Scenario
    seed: int
    people: pd.DataFrame
    org_records: dict[str, OrgRecords]
    true_histories: CaptureHistories
    _shares: dict[str, Any] = field(repr=False)
    _observed_shares: dict[str, Any] = field(repr=False)

    @property
    def records(self) -> dict[str, pd.DataFrame]:
        return {k: v.frame() for k, v in self.org_records.items()}

    @property
    def links(self) -> pd.DataFrame:
        rows = []
        pid = self.people["person_id"].to_numpy()
        for org, rec in self.org_records.items():
            ids = [r[WRITER_CLASSES[rec.writer].id_column] for r in rec.rows]
            rows.append(
                pd.DataFrame({"source": org, "source_record_id": ids, "person_id": pid[rec.person_index]})
            )
        return pd.concat(rows, ignore_index=True)

    @property
    def broken_rows(self) -> pd.DataFrame:
        cols = ["source", "file", "row", "source_record_id", "field", "rule", "reason"]
        rows = [b for rec in self.org_records.values() for b in rec.broken]
        return pd.DataFrame(rows, columns=cols)

    def truth_summary(self) -> dict[str, Any]:
        """The truth in numbers (JSON-serialisable): N, observed, per-list counts, true shares ...

        Examples
        --------
        >>> sim = simulate(seed=1, size=500)
        >>> t = sim.truth_summary()
        >>> t["N"], t["observed"] == sim.true_histories.observed
        (500, True)
        """
        h = self.true_histories
        per_org = {}
        for org, rec in self.org_records.items():
            per_org[org] = {
                "file": f"{org}/{rec.file_name}",
                "writer": rec.writer,
                "people_seen": int(h.list_totals()[LIST_PREFIX + org]),
                "records": len(rec.rows),
                "within_list_duplicates": int(rec.is_duplicate.sum()),
                "broken_rows": len(rec.broken),
            }
        return {
            "scenario": self.scenario.name,
            "scenario_sha256": self.scenario.sha256(),
            "seed": self.seed,
            "package_version": __version__,
            "N": int(self.scenario.population.size),
            "observed": int(h.observed),
            "unobserved": int(self.scenario.population.size - h.observed),
            "lists": list(h.lists),
            "list_totals": {k: int(v) for k, v in h.list_totals().items()},
            "pair_overlaps": {f"{a}&{b}": int(v) for (a, b), v in h.pair_overlaps().items()},
            "organisations": per_org,
            "records": int(sum(len(r.rows) for r in self.org_records.values())),
            "broken_rows": int(sum(len(r.broken) for r in self.org_records.values())),
            "shares": self._shares,
            "observed_shares": self._observed_shares,
            "expected_shares": {
                "pathway": dict(self.scenario.pathways.shares),
                "recruitment_means": dict(self.scenario.recruitment.shares),
                "outcome": dict(self.scenario.outcomes.shares),
            },
        }

    # ------------------------------------------------------------------ files
    def files(self) -> dict[str, bytes]:
        """Every output file as ``{relative path: bytes}`` (what :meth:`write` writes)."""
        out: dict[str, bytes] = {}
        for org, rec in self.org_records.items():
            w = WRITER_CLASSES[rec.writer]
            out[f"{org}/{rec.file_name}"] = w.to_bytes(rec.rows)
            out[f"{org}/mapping.yaml"] = mapping_yaml(rec.mapping)
        out["truth/people.csv"] = self.people.to_csv(index=False, lineterminator="\n").encode("utf-8")
        out["truth/links.csv"] = self.links.to_csv(index=False, lineterminator="\n").encode("utf-8")
        out["truth/histories.csv"] = self.true_histories.to_csv_string().encode("utf-8")
        out["truth/broken_rows.csv"] = self.broken_rows.to_csv(index=False, lineterminator="\n").encode(
            "utf-8"
        )
        out["truth/summary.json"] = (
            json.dumps(self.truth_summary(), indent=2, ensure_ascii=False) + "\n"
        ).encode("utf-8")
        return out

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``<org>/<file>``, ``<org>/mapping.yaml`` and ``truth/*`` under ``out_dir``.

        Returns the paths written.  The same seed writes the same bytes.
        """
        root = Path(out_dir)
        written = []
        for rel, data in self.files().items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            written.append(p)
        return written


def _draw(s: Scenario, seed: int) -> tuple[Population, dict[str, np.ndarray], dict[str, np.random.Generator]]:
    rngs = streams(seed)
    pop = draw_population(s, s.population.size, rngs["population"])
    seen = draw_captures(s, pop, rngs["capture"])
    return pop, seen, rngs


#: Person attributes that can stratify the capture histories (categorical columns).
STRATA = ("pathway", "outcome", "home_province", "recruitment_means", "venue_class", "age_group")


def _age_group(age: np.ndarray) -> np.ndarray:
    return np.where(age < 18, "under18", "18plus").astype(object)


def _histories(s: Scenario, seen: dict[str, np.ndarray], strata: np.ndarray | None = None,
               stratum_name: str | None = None) -> CaptureHistories:
    # named and ordered as darkfigure.link.histories_from_links names them (in_<source>, sources sorted),
    # so that the truth and the histories rebuilt from linked records line up column for column
    orgs = sorted(s.organisation_names)
    m = np.column_stack([seen[k] for k in orgs])
    if not m.any():
        raise ScenarioError("no organisation saw anyone: raise the size or the capture probabilities")
    lists = [LIST_PREFIX + k for k in orgs]
    if strata is None:
        return CaptureHistories.from_membership(m, lists)
    return CaptureHistories.from_membership(m, lists, strata=strata, stratum_name=stratum_name)


def _stratum_values(pop: Population, strata: str) -> np.ndarray:
    if strata not in STRATA:
        raise ScenarioError(f"strata must be one of {', '.join(STRATA)}")
    if strata == "age_group":
        return _age_group(pop.columns["age_at_exploitation"])
    v = pop.columns[strata].astype(object)
    return np.where(v == "", "none", v)


def simulate_histories(
    scenario: Scenario | str | Path | None = None,
    seed: int = 0,
    size: int | None = None,
    *,
    strata: str | None = None,
) -> tuple[CaptureHistories, dict[str, Any]]:
    """Fast mode: only the capture histories and the truth in numbers (no names, no files).

    Draws exactly the same people and captures as :func:`simulate` with the same arguments.

    Parameters
    ----------
    scenario : Scenario, path, str or None
        A scenario, a YAML file, a built-in name; ``None`` is ``"nk-china-2019"``.
    seed : int
        Random seed (non-negative).
    size : int, optional
        True population size N (default: the scenario's).
    strata : str, optional
        Stratify the table by a person attribute (one of ``STRATA``: pathway, outcome, home_province,
        recruitment_means, venue_class, age_group); the truth then also gives ``N_by_stratum``.

    Returns
    -------
    (CaptureHistories, dict)
        The table (format of ``shared/data/mse``) and a truth dict with ``N``, ``observed`` and ``shares``.

    Examples
    --------
    >>> h, truth = simulate_histories(seed=3, size=2000)
    >>> truth["N"], h.observed == truth["observed"], h.lists[0]
    (2000, True, 'in_church_network')
    """
    s = _resolve(scenario, size)
    seed = _check_seed(seed)
    pop, seen, _ = _draw(s, seed)
    sv = None if strata is None else _stratum_values(pop, strata)
    h = _histories(s, seen, sv, strata)
    observed = np.column_stack([seen[k] for k in s.organisation_names]).any(axis=1)
    truth: dict[str, Any] = {
        "scenario": s.name,
        "scenario_sha256": s.sha256(),
        "seed": seed,
        "package_version": __version__,
        "N": int(s.population.size),
        "observed": int(h.observed),
        "unobserved": int(s.population.size - h.observed),
        "lists": list(h.lists),
        "list_totals": {k: int(v) for k, v in h.list_totals().items()},
        "shares": _population_shares(s, pop.columns),
        "observed_shares": _population_shares(s, {k: v[observed] for k, v in pop.columns.items()}),
    }
    if sv is not None:
        labels, counts = np.unique(sv.astype(str), return_counts=True)
        truth["strata"] = strata
        truth["N_by_stratum"] = {str(k): int(c) for k, c in zip(labels, counts, strict=True)}
    return h, truth


def _names(s: Scenario, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    t = nm.load_tables()
    sur = rng.choice(len(t.surnames), size=n, p=t.surname_p)
    g = rng.choice(len(t.syllables), size=(n, 2), p=t.syllable_p)
    return {"surname": sur, "given1": g[:, 0], "given2": g[:, 1]}


def _col(table: list[dict[str, str]], key: str) -> np.ndarray:
    return np.array([r[key] for r in table], dtype=object)


def _people_frame(
    s: Scenario, pop: Population, names: dict[str, np.ndarray], seen: dict[str, np.ndarray]
) -> pd.DataFrame:
    t = nm.load_tables()
    n = pop.size
    sur, g1, g2 = names["surname"], names["given1"], names["given2"]
    width = max(6, len(str(n)))
    c = pop.columns
    rr_given = _col(t.syllables, "rr")[g1] + "-" + _col(t.syllables, "rr")[g2]
    # vectorised ISO dates (a Python f-string per person is the slowest step at 100,000 people)
    months = (c["dob_year"] - 1970) * 12 + (c["dob_month"] - 1)
    days = months.astype("datetime64[M]").astype("datetime64[D]") + (c["dob_day"] - 1)
    dob = np.datetime_as_string(days, unit="D")
    df = pd.DataFrame(
        {
            "person_id": [f"P{i:0{width}d}" for i in range(1, n + 1)],
            "name_hangul": _col(t.surnames, "hangul_nk")[sur]
            + _col(t.syllables, "hangul_nk")[g1]
            + _col(t.syllables, "hangul_nk")[g2],
            "name_hangul_south": _col(t.surnames, "hangul_sk")[sur]
            + _col(t.syllables, "hangul_sk_initial")[g1]
            + _col(t.syllables, "hangul_nk")[g2],
            "name_hanja": _col(t.surnames, "hanja")[sur]
            + _col(t.syllables, "hanja")[g1]
            + _col(t.syllables, "hanja")[g2],
            "name_romanised": _col(t.surnames, "rr")[sur]
            + " "
            + np.array([x.capitalize() for x in rr_given], dtype=object),
            "name_chinese": _col(t.surnames, "zh")[sur]
            + _col(t.syllables, "zh")[g1]
            + _col(t.syllables, "zh")[g2],
            "date_of_birth": dob,
        }
    )
    for k, v in c.items():
        if k in ("dob_year", "dob_month", "dob_day"):
            continue
        df[k] = v
    df["visibility"] = np.round(pop.visibility, 6)   # the latent z of the capture model
    for org in s.organisation_names:
        df[f"in_{org}"] = seen[org].astype(np.int64)
    return df


def simulate(
    scenario: Scenario | str | Path | None = None, seed: int = 0, size: int | None = None
) -> Simulation:
    """Simulate the population, the organisations' lists and files, and the truth.

    Parameters
    ----------
    scenario : Scenario, path, str or None
        A scenario, a YAML file, a built-in name; ``None`` is ``"nk-china-2019"``.
    seed : int
        Random seed (non-negative). Same seed, same scenario, same size: same bytes.
    size : int, optional
        True population size N (default: the scenario's).

    Returns
    -------
    Simulation

    Raises
    ------
    ScenarioError
        Invalid scenario, seed or size.

    Examples
    --------
    >>> sim = simulate(seed=7, size=1000)
    >>> sim.people.shape[0], sorted(sim.records)[:2]
    (1000, ['church_network', 'deportation_record'])
    >>> set(sim.links.columns) == {"source", "source_record_id", "person_id"}
    True
    """
    s = _resolve(scenario, size)
    seed = _check_seed(seed)
    pop, seen, rngs = _draw(s, seed)
    h = _histories(s, seen)
    names = _names(s, pop.size, rngs["names"])
    org_records: dict[str, OrgRecords] = {}
    for org in s.organisations:
        w = WRITER_CLASSES[org.writer](s, org, pop, names, rngs["records"])
        org_records[org.name] = w.build(seen[org.name])
    people = _people_frame(s, pop, names, seen)
    observed = np.column_stack([seen[k] for k in s.organisation_names]).any(axis=1)
    return Simulation(
        scenario=s,
        seed=seed,
        people=people,
        org_records=org_records,
        true_histories=h,
        _shares=_population_shares(s, pop.columns),
        _observed_shares=_population_shares(s, {k: v[observed] for k, v in pop.columns.items()}),
    )
