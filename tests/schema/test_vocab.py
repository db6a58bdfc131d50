"""Controlled vocabularies: the contract codes exist, every code has three labels, lookups are unambiguous."""

from __future__ import annotations

import pytest

from darkfigure.exceptions import InputError
from darkfigure.schema import CaseRecord
from darkfigure.schema.vocab import (
    FIELD_VOCABULARY,
    LANGUAGES,
    VOCABULARY_NAMES,
    Vocabulary,
    load_crosswalk,
    load_vocabulary,
    normalise_label,
)

# The cross-team contract (prompts/contracts.md): at least these codes, never renamed.
CONTRACT = {
    "TypeOfExploitation": [
        "SexualExploitation",
        "ForcedMarriage",
        "ForcedLabour",
        "DomesticServitude",
        "ForcedCriminality",
        "OrganRemoval",
        "OtherExploitation",
        "NotExploited",
    ],
    "TypeOfSexExploitation": [
        "Prostitution",
        "RemoteInteractiveServices",
        "Pornography",
        "PrivateSexualServices",
        "OtherSexExploitation",
    ],
    "Recruitment": [
        "DeceptionFood",
        "DeceptionWork",
        "DeceptionPassage",
        "Abduction",
        "SoldByBroker",
        "SoldByFamilyOrAcquaintance",
        "OtherRecruitment",
    ],
    "MethodsOfControl": [
        "RestrictsMovement",
        "UsesChildren",
        "ThreatsOfViolence",
        "PhysicalAbuse",
        "SexualAbuse",
        "WithholdsDocuments",
        "ThreatsOfDeportation",
        "DebtBondage",
        "FalsePromises",
        "Isolation",
        "PsychologicalAbuse",
        "WithholdsWages",
        "ExcessiveWorkingHours",
        "ThreatsToFamily",
    ],
    "RoleInProcess": ["Recruiter", "Broker", "Transporter", "Exploiter", "Buyer", "Facilitator", "OtherRole"],
    "TraffickingStatus": ["ConfirmedVictim", "PresumedVictim", "PotentialVictim", "NotAVictim", "Unknown"],
    "StatusDecidedBy": ["Court", "Police", "GovernmentAgency", "NGO", "Researcher", "SelfIdentified"],
    "Gender": ["Female", "Male", "GenderOther", "GenderUnknown"],
    "Consent": ["ConsentGiven", "ConsentLimited", "ConsentRefused", "ConsentNotAsked"],
    "VenueType": [
        "Bathhouse",
        "Sauna",
        "KaraokeBar",
        "Cafe",
        "MassageParlour",
        "BeautyParlour",
        "Barbershop",
        "HairSalon",
        "SmallHotel",
        "Restaurant",
        "PrivateResidence",
        "OnlineDen",
    ],
    "VenueClass": ["Entertainment", "Service"],
    "Outcome": ["Escaped", "Rescued", "Deported", "StillHeld", "Died", "ReachedThirdCountry"],
    "Harm": [
        "PhysicalInjury",
        "SexualViolence",
        "MentalHealth",
        "Pregnancy",
        "STI",
        "SubstanceDependence",
        "OtherHarm",
    ],
    "NKProvince": [
        "Pyongyang",
        "SouthPyongan",
        "NorthPyongan",
        "Chagang",
        "SouthHwanghae",
        "NorthHwanghae",
        "Kangwon",
        "SouthHamgyong",
        "NorthHamgyong",
        "Ryanggang",
        "Rason",
        "Nampo",
        "UnknownProvince",
    ],
    "AgeBand": ["0-8", "9-17", "18-20", "21-23", "24-26", "27-29", "30-38", "39-47", "48+"],
    "Language": ["ko", "zh", "en"],
}


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_contract_codes_present(name):
    codes = load_vocabulary(name).codes
    missing = [c for c in CONTRACT[name] if c not in codes]
    assert not missing


@pytest.mark.parametrize("name", [*VOCABULARY_NAMES, "Place"])
def test_every_code_has_three_labels_and_looks_itself_up(name):
    v = load_vocabulary(name)
    assert len(v) > 0
    for code in v.codes:
        for lang in LANGUAGES:
            assert v.label(code, lang).strip()
            # a label in any language finds its code (the loader refuses ambiguous labels)
            assert v.lookup(v.label(code, lang)) == code
        assert v.lookup(code) == code
        assert v.lookup(f"  {code.upper()} ") == code


def test_country_is_iso_3166_alpha2():
    v = load_vocabulary("Country")
    assert len(v) == 249  # ISO 3166-1 officially assigned alpha-2 codes
    assert all(len(c) == 2 and c.isupper() for c in v.codes)
    assert {"KP", "KR", "CN", "RU", "MN"} <= set(v.codes)
    assert v.lookup("북한") == "KP" and v.lookup("朝鲜") == "KP" and v.lookup("DPRK") == "KP"
    assert v.lookup("중국") == "CN" and v.lookup("china") == "CN"


def test_lookup_is_case_space_width_and_dash_insensitive():
    assert load_vocabulary("TypeOfExploitation").lookup("forced   LABOUR") == "ForcedLabour"
    assert load_vocabulary("TypeOfExploitation").lookup("ＦＯＲＣＥＤ ＬＡＢＯＵＲ") == "ForcedLabour"
    assert load_vocabulary("AgeBand").lookup("18–20") == "18-20"
    assert load_vocabulary("AgeBand").lookup("9--17") == "9-17"  # CTDC's own spelling
    assert load_vocabulary("Gender").lookup("no such gender") is None
    assert load_vocabulary("Gender").lookup(3) is None  # type: ignore[arg-type]


def test_report_terms_map_to_codes():
    assert load_vocabulary("TypeOfSexExploitation").lookup("cybersex") == "RemoteInteractiveServices"
    assert load_vocabulary("TypeOfSexExploitation").lookup("사이버섹스") == "RemoteInteractiveServices"
    assert load_vocabulary("NKProvince").lookup("양강도") == "Ryanggang"
    assert load_vocabulary("NKProvince").lookup("함경북도") == "NorthHamgyong"
    assert load_vocabulary("Place").lookup("함경북도") == "NorthHamgyong"
    assert load_vocabulary("Place").lookup("KP") == "KP"


def test_label_errors():
    v = load_vocabulary("Gender")
    with pytest.raises(KeyError):
        v.label("Nope")
    with pytest.raises(KeyError):
        v.label("Female", lang="fr")
    with pytest.raises(InputError):
        load_vocabulary("NoSuchVocabulary")


def test_ambiguous_labels_are_refused():
    with pytest.raises(InputError, match="ambiguous"):
        Vocabulary(
            "X", {"A": {"en": "same", "ko": "가", "zh": "甲"}, "B": {"en": "Same", "ko": "나", "zh": "乙"}}
        )


def test_field_vocabulary_names_real_fields_and_vocabularies():
    for field_name, vocab in FIELD_VOCABULARY.items():
        assert field_name in CaseRecord.model_fields
        load_vocabulary(vocab)
    coded = {"gender", "consent", "exploitation_types", "means_of_control", "venue_type", "outcome"}
    assert coded <= set(FIELD_VOCABULARY)


def test_htcds_and_ctdc_attributes_use_standard_names():
    htcds_control = {
        "DebtBondage",
        "TakesEarnings",
        "RestrictsFinancialAccess",
        "Threats",
        "PsychologicalAbuse",
        "PhysicalAbuse",
        "SexualAbuse",
        "FalsePromises",
        "PsychoactiveSubstances",
        "RestrictsMovement",
        "RestrictsMedicalCare",
        "ExcessiveWorkingHours",
        "UsesChildren",
        "ThreatOfLawEnforcement",
        "WithholdsNecessities",
        "WithholdsDocuments",
        "Other",
    }
    v = load_vocabulary("MethodsOfControl")
    assert {v.attribute(c, "htcds") for c in v.codes} <= htcds_control
    assert all(str(v.attribute(c, "ctdc")).startswith("meansOfControl") for c in v.codes)
    r = load_vocabulary("Recruitment")
    mor = load_vocabulary("MethodOfRecruitment")
    assert all(r.attribute(c, "htcds") in mor for c in r.codes)


def test_relationship_crosswalk_is_consistent_with_the_vocabulary():
    cw = load_crosswalk("relationship_htcds_ctdc")
    v = load_vocabulary("RelationshipToTrafficker")
    assert set(cw["codes"]) == set(v.codes)
    for code, row in cw["codes"].items():
        assert row["ctdc"] == v.attribute(code, "ctdc")
        assert row["htcds"] == v.attribute(code, "htcds")
        assert row["ctdc"] in cw["ctdc_columns"]
    # both directions: every HTCDS value goes to a CTDC relation and back where CTDC can say it
    for htcds, ctdc in cw["htcds_to_ctdc"].items():
        assert ctdc in cw["ctdc_columns"]
        back = cw["ctdc_to_htcds"][ctdc]
        assert back in (htcds, None)
    assert cw["ctdc_to_htcds"]["Family"] == "Familial"


def test_normalise_label():
    assert normalise_label(" Forced  Labour ") == normalise_label("forcedlabour")


def test_cached_vocabularies_are_read_only():
    v = load_vocabulary("Gender")
    with pytest.raises(TypeError):
        v.entries["Female"]["en"] = "changed"  # type: ignore[index]
    with pytest.raises(TypeError):
        v.entries["New"] = {}  # type: ignore[index]
    assert load_vocabulary("Gender").label("Female") == "Female"
