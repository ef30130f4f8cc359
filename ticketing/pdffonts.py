"""Fonts for the PDFs the GRM prints: Noto Sans for English, Noto Sans Devanagari for Nepali.

reportlab's built-in fonts have no Devanagari, and Devanagari needs shaping (a vowel sign
drawn before its consonant, conjuncts joined), which reportlab does through uharfbuzz only
for fonts registered as shapable and paragraphs styled with `shaping=1`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from ticketing.errors import ConfigurationError

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
LATIN = "NotoSans"
LATIN_BOLD = "NotoSans-Bold"
DEVANAGARI = "NotoSansDevanagari"
DEVANAGARI_BOLD = "NotoSansDevanagari-Bold"
_FILES = {
    LATIN: "NotoSans-Regular.ttf",
    LATIN_BOLD: "NotoSans-Bold.ttf",
    DEVANAGARI: "NotoSansDevanagari-Regular.ttf",
    DEVANAGARI_BOLD: "NotoSansDevanagari-Bold.ttf",
}


def register_fonts() -> None:
    """Make the fonts known to reportlab (once per process)."""
    if importlib.util.find_spec("uharfbuzz") is None:
        # Without it reportlab prints Nepali with its letters in the wrong order, silently.
        raise ConfigurationError("uharfbuzz is missing: Nepali text cannot be shaped (see requirements/app.txt)")
    registered = set(pdfmetrics.getRegisteredFontNames())
    for name, filename in _FILES.items():
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(FONTS_DIR / filename), shapable=True))
