"""Messages a move queues itself, in its own unit of work, rather than through the planner:
a proposal for review, an officer's public note, a receipt once the citizen's number is
proven, a citizen's message to the holder. Each goes to the people `rows_for` addresses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.catalog import catalog
from ticketing.lifecycle import Action
from ticketing.notify.notifications import Case, Contacts, Told, queue, rows_for
from ticketing.store.case_models import Grievance, StatusChange

_CITIZEN_ONLY = Told(frozenset(), frozenset(), citizen=True)


def _queue(
    session: Session,
    now: datetime,
    grievance: Grievance,
    event: str,
    occurrence: str,
    told: Told,
    payload: dict[str, Any],
    holder: int | None = None,
) -> None:
    contacts = Contacts.load(session, [grievance.complainant_id])
    case = Case.of(grievance)
    queue(session, rows_for(session, catalog(session), contacts, now, case, event, occurrence, told, payload, holder))


def queue_proposal(session: Session, now: datetime, grievance: Grievance, level: int) -> None:
    """Tell the officers of `level`, for action, that closing the case as invalid is proposed."""
    proposal = grievance.invalid_proposal or {}
    for_review = Told(frozenset({level}), frozenset(), citizen=False)
    occurrence = f"p{proposal.get('at', now.isoformat())}"
    _queue(
        session,
        now,
        grievance,
        "invalid_proposed",
        occurrence,
        for_review,
        {"level": grievance.level},
        grievance.assignee_id,
    )


def queue_receipt(session: Session, now: datetime, grievance: Grievance) -> None:
    """Queue the citizen's receipt of a filing whose number was proven after it was filed.

    Its keys are those the planner gives the receipt, so whichever of the two comes second
    (the code may be typed before the planner runs, or after) queues nothing twice."""
    filed = session.scalar(
        select(StatusChange.id).where(StatusChange.grievance_id == grievance.id, StatusChange.action == Action.FILE)
    )
    due = grievance.due_at.isoformat() if grievance.due_at else None
    payload = {"level": 1, "from_level": None, "change": filed, "due_at": due}
    _queue(session, now, grievance, "received", f"c{filed}", _CITIZEN_ONLY, payload)


def queue_public_note(session: Session, now: datetime, grievance: Grievance, note_id: int) -> None:
    """Queue a public note to the citizen, in the same unit of work as the note (flushed)."""
    _queue(session, now, grievance, "note", f"n{note_id}", _CITIZEN_ONLY, {"level": grievance.level, "note": note_id})


def queue_citizen_message(session: Session, now: datetime, grievance: Grievance, note_id: int) -> None:
    """Tell the case's level, for action, that the citizen added to their grievance."""
    for_holder = Told(frozenset({grievance.level}), frozenset(), citizen=False)
    payload = {"level": grievance.level, "note": note_id}
    _queue(session, now, grievance, "citizen_message", f"m{note_id}", for_holder, payload, grievance.assignee_id)
