"""Phone numbers in E.164, the one form stored, hashed and dialled."""

from __future__ import annotations

import phonenumbers

from ticketing.errors import InvalidInput

DEFAULT_REGION = "NP"


def normalise_phone(typed: str, region: str = DEFAULT_REGION) -> str:
    """E.164 for a valid number typed with or without its country code, else InvalidInput."""
    try:
        number = phonenumbers.parse(typed, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("phone", "not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("phone", "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_mobile(typed: str, region: str = DEFAULT_REGION) -> str:
    """E.164 for a valid mobile number (SMS and WhatsApp need one), else InvalidInput."""
    phone = normalise_phone(typed, region)
    kind = phonenumbers.number_type(phonenumbers.parse(phone))
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise InvalidInput("phone", "not a mobile number")
    return phone


def masked(phone: str) -> str:
    """The number with all but its last three digits hidden, to show whom a code went to
    without telling a reader of the conversation the whole number."""
    return f"{'•' * max(len(phone) - 3, 0)}{phone[-3:]}"
