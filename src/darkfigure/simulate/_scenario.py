"""Scenario: the simulator's generative model as validated, plain data (YAML)."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..exceptions import ScenarioError

__all__ = [
    "OUTCOMES",
    "PATHWAYS",
    "WRITERS",
    "Scenario",
    "builtin_scenarios",
    "load_scenario",
]

#: Primary pathways a person can follow (the report's outcomes plus the rest).
PATHWAYS: tuple[str, ...] = (
    "prostitution",
    "forced_marriage",
    "cybersex",
    "other_sex",
    "forced_labour",
    "domestic_servitude",
    "not_exploited",
)
#: Outcome vocabulary codes (contract: vocabulary ``Outcome``).
OUTCOMES: tuple[str, ...] = ("Escaped", "Rescued", "Deported", "StillHeld", "Died", "ReachedThirdCountry")
#: File layouts the simulator knows how to write (one per kind of organisation).
WRITERS: tuple[str, ...] = (
    "rescue_ngo",
    "seoul_intake",
    "church_network",
    "research_interviews",
    "deportation_record",
)
PROVINCES: tuple[str, ...] = (
    "Pyongyang",
    "SouthPyongan",
    "NorthPyongan",
    "Chagang",
    "SouthHwanghae",
    "NorthHwanghae",
    "Kangwon",
    "SouthHamgyong",
    "NorthHamgyong",
    "Ryanggang",
    "Rason",
    "Nampo",
    "UnknownProvince",
)
RECRUITMENT: tuple[str, ...] = (
    "DeceptionFood",
    "DeceptionWork",
    "DeceptionPassage",
    "Abduction",
    "SoldByBroker",
    "SoldByFamilyOrAcquaintance",
    "OtherRecruitment",
)
CONTROL: tuple[str, ...] = (
    "RestrictsMovement",
    "UsesChildren",
    "ThreatsOfViolence",
    "PhysicalAbuse",
    "SexualAbuse",
    "WithholdsDocuments",
    "ThreatsOfDeportation",
    "DebtBondage",
    "FalsePromises",
    "Isolation",
    "PsychologicalAbuse",
    "WithholdsWages",
    "ExcessiveWorkingHours",
    "ThreatsToFamily",
)
HARMS: tuple[str, ...] = (
    "PhysicalInjury",
    "SexualViolence",
    "MentalHealth",
    "Pregnancy",
    "STI",
    "SubstanceDependence",
    "OtherHarm",
)
ROLES: tuple[str, ...] = (
    "Recruiter",
    "Broker",
    "Transporter",
    "Exploiter",
    "Buyer",
    "Facilitator",
    "OtherRole",
)
ENTERTAINMENT_VENUES: tuple[str, ...] = ("Bathhouse", "Sauna", "KaraokeBar", "Cafe", "Restaurant")
SERVICE_VENUES: tuple[str, ...] = ("MassageParlour", "BeautyParlour", "Barbershop", "HairSalon", "SmallHotel")

_BAND = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_SHARE_TOL = 1e-6

Prob = Annotated[float, Field(ge=0.0, le=1.0)]
Source = Annotated[str, Field(min_length=3)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Shares(_Model):
    """A categorical distribution with its source."""

    source: Source
    shares: dict[str, float]


class Probabilities(_Model):
    """Independent Bernoulli probabilities (multi-valued fields) with their source."""

    source: Source
    probabilities: dict[str, float]


class YearRange(_Model):
    min: int = Field(ge=1945, le=2100)
    max: int = Field(ge=1945, le=2100)


class Population(_Model):
    size: int = Field(ge=1, le=10_000_000)
    size_source: Source
    year_left: YearRange
    survey_year: int = Field(ge=1945, le=2100)
    year_source: Source
    provinces: Shares


class Pathways(Shares):
    prostitution_then_marriage: Prob
    multi_source: Source


class Ages(_Model):
    source: Source
    bands: dict[str, float]
    by_pathway: dict[str, dict[str, float]] = Field(default_factory=dict)
    recruitment_delay_share: Prob
    delay_source: Source


class VenueClassSpec(_Model):
    age_min: int = Field(ge=0, le=100)
    age_max: int = Field(ge=0, le=100)
    clients_min: int = Field(ge=0, le=100)
    clients_max: int = Field(ge=0, le=100)
    types: dict[str, float]


class Venues(_Model):
    source: Source
    p_entertainment: Prob
    entertainment: VenueClassSpec
    service: VenueClassSpec


class LogNormal(_Model):
    median: float = Field(gt=0)
    sd_log: float = Field(ge=0)


class WifePrice(_Model):
    minimum: float = Field(gt=0)
    scale_log: float = Field(ge=0)


class Prices(_Model):
    source: Source
    price_per_act_usd: LogNormal
    wife_price_usd: WifePrice


class Exploitation(_Model):
    source: Source
    extra_sales_mean: float = Field(ge=0, le=20)
    duration_months: LogNormal


class Heterogeneity(_Model):
    source: Source
    sd: float = Field(ge=0, le=5)


class Effects(_Model):
    outcome: dict[str, float] = Field(default_factory=dict)
    pathway: dict[str, float] = Field(default_factory=dict)
    venue_class: dict[str, float] = Field(default_factory=dict)
    minor: float = 0.0


class Organisation(_Model):
    """One documenting organisation: who it sees (capture model) and how it writes (writer and habits)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    writer: str
    source: Source
    base_logit: float = Field(ge=-20, le=20)
    effects: Effects = Field(default_factory=Effects)
    depends_on: dict[str, float] = Field(default_factory=dict)
    heterogeneity_loading: float = Field(default=1.0, ge=-5, le=5)
    duplicate_rate: float = Field(default=0.0, ge=0, le=0.5)
    broken_rate: float = Field(default=0.0, ge=0, le=0.5)
    typo_rate: float = Field(default=0.0, ge=0, le=1)
    missing_rate: float = Field(default=0.0, ge=0, le=1)


class Scenario(_Model):
    """A validated simulator scenario (see ``docs/simulator.md`` for every parameter).

    Build it with :func:`load_scenario`; it is immutable.
    """

    name: str = Field(min_length=1)
    description: str = ""
    references: dict[str, str] = Field(default_factory=dict)
    population: Population
    pathways: Pathways
    ages: Ages
    venues: Venues
    prices: Prices
    recruitment: Shares
    control: Probabilities
    harms: Probabilities
    roles: Probabilities
    exploitation: Exploitation
    outcomes: Shares
    heterogeneity: Heterogeneity
    organisations: list[Organisation] = Field(min_length=2)

    @property
    def organisation_names(self) -> list[str]:
        """Names of the organisations (lists), in order."""
        return [o.name for o in self.organisations]

    def sha256(self) -> str:
        """SHA-256 of the scenario's canonical JSON (identifies it in provenance)."""
        # keys sorted: the simulator's draws do not depend on the order of keys in the YAML
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def with_size(self, size: int | None) -> Scenario:
        """Return a copy whose population size is ``size`` (``None``: unchanged)."""
        if size is None:
            return self
        if size < 1:
            raise ScenarioError("size must be a positive integer")
        pop = self.population.model_copy(update={"size": int(size)})
        return self.model_copy(update={"population": pop})


def parse_band(band: str) -> tuple[int, int]:
    """``"12-14"`` → ``(12, 14)``."""
    m = _BAND.match(band.strip())
    if not m:
        raise ValueError(band)
    return int(m.group(1)), int(m.group(2))


def _check_shares(
    where: str, shares: dict[str, float], allowed: tuple[str, ...] | None, problems: list[str]
) -> None:
    if not shares:
        problems.append(f"{where}: no categories")
        return
    for k, v in shares.items():
        if allowed is not None and k not in allowed:
            problems.append(f"{where}: unknown category '{k}' (allowed: {', '.join(allowed)})")
        if not 0.0 <= v <= 1.0:
            problems.append(f"{where}.{k}: share must be between 0 and 1")
    total = sum(shares.values())
    if abs(total - 1.0) > _SHARE_TOL:
        problems.append(f"{where}: shares sum to {total:.6g}, not 1")


def _check_probs(where: str, probs: dict[str, float], allowed: tuple[str, ...], problems: list[str]) -> None:
    for k, v in probs.items():
        if k not in allowed:
            problems.append(f"{where}: unknown code '{k}'")
        if not 0.0 <= v <= 1.0:
            problems.append(f"{where}.{k}: probability must be between 0 and 1")


def _semantic_problems(s: Scenario) -> list[str]:
    """Every cross-field problem (pydantic has checked types and ranges)."""
    problems: list[str] = []
    pop = s.population
    if pop.year_left.min > pop.year_left.max:
        problems.append("population.year_left: min is after max")
    if pop.year_left.max > pop.survey_year:
        problems.append("population.year_left.max is after population.survey_year")
    _check_shares("population.provinces", pop.provinces.shares, PROVINCES, problems)
    _check_shares("pathways", s.pathways.shares, PATHWAYS, problems)
    for name, bands in [
        ("ages.bands", s.ages.bands),
        *((f"ages.by_pathway.{p}", b) for p, b in s.ages.by_pathway.items()),
    ]:
        _check_shares(name, bands, None, problems)
        for b in bands:
            try:
                lo, hi = parse_band(b)
            except ValueError:
                problems.append(f"{name}: band '{b}' is not of the form LOW-HIGH")
                continue
            if lo > hi or hi > 100:
                problems.append(f"{name}: band '{b}' is empty or above 100")
    for p in s.ages.by_pathway:
        if p not in PATHWAYS:
            problems.append(f"ages.by_pathway: unknown pathway '{p}'")
    for cls, spec, allowed in (
        ("entertainment", s.venues.entertainment, ENTERTAINMENT_VENUES),
        ("service", s.venues.service, SERVICE_VENUES),
    ):
        if spec.age_min > spec.age_max:
            problems.append(f"venues.{cls}: age_min is above age_max")
        if spec.clients_min > spec.clients_max:
            problems.append(f"venues.{cls}: clients_min is above clients_max")
        _check_shares(f"venues.{cls}.types", spec.types, allowed, problems)
    _check_shares("recruitment", s.recruitment.shares, RECRUITMENT, problems)
    _check_shares("outcomes", s.outcomes.shares, OUTCOMES, problems)
    _check_probs("control", s.control.probabilities, CONTROL, problems)
    _check_probs("harms", s.harms.probabilities, HARMS, problems)
    _check_probs("roles", s.roles.probabilities, ROLES, problems)
    seen: list[str] = []
    for i, org in enumerate(s.organisations):
        where = f"organisations[{i}] ({org.name})"
        if org.name in seen:
            problems.append(f"{where}: duplicate organisation name")
        if org.writer not in WRITERS:
            problems.append(f"{where}: unknown writer '{org.writer}' (known: {', '.join(WRITERS)})")
        for dep in org.depends_on:
            if dep not in seen:
                problems.append(f"{where}: depends_on '{dep}', which is not an organisation listed before it")
        for k in org.effects.outcome:
            if k not in OUTCOMES:
                problems.append(f"{where}: effects.outcome has unknown outcome '{k}'")
        for k in org.effects.pathway:
            if k not in PATHWAYS:
                problems.append(f"{where}: effects.pathway has unknown pathway '{k}'")
        for k in org.effects.venue_class:
            if k not in ("Entertainment", "Service"):
                problems.append(f"{where}: effects.venue_class has unknown class '{k}'")
        seen.append(org.name)
    return problems


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped with darkfigure."""
    folder = resources.files("darkfigure.simulate") / "scenarios"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _read_text(path_or_name: str | Path) -> tuple[str, str]:
    p = Path(path_or_name)
    if p.suffix in (".yaml", ".yml") or p.exists():
        try:
            return p.read_text(encoding="utf-8"), p.name
        except OSError as exc:
            raise ScenarioError(f"cannot read scenario {p.name}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ScenarioError(f"scenario {p.name} is not UTF-8 text") from None
    name = str(path_or_name)
    if name not in builtin_scenarios():
        raise ScenarioError(
            f"no scenario file or built-in scenario '{name}' (built-in: {', '.join(builtin_scenarios())})"
        )
    res = resources.files("darkfigure.simulate") / "scenarios" / f"{name}.yaml"
    return res.read_text(encoding="utf-8"), f"{name}.yaml"


def scenario_from_dict(data: Any, where: str = "scenario") -> Scenario:
    """Validate a scenario given as a plain dict; raises ScenarioError listing every problem."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: the top level must be a mapping")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
            lines.append(f"{loc}: {err['msg']}")
        raise ScenarioError(f"{where}: {len(lines)} problem(s): " + "; ".join(lines)) from None
    problems = _semantic_problems(scenario)
    if problems:
        raise ScenarioError(f"{where}: {len(problems)} problem(s): " + "; ".join(problems))
    return scenario


def load_scenario(path_or_name: str | Path = "nk-china-2019") -> Scenario:
    """Load and validate a scenario.

    Parameters
    ----------
    path_or_name : str or path
        A YAML file, or the name of a built-in scenario (default ``"nk-china-2019"``).

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        The file cannot be read or parsed, or is invalid; the message lists every problem found.

    Examples
    --------
    >>> s = load_scenario()
    >>> s.name, s.organisation_names[:2]
    ('nk-china-2019', ['rescue_ngo', 'seoul_intake'])
    """
    text, where = _read_text(path_or_name)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ScenarioError(f"{where}: not valid YAML{at}") from None
    return scenario_from_dict(data, where)
