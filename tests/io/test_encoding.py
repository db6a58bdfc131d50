"""Encoding detection: UTF-8 (with/without BOM), CP949/EUC-KR and GB18030, on short Korean/Chinese text."""

from __future__ import annotations

import random

import pytest

from darkfigure.exceptions import InputError
from darkfigure.io import decode_bytes, detect_encoding
from darkfigure.schema.vocab import VOCABULARY_NAMES, load_vocabulary

KOREAN_NAMES = [
    "김영희",
    "박순자",
    "이명숙",
    "최은정",
    "정미란",
    "강성희",
    "조옥순",
    "윤혜진",
    "리순희",
    "한미영",
]
CHINESE_NAMES = ["王秀英", "李娜", "张伟", "刘芳", "陈静", "杨丽", "赵敏", "黄华", "金顺姬", "李春花"]


def _labels(lang: str) -> list[str]:
    return [load_vocabulary(n).label(c, lang) for n in VOCABULARY_NAMES for c in load_vocabulary(n).codes]


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("번호,이름,생년월일,성별\n1,김영희,1994.03.05,여성\n", "cp949"),
        ("번호,이름\n1,박순자\n", "euc-kr"),
        ("编号,姓名,出生日期,性别\n1,王秀英,1994年,女\n", "gb18030"),
        ("编号,姓名\n1,李娜\n", "gbk"),
        ("번호,이름\n1,김영희\n", "utf-8"),
        ("编号,姓名\n1,王秀英\n", "utf-8"),
    ],
)
def test_typical_files(text, encoding):
    expected = {"euc-kr": "cp949", "gbk": "gb18030"}.get(encoding, encoding)
    assert detect_encoding(text.encode(encoding)) == expected
    decoded, used = decode_bytes(text.encode(encoding))
    assert decoded == text and used == expected


def test_bom_variants():
    assert detect_encoding("a,b\n".encode("utf-8-sig")) == "utf-8-sig"
    assert decode_bytes("이름\n".encode("utf-8-sig"))[0] == "이름\n"
    assert detect_encoding("이름\n".encode("utf-16")) == "utf-16"
    assert detect_encoding(b"source_record_id\n1\n") == "utf-8"


def test_explicit_encoding_wins_and_wrong_one_is_an_input_error():
    data = "이름\n김영희\n".encode("cp949")
    assert decode_bytes(data, "cp949")[0] == "이름\n김영희\n"
    with pytest.raises(InputError, match="not valid utf-8"):
        decode_bytes(data, "utf-8")
    with pytest.raises(InputError):
        decode_bytes(b"x", "no-such-codec")


def test_undecodable_bytes_are_an_input_error():
    with pytest.raises(InputError, match="cannot decode"):
        detect_encoding(b"a,b\n\x80\xff\x80\xff\n")


@pytest.mark.parametrize(
    ("lang", "encoding", "names"), [("ko", "cp949", KOREAN_NAMES), ("zh", "gb18030", CHINESE_NAMES)]
)
def test_short_cells_are_not_mistaken(lang, encoding, names):
    """Two cells (a name and a label) — the shortest realistic data row — are detected correctly.

    Tolerance: a single isolated word can be genuinely ambiguous (the same bytes are common words in both
    languages), so we require at most 1% errors on 400 random two-cell rows and none on three-cell rows;
    measured: about 0.1% (Korean) and 0.7% (Chinese) on two cells.
    """
    rng = random.Random(20191)
    pool = [w for w in _labels(lang) + names if _encodable(w, encoding)]
    for k, max_errors in ((2, 4), (3, 0)):
        errors = 0
        for _ in range(400):
            row = ",".join(rng.sample(pool, k))
            errors += detect_encoding(row.encode(encoding)) != encoding
        assert errors <= max_errors, (k, errors)


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom(encoding):
    text = "번호,이름,성별\n1,김영희,여성\n2,박순자,여성\n"
    assert detect_encoding(text.encode(encoding)) == encoding
    # a stray NUL in ordinary text is not UTF-16
    assert detect_encoding(b"source_record_id,name\n1,a\x00b\n2,c\n") == "utf-8"


def test_large_file_is_scored_on_a_sample():
    body = "1,김영희,여성,함경북도\n" * 20_000  # ~0.6 MB: detection still reads the right encoding
    assert detect_encoding(("번호,이름,성별,출신\n" + body).encode("cp949")) == "cp949"
