"""The generated world matches the scenario within sampling error, and histories-only mode is the same
world as the full mode."""

from __future__ import annotations

import math

import numpy as np
import pytest

from darkfigure.exceptions import ScenarioError
from darkfigure.histories import CaptureHistories
from darkfigure.simulate import Simulation, load_scenario, simulate, simulate_histories

N = 20_000
# Tolerance: 4 binomial standard errors, sqrt(p(1-p)/n). With ~45 comparisons the chance that any one
# exceeds 4 SE by bad luck is below 0.3% (and the seed is fixed, so the test is deterministic anyway).
K_SE = 4.0


@pytest.fixture(scope="module")
def world() -> tuple[CaptureHistories, dict]:
    return simulate_histories(seed=2019, size=N)


@pytest.fixture(scope="module")
def full_world() -> Simulation:
    """A full 20,000-person simulation (people, lists, files in memory), shared by the tests below."""
    return simulate(seed=8, size=N)


def _within(observed: float, p: float, n: int) -> bool:
    se = math.sqrt(max(p * (1 - p), 1e-12) / n)
    return abs(observed - p) <= K_SE * se


def test_pathway_shares_match_the_scenario(world: tuple[CaptureHistories, dict]) -> None:
    _, truth = world
    s = load_scenario()
    for k, p in s.pathways.shares.items():
        assert _within(truth["shares"]["pathway"][k], p, N), k
    assert _within(truth["shares"]["sex_trade"], 0.60, N)


def test_recruitment_outcome_province_shares(world: tuple[CaptureHistories, dict]) -> None:
    _, truth = world
    s = load_scenario()
    for block, spec in (
        ("recruitment_means", s.recruitment.shares),
        ("outcome", s.outcomes.shares),
        ("home_province", s.population.provinces.shares),
    ):
        for k, p in spec.items():
            assert _within(truth["shares"][block][k], p, N), (block, k)


def test_within_sex_trade_and_venue_class(world: tuple[CaptureHistories, dict]) -> None:
    _, truth = world
    s = load_scenario()
    sh = s.pathways.shares
    sex_total = sh["prostitution"] + sh["forced_marriage"] + sh["cybersex"] + sh["other_sex"]
    n_sex = round(truth["shares"]["sex_trade"] * N)
    for k in ("prostitution", "forced_marriage", "cybersex", "other_sex"):
        assert _within(truth["shares"]["within_sex_trade"][k], sh[k] / sex_total, n_sex), k
    n_prost = round(truth["shares"]["pathway"]["prostitution"] * N)
    assert _within(
        truth["shares"]["venue_class_among_prostitution"]["Entertainment"], s.venues.p_entertainment, n_prost
    )


def test_person_level_ranges_and_prices() -> None:
    sim = simulate(seed=4, size=6000)
    s = sim.scenario
    p = sim.people
    for cls, spec in (("Entertainment", s.venues.entertainment), ("Service", s.venues.service)):
        sel = p[p.venue_class == cls]
        assert len(sel) > 300
        assert sel.age_at_exploitation.between(spec.age_min, spec.age_max).all()
        assert sel.clients_per_night.between(spec.clients_min, spec.clients_max).all()
        # uniform integers: every value in the range occurs
        assert set(sel.clients_per_night.astype(int)) == set(range(spec.clients_min, spec.clients_max + 1))
    # ages: mostly 12-29, some up to 49 (kfi2019)
    assert p.age_at_exploitation.between(12, 49).all()
    assert (p.age_at_exploitation <= 29).mean() > 0.7
    # price per act: log-normal with median $4; the mean log is within 4 SE of log(4)
    prices = p.price_per_act_usd.dropna().to_numpy()
    se = s.prices.price_per_act_usd.sd_log / math.sqrt(prices.size)
    assert abs(np.log(prices).mean() - math.log(4.0)) < 4 * se + 0.02  # + rounding to $0.50
    wives = p[p.exploitation_types.str.contains("ForcedMarriage")].sale_price_usd
    assert wives.notna().all() and (wives >= 146).all()
    assert p[p.pathway == "cybersex"].venue_type.eq("OnlineDen").all()
    assert p[p.pathway == "forced_marriage"].perpetrator_roles.str.contains("Buyer").all()


def test_list_dependence_and_heterogeneity_are_in_the_data(full_world: Simulation) -> None:
    # the scenario makes research interviews depend on rescue_ngo: the odds ratio of being on both
    # lists must be well above 1 (a rescued woman is likely to be interviewed)
    h, _ = simulate_histories(seed=8, size=N)
    sim = full_world
    p = sim.people
    a, b = p.in_rescue_ngo.to_numpy(), p.in_research_interviews.to_numpy()
    n11, n10, n01, n00 = ((a & b).sum(), (a & ~b & 1).sum(), (~a & 1 & b).sum(), ((1 - a) & (1 - b)).sum())
    assert n11 * n00 / (n10 * n01) > 3
    # cybersex victims are rarely seen by the church network
    cyber = p.pathway == "cybersex"
    assert p.in_church_network[cyber].mean() < 0.5 * p.in_church_network[~cyber].mean()
    # the two modes draw the same people and captures
    assert h.to_csv_string() == sim.true_histories.to_csv_string()


def test_histories_only_matches_full_mode_and_shared_format(mse_dir, tmp_path) -> None:
    h, truth = simulate_histories(seed=21, size=2500)
    sim = simulate(seed=21, size=2500)
    assert h.to_csv_string() == sim.true_histories.to_csv_string()
    assert truth["N"] == 2500 and truth["observed"] == h.observed == sim.truth_summary()["observed"]
    # format of shared/data/mse: ASCII, one 0/1 column per list then count, canonical row order,
    # no all-zero row; a shared table goes through the same writer unchanged
    text = h.to_csv_string()
    assert text.isascii()
    lines = text.splitlines()
    # list columns named and ordered as darkfigure.link.histories_from_links does: in_<source>, sorted
    assert lines[0] == ",".join([*(f"in_{o}" for o in sorted(sim.scenario.organisation_names)), "count"])
    assert all(set(line.split(",")[:-1]) <= {"0", "1"} and "1" in line.split(",")[:-1] for line in lines[1:])
    p = tmp_path / "h.csv"
    p.write_text(text, encoding="utf-8")
    assert CaptureHistories.from_csv(p).to_csv_string() == text
    shared = (mse_dir / "UKdat.csv").read_text(encoding="utf-8")
    assert CaptureHistories.from_csv(mse_dir / "UKdat.csv").to_csv_string() == shared


def test_seed_and_size_are_validated() -> None:
    with pytest.raises(ScenarioError):
        simulate_histories(seed=-1, size=100)
    with pytest.raises(ScenarioError):
        simulate_histories(seed=1, size=0)
    with pytest.raises(ScenarioError):
        simulate_histories(seed=1.5, size=100)  # type: ignore[arg-type]


def test_default_size_is_the_scenario_size() -> None:
    h, truth = simulate_histories(seed=0)
    assert truth["N"] == load_scenario().population.size
    assert 0 < h.observed < truth["N"]


def test_stratified_histories() -> None:
    h, truth = simulate_histories(seed=5, size=4000, strata="pathway")
    flat, _ = simulate_histories(seed=5, size=4000)
    assert h.is_stratified and h.stratum_name == "pathway"
    assert h.pooled().to_csv_string() == flat.to_csv_string()        # same people, same captures
    assert sum(truth["N_by_stratum"].values()) == 4000
    for lab, sub in h.by_stratum():
        assert sub.observed <= truth["N_by_stratum"][lab]
    g, truth_g = simulate_histories(seed=5, size=4000, strata="age_group")
    assert set(truth_g["N_by_stratum"]) == {"under18", "18plus"}
    assert g.stratum_labels() == ["18plus", "under18"] and g.pooled().observed == flat.observed
    with pytest.raises(ScenarioError, match="strata must be one of"):
        simulate_histories(seed=5, size=100, strata="name_hangul")


def test_captures_follow_the_documented_logit_model(full_world: Simulation) -> None:
    # recompute every person's capture probability from docs/simulator.md's formula and the truth table
    # (attributes, latent visibility, earlier lists), then compare the realised list sizes, overall and
    # within the groups the effects single out, with the expected sizes: within 4 SE of a sum of
    # independent Bernoulli draws, sqrt(sum p(1-p))
    s, p = full_world.scenario, full_world.people
    for org in s.organisations:
        eta = np.full(len(p), org.base_logit)
        for key, eff in org.effects.outcome.items():
            eta += eff * (p.outcome == key).to_numpy()
        for key, eff in org.effects.pathway.items():
            eta += eff * (p.pathway == key).to_numpy()
        for key, eff in org.effects.venue_class.items():
            eta += eff * (p.venue_class == key).to_numpy()
        eta += org.effects.minor * (p.age_at_exploitation < 18).to_numpy()
        eta += org.heterogeneity_loading * s.heterogeneity.sd * p.visibility.to_numpy()
        for dep, eff in org.depends_on.items():
            eta += eff * p[f"in_{dep}"].to_numpy()
        prob = 1 / (1 + np.exp(-eta))
        seen = p[f"in_{org.name}"].to_numpy()
        groups = {"all": np.ones(len(p), bool)}
        for key in org.effects.outcome:
            groups[f"outcome={key}"] = (p.outcome == key).to_numpy()
        for dep in org.depends_on:
            groups[f"in_{dep}"] = p[f"in_{dep}"].to_numpy() == 1
        for name, sel in groups.items():
            mu, sd = prob[sel].sum(), math.sqrt((prob[sel] * (1 - prob[sel])).sum())
            assert abs(seen[sel].sum() - mu) <= K_SE * sd + 0.5, (org.name, name)


def test_homogeneous_scenario_has_independent_lists() -> None:
    # control scenario: constant capture probability per list, no dependence; pair overlaps must be
    # N p_i p_j within 4 binomial SE
    s = load_scenario("nk-china-2019-homogeneous")
    n = 20_000
    h, truth = simulate_histories(s, seed=6, size=n)
    prob = {f"in_{o.name}": 1 / (1 + math.exp(-o.base_logit)) for o in s.organisations}
    for name, total in h.list_totals().items():
        assert _within(total / n, prob[name], n), name
    for (a, b), both in h.pair_overlaps().items():
        assert _within(both / n, prob[a] * prob[b], n), (a, b)
    # the same people as the default scenario: only who sees whom differs
    _, default_truth = simulate_histories(seed=6, size=n)
    assert truth["shares"] == default_truth["shares"]
