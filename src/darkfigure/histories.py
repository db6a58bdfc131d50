"""Capture histories: how many people each combination of lists saw.

The on-disk format is the one of ``shared/data/mse/*.csv``: one 0/1 column per list, then ``count``; one
row per observed pattern; the all-zero pattern is never written (it is what the estimators estimate).  A
stratified table has one extra leading column holding the stratum (``--strata COL``).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

from ._provenance import sha256_bytes
from .exceptions import HistoriesError, Problem

__all__ = ["CaptureHistories"]


def _pattern_key(row: Sequence[int]) -> tuple[int, int]:
    """Order of the shared tables: by number of lists touched, then by the pattern read as a binary number
    (first list most significant), largest first."""
    value = 0
    for b in row:
        value = value * 2 + int(b)
    return (int(sum(row)), -value)


@dataclass(frozen=True, eq=False)
class CaptureHistories:
    """Counts per capture pattern, optionally per stratum.

    Parameters
    ----------
    lists : sequence of str
        List (source) names, at least two.
    patterns : array of shape (n_rows, n_lists)
        0/1 capture patterns; none may be all zero.
    counts : array of shape (n_rows,)
        Non-negative integer counts.
    strata : array of shape (n_rows,) or None
        Stratum label of each row, if stratified.
    stratum_name : str or None
        Name of the stratum column.
    source_sha256 : str or None
        SHA-256 of the file it was read from (else of its canonical CSV).

    Examples
    --------
    >>> h = CaptureHistories.from_dict(["A", "B"], {(1, 0): 40, (0, 1): 30, (1, 1): 10})
    >>> h.observed, h.n_lists
    (80, 2)
    >>> h.count_of((1, 1))
    10
    """

    lists: tuple[str, ...]
    patterns: npt.NDArray[np.int8]
    counts: npt.NDArray[np.int64]
    strata: npt.NDArray[np.str_] | None = None
    stratum_name: str | None = None
    source_sha256: str | None = field(default=None)

    def __post_init__(self) -> None:
        problems = self._check(self.lists, self.patterns, self.counts, self.strata)
        if problems:
            raise HistoriesError("capture histories: " + "; ".join(str(p) for p in problems[:5]))

    # ------------------------------------------------------------------ construction
    @staticmethod
    def _check(lists: Sequence[str], patterns: np.ndarray, counts: np.ndarray,
               strata: np.ndarray | None) -> list[Problem]:
        problems: list[Problem] = []
        if len(lists) < 2:
            problems.append(Problem("lists", "min_lists", message="at least 2 lists are needed"))
        if len(set(lists)) != len(lists):
            problems.append(Problem("lists", "unique", message="list names must be unique"))
        if patterns.ndim != 2 or patterns.shape[1] != len(lists):
            problems.append(Problem("patterns", "shape", message="one 0/1 column per list is needed"))
            return problems
        if patterns.shape[0] != counts.shape[0]:
            problems.append(Problem("count", "shape", message="one count per pattern is needed"))
        if not np.isin(patterns, (0, 1)).all():
            problems.append(Problem("patterns", "binary", message="list columns must hold 0 or 1"))
        if patterns.shape[0] and (patterns.sum(axis=1) == 0).any():
            rows = np.flatnonzero(patterns.sum(axis=1) == 0)
            problems.append(Problem("patterns", "all_zero", row=int(rows[0]) + 1,
                                    message="the all-zero pattern cannot be observed"))
        if (counts < 0).any():
            problems.append(Problem("count", "non_negative", message="counts must be non-negative"))
        if strata is not None and strata.shape[0] != patterns.shape[0]:
            problems.append(Problem("stratum", "shape", message="one stratum per row is needed"))
        return problems

    @classmethod
    def from_dict(cls, lists: Sequence[str], counts: Mapping[tuple[int, ...], int]) -> CaptureHistories:
        """Build from ``{pattern: count}``."""
        pats = np.array([list(p) for p in counts], dtype=np.int8).reshape(-1, len(lists))
        cnt = np.array(list(counts.values()), dtype=np.int64)
        return cls(tuple(lists), pats, cnt).canonical()

    @classmethod
    def from_csv(cls, path: str | Path, stratum_column: str | None = None) -> CaptureHistories:
        """Read a table in the format of ``shared/data/mse``.

        Parameters
        ----------
        path : path
            CSV file: list columns of 0/1, a ``count`` column and optionally a stratum column.
        stratum_column : str, optional
            Name of the stratum column. Without it, any non-list column other than ``count`` is an error.

        Raises
        ------
        HistoriesError
            With every problem found (row numbers and columns, no values).
        """
        p = Path(path)
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise HistoriesError(f"cannot read capture histories {p.name}: {exc.strerror}") from None
        return cls.from_csv_bytes(raw, stratum_column=stratum_column, name=p.name)

    @classmethod
    def from_csv_bytes(cls, raw: bytes, stratum_column: str | None = None,
                       name: str = "input") -> CaptureHistories:
        """Parse CSV bytes (see :meth:`from_csv`)."""
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise HistoriesError(f"{name}: not UTF-8 text") from None
        reader = csv.reader(io.StringIO(text))
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise HistoriesError(f"{name}: empty file") from None
        problems: list[Problem] = []
        if "count" not in header:
            raise HistoriesError(f"{name}: no 'count' column")
        if stratum_column is not None and stratum_column not in header:
            raise HistoriesError(f"{name}: no stratum column '{stratum_column}'")
        list_cols = [i for i, h in enumerate(header) if h not in ("count", stratum_column)]
        lists = [header[i] for i in list_cols]
        ci = header.index("count")
        si = header.index(stratum_column) if stratum_column else None
        pats: list[list[int]] = []
        cnts: list[int] = []
        strata: list[str] = []
        for rowno, row in enumerate(reader, start=1):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                problems.append(Problem("row", "ragged", row=rowno, message="wrong number of columns"))
                continue
            pat = []
            for i in list_cols:
                v = row[i].strip()
                if v not in ("0", "1"):
                    problems.append(Problem(header[i], "binary", row=rowno, message="must be 0 or 1"))
                    v = "0"
                pat.append(int(v))
            try:
                c = int(row[ci].strip())
                if c < 0:
                    raise ValueError
            except ValueError:
                problems.append(Problem("count", "non_negative_integer", row=rowno,
                                        message="must be a non-negative integer"))
                c = 0
            if sum(pat) == 0:
                problems.append(Problem("patterns", "all_zero", row=rowno,
                                        message="the all-zero pattern cannot be observed"))
            pats.append(pat)
            cnts.append(c)
            if si is not None:
                strata.append(row[si].strip())
        if len(lists) < 2:
            problems.append(Problem("lists", "min_lists", message="at least 2 list columns are needed"))
        if problems:
            shown = "; ".join(str(p) for p in problems[:5])
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise HistoriesError(f"{name}: {len(problems)} problem(s): {shown}{more}")
        h = cls(
            tuple(lists),
            np.array(pats, dtype=np.int8).reshape(-1, len(lists)),
            np.array(cnts, dtype=np.int64),
            np.array(strata, dtype=str) if si is not None else None,
            stratum_column,
            sha256_bytes(raw),
        )
        return h

    @classmethod
    def from_membership(cls, membership: npt.ArrayLike, lists: Sequence[str],
                        strata: npt.ArrayLike | None = None,
                        stratum_name: str | None = None) -> CaptureHistories:
        """Tabulate a per-person 0/1 membership matrix (rows: people, columns: lists).

        People on no list are dropped (they cannot be observed).
        """
        m = np.asarray(membership, dtype=np.int8)
        keep = m.sum(axis=1) > 0
        m = m[keep]
        if strata is None:
            pats, cnts = np.unique(m, axis=0, return_counts=True)
            return cls(tuple(lists), pats.astype(np.int8), cnts.astype(np.int64)).canonical()
        s = np.asarray(strata).astype(str)[keep]
        rows: dict[tuple[str, tuple[int, ...]], int] = {}
        for lab, pat in zip(s, map(tuple, m), strict=True):
            rows[(lab, pat)] = rows.get((lab, pat), 0) + 1
        keys = list(rows)
        return cls(
            tuple(lists),
            np.array([k[1] for k in keys], dtype=np.int8).reshape(-1, len(lists)),
            np.array([rows[k] for k in keys], dtype=np.int64),
            np.array([k[0] for k in keys], dtype=str),
            stratum_name or "stratum",
        ).canonical()

    # ------------------------------------------------------------------ views
    @property
    def n_lists(self) -> int:
        """Number of lists."""
        return len(self.lists)

    @property
    def observed(self) -> int:
        """Number of people seen by at least one list."""
        return int(self.counts.sum())

    @property
    def is_stratified(self) -> bool:
        return self.strata is not None

    @property
    def sha256(self) -> str:
        """SHA-256 of the source file, else of the canonical CSV."""
        return self.source_sha256 or sha256_bytes(self.to_csv_string().encode("utf-8"))

    def canonical(self) -> CaptureHistories:
        """Merge duplicate patterns, drop zero counts and sort rows as in the shared tables."""
        agg: dict[tuple[str, tuple[int, ...]], int] = {}
        strata = self.strata if self.strata is not None else np.array([""] * len(self.counts), dtype=str)
        for lab, pat, c in zip(strata, map(tuple, self.patterns.tolist()), self.counts.tolist(), strict=True):
            agg[(str(lab), pat)] = agg.get((str(lab), pat), 0) + int(c)
        keys = sorted((k for k, v in agg.items() if v > 0), key=lambda k: (k[0], _pattern_key(k[1])))
        return CaptureHistories(
            self.lists,
            np.array([k[1] for k in keys], dtype=np.int8).reshape(-1, self.n_lists),
            np.array([agg[k] for k in keys], dtype=np.int64),
            None if self.strata is None else np.array([k[0] for k in keys], dtype=str),
            self.stratum_name,
            self.source_sha256,
        )

    def stratum_labels(self) -> list[str]:
        """Distinct stratum labels in sorted order (empty when not stratified)."""
        return [] if self.strata is None else sorted(set(self.strata.tolist()))

    def by_stratum(self) -> Iterator[tuple[str | None, CaptureHistories]]:
        """Yield ``(label, histories)`` per stratum, or ``(None, self)`` when not stratified."""
        if self.strata is None:
            yield None, self
            return
        for lab in self.stratum_labels():
            sel = self.strata == lab
            yield lab, CaptureHistories(self.lists, self.patterns[sel], self.counts[sel], None, None,
                                        self.source_sha256)

    def pooled(self) -> CaptureHistories:
        """Collapse strata."""
        return CaptureHistories(self.lists, self.patterns, self.counts, None, None,
                                self.source_sha256).canonical()

    def full_table(self) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
        """All ``2**t - 1`` observable patterns (zeros included) in canonical order, with counts.

        Requires an unstratified table (use :meth:`by_stratum` first).
        """
        if self.strata is not None:
            raise HistoriesError("full_table() needs an unstratified table; use by_stratum()")
        t = self.n_lists
        allp = sorted((p for p in itertools.product((0, 1), repeat=t) if any(p)), key=_pattern_key)
        index = {p: i for i, p in enumerate(allp)}
        counts = np.zeros(len(allp), dtype=np.int64)
        for pat, c in zip(map(tuple, self.patterns.tolist()), self.counts.tolist(), strict=True):
            counts[index[pat]] += c
        return np.array(allp, dtype=np.int8).reshape(-1, t), counts

    def count_of(self, pattern: Sequence[int]) -> int:
        """Total count of one pattern (over strata)."""
        sel = (self.patterns == np.asarray(pattern, dtype=np.int8)).all(axis=1)
        return int(self.counts[sel].sum())

    def list_totals(self) -> dict[str, int]:
        """How many people each list saw."""
        return {name: int(self.counts[self.patterns[:, j] == 1].sum()) for j, name in enumerate(self.lists)}

    def pair_overlaps(self) -> dict[tuple[str, str], int]:
        """How many people each pair of lists has in common."""
        out = {}
        for i, j in itertools.combinations(range(self.n_lists), 2):
            sel = (self.patterns[:, i] == 1) & (self.patterns[:, j] == 1)
            out[(self.lists[i], self.lists[j])] = int(self.counts[sel].sum())
        return out

    def to_frame(self) -> pd.DataFrame:
        """Return a pandas DataFrame (stratum column first if any, then lists, then ``count``)."""
        import pandas as pd

        df = pd.DataFrame(self.patterns.astype(int), columns=list(self.lists))
        if self.strata is not None:
            df.insert(0, self.stratum_name or "stratum", self.strata)
        df["count"] = self.counts
        return df

    def to_csv_string(self) -> str:
        """The canonical CSV text (format of ``shared/data/mse``)."""
        c = self.canonical() if self.strata is None else self
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        head = [*c.lists, "count"]
        if c.strata is not None:
            head = [c.stratum_name or "stratum", *head]
        w.writerow(head)
        for k in range(len(c.counts)):
            row: list[int | str] = [*(int(x) for x in c.patterns[k]), int(c.counts[k])]
            if c.strata is not None:
                row = [str(c.strata[k]), *row]
            w.writerow(row)
        return buf.getvalue()

    def to_csv(self, path: str | Path) -> Path:
        """Write the canonical CSV and return its path."""
        p = Path(path)
        p.write_text(self.to_csv_string(), encoding="utf-8")
        return p

    def __repr__(self) -> str:
        strat = f", strata={len(self.stratum_labels())}" if self.strata is not None else ""
        return (f"CaptureHistories(lists={list(self.lists)}, patterns={len(self.counts)}, "
                f"observed={self.observed}{strat})")
