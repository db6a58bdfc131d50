"""Findings: the shares, cross-tabulations and quartiles a report states — with n, intervals and
small-cell suppression applied before anything leaves.

Input is ``store.records_frame(identifying=False)``: one row per record, coded fields as vocabulary codes,
multi-select fields as lists. Nothing identifying is read.

Unit of counting
----------------
When linkage has run (``person_ids`` given, from ``store.person_ids()``), findings count **linked persons**:
the records of one person are merged first, so a woman known to three organisations counts once. Merging
rules: a multi-select answer is the union over her records; a coded single answer is the most frequent known
value (ties: the first in code order); a number is the median of the known values. Without linkage, findings
count records and say so — a person on several lists then counts several times. The per-source breakdowns
always count records within each source (one organisation's list).

Denominators
------------
Each share's denominator is the number of units *with information on that question*; units with no answer
are excluded and reported as ``missing``. For a multi-select question the shares can sum to more than 100%
(one person can be recruited by deception *and* sold by a broker), and the output says so.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._provenance import Provenance
from ..exceptions import InputError
from ..release.suppression import (
    DEFAULT_THRESHOLD,
    is_small,
    suppress_frequencies,
    suppress_share,
    suppress_table,
    suppressed_label,
)
from .proportions import proportion, quantile_summary

__all__ = [
    "AGE_BANDS",
    "DEFAULT_CROSSTABS",
    "DEFAULT_MULTI",
    "DEFAULT_NUMERIC",
    "DEFAULT_SINGLE",
    "Findings",
    "Indicator",
    "age_band",
    "compute_findings",
    "is_known",
    "person_frame",
    "records_digest",
]

#: Multi-select questions (lists of codes) and their vocabularies.
DEFAULT_MULTI: dict[str, str] = {
    "exploitation_types": "TypeOfExploitation",
    "sex_exploitation_subtypes": "TypeOfSexExploitation",
    "recruitment_means": "Recruitment",
    "means_of_control": "MethodsOfControl",
    "perpetrator_roles": "RoleInProcess",
    "harms": "Harm",
}
#: Single-select coded questions and their vocabularies (``age_band`` is derived from age at exploitation).
DEFAULT_SINGLE: dict[str, str] = {
    "age_band": "AgeBand",
    "venue_class": "VenueClass",
    "venue_type": "VenueType",
    "home_province": "NKProvince",
    "perpetrator_relationship": "RelationshipToTrafficker",
    "outcome": "Outcome",
    "trafficking_status": "TraffickingStatus",
}
#: Numeric questions summarised by median and quartiles.
DEFAULT_NUMERIC: tuple[str, ...] = ("age_at_recruitment", "age_at_exploitation", "clients_per_night",
                                    "price_per_act_usd", "sale_price_usd", "times_sold", "duration_months")
#: Cross-tabulations (rows field, columns field).
DEFAULT_CROSSTABS: tuple[tuple[str, str], ...] = (("exploitation_types", "recruitment_means"),
                                                  ("age_band", "venue_class"))
#: Questions broken down per source organisation.
DEFAULT_BY_SOURCE: tuple[str, ...] = ("exploitation_types", "recruitment_means", "age_band")

#: CTDC age bands (lower bound, label).
AGE_BANDS: tuple[tuple[int, str], ...] = ((0, "0-8"), (9, "9-17"), (18, "18-20"), (21, "21-23"),
                                          (24, "24-26"), (27, "27-29"), (30, "30-38"), (39, "39-47"),
                                          (48, "48+"))

LABELS: dict[str, str] = {
    "exploitation_types": "Type of exploitation",
    "sex_exploitation_subtypes": "Type of sexual exploitation",
    "recruitment_means": "Means of recruitment",
    "means_of_control": "Means of control",
    "perpetrator_roles": "Roles of perpetrators",
    "harms": "Harms suffered",
    "age_band": "Age band at exploitation",
    "venue_class": "Venue class",
    "venue_type": "Venue type",
    "home_province": "Home province",
    "perpetrator_relationship": "Relationship to trafficker",
    "outcome": "Outcome",
    "trafficking_status": "Trafficking status",
    "age_at_recruitment": "Age at recruitment (years)",
    "age_at_exploitation": "Age at exploitation (years)",
    "clients_per_night": "Clients per night",
    "price_per_act_usd": "Price per act (USD)",
    "sale_price_usd": "Sale price (USD)",
    "times_sold": "Times sold",
    "duration_months": "Duration of exploitation (months)",
}

MULTI_NOTE = "multi-select question: one person can give several answers, so shares can sum to more than 100%"


def records_digest(frame: pd.DataFrame) -> str | None:
    """SHA-256 of the records' opaque ids and sources (never their contents): which records a result used."""
    from .._provenance import sha256_bytes

    if "record_id" not in frame.columns:
        return None
    src = frame["source"].astype(str) if "source" in frame.columns else pd.Series([""] * len(frame))
    pairs = sorted(zip(frame["record_id"].astype(str), src, strict=True))
    return sha256_bytes("\n".join(f"{a}\t{b}" for a, b in pairs).encode("utf-8"))


def is_known(value: Any) -> bool:
    """True when a cell holds information: not None/NaN, not an empty list or string.

    Examples
    --------
    >>> is_known([]), is_known(None), is_known(float("nan")), is_known(["A"]), is_known(0)
    (False, False, False, True, True)
    """
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    if isinstance(value, list | tuple | set | np.ndarray):
        return len(value) > 0
    return not (isinstance(value, str) and not value.strip())


def age_band(age: Any) -> str | None:
    """CTDC age band of an age in years (``None`` when unknown).

    Examples
    --------
    >>> age_band(17), age_band(29), age_band(48), age_band(None)
    ('9-17', '27-29', '48+', None)
    """
    if not is_known(age):
        return None
    a = float(age)
    label = None
    for lo, lab in AGE_BANDS:
        if a >= lo:
            label = lab
    return label


# ---------------------------------------------------------------------------------------------- indicators
@dataclass(frozen=True)
class Indicator:
    """A yes/no question asked of each record (or person): the building block of claims and model shares.

    Parameters
    ----------
    field : str
        The column asked about.
    any_of : sequence of str
        Codes: yes when the (multi-select) answer contains any of them, or the single answer is one of them.
    between : (float, float), optional
        For a numeric field: yes when ``low <= value <= high`` (inclusive).
    among : Indicator, optional
        Restrict the denominator to the units for which this indicator is yes.
    informative : sequence of str
        Fields of which at least one must be known for a unit to count in the denominator
        (default: ``field`` itself). Naming a broader field says that "no answer here" means "no".

    Examples
    --------
    >>> df = pd.DataFrame({"recruitment_means": [["Abduction"], ["DeceptionWork"], [], ["Abduction"]]})
    >>> Indicator("recruitment_means", any_of=("Abduction",)).counts(df)
    (2, 3, 1)
    """

    field: str
    any_of: tuple[str, ...] = ()
    between: tuple[float, float] | None = None
    among: Indicator | None = None
    informative: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if bool(self.any_of) == (self.between is not None):
            raise InputError(f"indicator on {self.field}: give exactly one of any_of or between")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Indicator:
        """Build from YAML: ``{field, any_of | between, among, informative}``."""
        try:
            fld = str(d["field"])
        except KeyError:
            raise InputError("an indicator needs a 'field'") from None
        any_of = d.get("any_of") or ()
        if isinstance(any_of, str):
            any_of = (any_of,)
        between = d.get("between")
        if between is not None:
            if len(between) != 2:
                raise InputError(f"indicator on {fld}: 'between' needs two numbers")
            between = (float(between[0]), float(between[1]))
        among = d.get("among")
        info = d.get("informative") or ()
        if isinstance(info, str):
            info = (info,)
        return cls(fld, tuple(str(a) for a in any_of), between,
                   cls.from_dict(among) if among else None, tuple(str(i) for i in info))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"field": self.field}
        if self.any_of:
            d["any_of"] = list(self.any_of)
        if self.between is not None:
            d["between"] = list(self.between)
        if self.among is not None:
            d["among"] = self.among.to_dict()
        if self.informative:
            d["informative"] = list(self.informative)
        return d

    def fields(self) -> set[str]:
        """Every column this indicator reads (``age_band`` reads ``age_at_exploitation``)."""
        out = {self.field, *self.informative}
        if self.among is not None:
            out |= self.among.fields()
        if "age_band" in out:
            out.add("age_at_exploitation")
        return out

    def _column(self, frame: pd.DataFrame, name: str) -> pd.Series:
        if name == "age_band" and name not in frame.columns and "age_at_exploitation" in frame.columns:
            return frame["age_at_exploitation"].map(age_band)
        if name not in frame.columns:
            raise InputError(f"indicator: no column {name!r} in the records")
        return frame[name]

    def _yes(self, value: Any) -> bool:
        if not is_known(value):
            return False
        if self.between is not None:
            return self.between[0] <= float(value) <= self.between[1]
        if isinstance(value, list | tuple | set | np.ndarray):
            return any(v in self.any_of for v in value)
        return value in self.any_of

    def masks(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boolean arrays: (in the sub-population, informative, yes)."""
        pop = np.ones(len(frame), dtype=bool) if self.among is None else self.among.masks(frame)[2]
        fields = self.informative or (self.field,)
        info = np.zeros(len(frame), dtype=bool)
        for f in fields:
            info |= self._column(frame, f).map(is_known).to_numpy(dtype=bool)
        yes = self._column(frame, self.field).map(self._yes).to_numpy(dtype=bool)
        return pop, info & pop, yes & info & pop

    def counts(self, frame: pd.DataFrame) -> tuple[int, int, int]:
        """Return ``(k, n, missing)``: yes, units with information, units of the sub-population without it."""
        pop, info, yes = self.masks(frame)
        return int(yes.sum()), int(info.sum()), int(pop.sum() - info.sum())


# ---------------------------------------------------------------------------------------------- persons
def _list_fields() -> set[str]:
    from ..schema.records import CaseRecord

    out = set()
    for name, f in CaseRecord.model_fields.items():
        if getattr(f.annotation, "__origin__", None) is list or f.default_factory is list:
            out.add(name)
    return out


def _numeric_fields() -> set[str]:
    from ..schema.records import CaseRecord

    out = set()
    for name, f in CaseRecord.model_fields.items():
        s = str(f.annotation)
        if ("int" in s or "float" in s) and name not in ("schema_version",):
            out.add(name)
    return out


def _merge_list(values: pd.Series) -> list[str]:
    out: set[str] = set()
    for v in values:
        if is_known(v):
            out.update(str(x) for x in v)
    return sorted(out)


def _merge_numeric(values: pd.Series) -> float | None:
    known = [float(v) for v in values if is_known(v)]
    return float(np.median(known)) if known else None


def _merge_mode(values: pd.Series) -> Any:
    known = [v for v in values if is_known(v)]
    if not known:
        return None
    counts: dict[Any, int] = {}
    for v in known:
        counts[v] = counts.get(v, 0) + 1
    best = max(counts.values())
    return sorted((str(v) for v, c in counts.items() if c == best))[0]


def person_frame(frame: pd.DataFrame, person_ids: Mapping[str, str],
                 columns: Collection[str] | None = None) -> pd.DataFrame:
    """Merge the records of each linked person into one row (see the module docstring for the rules).

    Records absent from ``person_ids`` are persons of their own. The result has ``person_id``, ``sources``
    (sorted list) and ``n_records`` columns in place of the record ids; ``columns`` limits the merged
    columns to those needed.

    Examples
    --------
    >>> df = pd.DataFrame({"record_id": ["r1", "r2", "r3"], "source": ["a", "b", "a"],
    ...                    "recruitment_means": [["Abduction"], ["SoldByBroker"], []],
    ...                    "age_at_exploitation": [20, 22, None]})
    >>> p = person_frame(df, {"r1": "p1", "r2": "p1"})
    >>> p[["person_id", "n_records"]].values.tolist()
    [['p1', 2], ['r3', 1]]
    >>> p.loc[0, "recruitment_means"], float(p.loc[0, "age_at_exploitation"])
    (['Abduction', 'SoldByBroker'], 21.0)
    """
    if "record_id" not in frame.columns:
        raise InputError("the records table has no record_id column")
    lists = _list_fields()
    nums = _numeric_fields()
    keep = [c for c in frame.columns if c not in ("record_id", "source_record_id")
            and (columns is None or c in columns or c == "source")]
    pid = frame["record_id"].map(lambda r: person_ids.get(r, r)).to_numpy()
    work = frame[keep].assign(person_id=pid)
    sizes = work.groupby("person_id", sort=False).size()
    # most people have one record: copy those rows as they are and merge only the others (much faster)
    multi = work["person_id"].map(sizes).to_numpy() > 1
    single = work[~multi].copy()
    single["sources"] = [[s] for s in single["source"]] if "source" in single.columns else None
    single["n_records"] = 1
    aggs: dict[str, Callable[[pd.Series], Any]] = {}
    for col in keep:
        if col == "source":
            aggs["source"] = lambda s: sorted(set(s))
        elif col in lists:
            aggs[col] = _merge_list
        elif col in nums:
            aggs[col] = _merge_numeric
        else:
            aggs[col] = _merge_mode
    grouped = work[multi].groupby("person_id", sort=False)
    merged = pd.DataFrame({col: grouped[col].agg(fn) for col, fn in aggs.items()})
    merged["n_records"] = grouped.size()
    merged = merged.rename(columns={"source": "sources"}).reset_index()
    single = single.drop(columns=["source"], errors="ignore")
    out = pd.concat([merged, single[merged.columns]], ignore_index=True) if len(merged) else \
        single[["person_id", *[c for c in merged.columns if c != "person_id"]]].reset_index(drop=True)
    # first-appearance order of persons, as the records came
    order = {p: i for i, p in enumerate(dict.fromkeys(pid))}
    out = out.iloc[np.argsort(out["person_id"].map(order).to_numpy(), kind="stable")].reset_index(drop=True)
    return out


# ---------------------------------------------------------------------------------------------- labels
@functools.lru_cache(maxsize=64)  # vocabularies are read-only YAML: read each once
def _vocab_codes(vocab: str) -> tuple[list[str], Callable[[str], str]]:
    """Codes and an English-label function of a vocabulary (empty when the schema part is not there)."""
    if vocab == "AgeBand":
        return [lab for _, lab in AGE_BANDS], lambda c: c
    try:
        from ..schema.vocab import load_vocabulary  # owned by the schema engineer

        v = load_vocabulary(vocab)
        return list(v.codes), lambda c: str(v.label(c, lang="en"))
    except Exception:  # vocabulary missing or not built yet: codes from the data only
        return [], lambda c: c


# ---------------------------------------------------------------------------------------------- findings
@dataclass(frozen=True)
class Findings:
    """Released findings: every table already suppressed. Only aggregates are held.

    Use :func:`compute_findings` to build one; :meth:`to_dict` gives the ``findings.json`` content.
    """

    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.data))

    def write_json(self, path: str | Path) -> Path:
        """Write ``findings.json`` (already suppressed)."""
        p = Path(path)
        p.write_text(json.dumps(self.data, indent=2, ensure_ascii=False), encoding="utf-8")
        return p

    def question(self, fld: str) -> dict[str, Any]:
        """The released table of one question (raises KeyError when absent)."""
        for q in self.data.get("questions", []):
            if q["field"] == fld:
                return dict(q)
        raise KeyError(fld)

    def numeric(self, fld: str) -> dict[str, Any]:
        for q in self.data.get("numeric", []):
            if q["field"] == fld:
                return dict(q)
        raise KeyError(fld)


class _Tally:
    """Counts cells hidden while building a release."""

    def __init__(self) -> None:
        self.primary = 0
        self.secondary = 0


def _prop_row(code: str, label: str, k: int, n: int, hide: bool, method: str, level: float,
              threshold: int) -> dict[str, Any]:
    if hide:
        return {"code": code, "label": label, "k": suppressed_label(threshold), "estimate": None,
                "lower": None, "upper": None, "suppressed": True}
    if n == 0:
        return {"code": code, "label": label, "k": k, "estimate": None, "lower": None, "upper": None,
                "suppressed": False}
    p = proportion(k, n, method=method, level=level)
    return {"code": code, "label": label, "k": k, "estimate": p.estimate, "lower": p.lower, "upper": p.upper,
            "suppressed": False}


def _codes_for(series: pd.Series, vocab: str) -> tuple[list[str], Callable[[str], str]]:
    codes, label = _vocab_codes(vocab)
    codes = list(codes)
    seen: set[str] = set()
    for v in series:
        if not is_known(v):
            continue
        if isinstance(v, list | tuple | set | np.ndarray):
            seen.update(str(x) for x in v)
        else:
            seen.add(str(v))
    extra = sorted(seen - set(codes))
    return [*codes, *extra], label


def _question(frame: pd.DataFrame, fld: str, vocab: str, multi: bool, method: str, level: float,
              threshold: int, tally: _Tally) -> dict[str, Any]:
    col = frame[fld]
    known = col.map(is_known).to_numpy(dtype=bool)
    n = int(known.sum())
    missing = int(len(col) - n)
    codes, label = _codes_for(col, vocab)
    counts: dict[str, int] = {}
    for c in codes:
        if multi:
            counts[c] = int(sum(1 for v in col[known] if c in v))
        else:
            counts[c] = int((col[known].astype(str) == c).sum())
    n_hidden = is_small(n, threshold)
    rows = []
    if multi:
        for c in codes:
            hide = n_hidden or suppress_share(counts[c], n, threshold)
            tally.primary += int(hide)
            rows.append(_prop_row(c, label(c), counts[c], n, hide, method, level, threshold))
    else:
        sup = suppress_frequencies(counts, threshold, additive=True)
        tally.primary += sup.n_primary
        tally.secondary += sup.n_secondary
        for i, c in enumerate(codes):
            hide = n_hidden or bool(sup.hidden[i])
            rows.append(_prop_row(c, label(c), counts[c], n, hide, method, level, threshold))
    out = {"field": fld, "label": LABELS.get(fld, fld), "kind": "multi" if multi else "single",
           "n": suppressed_label(threshold) if n_hidden else n, "missing": missing,
           "denominator": "units with information on this question (missing excluded)", "rows": rows}
    if multi:
        out["note"] = MULTI_NOTE
    return out


def _numeric(frame: pd.DataFrame, fld: str, threshold: int, min_n: int) -> dict[str, Any]:
    s = quantile_summary(frame[fld].tolist())
    d = {"field": fld, "label": LABELS.get(fld, fld), **s.to_dict()}
    if s.n < max(min_n, threshold):
        # a median of a handful of values is one person's value
        d.update({"q1": None, "median": None, "q3": None, "mean": None, "suppressed": True})
        if is_small(s.n, threshold):
            d["n"] = suppressed_label(threshold)
    else:
        d["suppressed"] = False
    return d


def _crosstab(frame: pd.DataFrame, rf: str, cf: str, threshold: int, tally: _Tally) -> dict[str, Any]:
    rmulti, cmulti = rf in DEFAULT_MULTI, cf in DEFAULT_MULTI
    rvocab = DEFAULT_MULTI.get(rf) or DEFAULT_SINGLE.get(rf, rf)
    cvocab = DEFAULT_MULTI.get(cf) or DEFAULT_SINGLE.get(cf, cf)
    rcol, ccol = frame[rf], frame[cf]
    both = (rcol.map(is_known) & ccol.map(is_known)).to_numpy(dtype=bool)
    rcodes, rlabel = _codes_for(rcol[both], rvocab)
    ccodes, clabel = _codes_for(ccol[both], cvocab)
    # keep only categories that occur: a cross-table of every vocabulary code would be mostly zeros
    table = np.zeros((len(rcodes), len(ccodes)), dtype=np.int64)
    ri = {c: i for i, c in enumerate(rcodes)}
    ci = {c: i for i, c in enumerate(ccodes)}
    for rv, cv in zip(rcol[both], ccol[both], strict=True):
        rs = list(rv) if rmulti else [rv]
        cs = list(cv) if cmulti else [cv]
        for a in rs:
            for b in cs:
                table[ri[str(a)], ci[str(b)]] += 1
    rk = [i for i in range(len(rcodes)) if table[i].sum() > 0]
    ck = [j for j in range(len(ccodes)) if table[:, j].sum() > 0]
    table = table[np.ix_(rk, ck)]
    rcodes = [rcodes[i] for i in rk]
    ccodes = [ccodes[j] for j in ck]
    additive = not (rmulti or cmulti)
    n = int(both.sum())
    lab = suppressed_label(threshold)
    if table.size == 0:
        return {"rows_field": rf, "cols_field": cf, "row_codes": [], "col_codes": [], "row_labels": [],
                "col_labels": [], "cells": [], "row_totals": None, "col_totals": None, "total": n,
                "additive": additive}
    sup = suppress_table(table, threshold, additive=additive)
    tally.primary += sup.n_primary
    tally.secondary += sup.n_secondary
    hid = sup.hidden
    cells = [[lab if hid[i, j] else int(table[i, j]) for j in range(len(ccodes))] for i in range(len(rcodes))]
    out: dict[str, Any] = {
        "rows_field": rf, "cols_field": cf, "row_label": LABELS.get(rf, rf), "col_label": LABELS.get(cf, cf),
        "row_codes": rcodes, "col_codes": ccodes,
        "row_labels": [rlabel(c) for c in rcodes], "col_labels": [clabel(c) for c in ccodes],
        "cells": cells, "additive": additive,
        "total": lab if is_small(n, threshold) else n,
    }
    if additive:
        r, c = table.shape
        out["row_totals"] = [lab if hid[i, c] else int(table[i].sum()) for i in range(r)]
        out["col_totals"] = [lab if hid[r, j] else int(table[:, j].sum()) for j in range(c)]
    else:
        out["row_totals"] = out["col_totals"] = None
        out["note"] = ("multi-select on at least one side: a unit is counted in every cell of its answers, "
                       "so cells do not add up; 'total' is the number of units with information on both "
                       "questions")
    return out


def _hide(row: dict[str, Any], threshold: int) -> None:
    row.update({"k": suppressed_label(threshold), "estimate": None, "lower": None, "upper": None,
                "suppressed": True})


def _across_sources(per: dict[str, dict[str, Any]], overall: dict[str, Any] | None, threshold: int,
                    tally: _Tally) -> None:
    """Secondary suppression across the per-source tables of one question.

    When findings count records, an answer's overall count is the sum of its per-source counts: a single
    hidden per-source cell could be recovered from the overall and the others, so another is hidden too.
    (When findings count persons the overall is not a sum of the per-source record counts.)
    """
    if overall is None or not per:
        return
    tables = list(per.values())
    for i, orow in enumerate(overall["rows"]):
        cells = [t["rows"][i] for t in tables]
        changed = True
        while changed:
            changed = False
            group_hidden = [c["suppressed"] for c in cells] + [orow["suppressed"]]
            if sum(group_hidden) != 1:
                break
            shown = [c for c in cells if not c["suppressed"]]
            if not shown:
                break
            nz = [c for c in shown if isinstance(c["k"], int) and c["k"] > 0]
            pick = min(nz or shown, key=lambda c: c["k"] if isinstance(c["k"], int) else 0)
            _hide(pick, threshold)
            tally.secondary += 1
            changed = True


def compute_findings(frame: pd.DataFrame, person_ids: Mapping[str, str] | None = None, *,
                     threshold: int = DEFAULT_THRESHOLD, method: str = "wilson", level: float = 0.95,
                     multi: Mapping[str, str] | None = None, single: Mapping[str, str] | None = None,
                     numeric: Sequence[str] | None = None,
                     crosstabs: Sequence[tuple[str, str]] | None = None,
                     by_source: Sequence[str] | None = None, min_n_quantiles: int = 10) -> Findings:
    """Compute the released findings from a records table.

    Parameters
    ----------
    frame : DataFrame
        ``store.records_frame(identifying=False)``.
    person_ids : mapping, optional
        ``store.person_ids()``; when non-empty, findings count linked persons (see the module docstring).
    threshold : int
        Small-cell suppression threshold (counts ``0 < c < threshold`` shown as ``"<threshold"``).
    method, level : str, float
        Interval method (``wilson``, ``clopper-pearson``, ``jeffreys``) and level.
    multi, single, numeric, crosstabs, by_source
        Questions to tabulate (defaults: ``DEFAULT_MULTI`` ... ; a column absent from ``frame`` is skipped).
    min_n_quantiles : int
        Quartiles are released only from at least this many known values (and ``threshold``).

    Returns
    -------
    Findings
        Suppressed tables only; nothing record-level.
    """
    if "age_band" not in frame.columns and "age_at_exploitation" in frame.columns:
        frame = frame.assign(age_band=frame["age_at_exploitation"].map(age_band))
    multi = dict(DEFAULT_MULTI if multi is None else multi)
    single = dict(DEFAULT_SINGLE if single is None else single)
    numeric = tuple(DEFAULT_NUMERIC if numeric is None else numeric)
    crosstabs = tuple(DEFAULT_CROSSTABS if crosstabs is None else crosstabs)
    by_source = tuple(DEFAULT_BY_SOURCE if by_source is None else by_source)
    linked = bool(person_ids)
    needed = {*multi, *single, *numeric, *(f for pair in crosstabs for f in pair), "age_at_exploitation"}
    units = person_frame(frame, person_ids or {}, columns=needed) if linked else frame
    if linked and "age_at_exploitation" in units.columns:
        units = units.assign(age_band=units["age_at_exploitation"].map(age_band))
    tally = _Tally()
    lab = suppressed_label(threshold)
    questions = []
    for fld, vocab in multi.items():
        if fld in units.columns:
            questions.append(_question(units, fld, vocab, True, method, level, threshold, tally))
    for fld, vocab in single.items():
        if fld in units.columns:
            questions.append(_question(units, fld, vocab, False, method, level, threshold, tally))
    nums = [_numeric(units, f, threshold, min_n_quantiles) for f in numeric if f in units.columns]
    xtabs = [_crosstab(units, r, c, threshold, tally) for r, c in crosstabs
             if r in units.columns and c in units.columns]
    per_source: list[dict[str, Any]] = []
    if "source" in frame.columns:
        sources = sorted(frame["source"].dropna().astype(str).unique())
        for fld in by_source:
            if fld not in frame.columns:
                continue
            is_multi = fld in multi
            vocab = multi.get(fld) or single.get(fld, fld)
            per = {}
            for s in sources:
                sub = frame[frame["source"].astype(str) == s]
                per[s] = _question(sub, fld, vocab, is_multi, method, level, threshold, tally)
            overall = next((q for q in questions if q["field"] == fld), None) if not linked else None
            _across_sources(per, overall, threshold, tally)
            per_source.append({"field": fld, "label": LABELS.get(fld, fld), "unit": "records",
                               "sources": per})
    n_units = len(units)
    unit = "persons" if linked else "records"
    data = {
        "unit": unit,
        "unit_note": ("linked persons: the records of one person are merged, so each person counts once"
                      if linked else
                      "records: linkage has not run, so a person on several lists counts once per list"),
        "n_units": lab if is_small(n_units, threshold) else n_units,
        "n_records": lab if is_small(len(frame), threshold) else len(frame),
        "n_sources": int(frame["source"].nunique()) if "source" in frame.columns else None,
        "method": method, "level": level,
        "suppression": {"threshold": threshold, "shown_as": lab, "cells_primary": tally.primary,
                        "cells_secondary": tally.secondary,
                        "rule": f"counts from 1 to {threshold - 1} hidden; further cells hidden where a "
                                "hidden count could be recovered from totals; quartiles need at least "
                                f"{max(min_n_quantiles, threshold)} values"},
        "questions": questions,
        "numeric": nums,
        "crosstabs": xtabs,
        "by_source": per_source,
        "provenance": Provenance(input_sha256=records_digest(frame), seed=None,
                                 settings={"threshold": threshold, "method": method, "level": level,
                                           "unit": unit, "min_n_quantiles": min_n_quantiles}).to_dict(),
    }
    return Findings(data)
