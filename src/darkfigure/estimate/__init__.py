"""Population-size estimation (multiple systems estimation) and other estimates."""

from ._base import BasePopulationEstimator
from ._result import EstimateResult, ModelFit, ResultWarning

__all__ = ["BasePopulationEstimator", "EstimateResult", "ModelFit", "ResultWarning"]
