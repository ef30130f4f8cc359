"""Which language and script a grievance is written in: the classifier and the summary depend on it."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEVANAGARI = re.compile(r"[\u0900-\u097F]")
LETTER = re.compile(r"[^\W\d_]")
WORD = re.compile(r"[a-z]+")
# Devanagari letters as a share of all letters, above which a text reads as Nepali script.
DEVANAGARI_SHARE = 0.3
# Words that Nepali typed in Latin letters uses all the time and English hardly ever; two
# of them (or one in a very short text) mark a romanised Nepali grievance.
ROMANISED_NEPALI_WORDS = frozenset(
    [
        "ma",
        "mero",
        "hamro",
        "hamilai",
        "malai",
        "tapai",
        "hajur",
        "ko",
        "ka",
        "ki",
        "ra",
        "lai",
        "le",
        "bata",
        "dekhi",
        "sanga",
        "pani",
        "ni",
        "cha",
        "chha",
        "xa",
        "chaina",
        "chhaina",
        "xaina",
        "thiyo",
        "thyo",
        "bhayo",
        "vayo",
        "bhako",
        "vako",
        "bhaeko",
        "garyo",
        "gareko",
        "garnu",
        "garchha",
        "garcha",
        "garxa",
        "garera",
        "garne",
        "garena",
        "gardai",
        "diyo",
        "diye",
        "dinu",
        "dina",
        "dieko",
        "diena",
        "hunchha",
        "huncha",
        "hunxa",
        "hudaina",
        "hoina",
        "kina",
        "kasari",
        "kaha",
        "kahile",
        "kati",
        "ke",
        "kun",
        "yo",
        "tyo",
        "yaha",
        "tyaha",
        "aba",
        "ajhai",
        "ahile",
        "samma",
        "paisa",
        "jagga",
        "jagah",
        "khet",
        "ghar",
        "bato",
        "sadak",
        "dhulo",
        "pul",
        "thekedar",
        "thekdar",
        "kamdar",
        "manche",
        "manchhe",
        "keti",
        "chhori",
        "chori",
        "didi",
        "bahini",
        "budi",
        "aama",
        "chora",
        "dai",
        "bhai",
        "pareko",
        "parchha",
        "parcha",
        "lagyo",
        "lageko",
        "aayo",
        "aaunu",
        "jane",
        "janu",
        "gayo",
        "basne",
        "dherai",
        "ekdam",
    ]
)
ROMANISED_HITS = 2


@dataclass(frozen=True)
class Language:
    code: str  # "en" or "ne"
    script: str  # "latin" or "devanagari"

    @property
    def is_nepali(self) -> bool:
        return self.code == "ne"


ENGLISH = Language("en", "latin")
NEPALI_DEVANAGARI = Language("ne", "devanagari")
NEPALI_ROMANISED = Language("ne", "latin")


def detect_language(text: str) -> Language:
    """Nepali in Devanagari, Nepali typed in Latin letters, or (by default) English."""
    letters = LETTER.findall(text)
    if letters and sum(1 for c in letters if DEVANAGARI.match(c)) / len(letters) >= DEVANAGARI_SHARE:
        return NEPALI_DEVANAGARI
    words = WORD.findall(text.lower())
    hits = sum(1 for word in words if word in ROMANISED_NEPALI_WORDS)
    if hits >= ROMANISED_HITS or (hits == 1 and len(words) <= 3):
        return NEPALI_ROMANISED
    return ENGLISH
