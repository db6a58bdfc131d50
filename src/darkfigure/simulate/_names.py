"""Korean women's names and the ways organisations write them (Hangul, Hanja, romanisations, Chinese).

The syllable tables are data (``simulate/data/*.csv``); this module only combines them.  A person's canonical
name is a surname index plus two given-name syllable indices; every rendering is derived from those, so the
truth can always say which spellings belong to whom.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ._fastrandom import FastRandom

__all__ = ["NameTables", "load_tables"]

# Hangul syllable arithmetic (Unicode): syllable = 0xAC00 + (initial * 21 + medial) * 28 + final
_HANGUL_BASE = 0xAC00
_N_MEDIAL, _N_FINAL = 21, 28
# vowels people confuse when typing or hearing (index pairs into the 21 medials):
# ㅓ/ㅕ, ㅗ/ㅜ, ㅐ/ㅔ, ㅡ/ㅜ, ㅢ/ㅣ
_VOWEL_SWAPS = {4: 6, 6: 4, 8: 13, 13: 8, 1: 5, 5: 1, 18: 13, 19: 20, 20: 19}
_KEYBOARD = {
    "a": "sqz",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "q": "w",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "x": "zc",
    "y": "tu",
    "z": "x",
}


def _read_csv(name: str) -> list[dict[str, str]]:
    text = (resources.files("darkfigure.simulate") / "data" / name).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return list(csv.DictReader(lines))


@dataclass(frozen=True)
class NameTables:
    """The name tables as arrays (one entry per surname / syllable)."""

    surnames: list[dict[str, str]]
    syllables: list[dict[str, str]]
    aliases: list[str]
    surname_p: np.ndarray
    syllable_p: np.ndarray


@lru_cache(maxsize=1)
def load_tables() -> NameTables:
    """Load the surname, given-name-syllable and alias tables (cached)."""
    sur = _read_csv("surnames.csv")
    syl = _read_csv("given_syllables.csv")
    ali = [r["alias"] for r in _read_csv("chinese_aliases.csv")]
    sw = np.array([float(r["weight"]) for r in sur])
    gw = np.array([float(r["weight"]) for r in syl])
    return NameTables(sur, syl, ali, sw / sw.sum(), gw / gw.sum())


def _variants(field: str) -> list[str]:
    return field.split("|")


def _mr_ascii(s: str) -> str:
    """McCune-Reischauer as people type it without a special keyboard: no breves, no apostrophes."""
    return s.replace("ŏ", "o").replace("ŭ", "u").replace("Ŏ", "O").replace("Ŭ", "U").replace("'", "")


# ---------------------------------------------------------------------------------------------- canonical
def canonical_hangul(t: NameTables, s: int, g1: int, g2: int) -> str:
    """North Korean spelling (no initial-sound rule), surname first, no space: ``리련화``."""
    return t.surnames[s]["hangul_nk"] + t.syllables[g1]["hangul_nk"] + t.syllables[g2]["hangul_nk"]


def canonical_hanja(t: NameTables, s: int, g1: int, g2: int) -> str:
    return t.surnames[s]["hanja"] + t.syllables[g1]["hanja"] + t.syllables[g2]["hanja"]


def canonical_romanised(t: NameTables, s: int, g1: int, g2: int) -> str:
    """Strict Revised Romanisation of the North Korean spelling, ``Ri Ryeon-hwa``."""
    given = t.syllables[g1]["rr"] + "-" + t.syllables[g2]["rr"]
    return f"{t.surnames[s]['rr']} {given.capitalize()}"


def canonical_chinese(t: NameTables, s: int, g1: int, g2: int) -> str:
    """Simplified characters as written in China: ``李莲花``."""
    return t.surnames[s]["zh"] + t.syllables[g1]["zh"] + t.syllables[g2]["zh"]


# ---------------------------------------------------------------------------------------------- renderings
def hangul_sk(t: NameTables, s: int, g1: int, g2: int) -> str:
    """South Korean spelling: the initial-sound rule applies to the surname and the given name's start."""
    return t.surnames[s]["hangul_sk"] + t.syllables[g1]["hangul_sk_initial"] + t.syllables[g2]["hangul_nk"]


def romanised(
    t: NameTables, s: int, g1: int, g2: int, rng: FastRandom, system_p: tuple[float, float, float, float]
) -> str:
    """One romanisation as an organisation would write it.

    ``system_p`` gives the chances of informal spelling, strict RR, MR with breves and MR typed in ASCII.
    Then the order (surname first or last), the joining of the given name (hyphen, space or run together)
    and the case vary as they do in real lists.
    """
    system = rng.choice(FastRandom.cumulative(system_p))
    sur, a, b = t.surnames[s], t.syllables[g1], t.syllables[g2]
    if system == 0:
        sv = _variants(sur["informal"])
        av, bv = _variants(a["informal"]), _variants(b["informal"])
        # the most common spelling is most likely, the others share the rest
        sn = sv[0] if rng.random() < 0.6 or len(sv) == 1 else sv[rng.integers(1, len(sv))]
        x = av[0] if rng.random() < 0.6 or len(av) == 1 else av[rng.integers(1, len(av))]
        y = bv[0] if rng.random() < 0.6 or len(bv) == 1 else bv[rng.integers(1, len(bv))]
    elif system == 1:
        sn, x, y = sur["rr"], a["rr"], b["rr"]
    else:
        sn, x, y = sur["mr"], a["mr"], b["mr"]
        if system == 3:
            sn, x, y = _mr_ascii(sn), _mr_ascii(x), _mr_ascii(y)
    join = rng.random()
    if join < 0.45:
        given = f"{x}-{y}".capitalize()
    elif join < 0.75:
        given = f"{x.capitalize()} {y.capitalize()}"
    else:
        given = (x + y).capitalize()
    sn = sn[:1].upper() + sn[1:]
    if rng.random() < 0.15:
        sn = sn.upper()
    return f"{given} {sn}" if rng.random() < 0.35 else f"{sn} {given}"


def pinyin(t: NameTables, s: int, g1: int, g2: int, rng: FastRandom) -> str:
    """Pinyin of the Chinese characters, in the ways it is typed (``Jin Yingji``, ``JIN YING JI``)."""
    sn, x, y = t.surnames[s]["pinyin"], t.syllables[g1]["pinyin"], t.syllables[g2]["pinyin"]
    u = rng.random()
    if u < 0.6:
        return f"{sn} {(x + y).capitalize()}"
    if u < 0.8:
        return f"{sn} {x.capitalize()} {y.capitalize()}"
    return f"{sn} {x} {y}".upper()


def chinese_heard(t: NameTables, s: int, g1: int, g2: int, rng: FastRandom, p_sub: float) -> str:
    """Chinese characters written from hearing the name: each given-name character may become a homophone."""
    out = [t.surnames[s]["zh"]]
    for g in (g1, g2):
        row = t.syllables[g]
        if rng.random() < p_sub:
            hs = _variants(row["homophones"])
            out.append(hs[rng.integers(len(hs))])
        else:
            out.append(row["zh"])
    return "".join(out)


# ---------------------------------------------------------------------------------------------- typing errors
def typo_latin(name: str, rng: FastRandom) -> str:
    """One keyboard error in a romanised name: substitution by a neighbour key, deletion, transposition or
    doubling of a letter (never touching spaces or hyphens)."""
    idx = [i for i, c in enumerate(name) if c.isalpha()]
    if len(idx) < 3:
        return name
    i = idx[rng.integers(len(idx))]
    c = name[i]
    op = rng.integers(4)
    if op == 0 and c.lower() in _KEYBOARD:
        nb = _KEYBOARD[c.lower()]
        r = nb[rng.integers(len(nb))]
        r = r.upper() if c.isupper() else r
        return name[:i] + r + name[i + 1 :]
    if op == 1:
        return name[:i] + name[i + 1 :]
    if op == 2 and i + 1 < len(name) and name[i + 1].isalpha() and name[i + 1] != c:
        return name[:i] + name[i + 1] + c + name[i + 2 :]
    return name[:i] + c + name[i:]


def typo_hangul(name: str, rng: FastRandom) -> str:
    """One Hangul error: a confusable vowel (ㅓ/ㅕ, ㅗ/ㅜ, ㅐ/ㅔ ...) or a dropped final consonant."""
    idx = [i for i, c in enumerate(name) if 0xAC00 <= ord(c) <= 0xD7A3]
    if not idx:
        return name
    i = idx[rng.integers(len(idx))]
    code = ord(name[i]) - _HANGUL_BASE
    initial, rest = divmod(code, _N_MEDIAL * _N_FINAL)
    medial, final = divmod(rest, _N_FINAL)
    if final and rng.random() < 0.4:
        final = 0
    elif medial in _VOWEL_SWAPS:
        medial = _VOWEL_SWAPS[medial]
    elif final:
        final = 0
    else:
        return name
    new = chr(_HANGUL_BASE + (initial * _N_MEDIAL + medial) * _N_FINAL + final)
    return name[:i] + new + name[i + 1 :]
