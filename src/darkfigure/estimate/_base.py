"""The estimator contract shared by every population-size estimator (scikit-learn style).

``__init__`` only stores parameters; ``fit(histories)`` validates, sets fitted attributes ending in ``_``
(always ``result_``, an :class:`~darkfigure.estimate.EstimateResult`) and returns ``self``; reading a fitted
attribute before ``fit`` raises :class:`~darkfigure.exceptions.NotFittedError`.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from ..exceptions import NotFittedError
from ._result import EstimateResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..histories import CaptureHistories

__all__ = ["BasePopulationEstimator"]


class BasePopulationEstimator:
    """Base class: parameter handling, fitted-state checks, ``summary``/``conf_int``/``plot``."""

    def get_params(self) -> dict[str, Any]:
        """Return the constructor parameters (as scikit-learn does)."""
        sig = inspect.signature(type(self).__init__)
        return {k: getattr(self, k) for k in sig.parameters if k != "self" and hasattr(self, k)}

    def set_params(self, **params: Any) -> BasePopulationEstimator:
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"unknown parameter {k!r} for {type(self).__name__}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def fit(self, histories: CaptureHistories) -> BasePopulationEstimator:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_fitted(self) -> EstimateResult:
        result: EstimateResult | None = self.__dict__.get("result_")
        if result is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit() first")
        return result

    @property
    def n_hat_(self) -> float | None:
        """Estimated total population size (observed included)."""
        return self._check_fitted().estimate

    def summary(self) -> str:
        """Plain-text summary of the fitted result."""
        return self._check_fitted().summary()

    def _repr_html_(self) -> str:
        return self._check_fitted()._repr_html_()

    def conf_int(self, alpha: float | None = None) -> tuple[float | None, float | None]:
        """Interval ``(lower, upper)``; ``alpha`` other than the fitted ``1 - level`` refits the interval
        where the estimator supports it."""
        result = self._check_fitted()
        if alpha is None or abs((1 - alpha) - result.level) < 1e-12:
            return result.conf_int()
        return self._conf_int_at(1 - alpha)

    def _conf_int_at(self, level: float) -> tuple[float | None, float | None]:
        raise NotImplementedError(f"{type(self).__name__} computes its interval at the fitted level only; "
                                  "refit with another level")

    def plot(self, ax: Axes | None = None) -> Axes:
        """Point estimate and interval of every candidate model (forest plot). Returns the Axes."""
        from ..report.plots import forest_plot  # lazy: matplotlib only when plotting

        return forest_plot([self._check_fitted()], ax=ax)
