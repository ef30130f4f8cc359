"""The languages the GRM speaks with citizens. Nepali is read in Devanagari and in Latin
letters alike; it is always written back in Devanagari."""

from __future__ import annotations

# The first is the default: what a citizen gets before any sign of another language.
LANGUAGES = ("en", "ne")
DEFAULT_LANGUAGE = LANGUAGES[0]


def spoken(language: str | None) -> str:
    """`language` when the GRM speaks it, else the default."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def in_language(english: str, nepali: str | None, language: str) -> str:
    """A name kept in both languages (places, categories), as a reader of `language` wants it;
    the English one when no Nepali one is kept."""
    return nepali if language == "ne" and nepali else english
