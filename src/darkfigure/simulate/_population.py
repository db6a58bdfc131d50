"""The people and who sees them: vectorised draws from the scenario's generative model.

Random streams: one :class:`numpy.random.SeedSequence` per run is split into independent children
(population, capture, names, records) so that the histories-only mode draws exactly the same people and
captures as the full mode, whatever the record-writing code does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._scenario import Scenario, parse_band

__all__ = ["Population", "draw_captures", "draw_population", "streams"]

STREAMS = ("population", "capture", "names", "records")
SEX_PATHWAYS = ("prostitution", "cybersex", "other_sex")
OTHER_SEX_SUBTYPES = ("PrivateSexualServices", "Pornography", "OtherSexExploitation")


def streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators per purpose, derived from one seed."""
    children = np.random.SeedSequence(int(seed)).spawn(len(STREAMS))
    return {name: np.random.default_rng(ss) for name, ss in zip(STREAMS, children, strict=True)}


def _categorical(rng: np.random.Generator, shares: dict[str, float], n: int) -> npt.NDArray[np.str_]:
    # sorted: the order of keys in the YAML must not change the draws
    keys = sorted(shares)
    p = np.array([shares[k] for k in keys], dtype=float)
    idx = rng.choice(len(keys), size=n, p=p / p.sum())
    return np.array(keys, dtype=object)[idx]


def _ages_from_bands(rng: np.random.Generator, bands: dict[str, float], n: int) -> npt.NDArray[np.int64]:
    keys = sorted(bands)
    lo = np.array([parse_band(k)[0] for k in keys])
    hi = np.array([parse_band(k)[1] for k in keys])
    p = np.array([bands[k] for k in keys], dtype=float)
    b = rng.choice(len(keys), size=n, p=p / p.sum())
    return rng.integers(lo[b], hi[b] + 1)


def _bernoulli_codes(
    rng: np.random.Generator, probs: dict[str, float], n: int, eligible: npt.NDArray[np.bool_]
) -> npt.NDArray[np.object_]:
    """Independent yes/no per code; returns one ';'-joined string per person ('' when none)."""
    codes = sorted(probs)
    if not codes:
        return np.full(n, "", dtype=object)
    draws = rng.random((n, len(codes))) < np.array([probs[c] for c in codes])
    draws &= eligible[:, None]
    # encode each person's set as a bit mask and build each distinct string once
    mask = draws.astype(np.int64) @ (1 << np.arange(len(codes), dtype=np.int64))
    uniq, inv = np.unique(mask, return_inverse=True)
    labels = np.array(
        [";".join(c for j, c in enumerate(codes) if (int(u) >> j) & 1) for u in uniq], dtype=object
    )
    return labels[inv.reshape(-1)]


@dataclass
class Population:
    """Column arrays of the true population (one entry per person)."""

    columns: dict[str, np.ndarray]
    visibility: npt.NDArray[np.float64]  # latent z, shared by every organisation

    @property
    def size(self) -> int:
        return len(self.visibility)


def draw_population(s: Scenario, n: int, rng: np.random.Generator) -> Population:
    """Draw every person's attributes (no names; see ``_names``)."""
    pw = _categorical(rng, s.pathways.shares, n)
    # age at exploitation: by pathway; prostitution victims take it from their venue class
    age = _ages_from_bands(rng, s.ages.bands, n)
    for p, bands in sorted(s.ages.by_pathway.items()):
        sel = pw == p
        age[sel] = _ages_from_bands(rng, bands, int(sel.sum()))
    prost = pw == "prostitution"
    ent = prost & (rng.random(n) < s.venues.p_entertainment)
    svc = prost & ~ent
    e, v = s.venues.entertainment, s.venues.service
    age[ent] = rng.integers(e.age_min, e.age_max + 1, size=int(ent.sum()))
    age[svc] = rng.integers(v.age_min, v.age_max + 1, size=int(svc.sum()))

    venue_class = np.full(n, "", dtype=object)
    venue_class[ent], venue_class[svc] = "Entertainment", "Service"
    venue_type = np.full(n, "", dtype=object)
    venue_type[ent] = _categorical(rng, e.types, int(ent.sum()))
    venue_type[svc] = _categorical(rng, v.types, int(svc.sum()))
    venue_type[pw == "cybersex"] = "OnlineDen"
    venue_type[np.isin(pw, ["forced_marriage", "domestic_servitude"])] = "PrivateResidence"

    clients = np.full(n, np.nan)
    clients[ent] = rng.integers(e.clients_min, e.clients_max + 1, size=int(ent.sum()))
    clients[svc] = rng.integers(v.clients_min, v.clients_max + 1, size=int(svc.sum()))

    price = np.full(n, np.nan)
    pa = s.prices.price_per_act_usd
    price[prost] = np.round(pa.median * np.exp(pa.sd_log * rng.standard_normal(int(prost.sum()))) * 2) / 2
    married = (pw == "forced_marriage") | (prost & (rng.random(n) < s.pathways.prostitution_then_marriage))
    wp = s.prices.wife_price_usd
    sale = np.full(n, np.nan)
    sale[married] = np.round(
        wp.minimum * np.exp(wp.scale_log * np.abs(rng.standard_normal(int(married.sum()))))
    )

    exploited = pw != "not_exploited"
    sex_trade = np.isin(pw, ["prostitution", "forced_marriage", "cybersex", "other_sex"])
    ex_types = np.full(n, "", dtype=object)
    ex_types[np.isin(pw, SEX_PATHWAYS)] = "SexualExploitation"
    ex_types[pw == "forced_marriage"] = "ForcedMarriage"
    ex_types[prost & married] = "SexualExploitation;ForcedMarriage"
    ex_types[pw == "forced_labour"] = "ForcedLabour"
    ex_types[pw == "domestic_servitude"] = "DomesticServitude"
    ex_types[pw == "not_exploited"] = "NotExploited"
    subtypes = np.full(n, "", dtype=object)
    subtypes[prost] = "Prostitution"
    subtypes[pw == "cybersex"] = "RemoteInteractiveServices"
    other = pw == "other_sex"
    subtypes[other] = np.array(OTHER_SEX_SUBTYPES, dtype=object)[rng.integers(0, 3, size=int(other.sum()))]

    recruit = _categorical(rng, s.recruitment.shares, n)
    delay = (rng.random(n) < s.ages.recruitment_delay_share).astype(np.int64)
    age_rec = np.maximum(age - delay, 0)
    yl = s.population.year_left
    year_left = rng.integers(yl.min, yl.max + 1, size=n)
    dob_y = year_left - age_rec
    dob_m = rng.integers(1, 13, size=n)
    dob_d = rng.integers(1, 29, size=n)
    province = _categorical(rng, s.population.provinces.shares, n)

    ex = s.exploitation
    times_sold = np.zeros(n, dtype=np.int64)
    times_sold[sex_trade] = 1 + rng.poisson(ex.extra_sales_mean, size=int(sex_trade.sum()))
    dm = ex.duration_months
    max_months = (s.population.survey_year - year_left) * 12 + 11
    duration = np.minimum(np.round(dm.median * np.exp(dm.sd_log * rng.standard_normal(n))), max_months)
    duration = np.maximum(duration, 1).astype(float)
    duration[~exploited] = np.nan

    outcome = _categorical(rng, s.outcomes.shares, n)
    outcome_year = np.minimum(
        year_left + np.nan_to_num(duration, nan=6.0).astype(np.int64) // 12, s.population.survey_year
    )
    outcome_year[outcome == "StillHeld"] = s.population.survey_year

    control = _bernoulli_codes(rng, s.control.probabilities, n, exploited)
    harms = _bernoulli_codes(rng, s.harms.probabilities, n, exploited)
    roles_p = dict(s.roles.probabilities)
    roles = _bernoulli_codes(rng, roles_p, n, exploited)
    # a forced marriage always has a buyer (kfi2019: wives are bought)
    fm = pw == "forced_marriage"
    if fm.any():
        fixed = {r: r if "Buyer" in r.split(";") else (r + ";Buyer").lstrip(";") for r in set(roles[fm])}
        roles[fm] = np.array([fixed[r] for r in roles[fm]], dtype=object)
    status = np.where(exploited, "ConfirmedVictim", "NotAVictim").astype(object)
    z = rng.standard_normal(n)
    cols: dict[str, np.ndarray] = {
        "pathway": pw,
        "exploitation_types": ex_types,
        "sex_exploitation_subtypes": subtypes,
        "age_at_recruitment": age_rec,
        "age_at_exploitation": age,
        "year_left": year_left,
        "dob_year": dob_y,
        "dob_month": dob_m,
        "dob_day": dob_d,
        "home_province": province,
        "recruitment_means": recruit,
        "means_of_control": control,
        "perpetrator_roles": roles,
        "venue_type": venue_type,
        "venue_class": venue_class,
        "clients_per_night": clients,
        "price_per_act_usd": price,
        "sale_price_usd": sale,
        "times_sold": times_sold,
        "duration_months": duration,
        "harms": harms,
        "outcome": outcome,
        "outcome_year": outcome_year,
        "trafficking_status": status,
    }
    return Population(cols, z)


def capture_logits(s: Scenario, pop: Population, seen: dict[str, np.ndarray], k: int) -> np.ndarray:
    """Logit of organisation ``k`` seeing each person, given who the earlier organisations saw."""
    org = s.organisations[k]
    c = pop.columns
    eta = np.full(pop.size, org.base_logit)
    for key, eff in org.effects.outcome.items():
        eta += eff * (c["outcome"] == key)
    for key, eff in org.effects.pathway.items():
        eta += eff * (c["pathway"] == key)
    for key, eff in org.effects.venue_class.items():
        eta += eff * (c["venue_class"] == key)
    eta += org.effects.minor * (c["age_at_exploitation"] < 18)
    eta += org.heterogeneity_loading * s.heterogeneity.sd * pop.visibility
    for dep, eff in org.depends_on.items():
        eta += eff * seen[dep]
    return eta


def draw_captures(s: Scenario, pop: Population, rng: np.random.Generator) -> dict[str, npt.NDArray[np.int8]]:
    """Draw who each organisation sees, in scenario order (list dependence on earlier lists)."""
    seen: dict[str, np.ndarray] = {}
    for k, org in enumerate(s.organisations):
        eta = capture_logits(s, pop, seen, k)
        p = 1.0 / (1.0 + np.exp(-eta))
        seen[org.name] = (rng.random(pop.size) < p).astype(np.int8)
    return seen
