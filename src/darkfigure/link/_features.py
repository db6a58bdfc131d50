"""Records → the comparison features the linkage model reads (one row per record, in memory only).

Input: the store's ``records_frame(identifying=True)`` (``record_id``, ``source``, ``source_record_id`` and
the CaseRecord fields).  Output columns (all derived; the raw names never reach DuckDB):

``unique_id`` (= record_id), ``source``, ``name_keys`` (list of candidate full-name keys),
``name_hangul_key``,
``name_primary``, ``given_primary``, ``surnames`` (list), ``dob_full``, ``dob_ym``, ``dob_year``,
``birth_year`` (from the date of birth, else estimated from an age), ``birth_lo``/``birth_hi`` (its interval),
``home_province``, ``year_left``, ``exploitation`` and ``recruitment`` (sorted code lists: facts about the
person that every list records the same way, weaker evidence than names but independent of them),
``record_year``, ``outcome`` and ``venue`` (vocabulary codes: how the woman's exploitation ended, where
she was held); ``name_n`` (how many records could carry this record's name: those whose candidate keys
hold its primary key or whose primary key is the same) and ``pinyin_n`` (how many records share its
Mandarin reading) — the rarity of a name *in the lists being linked*, which the name levels use.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from ._names import name_keys

__all__ = ["FEATURE_COLUMNS", "build_features"]

FEATURE_COLUMNS = [
    "unique_id",
    "source",
    "name_keys",
    "name_hangul_key",
    "name_primary",
    "name_pinyin",
    "given_primary",
    "surnames",
    "dob_full",
    "dob_ym",
    "dob_year",
    "birth_year",
    "birth_year_from_age",
    "birth_lo",
    "birth_hi",
    "home_province",
    "year_left",
    "exploitation",
    "recruitment",
    "record_year",
    "outcome",
    "venue",
    "name_n",
    "pinyin_n",
]

# features counted over all records (after the per-record ones)
_COUNTED = ("name_n", "pinyin_n")
_YEAR = re.compile(r"^(\d{4})")
# Mandarin readings of characters that differ as family names (pypinyin gives the common-word reading)
_SURNAME_PINYIN = {
    "朴": "piao", "单": "shan", "解": "xie", "曾": "zeng", "查": "zha", "仇": "qiu", "区": "ou",
}


def _mandarin(chinese: str | None, hanja: str | None) -> str | None:
    """Toneless Mandarin reading of a name in characters (or its pinyin as written), letters only.

    Chinese records often write a name *heard* rather than seen (英姬 → 莹基): the characters differ but their
    Mandarin reading does not, so equal readings are strong evidence where Korean readings of the characters
    disagree.  Characters are preferred to written pinyin (which has typing errors); Hanja give the same
    reading as their simplified forms.
    """
    from pypinyin import Style, lazy_pinyin

    from ._names import is_han

    for text in (chinese, hanja):
        if not text:
            continue
        han = "".join(c for c in text.split("（")[0].split("(")[0] if is_han(c))
        if len(han) >= 2:
            syl = lazy_pinyin(han, style=Style.NORMAL)
            syl[0] = _SURNAME_PINYIN.get(han[0], syl[0])
            return "".join(syl).replace("v", "u").replace("ü", "u")
    if chinese and not is_han(chinese) and not any(0xAC00 <= ord(c) <= 0xD7A3 for c in chinese):
        letters = re.sub(r"[^a-z]", "", chinese.lower().replace("ü", "u").replace("v", "u"))
        return letters or None
    return None


def _text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    s = str(v).strip()
    return s or None


def _int(v: Any) -> int | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else int(f)


def _dob_parts(v: Any) -> tuple[str | None, str | None, int | None]:
    s = _text(v)
    if s is None:
        return None, None, None
    m = _YEAR.match(s)
    if not m:
        return None, None, None
    year = int(m.group(1))
    ym = s[:7] if len(s) >= 7 else None
    full = s[:10] if len(s) >= 10 else None
    return full, ym, year


def _birth_from_age(row: dict[str, Any]) -> tuple[int, int, int] | None:
    """(point, low, high) birth year from an age, when no date of birth is given.

    An age is tied to the year it was true.  With the year of leaving North Korea, the age at recruitment or
    at exploitation (which followed within months) gives the birth year to about a year.  With only the
    record's date, the age at exploitation may be several years old by the time of the record, so the
    interval reaches back further (6 years); the comparison asks the intervals to overlap.
    """
    ref = _int(row.get("year_left"))
    rec = _text(row.get("record_date"))
    rec_year = int(rec[:4]) if rec and _YEAR.match(rec) else None
    for age_field in ("age_at_recruitment", "age_at_exploitation"):
        age = _int(row.get(age_field))
        if age is None:
            continue
        if ref is not None:
            b = ref - age
            return b, b - 1, b + 1
        if rec_year is not None:
            b = rec_year - age
            return b - 1, b - 6, b + 1
    return None


def _codes(v: Any) -> list[str] | None:
    """A multi-valued coded field as a sorted list (None when empty: unknown, not 'none')."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    items = v.split(";") if isinstance(v, str) else list(v)
    out = sorted({str(x).strip() for x in items if str(x).strip()})
    return out or None


def build_features(records: pd.DataFrame) -> pd.DataFrame:
    """Derive the linkage features of every record.

    Parameters
    ----------
    records : pandas.DataFrame
        One row per record with ``record_id``, ``source`` and any CaseRecord fields (missing fields are
        treated as unknown).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`FEATURE_COLUMNS`, in that order.

    Examples
    --------
    >>> import pandas as pd
    >>> f = build_features(pd.DataFrame({"record_id": ["r1"], "source": ["a"], "name_hangul": ["김영희"],
    ...                                   "date_of_birth": ["1994-03"]}))
    >>> f.loc[0, "name_primary"], f.loc[0, "dob_ym"], int(f.loc[0, "birth_year"])
    ('KIM_YONGHI', '1994-03', 1994)
    """
    out: dict[str, list[Any]] = {c: [] for c in FEATURE_COLUMNS if c not in _COUNTED}
    cols = set(records.columns)
    # names repeat across records (one woman on several lists, common names): the name features are derived
    # once per distinct name (all scripts and aliases together) — the costly part at a million records
    names: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for row in records.to_dict(orient="records"):
        aliases = row.get("aliases") if "aliases" in cols else None
        if aliases is None or (isinstance(aliases, float) and math.isnan(aliases)):
            aliases = ()
        elif isinstance(aliases, str):
            aliases = tuple(a for a in aliases.split(";") if a.strip())
        else:
            aliases = tuple(str(a) for a in aliases)
        name = (
            _text(row.get("name_hangul")),
            _text(row.get("name_hanja")),
            _text(row.get("name_romanised")),
            _text(row.get("name_chinese")),
            aliases,
        )
        nf = names.get(name)
        if nf is None:
            nk = name_keys(*name)
            given = nk.primary.split("_", 1)[1] if nk.primary and "_" in nk.primary else None
            pinyin = _mandarin(name[3], name[1])
            nf = (sorted(nk.keys), nk.hangul_key, nk.primary, pinyin, given, sorted(nk.surnames))
            names[name] = nf
        keys, hangul_key, primary, pinyin, given, surnames = nf
        full, ym, year = _dob_parts(row.get("date_of_birth"))
        from_age = _birth_from_age(row) if year is None else None
        out["unique_id"].append(str(row["record_id"]))
        out["source"].append(str(row["source"]))
        out["name_keys"].append(list(keys) or None)  # a list per record: rows never share a mutable value
        out["name_hangul_key"].append(hangul_key)
        out["name_primary"].append(primary)
        out["name_pinyin"].append(pinyin)
        out["given_primary"].append(given)
        out["surnames"].append(list(surnames) or None)
        out["dob_full"].append(full)
        out["dob_ym"].append(ym)
        out["dob_year"].append(year)
        out["birth_year"].append(year if year is not None else (from_age[0] if from_age else None))
        out["birth_year_from_age"].append(from_age is not None)
        out["birth_lo"].append(year if year is not None else (from_age[1] if from_age else None))
        out["birth_hi"].append(year if year is not None else (from_age[2] if from_age else None))
        out["home_province"].append(_text(row.get("home_province")) if "home_province" in cols else None)
        out["year_left"].append(_int(row.get("year_left")) if "year_left" in cols else None)
        out["exploitation"].append(_codes(row.get("exploitation_types")))
        out["recruitment"].append(_codes(row.get("recruitment_means")))
        rd = _text(row.get("record_date"))
        out["record_year"].append(int(rd[:4]) if rd and _YEAR.match(rd) else None)
        out["outcome"].append(_text(row.get("outcome")))
        out["venue"].append(_text(row.get("venue_type")))
    df = pd.DataFrame(out)
    for c in ("dob_year", "birth_year", "birth_lo", "birth_hi", "year_left", "record_year"):
        df[c] = pd.array(df[c], dtype="Int64")
    df["home_province"] = df["home_province"].replace({"UnknownProvince": None})
    df["name_n"], df["pinyin_n"] = _name_counts(df)
    df = df[FEATURE_COLUMNS]
    if df["unique_id"].duplicated().any():
        from ..exceptions import LinkageError

        raise LinkageError("record_id must be unique across the records to link")
    return df


def _name_counts(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """How many records could carry each record's name, and how many share its Mandarin reading.

    Two records that agree on a name nobody else in the lists has are very likely one woman; two that agree
    on a name ten records carry are not (Korean names concentrate on a few family names and syllables).  A
    single u probability per level averages over both.  Counting records is what is known without knowing
    who is who; it includes the woman's own records, so a name on one woman's three lists counts 3 — the
    levels' cut-offs allow for that.  ``name_n`` counts the records whose candidate keys (every script's
    reading) hold the record's primary key, or whose primary key is the same, so a rendering that may be
    the name counts too.
    """
    from collections import Counter

    holders: Counter[str] = Counter()
    for keys, primary in zip(df["name_keys"], df["name_primary"], strict=True):
        held = set(keys) if keys is not None else set()
        if primary is not None:
            held.add(primary)
        holders.update(held)
    name_n = pd.array([holders[p] if p is not None else None for p in df["name_primary"]], dtype="Int64")
    py = df["name_pinyin"]
    pinyin_n = pd.array(py.map(py.value_counts()).where(py.notna(), None), dtype="Int64")
    return pd.Series(name_n, index=df.index), pd.Series(pinyin_n, index=df.index)


def features_to_arrow(features: pd.DataFrame) -> Any:
    """An Arrow table with explicit types (list columns that are all empty would otherwise be untyped)."""
    import pyarrow as pa

    schema = pa.schema(
        [
            ("unique_id", pa.string()),
            ("source", pa.string()),
            ("name_keys", pa.list_(pa.string())),
            ("name_hangul_key", pa.string()),
            ("name_primary", pa.string()),
            ("name_pinyin", pa.string()),
            ("given_primary", pa.string()),
            ("surnames", pa.list_(pa.string())),
            ("dob_full", pa.string()),
            ("dob_ym", pa.string()),
            ("dob_year", pa.int32()),
            ("birth_year", pa.int32()),
            ("birth_year_from_age", pa.bool_()),
            ("birth_lo", pa.int32()),
            ("birth_hi", pa.int32()),
            ("home_province", pa.string()),
            ("year_left", pa.int32()),
            ("exploitation", pa.list_(pa.string())),
            ("recruitment", pa.list_(pa.string())),
            ("record_year", pa.int32()),
            ("outcome", pa.string()),
            ("venue", pa.string()),
            ("name_n", pa.int32()),
            ("pinyin_n", pa.int32()),
        ]
    )
    arrays = []
    for name in schema.names:
        col = features[name]
        if pd.api.types.is_extension_array_dtype(col.dtype):
            vals = [None if v is pd.NA else int(v) for v in col]
        else:
            vals = [None if (isinstance(v, float) and np.isnan(v)) else v for v in col.tolist()]
        arrays.append(pa.array(vals, type=schema.field(name).type))
    return pa.Table.from_arrays(arrays, schema=schema)
