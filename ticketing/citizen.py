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

from ticketing.cases.lookups import find_for_citizen
from ticketing.cases.moves import record_citizen_answer
from ticketing.cases.records import CITIZEN
from ticketing.catalog import catalog
from ticketing.clock import Clock
from ticketing.errors import GrievanceNotFound, GrmError, InvalidInput
from ticketing.lifecycle import Status
from ticketing.store.allowances import Allowance
from ticketing.store.case_models import Complainant, Grievance
from ticketing.store.crypto import keyring
from ticketing.store.models import table
from ticketing.values.phones import normalise_phone
from ticketing.values.references import normalise_reference

LOOKUP_WINDOW = timedelta(minutes=15)
# A citizen mistyping a few times stays well below these; a guesser is stopped quickly.
MAX_FAILURES_PER_REQUESTER = 5
MAX_FAILURES_PER_REFERENCE = 10
ANSWER_LINK_DAYS = 30
_LINK_PURPOSE = "answer-link"
_LOOKUP_PURPOSE = "lookup-failure"


class TooManyAttempts(GrmError):
    """Too many failed lookups lately; the citizen must wait before trying again."""

    code = "too_many_attempts"

    def __init__(self, retry_after: timedelta) -> None:
        super().__init__(f"too many failed lookups; retry in {retry_after}")
        self.retry_after = retry_after


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


def answer_link_token(grievance: Grievance, now: datetime) -> str:
    """A token proving its bearer received the message about the case's current resolution.

    It names that resolution, so once the case is refused and resolved again, only the
    newer message's link answers: an old message (a forwarded SMS, a shared phone) cannot.
    """
    expires = int((now + timedelta(days=ANSWER_LINK_DAYS)).timestamp())
    payload = f"{grievance.reference}.{_resolution_mark(grievance.resolved_at)}.{expires:x}"
    return f"{payload}.{_signature(payload)}"


def grievance_for_link(session: Session, token: str, now: datetime) -> CitizenView | None:
    """The case a valid, unexpired link token names, while its resolution is still the one
    the link was sent about; None for any other token."""
    payload, _, signature = token.strip().rpartition(".")
    parts = payload.split(".")
    if len(parts) != 3 or not hmac.compare_digest(signature, _signature(payload)):
        return None
    reference, resolution, expires_hex = parts
    try:
        expires = datetime.fromtimestamp(int(expires_hex, 16), UTC)
    except (ValueError, OverflowError):
        return None
    if expires < now:
        return None
    grievance = session.scalar(select(Grievance).where(Grievance.reference == reference))
    if grievance is None or not hmac.compare_digest(resolution, _resolution_mark(grievance.resolved_at)):
        return None
    return view(session, grievance)
