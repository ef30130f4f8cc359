"""What a citizen may see and do about their own grievance, from any channel.

A citizen proves a case is theirs with its reference and their phone number, or with the
signed link that the resolution notification carries. Failed lookups are counted per
conversation and per reference, so neither half of the credential can be guessed.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ticketing.cases.filing import MAX_DETAILS_CHARS
from ticketing.cases.lookups import find_for_citizen
from ticketing.cases.moves import add_note, record_citizen_answer, reopen
from ticketing.cases.records import CITIZEN
from ticketing.catalog import catalog
from ticketing.clock import Clock
from ticketing.errors import GrievanceNotFound, InvalidInput, RetryLater
from ticketing.lifecycle import Status
from ticketing.store.allowances import Allowance
from ticketing.store.case_models import Complainant, Grievance
from ticketing.store.crypto import keyring
from ticketing.store.models import table
from ticketing.store.vocabulary import NoteVisibility
from ticketing.values.phones import normalise_phone
from ticketing.values.references import normalise_reference

LOOKUP_WINDOW = timedelta(minutes=15)
# A citizen mistyping a few times stays well below these; a guesser is stopped quickly.
MAX_FAILURES_PER_REQUESTER = 5
MAX_FAILURES_PER_REFERENCE = 10
ANSWER_LINK_DAYS = 30
_LINK_PURPOSE = "answer-link"
_LOOKUP_PURPOSE = "lookup-failure"


class TooManyAttempts(RetryLater):
    """Too many failed lookups lately; the citizen must wait before trying again."""

    code = "too_many_attempts"
    what = "failed lookups"


@dataclass(frozen=True)
class CitizenView:
    """The part of a case its citizen may see."""

    id: int
    reference: str
    project_code: str | None  # None: filed without a project
    project_name: str | None
    status: Status
    level: int
    filed_at: datetime
    updated_at: datetime
    due_at: datetime | None
    resolution: str | None
    reopen_days: int  # how long after its closing the citizen may reopen the case
    closed_at: datetime | None

    def reopenable(self, now: datetime) -> bool:
        """Closed, and recently enough for the citizen to take it up again."""
        return (
            self.status is Status.CLOSED
            and self.closed_at is not None
            and now <= self.closed_at + timedelta(days=self.reopen_days)
        )

    @property
    def awaits_answer(self) -> bool:
        """Resolved, and the citizen has not yet said whether the resolution satisfies them."""
        return self.status is Status.RESOLVED


def view(session: Session, grievance: Grievance) -> CitizenView:
    project = None if grievance.project_id is None else catalog(session).projects_by_id[grievance.project_id]
    return CitizenView(
        id=grievance.id,
        reference=grievance.reference,
        project_code=project.code if project else None,
        project_name=project.name if project else None,
        status=grievance.status,
        level=grievance.level,
        filed_at=grievance.created_at,
        updated_at=grievance.updated_at,
        due_at=grievance.due_at,
        resolution=grievance.resolution,
        reopen_days=catalog(session).deadlines(grievance.project_id).reopen_days,
        closed_at=grievance.closed_at,
    )


_FAILURES_PER_REQUESTER = Allowance(_LOOKUP_PURPOSE, MAX_FAILURES_PER_REQUESTER, LOOKUP_WINDOW)
_FAILURES_PER_REFERENCE = Allowance(_LOOKUP_PURPOSE, MAX_FAILURES_PER_REFERENCE, LOOKUP_WINDOW)


def look_up(session: Session, clock: Clock, reference: str, phone: str, requester: str) -> CitizenView | None:
    """The citizen's case by reference and phone, or None (the failure is counted).

    `requester` names the conversation asking (channel and sender). Raises TooManyAttempts,
    before looking, once that conversation or that reference has failed too often lately.
    The caller must commit even when None is returned, so that the failure is kept.
    """
    now = clock.now()
    canonical = normalise_reference(reference)
    counted = [(_FAILURES_PER_REQUESTER, f"requester:{requester}")]
    if canonical is not None:
        counted.append((_FAILURES_PER_REFERENCE, f"reference:{canonical}"))
    for allowance, name in counted:
        if (wait := allowance.wait(session, name, now)) is not None:
            raise TooManyAttempts(wait)
    try:
        grievance = find_for_citizen(session, reference, phone)
    except GrievanceNotFound:
        for allowance, name in counted:
            allowance.spend(session, name, now)
        return None
    return view(session, grievance)


# "My grievances" shows the latest ones; older ones are found by their reference.
MY_CASES_SHOWN = 10


def cases_of(session: Session, phone: str) -> list[CitizenView]:
    """The cases filed with this number, newest first, once it was proven theirs: a filing by
    someone who typed the number by mistake (never proven) is not shown to its owner."""
    complainants = select(Complainant.id).where(
        Complainant.phone_hash == keyring().phone_digest(normalise_phone(phone))
    )
    found = session.scalars(
        select(Grievance)
        .where(Grievance.complainant_id.in_(complainants), Grievance.phone_verified)
        .order_by(Grievance.created_at.desc(), Grievance.id.desc())
        .limit(MY_CASES_SHOWN)
    )
    return [view(session, grievance) for grievance in found]


def add_to_case(session: Session, clock: Clock, grievance_id: int, text: str) -> None:
    """The citizen's own words added to a case they proved theirs: on its timeline as their
    message, and its holder told for action."""
    if len(text) > MAX_DETAILS_CHARS:
        raise InvalidInput("text", f"is longer than {MAX_DETAILS_CHARS} characters")
    add_note(session, clock, grievance_id, CITIZEN, text, NoteVisibility.PUBLIC)


def reopen_case(session: Session, clock: Clock, grievance_id: int, reason: str) -> None:
    """The citizen takes up their closed case again, with the reason, within the project's
    window (as an officer may): it returns to its level's officer, who is told."""
    if len(reason) > MAX_DETAILS_CHARS:
        raise InvalidInput("reason", f"is longer than {MAX_DETAILS_CHARS} characters")
    reopen(session, clock, grievance_id, CITIZEN, reason)


def add_place(session: Session, clock: Clock, grievance_id: int, latitude: float, longitude: float, label: str) -> None:
    """A place the citizen shared after filing: the case's spot if it had none, and in any
    case their message on its timeline, its holder told."""
    grievance = session.get(Grievance, grievance_id)
    if grievance is None:
        raise GrievanceNotFound()
    if grievance.latitude is None:
        grievance.latitude, grievance.longitude = latitude, longitude
    shared = f"Shared a place: {latitude:.5f}, {longitude:.5f}" + (f" ({label})" if label else "")
    add_to_case(session, clock, grievance_id, shared)


def heard_on_whatsapp(session: Session, phone: str, now: datetime) -> None:
    """The citizen with this phone wrote on WhatsApp now: free-form replies are allowed for 24 h."""
    complainants = table(Complainant)
    session.execute(
        update(complainants)
        .where(complainants.c.phone_hash == keyring().phone_digest(normalise_phone(phone)))
        .values(whatsapp_inbound_at=now)
    )


def view_by_id(session: Session, grievance_id: int) -> CitizenView:
    """A case the conversation has already proven to be the citizen's."""
    grievance = session.get(Grievance, grievance_id)
    if grievance is None:
        raise GrievanceNotFound()
    return view(session, grievance)


def answer_resolution(
    session: Session,
    clock: Clock,
    grievance_id: int,
    accepted: bool,
    reason: str | None = None,
    rating: int | None = None,
) -> CitizenView:
    """The citizen accepts (optionally rating it 1 to 5) or refuses, with a reason, a resolution."""
    if rating is not None and not 1 <= rating <= 5:
        raise InvalidInput("rating", "must be between 1 and 5")
    grievance = record_citizen_answer(session, clock, grievance_id, CITIZEN, accepted, reason)
    if accepted and rating is not None:
        grievance.satisfaction = rating
    return view(session, grievance)


# --- the signed link of the resolution notification ---

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _signature(payload: str) -> str:
    return base64.urlsafe_b64encode(keyring().digest(_LINK_PURPOSE, payload)[:16]).decode("ascii").rstrip("=")


def _resolution_mark(resolved_at: datetime | None) -> str:
    """Which resolution a link answers: the microsecond it was recorded (0 for none)."""
    return "0" if resolved_at is None else f"{(resolved_at - _EPOCH) // timedelta(microseconds=1):x}"


# The mark of a link that answers an officer's note rather than a resolution.
_REPLY_MARK = "r"


def _link_token(grievance: Grievance, mark: str, now: datetime) -> str:
    expires = int((now + timedelta(days=ANSWER_LINK_DAYS)).timestamp())
    payload = f"{grievance.reference}.{mark}.{expires:x}"
    return f"{payload}.{_signature(payload)}"


def answer_link_token(grievance: Grievance, now: datetime) -> str:
    """A token proving its bearer received the message about the case's current resolution.

    It names that resolution, so once the case is refused and resolved again, only the
    newer message's link answers: an old message (a forwarded SMS, a shared phone) cannot.
    """
    return _link_token(grievance, _resolution_mark(grievance.resolved_at), now)


def reply_link_token(grievance: Grievance, now: datetime) -> str:
    """A token proving its bearer received an officer's note on the case: it opens the chat
    at "what would you like to add?", for the reply to join the case."""
    return _link_token(grievance, _REPLY_MARK, now)


def _linked(session: Session, token: str, now: datetime) -> tuple[Grievance, str] | None:
    """The case a valid, unexpired link token names, and the token's mark."""
    payload, _, signature = token.strip().rpartition(".")
    parts = payload.split(".")
    if len(parts) != 3 or not hmac.compare_digest(signature, _signature(payload)):
        return None
    reference, mark, expires_hex = parts
    try:
        expires = datetime.fromtimestamp(int(expires_hex, 16), UTC)
    except (ValueError, OverflowError):
        return None
    if expires < now:
        return None
    grievance = session.scalar(select(Grievance).where(Grievance.reference == reference))
    return None if grievance is None else (grievance, mark)


def grievance_for_link(session: Session, token: str, now: datetime) -> CitizenView | None:
    """The case a resolution link names, while its resolution is still the one the link was
    sent about; None for any other token."""
    linked = _linked(session, token, now)
    if linked is None or not hmac.compare_digest(linked[1], _resolution_mark(linked[0].resolved_at)):
        return None
    return view(session, linked[0])


def grievance_for_reply(session: Session, token: str, now: datetime) -> CitizenView | None:
    """The case a note's reply link names; None for any other token."""
    linked = _linked(session, token, now)
    if linked is None or linked[1] != _REPLY_MARK:
        return None
    return view(session, linked[0])
