"""Economic scale: a Monte Carlo model of the annual market value, over stated assumptions.

The 2019 report's "about $105 million a year" is 80,000 women × 60% in the sex trade × 50% of them in
prostitution × 3 clients a night × 365 nights × $4 — one product of point values. This module makes the
product explicit, gives every factor a distribution and a source (``estimate/data/economic_2019.yaml``), and
shows the distribution of the result and which assumptions drive its spread.

Model (annual value in USD)::

    prostitution    = women · s_sex · s_prost · (e · c_ent + (1 - e) · c_serv) · nights · price
    forced marriage = women · s_sex · s_marr · sales_per_year · marriage_price
    cybersex        = women · s_sex · s_cyber · cyber_earnings
    total           = prostitution + forced marriage + cybersex

Uncertainty: ``women`` can come from a population estimate (its interval turned into a lognormal:
median = the estimate, ``sigma = (ln upper - ln lower) / (2 z)``); the shares can come from the records as
Jeffreys posteriors Beta(k + ½, n - k + ½). Draws are independent across assumptions (a simplification: say
so when reading the result), vectorised and seeded.

Sensitivity (tornado): each uncertain assumption in turn is set to its 2.5% and 97.5% quantiles while the
others stay at their medians; the bars show how far the total moves. Spearman rank correlations between
each assumption's draws and the total are reported too.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from .._provenance import Provenance, sha256_bytes
from ..exceptions import InputError, NotEstimableError
from ._datafile import read_yaml_file

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from ._result import EstimateResult

__all__ = ["REQUIRED", "Assumption", "EconomicModel", "EconomicResult", "load_assumptions"]

#: Every assumption the model needs.
REQUIRED = ("women", "share_sex_trade", "share_prostitution", "share_forced_marriage", "share_cybersex",
            "share_entertainment", "clients_per_night_entertainment", "clients_per_night_service",
            "nights_per_year", "price_per_act_usd", "marriage_sales_per_year", "marriage_price_usd",
            "cybersex_earnings_per_year_usd")

_Z975 = float(stats.norm.ppf(0.975))


def _frozen(dist: Mapping[str, Any]) -> Any:
    """A scipy frozen distribution (or None for a fixed value) from a YAML distribution mapping."""
    t = str(dist.get("type", "")).lower()
    try:
        if t == "fixed":
            return None
        if t == "uniform":
            lo, hi = float(dist["low"]), float(dist["high"])
            if not hi > lo:
                raise InputError("uniform: high must exceed low")
            return stats.uniform(loc=lo, scale=hi - lo)
        if t == "triangular":
            lo, mo, hi = float(dist["low"]), float(dist["mode"]), float(dist["high"])
            if not (lo <= mo <= hi and hi > lo):
                raise InputError("triangular: need low <= mode <= high, low < high")
            return stats.triang((mo - lo) / (hi - lo), loc=lo, scale=hi - lo)
        if t == "lognormal":
            med = float(dist["median"])
            # sigma given, or from the 97.5% quantile ``high``
            sigma = float(dist["sigma"]) if "sigma" in dist else math.log(float(dist["high"]) / med) / _Z975
            if not (med > 0 and sigma > 0):
                raise InputError("lognormal: need median > 0 and high > median")
            return stats.lognorm(sigma, scale=med)
        if t == "beta":
            a, b = float(dist["a"]), float(dist["b"])
            if not (a > 0 and b > 0):
                raise InputError("beta: a and b must be positive")
            return stats.beta(a, b)
    except KeyError as exc:
        raise InputError(f"{t} distribution needs {exc.args[0]!r}") from None
    raise InputError(f"unknown distribution type {t!r}")


@dataclass(frozen=True)
class Assumption:
    """One input of the model: a point value, a distribution and where it comes from."""

    name: str
    point: float
    distribution: Mapping[str, Any]
    source: str
    label: str = ""
    unit: str = ""
    from_estimate: bool = False
    from_data: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        _frozen(self.distribution)  # validate early

    def frozen(self) -> Any:
        return _frozen(self.distribution)

    def draw(self, size: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
        d = self.frozen()
        if d is None:
            return np.full(size, float(self.distribution.get("value", self.point)))
        return np.asarray(d.rvs(size=size, random_state=rng), dtype=float)

    def quantile(self, q: float) -> float:
        d = self.frozen()
        if d is None:
            return float(self.distribution.get("value", self.point))
        return float(d.ppf(q))

    @property
    def uncertain(self) -> bool:
        return self.frozen() is not None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label or self.name, "unit": self.unit, "point": self.point,
                "distribution": dict(self.distribution), "source": self.source,
                "median": self.quantile(0.5), "low": self.quantile(0.025), "high": self.quantile(0.975)}

    @classmethod
    def from_dict(cls, name: str, d: Mapping[str, Any]) -> Assumption:
        try:
            point = float(d["point"])
            dist = dict(d["distribution"])
            source = str(d["source"])
        except KeyError as exc:
            raise InputError(f"assumption {name}: missing {exc.args[0]!r}") from None
        try:
            return cls(name, point, dist, source, str(d.get("label", name)), str(d.get("unit", "")),
                       bool(d.get("from_estimate", False)), d.get("from_data"))
        except InputError as exc:
            raise InputError(f"assumption {name}: {exc}") from None


def load_assumptions(path: str | Path | None = None) -> tuple[dict[str, Assumption], dict[str, Any]]:
    """Read an assumptions YAML (default: the one shipped with darkfigure).

    Returns the assumptions by name and the file's settings (``n_draws``, ``seed``, ``sha256``).
    """
    raw, d = read_yaml_file(path, "data/economic_2019.yaml", "assumptions file")
    if not isinstance(d, dict) or not isinstance(d.get("assumptions"), dict):
        raise InputError("the assumptions file needs an 'assumptions' mapping")
    a = {k: Assumption.from_dict(k, v) for k, v in d["assumptions"].items()}
    missing = [k for k in REQUIRED if k not in a]
    if missing:
        raise InputError(f"the assumptions file lacks: {', '.join(missing)}")
    settings = {"n_draws": int(d.get("n_draws", 20000)), "seed": d.get("seed"), "sha256": sha256_bytes(raw)}
    return a, settings


def _components(v: Mapping[str, Any]) -> dict[str, Any]:
    """The model's formula, on scalars or arrays alike."""
    sex = v["women"] * v["share_sex_trade"]
    e = v["share_entertainment"]
    clients = e * v["clients_per_night_entertainment"] + (1 - e) * v["clients_per_night_service"]
    prost = sex * v["share_prostitution"] * clients * v["nights_per_year"] * v["price_per_act_usd"]
    marr = sex * v["share_forced_marriage"] * v["marriage_sales_per_year"] * v["marriage_price_usd"]
    cyber = sex * v["share_cybersex"] * v["cybersex_earnings_per_year_usd"]
    return {"prostitution": prost, "forced_marriage": marr, "cybersex": cyber,
            "total": prost + marr + cyber}


@dataclass(frozen=True)
class EconomicResult:
    """Distribution of the annual market value, its sensitivity and the assumptions behind it (frozen,
    JSON-serialisable)."""

    point: Mapping[str, float]
    median: float
    mean: float
    interval50: tuple[float, float]
    interval95: tuple[float, float]
    components: Mapping[str, Mapping[str, float]]
    histogram: Mapping[str, list[float]]
    tornado: tuple[Mapping[str, Any], ...]
    rank_correlation: Mapping[str, float]
    assumptions: tuple[Mapping[str, Any], ...]
    n_draws: int
    provenance: Provenance = field(default_factory=Provenance)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": "USD per year",
            "point": dict(self.point),
            "median": self.median, "mean": self.mean,
            "interval50": list(self.interval50), "interval95": list(self.interval95),
            "components": {k: dict(v) for k, v in self.components.items()},
            "histogram": {k: list(v) for k, v in self.histogram.items()},
            "tornado": [dict(t) for t in self.tornado],
            "rank_correlation": dict(self.rank_correlation),
            "assumptions": [dict(a) for a in self.assumptions],
            "n_draws": self.n_draws,
            "notes": list(self.notes),
            "provenance": self.provenance.to_dict(),
        }

    def write_json(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        return p

    def summary(self) -> str:
        m = 1e6
        lines = ["economic scale (USD per year)", "-----------------------------",
                 f"point values      {self.point['total'] / m:,.1f}M "
                 f"(prostitution alone {self.point['prostitution'] / m:,.1f}M)",
                 f"median            {self.median / m:,.1f}M",
                 f"50% interval      {self.interval50[0] / m:,.1f}M – {self.interval50[1] / m:,.1f}M",
                 f"95% interval      {self.interval95[0] / m:,.1f}M – {self.interval95[1] / m:,.1f}M",
                 f"draws             {self.n_draws:,} (seed {self.provenance.seed})"]
        return "\n".join(lines)

    def plot_histogram(self, ax: Axes | None = None) -> Axes:
        from ..report.plots import value_histogram

        return value_histogram(self.to_dict(), ax=ax)

    def plot_tornado(self, ax: Axes | None = None) -> Axes:
        from ..report.plots import tornado_plot

        return tornado_plot(self.to_dict(), ax=ax)


class EconomicModel:
    """Monte Carlo model of the annual market value.

    Parameters
    ----------
    assumptions : mapping of name to Assumption, optional
        Default: the shipped YAML (:func:`load_assumptions`).
    n_draws : int, optional
        Monte Carlo draws (default: the YAML's, 20,000).
    seed : int, optional
        Random seed (default: the YAML's). The same seed gives the same result.
    bins : int
        Histogram bins.

    Examples
    --------
    >>> m = EconomicModel()
    >>> round(m.point_values()["prostitution"] / 1e6, 1)
    105.1
    >>> r = EconomicModel(n_draws=2000, seed=1).fit().result_
    >>> r.interval95[0] < r.median < r.interval95[1]
    True
    """

    def __init__(self, assumptions: Mapping[str, Assumption] | None = None, n_draws: int | None = None,
                 seed: int | None = None, bins: int = 40) -> None:
        self.assumptions = assumptions
        self.n_draws = n_draws
        self.seed = seed
        self.bins = bins
        self._file: dict[str, Any] = {}
        self._notes: list[str] = []
        self._inputs: dict[str, str] = {}

    # ------------------------------------------------------------------ set-up
    def _assumptions(self) -> dict[str, Assumption]:
        if self.assumptions is None:
            a, self._file = load_assumptions()
            self.assumptions = a
        a = dict(self.assumptions)
        missing = [k for k in REQUIRED if k not in a]
        if missing:
            raise InputError(f"missing assumptions: {', '.join(missing)}")
        return a

    @classmethod
    def from_yaml(cls, path: str | Path | None = None, **kwargs: Any) -> EconomicModel:
        """Build from an assumptions YAML (its ``n_draws`` and ``seed`` unless given here)."""
        a, settings = load_assumptions(path)
        m = cls(a, n_draws=kwargs.pop("n_draws", None), seed=kwargs.pop("seed", None), **kwargs)
        m._file = settings
        return m

    def _replace(self, name: str, **changes: Any) -> None:
        a = self._assumptions()
        old = a[name]
        a[name] = Assumption(name, changes.get("point", old.point), changes["distribution"],
                             changes["source"], old.label, old.unit, old.from_estimate, old.from_data)
        self.assumptions = a

    def with_population(self, result: EstimateResult) -> EconomicModel:
        """Take the number of women from a population estimate: a lognormal with median at the estimate and
        the estimate's interval as its central interval. The point value stays the YAML's."""
        if not result.estimable or result.estimate is None or result.lower is None or result.upper is None:
            raise NotEstimableError("the population estimate has no finite interval; it cannot be used as a "
                                    "distribution")
        z = float(stats.norm.ppf(0.5 + result.level / 2))
        lo, hi = max(float(result.lower), 1.0), float(result.upper)
        sigma = max((math.log(hi) - math.log(lo)) / (2 * z), 1e-9)
        self._replace("women", distribution={"type": "lognormal", "median": float(result.estimate),
                                             "sigma": sigma},
                      source=(f"population estimate ({result.method}): {result.estimate:,.0f} "
                              f"({result.level:.0%} interval {result.lower:,.0f}–{result.upper:,.0f}) "
                              "as a lognormal"))
        if result.provenance.input_sha256:
            self._inputs["population_estimate"] = result.provenance.input_sha256
        return self

    def with_share(self, name: str, k: int, n: int, source: str = "") -> EconomicModel:
        """Replace a share by the Jeffreys posterior Beta(k + ½, n - k + ½) of ``k`` in ``n``."""
        if n < 1 or not 0 <= k <= n:
            raise InputError(f"share {name}: need 0 <= k <= n and n >= 1")
        self._replace(name, distribution={"type": "beta", "a": k + 0.5, "b": n - k + 0.5},
                      source=source or f"records: Jeffreys posterior of the share (n = {n})")
        return self

    def with_shares_from(self, frame: pd.DataFrame, person_ids: Mapping[str, str] | None = None,
                         min_n: int = 10) -> EconomicModel:
        """Replace every assumption that has ``from_data`` by the records' share (persons when linked).

        Shares with fewer than ``min_n`` informative units keep their YAML distribution (and a note says so).
        The source text gives n but never k, so nothing below the suppression threshold leaves.
        """
        from .findings import Indicator, person_frame

        specs = {n: Indicator.from_dict(a.from_data) for n, a in self._assumptions().items() if a.from_data}
        needed = set().union(*(i.fields() for i in specs.values())) if specs else set()
        units = person_frame(frame, person_ids, columns=needed) if person_ids else frame
        for name, a in self._assumptions().items():
            if not a.from_data:
                continue
            try:
                k, n, _ = specs[name].counts(units)
            except InputError:
                self._notes.append(f"{name}: the records have no such question; the YAML distribution "
                                   "is used")
                continue
            if n < min_n:
                self._notes.append(f"{name}: fewer than {min_n} records with information; the YAML "
                                   "distribution is used")
                continue
            unit = "persons" if person_ids else "records"
            self.with_share(name, k, n, source=f"records ({unit}, n = {n}): Jeffreys posterior of the share")
        return self

    # ------------------------------------------------------------------ computing
    def point_values(self) -> dict[str, float]:
        """The model at every assumption's point value (the 2019 report's arithmetic)."""
        a = self._assumptions()
        return {k: float(v) for k, v in _components({n: x.point for n, x in a.items()}).items()}

    def fit(self) -> EconomicModel:
        """Run the Monte Carlo and the sensitivity analysis; sets ``result_`` and returns ``self``."""
        a = self._assumptions()
        n_draws = int(self.n_draws or self._file.get("n_draws") or 20000)
        seed = self.seed if self.seed is not None else self._file.get("seed")
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])  # recorded, so the run can be repeated
        if n_draws < 100:
            raise InputError("use at least 100 draws")
        rng = np.random.default_rng(int(seed))
        draws = {name: a[name].draw(n_draws, rng) for name in REQUIRED}
        comps = _components(draws)
        total = comps["total"]
        q = np.quantile(total, [0.025, 0.25, 0.5, 0.75, 0.975])
        # histogram of the lower 99.5% of draws so a few extreme draws do not squash the picture
        hi = float(np.quantile(total, 0.995))
        counts, edges = np.histogram(total, bins=self.bins, range=(0.0, hi))
        medians = {name: a[name].quantile(0.5) for name in REQUIRED}
        base = float(_components(medians)["total"])
        tornado = []
        for name in REQUIRED:
            if not a[name].uncertain:
                continue
            lo_v, hi_v = a[name].quantile(0.025), a[name].quantile(0.975)
            out_lo = float(_components({**medians, name: lo_v})["total"])
            out_hi = float(_components({**medians, name: hi_v})["total"])
            tornado.append({"name": name, "label": a[name].label or name, "low": lo_v, "high": hi_v,
                            "output_low": out_lo, "output_high": out_hi, "base": base,
                            "swing": abs(out_hi - out_lo)})
        tornado.sort(key=lambda t: -float(t["swing"]))  # type: ignore[arg-type]
        rank_tot = stats.rankdata(total)
        rc = {}
        for name in REQUIRED:
            if a[name].uncertain:
                r = np.corrcoef(stats.rankdata(draws[name]), rank_tot)[0, 1]
                rc[name] = float(r)
        components = {k: {"median": float(np.median(v)), "low": float(np.quantile(v, 0.025)),
                          "high": float(np.quantile(v, 0.975))}
                      for k, v in comps.items()}
        settings = {"n_draws": n_draws, "bins": self.bins, "assumptions_sha256": self._file.get("sha256"),
                    "inputs": dict(self._inputs)}
        notes = [*self._notes, "assumptions are drawn independently of each other"]
        self.result_ = EconomicResult(
            point=self.point_values(), median=float(q[2]), mean=float(total.mean()),
            interval50=(float(q[1]), float(q[3])), interval95=(float(q[0]), float(q[4])),
            components=components,
            histogram={"edges": edges.tolist(), "counts": counts.astype(int).tolist()},
            tornado=tuple(tornado), rank_correlation=rc,
            assumptions=tuple(a[n].to_dict() for n in REQUIRED), n_draws=n_draws,
            provenance=Provenance(input_sha256=self._file.get("sha256"), seed=int(seed),
                                  settings=copy.deepcopy(settings)),
            notes=tuple(notes),
        )
        self.draws_ = comps
        return self
