"""Proving a phone: a one-time code sent by SMS through the outbox, typed back in the chat.

A conversation (the requester: channel and sender) asks for a code for a number; the code
goes out as an SMS like every other message, and typing it back proves the conversation
holds that phone. A code proving a filing's number marks the case verified, gives the
number's complainant the name and e-mail the filing gave (withheld until then, so that
nobody renames another person's cases) and sends the receipt. Codes expire, wrong tries
end a code, and sends are limited per number and per conversation, so the bot can neither
be used to flood a stranger with SMS nor to guess a code.
"""

from __future__ import annotations

import enum
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ticketing.clock import Clock
from ticketing.errors import GrmError, RetryLater
from ticketing.notify.direct import queue_receipt
from ticketing.notify.notifications import outbox_row, queue
from ticketing.store.allowances import Allowance
from ticketing.store.case_models import Complainant, Grievance, PhoneCode
from ticketing.store.crypto import keyring
from ticketing.store.vocabulary import Audience, NotificationChannel
from ticketing.values.numerals import western_digits
from ticketing.values.phones import normalise_mobile

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
# A slip of the finger or two is forgiven; a million codes are not guessed in five tries.
MAX_WRONG_TRIES = 5
SEND_WINDOW = timedelta(hours=1)
# A code and two resends per number an hour; a conversation may try one more number.
_SENDS_PER_PHONE = Allowance("code-sent", 3, SEND_WINDOW)
_SENDS_PER_REQUESTER = Allowance("code-sent", 5, SEND_WINDOW)
_CODE_PURPOSE = "phone-code"
_REQUESTER_PURPOSE = "code-requester"


class TooManyCodes(RetryLater):
    """Enough codes went to this number, or from this conversation, lately."""

    code = "too_many_codes"
    what = "codes sent"


class NoCode(GrmError):
    """The conversation has no code to send again."""

    code = "no_code"


class Outcome(enum.Enum):
    CONFIRMED = "confirmed"
    WRONG = "wrong"  # tries remain
    EXPIRED = "expired"  # a new code is needed
    SPENT = "spent"  # too many wrong tries: a new code is needed
    NONE = "none"  # no code is waiting in this conversation


@dataclass(frozen=True)
class Checked:
    outcome: Outcome
    phone: str | None = None  # the proven number, once confirmed
    tries_left: int = 0
    for_filing: bool = False  # the code proved a filing's number (else it was asked for a list)


@dataclass(frozen=True)
class Claim:
    """What a filing said of its citizen, kept until the number is proven."""

    name: str | None
    email: str | None


def _requester_digest(requester: str) -> str:
    return keyring().digest(_REQUESTER_PURPOSE, requester).hex()


def _code_digest(phone: str, code: str) -> str:
    return keyring().digest(_CODE_PURPOSE, f"{phone}\n{code}").hex()


def _latest(session: Session, requester: str) -> PhoneCode | None:
    return session.scalar(
        select(PhoneCode)
        .where(PhoneCode.requester_digest == _requester_digest(requester))
        .order_by(PhoneCode.id.desc())
        .limit(1)
    )


def send_code(
    session: Session,
    clock: Clock,
    phone: str,
    requester: str,
    language: str,
    grievance_id: int | None = None,
    claim: Claim | None = None,
) -> None:
    """Queue a new code by SMS to `phone` for this conversation; its earlier codes stop working.

    Raises TooManyCodes, sending nothing, once this number or this conversation had enough.
    """
    now = clock.now()
    phone = normalise_mobile(phone)
    counted = ((_SENDS_PER_PHONE, f"phone:{phone}"), (_SENDS_PER_REQUESTER, f"requester:{requester}"))
    for allowance, name in counted:
        if (wait := allowance.wait(session, name, now)) is not None:
            raise TooManyCodes(wait)
    for allowance, name in counted:
        allowance.spend(session, name, now)
    digest = _requester_digest(requester)
    session.execute(
        update(PhoneCode).where(PhoneCode.requester_digest == digest, PhoneCode.ended_at.is_(None)).values(ended_at=now)
    )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    row = PhoneCode(
        requester_digest=digest,
        phone=phone,
        code_digest=_code_digest(phone, code),
        grievance_id=grievance_id,
        claimed=None if claim is None else json.dumps({"name": claim.name, "email": claim.email}),
        language=language,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
        wrong_tries=0,
    )
    session.add(row)
    session.flush()
    payload = {"code": code, "minutes": CODE_LIFETIME // timedelta(minutes=1), "language": language}
    sms = outbox_row(f"code:{row.id}", now, NotificationChannel.SMS, Audience.ADDRESS, "code", payload, recipient=phone)
    queue(session, [sms])


def send_again(session: Session, clock: Clock, requester: str) -> str:
    """A new code for the number of this conversation's latest one (and for the same filing);
    returns that number. Raises NoCode when none was sent, TooManyCodes as send_code does."""
    latest = _latest(session, requester)
    if latest is None or _confirmed(latest):
        raise NoCode("no code was sent in this conversation")
    claim = None if latest.claimed is None else Claim(**json.loads(latest.claimed))
    send_code(session, clock, latest.phone, requester, latest.language, latest.grievance_id, claim)
    return latest.phone


def _confirmed(row: PhoneCode) -> bool:
    """Typed back already: a confirmed code's digest is emptied, so that it never matches again."""
    return row.code_digest == ""


def check_code(session: Session, clock: Clock, requester: str, typed: str) -> Checked:
    """Whether `typed` is the code this conversation is waiting for; a right one proves its number."""
    now = clock.now()
    row = _latest(session, requester)
    if row is None or _confirmed(row):
        return Checked(Outcome.NONE)
    if row.ended_at is not None or row.wrong_tries >= MAX_WRONG_TRIES:
        return Checked(Outcome.SPENT)
    if row.expires_at <= now:
        return Checked(Outcome.EXPIRED)
    digits = "".join(c for c in western_digits(typed) if c.isdigit())
    if not hmac.compare_digest(_code_digest(row.phone, digits), row.code_digest):
        row.wrong_tries += 1
        left = MAX_WRONG_TRIES - row.wrong_tries
        return Checked(Outcome.WRONG if left else Outcome.SPENT, tries_left=left)
    row.code_digest, row.ended_at = "", now
    if row.grievance_id is not None:
        _prove_filing(session, now, row)
    return Checked(Outcome.CONFIRMED, phone=row.phone, for_filing=row.grievance_id is not None)


def _prove_filing(session: Session, now: datetime, row: PhoneCode) -> None:
    """The filing's number is its citizen's: mark the case, give the number its details, send the receipt."""
    grievance = session.get_one(Grievance, row.grievance_id)
    grievance.phone_verified = True
    claim = json.loads(row.claimed) if row.claimed else {}
    complainant = session.get_one(Complainant, grievance.complainant_id)
    complainant.name = claim.get("name") or complainant.name
    complainant.email = claim.get("email") or complainant.email
    complainant.updated_at = now
    session.flush()
    queue_receipt(session, now, grievance)
