"""Korean and Chinese personal names → comparable keys.

One woman may be written 김영희 (Hangul), 金英姬 (Hanja / Chinese characters), "Kim Yeong-hui" (Revised
Romanisation), "Kim Yŏng-hŭi" (McCune–Reischauer), "Kim Young Hee" (informal), "Yong-hui Kim" (family name
last) or "Jin Yingji" (pinyin of the characters).  Every rendering is reduced to the same small alphabet:

* a **Korean phonetic key** per syllable, built from Hangul jamo classes (ㄱ/ㄲ/ㅋ → ``K``,
  ㅓ/ㅗ/ㅜ/ㅡ → ``O``, final ㅇ → ``NG``, ...) or from romanised letters with the same classes
  (``eo``/``ŏ``/``o``/``u``/``oo`` → ``O``,
  ``g``/``k`` → ``K``, ``ee``/``ui`` → ``I``, ...), so spellings of one sound meet;
* the family name is mapped through a variant table (``data/surnames.yaml``: Kim/Gim, Lee/Yi/Rhee/I/Ri,
  Park/Pak/Bak, ...) to a canonical Hangul surname, whichever end of the name it stands at;
* Hanja / Chinese characters are read in Korean with ``data/hanja_readings.yaml``; pinyin is read back to the
  Korean readings of the characters that have that pinyin (pypinyin gives each character's pinyin).

Because some renderings are ambiguous (``jin`` may be 金 김 or 진; ``Song`` may be 송 or 성), a record gets a
*set* of candidate keys; two records agree when the sets meet.  The initial-sound rule (두음법칙: North 리/림/
룡 vs South 이/임/용) is normalised at the start of each name part, so both spellings give one key.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources

import yaml

__all__ = [
    "NameKeys",
    "hangul_to_key",
    "hanja_to_hangul",
    "name_keys",
    "pinyin_to_hangul",
    "romanised_to_key",
    "surname_candidates",
]

_SBASE, _NV, _NT = 0xAC00, 21, 28
_NVT = _NV * _NT

# Jamo classes (index order of the Unicode Hangul syllable block).  Sounds that romanisations confuse share
# a class: plain/tense/aspirated stops, ㅓ/ㅗ/ㅜ/ㅡ (eo/ŏ/o/u/eu/ŭ/oo/ou), ㅐ/ㅔ, ㅕ/ㅛ/ㅠ, ㅢ/ㅣ; an initial
# ㄹ is written ㄴ (or dropped) by the South's initial-sound rule and heard as n/l/r, so it joins ㄴ.
_INITIAL = ["K", "K", "N", "T", "T", "N", "M", "P", "P", "S", "S", "", "J", "J", "J", "K", "T", "P", "H"]
_MEDIAL = [
    "A",
    "E",
    "YA",
    "YE",
    "O",
    "E",
    "YO",
    "YE",
    "O",
    "WA",
    "WE",
    "WE",
    "YO",
    "O",
    "WO",
    "WE",
    "WI",
    "YO",
    "O",
    "I",
    "I",
]
_FINAL = [
    "",
    "K",
    "K",
    "K",
    "N",
    "N",
    "N",
    "T",
    "R",
    "K",
    "M",
    "R",
    "R",
    "R",
    "P",
    "R",
    "M",
    "P",
    "P",
    "T",
    "T",
    "NG",
    "T",
    "T",
    "K",
    "T",
    "P",
    "T",
]

# Romanised letter groups → the same classes; longest match first (greedy left-to-right scan).  No "kh",
# "th", "ph": Korean romanisations write aspirates as k, t, p (k', t', p' in McCune–Reischauer), and in a
# given name run together an h after k/t/p starts the next syllable: "Sukhui" is 숙희 (SOK + HI), not SOKI.
_ROMAN_UNITS: list[tuple[str, str]] = sorted(
    [
        ("tch", "J"),
        ("ch", "J"),
        ("jj", "J"),
        ("j", "J"),
        ("z", "J"),
        ("ts", "J"),
        ("sh", "S"),
        ("ss", "S"),
        ("s", "S"),
        ("x", "S"),
        ("kk", "K"),
        ("gg", "K"),
        ("k", "K"),
        ("g", "K"),
        ("q", "K"),
        ("c", "K"),
        ("ng", "NG"),
        ("tt", "T"),
        ("t", "T"),
        ("dd", "T"),
        ("d", "T"),
        ("pp", "P"),
        ("p", "P"),
        ("bb", "P"),
        ("b", "P"),
        ("f", "P"),
        ("v", "P"),
        ("rr", "R"),
        ("r", "R"),
        ("ll", "R"),
        ("l", "R"),
        ("mm", "M"),
        ("m", "M"),
        ("nn", "N"),
        ("n", "N"),
        ("h", "H"),
        ("w", "W"),
        ("y", "Y"),
        ("eui", "I"),
        ("ui", "I"),
        ("ee", "I"),
        ("i", "I"),
        ("ae", "E"),
        ("ai", "E"),
        ("ay", "E"),
        ("ey", "E"),
        ("e", "E"),
        ("eo", "O"),
        ("eu", "O"),
        ("oo", "O"),
        ("ou", "O"),
        ("oe", "WE"),
        ("oi", "WE"),
        ("o", "O"),
        ("u", "O"),
        ("a", "A"),
    ],
    key=lambda u: -len(u[0]),
)

# The initial-sound rule, applied where a name part starts: ㄹ/ㄴ → ㅇ before i/y (ㄹ → ㄴ otherwise is
# already in the classes).  In key letters: "NI"/"NY" → "I"/"Y".
_INITIAL_LAW = [(re.compile(r"^N(?=[IY])"), "")]

_SEPARATORS = re.compile(r"[\s\-‐‑–—_.,·・/()（）']+")


def _strip_accents(text: str) -> str:
    # ŏ → o, ŭ → u, ü → u, ē → e; apostrophes (MR aspiration marks) are removed later as separators
    # (NFC again afterwards: NFKD splits Hangul syllables into conjoining jamo, which must be rejoined)
    nfkd = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(c for c in nfkd if not unicodedata.combining(c)))


def _collapse(key: str) -> str:
    # doubled letters arise at syllable joins (김기 → KIMKI is fine, but "Kimm" / final+initial ㄱ ㄱ);
    # collapsing them makes both scripts agree
    return re.sub(r"(.)\1+", r"\1", key)


def _initial_law(key: str) -> str:
    for pat, rep in _INITIAL_LAW:
        new = pat.sub(rep, key, count=1)
        if new != key:
            return new
    return key


def is_hangul(text: str) -> bool:
    """True if ``text`` holds at least one Hangul syllable."""
    return any(0xAC00 <= ord(c) <= 0xD7A3 for c in text)


def is_han(text: str) -> bool:
    """True if ``text`` holds at least one CJK ideograph (Hanja / Chinese character)."""
    return any(
        0x4E00 <= ord(c) <= 0x9FFF or 0x3400 <= ord(c) <= 0x4DBF or 0xF900 <= ord(c) <= 0xFAFF for c in text
    )


def hangul_to_key(text: str, initial_law: bool = True) -> str:
    """Korean phonetic key of a run of Hangul syllables (other characters are ignored).

    Parameters
    ----------
    text : str
        Hangul, e.g. one name part.
    initial_law : bool
        Normalise the initial-sound rule at the start (North 리 = South 이).

    Examples
    --------
    >>> hangul_to_key("영희"), hangul_to_key("리"), hangul_to_key("이")
    ('YONGHI', 'I', 'I')
    """
    out = []
    for ch in text:
        code = ord(ch) - _SBASE
        if 0 <= code < 11172:
            out.append(_INITIAL[code // _NVT] + _MEDIAL[(code % _NVT) // _NT] + _FINAL[code % _NT])
    key = _collapse("".join(out))
    return _initial_law(key) if initial_law else key


def romanised_to_key(text: str, initial_law: bool = True) -> str:
    """Korean phonetic key of a romanised name part (RR, McCune–Reischauer or informal).

    Examples
    --------
    >>> romanised_to_key("Yeong-hui"), romanised_to_key("Yŏng-hŭi"), romanised_to_key("Young Hee")
    ('YONGHI', 'YONGHI', 'YONGHI')
    """
    out = []
    # each written part is read on its own: "Sun-geum" is sun + geum, not su + ng + eum
    for part in _SEPARATORS.split(_strip_accents(text).lower()):
        i = 0
        while i < len(part):
            for pat, rep in _ROMAN_UNITS:
                if part.startswith(pat, i):
                    if rep == "R" and i + len(pat) < len(part) and part[i + len(pat)] in "aeiouwy":
                        rep = "N"  # r/l before a vowel is an initial ㄹ (see _INITIAL)
                    out.append(rep)
                    i += len(pat)
                    break
            else:
                i += 1  # digits or stray symbols carry no sound
    key = _collapse("".join(out))
    return _initial_law(key) if initial_law else key


# ---------------------------------------------------------------------------------------------- tables
_PINYIN_TONES = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü", "aaaaeeeeiiiioooouuuuvvvvv")


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[
    dict[str, str], dict[str, frozenset[str]], dict[str, frozenset[str]], dict[str, frozenset[str]]
]:
    """(surname spelling → canonical Hangul, Hangul surname key → canonical, char → readings,
    pinyin syllable → readings)."""
    base = resources.files("darkfigure.link") / "data"
    sur = yaml.safe_load((base / "surnames.yaml").read_text(encoding="utf-8"))["surnames"]
    spelled: dict[str, set[str]] = {}
    for canon, forms in sur.items():
        for s in [canon, *forms.get("hangul", []), *forms.get("hanja", [])]:
            spelled.setdefault(str(s), set()).add(canon)
        for r in forms.get("romanised", []):
            spelled.setdefault(str(r).lower(), set()).add(canon)
    read = yaml.safe_load((base / "hanja_readings.yaml").read_text(encoding="utf-8"))["readings"]
    char_readings: dict[str, set[str]] = {}
    for reading, chars in read.items():
        for ch in str(chars).split():
            char_readings.setdefault(ch, set()).add(str(reading))
    for canon, forms in sur.items():
        for ch in forms.get("hanja", []):
            char_readings.setdefault(str(ch), set()).add(canon)
    pinyin_readings: dict[str, set[str]] = {}
    # pypinyin's character table directly (every reading of a character, with tone marks): much faster
    # than calling pinyin() per character, and it is the same data
    from pypinyin.pinyin_dict import pinyin_dict

    for ch, readings in char_readings.items():
        for py in str(pinyin_dict.get(ord(ch), "")).split(","):
            if py:
                pinyin_readings.setdefault(py.translate(_PINYIN_TONES), set()).update(readings)
    surname_by_spelling = {k: frozenset(v) for k, v in spelled.items()}
    return (
        {k: "|".join(sorted(v)) for k, v in surname_by_spelling.items()},
        {k: frozenset(v) for k, v in spelled.items()},
        {k: frozenset(v) for k, v in char_readings.items()},
        {k: frozenset(v) for k, v in pinyin_readings.items()},
    )


def surname_candidates(token: str) -> frozenset[str]:
    """Canonical Hangul family names that ``token`` may spell (empty if it is not a known family name).

    Examples
    --------
    >>> sorted(surname_candidates("Rhee")), sorted(surname_candidates("리")), sorted(surname_candidates("朴"))
    (['이'], ['이'], ['박'])
    """
    t = _strip_accents(token.strip()).lower().replace("'", "")
    return _tables()[1].get(t, frozenset())


def hanja_to_hangul(text: str, limit: int = 8) -> list[str]:
    """Korean readings of a run of Hanja / Chinese characters (one per combination of readings).

    Characters missing from the table make the result empty (a partial reading would mislead).

    Examples
    --------
    >>> hanja_to_hangul("金英姬")
    ['김영희', '금영희']
    """
    table = _tables()[2]
    per_char: list[list[str]] = []
    for ch in text:
        if ch.isspace() or ch in "·・-":
            continue
        r = table.get(ch)
        if not r:
            return []
        # a family-name reading first: 金 is 김 as a surname and 금 in given names
        per_char.append(sorted(r, key=lambda x: (x != "김", x)))
    return ["".join(p) for p in itertools.islice(itertools.product(*per_char), limit)]


def _pinyin_syllables(word: str) -> list[list[str]] | None:
    """Split a pinyin word into syllables known to the reading table (DP, fewest syllables)."""
    table = _tables()[3]
    w = word.lower().translate(_PINYIN_TONES)
    n = len(w)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(i + 1, min(n, i + 6) + 1):
            syl = w[i:j]
            if syl in table:
                cand = [*best[i], syl]  # type: ignore[misc]
                if best[j] is None or len(cand) < len(best[j]):  # type: ignore[arg-type]
                    best[j] = cand
    found = best[n]
    return [[s] for s in found] if found is not None else None


def pinyin_to_hangul(word: str) -> list[frozenset[str]] | None:
    """Per syllable, the Korean readings of characters with that pinyin (None if not pinyin).

    Examples
    --------
    >>> ying, ji = pinyin_to_hangul("Yingji")
    >>> "영" in ying, "희" in ji, "기" in ji
    (True, True, True)
    """
    syl = _pinyin_syllables(word)
    if syl is None:
        return None
    table = _tables()[3]
    return [table[s[0]] for s in syl]


# ---------------------------------------------------------------------------------------------- keys
@dataclass(frozen=True)
class NameKeys:
    """Comparable keys of one record's names.

    Attributes
    ----------
    keys : frozenset of str
        Candidate full-name keys ``"<surname key>_<given key>"`` from every rendering; two records whose sets
        meet are phonetic matches.
    hangul_key : str or None
        The key derived from a Hangul / Hanja / Chinese-character rendering (exact-script evidence).
    primary : str or None
        The best single key (for Jaro–Winkler and blocking): Hangul-derived if any, else romanised.
    surnames : frozenset of str
        Canonical Hangul family names the record may have.
    given : frozenset of str
        Candidate given-name keys.
    """

    keys: frozenset[str] = field(default_factory=frozenset)
    hangul_key: str | None = None
    primary: str | None = None
    surnames: frozenset[str] = field(default_factory=frozenset)
    given: frozenset[str] = field(default_factory=frozenset)


def _hangul_name(text: str) -> list[tuple[str, str]]:
    """(surname, given) splits of a Hangul name: a known two-syllable surname or the first syllable."""
    s = "".join(c for c in text if is_hangul(c))
    if len(s) < 2:
        return []
    out = []
    if len(s) >= 4 and surname_candidates(s[:2]):
        out.append((s[:2], s[2:]))
    out.append((s[:1], s[1:]))
    return out


def _canonical_surnames(surname_text: str) -> frozenset[str]:
    c = surname_candidates(surname_text)
    if c:
        return c
    if is_hangul(surname_text):
        # an unlisted Hangul surname is its own canonical form, after the initial-sound rule
        return frozenset({surname_text})
    return frozenset()


def _surname_key(canon: str) -> str:
    return hangul_to_key(canon) if is_hangul(canon) else romanised_to_key(canon)


def _from_hangul(text: str) -> tuple[set[str], set[str], set[str]]:
    keys: set[str] = set()
    surs: set[str] = set()
    givens: set[str] = set()
    for sur, given in _hangul_name(text):
        for canon in _canonical_surnames(sur):
            g = hangul_to_key(given)
            keys.add(f"{_surname_key(canon)}_{g}")
            surs.add(canon)
            givens.add(g)
    return keys, surs, givens


def _tokens(text: str) -> list[str]:
    # split on spaces and commas ("KIM, Yong Hui"); hyphens stay inside the given name ("Yong-hui")
    return [t for t in re.split(r"[\s,]+", _strip_accents(text).strip()) if t]


def _from_romanised(text: str) -> tuple[set[str], set[str], set[str]]:
    """Keys from a romanised name, with the family name first or last (or hyphenated on either side)."""
    toks = _tokens(text)
    keys: set[str] = set()
    surs: set[str] = set()
    givens: set[str] = set()
    if not toks:
        return keys, surs, givens
    if len(toks) == 1 and "-" not in toks[0]:
        return keys, surs, givens  # a single word cannot be split into family and given name reliably
    splits: list[tuple[str, list[str]]] = []
    if len(toks) == 1:
        parts = toks[0].split("-")
        toks = [parts[0], "-".join(parts[1:])]
    first, last = toks[0], toks[-1]
    if surname_candidates(first):
        splits.append((first, toks[1:]))
    if surname_candidates(last) and len(toks) > 1:
        splits.append((last, toks[:-1]))
    if not splits:
        splits.append((first, toks[1:]))  # family name first is the Korean (and pinyin) convention
    for sur, given_toks in splits:
        given = "".join(given_toks)
        g = romanised_to_key(given)
        if not g:
            continue
        canons = _canonical_surnames(sur)
        if canons:
            for canon in canons:
                keys.add(f"{_surname_key(canon)}_{g}")
                surs.add(canon)
        else:
            keys.add(f"{romanised_to_key(sur)}_{g}")
        givens.add(g)
    return keys, surs, givens


def _from_pinyin(text: str, limit: int = 256) -> tuple[set[str], set[str], set[str]]:
    """Keys from pinyin: each syllable read back as the Korean readings of characters with that pinyin."""
    toks = _tokens(text)
    keys: set[str] = set()
    surs: set[str] = set()
    givens: set[str] = set()
    if len(toks) < 2:
        return keys, surs, givens
    sur_syl = pinyin_to_hangul(toks[0])
    given_syl: list[frozenset[str]] = []
    for t in toks[1:]:
        for part in t.split("-"):
            s = pinyin_to_hangul(part)
            if s is None:
                return keys, surs, givens
            given_syl.extend(s)
    if not sur_syl or len(sur_syl) != 1 or not given_syl:
        return keys, surs, givens
    sur_known = {r for r in sur_syl[0] if surname_candidates(r)} or set(sur_syl[0])
    # syllable keys once per reading; a given-name key is their concatenation (as hangul_to_key would do)
    given_opts = [sorted({hangul_to_key(r, initial_law=False) for r in s}) for s in given_syl]
    given_keys = {
        _initial_law(_collapse("".join(combo)))
        for combo in itertools.islice(itertools.product(*given_opts), limit)
    }
    givens.update(given_keys)
    for canon in sorted(sur_known):
        canon_set = surname_candidates(canon) or frozenset({canon})
        for c in canon_set:
            surs.add(c)
            sk = _surname_key(c)
            keys.update(f"{sk}_{g}" for g in given_keys)
    return keys, surs, givens


def name_keys(
    name_hangul: str | None = None,
    name_hanja: str | None = None,
    name_romanised: str | None = None,
    name_chinese: str | None = None,
    aliases: Iterable[str] = (),
) -> NameKeys:
    """Comparable keys of a record's names, from whichever renderings it has.

    Parameters
    ----------
    name_hangul, name_hanja, name_romanised, name_chinese : str, optional
        The record's name fields (CaseRecord); ``name_chinese`` may hold characters or pinyin.
    aliases : iterable of str
        Other names (any script); they add candidate keys.

    Examples
    --------
    >>> a = name_keys(name_hangul="김영희")
    >>> b = name_keys(name_romanised="Yong-hui Kim")
    >>> c = name_keys(name_chinese="Jin Yingji")
    >>> d = name_keys(name_hanja="金英姬")
    >>> bool(a.keys & b.keys) and bool(a.keys & c.keys) and a.hangul_key == d.hangul_key
    True
    """
    keys: set[str] = set()
    surs: set[str] = set()
    givens: set[str] = set()
    hangul_key: str | None = None
    roman_primary: str | None = None

    def add(k: set[str], s: set[str], g: set[str]) -> None:
        keys.update(k)
        surs.update(s)
        givens.update(g)

    if name_hangul and is_hangul(name_hangul):
        k, sr, g = _from_hangul(name_hangul)
        add(k, sr, g)
        hangul_key = _hangul_primary(name_hangul)
    for pos, text in enumerate([name_hanja, name_chinese, *aliases]):
        if not text:
            continue
        is_alias = pos >= 2
        if is_han(text):
            han = "".join(c for c in text if is_han(c))
            readings = hanja_to_hangul(han)
            for i, reading in enumerate(readings):
                k, s, g = _from_hangul(reading)
                add(k, s, g)
                if i == 0 and hangul_key is None and k and not is_alias:
                    hangul_key = _hangul_primary(reading)
            # the characters' own pinyin, read back: a clerk who heard the name may have written a
            # homophone (吉 for 姬), which keeps the pinyin but not the Korean reading
            add(*_from_pinyin(" ".join(_han_pinyin(han))))
            # a Chinese field may also carry pinyin after the characters: "金英姬 (Jin Yingji)"
            rest = "".join(c for c in text if not is_han(c)).strip(" ()（）")
            if rest:
                add(*_from_pinyin(rest))
                add(*_from_romanised(rest))
        elif is_hangul(text):
            add(*_from_hangul(text))
        else:
            add(*_from_pinyin(text))
            add(*_from_romanised(text))
    if name_romanised and not is_hangul(name_romanised):
        k, s, g = _from_romanised(name_romanised)
        add(k, s, g)
        if k:
            roman_primary = _romanised_primary(name_romanised) or sorted(k)[0]
    if name_chinese and not is_han(name_chinese) and not is_hangul(name_chinese) and roman_primary is None:
        # pinyin only: its own spelling is the stable primary key (two Chinese lists write it alike)
        toks = _tokens(name_chinese)
        if len(toks) >= 2:
            roman_primary = f"{romanised_to_key(toks[0], False)}_{romanised_to_key(''.join(toks[1:]))}"
    return NameKeys(
        keys=frozenset(keys),
        hangul_key=hangul_key,
        primary=hangul_key or roman_primary or (sorted(keys)[0] if keys else None),
        surnames=frozenset(surs),
        given=frozenset(givens),
    )


def _romanised_primary(text: str) -> str | None:
    """The usual reading of a romanised name: the family name first if the first word is one, else last."""
    toks = _tokens(text)
    if len(toks) == 1 and "-" in toks[0]:
        parts = toks[0].split("-")
        toks = [parts[0], "-".join(parts[1:])]
    if len(toks) < 2:
        return None
    if surname_candidates(toks[0]) or not surname_candidates(toks[-1]):
        sur, given = toks[0], toks[1:]
    else:
        sur, given = toks[-1], toks[:-1]
    canon = sorted(_canonical_surnames(sur))
    skey = _surname_key(canon[0]) if canon else romanised_to_key(sur)
    g = romanised_to_key(" ".join(given))
    return f"{skey}_{g}" if g else None


def _han_pinyin(han: str) -> list[str]:
    """Pinyin of a run of characters, family name first then the given name as one word."""
    from pypinyin import Style, lazy_pinyin

    syl = lazy_pinyin(han, style=Style.NORMAL)
    return [syl[0], "".join(syl[1:])] if len(syl) >= 2 else syl


def _hangul_primary(text: str) -> str | None:
    """The key of the usual reading of a Hangul name: one-syllable family name first."""
    h = "".join(c for c in text if is_hangul(c))
    if len(h) < 2:
        return None
    canon = sorted(_canonical_surnames(h[:1]))
    return f"{_surname_key(canon[0])}_{hangul_to_key(h[1:])}" if canon else None
