"""Which language a citizen writes in, read from their words (bot/components.py puts it on
each message for the `language` slot).

Citizens rarely say which language they want; they write in it. Devanagari letters mean
Nepali, even among English words. Latin letters may be English or romanised Nepali, which has no fixed spelling but
a small set of everyday words that English never uses ("cha", "mero", "garnu"). A message
decides only when it is clear: a name, a number, a place or an "ok" leaves the language
as it was, so the bot does not flip on short answers. Saying which language one wants
("नेपाली", "in English please") is the `choose_language` intent, whose entity the
classifier finds; what the words look like does not override it.

Standard library and `regex` only: the web app's tests read it too.
"""

from __future__ import annotations

from pathlib import Path

import regex

ENTITY = "language"
NEPALI = "ne"
ENGLISH = "en"
# How citizens name the two languages; the classifier may hand over any such span as it is.
_NAMES = {ENGLISH: ("english", "angreji", "angrezi", "अंग्रेजी", "अङ्ग्रेजी"), NEPALI: ("nepali", "नेपाली")}

_DEVANAGARI_LETTER = regex.compile(r"[\p{Devanagari}--[\p{N}\p{P}]]", flags=regex.V1)
# Whole words of letters only: the "k" of a reference like GR-340K-0X6R is not the word "k".
_LATIN_WORD = regex.compile(r"\b[a-z]+\b")

_WORD_LISTS = Path(__file__).parent / "words"

# Nepali writers use the long and the short i and u alike (अरू and अरु, दीदी and दिदी), the
# chandrabindu and the anusvara alike (गाउँ, गाउं), and phone keyboards put invisible joiners
# inside conjuncts (पर्‍यो): the classifier sees one spelling of each word.
SPELLINGS: dict[str, str | None] = {"ी": "ि", "ू": "ु", "ई": "इ", "ऊ": "उ", "ँ": "ं", "\u200d": None, "\u200c": None}
_ONE_SPELLING = str.maketrans(SPELLINGS)


def one_spelling(text: str) -> str:
    """The text with the Devanagari spellings that mean the same word made alike."""
    return text.translate(_ONE_SPELLING)


def _words(list_name: str) -> frozenset[str]:
    lines = (_WORD_LISTS / list_name).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


_NEPALI_WORDS = _words("romanised_nepali.txt")
_ENGLISH_WORDS = _words("english.txt")


def detect(text: str) -> str | None:
    """The language ("ne" or "en") a message is clearly written in, else None."""
    if text.startswith("/"):
        return None  # a button's payload, not the citizen's words
    if _DEVANAGARI_LETTER.search(text):
        return NEPALI  # whoever types Devanagari, even among English words, reads Nepali
    words = _LATIN_WORD.findall(text.lower())
    nepali = sum(word in _NEPALI_WORDS for word in words)
    english = sum(word in _ENGLISH_WORDS for word in words)
    if nepali > english and (nepali >= 2 or english == 0):
        return NEPALI
    if english >= 3 and nepali == 0:
        return ENGLISH
    return None


def named_language(span: str) -> str | None:
    """The language a span names ("en", "ne", or "नेपालीमा" and the like), or None."""
    if span in (ENGLISH, NEPALI):
        return span
    lowered = span.casefold()
    return next((code for code, names in _NAMES.items() if any(name in lowered for name in names)), None)
