"""A contractor's "close as invalid" is a proposal: the case stays open until an officer of
level 2 (or one who oversees the project) approves it, and so closes the case, or rejects it
with a reason. The proposal, the decision and who made each are kept in the history.

Callers own the unit of work (`with store.sessions.begin() as session:`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ticketing.cases.moves import add_note, close_invalid, lock
from ticketing.cases.records import Actor, audit, optional_text, required_text
from ticketing.clock import Clock
from ticketing.errors import InvalidInput
from ticketing.lifecycle import OPEN_STATUSES
from ticketing.notify.direct import queue_proposal
from ticketing.permissions import CLOSE_INVALID_WITH_APPROVAL
from ticketing.store.case_models import Grievance
from ticketing.store.models import Officer
from ticketing.store.vocabulary import NoteVisibility

# The level whose officers decide on a proposal to close a case as invalid.
REVIEW_LEVEL = 2


def propose_invalid(
    session: Session, clock: Clock, grievance_id: int, actor: Actor, reason: str, duplicate_of: str | None = None
) -> Grievance:
    """Ask a level-2 officer to close the open case as invalid (or as a duplicate); the
    officers of level 2 are told, for action."""
    reason = required_text(reason, "reason")
    grievance = lock(session, grievance_id)
    if grievance.status not in OPEN_STATUSES:
        raise InvalidInput("reason", "only an open case can be closed as invalid")
    if grievance.invalid_proposal is not None:
        raise InvalidInput("reason", "closing this case as invalid is already proposed")
    now = clock.now()
    grievance.invalid_proposal = {
        "by": actor.officer_id,
        "at": now.isoformat(),
        "reason": reason,
        "duplicate_of": optional_text(duplicate_of),
    }
    audit(session, now, actor, "propose_invalid", grievance, {"reason": reason})
    queue_proposal(session, now, grievance, REVIEW_LEVEL)
    return grievance


def decide_invalid(
    session: Session, clock: Clock, grievance_id: int, actor: Actor, approve: bool, note: str | None = None
) -> Grievance:
    """Approve the proposal (the case closes as invalid, with its reason) or reject it with a
    reason (the case goes on, and the reason is an internal note for the proposer)."""
    grievance = lock(session, grievance_id)
    proposal = grievance.invalid_proposal
    if proposal is None:
        raise InvalidInput("reason", "nobody proposed to close this case as invalid")
    officer = session.get(Officer, actor.officer_id) if actor.officer_id else None
    if officer is None or officer.role in CLOSE_INVALID_WITH_APPROVAL or (officer.level or REVIEW_LEVEL) < REVIEW_LEVEL:
        raise InvalidInput("reason", f"an officer of level {REVIEW_LEVEL} or above decides on this proposal")
    grievance.invalid_proposal = None
    audit(session, clock.now(), actor, "approve_invalid" if approve else "reject_invalid", grievance, proposal)
    if approve:
        return close_invalid(session, clock, grievance.id, actor, proposal["reason"], proposal["duplicate_of"])
    why = required_text(note, "reason")
    add_note(session, clock, grievance.id, actor, f"Closing as invalid rejected: {why}", NoteVisibility.INTERNAL)
    return grievance
