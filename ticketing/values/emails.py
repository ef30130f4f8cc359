r"""E-mail addresses as citizens and officers type them, checked without a backtracking regex.

email-validator parses an address in one linear pass and caps its length; a hand-written
pattern such as `[^@]+@[^@]+\.[^@]+` backtracks quadratically on input like "x@a.a.a...@".
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from ticketing.errors import InvalidInput

# RFC 5321's limit on a whole address; longer input is refused before anything else reads it.
MAX_EMAIL_CHARS = 254


def normalise_email(typed: str) -> str:
    """The address in its normal form (domain lower-cased), else InvalidInput.

    Syntax only: no DNS lookup (the GRM runs offline). The local part must be ASCII,
    which every mail provider citizens use accepts; the domain may be Devanagari.
    """
    text = typed.strip()
    if len(text) > MAX_EMAIL_CHARS:
        raise InvalidInput("email", "not a valid email address")
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise InvalidInput("email", "not a valid email address") from error
    return str(checked.normalized)
