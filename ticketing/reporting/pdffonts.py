"""Fonts for the PDFs the GRM prints: Noto Sans for English, Noto Sans Devanagari for Nepali.

reportlab's built-in fonts have no Devanagari, and Devanagari needs shaping (a vowel sign
drawn before its consonant, conjuncts joined), which reportlab does through uharfbuzz only
for fonts registered as shapable and paragraphs styled with `shaping=1`.
"""

from __future__ import annotations

import importlib.util
import re
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


# A run of Devanagari, with the spaces and signs between its words, so that each run is
# shaped whole (a conjunct or a vowel sign never spans two runs), and the punctuation that
# touches it: reportlab draws a sign set in the Latin font right against a shaped run as
# another glyph ("बिग्रियो;" came out "बिग्रियोổ"), so the font changes only at a space.
_DEVANAGARI_RUN = re.compile(
    r"[(\[\"'-]*[\u0900-\u097F\u200c\u200d]+(?:[\s\d.,:;!?()/-]*[\u0900-\u097F\u200c\u200d]+)*[.,:;!?)\]\"'-]*"
)


def has_devanagari(text: str) -> bool:
    """Whether the text needs the Devanagari font (and so a shaped paragraph)."""
    return _DEVANAGARI_RUN.search(text) is not None


def markup(text: str) -> str:
    """Paragraph markup for text in any mix of scripts: escaped, with every Devanagari run set
    in the Devanagari font (Noto Sans has no Devanagari, Noto Sans Devanagari no Latin letters).
    The paragraph's own font must be Latin and its style shaped (`shaping=1`)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _DEVANAGARI_RUN.sub(lambda run: f'<font name="{DEVANAGARI}">{run.group(0)}</font>', escaped)
