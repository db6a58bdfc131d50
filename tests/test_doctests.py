"""Every Examples section in the package runs as a doctest (so the documentation never drifts).

All modules of ``darkfigure`` are walked; those without examples are skipped, the others must pass.  The
schema and io modules, where examples are the documentation of the record format, must keep theirs.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import darkfigure

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(darkfigure.__path__, prefix="darkfigure.")
    # __main__ modules run the CLI when imported
    if not m.name.endswith("__main__") and ".migrations" not in m.name
)
MUST_HAVE_EXAMPLES = {
    "darkfigure.schema",
    "darkfigure.schema.records",
    "darkfigure.schema.vocab",
    "darkfigure.schema.validate",
    "darkfigure.schema.export",
    "darkfigure.io.mapping",
    "darkfigure.io.encoding",
    "darkfigure.io.read",
}


def test_the_walk_finds_the_package() -> None:
    assert set(MODULES) >= MUST_HAVE_EXAMPLES
    assert len(MODULES) > 40


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    if name in MUST_HAVE_EXAMPLES:
        assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
