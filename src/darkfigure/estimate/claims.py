"""Claims check: what the data say about each published claim, with an interval, n and a verdict.

A claim is a statement, the question it is about (an :class:`~darkfigure.estimate.findings.Indicator`) and
the value claimed: ``claimed`` ± ``tolerance`` for "about X%", or ``at_least`` / ``at_most`` for "most" or
"fewer than". The claimed range is compared with the data's interval for the share:

* **not enough data** — fewer than ``min_n`` units have information on the question, or the interval is
  wider than ``max_width`` (it could not tell the claim from its opposite);
* **consistent** — the interval meets the claimed range;
* **inconsistent** — the interval lies wholly above or below it.

"Consistent" means the data do not contradict the claim, not that they prove it. The default claims are the
2019 report's (``estimate/data/claims_2019.yaml``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .._provenance import Provenance
from ..exceptions import InputError
from ..release.suppression import DEFAULT_THRESHOLD, suppress_share, suppressed_label
from ._datafile import read_yaml_file
from .findings import Indicator, age_band, person_frame, records_digest
from .proportions import proportion

__all__ = ["VERDICTS", "Claim", "ClaimCheck", "ClaimSet", "ClaimsReport", "check_claims", "judge",
           "load_claims"]

VERDICTS = ("consistent", "inconsistent", "not enough data")


@dataclass(frozen=True)
class Claim:
    """One published claim."""

    id: str
    statement: str
    question: Indicator
    claimed: float | None = None
    tolerance: float = 0.05
    at_least: float | None = None
    at_most: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.claimed is None and self.at_least is None and self.at_most is None:
            raise InputError(f"claim {self.id}: give claimed, at_least or at_most")
        for v in (self.claimed, self.at_least, self.at_most):
            if v is not None and not 0 <= v <= 1:
                raise InputError(f"claim {self.id}: shares are between 0 and 1")

    @property
    def claimed_range(self) -> tuple[float, float]:
        """The range of shares the claim's wording allows."""
        if self.claimed is not None:
            return (max(0.0, self.claimed - self.tolerance), min(1.0, self.claimed + self.tolerance))
        lo = self.at_least if self.at_least is not None else 0.0
        hi = self.at_most if self.at_most is not None else 1.0
        return (lo, hi)

    def claimed_text(self) -> str:
        if self.claimed is not None:
            return f"about {self.claimed:.0%}"
        if self.at_least is not None and self.at_most is not None:
            return f"{self.at_least:.0%}–{self.at_most:.0%}"
        if self.at_least is not None:
            return "most" if abs(self.at_least - 0.5) < 1e-9 else f"at least {self.at_least:.0%}"
        return f"at most {self.at_most:.0%}"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Claim:
        try:
            cid = str(d["id"])
            q = Indicator.from_dict(d["question"])
        except KeyError as exc:
            raise InputError(f"a claim is missing {exc.args[0]!r}") from None

        def f(key: str) -> float | None:
            return None if d.get(key) is None else float(d[key])

        return cls(cid, str(d.get("statement", cid)), q, f("claimed"), float(d.get("tolerance", 0.05)),
                   f("at_least"), f("at_most"), str(d.get("note", "")))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "statement": self.statement, "question": self.question.to_dict(),
                "claimed": self.claimed, "tolerance": self.tolerance, "at_least": self.at_least,
                "at_most": self.at_most, "claimed_text": self.claimed_text(),
                "claimed_range": list(self.claimed_range), "note": self.note}


@dataclass(frozen=True)
class ClaimSet:
    """A YAML file of claims and its verdict settings."""

    claims: tuple[Claim, ...]
    source: str = ""
    min_n: int = 30
    max_width: float = 0.4
    path_sha256: str | None = None


def load_claims(path: str | Path | None = None) -> ClaimSet:
    """Read a claims YAML (default: the 2019 report's claims shipped with darkfigure).

    Examples
    --------
    >>> cs = load_claims()
    >>> [c.id for c in cs.claims][:2]
    ['sex_trade', 'prostitution']
    """
    from .._provenance import sha256_bytes

    raw, d = read_yaml_file(path, "data/claims_2019.yaml", "claims file")
    if not isinstance(d, dict) or not isinstance(d.get("claims"), list):
        raise InputError("the claims file needs a 'claims' list")
    claims = tuple(Claim.from_dict(c) for c in d["claims"])
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise InputError("claim ids must be unique")
    return ClaimSet(claims, str(d.get("source", "")), int(d.get("min_n", 30)), float(d.get("max_width", 0.4)),
                    sha256_bytes(raw))


def judge(lower: float, upper: float, n: int, claimed_range: tuple[float, float], min_n: int = 30,
          max_width: float = 0.4) -> tuple[str, str]:
    """Return ``(verdict, reason)`` for an interval against a claimed range.

    Examples
    --------
    >>> judge(0.45, 0.62, 100, (0.55, 0.65))[0]
    'consistent'
    >>> judge(0.20, 0.35, 100, (0.55, 0.65))
    ('inconsistent', 'the interval lies below the claimed range')
    >>> judge(0.1, 0.9, 100, (0.55, 0.65))[0]
    'not enough data'
    """
    if n < min_n:
        return VERDICTS[2], f"fewer than {min_n} units have information on the question"
    if upper - lower > max_width:
        return VERDICTS[2], f"the interval is wider than {max_width:.0%}"
    lo, hi = claimed_range
    if upper < lo:
        return VERDICTS[1], "the interval lies below the claimed range"
    if lower > hi:
        return VERDICTS[1], "the interval lies above the claimed range"
    return VERDICTS[0], "the interval meets the claimed range"


@dataclass(frozen=True)
class ClaimCheck:
    """The data's answer to one claim (already suppressed when ``k`` or ``n - k`` is small)."""

    claim: Claim
    k: int | str
    n: int | str
    missing: int
    estimate: float | None
    lower: float | None
    upper: float | None
    verdict: str
    reason: str
    suppressed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**self.claim.to_dict(), "k": self.k, "n": self.n, "missing": self.missing,
                "estimate": self.estimate, "lower": self.lower, "upper": self.upper, "verdict": self.verdict,
                "reason": self.reason, "suppressed": self.suppressed}


@dataclass(frozen=True)
class ClaimsReport:
    """Every claim's check plus the settings used."""

    checks: tuple[ClaimCheck, ...]
    source: str
    unit: str
    method: str
    level: float
    min_n: int
    max_width: float
    threshold: int
    claims_sha256: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "unit": self.unit, "method": self.method, "level": self.level,
                "min_n": self.min_n, "max_width": self.max_width, "threshold": self.threshold,
                "claims_sha256": self.claims_sha256, "verdicts": list(VERDICTS),
                "provenance": Provenance(input_sha256=self.extra.get("records_sha256"),
                                         settings={"claims_sha256": self.claims_sha256,
                                                   "method": self.method, "level": self.level}).to_dict(),
                "claims": [c.to_dict() for c in self.checks],
                **{k: v for k, v in self.extra.items() if k != "records_sha256"}}

    def write_json(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        return p

    def verdict(self, claim_id: str) -> str:
        for c in self.checks:
            if c.claim.id == claim_id:
                return c.verdict
        raise KeyError(claim_id)


def check_claims(frame: pd.DataFrame, claims: ClaimSet | Sequence[Claim] | None = None,
                 person_ids: Mapping[str, str] | None = None, *, method: str = "wilson",
                 level: float = 0.95, threshold: int = DEFAULT_THRESHOLD,
                 min_n: int | None = None, max_width: float | None = None) -> ClaimsReport:
    """Check each claim against the records (or linked persons, when ``person_ids`` is given).

    Parameters
    ----------
    frame : DataFrame
        ``store.records_frame(identifying=False)``.
    claims : ClaimSet or sequence of Claim, optional
        Default: :func:`load_claims` ().
    person_ids : mapping, optional
        ``store.person_ids()``: count each linked person once.
    method, level : interval method and level.
    threshold : int
        Small-cell suppression threshold for the released counts.
    min_n, max_width : override the claim file's verdict settings.

    Returns
    -------
    ClaimsReport
    """
    cs = load_claims() if claims is None else claims
    if not isinstance(cs, ClaimSet):
        cs = ClaimSet(tuple(cs))
    mn = cs.min_n if min_n is None else min_n
    mw = cs.max_width if max_width is None else max_width
    needed = set().union(*(c.question.fields() for c in cs.claims)) if cs.claims else set()
    units = person_frame(frame, person_ids, columns=needed) if person_ids else frame
    if "age_band" not in units.columns and "age_at_exploitation" in units.columns:
        units = units.assign(age_band=units["age_at_exploitation"].map(age_band))
    checks = []
    for c in cs.claims:
        try:
            k, n, missing = c.question.counts(units)
        except InputError:
            checks.append(ClaimCheck(c, 0, 0, len(units), None, None, None, VERDICTS[2],
                                     "the records have no such question"))
            continue
        if n == 0:
            checks.append(ClaimCheck(c, 0, 0, missing, None, None, None, VERDICTS[2],
                                     "no unit has information on the question"))
            continue
        p = proportion(k, n, method=method, level=level)
        verdict, reason = judge(p.lower, p.upper, n, c.claimed_range, mn, mw)
        if suppress_share(k, n, threshold):
            lab = suppressed_label(threshold)
            checks.append(ClaimCheck(c, lab, lab if 0 < n < threshold else n, missing, None, None, None,
                                     verdict, reason, True))
        else:
            checks.append(ClaimCheck(c, k, n, missing, p.estimate, p.lower, p.upper, verdict, reason))
    return ClaimsReport(tuple(checks), cs.source, "persons" if person_ids else "records", method, level, mn,
                        mw, threshold, cs.path_sha256, {"records_sha256": records_digest(frame)})
