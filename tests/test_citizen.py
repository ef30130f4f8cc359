"""The citizen's side: looking a case up, the brute-force guard, answering a resolution."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers import FakeClock, file
from ticketing.cases.moves import acknowledge, resolve
from ticketing.cases.records import Actor
from ticketing.citizen import (
    LOOKUP_WINDOW,
    MAX_FAILURES_PER_REFERENCE,
    MAX_FAILURES_PER_REQUESTER,
    TooManyAttempts,
    answer_link_token,
    answer_resolution,
    grievance_for_link,
    look_up,
)
from ticketing.errors import InvalidInput
from ticketing.lifecycle import Status
from ticketing.store.case_models import Grievance
from ticketing.store.db import Store

PHONE = "9841234567"


def resolved(store: Store, clock: FakeClock) -> Grievance:
    grievance = file(store, clock)
    with store.sessions.begin() as session:
        acknowledge(session, clock, grievance.id, Actor.officer(1))
        return resolve(session, clock, grievance.id, Actor.officer(1), "Water is sprayed twice a day now.")


def attempt(store: Store, clock: FakeClock, reference: str, phone: str, requester: str = "webchat:a") -> bool:
    with store.sessions.begin() as session:
        return look_up(session, clock, reference, phone, requester) is not None


def test_the_right_pair_finds_the_case_in_any_writing(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    typed = grievance.reference.lower().replace("-", " ")
    with demo.sessions.begin() as session:
        found = look_up(session, clock, typed, "+977 984-123-4567", "webchat:a")
    assert found is not None
    assert (found.reference, found.status, found.level, found.project_code) == (
        grievance.reference,
        Status.NEW,
        1,
        "KKR-01",
    )
    assert found.due_at == grievance.due_at and not found.awaits_answer


def test_a_wrong_half_finds_nothing(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    assert not attempt(demo, clock, grievance.reference, "9851111111")
    assert not attempt(demo, clock, "GR-0000-0000", PHONE)
    assert not attempt(demo, clock, "not a reference", "not a phone")


def test_a_conversation_that_keeps_failing_is_stopped_for_a_while(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    for n in range(MAX_FAILURES_PER_REQUESTER):
        assert not attempt(demo, clock, f"GR-0000-000{n}", PHONE)
    # Even the right pair is refused while the guard holds, so it reveals nothing.
    with pytest.raises(TooManyAttempts) as refused:
        attempt(demo, clock, grievance.reference, PHONE)
    assert timedelta(0) < refused.value.retry_after <= LOOKUP_WINDOW
    assert attempt(demo, clock, grievance.reference, PHONE, requester="webchat:b")
    clock.advance(seconds=LOOKUP_WINDOW.total_seconds() + 1)
    assert attempt(demo, clock, grievance.reference, PHONE)


def test_guessing_one_references_phone_from_many_conversations_is_stopped(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    for n in range(MAX_FAILURES_PER_REFERENCE):
        assert not attempt(demo, clock, grievance.reference, f"98510000{n:02d}", requester=f"webchat:{n}")
    with pytest.raises(TooManyAttempts):
        attempt(demo, clock, grievance.reference, PHONE, requester="webchat:new")


def test_accepting_closes_with_the_rating(demo: Store, clock: FakeClock) -> None:
    grievance = resolved(demo, clock)
    with demo.sessions.begin() as session:
        answered = answer_resolution(session, clock, grievance.id, accepted=True, rating=4)
    assert answered.status is Status.CLOSED
    with demo.sessions() as session:
        assert session.get(Grievance, grievance.id).satisfaction == 4  # type: ignore[union-attr]


def test_refusing_sends_the_case_up_a_level(demo: Store, clock: FakeClock) -> None:
    grievance = resolved(demo, clock)
    with demo.sessions.begin() as session:
        answered = answer_resolution(session, clock, grievance.id, accepted=False, reason="Still dusty at night.")
    assert (answered.status, answered.level) == (Status.ESCALATED, 2)


def test_a_rating_outside_one_to_five_is_refused(demo: Store, clock: FakeClock) -> None:
    grievance = resolved(demo, clock)
    with pytest.raises(InvalidInput, match="rating"), demo.sessions.begin() as session:
        answer_resolution(session, clock, grievance.id, accepted=True, rating=9)


def test_the_answer_link_opens_only_its_own_case_until_it_expires(demo: Store, clock: FakeClock) -> None:
    grievance = resolved(demo, clock)
    other = file(demo, clock, phone="9851111111")
    token = answer_link_token(grievance, clock.now())
    with demo.sessions() as session:
        found = grievance_for_link(session, token, clock.now())
        assert found is not None and found.reference == grievance.reference and found.awaits_answer
        forged = token.replace(grievance.reference, other.reference)
        assert grievance_for_link(session, forged, clock.now()) is None
        assert grievance_for_link(session, token[:-2], clock.now()) is None
        assert grievance_for_link(session, "garbage", clock.now()) is None
        assert grievance_for_link(session, token, clock.now() + timedelta(days=31)) is None
