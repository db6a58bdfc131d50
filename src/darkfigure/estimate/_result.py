"""Frozen, JSON-serialisable results shared by every population-size estimator.

The JSON keys written by :meth:`EstimateResult.to_dict` are a contract relied on by the CLI
(``darkfigure estimate ... --json``), the report and outside checks: ``method``, ``estimate``, ``lower``,
``upper``, ``level``, ``observed``, ``lists``, ``model``, ``models``, ``warnings``, ``provenance``; estimators
may add keys through ``extra`` (e.g. ``stderr``, ``rhat``, ``ess``, ``chains``).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._provenance import Provenance

__all__ = ["EstimateResult", "ModelFit", "ResultWarning"]


def _num(x: float | None) -> float | None:
    """JSON has no inf/nan: map them to None (an unbounded or missing limit)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class ResultWarning:
    """A warning carried inside a result: a stable ``code`` and a plain-language ``message``."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class ModelFit:
    """One candidate model's fit, as listed in ``models``."""

    model: str
    estimate: float | None
    aic: float | None = None
    bic: float | None = None
    deviance: float | None = None
    df: int | None = None
    weight: float | None = None
    stderr: float | None = None
    lower: float | None = None
    upper: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "model": self.model,
            "estimate": _num(self.estimate),
            "AIC": _num(self.aic),
            "BIC": _num(self.bic),
            "deviance": _num(self.deviance),
            "df": self.df,
            "weight": _num(self.weight),
            "stderr": _num(self.stderr),
            "lower": _num(self.lower),
            "upper": _num(self.upper),
        }
        d.update(dict(self.extra))
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelFit:
        known = {"model", "estimate", "AIC", "BIC", "deviance", "df", "weight", "stderr", "lower", "upper"}
        return cls(
            model=d["model"],
            estimate=d.get("estimate"),
            aic=d.get("AIC"),
            bic=d.get("BIC"),
            deviance=d.get("deviance"),
            df=d.get("df"),
            weight=d.get("weight"),
            stderr=d.get("stderr"),
            lower=d.get("lower"),
            upper=d.get("upper"),
            extra={k: v for k, v in d.items() if k not in known},
        )


@dataclass(frozen=True)
class EstimateResult:
    """The outcome of one population-size estimate.

    Parameters
    ----------
    method : str
        Method name, e.g. ``"loglinear"``, ``"rcapture"``, ``"chapman"``, ``"latent-class"``.
    estimate : float or None
        Total population N (observed included); ``None`` when not estimable.
    lower, upper : float or None
        Interval limits at ``level``; ``upper`` is ``None`` when unbounded.
    level : float
        Interval level, e.g. 0.95.
    observed : int
        Number of distinct people seen by at least one list.
    lists : sequence of str
        List names.
    model : str or sequence of str
        The chosen model (a name, or its two-list terms).
    models : sequence of ModelFit
        Every candidate fitted.
    warnings : sequence of ResultWarning
        Plain-language warnings.
    provenance : Provenance
        Version, input hash, seed, settings.
    stratum : str or None
        The stratum this result is for, if the input was stratified.
    estimable : bool
        ``False`` when the data could not support an estimate ("not estimable").
    extra : mapping
        Method-specific keys added at the top level of the JSON (``stderr``, ``rhat``...).

    Examples
    --------
    >>> r = EstimateResult(method="chapman", estimate=120.0, lower=100.0, upper=150.0, level=0.95,
    ...                    observed=80, lists=("A", "B"), model="Mt")
    >>> r.conf_int()
    (100.0, 150.0)
    >>> r.to_dict()["estimate"]
    120.0
    """

    method: str
    estimate: float | None
    lower: float | None
    upper: float | None
    level: float
    observed: int
    lists: Sequence[str]
    model: str | Sequence[str] | None = None
    models: Sequence[ModelFit] = ()
    warnings: Sequence[ResultWarning] = ()
    provenance: Provenance = field(default_factory=Provenance)
    stratum: str | None = None
    estimable: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def unobserved(self) -> float | None:
        """Estimated number of people no list saw (the dark figure)."""
        return None if self.estimate is None else self.estimate - self.observed

    def conf_int(self) -> tuple[float | None, float | None]:
        """Return ``(lower, upper)``; ``upper`` is ``None`` when unbounded."""
        return (self.lower, self.upper)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-serialisable dict (the CLI's ``--json`` contract)."""
        model: Any = self.model if isinstance(self.model, str) or self.model is None else list(self.model)
        d: dict[str, Any] = {
            "method": self.method,
            "estimate": _num(self.estimate),
            "lower": _num(self.lower),
            "upper": _num(self.upper),
            "level": self.level,
            "observed": int(self.observed),
            "lists": list(self.lists),
            "model": model,
            "models": [m.to_dict() for m in self.models],
            "warnings": [w.to_dict() for w in self.warnings],
            "provenance": self.provenance.to_dict(),
            "stratum": self.stratum,
            "estimable": self.estimable,
        }
        for k, v in self.extra.items():
            d.setdefault(k, v)
        return d

    def to_json(self, **kwargs: Any) -> str:
        """Return :meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EstimateResult:
        """Rebuild a result from :meth:`to_dict` output."""
        known = {"method", "estimate", "lower", "upper", "level", "observed", "lists", "model", "models",
                 "warnings", "provenance", "stratum", "estimable"}
        model = d.get("model")
        return cls(
            method=d["method"],
            estimate=d.get("estimate"),
            lower=d.get("lower"),
            upper=d.get("upper"),
            level=d.get("level", 0.95),
            observed=d.get("observed", 0),
            lists=tuple(d.get("lists", ())),
            model=model if isinstance(model, str) or model is None else tuple(model),
            models=tuple(ModelFit.from_dict(m) for m in d.get("models", ())),
            warnings=tuple(ResultWarning(w["code"], w["message"]) for w in d.get("warnings", ())),
            provenance=Provenance.from_dict(d.get("provenance", {})),
            stratum=d.get("stratum"),
            estimable=d.get("estimable", True),
            extra={k: v for k, v in d.items() if k not in known},
        )

    def summary(self) -> str:
        """Return a plain-text summary."""
        def f(x: float | None) -> str:
            return "unbounded" if x is None else f"{x:,.0f}"

        head = f"{self.method}" + (f" [{self.stratum}]" if self.stratum else "")
        lines = [head, "-" * len(head)]
        if not self.estimable or self.estimate is None:
            lines.append("not estimable")
        else:
            lines.append(f"estimate   {f(self.estimate)}")
            lines.append(f"{self.level:.0%} interval  {f(self.lower)} – {f(self.upper)}")
        lines.append(f"observed   {self.observed:,}")
        lines.append(f"lists      {', '.join(self.lists)}")
        if self.model is not None:
            m = self.model if isinstance(self.model, str) else (" + ".join(self.model) or "independence")
            lines.append(f"model      {m}")
        for w in self.warnings:
            lines.append(f"warning    [{w.code}] {w.message}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"
