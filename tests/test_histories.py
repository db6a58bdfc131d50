import numpy as np
import pytest

from darkfigure import CaptureHistories
from darkfigure.exceptions import HistoriesError


def test_every_shared_table_round_trips_byte_for_byte(mse_dir):
    files = sorted(mse_dir.glob("*.csv"))
    assert len(files) == 13
    for f in files:
        h = CaptureHistories.from_csv(f)
        assert h.to_csv_string() == f.read_text()
        assert h.observed == sum(int(line.rsplit(",", 1)[1]) for line in f.read_text().splitlines()[1:])


def test_ukdat_summary(mse_dir):
    h = CaptureHistories.from_csv(mse_dir / "UKdat.csv")
    assert h.lists == ("LA", "NG", "PF", "GO", "GP", "NCA")
    assert h.observed == 2744
    pats, counts = h.full_table()
    assert pats.shape == (63, 6) and counts.sum() == 2744


@pytest.mark.parametrize(
    "text, rule",
    [
        ("A,count\n1,3\n", "min_lists"),
        ("A,B,count\n0,0,3\n", "all_zero"),
        ("A,B,count\n1,0,-1\n", "non_negative"),
        ("A,B,count\n1,0,2.5\n", "non_negative"),
        ("A,B,count\n2,0,1\n", "binary"),
        ("A,B,count\n1,0\n", "ragged"),
    ],
)
def test_malformed_tables_are_refused_with_the_rule(text, rule):
    with pytest.raises(HistoriesError, match=rule):
        CaptureHistories.from_csv_bytes(text.encode())


def test_every_problem_is_reported_at_once():
    with pytest.raises(HistoriesError) as exc:
        CaptureHistories.from_csv_bytes(b"A,B,count\n0,0,1\n1,0,-2\n")
    assert "2 problem(s)" in str(exc.value)


def test_missing_count_column():
    with pytest.raises(HistoriesError, match="count"):
        CaptureHistories.from_csv_bytes(b"A,B\n1,0\n")


def test_membership_tabulation_and_strata():
    m = np.array([[1, 0], [1, 1], [0, 1], [1, 1], [0, 0]])
    h = CaptureHistories.from_membership(m, ["A", "B"])
    assert h.observed == 4 and h.count_of((1, 1)) == 2
    hs = CaptureHistories.from_membership(m, ["A", "B"], strata=["x", "x", "y", "y", "y"],
                                          stratum_name="year")
    parts = dict(hs.by_stratum())
    assert set(parts) == {"x", "y"}
    assert parts["x"].observed == 2 and parts["y"].observed == 2
    text = hs.to_csv_string()
    assert text.splitlines()[0] == "year,A,B,count"
    back = CaptureHistories.from_csv_bytes(text.encode(), stratum_column="year")
    assert back.pooled().count_of((1, 1)) == 2


def test_pair_overlaps_find_empty_pairs(mse_dir):
    h = CaptureHistories.from_csv(mse_dir / "Artificial_3.csv")
    ov = h.pair_overlaps()
    assert ov[("A", "C")] == 0 and ov[("B", "C")] == 0 and ov[("A", "B")] == 6
