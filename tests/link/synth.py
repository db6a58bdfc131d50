"""A small synthetic generator of organisations' lists with known truth, for the linkage tests.

Entirely made up: names are drawn from common syllables; nothing resembles a real person.  Each person is
seen by some of four lists, each list writing names its own way: Hangul (Seoul intake), romanised RR / MR /
informal with family name first or last (NGO sheet, researcher), Chinese characters or pinyin (Chinese
record); dates of birth full, partial or replaced by an age; typos and within-list duplicates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pypinyin import Style, lazy_pinyin

SURNAMES = [
    ("김", "金", 0.22),
    ("이", "李", 0.15),
    ("박", "朴", 0.09),
    ("최", "崔", 0.05),
    ("정", "鄭", 0.05),
    ("강", "姜", 0.03),
    ("조", "趙", 0.03),
    ("윤", "尹", 0.03),
    ("장", "張", 0.03),
    ("임", "林", 0.03),
    ("한", "韓", 0.03),
    ("오", "吳", 0.02),
    ("신", "申", 0.03),
    ("황", "黃", 0.02),
    ("안", "安", 0.02),
    ("송", "宋", 0.02),
    ("홍", "洪", 0.02),
    ("유", "柳", 0.02),
    ("문", "文", 0.03),
    ("양", "梁", 0.02),
    ("배", "裵", 0.02),
    ("허", "許", 0.02),
    ("남", "南", 0.02),
    ("노", "盧", 0.02),
    ("리", "李", 0.05),
]
GIVEN = [
    ("영", "英"),
    ("희", "姬"),
    ("순", "順"),
    ("자", "子"),
    ("옥", "玉"),
    ("미", "美"),
    ("숙", "淑"),
    ("경", "京"),
    ("정", "貞"),
    ("은", "銀"),
    ("금", "錦"),
    ("선", "善"),
    ("화", "花"),
    ("련", "蓮"),
    ("향", "香"),
    ("혜", "惠"),
    ("명", "明"),
    ("철", "哲"),
    ("성", "成"),
    ("춘", "春"),
    ("실", "實"),
    ("진", "珍"),
    ("주", "珠"),
    ("월", "月"),
    ("란", "蘭"),
    ("현", "賢"),
    ("수", "秀"),
    ("애", "愛"),
    ("연", "延"),
    ("복", "福"),
    ("윤", "允"),
    ("설", "雪"),
    ("향", "香"),
    ("국", "菊"),
    ("매", "梅"),
]
PROVINCES = [
    "NorthHamgyong",
    "Ryanggang",
    "SouthHamgyong",
    "Chagang",
    "NorthPyongan",
    "SouthPyongan",
    "Pyongyang",
    "Kangwon",
    "NorthHwanghae",
    "SouthHwanghae",
]
SIMPLIFIED = {
    "鄭": "郑",
    "趙": "赵",
    "張": "张",
    "韓": "韩",
    "吳": "吴",
    "黃": "黄",
    "許": "许",
    "盧": "卢",
    "順": "顺",
    "貞": "贞",
    "銀": "银",
    "錦": "锦",
    "蓮": "莲",
    "賢": "贤",
    "愛": "爱",
    "實": "实",
}

_I = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"]
_V = [
    "a",
    "ae",
    "ya",
    "yae",
    "eo",
    "e",
    "yeo",
    "ye",
    "o",
    "wa",
    "wae",
    "oe",
    "yo",
    "u",
    "wo",
    "we",
    "wi",
    "yu",
    "eu",
    "ui",
    "i",
]
_F = [
    "",
    "k",
    "k",
    "k",
    "n",
    "n",
    "n",
    "t",
    "l",
    "k",
    "m",
    "l",
    "l",
    "l",
    "p",
    "l",
    "m",
    "p",
    "p",
    "t",
    "t",
    "ng",
    "t",
    "t",
    "k",
    "t",
    "p",
    "t",
]
_MR_I = [
    "k",
    "kk",
    "n",
    "t",
    "tt",
    "r",
    "m",
    "p",
    "pp",
    "s",
    "ss",
    "",
    "ch",
    "tch",
    "ch'",
    "k'",
    "t'",
    "p'",
    "h",
]
_MR_V = [
    "a",
    "ae",
    "ya",
    "yae",
    "ŏ",
    "e",
    "yŏ",
    "ye",
    "o",
    "wa",
    "wae",
    "oe",
    "yo",
    "u",
    "wŏ",
    "we",
    "wi",
    "yu",
    "ŭ",
    "ŭi",
    "i",
]
_INF_V = {"eo": "o", "eu": "u", "ui": "ee", "u": "oo", "yeo": "yo", "i": "ee"}

SUR_ROMAN = {
    "김": ["Kim", "Gim", "Kim"],
    "이": ["Lee", "Yi", "Rhee", "I", "Lee"],
    "리": ["Ri", "Li", "Lee"],
    "박": ["Park", "Pak", "Bak"],
    "최": ["Choi", "Choe"],
    "정": ["Jung", "Jeong", "Chung", "Jong"],
    "강": ["Kang", "Gang"],
    "조": ["Cho", "Jo"],
    "윤": ["Yoon", "Yun"],
    "장": ["Jang", "Chang"],
    "임": ["Lim", "Im", "Rim"],
    "한": ["Han"],
    "오": ["Oh", "O"],
    "신": ["Shin", "Sin"],
    "황": ["Hwang"],
    "안": ["Ahn", "An"],
    "송": ["Song"],
    "홍": ["Hong"],
    "유": ["Yoo", "Yu", "Ryu"],
    "문": ["Moon", "Mun"],
    "양": ["Yang", "Ryang"],
    "배": ["Bae", "Pae"],
    "허": ["Heo", "Ho", "Huh"],
    "남": ["Nam"],
    "노": ["Noh", "No", "Ro"],
}


def _jamo(s: str) -> tuple[int, int, int]:
    c = ord(s) - 0xAC00
    return c // 588, (c % 588) // 28, c % 28


def romanise(syllables: str, scheme: str, rng: np.random.Generator) -> str:
    """RR, McCune–Reischauer or an informal spelling of Hangul syllables (no hyphen)."""
    out = []
    for ch in syllables:
        i, v, f = _jamo(ch)
        if scheme == "mr":
            out.append(_MR_I[i] + _MR_V[v] + _F[f])
        elif scheme == "informal":
            vv = _V[v]
            vv = _INF_V.get(vv, vv) if rng.random() < 0.7 else vv
            ii = _I[i] if rng.random() < 0.5 else _MR_I[i].replace("'", "")
            ff = _F[f]
            if vv.startswith("yo") and ff == "ng" and rng.random() < 0.5:
                vv = "you"
            out.append(ii + vv + ff)
        else:
            out.append(_I[i] + _V[v] + _F[f])
    return "".join(out)


def _typo(s: str, rng: np.random.Generator) -> str:
    if len(s) < 4:
        return s
    k = int(rng.integers(1, len(s) - 1))
    op = rng.integers(0, 3)
    if op == 0:
        return s[:k] + s[k + 1 :]
    if op == 1:
        return s[:k] + s[k + 1] + s[k] + s[k + 2 :]
    return s[:k] + s[k] + s[k:]


def make_people(n: int, rng: np.random.Generator) -> pd.DataFrame:
    sur_p = np.array([p for _, _, p in SURNAMES])
    sur_p = sur_p / sur_p.sum()
    rows = []
    for pid in range(n):
        si = rng.choice(len(SURNAMES), p=sur_p)
        g = rng.choice(len(GIVEN), size=2, replace=False)
        year = int(rng.integers(1970, 2004))
        rows.append(
            {
                "person": f"T{pid:05d}",
                "sur": SURNAMES[si][0],
                "sur_hanja": SURNAMES[si][1],
                "given": GIVEN[g[0]][0] + GIVEN[g[1]][0],
                "given_hanja": GIVEN[g[0]][1] + GIVEN[g[1]][1],
                "dob": f"{year}-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}",
                "province": PROVINCES[int(rng.integers(0, len(PROVINCES)))],
                "year_left": int(rng.integers(max(year + 14, 1998), 2020)),
            }
        )
    return pd.DataFrame(rows)


def make_lists(
    n_people: int = 300, seed: int = 0, typo_rate: float = 0.05, dup_rate: float = 0.03
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(records, truth): records have record_id, source, source_record_id and CaseRecord fields;
    truth maps record_id → person."""
    rng = np.random.default_rng(seed)
    people = make_people(n_people, rng)
    capture = {"seoul_intake": 0.5, "ngo_sheet": 0.45, "researcher": 0.3, "china_record": 0.3}
    recs, truth = [], []
    for _, p in people.iterrows():
        for src, prob in capture.items():
            if rng.random() >= prob:
                continue
            copies = 2 if rng.random() < dup_rate else 1
            for _c in range(copies):
                r: dict[str, object] = {
                    "source": src,
                    "home_province": p["province"],
                    "year_left": p["year_left"],
                }
                y, m, _d = p["dob"].split("-")
                if src == "seoul_intake":
                    r["name_hangul"] = p["sur"] + p["given"]
                    r["date_of_birth"] = p["dob"] if rng.random() < 0.7 else f"{y}-{m}"
                elif src in ("ngo_sheet", "researcher"):
                    scheme = ["rr", "mr", "informal"][int(rng.integers(0, 3))]
                    given = romanise(p["given"], scheme, rng)
                    if rng.random() < 0.5:
                        given = (
                            romanise(p["given"][0], scheme, rng) + "-" + romanise(p["given"][1], scheme, rng)
                        )
                    if rng.random() < typo_rate:
                        given = _typo(given, rng)
                    given = (
                        given.capitalize()
                        if "-" not in given
                        else "-".join([given.split("-")[0].capitalize(), given.split("-")[1]])
                    )
                    opts = SUR_ROMAN[p["sur"]]
                    sur = opts[int(rng.integers(0, len(opts)))]
                    r["name_romanised"] = f"{sur} {given}" if rng.random() < 0.7 else f"{given} {sur}"
                    if src == "researcher":
                        r["name_hangul"] = p["sur"] + p["given"] if rng.random() < 0.3 else None
                        r["date_of_birth"] = y
                    else:
                        if rng.random() < 0.5:
                            r["date_of_birth"] = p["dob"]
                        else:
                            r["age_at_recruitment"] = int(p["year_left"]) - int(y)
                else:
                    if rng.random() < 0.5:
                        chars = p["sur_hanja"] + p["given_hanja"]
                        r["name_chinese"] = "".join(SIMPLIFIED.get(c, c) for c in chars)
                    else:
                        py = lazy_pinyin(p["sur_hanja"] + p["given_hanja"], style=Style.NORMAL)
                        r["name_chinese"] = py[0].capitalize() + " " + "".join(py[1:]).capitalize()
                    r["age_at_exploitation"] = int(p["year_left"]) - int(y) + int(rng.integers(0, 2))
                if rng.random() < 0.03:
                    r["home_province"] = None
                if rng.random() < 0.03 and r.get("date_of_birth"):
                    r["date_of_birth"] = str(int(y) + 1)
                r["record_id"] = f"R{len(recs):06d}"
                r["source_record_id"] = f"{src[:2]}-{len(recs)}"
                recs.append(r)
                truth.append({"record_id": r["record_id"], "person": p["person"], "source": src})
    records = pd.DataFrame(recs)
    for c in [
        "name_hangul",
        "name_hanja",
        "name_romanised",
        "name_chinese",
        "date_of_birth",
        "age_at_recruitment",
        "age_at_exploitation",
        "record_date",
    ]:
        if c not in records.columns:
            records[c] = None
    records = records.astype(object).where(records.notna(), None)
    return records, pd.DataFrame(truth)


def pairwise_scores(person_ids: dict[str, str], truth: pd.DataFrame) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering against the truth."""
    import itertools

    pred = {}
    for r, p in person_ids.items():
        pred.setdefault(p, []).append(r)
    true = {}
    for r, p in zip(truth["record_id"], truth["person"], strict=True):
        true.setdefault(p, []).append(r)
    pp = {tuple(sorted(x)) for g in pred.values() for x in itertools.combinations(g, 2)}
    tp_ = {tuple(sorted(x)) for g in true.values() for x in itertools.combinations(g, 2)}
    tp = len(pp & tp_)
    precision = tp / len(pp) if pp else 1.0
    recall = tp / len(tp_) if tp_ else 1.0
    return precision, recall
