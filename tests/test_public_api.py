import darkfigure


def test_all_names_resolve():
    for name in darkfigure.__all__:
        assert hasattr(darkfigure, name), name


def test_all_is_sorted_and_unique():
    names = [n for n in darkfigure.__all__ if not n.startswith("__")]
    assert names == sorted(set(names))
