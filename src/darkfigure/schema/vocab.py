"""Controlled vocabularies: codes with English, Korean and Chinese labels, read from YAML data files.

Every coded :class:`~darkfigure.schema.records.CaseRecord` field holds a *code* of one vocabulary
(``FIELD_VOCABULARY``). The YAML files live in ``schema/vocabularies/<Name>.yaml``; each code has ``en``,
``ko`` and ``zh`` labels, optional ``aliases`` (other spellings accepted on import) and optional
attributes such as ``htcds`` / ``ctdc`` (the value used by those standards).

Examples
--------
>>> v = load_vocabulary("TypeOfSexExploitation")
>>> v.lookup("cybersex")
'RemoteInteractiveServices'
>>> v.lookup(" 성매매 ")
'Prostitution'
>>> v.label("Prostitution", lang="zh")
'卖淫'
>>> FIELD_VOCABULARY["exploitation_types"]
'TypeOfExploitation'
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from ..exceptions import InputError

__all__ = [
    "FIELD_VOCABULARY",
    "LANGUAGES",
    "VOCABULARY_NAMES",
    "Vocabulary",
    "load_crosswalk",
    "load_vocabulary",
    "normalise_label",
]

LANGUAGES: tuple[str, ...] = ("en", "ko", "zh")

#: Vocabularies shipped as YAML files (``Place`` is built from ``NKProvince`` + ``Country``).
VOCABULARY_NAMES: tuple[str, ...] = (
    "AgeBand", "Consent", "Country", "Gender", "Harm", "Language", "MethodOfRecruitment", "MethodsOfControl",
    "NKProvince", "Outcome", "Recruitment", "RelationshipToTrafficker", "RoleInProcess", "StatusDecidedBy",
    "TraffickingStatus", "TypeOfExploitation", "TypeOfSexExploitation", "VenueClass", "VenueType",
)

#: CaseRecord field -> name of the vocabulary its code(s) must come from.
FIELD_VOCABULARY: dict[str, str] = {
    "consent": "Consent",
    "language": "Language",
    "home_province": "NKProvince",
    "gender": "Gender",
    "citizenship": "Country",
    "country_of_exploitation": "Country",
    "recruitment_means": "Recruitment",
    # a place of recruitment is a North Korean province or, outside North Korea, a country
    "recruitment_place": "Place",
    "means_of_control": "MethodsOfControl",
    "perpetrator_roles": "RoleInProcess",
    "perpetrator_relationship": "RelationshipToTrafficker",
    "exploitation_types": "TypeOfExploitation",
    "sex_exploitation_subtypes": "TypeOfSexExploitation",
    "venue_type": "VenueType",
    "venue_class": "VenueClass",
    "harms": "Harm",
    "outcome": "Outcome",
    "trafficking_status": "TraffickingStatus",
    "status_decided_by": "StatusDecidedBy",
}

# Dashes that spreadsheets and word processors substitute for a hyphen ("18–20").
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d"), "-")
_SPACE = re.compile(r"\s+")


def normalise_label(text: str) -> str:
    """Return the form of ``text`` used to match codes and labels.

    NFKC (full-width forms become ASCII), case-folded, every kind of dash made a hyphen, all white space
    removed — so ``"Forced  Labour"``, ``"forcedlabour"`` and ``"ＦＯＲＣＥＤ LABOUR"`` match alike.

    Examples
    --------
    >>> normalise_label(" Forced  Labour ")
    'forcedlabour'
    >>> normalise_label("18–20") == normalise_label("18-20")
    True
    """
    t = unicodedata.normalize("NFKC", text).casefold().translate(_DASHES)
    return _SPACE.sub("", t)


@dataclass(frozen=True)
class Vocabulary:
    """One controlled vocabulary.

    Parameters
    ----------
    name : str
        The vocabulary's name, e.g. ``"Gender"``.
    entries : mapping
        code -> ``{"en": ..., "ko": ..., "zh": ..., "aliases": [...], other attributes}``, in file order.
    source : str
        Where the list comes from (HTCDS, CTDC, the 2019 report, ISO).
    """

    name: str
    entries: Mapping[str, Mapping[str, Any]]
    source: str = ""
    _index: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        # vocabularies are cached and shared: make the entries read-only
        object.__setattr__(self, "entries", MappingProxyType(
            {code: MappingProxyType(dict(entry)) for code, entry in self.entries.items()}))
        index: dict[str, str] = {}
        clashes: list[str] = []
        # codes first: a code always wins over a label of another code that happens to spell it
        for code in self.entries:
            index[normalise_label(code)] = code
        for code, entry in self.entries.items():
            texts = [entry.get(lang) for lang in LANGUAGES] + list(entry.get("aliases") or [])
            for text in texts:
                if not text:
                    continue
                key = normalise_label(str(text))
                if index.setdefault(key, code) != code and normalise_label(index[key]) != key:
                    clashes.append(f"{text!r} ({index[key]} / {code})")
        if clashes:
            raise InputError(f"vocabulary {self.name}: ambiguous labels: {', '.join(clashes)}")
        object.__setattr__(self, "_index", index)

    @property
    def codes(self) -> list[str]:
        """The codes, in file order."""
        return list(self.entries)

    def __contains__(self, code: object) -> bool:
        return code in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def label(self, code: str, lang: str = "en") -> str:
        """Return the label of ``code`` in ``lang`` (``en``, ``ko`` or ``zh``).

        Raises
        ------
        KeyError
            If ``code`` is not in the vocabulary or ``lang`` is not one of ``en``, ``ko``, ``zh``.
        """
        if lang not in LANGUAGES:
            raise KeyError(f"language must be one of {', '.join(LANGUAGES)}")
        if code not in self.entries:
            raise KeyError(f"{code!r} is not a code of vocabulary {self.name}")
        return str(self.entries[code][lang])

    def labels(self, lang: str = "en") -> dict[str, str]:
        """Return ``{code: label}`` in ``lang``."""
        return {code: self.label(code, lang) for code in self.entries}

    def lookup(self, text: str) -> str | None:
        """Return the code that ``text`` names (a code, a label in any language or an alias), else None.

        Matching ignores case, white space, width (full-width forms) and the kind of dash.
        """
        if not isinstance(text, str):
            return None
        return self._index.get(normalise_label(text))

    def attribute(self, code: str, key: str, default: Any = None) -> Any:
        """Return an extra attribute of ``code`` (e.g. ``"htcds"``, ``"ctdc"``, ``"min"``)."""
        return self.entries[code].get(key, default)


def _read_yaml(folder: str, filename: str) -> Any:
    try:
        text = resources.files("darkfigure.schema").joinpath(folder, filename).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"no such data file: {filename}") from None
    return yaml.safe_load(text)


@functools.cache
def load_vocabulary(name: str) -> Vocabulary:
    """Load a vocabulary by name (cached).

    Parameters
    ----------
    name : str
        One of :data:`VOCABULARY_NAMES`, or ``"Place"`` (North Korean provinces and countries together).

    Raises
    ------
    InputError
        If there is no vocabulary of that name.

    Examples
    --------
    >>> load_vocabulary("Gender").codes
    ['Female', 'Male', 'GenderOther', 'GenderUnknown']
    """
    if name == "Place":
        nk, country = load_vocabulary("NKProvince"), load_vocabulary("Country")
        return Vocabulary("Place", {**nk.entries, **country.entries},
                          source=f"{nk.source} + {country.source}")
    if name not in VOCABULARY_NAMES:
        raise InputError(f"unknown vocabulary {name!r}")
    data = _read_yaml("vocabularies", f"{name}.yaml")
    entries: dict[str, dict[str, Any]] = {}
    for item in data["codes"]:
        item = dict(item)
        code = str(item.pop("code"))
        if code in entries:
            raise InputError(f"vocabulary {name}: duplicate code {code!r}")
        missing = [lang for lang in LANGUAGES if not item.get(lang)]
        if missing:
            raise InputError(f"vocabulary {name}: code {code!r} lacks labels {missing}")
        entries[code] = item
    return Vocabulary(name=str(data.get("name", name)), entries=entries, source=str(data.get("source", "")))


@functools.cache
def load_crosswalk(name: str = "relationship_htcds_ctdc") -> dict[str, Any]:
    """Load a crosswalk YAML from ``schema/crosswalks`` (cached; do not mutate the result).

    Examples
    --------
    >>> load_crosswalk()["codes"]["Familial"]["ctdc"]
    'Family'
    """
    data = _read_yaml("crosswalks", f"{name}.yaml")
    if not isinstance(data, dict):
        raise InputError(f"crosswalk {name} is not a mapping")
    return data
