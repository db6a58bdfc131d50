"""Clerical review: uncertain pairs out to a file a person decides on, decisions back in.

The export file shows the two records' identifying values side by side, so it holds personal data: it is
written only where the user asks and the CLI says so.  The decisions kept afterwards (``decisions.csv`` next
to the store) hold only opaque record ids and the decision.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..exceptions import DataValidationError, InputError, Problem

__all__ = ["export_review", "import_review", "load_decisions", "pair_id", "save_decisions"]

_SHOWN = [
    "source",
    "source_record_id",
    "name_hangul",
    "name_hanja",
    "name_romanised",
    "name_chinese",
    "aliases",
    "date_of_birth",
    "age_at_recruitment",
    "age_at_exploitation",
    "home_province",
    "year_left",
    "record_date",
]
_MATCH = {"match", "m", "yes", "y", "1", "true", "same", "일치", "同一"}
_NON_MATCH = {
    "non-match",
    "nonmatch",
    "non_match",
    "no match",
    "n",
    "no",
    "0",
    "false",
    "different",
    "불일치",
    "不同",
}
DECISION_COLUMNS = ["record_id_l", "record_id_r", "decision", "decided_at"]


def pair_id(a: str, b: str) -> str:
    """Stable id of an unordered pair of record ids.

    Examples
    --------
    >>> pair_id("r1", "r2") == pair_id("r2", "r1")
    True
    """
    lo, hi = sorted((str(a), str(b)))
    return "PR" + hashlib.sha256(f"{lo}\n{hi}".encode()).hexdigest()[:12]


def export_review(
    pairs: pd.DataFrame,
    records: pd.DataFrame,
    path: str | Path,
    band: Sequence[float] = (0.3, 0.9),
    decisions: pd.DataFrame | None = None,
) -> int:
    """Write the pairs whose match probability lies in ``band`` for clerical review.

    Parameters
    ----------
    pairs : DataFrame
        Scored pairs (``unique_id_l``, ``unique_id_r``, ``match_probability``, ``match_weight``).
    records : DataFrame
        The records with identifying columns (``record_id`` and CaseRecord fields).
    path : path
        ``.csv`` (UTF-8 with BOM, so spreadsheet programs show Hangul and Chinese) or ``.xlsx``.
    band : (low, high)
        Probability band.
    decisions : DataFrame, optional
        Decisions already taken; those pairs are left out.

    Returns
    -------
    int
        Number of pairs written.
    """
    lo, hi = float(band[0]), float(band[1])
    if not 0 <= lo < hi <= 1:
        raise InputError("the review band must be two probabilities, low < high")
    p = pairs[(pairs["match_probability"] >= lo) & (pairs["match_probability"] <= hi)].copy()
    p["pair_id"] = [pair_id(a, b) for a, b in zip(p["unique_id_l"], p["unique_id_r"], strict=True)]
    if decisions is not None and len(decisions):
        done = {
            pair_id(a, b) for a, b in zip(decisions["record_id_l"], decisions["record_id_r"], strict=True)
        }
        p = p[~p["pair_id"].isin(done)]
    p = p.sort_values("match_probability", ascending=False)
    rec = records.set_index("record_id")
    shown = [c for c in _SHOWN if c in rec.columns]
    out = pd.DataFrame(
        {
            "pair_id": p["pair_id"].to_numpy(),
            "record_id_l": p["unique_id_l"].astype(str).to_numpy(),
            "record_id_r": p["unique_id_r"].astype(str).to_numpy(),
            "match_probability": p["match_probability"].round(4).to_numpy(),
            "match_weight": p["match_weight"].round(3).to_numpy(),
        }
    )
    for c in shown:
        for side in ("l", "r"):
            vals = rec[c].reindex(out[f"record_id_{side}"]).tolist()
            out[f"{c}_{side}"] = ["; ".join(map(str, v)) if isinstance(v, list) else v for v in vals]
    out["decision"] = ""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        out.to_excel(path, index=False, sheet_name="review")
    elif path.suffix.lower() == ".csv":
        out.to_csv(path, index=False, encoding="utf-8-sig")
    else:
        raise InputError("the review file must end in .csv or .xlsx")
    return len(out)


def import_review(path: str | Path) -> pd.DataFrame:
    """Read a reviewed file and return its decisions (``record_id_l``, ``record_id_r``, ``decision``).

    Rows with an empty decision are skipped.  Accepted decisions: ``match`` / ``non-match`` (also yes/no,
    y/n, 1/0, same/different).  Every unreadable decision is reported at once (row numbers, not values).
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".xlsx":
            df = pd.read_excel(path, dtype=str)
        else:
            df = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except FileNotFoundError:
        raise InputError(f"review file {path.name} does not exist") from None
    except Exception as exc:
        raise InputError(f"cannot read review file {path.name} ({type(exc).__name__})") from None
    missing = [c for c in ("record_id_l", "record_id_r", "decision") if c not in df.columns]
    if missing:
        raise InputError(f"review file {path.name} lacks column(s): {', '.join(missing)}")
    problems: list[Problem] = []
    rows = []
    for i, (a, b, dec) in enumerate(
        zip(df["record_id_l"], df["record_id_r"], df["decision"], strict=True), start=1
    ):
        d = "" if dec is None or (isinstance(dec, float) and pd.isna(dec)) else str(dec).strip().lower()
        if not d:
            continue
        if d in _MATCH:
            d = "match"
        elif d in _NON_MATCH:
            d = "non-match"
        else:
            problems.append(Problem("decision", "vocabulary", row=i, message="must be match or non-match"))
            continue
        if not a or not b or a == b:
            problems.append(
                Problem("record_id", "pair", row=i, message="two different record ids are needed")
            )
            continue
        rows.append((str(a), str(b), d))
    if problems:
        raise DataValidationError(problems, context=path.name)
    return pd.DataFrame(rows, columns=["record_id_l", "record_id_r", "decision"])


def load_decisions(path: str | Path) -> pd.DataFrame:
    """Decisions saved by :func:`save_decisions` (empty frame if the file does not exist)."""
    p = Path(path)
    if not p.exists():
        return pd.DataFrame(columns=DECISION_COLUMNS)
    return pd.read_csv(p, dtype=str)


def save_decisions(new: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Merge ``new`` decisions into the file at ``path`` (a later decision on a pair replaces an earlier one).

    Returns the merged decisions.
    """
    p = Path(path)
    old = load_decisions(p)
    new = new.copy()
    new["decided_at"] = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    both = pd.concat([old, new[DECISION_COLUMNS]], ignore_index=True)
    both["_pid"] = [pair_id(a, b) for a, b in zip(both["record_id_l"], both["record_id_r"], strict=True)]
    both = both.drop_duplicates("_pid", keep="last").drop(columns="_pid")
    p.parent.mkdir(parents=True, exist_ok=True)
    both.to_csv(p, index=False)
    return both
