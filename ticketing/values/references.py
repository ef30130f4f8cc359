"""Public grievance references: short, random, typable over a phone line (GR-7K3P-9QXD)."""

from __future__ import annotations

import re
import secrets

from ticketing.values.numerals import western_digits

# Crockford's base32: digits and capitals without I, L and O (read back as 1, 1 and 0) nor U.
# Eight symbols give 2**40 references, so guessing one is hopeless.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "GR"
_SYMBOLS = 8
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SHAPE = re.compile(rf"^{PREFIX}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}$")


def new_reference() -> str:
    """A fresh random reference; uniqueness is enforced by the database."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(_SYMBOLS))
    return f"{PREFIX}-{symbols[:4]}-{symbols[4:]}"


def normalise_reference(typed: str) -> str | None:
    """The canonical form of what a citizen typed, or None if it cannot be a reference.

    Accepts any case, spaces or missing dashes, a missing "GR", look-alike letters and
    Devanagari digits.
    """
    # A Nepali keyboard types Devanagari digits; a reference is printed with Western ones.
    compact = re.sub(r"[^0-9A-Za-z]", "", western_digits(typed)).upper()
    if compact.startswith(PREFIX) and len(compact) == len(PREFIX) + _SYMBOLS:
        compact = compact[len(PREFIX) :]
    if len(compact) != _SYMBOLS:
        return None
    compact = compact.translate(_LOOKALIKES)
    reference = f"{PREFIX}-{compact[:4]}-{compact[4:]}"
    return reference if _SHAPE.match(reference) else None
