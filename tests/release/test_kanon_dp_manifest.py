"""k-anonymity, differential privacy (OpenDP) and the release manifest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from darkfigure.exceptions import ReleaseError
from darkfigure.release import ReleaseManifest, check_k_anonymity, dp_counts


def test_k_anonymity_counts_small_classes():
    df = pd.DataFrame({"home_province": ["A"] * 6 + ["B"] * 2 + [None],
                       "age_band": ["18-20"] * 9,
                       "harms": [["X"]] * 9})
    r = check_k_anonymity(df, ["home_province", "age_band"], k=5)
    assert not r.ok
    assert (r.smallest_class, r.n_classes, r.n_small_classes, r.n_records_at_risk) == (1, 3, 2, 3)
    assert check_k_anonymity(df, ["age_band", "harms"], k=5).ok
    # the report names columns and counts only
    assert "A" not in json.dumps(r.to_dict()["quasi_identifiers"])
    with pytest.raises(ReleaseError):
        check_k_anonymity(df, ["no_such_column"])


def test_dp_counts_uses_opendp_with_the_stated_epsilon():
    true = {"a": 50, "b": 120, "c": 0}
    out = dp_counts(true, epsilon=1.0)
    assert set(out.counts) == set(true)
    assert all(isinstance(v, int) and v >= 0 for v in out.counts.values())
    assert out.scale == 1.0 and out.epsilon_total == 1.0
    assert dp_counts(true, epsilon=0.5, disjoint=False).epsilon_total == pytest.approx(1.5)
    with pytest.raises(ReleaseError):
        dp_counts(true, epsilon=0)


def test_dp_noise_has_the_laplace_scale():
    # discrete Laplace with scale 2: mean absolute deviation close to the scale (≈ 1.92 for t = 2);
    # 400 draws: the sample mean has sd ≈ 0.1, so a band of 1.4–2.6 fails only by a real error
    draws = [dp_counts({"x": 1000}, epsilon=0.5).counts["x"] - 1000 for _ in range(400)]
    assert 1.4 < float(np.mean(np.abs(draws))) < 2.6
    assert abs(float(np.mean(draws))) < 0.5


def test_manifest_hashes_files(tmp_path):
    f = tmp_path / "findings.json"
    f.write_text("{}", encoding="utf-8")
    m = ReleaseManifest.for_files([f], threshold=11, cells_suppressed=3, unit="persons")
    p = m.write(tmp_path / "manifest.json")
    d = json.loads(p.read_text(encoding="utf-8"))
    assert d["files"]["findings.json"] == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    assert d["suppression"]["shown_as"] == "<11" and d["unit"] == "persons"
