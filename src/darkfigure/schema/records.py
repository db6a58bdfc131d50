"""Typed survivor case records (HTCDS-aligned, plus the 2019 report's taxonomy).

CONTRACT (shared by io/, store/, simulate/, link/ and the findings): field names below are stable.
Coded fields hold vocabulary *codes* (see ``schema/vocabularies/*.yaml``), never labels.
Identifying fields (``IDENTIFYING_FIELDS``) are encrypted at rest by the store.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler
from pydantic_core import core_schema

SCHEMA_VERSION: Literal["1.0"] = "1.0"

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class PartialDate(str):
    """A date that may be known only to the year (``"1994"``) or the month (``"1994-03"``).

    Stored as its ISO text. Impossible dates (``1990-02-30``) are rejected.

    Examples
    --------
    >>> PartialDate.parse("1994-03").year
    1994
    >>> PartialDate.parse("1994-03").precision
    'month'
    """

    year: int
    month: int | None
    day: int | None

    @classmethod
    def parse(cls, value: str) -> PartialDate:
        m = _PARTIAL.match(value.strip())
        if not m:
            raise ValueError("not a date of the form YYYY, YYYY-MM or YYYY-MM-DD")
        y, mo, d = int(m.group(1)), m.group(2), m.group(3)
        if not 1900 <= y <= 2100:
            raise ValueError("year out of range 1900–2100")
        if mo is not None and not 1 <= int(mo) <= 12:
            raise ValueError("month out of range")
        if d is not None:
            _dt.date(y, int(mo), int(d))  # raises ValueError on 1990-02-30
        obj = str.__new__(cls, value.strip())
        obj.year, obj.month, obj.day = y, (int(mo) if mo else None), (int(d) if d else None)
        return obj

    @property
    def precision(self) -> Literal["year", "month", "day"]:
        return "day" if self.day else "month" if self.month else "year"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(v: Any) -> PartialDate:
            if isinstance(v, PartialDate):
                return v
            if isinstance(v, _dt.date):
                return cls.parse(v.isoformat()[:10])
            if isinstance(v, int):
                return cls.parse(str(v))
            if isinstance(v, str):
                return cls.parse(v)
            raise ValueError("not a date")

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )


Code = Annotated[str, Field(min_length=1, max_length=64)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class CaseRecord(BaseModel):
    """One survivor's case record as held by one organisation (one source).

    Coded fields are checked against the controlled vocabularies by ``schema.validate``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    IDENTIFYING_FIELDS: ClassVar[tuple[str, ...]] = (
        "name_hangul", "name_hanja", "name_romanised", "name_chinese", "aliases",
        "date_of_birth", "place_of_birth", "phone", "id_number",
    )

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    # --- provenance of the record
    source: Code                                   # organisation / list id, e.g. "rescue_ngo"
    source_record_id: ShortText                    # the organisation's own id for the record
    record_date: PartialDate | None = None         # interview / record date
    consent: Code | None = None                    # HTCDS consent code (vocabulary Consent)
    language: Code | None = None                   # ISO 639-1 of the interview: ko, zh, en
    # --- identifying (encrypted at rest; HMAC pseudonyms for linkage)
    name_hangul: ShortText | None = None
    name_hanja: ShortText | None = None
    name_romanised: ShortText | None = None
    name_chinese: ShortText | None = None          # Chinese characters and/or pinyin as written
    aliases: list[ShortText] = Field(default_factory=list)
    date_of_birth: PartialDate | None = None
    place_of_birth: ShortText | None = None
    phone: ShortText | None = None
    id_number: ShortText | None = None
    # --- quasi-identifiers kept in clear (coarse)
    home_province: Code | None = None              # vocabulary NKProvince
    gender: Code | None = None                     # vocabulary Gender
    citizenship: Code | None = None                # ISO 3166-1 alpha-2
    country_of_exploitation: Code | None = None    # ISO 3166-1 alpha-2 (CTDC CountryOfExploitation)
    age_at_recruitment: Annotated[int, Field(ge=0, le=100)] | None = None
    age_at_exploitation: Annotated[int, Field(ge=0, le=100)] | None = None
    year_left: Annotated[int, Field(ge=1945, le=2100)] | None = None   # year of leaving North Korea
    # --- recruitment, control, perpetrators
    recruitment_means: list[Code] = Field(default_factory=list)       # vocabulary Recruitment
    recruitment_place: Code | None = None                             # vocabulary NKProvince / country
    means_of_control: list[Code] = Field(default_factory=list)        # vocabulary MethodsOfControl
    perpetrator_roles: list[Code] = Field(default_factory=list)       # vocabulary RoleInProcess
    perpetrator_relationship: Code | None = None                      # vocabulary RelationshipToTrafficker
    # --- exploitation
    exploitation_types: list[Code] = Field(default_factory=list)      # vocabulary TypeOfExploitation
    sex_exploitation_subtypes: list[Code] = Field(default_factory=list)  # vocabulary TypeOfSexExploitation
    venue_type: Code | None = None                                    # vocabulary VenueType
    venue_class: Code | None = None                                   # vocabulary VenueClass
    clients_per_night: Annotated[float, Field(ge=0, le=100)] | None = None
    price_per_act_usd: Annotated[float, Field(ge=0, le=100_000)] | None = None
    sale_price_usd: Annotated[float, Field(ge=0, le=1_000_000)] | None = None
    times_sold: Annotated[int, Field(ge=0, le=100)] | None = None
    duration_months: Annotated[float, Field(ge=0, le=1200)] | None = None
    harms: list[Code] = Field(default_factory=list)                   # vocabulary Harm
    # --- outcome and status
    outcome: Code | None = None                                       # vocabulary Outcome
    outcome_year: Annotated[int, Field(ge=1945, le=2100)] | None = None
    trafficking_status: Code | None = None                            # vocabulary TraffickingStatus
    status_decided_by: Code | None = None                             # vocabulary StatusDecidedBy


IDENTIFYING_FIELDS = CaseRecord.IDENTIFYING_FIELDS
