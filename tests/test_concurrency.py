"""Two units of work escalating one ticket at the same moment record one escalation."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from tests.helpers import FakeClock, file
from ticketing.cases.moves import escalate
from ticketing.cases.records import SYSTEM, Actor
from ticketing.errors import ConcurrentChange
from ticketing.lifecycle import Action
from ticketing.store.case_models import Grievance, StatusChange
from ticketing.store.db import Store


def test_simultaneous_escalations_record_exactly_one(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    clock.advance(days=3)
    both_inside = threading.Barrier(2)
    outcomes: list[str] = []

    def escalate_and_linger(actor: Actor) -> None:
        both_inside.wait()
        try:
            with demo.sessions.begin() as session:
                escalate(session, clock, grievance.id, actor, "overdue", from_level=1)
                # Hold the row lock long enough that the other unit must wait on it.
                time.sleep(0.3)
            outcomes.append("escalated")
        except ConcurrentChange:
            outcomes.append("refused")

    # The scheduler's automatic escalation and an officer's manual one, at once.
    threads = [threading.Thread(target=escalate_and_linger, args=(actor,)) for actor in (SYSTEM, Actor.officer(2))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["escalated", "refused"]
    assert time.monotonic() - started >= 0.3
    with demo.sessions() as session:
        escalations = session.scalar(
            select(func.count()).where(
                StatusChange.grievance_id == grievance.id, StatusChange.action == Action.ESCALATE
            )
        )
        level = session.scalar(select(Grievance.level).where(Grievance.id == grievance.id))
    assert (escalations, level) == (1, 2)
