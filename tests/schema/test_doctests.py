"""The Examples sections of the schema and io modules run as doctests (so they never drift)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "darkfigure.schema",
    "darkfigure.schema.records",
    "darkfigure.schema.vocab",
    "darkfigure.schema.validate",
    "darkfigure.schema.export",
    "darkfigure.io.mapping",
    "darkfigure.io.encoding",
    "darkfigure.io.read",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
