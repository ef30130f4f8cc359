"""Finding cases: a citizen's own by reference and phone, and the overdue ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.errors import GrievanceNotFound, InvalidInput
from ticketing.lifecycle import OPEN_STATUSES, Status
from ticketing.store.case_models import Complainant, Grievance
from ticketing.store.crypto import keyring
from ticketing.values.phones import normalise_phone
from ticketing.values.references import normalise_reference


@dataclass(frozen=True)
class OverdueTicket:
    id: int
    reference: str
    status: Status
    level: int
    due_at: datetime


def find_for_citizen(session: Session, reference: str, phone: str) -> Grievance:
    """The citizen's own case by reference and phone; one same answer for any wrong half."""
    canonical = normalise_reference(reference)
    try:
        phone_hash = keyring().phone_digest(normalise_phone(phone))
    except InvalidInput:
        raise GrievanceNotFound() from None
    if canonical is None:
        raise GrievanceNotFound()
    grievance = session.scalar(
        select(Grievance)
        .join(Grievance.complainant)
        .where(Grievance.reference == canonical, Complainant.phone_hash == phone_hash)
    )
    if grievance is None:
        raise GrievanceNotFound()
    return grievance


def list_overdue(session: Session, now: datetime, limit: int | None = None) -> list[OverdueTicket]:
    """Open cases whose deadline has passed at `now`, most overdue first (index on due_at)."""
    query = (
        select(Grievance.id, Grievance.reference, Grievance.status, Grievance.level, Grievance.due_at)
        .where(Grievance.due_at <= now, Grievance.status.in_(OPEN_STATUSES))
        .order_by(Grievance.due_at)
        .limit(limit)
    )
    rows = session.execute(query).tuples()
    return [OverdueTicket(id_, reference, status, level, due) for id_, reference, status, level, due in rows if due]
