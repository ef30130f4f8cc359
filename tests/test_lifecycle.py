"""Every move of the transition table, through the real services, on each backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.helpers import FakeClock, count, file, history
from ticketing.cases.moves import (
    acknowledge,
    add_note,
    assign,
    close_invalid,
    close_unanswered,
    escalate,
    record_citizen_answer,
    reopen,
    resolve,
)
from ticketing.cases.records import CITIZEN, SYSTEM, Actor
from ticketing.errors import ConcurrentChange, HistoryIsAppendOnly, IllegalTransition, InvalidInput
from ticketing.lifecycle import TOP_LEVEL, TRANSITIONS, Action, Status, next_status
from ticketing.store.case_models import AuditLog, Grievance, Note, StatusChange
from ticketing.store.db import Store
from ticketing.store.vocabulary import ActorKind, CloseReason, NoteVisibility

OFFICER = Actor.officer(1)
Mover = Callable[[Session, FakeClock, Grievance], object]


def _assign_to_current(session: Session, clock: FakeClock, grievance: Grievance) -> object:
    # The demo's level-1 site officer of KKR-01 (id 2) is always a legal target here.
    return assign(session, clock, grievance.id, OFFICER, officer_id=2 if grievance.level == 1 else 6)


def _auto_close(session: Session, clock: FakeClock, grievance: Grievance) -> object:
    clock.advance(days=7)
    return close_unanswered(session, clock, grievance.id)


MOVES: dict[Action, Mover] = {
    Action.ACKNOWLEDGE: lambda s, c, g: acknowledge(s, c, g.id, OFFICER),
    Action.ASSIGN: _assign_to_current,
    Action.ESCALATE: lambda s, c, g: escalate(s, c, g.id, OFFICER, "stakeholder asked", from_level=g.level),
    Action.RESOLVE: lambda s, c, g: resolve(s, c, g.id, OFFICER, "Water is sprayed twice a day now."),
    Action.ACCEPT: lambda s, c, g: record_citizen_answer(s, c, g.id, CITIZEN, accepted=True),
    Action.REFUSE: lambda s, c, g: record_citizen_answer(s, c, g.id, CITIZEN, accepted=False, reason="still dusty"),
    Action.AUTO_CLOSE: _auto_close,
    Action.CLOSE_INVALID: lambda s, c, g: close_invalid(s, c, g.id, OFFICER, "not about the project"),
    Action.REOPEN: lambda s, c, g: reopen(s, c, g.id, OFFICER, "The dust is back."),
}

# How to bring a freshly filed case into each status.
PATHS: dict[Status, list[Action]] = {
    Status.NEW: [],
    Status.IN_PROGRESS: [Action.ACKNOWLEDGE],
    Status.ESCALATED: [Action.ESCALATE],
    Status.RESOLVED: [Action.ACKNOWLEDGE, Action.RESOLVE],
    Status.CLOSED: [Action.ACKNOWLEDGE, Action.RESOLVE, Action.ACCEPT],
}


def apply(store: Store, clock: FakeClock, grievance_id: int, action: Action) -> Grievance:
    with store.sessions.begin() as session:
        grievance = session.get(Grievance, grievance_id)
        assert grievance is not None
        MOVES[action](session, clock, grievance)
    with store.sessions() as session:
        reloaded = session.get(Grievance, grievance_id)
        assert reloaded is not None
        return reloaded


def case_in(store: Store, clock: FakeClock, status: Status) -> Grievance:
    grievance = file(store, clock)
    for action in PATHS[status]:
        clock.advance(hours=1)
        grievance = apply(store, clock, grievance.id, action)
    assert grievance.status is status
    return grievance


@pytest.mark.parametrize(("start", "action"), list(TRANSITIONS), ids=lambda v: v.value)
def test_every_legal_move(demo: Store, clock: FakeClock, start: Status, action: Action) -> None:
    before = case_in(demo, clock, start)
    steps_before = len(history(demo, before.id))
    clock.advance(hours=1)

    after = apply(demo, clock, before.id, action)

    assert after.status is TRANSITIONS[(start, action)]
    steps = history(demo, before.id)
    assert len(steps) == steps_before + 1
    last = steps[-1]
    assert (last.action, last.from_status, last.to_status) == (action, start, after.status)
    assert (last.from_level, last.to_level) == (before.level, after.level)
    assert last.at == clock.now()
    with demo.sessions() as session:
        audit = session.scalars(select(AuditLog).where(AuditLog.grievance_id == before.id).order_by(AuditLog.id)).all()
    assert audit[-1].action == action.value and audit[-1].at == clock.now()


ILLEGAL = [(status, action) for status in Status for action in MOVES if (status, action) not in TRANSITIONS]


@pytest.mark.parametrize(("start", "action"), ILLEGAL, ids=lambda v: v.value)
def test_every_illegal_move_is_refused_and_writes_nothing(
    demo: Store, clock: FakeClock, start: Status, action: Action
) -> None:
    grievance = case_in(demo, clock, start)
    steps = len(history(demo, grievance.id))
    with pytest.raises(IllegalTransition):
        apply(demo, clock, grievance.id, action)
    assert len(history(demo, grievance.id)) == steps
    with demo.sessions() as session:
        assert session.get(Grievance, grievance.id).status is start  # type: ignore[union-attr]


def test_the_table_names_every_status_and_action() -> None:
    assert {status for status, _ in TRANSITIONS} == set(Status)
    assert {action for _, action in TRANSITIONS} == set(Action) - {Action.FILE}
    assert set(MOVES) == set(Action) - {Action.FILE}


def test_no_escalation_beyond_the_top_level() -> None:
    with pytest.raises(IllegalTransition):
        next_status(Status.ESCALATED, Action.ESCALATE, TOP_LEVEL)
    assert next_status(Status.RESOLVED, Action.REFUSE, TOP_LEVEL) is Status.ESCALATED


def test_a_case_climbs_all_four_levels_and_stops(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    for level in (1, 2, 3):
        clock.advance(days=20)
        grievance = apply(demo, clock, grievance.id, Action.ESCALATE)
        assert grievance.level == level + 1
    with pytest.raises(IllegalTransition):
        apply(demo, clock, grievance.id, Action.ESCALATE)
    # At the top the legal route may still resolve, and a refusal keeps it there.
    grievance = apply(demo, clock, grievance.id, Action.RESOLVE)
    grievance = apply(demo, clock, grievance.id, Action.REFUSE)
    assert (grievance.status, grievance.level) == (Status.ESCALATED, TOP_LEVEL)


def test_filing_is_the_first_step_of_the_history(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    [first] = history(demo, grievance.id)
    assert (first.action, first.from_status, first.to_status, first.to_level) == (Action.FILE, None, Status.NEW, 1)
    assert first.actor_kind is ActorKind.CITIZEN
    assert first.assignee_id == grievance.assignee_id is not None


def test_refusal_sends_the_case_up_with_the_citizens_reason(demo: Store, clock: FakeClock) -> None:
    grievance = case_in(demo, clock, Status.RESOLVED)
    grievance = apply(demo, clock, grievance.id, Action.REFUSE)
    assert (grievance.status, grievance.level) == (Status.ESCALATED, 2)
    assert history(demo, grievance.id)[-1].note == "still dusty"
    with demo.sessions.begin() as session, pytest.raises(InvalidInput):
        g = session.get(Grievance, grievance.id)
        record_citizen_answer(session, clock, g.id, CITIZEN, accepted=False, reason="  ")  # type: ignore[union-attr]


def test_acceptance_and_silence_close_with_their_reasons(demo: Store, clock: FakeClock) -> None:
    accepted = apply(demo, clock, case_in(demo, clock, Status.RESOLVED).id, Action.ACCEPT)
    assert accepted.close_reason is CloseReason.ACCEPTED and accepted.closed_at == clock.now()
    silent = case_in(demo, clock, Status.RESOLVED)
    clock.advance(days=6, hours=23)
    with demo.sessions.begin() as session, pytest.raises(IllegalTransition):
        close_unanswered(session, clock, silent.id)
    closed = apply(demo, clock, silent.id, Action.AUTO_CLOSE)
    assert closed.close_reason is CloseReason.NO_ANSWER
    assert history(demo, silent.id)[-1].actor_kind is ActorKind.SYSTEM


def test_reasons_and_resolutions_are_required(demo: Store, clock: FakeClock) -> None:
    grievance = case_in(demo, clock, Status.IN_PROGRESS)
    with demo.sessions.begin() as session:
        with pytest.raises(InvalidInput, match="resolution"):
            resolve(session, clock, grievance.id, OFFICER, " ")
        with pytest.raises(InvalidInput, match="reason"):
            escalate(session, clock, grievance.id, OFFICER, "", from_level=1)
        with pytest.raises(InvalidInput, match="reason"):
            close_invalid(session, clock, grievance.id, OFFICER, "")
    assert len(history(demo, grievance.id)) == 2


def test_close_as_duplicate_points_at_the_original(demo: Store, clock: FakeClock) -> None:
    original = file(demo, clock)
    copy = file(demo, clock)
    with demo.sessions.begin() as session:
        with pytest.raises(InvalidInput):
            close_invalid(session, clock, copy.id, OFFICER, "same case", duplicate_of="GR-0000-0000")
        with pytest.raises(InvalidInput):
            close_invalid(session, clock, copy.id, OFFICER, "same case", duplicate_of=copy.reference)
        closed = close_invalid(session, clock, copy.id, OFFICER, "same case", duplicate_of=original.reference.lower())
        assert (closed.close_reason, closed.duplicate_of_id) == (CloseReason.DUPLICATE, original.id)


def test_stale_escalation_is_refused(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    apply(demo, clock, grievance.id, Action.ESCALATE)
    with demo.sessions.begin() as session, pytest.raises(ConcurrentChange):
        escalate(session, clock, grievance.id, SYSTEM, "overdue", from_level=1)


def test_assign_checks_the_officer(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    with demo.sessions.begin() as session:
        with pytest.raises(InvalidInput, match="project"):
            assign(session, clock, grievance.id, OFFICER, officer_id=4)  # NBR-02's site officer
        with pytest.raises(InvalidInput, match="officer"):
            assign(session, clock, grievance.id, OFFICER, officer_id=999)
    gender_case = file(demo, clock, category_code="gender.harassment")
    with demo.sessions.begin() as session, pytest.raises(InvalidInput, match="gender"):
        assign(session, clock, gender_case.id, OFFICER, officer_id=2)


def test_notes_are_kept_with_their_visibility_and_audited(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    with demo.sessions.begin() as session:
        add_note(session, clock, grievance.id, OFFICER, "Called the contractor.")
        add_note(session, clock, grievance.id, OFFICER, "Water truck comes Monday.", NoteVisibility.PUBLIC)
        with pytest.raises(InvalidInput):
            add_note(session, clock, grievance.id, OFFICER, "   ")
    with demo.sessions() as session:
        notes = session.scalars(select(Note).where(Note.grievance_id == grievance.id).order_by(Note.id)).all()
    assert [n.visibility for n in notes] == [NoteVisibility.INTERNAL, NoteVisibility.PUBLIC]
    assert count(demo, AuditLog, grievance_id=grievance.id, action="add_note") == 2


def test_history_cannot_be_rewritten(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    with pytest.raises(HistoryIsAppendOnly), demo.sessions.begin() as session:
        step = session.scalars(select(StatusChange).where(StatusChange.grievance_id == grievance.id)).one()
        step.note = "edited"
        session.flush()
    with pytest.raises(HistoryIsAppendOnly), demo.sessions.begin() as session:
        session.delete(session.scalars(select(AuditLog)).first())
        session.flush()
