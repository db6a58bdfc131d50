"""Name tables and renderings: the tables agree with the reference libraries, the noise is what the
documentation says it is."""

from __future__ import annotations

import numpy as np
import pytest

from darkfigure.simulate import _names as nm
from darkfigure.simulate._fastrandom import FastRandom

T = nm.load_tables()
# RR's transliteration rule (hangul-romanize "academic") differs from RR's transcription in two places:
# syllable-final ㄱ/ㄷ/ㅂ (RR writes k/t/p, the transliteration g/d/b) and initial ㄹ (RR writes r before a
# vowel, the transliteration always l); those syllables are checked by hand in the table only
_HARD_FINALS = {1, 7, 17}  # ㄱ, ㄷ, ㅂ (final-consonant indices in the Unicode Hangul block)
_RIEUL = 5  # ㄹ (initial-consonant index)


def _final(syllable: str) -> int:
    return (ord(syllable) - 0xAC00) % 28


def _initial(syllable: str) -> int:
    return (ord(syllable) - 0xAC00) // (21 * 28)


def test_given_syllable_rr_matches_hangul_romanize() -> None:
    # hangul-romanize's "academic" rule is the RR transliteration; it agrees with RR except for
    # syllable-final ㄱ/ㄷ/ㅂ
    from hangul_romanize import Transliter
    from hangul_romanize.rule import academic

    tr = Transliter(academic)
    checked = 0
    for row in T.syllables:
        h = row["hangul_nk"]
        if _final(h) in _HARD_FINALS or _initial(h) == _RIEUL:
            continue
        assert tr.translit(h) == row["rr"], h
        checked += 1
    assert checked >= 30


def test_chinese_readings_match_pypinyin() -> None:
    from pypinyin import lazy_pinyin

    for row in T.syllables:
        assert lazy_pinyin(row["zh"]) == [row["pinyin"]], row["zh"]
        for h in row["homophones"].split("|"):
            assert lazy_pinyin(h) == [row["pinyin"]], (row["zh"], h)  # same toneless reading


def test_tables_encode_in_the_files_encodings() -> None:
    # the Seoul intake writes CP949, the deportation record GB18030
    for row in T.surnames + T.syllables:
        (row["hangul_nk"] + row.get("hangul_sk", row.get("hangul_sk_initial", "")) + row["hanja"]).encode(
            "cp949"
        )
        row["zh"].encode("gb18030")
    for a in T.aliases:
        a.encode("gb18030")


def test_initial_sound_rule_in_south_korean_spelling() -> None:
    ri = next(i for i, r in enumerate(T.surnames) if r["hangul_nk"] == "리")
    ryeon = next(i for i, r in enumerate(T.syllables) if r["hangul_nk"] == "련")
    hwa = next(i for i, r in enumerate(T.syllables) if r["hangul_nk"] == "화")
    assert nm.canonical_hangul(T, ri, ryeon, hwa) == "리련화"
    assert nm.hangul_sk(T, ri, ryeon, hwa) == "이연화"
    assert nm.hangul_sk(T, ri, hwa, ryeon) == "이화련"  # only the first syllable of the given name
    assert nm.canonical_chinese(T, ri, ryeon, hwa) == "李莲花"
    assert nm.canonical_romanised(T, ri, ryeon, hwa) == "Ri Ryeon-hwa"


def test_romanisations_vary_as_documented() -> None:
    rng = FastRandom(np.random.default_rng(5))
    kim = next(i for i, r in enumerate(T.surnames) if r["hangul_nk"] == "김")
    yeong = next(i for i, r in enumerate(T.syllables) if r["hangul_nk"] == "영")
    hui = next(i for i, r in enumerate(T.syllables) if r["hangul_nk"] == "희")
    seen = {nm.romanised(T, kim, yeong, hui, rng, (0.4, 0.2, 0.2, 0.2)) for _ in range(600)}
    for expected in (
        "Kim Young-hee",
        "Gim Yeong-hui",
        "Kim Yŏng-hŭi",
        "Kim Yong-hui",
        "Young-hee Kim",
        "KIM Young-hee",
        "Kim Younghee",
        "Kim Young Hee",
    ):
        assert expected in seen, expected
    # nothing but letters, breves, spaces and hyphens
    assert all(set(s) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZŏŭŎŬ -'") for s in seen)


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


@pytest.mark.parametrize("seed", range(3))
def test_typing_errors_are_single_edits(seed: int) -> None:
    rng = FastRandom(np.random.default_rng(seed))
    for _ in range(300):
        name = "Kim Young-hee"
        typo = nm.typo_latin(name, rng)
        assert 1 <= _levenshtein(name, typo) <= 2  # a transposition counts 2 here
        assert typo.count(" ") == 1 and typo.count("-") == 1
        h = nm.typo_hangul("김영희", rng)
        assert _levenshtein("김영희", h) == 1
        assert all(0xAC00 <= ord(c) <= 0xD7A3 for c in h)
        h.encode("cp949")
