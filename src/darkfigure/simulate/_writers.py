"""How each kind of organisation writes its list: columns, language, codes, habits, file format, mapping.

A writer turns "organisation k saw these people" into rows in the organisation's own layout, breaks a few of
them on purpose (recorded with the reason), and writes the file and the column-mapping YAML a user would
write for it.  All labels used in the files are listed in the writer's mapping, so every unbroken row
imports through :func:`darkfigure.io.read_records`.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import yaml

from . import _names as nm
from ._fastrandom import FastRandom
from ._population import Population
from ._scenario import Organisation, Scenario

__all__ = ["WRITER_CLASSES", "OrgRecords", "Writer"]

# ---------------------------------------------------------------------------------------------- labels
PROV_EN = {
    "NorthHamgyong": ("North Hamgyong", "N. Hamgyong", "Hamgyong-bukto"),
    "Ryanggang": ("Ryanggang", "Yanggang"),
    "SouthHamgyong": ("South Hamgyong", "S. Hamgyong"),
    "Chagang": ("Chagang",),
    "NorthPyongan": ("North Pyongan",),
    "SouthPyongan": ("South Pyongan",),
    "Pyongyang": ("Pyongyang",),
    "Kangwon": ("Kangwon",),
    "SouthHwanghae": ("South Hwanghae",),
    "NorthHwanghae": ("North Hwanghae",),
    "Rason": ("Rason",),
    "Nampo": ("Nampo",),
    "UnknownProvince": ("unknown",),
}
PROV_KO = {
    "NorthHamgyong": ("함경북도", "함북"),
    "Ryanggang": ("량강도", "양강도"),
    "SouthHamgyong": ("함경남도", "함남"),
    "Chagang": ("자강도",),
    "NorthPyongan": ("평안북도", "평북"),
    "SouthPyongan": ("평안남도", "평남"),
    "Pyongyang": ("평양시", "평양"),
    "Kangwon": ("강원도",),
    "SouthHwanghae": ("황해남도",),
    "NorthHwanghae": ("황해북도",),
    "Rason": ("라선시", "나선"),
    "Nampo": ("남포시",),
    "UnknownProvince": ("미상",),
}
PROV_ZH = {
    "NorthHamgyong": ("咸镜北道",),
    "Ryanggang": ("两江道",),
    "SouthHamgyong": ("咸镜南道",),
    "Chagang": ("慈江道",),
    "NorthPyongan": ("平安北道",),
    "SouthPyongan": ("平安南道",),
    "Pyongyang": ("平壤",),
    "Kangwon": ("江原道",),
    "SouthHwanghae": ("黄海南道",),
    "NorthHwanghae": ("黄海北道",),
    "Rason": ("罗先",),
    "Nampo": ("南浦",),
    "UnknownProvince": ("不明",),
}
EXPL_EN = {
    "SexualExploitation": "sex trafficking",
    "ForcedMarriage": "forced marriage",
    "ForcedLabour": "forced labour",
    "DomesticServitude": "domestic servitude",
    "NotExploited": "not trafficked",
}
EXPL_KO = {
    "SexualExploitation": "성착취",
    "ForcedMarriage": "강제결혼",
    "ForcedLabour": "강제노동",
    "DomesticServitude": "가사노동착취",
    "NotExploited": "해당없음",
}
EXPL_ZH = {
    "SexualExploitation": "性剥削",
    "ForcedMarriage": "被卖为妻",
    "ForcedLabour": "强迫劳动",
    "DomesticServitude": "家庭奴役",
    "NotExploited": "无",
}
SUB_EN = {
    "Prostitution": "prostitution",
    "RemoteInteractiveServices": "cybersex",
    "Pornography": "pornography",
    "PrivateSexualServices": "private sexual services",
    "OtherSexExploitation": "other",
}
SUB_KO = {
    "Prostitution": "성매매",
    "RemoteInteractiveServices": "화상채팅",
    "Pornography": "음란물",
    "PrivateSexualServices": "개인성접대",
    "OtherSexExploitation": "기타",
}
SUB_ZH = {
    "Prostitution": "卖淫",
    "RemoteInteractiveServices": "网络裸聊",
    "Pornography": "色情制品",
    "PrivateSexualServices": "私人性服务",
    "OtherSexExploitation": "其他",
}
VENUE_EN = {
    "KaraokeBar": "karaoke bar",
    "Bathhouse": "bathhouse",
    "Sauna": "sauna",
    "Cafe": "cafe",
    "Restaurant": "restaurant",
    "MassageParlour": "massage parlour",
    "SmallHotel": "small hotel",
    "BeautyParlour": "beauty parlour",
    "Barbershop": "barbershop",
    "HairSalon": "hair salon",
    "PrivateResidence": "private home",
    "OnlineDen": "online (webcam)",
}
VENUE_ZH = {
    "KaraokeBar": "KTV",
    "Bathhouse": "洗浴中心",
    "Sauna": "桑拿",
    "Cafe": "咖啡厅",
    "Restaurant": "饭店",
    "MassageParlour": "按摩店",
    "SmallHotel": "小旅馆",
    "BeautyParlour": "美容院",
    "Barbershop": "理发店",
    "HairSalon": "发廊",
    "PrivateResidence": "私人住宅",
    "OnlineDen": "网络聊天室",
}
CONTROL_EN = {
    "RestrictsMovement": "movement restricted",
    "ThreatsOfViolence": "threats of violence",
    "PhysicalAbuse": "beaten",
    "SexualAbuse": "sexual abuse",
    "WithholdsDocuments": "documents taken",
    "ThreatsOfDeportation": "threatened with police",
    "DebtBondage": "debt",
    "Isolation": "isolated",
    "PsychologicalAbuse": "psychological abuse",
    "UsesChildren": "children used as leverage",
    "FalsePromises": "false promises",
    "WithholdsWages": "wages withheld",
    "ExcessiveWorkingHours": "excessive hours",
    "ThreatsToFamily": "threats to family",
}
RECRUIT_EN = {
    "DeceptionFood": "promise of food",
    "DeceptionWork": "false job offer",
    "DeceptionPassage": "offer of passage",
    "Abduction": "abducted",
    "SoldByBroker": "sold by broker",
    "SoldByFamilyOrAcquaintance": "sold by family/acquaintance",
    "OtherRecruitment": "other",
}
RECRUIT_KO = {
    "DeceptionFood": "식량 제공 약속",
    "DeceptionWork": "취업 사기",
    "DeceptionPassage": "도강 알선",
    "Abduction": "납치",
    "SoldByBroker": "브로커 매매",
    "SoldByFamilyOrAcquaintance": "지인 매매",
    "OtherRecruitment": "기타",
}
OUTCOME_EN = {
    "Escaped": "escaped",
    "Rescued": "rescued",
    "Deported": "deported",
    "StillHeld": "still held",
    "Died": "died",
    "ReachedThirdCountry": "reached third country",
}
OUTCOME_KO = {
    "Escaped": "탈출",
    "Rescued": "구출",
    "Deported": "강제북송",
    "StillHeld": "억류중",
    "Died": "사망",
    "ReachedThirdCountry": "한국입국",
}
OUTCOME_ZH = {
    "Escaped": "逃脱",
    "Rescued": "获救",
    "Deported": "被遣返",
    "StillHeld": "仍被控制",
    "Died": "死亡",
    "ReachedThirdCountry": "已到第三国",
}
STATUS_EN = {"ConfirmedVictim": "confirmed", "PresumedVictim": "presumed", "NotAVictim": "not trafficked"}

_ZIP_DATE = (2019, 1, 1, 0, 0, 0)
#: A list with at least this many rows gets at least one broken row when ``broken_rate`` > 0.
MIN_ROWS_FOR_BREAKAGE = 20


def _inverse(*tables: dict[str, Any]) -> dict[str, str]:
    """file label -> code, for a mapping's ``values`` section."""
    out: dict[str, str] = {}
    for t in tables:
        for code, labels in t.items():
            for lab in labels if isinstance(labels, tuple) else (labels,):
                out[lab] = code
    return out


@dataclass
class OrgRecords:
    """One organisation's list as generated: rows in file order plus the truth about them."""

    org: str
    writer: str
    file_name: str
    columns: list[str]
    rows: list[dict[str, Any]]
    person_index: np.ndarray  # person (0-based) of each row
    is_duplicate: np.ndarray  # a second record of the same person in this list
    broken: list[dict[str, Any]] = field(default_factory=list)  # row, source_record_id, field, rule, reason
    mapping: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> Any:
        """The rows as a pandas DataFrame in the file's column order."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns)


class Writer:
    """Base class: subclasses define the layout (``columns``), one row, the breakages and the mapping."""

    key: ClassVar[str]
    file_name: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]
    id_column: ClassVar[str]

    def __init__(
        self,
        s: Scenario,
        org: Organisation,
        pop: Population,
        names: dict[str, np.ndarray],
        rng: np.random.Generator,
    ) -> None:
        self.s, self.org, self.pop, self.gen = s, org, pop, rng
        self.rng = FastRandom(rng)
        self.c = pop.columns
        self.names = names
        self.t = nm.load_tables()

    # ---------------------------------------------------------------- helpers
    def present(self, factor: float = 1.0) -> bool:
        """True if an optional field is filled in (the organisation's missing-data habit)."""
        return bool(self.rng.random() >= min(1.0, self.org.missing_rate * factor))

    def typo(self) -> bool:
        return bool(self.rng.random() < self.org.typo_rate)

    def pick(self, labels: tuple[str, ...] | str) -> str:
        if isinstance(labels, str):
            return labels
        return (
            labels[0]
            if len(labels) == 1 or self.rng.random() < 0.7
            else labels[int(self.rng.integers(1, len(labels)))]
        )

    def name_idx(self, i: int) -> tuple[int, int, int]:
        return int(self.names["surname"][i]), int(self.names["given1"][i]), int(self.names["given2"][i])

    def reported_age(self, i: int) -> int:
        """Age as told: off by one year now and then (birthdays, counting habits)."""
        a = int(self.c["age_at_exploitation"][i])
        u = self.rng.random()
        return a - 1 if u < 0.08 else a + 1 if u < 0.16 else a

    def codes(self, i: int, col: str) -> list[str]:
        v = self.c[col][i]
        return [x for x in str(v).split(";") if x]

    def num(self, i: int, col: str) -> float | None:
        v = float(self.c[col][i])
        return None if np.isnan(v) else v

    def record_year(self, i: int) -> int:
        """Year the organisation met the person: by default when her outcome happened."""
        return int(self.c["outcome_year"][i])

    def record_date(self, i: int) -> tuple[int, int, int]:
        return self.record_year(i), self.rng.integers(1, 13), self.rng.integers(1, 29)

    def dob(self, i: int) -> tuple[int, int, int]:
        return int(self.c["dob_year"][i]), int(self.c["dob_month"][i]), int(self.c["dob_day"][i])

    # ---------------------------------------------------------------- to implement
    def row(self, i: int, date: tuple[int, int, int]) -> dict[str, Any]:
        raise NotImplementedError

    def make_id(self, seq: int, date: tuple[int, int, int]) -> str:
        raise NotImplementedError

    def breakages(self) -> list[tuple[str, str, str, Callable[[dict[str, Any]], None]]]:
        """(CaseRecord field, rule the import reports, reason, function that breaks a row in place)."""
        raise NotImplementedError

    def mapping(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def to_bytes(cls, rows: list[dict[str, Any]]) -> bytes:
        raise NotImplementedError

    # ---------------------------------------------------------------- driver
    def build(self, seen: np.ndarray) -> OrgRecords:
        """Rows for everyone this organisation saw, with duplicates and deliberately broken rows."""
        people = np.flatnonzero(seen)
        dup = people[self.gen.random(people.size) < self.org.duplicate_rate]
        persons = np.concatenate([people, dup])
        is_dup = np.concatenate([np.zeros(people.size, bool), np.ones(dup.size, bool)])
        dates = [self.record_date(int(i)) for i in persons]
        # a second record is made later than the first (a new intake, a new interview)
        for k in range(people.size, persons.size):
            y, m, d = dates[k]
            dates[k] = (min(y + self.rng.integers(0, 2), self.s.population.survey_year), m, d)
        # file order: by date (ties broken at random), as lists are kept
        tiebreak = self.gen.random(persons.size)
        order = sorted(range(persons.size), key=lambda k: (dates[k], tiebreak[k]))
        rows: list[dict[str, Any]] = []
        for seq, k in enumerate(order, start=1):
            r = self.row(int(persons[k]), dates[k])
            r[self.id_column] = self.make_id(seq, dates[k])
            rows.append({col: r.get(col) for col in self.columns})
        persons, is_dup = persons[order], is_dup[order]
        broken: list[dict[str, Any]] = []
        kinds = self.breakages()
        chosen = np.flatnonzero(self.gen.random(len(rows)) < self.org.broken_rate).tolist()
        if not chosen and self.org.broken_rate > 0 and len(rows) >= MIN_ROWS_FOR_BREAKAGE:
            # a small list still gets one broken row, so that every import exercises the quarantine
            chosen = [self.rng.integers(len(rows))]
        for k in chosen:
            fld, rule, reason, fn = kinds[self.rng.integers(len(kinds))]
            fn(rows[k])
            broken.append(
                {
                    "source": self.org.name,
                    "file": f"{self.org.name}/{self.file_name}",
                    "row": int(k) + 1,
                    "source_record_id": rows[k][self.id_column],
                    "field": fld,
                    "rule": rule,
                    "reason": reason,
                }
            )
        return OrgRecords(
            self.org.name,
            self.key,
            self.file_name,
            list(self.columns),
            rows,
            persons,
            is_dup,
            broken,
            self.mapping(),
        )


# ---------------------------------------------------------------------------------------------- file helpers
def csv_bytes(columns: Sequence[str], rows: list[dict[str, Any]], encoding: str, newline: str) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=newline)
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if r[c] is None else r[c] for c in columns])
    return buf.getvalue().encode(encoding)


_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
        '<Relationship Id="rId2" Target="docProps/core.xml" '
        'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"/>'
        "</Relationships>"
    ),
    "docProps/core.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        "<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<dc:creator>darkfigure simulator</dc:creator>"
        '<dcterms:created xsi:type="dcterms:W3CDTF">2019-01-01T00:00:00Z</dcterms:created>'
        '<dcterms:modified xsi:type="dcterms:W3CDTF">2019-01-01T00:00:00Z</dcterms:modified>'
        "</cp:coreProperties>"
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
        '<Relationship Id="rId2" Target="styles.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"/>'
        "</Relationships>"
    ),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}


def _col_letter(j: int) -> str:
    out = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        out = chr(65 + r) + out
    return out


def _xml_text(v: str) -> str:
    return v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xlsx_bytes(columns: Sequence[str], rows: list[dict[str, Any]], sheet: str) -> bytes:
    """A minimal XLSX workbook (one sheet, inline strings, numbers as numbers).

    Written directly rather than with openpyxl: ten times faster, and nothing in it depends on the clock
    (fixed document dates and zip entry times), so the same rows give the same bytes.
    """
    letters = [_col_letter(j) for j in range(len(columns))]
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    ]
    for i, values in enumerate([list(columns), *([r[c] for c in columns] for r in rows)], start=1):
        cells = []
        for letter, v in zip(letters, values, strict=True):
            if v is None or v == "":
                continue
            if isinstance(v, bool) or not isinstance(v, int | float):
                cells.append(f'<c r="{letter}{i}" t="inlineStr"><is><t>{_xml_text(str(v))}</t></is></c>')
            else:
                cells.append(f'<c r="{letter}{i}"><v>{v!r}</v></c>')
        parts.append(f'<row r="{i}">{"".join(cells)}</row>')
    parts.append("</sheetData></worksheet>")
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{_xml_text(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    files = dict(_XLSX_PARTS)
    files["xl/workbook.xml"] = workbook
    files["xl/worksheets/sheet1.xml"] = "".join(parts)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            zi = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            z.writestr(zi, files[name].encode("utf-8"))
    return out.getvalue()


def mapping_yaml(m: dict[str, Any]) -> bytes:
    head = (
        "# Column mapping for this organisation's file, as a user would write it by hand.\n"
        "# Format: darkfigure mapping_version 1 (see docs/simulator.md).\n"
    )
    body = yaml.safe_dump(m, allow_unicode=True, sort_keys=False, width=100)
    return (head + body).encode("utf-8")


# ---------------------------------------------------------------------------------------------- writers
class RescueNGO(Writer):
    """An English-speaking rescue NGO in China: UTF-8 CSV, English headers and labels, romanised names."""

    key = "rescue_ngo"
    file_name = "cases.csv"
    id_column = "case_no"
    columns = (
        "case_no",
        "intake_date",
        "full_name",
        "also_known_as",
        "sex",
        "dob",
        "age",
        "province_of_origin",
        "recruited_through",
        "exploitation",
        "sexual_exploitation_type",
        "venue",
        "control_methods",
        "outcome",
        "status",
        "consent",
        "caseworker_notes",
    )
    # informal, strict RR, MR with breves, MR typed in ASCII
    systems = (0.6, 0.2, 0.05, 0.15)

    def make_id(self, seq: int, date: tuple[int, int, int]) -> str:
        return f"RN-{date[0]}-{seq:05d}"

    def row(self, i: int, date: tuple[int, int, int]) -> dict[str, Any]:
        s, g1, g2 = self.name_idx(i)
        name = nm.romanised(self.t, s, g1, g2, self.rng, self.systems)
        if self.typo():
            name = nm.typo_latin(name, self.rng)
        y, m, d = self.dob(i)
        u = self.rng.random()
        dob = None if not self.present(1.5) else f"{d:02d}/{m:02d}/{y}" if u < 0.7 else str(y)
        r: dict[str, Any] = {
            "intake_date": f"{date[2]:02d}/{date[1]:02d}/{date[0]}",
            "full_name": name,
            "also_known_as": self.t.aliases[self.rng.integers(len(self.t.aliases))]
            if self.rng.random() < 0.05
            else None,
            "sex": "F",
            "dob": dob,
            "age": self.reported_age(i)
            if (dob is None or self.rng.random() < 0.5) and self.present()
            else None,
            "province_of_origin": self.pick(PROV_EN[self.c["home_province"][i]]) if self.present() else None,
            "recruited_through": RECRUIT_EN[self.c["recruitment_means"][i]] if self.present() else None,
            "exploitation": "; ".join(EXPL_EN[x] for x in self.codes(i, "exploitation_types")),
            "sexual_exploitation_type": "; ".join(
                SUB_EN[x] for x in self.codes(i, "sex_exploitation_subtypes")
            ),
            "venue": VENUE_EN.get(self.c["venue_type"][i]) if self.present() else None,
            "control_methods": "; ".join(CONTROL_EN[x] for x in self.codes(i, "means_of_control"))
            if self.present()
            else None,
            "outcome": OUTCOME_EN[self.c["outcome"][i]],
            "status": STATUS_EN[self.c["trafficking_status"][i]],
            "consent": "yes" if self.rng.random() < 0.85 else "limited",
            "caseworker_notes": "follow-up needed" if self.rng.random() < 0.1 else None,
        }
        return {k: (None if v == "" else v) for k, v in r.items()}

    def breakages(self) -> list[tuple[str, str, str, Callable[[dict[str, Any]], None]]]:
        def bad_date(r: dict[str, Any]) -> None:
            r["dob"] = f"{self.rng.integers(30, 32)}/02/{1970 + self.rng.integers(0, 30)}"

        def bad_age(r: dict[str, Any]) -> None:
            r["age"] = str(self.rng.integers(15, 30) * 10)  # a zero typed twice: 230 for 23

        def bad_code(r: dict[str, Any]) -> None:
            r["exploitation"] = "see file"

        return [
            ("date_of_birth", "invalid_date", "day 30 or 31 of February", bad_date),
            ("age_at_exploitation", "out_of_range", "age above 100 (extra digit)", bad_age),
            ("exploitation_types", "vocabulary", "free text instead of a listed category", bad_code),
        ]

    def mapping(self) -> dict[str, Any]:
        return {
            "mapping_version": 1,
            "source": self.org.name,
            "format": "csv",
            "record_id": "case_no",
            "multi_value_separator": ";",
            "columns": {
                "intake_date": "record_date",
                "full_name": "name_romanised",
                "also_known_as": "aliases",
                "sex": "gender",
                "dob": "date_of_birth",
                "age": "age_at_exploitation",
                "province_of_origin": "home_province",
                "recruited_through": "recruitment_means",
                "exploitation": "exploitation_types",
                "sexual_exploitation_type": "sex_exploitation_subtypes",
                "venue": "venue_type",
                "control_methods": "means_of_control",
                "outcome": "outcome",
                "status": "trafficking_status",
                "consent": "consent",
            },
            "values": {
                "gender": {"F": "Female", "M": "Male"},
                "home_province": _inverse(PROV_EN),
                "recruitment_means": _inverse(RECRUIT_EN),
                "exploitation_types": _inverse(EXPL_EN),
                "sex_exploitation_subtypes": _inverse(SUB_EN),
                "venue_type": _inverse(VENUE_EN),
                "means_of_control": _inverse(CONTROL_EN),
                "outcome": _inverse(OUTCOME_EN),
                "trafficking_status": _inverse(STATUS_EN),
                "consent": {"yes": "ConsentGiven", "limited": "ConsentLimited", "no": "ConsentRefused"},
            },
            "dates": {"record_date": ["%d/%m/%Y"], "date_of_birth": ["%d/%m/%Y"]},
            "constants": {
                "citizenship": "KP",
                "country_of_exploitation": "CN",
                "language": "en",
                "status_decided_by": "NGO",
            },
            "ignore": ["caseworker_notes"],
        }

    @classmethod
    def to_bytes(cls, rows: list[dict[str, Any]]) -> bytes:
        return csv_bytes(cls.columns, rows, "utf-8", "\n")


class SeoulIntake(Writer):
    """A resettlement intake in South Korea: CP949 CSV (Excel habit), Korean headers and labels, names in
    Hangul as South Koreans spell them (initial-sound rule), sometimes in Hanja."""

    key = "seoul_intake"
    file_name = "intake_register.csv"
    id_column = "번호"
    columns = (
        "번호",
        "접수일",
        "성명",
        "한자성명",
        "생년월일",
        "성별",
        "출신지역",
        "탈북연도",
        "입국경위",
        "피해유형",
        "성착취유형",
        "최종상황",
        "비고",
    )

    def make_id(self, seq: int, date: tuple[int, int, int]) -> str:
        return f"{date[0]}-{seq:04d}"

    def record_year(self, i: int) -> int:
        return min(int(self.c["outcome_year"][i]) + self.rng.integers(0, 2), self.s.population.survey_year)

    def row(self, i: int, date: tuple[int, int, int]) -> dict[str, Any]:
        s, g1, g2 = self.name_idx(i)
        name = (
            nm.hangul_sk(self.t, s, g1, g2)
            if self.rng.random() < 0.8
            else nm.canonical_hangul(self.t, s, g1, g2)
        )
        if self.typo():
            name = nm.typo_hangul(name, self.rng)
        y, m, d = self.dob(i)
        u = self.rng.random()
        dob = (
            f"{y}.{m:02d}.{d:02d}"
            if u < 0.75
            else f"{y}.{m:02d}"
            if u < 0.85
            else f"{y}년"
            if u < 0.95
            else None
        )
        return {
            "접수일": f"{date[0]}.{date[1]:02d}.{date[2]:02d}",
            "성명": name,
            "한자성명": nm.canonical_hanja(self.t, s, g1, g2) if self.rng.random() < 0.35 else None,
            "생년월일": dob,
            "성별": "여",
            "출신지역": self.pick(PROV_KO[self.c["home_province"][i]]) if self.present() else None,
            "탈북연도": int(self.c["year_left"][i]) if self.present() else None,
            "입국경위": RECRUIT_KO[self.c["recruitment_means"][i]] if self.present(2) else None,
            "피해유형": ";".join(EXPL_KO[x] for x in self.codes(i, "exploitation_types")) or None,
            "성착취유형": ";".join(SUB_KO[x] for x in self.codes(i, "sex_exploitation_subtypes")) or None,
            "최종상황": OUTCOME_KO[self.c["outcome"][i]],
            "비고": "재입소" if self.rng.random() < 0.03 else None,
        }

    def breakages(self) -> list[tuple[str, str, str, Callable[[dict[str, Any]], None]]]:
        def bad_date(r: dict[str, Any]) -> None:
            r["생년월일"] = f"{1970 + self.rng.integers(0, 30)}.02.30"

        def bad_year(r: dict[str, Any]) -> None:
            r["탈북연도"] = "20l" + str(self.rng.integers(0, 9))  # letter l typed for the digit 1

        def bad_code(r: dict[str, Any]) -> None:
            r["피해유형"] = "확인중"

        return [
            ("date_of_birth", "invalid_date", "30 February", bad_date),
            ("year_left", "not_a_number", "letter l typed for the digit 1", bad_year),
            ("exploitation_types", "vocabulary", "'under review' instead of a listed category", bad_code),
        ]

    def mapping(self) -> dict[str, Any]:
        return {
            "mapping_version": 1,
            "source": self.org.name,
            "format": "csv",
            "encoding": "cp949",
            "record_id": "번호",
            "multi_value_separator": ";",
            "columns": {
                "접수일": "record_date",
                "성명": "name_hangul",
                "한자성명": "name_hanja",
                "생년월일": "date_of_birth",
                "성별": "gender",
                "출신지역": "home_province",
                "탈북연도": "year_left",
                "입국경위": "recruitment_means",
                "피해유형": "exploitation_types",
                "성착취유형": "sex_exploitation_subtypes",
                "최종상황": "outcome",
            },
            "values": {
                "gender": {"여": "Female", "남": "Male"},
                "home_province": _inverse(PROV_KO),
                "recruitment_means": _inverse(RECRUIT_KO),
                "exploitation_types": _inverse(EXPL_KO),
                "sex_exploitation_subtypes": _inverse(SUB_KO),
                "outcome": _inverse(OUTCOME_KO),
            },
            "dates": {"record_date": ["%Y.%m.%d"], "date_of_birth": ["%Y.%m.%d", "%Y.%m", "%Y년"]},
            "constants": {"citizenship": "KP", "language": "ko", "status_decided_by": "GovernmentAgency"},
            "ignore": ["비고"],
        }

    @classmethod
    def to_bytes(cls, rows: list[dict[str, Any]]) -> bytes:
        return csv_bytes(cls.columns, rows, "cp949", "\r\n")


class ChurchNetwork(Writer):
    """A church network in China: an XLSX register with Chinese headers; names in Chinese characters
    and/or pinyin, sometimes also in Hangul; ages more often than dates."""

    key = "church_network"
    file_name = "register.xlsx"
    id_column = "编号"
    sheet = "登记表"
    columns = (
        "编号",
        "登记日期",
        "姓名",
        "朝鲜文姓名",
        "别名",
        "年龄",
        "出生年份",
        "籍贯",
        "遭遇",
        "剥削方式",
        "场所",
        "现状",
        "备注",
    )

    def make_id(self, seq: int, date: tuple[int, int, int]) -> str:
        return f"JH{seq:05d}"

    def record_year(self, i: int) -> int:
        lo, hi = int(self.c["year_left"][i]), int(self.c["outcome_year"][i])
        return self.rng.integers(lo, max(lo, hi) + 1)

    def row(self, i: int, date: tuple[int, int, int]) -> dict[str, Any]:
        s, g1, g2 = self.name_idx(i)
        u = self.rng.random()
        chars = nm.chinese_heard(self.t, s, g1, g2, self.rng, 0.1)
        py = nm.pinyin(self.t, s, g1, g2, self.rng)
        if self.typo():
            py = nm.typo_latin(py, self.rng)
        name = chars if u < 0.5 else py if u < 0.8 else f"{chars}（{py}）"
        y = self.dob(i)[0]
        sub = self.codes(i, "sex_exploitation_subtypes")
        return {
            "登记日期": f"{date[0]}年{date[1]}月{date[2]}日",
            "姓名": name,
            "朝鲜文姓名": nm.canonical_hangul(self.t, s, g1, g2) if self.rng.random() < 0.2 else None,
            "别名": self.t.aliases[self.rng.integers(len(self.t.aliases))]
            if self.rng.random() < 0.15
            else None,
            "年龄": self.reported_age(i) if self.present() else None,
            "出生年份": f"{y}年" if self.present(2.5) else None,
            "籍贯": PROV_ZH[self.c["home_province"][i]][0] if self.present() else None,
            "遭遇": ";".join(EXPL_ZH[x] for x in self.codes(i, "exploitation_types")),
            "剥削方式": ";".join(SUB_ZH[x] for x in sub) or None,
            "场所": VENUE_ZH.get(self.c["venue_type"][i]) if self.present() else None,
            "现状": OUTCOME_ZH[self.c["outcome"][i]] if self.present(0.5) else None,
            "备注": "需要帮助" if self.rng.random() < 0.05 else None,
        }

    def breakages(self) -> list[tuple[str, str, str, Callable[[dict[str, Any]], None]]]:
        def bad_age(r: dict[str, Any]) -> None:
            r["年龄"] = self.rng.integers(15, 30) * 10

        def bad_code(r: dict[str, Any]) -> None:
            r["遭遇"] = "待核实"

        def bad_date(r: dict[str, Any]) -> None:
            r["登记日期"] = f"{2010 + self.rng.integers(0, 9)}年2月30日"

        return [
            ("age_at_exploitation", "out_of_range", "age above 100 (extra digit)", bad_age),
            ("exploitation_types", "vocabulary", "'to be verified' instead of a listed category", bad_code),
            ("record_date", "invalid_date", "30 February", bad_date),
        ]

    def mapping(self) -> dict[str, Any]:
        return {
            "mapping_version": 1,
            "source": self.org.name,
            "format": "xlsx",
            "sheet": self.sheet,
            "record_id": "编号",
            "multi_value_separator": ";",
            "columns": {
                "登记日期": "record_date",
                "姓名": "name_chinese",
                "朝鲜文姓名": "name_hangul",
                "别名": "aliases",
                "年龄": "age_at_exploitation",
                "出生年份": "date_of_birth",
                "籍贯": "home_province",
                "遭遇": "exploitation_types",
                "剥削方式": "sex_exploitation_subtypes",
                "场所": "venue_type",
                "现状": "outcome",
            },
            "values": {
                "home_province": _inverse(PROV_ZH),
                "exploitation_types": _inverse(EXPL_ZH),
                "sex_exploitation_subtypes": _inverse(SUB_ZH),
                "venue_type": _inverse(VENUE_ZH),
                "outcome": _inverse(OUTCOME_ZH),
            },
            "dates": {"record_date": ["%Y年%m月%d日"], "date_of_birth": ["%Y年"]},
            "constants": {
                "gender": "Female",
                "citizenship": "KP",
                "country_of_exploitation": "CN",
                "language": "zh",
                "status_decided_by": "NGO",
            },
            "ignore": ["备注"],
        }

    @classmethod
    def to_bytes(cls, rows: list[dict[str, Any]]) -> bytes:
        return xlsx_bytes(cls.columns, rows, cls.sheet)


class ResearchInterviews(Writer):
    """A research interview project: JSON, English camelCase keys, vocabulary codes used directly, detailed
    fields (prices, clients per night, venue), careful romanisation (mostly McCune-Reischauer)."""

    key = "research_interviews"
    file_name = "interviews.json"
    id_column = "interviewId"
    columns = (
        "interviewId",
        "interviewDate",
        "name",
        "nameHangul",
        "birthYear",
        "ageAtRecruitment",
        "ageAtExploitation",
        "yearLeft",
        "province",
        "recruitment",
        "control",
        "perpetrators",
        "exploitation",
        "sexSubtypes",
        "venue",
        "venueClass",
        "clientsPerNight",
        "pricePerActUsd",
        "salePriceUsd",
        "timesSold",
        "durationMonths",
        "harms",
        "outcome",
        "outcomeYear",
        "consent",
        "status",
        "interviewer",
    )
    systems = (0.15, 0.3, 0.45, 0.1)

    def make_id(self, seq: int, date: tuple[int, int, int]) -> str:
        return f"INT-{seq:04d}"

    def record_year(self, i: int) -> int:
        lo = max(int(self.c["outcome_year"][i]), self.s.population.survey_year - 2)
        return self.rng.integers(lo, self.s.population.survey_year + 1)

    def row(self, i: int, date: tuple[int, int, int]) -> dict[str, Any]:
        s, g1, g2 = self.name_idx(i)
        if self.rng.random() < 0.03:
            # a pseudonym chosen by the interviewee: a different name, unlinkable by name
            t = self.t
            s = self.rng.choice(FastRandom.cumulative(t.surname_p.tolist()))
            g1, g2 = (self.rng.choice(FastRandom.cumulative(t.syllable_p.tolist())) for _ in range(2))
        name = nm.romanised(self.t, s, g1, g2, self.rng, self.systems)
        if self.typo():
            name = nm.typo_latin(name, self.rng)

        def opt(v: Any, factor: float = 1.0) -> Any:
            return v if v is not None and self.present(factor) else None

        def lst(col: str) -> str | None:
            return ";".join(self.codes(i, col)) or None

        price, sale, clients = (
            self.num(i, "price_per_act_usd"),
            self.num(i, "sale_price_usd"),
            self.num(i, "clients_per_night"),
        )
        return {
            "interviewDate": f"{date[0]}-{date[1]:02d}-{date[2]:02d}",
            "name": name,
            "nameHangul": nm.canonical_hangul(self.t, s, g1, g2) if self.rng.random() < 0.7 else None,
            "birthYear": opt(self.dob(i)[0]),
            "ageAtRecruitment": opt(int(self.c["age_at_recruitment"][i])),
            "ageAtExploitation": opt(int(self.c["age_at_exploitation"][i])),
            "yearLeft": opt(int(self.c["year_left"][i])),
            "province": opt(self.c["home_province"][i]),
            "recruitment": opt(lst("recruitment_means")),
            "control": opt(lst("means_of_control")),
            "perpetrators": opt(lst("perpetrator_roles")),
            "exploitation": lst("exploitation_types"),
            "sexSubtypes": lst("sex_exploitation_subtypes"),
            "venue": opt(self.c["venue_type"][i] or None),
            "venueClass": opt(self.c["venue_class"][i] or None),
            "clientsPerNight": opt(int(clients) if clients is not None else None),
            "pricePerActUsd": opt(price),
            "salePriceUsd": opt(sale),
            "timesSold": opt(int(self.c["times_sold"][i]) or None),
            "durationMonths": opt(self.num(i, "duration_months")),
            "harms": opt(lst("harms")),
            "outcome": self.c["outcome"][i],
            "outcomeYear": opt(int(self.c["outcome_year"][i])),
            "consent": "ConsentGiven" if self.rng.random() < 0.9 else "ConsentLimited",
            # researchers judge status from the interview: exploited people as presumed victims
            "status": "PresumedVictim"
            if self.c["trafficking_status"][i] == "ConfirmedVictim"
            else "NotAVictim",
            "interviewer": f"R{self.rng.integers(1, 6)}",
        }

    def breakages(self) -> list[tuple[str, str, str, Callable[[dict[str, Any]], None]]]:
        def bad_year(r: dict[str, Any]) -> None:
            r["birthYear"] = 19000 + self.rng.integers(70, 100)  # a digit typed twice

        def bad_clients(r: dict[str, Any]) -> None:
            r["clientsPerNight"] = -self.rng.integers(1, 9)

        def bad_code(r: dict[str, Any]) -> None:
            r["venue"] = "Basement"

        return [
            ("date_of_birth", "invalid_date", "five-digit year", bad_year),
            ("clients_per_night", "out_of_range", "negative number", bad_clients),
            ("venue_type", "vocabulary", "a venue not in the vocabulary", bad_code),
        ]

    def mapping(self) -> dict[str, Any]:
        return {
            "mapping_version": 1,
            "source": self.org.name,
            "format": "json",
            "encoding": "utf-8",
            "record_id": "interviewId",
            "multi_value_separator": ";",
            "columns": {
                "interviewDate": "record_date",
                "name": "name_romanised",
                "nameHangul": "name_hangul",
                "birthYear": "date_of_birth",
                "ageAtRecruitment": "age_at_recruitment",
                "ageAtExploitation": "age_at_exploitation",
                "yearLeft": "year_left",
                "province": "home_province",
                "recruitment": "recruitment_means",
                "control": "means_of_control",
                "perpetrators": "perpetrator_roles",
                "exploitation": "exploitation_types",
                "sexSubtypes": "sex_exploitation_subtypes",
                "venue": "venue_type",
                "venueClass": "venue_class",
                "clientsPerNight": "clients_per_night",
                "pricePerActUsd": "price_per_act_usd",
                "salePriceUsd": "sale_price_usd",
                "timesSold": "times_sold",
                "durationMonths": "duration_months",
                "harms": "harms",
                "outcome": "outcome",
                "outcomeYear": "outcome_year",
                "consent": "consent",
                "status": "trafficking_status",
            },
            "constants": {
                "gender": "Female",
                "citizenship": "KP",
                "language": "ko",
                "status_decided_by": "Researcher",
            },
            "ignore": ["interviewer"],
        }

    @classmethod
    def to_bytes(cls, rows: list[dict[str, Any]]) -> bytes:
        return (json.dumps(rows, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


class DeportationRecord(Writer):
    """A record of deportations compiled from Chinese police notices: GB18030 CSV, sparse; names in
    Chinese characters written from hearing (homophones); compact dates (``19940315``)."""

    key = "deportation_record"
    file_name = "deportations.csv"
    id_column = "序号"
    columns = ("序号", "遣返日期", "姓名", "性别", "出生日期", "年龄", "户籍地", "备注")

    def make_id(self, seq: int, date: tuple[int, int, int]) -> str:
        return f"Q{date[0]}{seq:05d}"

    def row(self, i: int, date: tuple[int, int, int]) -> dict[str, Any]:
        s, g1, g2 = self.name_idx(i)
        y, m, d = self.dob(i)
        u = self.rng.random()
        dob = None if not self.present() else f"{y}{m:02d}{d:02d}" if u < 0.6 else str(y)
        return {
            "遣返日期": f"{date[0]}{date[1]:02d}{date[2]:02d}",
            "姓名": nm.chinese_heard(self.t, s, g1, g2, self.rng, 0.3),
            "性别": "女",
            "出生日期": dob,
            # age at deportation: not a CaseRecord field, so the mapping ignores it
            "年龄": max(0, date[0] - y) if self.present() else None,
            "户籍地": PROV_ZH[self.c["home_province"][i]][0] if self.present(1.5) else None,
            "备注": None,
        }

    def breakages(self) -> list[tuple[str, str, str, Callable[[dict[str, Any]], None]]]:
        def bad_date(r: dict[str, Any]) -> None:
            r["出生日期"] = f"{1970 + self.rng.integers(0, 30)}0230"

        def bad_sex(r: dict[str, Any]) -> None:
            r["性别"] = "不详?"

        def bad_record_date(r: dict[str, Any]) -> None:
            r["遣返日期"] = f"{2010 + self.rng.integers(0, 9)}1301"

        return [
            ("date_of_birth", "invalid_date", "30 February", bad_date),
            ("gender", "vocabulary", "an unreadable entry", bad_sex),
            ("record_date", "invalid_date", "month 13", bad_record_date),
        ]

    def mapping(self) -> dict[str, Any]:
        return {
            "mapping_version": 1,
            "source": self.org.name,
            "format": "csv",
            "encoding": "gb18030",
            "record_id": "序号",
            "columns": {
                "遣返日期": "record_date",
                "姓名": "name_chinese",
                "性别": "gender",
                "出生日期": "date_of_birth",
                "户籍地": "home_province",
            },
            "values": {"gender": {"女": "Female", "男": "Male"}, "home_province": _inverse(PROV_ZH)},
            "dates": {"record_date": ["%Y%m%d"], "date_of_birth": ["%Y%m%d"]},
            "constants": {
                "citizenship": "KP",
                "country_of_exploitation": "CN",
                "outcome": "Deported",
                "status_decided_by": "Police",
                "trafficking_status": "Unknown",
                "language": "zh",
            },
            "ignore": ["年龄", "备注"],
        }

    @classmethod
    def to_bytes(cls, rows: list[dict[str, Any]]) -> bytes:
        return csv_bytes(cls.columns, rows, "gb18030", "\r\n")


WRITER_CLASSES: dict[str, type[Writer]] = {
    w.key: w for w in (RescueNGO, SeoulIntake, ChurchNetwork, ResearchInterviews, DeportationRecord)
}
