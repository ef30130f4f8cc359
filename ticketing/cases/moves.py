"""What officers and citizens do to one case: each move follows the lifecycle's transition
table, re-routes on a level change, resets the deadline and leaves its history.

Callers own the unit of work (`with store.sessions.begin() as session:`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.cases.records import SYSTEM, Actor, History, audit, optional_text, record, required_text
from ticketing.catalog import Catalog, OfficerInfo, catalog
from ticketing.clock import Clock
from ticketing.errors import ConcurrentChange, IllegalTransition, InvalidInput, NotFound
from ticketing.lifecycle import Action, Status, next_level, next_status
from ticketing.notify.direct import queue_citizen_message, queue_public_note
from ticketing.permissions import CLOSE_INVALID_WITH_APPROVAL
from ticketing.places.locations import Place
from ticketing.routing import route
from ticketing.sla import due_at
from ticketing.store.case_models import Grievance, Note
from ticketing.store.models import Officer
from ticketing.store.vocabulary import ActorKind, CloseReason, NoteVisibility, cleared_for
from ticketing.values.references import normalise_reference


def _place(grievance: Grievance) -> Place:
    return Place(grievance.province_id, grievance.district_id, grievance.municipality_id)


def move(
    session: Session,
    clock: Clock,
    grievance: Grievance,
    action: Action,
    actor: Actor,
    note: str | None = None,
    history: History | None = None,
) -> datetime:
    """Apply one move of the transition table, re-route on a level change, reset the deadline."""
    now = clock.now()
    config = catalog(session)
    from_status, from_level = grievance.status, grievance.level
    grievance.status = next_status(from_status, action, from_level)
    grievance.level = next_level(action, from_level)
    grievance.updated_at = now
    grievance.notify_pending = True
    if grievance.level != from_level:
        grievance.level_entered_at = now
        route_again(session, config, grievance)
    reset_deadline(config, grievance)
    record(session, now, grievance, action, actor, from_status, from_level, note, history)
    return now


def route_again(session: Session, config: Catalog, grievance: Grievance) -> None:
    """Give the case to whoever the routing rules name for it as it now stands."""
    grievance.assignee_id = route(
        session,
        config,
        grievance.project_id,
        grievance.level,
        _place(grievance),
        grievance.category_id,
        grievance.priority,
    )


def reset_deadline(config: Catalog, grievance: Grievance) -> None:
    """The next deadline for the case as it now stands (status, level, category)."""
    grievance.due_at = due_at(
        grievance.status,
        grievance.level,
        grievance.created_at,
        grievance.level_entered_at,
        config.deadlines(grievance.project_id),
        config.lineage(grievance.category_id),
    )


def lock(session: Session, grievance_id: int) -> Grievance:
    """Load a case and hold its row until the unit of work ends (FOR UPDATE on PostgreSQL)."""
    grievance = session.scalar(
        select(Grievance)
        .where(Grievance.id == grievance_id)
        .with_for_update(of=Grievance)
        .execution_options(populate_existing=True)
    )
    if grievance is None:
        raise NotFound("grievance", grievance_id)
    return grievance


def acknowledge(session: Session, clock: Clock, grievance_id: int, actor: Actor, note: str | None = None) -> Grievance:
    """The officer in charge of the current level takes the case up (new/escalated -> in progress)."""
    grievance = lock(session, grievance_id)
    first_time = grievance.acknowledged_at is None
    now = move(session, clock, grievance, Action.ACKNOWLEDGE, actor, optional_text(note))
    if first_time:
        grievance.acknowledged_at = now
    return grievance


def why_not_holder(officer: OfficerInfo | None, grievance: Grievance) -> str | None:
    """Why `officer` may not hold the case as it stands, or None when they may: the one rule
    behind assignments and the officers the backoffice offers for them."""
    if officer is None or not officer.active:
        return "no such active officer"
    if not cleared_for(grievance.priority, officer):
        return f"this officer is not cleared for {grievance.priority.value} cases"
    # A case filed without a project may go to anyone: whoever assigns it knows the place.
    bound = grievance.project_id is not None and not officer.all_projects
    if bound and grievance.project_id not in officer.project_ids:
        return "this officer does not work on the case's project"
    if officer.level is not None and officer.level != grievance.level:
        return f"this officer handles level {officer.level} cases"
    return None


def assign(
    session: Session, clock: Clock, grievance_id: int, actor: Actor, officer_id: int, note: str | None = None
) -> Grievance:
    """Hand the case to a named officer within its level; the status does not change."""
    grievance = lock(session, grievance_id)
    officer = catalog(session).officers.get(officer_id)
    refused = why_not_holder(officer, grievance)
    if officer is None or refused is not None:
        raise InvalidInput("officer_id", refused or "no such active officer")
    grievance.assignee_id = officer.id
    move(session, clock, grievance, Action.ASSIGN, actor, optional_text(note))
    return grievance


def escalate(
    session: Session,
    clock: Clock,
    grievance_id: int,
    actor: Actor,
    reason: str,
    from_level: int,
) -> Grievance:
    """Move the case one level up: automatically on a missed deadline or at a stakeholder's request.

    `from_level` is the level the caller saw; if the case has moved meanwhile (say two
    officers, or the scheduler and an officer, escalate at once) ConcurrentChange is raised
    so that one request never climbs two levels.
    """
    reason = required_text(reason, "reason")
    grievance = lock(session, grievance_id)
    if grievance.level != from_level:
        raise ConcurrentChange(grievance.reference, f"it is now at level {grievance.level}")
    move(session, clock, grievance, Action.ESCALATE, actor, reason)
    return grievance


def resolve(session: Session, clock: Clock, grievance_id: int, actor: Actor, resolution: str) -> Grievance:
    """Record the resolution; the citizen is then asked whether it satisfies them."""
    resolution = required_text(resolution, "resolution")
    grievance = lock(session, grievance_id)
    grievance.resolved_at = move(session, clock, grievance, Action.RESOLVE, actor, resolution)
    grievance.resolution = resolution
    return grievance


def record_citizen_answer(
    session: Session,
    clock: Clock,
    grievance_id: int,
    actor: Actor,
    accepted: bool,
    reason: str | None = None,
) -> Grievance:
    """The citizen's answer to a resolution, from any channel: accepted closes the case,
    refused sends it to the next level with the citizen's reason."""
    grievance = lock(session, grievance_id)
    if accepted:
        grievance.closed_at = move(session, clock, grievance, Action.ACCEPT, actor, optional_text(reason))
        grievance.close_reason = CloseReason.ACCEPTED
    else:
        move(session, clock, grievance, Action.REFUSE, actor, required_text(reason, "reason"))
        grievance.resolved_at = None
        grievance.refusals += 1
    return grievance


# How a citizen may give an officer their answer to a resolution, outside the chat.
ANSWER_WAYS = ("in person", "by phone", "by letter")


def record_answer_heard(
    session: Session, clock: Clock, grievance_id: int, actor: Actor, accepted: bool, way: str, said: str | None
) -> Grievance:
    """A citizen's answer to a resolution that an officer heard in person, by phone or by
    letter (seed 000 section 1.2): the history keeps which officer recorded it, when and how
    it was given, and what the citizen said; a refusal escalates as in the chat."""
    if way not in ANSWER_WAYS:
        raise InvalidInput("way", "say how the citizen answered: " + ", ".join(ANSWER_WAYS))
    said = optional_text(said)
    if not accepted and said is None:
        raise InvalidInput("text", "a refusal needs the citizen's reason")
    answer = "accepted" if accepted else "refused"
    note = f"the citizen {answer} the resolution {way}" + (f": {said}" if said else "")
    return record_citizen_answer(session, clock, grievance_id, actor, accepted, note)


def reopen(session: Session, clock: Clock, grievance_id: int, actor: Actor, reason: str) -> Grievance:
    """Take a closed case up again, with the reason, within the project's window after its
    closing: at the level it closed at, held by its officer, with that level's time anew."""
    reason = required_text(reason, "reason")
    grievance = lock(session, grievance_id)
    window = timedelta(days=catalog(session).deadlines(grievance.project_id).reopen_days)
    if grievance.closed_at is not None and clock.now() > grievance.closed_at + window:
        raise InvalidInput("reason", f"closed more than {window.days} days ago: a new grievance is filed instead")
    grievance.level_entered_at = clock.now()
    move(session, clock, grievance, Action.REOPEN, actor, reason)
    grievance.closed_at = grievance.close_reason = grievance.resolved_at = grievance.resolution = None
    return grievance


def close_if_silent(session: Session, clock: Clock, grievance: Grievance, history: History | None = None) -> bool:
    """Close a resolved case whose citizen stayed silent for the project's auto-close period."""
    waited = timedelta(days=catalog(session).deadlines(grievance.project_id).auto_close_days)
    if grievance.status is not Status.RESOLVED or grievance.resolved_at is None:
        return False
    if clock.now() < grievance.resolved_at + waited:
        return False
    note = f"no answer {waited.days} days after the resolution"
    grievance.closed_at = move(session, clock, grievance, Action.AUTO_CLOSE, SYSTEM, note, history)
    grievance.close_reason = CloseReason.NO_ANSWER
    return True


def close_unanswered(session: Session, clock: Clock, grievance_id: int) -> Grievance:
    """Close one resolved case whose citizen stayed silent for the project's auto-close period."""
    grievance = lock(session, grievance_id)
    if not close_if_silent(session, clock, grievance):
        raise IllegalTransition(grievance.status.value, Action.AUTO_CLOSE.value)
    return grievance


def close_invalid(
    session: Session,
    clock: Clock,
    grievance_id: int,
    actor: Actor,
    reason: str,
    duplicate_of: str | None = None,
) -> Grievance:
    """Close an open case as invalid, or as a duplicate of another reference. A contractor
    only proposes it (ticketing.cases.reviews)."""
    reason = required_text(reason, "reason")
    officer = session.get(Officer, actor.officer_id) if actor.officer_id else None
    if officer is not None and officer.role in CLOSE_INVALID_WITH_APPROVAL:
        raise InvalidInput("reason", "a contractor proposes closing a case as invalid; a level-2 officer decides")
    grievance = lock(session, grievance_id)
    if duplicate_of is not None:
        original = session.scalar(select(Grievance).where(Grievance.reference == normalise_reference(duplicate_of)))
        if original is None or original.id == grievance.id:
            raise InvalidInput("duplicate_of", "no other grievance has this reference")
        grievance.duplicate_of_id = original.id
    grievance.closed_at = move(session, clock, grievance, Action.CLOSE_INVALID, actor, reason)
    grievance.close_reason = CloseReason.DUPLICATE if duplicate_of else CloseReason.INVALID
    return grievance


def add_note(
    session: Session,
    clock: Clock,
    grievance_id: int,
    actor: Actor,
    body: str,
    visibility: NoteVisibility = NoteVisibility.INTERNAL,
) -> Note:
    """Comment on a case; public notes are the ones the citizen may read (and writes: a
    citizen's message is a public note of theirs)."""
    body = required_text(body, "body")
    grievance = session.get(Grievance, grievance_id)
    if grievance is None:
        raise NotFound("grievance", grievance_id)
    now = clock.now()
    note = Note(
        grievance_id=grievance.id,
        created_at=now,
        visibility=visibility,
        author_kind=actor.kind,
        author_officer_id=actor.officer_id,
        body=body,
    )
    session.add(note)
    audit(session, now, actor, "add_note", grievance, {"visibility": visibility.value})
    if visibility is NoteVisibility.PUBLIC:
        session.flush()
        # The citizen's own message goes to the holder; an officer's public note to the citizen.
        if actor.kind is ActorKind.CITIZEN:
            queue_citizen_message(session, now, grievance, note.id)
        else:
            queue_public_note(session, now, grievance, note.id)
    return note
