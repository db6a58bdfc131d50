"""The scenario simulator: synthetic organisations' lists with a known truth.

A documented generative model of the trafficking pathway described in the 2019 report (Korea Future
Initiative, *Sex Slaves*), producing the files several documenting organisations would hold, their column
mappings, and the truth no real user ever has.  See ``docs/simulator.md``.

Examples
--------
>>> from darkfigure.simulate import simulate, simulate_histories
>>> sim = simulate(seed=1, size=800)
>>> sim.truth_summary()["N"]
800
>>> h, truth = simulate_histories(seed=1, size=800)
>>> h.to_csv_string() == sim.true_histories.to_csv_string()
True
"""

from ._scenario import Scenario, builtin_scenarios, load_scenario
from ._simulate import Simulation, simulate, simulate_histories

__all__ = ["Scenario", "Simulation", "builtin_scenarios", "load_scenario", "simulate", "simulate_histories"]
