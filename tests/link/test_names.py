"""Every name-variant rule of darkfigure.link._names, one test (or parametrised case) per rule."""

from __future__ import annotations

import pytest

from darkfigure.link import (
    hangul_to_key,
    hanja_to_hangul,
    name_keys,
    pinyin_to_hangul,
    romanised_to_key,
    surname_candidates,
)


def _meet(a: dict, b: dict) -> bool:
    return bool(name_keys(**a).keys & name_keys(**b).keys)


@pytest.mark.parametrize(
    ("spellings", "canonical"),
    [
        (["Kim", "Gim", "KIM", "김", "金"], "김"),
        (["Lee", "Yi", "Rhee", "I", "Ri", "Li", "리", "이", "李"], "이"),
        (["Park", "Pak", "Bak", "박", "朴"], "박"),
        (["Choi", "Choe", "최", "崔"], "최"),
        (["Jung", "Jeong", "Chung", "Jong", "정", "鄭", "郑"], "정"),
        (["Lim", "Im", "Rim", "Yim", "림", "임", "林"], "임"),
        (["Ryu", "Yoo", "Yu", "Rhew", "류", "유", "柳"], "유"),
        (["Roh", "Noh", "No", "로", "노", "盧", "卢"], "노"),
    ],
)
def test_surname_variants_meet_their_canonical_hangul(spellings: list[str], canonical: str) -> None:
    for s in spellings:
        assert canonical in surname_candidates(s), s


def test_yaml_boolean_trap_no_is_a_surname() -> None:
    # "no" would load as False from YAML unless quoted; the table keeps it a string
    assert surname_candidates("No") == frozenset({"노"})


def test_unknown_word_is_no_surname() -> None:
    assert surname_candidates("Xyzzy") == frozenset()


@pytest.mark.parametrize(
    "spelling", ["Yeong-hui", "Yŏng-hŭi", "Young Hee", "Yonghui", "yong hui", "YOUNG-HEE", "Yeonghui"]
)
def test_romanisations_of_yeonghui_share_one_key(spelling: str) -> None:
    # RR, McCune–Reischauer (breves), informal; hyphenation, spacing and case do not matter
    assert romanised_to_key(spelling) == hangul_to_key("영희") == "YONGHI"


@pytest.mark.parametrize(
    ("roman", "hangul"),
    [
        ("Sun-geum", "순금"),
        ("Sunkum", "순금"),
        ("Kŭm-sil", "금실"),
        ("Ch'un-hwa", "춘화"),
        ("Chunhwa", "춘화"),
        ("Myong-ok", "명옥"),
        ("Myeong-ok", "명옥"),
        ("Hye-kyung", "혜경"),
        ("Eun-sook", "은숙"),
        ("Un-suk", "은숙"),
        ("Soon-ja", "순자"),
        ("Ok-ryon", "옥련"),
        ("Ok-nyeon", "옥련"),
    ],
)
def test_romanised_given_names_meet_hangul(roman: str, hangul: str) -> None:
    assert romanised_to_key(roman) == hangul_to_key(hangul)


def test_each_written_part_read_separately() -> None:
    # "Sun-geum" is sun + geum: the ng must not be read across the hyphen
    assert romanised_to_key("Sun-geum") != romanised_to_key("Sung-eum")


def test_initial_sound_rule_north_and_south_spellings() -> None:
    # North 리/림/류/련 vs South 이/임/유/연 at the start of a name part
    assert hangul_to_key("리") == hangul_to_key("이")
    assert hangul_to_key("련희") == hangul_to_key("연희")
    assert hangul_to_key("류") == hangul_to_key("유")
    assert hangul_to_key("란") == hangul_to_key("난")
    assert romanised_to_key("Ryon-hui") == romanised_to_key("Yeon-hui")


def test_tense_and_aspirated_consonants_share_a_class() -> None:
    assert hangul_to_key("김") == hangul_to_key("킴") == hangul_to_key("낌") == "KIM"
    assert romanised_to_key("Ch'ol") == romanised_to_key("Cheol") == romanised_to_key("Jeol")


def test_different_names_differ() -> None:
    assert hangul_to_key("영희") != hangul_to_key("순자")
    assert not _meet({"name_hangul": "김영희"}, {"name_hangul": "박영희"})
    assert not _meet({"name_hangul": "김영희"}, {"name_romanised": "Kim Sun-ja"})


@pytest.mark.parametrize(
    "text",
    ["Kim Yong-hui", "Yong-hui Kim", "KIM, Yong Hui", "Gim Yeong-hui", "Kim Yŏng-hŭi", "Young-Hee Kim"],
)
def test_family_name_first_or_last(text: str) -> None:
    assert _meet({"name_hangul": "김영희"}, {"name_romanised": text})


def test_ambiguous_word_order_gives_both_readings() -> None:
    # "Ha" is a family name (하) and a given-name syllable: both splits are kept, family-name-first primary
    nk = name_keys(name_romanised="Kim Ock Ha")
    assert nk.primary == name_keys(name_hangul="김옥하").primary
    assert len(nk.keys) >= 2


def test_hanja_reading_table() -> None:
    assert hanja_to_hangul("金英姬")[0] == "김영희"
    assert "이순자" in hanja_to_hangul("李順子")


def test_simplified_characters_read_like_traditional() -> None:
    assert hanja_to_hangul("李顺子") == hanja_to_hangul("李順子")
    assert name_keys(name_chinese="郑贞淑").hangul_key == name_keys(name_hanja="鄭貞淑").hangul_key


def test_unknown_character_gives_no_partial_reading() -> None:
    assert hanja_to_hangul("金㐀姬") == []


def test_hanja_and_hangul_exact_key() -> None:
    assert name_keys(name_hanja="金英姬").hangul_key == name_keys(name_hangul="김영희").hangul_key


def test_pinyin_is_read_back_to_korean_readings() -> None:
    ying, ji = pinyin_to_hangul("Yingji")
    assert "영" in ying and "희" in ji
    assert pinyin_to_hangul("qqq") is None


@pytest.mark.parametrize("pinyin", ["Jin Yingji", "JIN YING JI", "Jin Ying-ji"])
def test_pinyin_name_meets_hangul(pinyin: str) -> None:
    assert _meet({"name_hangul": "김영희"}, {"name_chinese": pinyin})


def test_surname_pinyin_piao_is_park() -> None:
    assert _meet({"name_romanised": "Pak Yong-mi"}, {"name_chinese": "Piao Yingmei"})


def test_homophone_character_meets_through_pinyin() -> None:
    # a clerk who heard 姬 (ji) may write 吉 (ji, read 길 in Korean): the pinyin read-back still meets
    assert name_keys(name_chinese="金英吉").hangul_key != name_keys(name_hangul="김영희").hangul_key
    assert _meet({"name_hangul": "김영희"}, {"name_chinese": "金英吉"})


def test_characters_with_pinyin_in_fullwidth_brackets() -> None:
    nk = name_keys(name_chinese="金贤美（Jin Xianmei）")
    assert nk.hangul_key == name_keys(name_hangul="김현미").hangul_key


def test_aliases_add_keys_but_not_the_primary() -> None:
    nk = name_keys(name_chinese="Zhao En Hai", aliases=["丽丽"])
    assert nk.hangul_key is None
    assert nk.primary is not None and nk.primary.startswith("JIAO") is False
    assert name_keys(name_hangul="리리").keys <= nk.keys


def test_no_name_no_keys() -> None:
    nk = name_keys()
    assert nk.keys == frozenset() and nk.primary is None


def test_h_after_a_final_consonant_starts_the_next_syllable_in_a_run_together_given_name() -> None:
    # 숙희 run together ("Sukhui", "Sookhee") is suk + hui: "kh" is not an aspirated k in Korean spellings
    from darkfigure.link import hangul_to_key, romanised_to_key

    assert romanised_to_key("Sukhui") == romanised_to_key("Sookhee") == hangul_to_key("숙희")
    assert romanised_to_key("Okhwa") == romanised_to_key("Ok-hwa") == hangul_to_key("옥화")
    assert name_keys(name_romanised="Okhwa Jeon").primary == name_keys(name_hangul="전옥화").primary
