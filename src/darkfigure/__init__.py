"""darkfigure: from survivor case records to honest, reproducible, privacy-safe numbers.

The curated public API is listed in ``__all__`` (a test checks that every name resolves).
"""

from ._provenance import Provenance
from ._version import __version__
from .estimate import EstimateResult, ModelFit, ResultWarning
from .exceptions import DarkfigureError, DarkfigureWarning
from .histories import CaptureHistories

__all__ = [
    "CaptureHistories",
    "DarkfigureError",
    "DarkfigureWarning",
    "EstimateResult",
    "ModelFit",
    "Provenance",
    "ResultWarning",
    "__version__",
]
