"""Population-size estimation (multiple systems estimation) and other estimates."""

from ._base import BasePopulationEstimator
from ._result import EstimateResult, ModelFit, ResultWarning

__all__ = ["BasePopulationEstimator", "EstimateResult", "ModelFit", "ResultWarning"]

# findings, claims and the economic model (issue 7) load pandas/yaml: imported on first use only
_LAZY = {"EconomicModel": ".economic", "EconomicResult": ".economic", "Findings": ".findings",
         "compute_findings": ".findings", "check_claims": ".claims", "load_claims": ".claims",
         "proportion_ci": ".proportions"}
# log-linear MSE (issue 4) loads numba: also on first use
_LAZY.update({"LogLinearMSE": ".loglinear", "AutoMSE": ".auto", "IdentifiabilityResult": ".identifiability",
              "check_identifiability": ".identifiability", "check_all_models": ".identifiability"})
# the latent-class sampler loads numba and scipy.stats: on first use too
_LAZY["LatentClassMSE"] = ".latent_class"
__all__ += list(_LAZY)


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
