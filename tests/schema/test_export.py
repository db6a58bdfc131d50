"""HTCDS- and CTDC-shaped exports: standard columns, crosswalks, no identifying fields, no CSV injection."""

from __future__ import annotations

import csv
from dataclasses import dataclass

import pandas as pd
import pytest

from darkfigure.exceptions import InputError
from darkfigure.schema import IDENTIFYING_FIELDS, CaseRecord
from darkfigure.schema.export import (
    CTDC_COLUMNS,
    HTCDS_COLUMNS,
    neutralise_formula,
    to_ctdc_frame,
    to_htcds_frame,
    write_csv,
    write_export,
)

NAME = "김비밀"
FULL = CaseRecord(
    source="rescue_ngo",
    source_record_id="SECRET-ID-1",
    record_date="2018-06-01",
    consent="ConsentGiven",
    language="ko",
    name_hangul=NAME,
    name_hanja="金秘密",
    name_romanised="Kim Bimil",
    aliases=["=evil()"],
    date_of_birth="1999-07-15",
    place_of_birth="청진",
    phone="010-0000-0000",
    id_number="X123",
    home_province="NorthHamgyong",
    recruitment_place="NorthHamgyong",
    gender="Female",
    citizenship="KP",
    country_of_exploitation="CN",
    age_at_recruitment=17,
    age_at_exploitation=18,
    recruitment_means=["DeceptionWork", "Abduction"],
    means_of_control=["ThreatsOfDeportation", "DebtBondage", "Isolation"],
    perpetrator_roles=["Broker", "Buyer"],
    perpetrator_relationship="Familial",
    exploitation_types=["SexualExploitation", "ForcedMarriage"],
    sex_exploitation_subtypes=["Prostitution", "RemoteInteractiveServices"],
    trafficking_status="ConfirmedVictim",
    status_decided_by="NGO",
)
EMPTY = CaseRecord(source="church", source_record_id="2")


def test_htcds_columns_and_values():
    f = to_htcds_frame([FULL, EMPTY])
    assert tuple(f.columns) == HTCDS_COLUMNS
    row = f.iloc[0]
    assert row["Gender"] == "Female"
    assert row["TraffickingStatus"] == "ActualVictimOfTrafficking"
    assert row["RelationshipToTrafficker"] == "Familial"
    assert row["MethodOfRecruitment"] == "JobOffer;Abduction"
    # three darkfigure codes, two HTCDS values (Isolation is RestrictsMovement in HTCDS)
    assert row["MethodsOfControl"] == "ThreatOfLawEnforcement;DebtBondage;RestrictsMovement"
    assert row["TypeOfExploitation"] == "SexualExploitation;Other"
    assert row["TypeOfSexExploitation"] == "Prostitution;RemoteInteractiveServices"
    assert row["RoleInProcess"] == "BrokerTravelAgent;BoughtIndividual"
    assert row["PrimaryLanguage"] == "kor" and row["AgreementToManagePersonalData"]
    assert row["AgeWhenTrafficked"] == 17 and row["RecordYear"] == 2018
    assert row["LocationOfRecruitment"] == "NorthHamgyong" and row["LocationOfExploitationCountry"] == "CN"
    assert f.iloc[1].isna()[["Gender", "MethodsOfControl", "AgeWhenTrafficked"]].all()


def test_ctdc_columns_match_the_public_dataset():
    f = to_ctdc_frame([FULL, EMPTY])
    assert tuple(f.columns) == CTDC_COLUMNS
    for col in (
        "yearOfRegistration",
        "Datasource",
        "gender",
        "ageBroad",
        "majorityStatus",
        "majorityStatusAtExploit",
        "majorityEntry",
        "citizenship",
        "CountryOfExploitation",
        "meansOfControlDebtBondage",
        "meansOfControlRestrictsMovement",
        "meansOfControlUsesChildren",
        "isForcedLabour",
        "isSexualExploit",
        "isOtherExploit",
        "isForcedMarriage",
        "typeOfSexProstitution",
        "typeOfSexPornography",
        "typeOfSexRemoteInteractiveServices",
        "typeOfSexPrivateSexualServices",
        "isAbduction",
        "recruiterRelationFamily",
        "recruiterRelationIntimatePartner",
        "recruiterRelationFriend",
        "recruiterRelationOther",
    ):
        assert col in f.columns


def test_ctdc_values():
    row = to_ctdc_frame([FULL]).iloc[0]
    assert row["yearOfRegistration"] == 2018 and row["Datasource"] == "Case Management"
    # born 1999-07-15, registered 2018-06-01: 18 years old, band 18--20 in CTDC's spelling
    assert row["ageBroad"] == "18--20" and row["majorityStatus"] == "Adult"
    assert row["majorityStatusAtExploit"] == "Adult" and row["majorityEntry"] == "Minor"
    assert row["citizenship"] == "KP" and row["CountryOfExploitation"] == "CN"
    assert row["meansOfControlDebtBondage"] == 1
    assert row["meansOfControlThreatOfLawEnforcement"] == 1
    assert row["meansOfControlRestrictsMovement"] == 1
    assert row["meansOfControlPhysicalAbuse"] == 0
    assert row["meansOfControlNotSpecified"] == 0
    assert row["isSexualExploit"] == 1 and row["isForcedMarriage"] == 1 and row["isForcedLabour"] == 0
    assert row["typeOfSexProstitution"] == 1 and row["typeOfSexRemoteInteractiveServices"] == 1
    assert row["typeOfSexPornography"] == 0
    assert pd.isna(row["typeOfLabourDomesticWork"])  # not forced labour: labour types do not apply
    assert row["isAbduction"] == 1
    assert row["recruiterRelationFamily"] == 1 and row["recruiterRelationFriend"] == 0
    assert row["RecruiterRelationship"] == "Family"


def test_ctdc_unknown_is_missing_not_zero():
    row = to_ctdc_frame([EMPTY]).iloc[0]
    for col in (
        "meansOfControlDebtBondage",
        "isSexualExploit",
        "isAbduction",
        "recruiterRelationFamily",
        "typeOfSexProstitution",
        "ageBroad",
        "gender",
        "majorityStatus",
    ):
        assert pd.isna(row[col]), col


def test_ctdc_age_band_left_missing_when_partial_dates_straddle_a_band_edge():
    # born in 2000 (year only), registered in 2018: 17 or 18 -> band and majority unknown
    rec = CaseRecord(source="s", source_record_id="1", date_of_birth="2000", record_date="2018")
    row = to_ctdc_frame([rec]).iloc[0]
    assert pd.isna(row["ageBroad"]) and pd.isna(row["majorityStatus"])
    rec = CaseRecord(source="s", source_record_id="1", date_of_birth="1990", record_date="2018")
    assert to_ctdc_frame([rec]).iloc[0]["ageBroad"] == "27--29"  # 27 or 28: same band


def test_domestic_servitude_is_forced_labour_domestic_work():
    rec = CaseRecord(source="s", source_record_id="1", exploitation_types=["DomesticServitude"])
    row = to_ctdc_frame([rec]).iloc[0]
    assert row["isForcedLabour"] == 1 and row["typeOfLabourDomesticWork"] == 1
    assert row["typeOfLabourNotSpecified"] == 0


@pytest.mark.parametrize("make", [to_htcds_frame, to_ctdc_frame])
def test_no_identifying_field_or_value_is_exported(make, tmp_path):
    f = make([FULL])
    assert not set(f.columns) & set(IDENTIFYING_FIELDS)
    text = f.to_csv()
    for secret in (
        NAME,
        "金秘密",
        "Kim Bimil",
        "1999-07-15",
        "청진",
        "010-0000-0000",
        "X123",
        "SECRET-ID-1",
        "evil",
    ):
        assert secret not in text


def test_refused_consent_left_out_unless_asked():
    refused = FULL.model_copy(update={"consent": "ConsentRefused"})
    assert len(to_htcds_frame([refused, EMPTY])) == 1
    assert len(to_ctdc_frame([refused, EMPTY])) == 1
    assert len(to_ctdc_frame([refused, EMPTY], include_refused_consent=True)) == 2


def test_stored_records_are_accepted():
    @dataclass
    class Stored:
        record: CaseRecord

    assert len(to_htcds_frame([Stored(FULL)])) == 1
    with pytest.raises(InputError):
        to_htcds_frame([{"source": "x"}])


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_csv_injection_neutralised(tmp_path, cell):
    assert neutralise_formula(cell) == "'" + cell
    path = write_csv(pd.DataFrame({"Organisation": [cell, "plain"]}), tmp_path / "x.csv")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[1][0] == "'" + cell and rows[2][0] == "plain"


def test_write_export(tmp_path):
    evil = CaseRecord(source="=cmd|' /C calc'!A0", source_record_id="1")
    p = write_export([FULL, evil], tmp_path / "h.csv", shape="htcds")
    text = p.read_text(encoding="utf-8-sig")
    assert "'=cmd" in text and "\n=cmd" not in text and ",=cmd" not in text
    p = write_export([FULL], tmp_path / "c.csv", shape="ctdc")
    assert p.read_text(encoding="utf-8-sig").startswith("yearOfRegistration,Datasource,gender,ageBroad")
    with pytest.raises(InputError):
        write_export([FULL], tmp_path / "z.csv", shape="xml")  # type: ignore[arg-type]
