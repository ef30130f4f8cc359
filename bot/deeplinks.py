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
# citizen sends, which they may edit. "project KTM-01" anywhere in it still binds.
_PREFILLED = "Namaste! I am writing about project {code}."
_PROJECT_IN_TEXT = re.compile(rf"\bproject\s*[:#-]?\s*({_CODE})(?![A-Za-z0-9-])", re.IGNORECASE)


def prefilled_message(project_code: str) -> str:
    """The first message a project's WhatsApp link writes for the citizen."""
    return _PREFILLED.format(code=project_code)


def whatsapp_link(number: str, project_code: str) -> str:
    """https://wa.me/<number digits>?text=<the prefilled message>."""
    digits = "".join(c for c in number if c.isdigit())
    return f"https://wa.me/{digits}?text={quote(prefilled_message(project_code), safe='')}"


def messenger_link(page: str, project_code: str) -> str:
    """https://m.me/<page>?ref=<project code>: Messenger hands the ref to the bot."""
    return f"https://m.me/{quote(page, safe='')}?ref={quote(project_code, safe='')}"


def project_in_message(text: str) -> str | None:
    """The project code a (possibly edited) prefilled message names, if any."""
    found = _PROJECT_IN_TEXT.search(text)
    return found.group(1) if found else None


def is_unedited_prefill(text: str) -> bool:
    """Whether the message is exactly a prefilled one, i.e. the citizen only pressed send."""
    code = project_in_message(text)
    return code is not None and " ".join(text.split()) == prefilled_message(code)


def project_ref(ref: str) -> str | None:
    """The project code an m.me link's ref carries, if it has the shape of one."""
    ref = ref.strip()
    return ref if re.fullmatch(_CODE, ref) else None
