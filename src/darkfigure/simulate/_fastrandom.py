"""Scalar random draws for the per-record code, served from pre-drawn numpy blocks.

Per-record rendering (names, habits, missing fields) makes millions of scalar draws; calling a numpy
Generator once per draw costs about a microsecond each, serving Python floats from a block costs a few
tens of nanoseconds.  The sequence is still fully determined by the generator's seed.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from itertools import accumulate

import numpy as np

__all__ = ["FastRandom"]


class FastRandom:
    """Uniform draws in blocks from a numpy Generator, with the few helpers the writers need.

    Examples
    --------
    >>> r = FastRandom(np.random.default_rng(0))
    >>> 0.0 <= r.random() < 1.0, 0 <= r.integers(3) < 3, 5 <= r.integers(5, 8) < 8
    (True, True, True)
    """

    def __init__(self, rng: np.random.Generator, block: int = 1 << 15) -> None:
        self._rng = rng
        self._block = block
        self._it: Iterator[float] = iter(())

    def random(self) -> float:
        """One uniform draw in [0, 1)."""
        for u in self._it:
            return u
        self._it = iter(self._rng.random(self._block).tolist())
        return next(self._it)

    def integers(self, low: int, high: int | None = None) -> int:
        """A uniform integer in ``[low, high)`` (or ``[0, low)`` with one argument)."""
        if high is None:
            low, high = 0, low
        return low + min(int(self.random() * (high - low)), high - low - 1)

    def choice(self, cumulative: Sequence[float]) -> int:
        """Index drawn with probabilities proportional to the increments of ``cumulative``."""
        k = bisect.bisect_right(cumulative, self.random() * cumulative[-1])
        return min(k, len(cumulative) - 1)

    @staticmethod
    def cumulative(p: Sequence[float]) -> list[float]:
        """Cumulative weights for :meth:`choice`."""
        return list(accumulate(float(x) for x in p))
