"""The links a project's QR codes open on WhatsApp and Messenger, and how the bot reads them back.

Standard library only: the web app (Python 3.11) builds the links, the channel connectors
inside Rasa (Python 3.10) recognise them, and both must agree on one format.
"""

from __future__ import annotations

import re
from urllib.parse import quote

# Project codes as the backoffice allows them: letters, digits and dashes.
_CODE = r"[A-Za-z0-9][A-Za-z0-9-]{0,19}"
# WhatsApp cannot carry hidden data into a chat: the project travels in the text the
# citizen sends, which they may edit. "project KTM-01" (or "आयोजना KTM-01", "aayojana
# KTM-01") anywhere in it still binds. The text is written in the language the poster's
# reader chose, and an unedited one opens the conversation in that language.
_PREFILLED = {
    "en": "Namaste! I am writing about project {code}.",
    "ne": "नमस्ते! म आयोजना {code} बारे लेख्दैछु।",
}
_PROJECT_IN_TEXT = re.compile(rf"(?:\bproject|आयोजना|\ba?ayojana)\s*[:#-]?\s*({_CODE})(?![A-Za-z0-9-])", re.IGNORECASE)
# An m.me link's ref: the project code, and after a dot the language to open in.
_REF = re.compile(rf"({_CODE})(?:\.(en|ne))?")


def prefilled_message(project_code: str, language: str = "en") -> str:
    """The first message a project's WhatsApp link writes for the citizen, in `language`."""
    return _PREFILLED[language].format(code=project_code)


def whatsapp_link(number: str, project_code: str, language: str = "en") -> str:
    """https://wa.me/<number digits>?text=<the prefilled message>."""
    digits = "".join(c for c in number if c.isdigit())
    return f"https://wa.me/{digits}?text={quote(prefilled_message(project_code, language), safe='')}"


def messenger_link(page: str, project_code: str, language: str = "en") -> str:
    """https://m.me/<page>?ref=<project code>[.ne]: Messenger hands the ref to the bot."""
    ref = project_code if language == "en" else f"{project_code}.{language}"
    return f"https://m.me/{quote(page, safe='')}?ref={quote(ref, safe='')}"


def project_in_message(text: str) -> str | None:
    """The project code a (possibly edited) prefilled message names, if any."""
    found = _PROJECT_IN_TEXT.search(text)
    return found.group(1) if found else None


def prefill_language(text: str) -> str | None:
    """The language of a prefilled message the citizen only pressed send on; None if edited."""
    code = project_in_message(text)
    said = " ".join(text.split())
    return next((lang for lang in _PREFILLED if code and said == prefilled_message(code, lang)), None)


def project_ref(ref: str) -> tuple[str, str | None] | None:
    """The project code an m.me link's ref carries, and the language it asks for, if any."""
    found = _REF.fullmatch(ref.strip())
    return (found.group(1), found.group(2)) if found else None
