"""Exports of case records to an HTCDS-shaped table and to a CTDC-shaped table.

No identifying field (names, aliases, date of birth, place of birth, phone, id number) and no
organisation record id is ever exported; records whose consent is ``ConsentRefused`` are left out unless
asked otherwise. CSV files written here neutralise formula-like cells (``=``, ``+``, ``-``, ``@``, tab,
carriage return at the start) with a leading apostrophe so that a spreadsheet never evaluates them.

* **HTCDS** (Human Trafficking Case Data Standard 2.0, IOM/UN Migration): one row per record, columns
  named after HTCDS fields, multi-select values joined with ``;``, values mapped to HTCDS value names.
* **CTDC** (Counter Trafficking Data Collaborative global dataset): the public dataset's columns
  (``yearOfRegistration``, ``Datasource``, ``gender``, ``ageBroad``, ``majorityStatus`` ...,
  ``meansOfControl*`` / ``is*`` / ``typeOfSex*`` / ``recruiterRelation*`` 0/1 flags); a flag is missing
  (``<NA>``) when the record does not say, never 0 by default.

Examples
--------
>>> from darkfigure.schema import CaseRecord
>>> rec = CaseRecord(source="ngo", source_record_id="1", name_hangul="가나다", gender="Female",
...                  age_at_exploitation=16, exploitation_types=["SexualExploitation"],
...                  sex_exploitation_subtypes=["RemoteInteractiveServices"],
...                  perpetrator_relationship="Friend")
>>> row = to_ctdc_frame([rec]).iloc[0]
>>> row["gender"], row["majorityStatusAtExploit"], int(row["typeOfSexRemoteInteractiveServices"])
('Female', 'Minor', 1)
>>> int(row["recruiterRelationFriend"]), int(row["recruiterRelationFamily"]), row["isAbduction"]
(1, 0, <NA>)
>>> "name_hangul" in to_htcds_frame([rec]).columns
False
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ..exceptions import InputError
from .records import IDENTIFYING_FIELDS, CaseRecord, PartialDate
from .vocab import load_crosswalk, load_vocabulary

__all__ = [
    "CTDC_COLUMNS",
    "HTCDS_COLUMNS",
    "neutralise_formula",
    "to_ctdc_frame",
    "to_htcds_frame",
    "write_csv",
    "write_export",
]

HTCDS_COLUMNS: tuple[str, ...] = (
    "RecordNumber", "Organisation", "RecordYear", "AgreementToManagePersonalData", "PrimaryLanguage",
    "Gender", "Citizenship", "AgeWhenTrafficked", "AgeAtExploitation", "TraffickingStatus",
    "TraffickingStatusDecidedBy", "MethodOfRecruitment", "MethodsOfControl", "TypeOfExploitation",
    "TypeOfSexExploitation", "LocationOfRecruitment", "LocationOfExploitationCountry", "RoleInProcess",
    "RelationshipToTrafficker",
)

_CTDC_CONTROL = (
    "DebtBondage", "TakesEarnings", "RestrictsFinancialAccess", "Threats", "PsychologicalAbuse",
    "PhysicalAbuse", "SexualAbuse", "FalsePromises", "PsychoactiveSubstances", "RestrictsMovement",
    "RestrictsMedicalCare", "ExcessiveWorkingHours", "UsesChildren", "ThreatOfLawEnforcement",
    "WithholdsNecessities", "WithholdsDocuments", "Other", "NotSpecified",
)
_CTDC_LABOUR = (
    "Agriculture", "Aquafarming", "Begging", "Construction", "DomesticWork", "Hospitality",
    "IllicitActivities", "Manufacturing", "MiningOrDrilling", "Peddling", "Transportation", "Other",
    "NotSpecified",
)
_CTDC_SEX = ("Prostitution", "Pornography", "RemoteInteractiveServices", "PrivateSexualServices")
_CTDC_EXPLOIT = ("isForcedLabour", "isSexualExploit", "isOtherExploit", "isSexAndLabour", "isForcedMarriage",
                 "isForcedMilitary", "isOrganRemoval")
_CTDC_RELATION = ("IntimatePartner", "Friend", "Family", "Other", "Unknown")

CTDC_COLUMNS: tuple[str, ...] = (
    "yearOfRegistration", "Datasource", "gender", "ageBroad", "majorityStatus", "majorityStatusAtExploit",
    "majorityEntry", "citizenship",
    *(f"meansOfControl{c}" for c in _CTDC_CONTROL), "meansOfControlConcatenated",
    *_CTDC_EXPLOIT, "typeOfExploitConcatenated",
    *(f"typeOfLabour{c}" for c in _CTDC_LABOUR), "typeOfLabourConcatenated",
    *(f"typeOfSex{c}" for c in _CTDC_SEX), "typeOfSexConcatenated",
    "isAbduction", "RecruiterRelationship", "CountryOfExploitation",
    *(f"recruiterRelation{c}" for c in _CTDC_RELATION),
)

_AGREEMENT = {"ConsentGiven": True, "ConsentLimited": True, "ConsentRefused": False}
_ISO639_2 = {"ko": "kor", "zh": "zho", "en": "eng"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _records(records: Iterable[Any]) -> list[CaseRecord]:
    out: list[CaseRecord] = []
    for r in records:
        rec = getattr(r, "record", r)  # a store's StoredRecord carries the CaseRecord in .record
        if not isinstance(rec, CaseRecord):
            raise InputError("exports take CaseRecord objects (or stored records holding one)")
        out.append(rec)
    return out


def _keep(rec: CaseRecord, include_refused: bool) -> bool:
    return include_refused or rec.consent != "ConsentRefused"


def _attr(vocab: str, code: str | None, key: str) -> Any:
    if code is None:
        return None
    v = load_vocabulary(vocab)
    return v.attribute(code, key) if code in v else None


def _join(values: Iterable[Any]) -> str | None:
    seen = [v for v in dict.fromkeys(values) if v]
    return ";".join(seen) if seen else None


def to_htcds_frame(records: Iterable[Any], include_refused_consent: bool = False) -> pd.DataFrame:
    """Return an HTCDS-shaped table, one row per record, without identifying fields.

    Parameters
    ----------
    records : iterable of CaseRecord (or objects with a ``.record`` CaseRecord)
    include_refused_consent : bool
        Keep records whose consent is ``ConsentRefused`` (default: leave them out).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`HTCDS_COLUMNS`; multi-select values joined by ``;``; missing values are ``None``.
    """
    rows = []
    for i, rec in enumerate((r for r in _records(records) if _keep(r, include_refused_consent)), start=1):
        consent = _AGREEMENT.get(rec.consent or "")
        rows.append({
            "RecordNumber": i,
            "Organisation": rec.source,
            "RecordYear": rec.record_date.year if rec.record_date else None,
            "AgreementToManagePersonalData": consent,
            "PrimaryLanguage": _ISO639_2.get(rec.language or ""),
            "Gender": _attr("Gender", rec.gender, "htcds"),
            "Citizenship": rec.citizenship,
            "AgeWhenTrafficked": rec.age_at_recruitment,
            "AgeAtExploitation": rec.age_at_exploitation,
            "TraffickingStatus": _attr("TraffickingStatus", rec.trafficking_status, "htcds"),
            "TraffickingStatusDecidedBy": rec.status_decided_by,
            "MethodOfRecruitment": _join(_attr("Recruitment", c, "htcds") for c in rec.recruitment_means),
            "MethodsOfControl": _join(_attr("MethodsOfControl", c, "htcds") for c in rec.means_of_control),
            "TypeOfExploitation": _join(
                _attr("TypeOfExploitation", c, "htcds") for c in rec.exploitation_types),
            "TypeOfSexExploitation": _join(
                _attr("TypeOfSexExploitation", c, "htcds") for c in rec.sex_exploitation_subtypes),
            "LocationOfRecruitment": rec.recruitment_place,  # a North Korean province code or a country
            "LocationOfExploitationCountry": rec.country_of_exploitation,
            "RoleInProcess": _join(_attr("RoleInProcess", c, "htcds") for c in rec.perpetrator_roles),
            "RelationshipToTrafficker": _attr(
                "RelationshipToTrafficker", rec.perpetrator_relationship, "htcds"),
        })
    frame = pd.DataFrame(rows, columns=list(HTCDS_COLUMNS))
    return frame.astype({"RecordNumber": "Int64", "RecordYear": "Int64", "AgeWhenTrafficked": "Int64",
                         "AgeAtExploitation": "Int64"})


# ------------------------------------------------------------------------------------------------ CTDC
def _band(age: int | None) -> str | None:
    if age is None:
        return None
    vocab = load_vocabulary("AgeBand")
    for code in vocab.codes:
        lo, hi = vocab.attribute(code, "min"), vocab.attribute(code, "max")
        if age >= lo and (hi is None or age <= hi):
            return str(vocab.attribute(code, "ctdc"))
    return None


def _age_bounds(dob: PartialDate | None, at: PartialDate | None) -> tuple[int, int] | None:
    """Smallest and largest age at ``at`` consistent with two partial dates (None if either is missing)."""
    if dob is None or at is None:
        return None
    diff = at.year - dob.year
    if dob.month and at.month and dob.month != at.month:
        exact = diff - (1 if at.month < dob.month else 0)
        return exact, exact
    if dob.day and at.day and dob.month and at.month:
        exact = diff - (1 if at.day < dob.day else 0)
        return exact, exact
    return max(diff - 1, 0), diff


def _band_of_bounds(bounds: tuple[int, int] | None) -> str | None:
    if bounds is None:
        return None
    lo, hi = _band(bounds[0]), _band(bounds[1])
    return lo if lo == hi else None  # the two possible ages straddle a band edge: unknown


def _majority(age: int | None) -> str | None:
    return None if age is None else ("Adult" if age >= 18 else "Minor")


def _majority_of_bounds(bounds: tuple[int, int] | None) -> str | None:
    if bounds is None:
        return None
    lo, hi = _majority(bounds[0]), _majority(bounds[1])
    return lo if lo == hi else None


def _words(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)


def _flags(prefix: str, names: Iterable[str], on: set[str], known: bool) -> dict[str, int | None]:
    return {f"{prefix}{n}": ((1 if n in on else 0) if known else None) for n in names}


def _concat(on: Iterable[str], order: Iterable[str]) -> str | None:
    parts = [_words(n) for n in order if n in set(on)]
    return "; ".join(parts) if parts else None


def _ctdc_row(rec: CaseRecord, datasource: str) -> dict[str, Any]:
    row: dict[str, Any] = {"yearOfRegistration": rec.record_date.year if rec.record_date else None,
                           "Datasource": datasource}
    gender = _attr("Gender", rec.gender, "ctdc")
    row["gender"] = gender
    reg_bounds = _age_bounds(rec.date_of_birth, rec.record_date)
    row["ageBroad"] = _band_of_bounds(reg_bounds)
    row["majorityStatus"] = _majority_of_bounds(reg_bounds)
    row["majorityStatusAtExploit"] = _majority(rec.age_at_exploitation)
    row["majorityEntry"] = _majority(rec.age_at_recruitment)
    row["citizenship"] = rec.citizenship

    # means of control: known only when the record lists at least one
    control = {str(_attr("MethodsOfControl", c, "ctdc")).removeprefix("meansOfControl")
               for c in rec.means_of_control if _attr("MethodsOfControl", c, "ctdc")}
    known = bool(rec.means_of_control)
    if known and not control:
        control = {"NotSpecified"}
    row.update(_flags("meansOfControl", _CTDC_CONTROL, control, known))
    row["meansOfControlConcatenated"] = _concat(control, _CTDC_CONTROL) if known else None

    # exploitation types
    types = set(rec.exploitation_types)
    known = bool(types)
    ctdc_flags = {str(f) for c in types if (f := _attr("TypeOfExploitation", c, "ctdc"))}
    labour = "isForcedLabour" in ctdc_flags
    sexual = "isSexualExploit" in ctdc_flags
    if labour and sexual:
        ctdc_flags.add("isSexAndLabour")
    row.update({f: ((1 if f in ctdc_flags else 0) if known else None) for f in _CTDC_EXPLOIT})
    names = {"isForcedLabour": "Forced labour", "isSexualExploit": "Sexual exploitation",
             "isOtherExploit": "Other", "isForcedMarriage": "Forced marriage",
             "isOrganRemoval": "Organ removal"}
    row["typeOfExploitConcatenated"] = "; ".join(names[f] for f in names if f in ctdc_flags) or None

    # types of labour: only for forced labour; darkfigure records only domestic work
    labour_on = {"DomesticWork"} if "DomesticServitude" in types else set()
    if labour and not labour_on:
        labour_on = {"NotSpecified"}
    row.update(_flags("typeOfLabour", _CTDC_LABOUR, labour_on, labour))
    row["typeOfLabourConcatenated"] = _concat(labour_on, _CTDC_LABOUR) if labour else None

    # types of sexual exploitation: only when sexual exploitation and at least one subtype is recorded
    sex_on = {str(_attr("TypeOfSexExploitation", c, "ctdc")).removeprefix("typeOfSex")
              for c in rec.sex_exploitation_subtypes if _attr("TypeOfSexExploitation", c, "ctdc")}
    sex_known = sexual and bool(rec.sex_exploitation_subtypes)
    row.update(_flags("typeOfSex", _CTDC_SEX, sex_on, sex_known))
    row["typeOfSexConcatenated"] = _concat(sex_on, _CTDC_SEX) if sex_known else None

    row["isAbduction"] = (1 if "Abduction" in rec.recruitment_means else 0) if rec.recruitment_means else None
    relation = load_crosswalk()["codes"].get(rec.perpetrator_relationship or "", {}).get("ctdc")
    rel_known = rec.perpetrator_relationship is not None
    row["RecruiterRelationship"] = _words(relation) if relation else None
    row.update(_flags("recruiterRelation", _CTDC_RELATION, {relation} if relation else set(), rel_known))
    row["CountryOfExploitation"] = rec.country_of_exploitation
    return row


def to_ctdc_frame(records: Iterable[Any], datasource: str = "Case Management",
                  include_refused_consent: bool = False) -> pd.DataFrame:
    """Return a table with the columns of CTDC's public global dataset, one row per record.

    Parameters
    ----------
    records : iterable of CaseRecord (or objects with a ``.record`` CaseRecord)
    datasource : str
        CTDC ``Datasource`` value ("Case Management" or "Hotline").
    include_refused_consent : bool
        Keep records whose consent is ``ConsentRefused`` (default: leave them out).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CTDC_COLUMNS`. Flags are nullable integers (1, 0 or ``<NA>`` when unknown);
        ``ageBroad`` uses CTDC's spelling (``"9--17"``) and is derived from date of birth and record date
        only when both fix the band; majority statuses come from the ages.
    """
    rows = [_ctdc_row(r, datasource) for r in _records(records) if _keep(r, include_refused_consent)]
    frame = pd.DataFrame(rows, columns=list(CTDC_COLUMNS))
    ints = [c for c in CTDC_COLUMNS if c.startswith(("meansOfControl", "is", "typeOf", "recruiterRelation"))
            and not c.endswith("Concatenated")]
    return frame.astype(dict.fromkeys([*ints, "yearOfRegistration"], "Int64"))


# ------------------------------------------------------------------------------------------------ CSV
def neutralise_formula(value: Any) -> Any:
    """Prefix text that a spreadsheet would read as a formula with an apostrophe (CSV injection guard).

    Examples
    --------
    >>> neutralise_formula("=HYPERLINK(1)"), neutralise_formula("-2"), neutralise_formula(-2)
    ("'=HYPERLINK(1)", "'-2", -2)
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as UTF-8 CSV with formula-like cells neutralised.

    The file starts with a BOM so that Excel reads Hangul and Hanzi correctly.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_csv(pd.DataFrame({"a": ["=1+1", "ok"]}), pathlib.Path(tempfile.mkdtemp()) / "x.csv")
    >>> p.read_text(encoding="utf-8-sig").splitlines()
    ['a', "'=1+1", 'ok']
    """
    path = Path(path)
    safe = frame.copy()
    safe.columns = [neutralise_formula(str(c)) for c in safe.columns]
    for col in safe.columns:
        if safe[col].dtype == object:
            safe[col] = safe[col].map(neutralise_formula)
    # CRLF line ends (RFC 4180) make the writer quote any cell holding a CR or LF, so a stray CR in a value
    # can never start a new row
    safe.to_csv(path, index=False, encoding="utf-8-sig", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    return path


def write_export(records: Iterable[Any], path: str | Path, shape: Literal["htcds", "ctdc"] = "htcds",
                 include_refused_consent: bool = False) -> Path:
    """Write an HTCDS- or CTDC-shaped CSV of ``records`` (the function behind an ``export`` command).

    Raises
    ------
    InputError
        If ``shape`` is neither ``"htcds"`` nor ``"ctdc"``.
    """
    if shape == "htcds":
        frame = to_htcds_frame(records, include_refused_consent=include_refused_consent)
    elif shape == "ctdc":
        frame = to_ctdc_frame(records, include_refused_consent=include_refused_consent)
    else:
        raise InputError("export shape must be 'htcds' or 'ctdc'")
    assert not set(frame.columns) & set(IDENTIFYING_FIELDS)  # identifying fields are never exported
    return write_csv(frame, path)
