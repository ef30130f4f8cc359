"""Deadlines with a clock that stands still: response, each level, overrides, overdue list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.helpers import START, FakeClock, file
from ticketing.cases.lookups import list_overdue
from ticketing.cases.moves import acknowledge, escalate, resolve
from ticketing.cases.records import SYSTEM, Actor
from ticketing.store.db import Store
from ticketing.store.models import Category, Project, SlaPolicy

OFFICER = Actor.officer(2)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def test_new_case_must_be_answered_within_24_hours(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    assert grievance.due_at == START + 24 * HOUR


def test_level_deadlines_count_from_entering_the_level(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    clock.advance(hours=20)
    with demo.sessions.begin() as session:
        g = acknowledge(session, clock, grievance.id, OFFICER)
        assert g.due_at == START + 2 * DAY  # level 1: two days from filing
    clock.advance(days=3)
    expected = {2: 7 * DAY, 3: 15 * DAY, 4: None}
    for level in (2, 3, 4):
        entered = clock.now()
        with demo.sessions.begin() as session:
            g = escalate(session, clock, grievance.id, SYSTEM, "overdue", from_level=level - 1)
        limit = expected[level]
        assert g.due_at == (None if limit is None else entered + limit)
        # Taking the case over at the new level does not restart its clock.
        clock.advance(hours=5)
        with demo.sessions.begin() as session:
            assert acknowledge(session, clock, grievance.id, OFFICER).due_at == g.due_at
        clock.advance(days=30)


def test_resolved_cases_have_no_running_deadline(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    with demo.sessions.begin() as session:
        acknowledge(session, clock, grievance.id, OFFICER)
        assert resolve(session, clock, grievance.id, OFFICER, "Fixed.").due_at is None


def test_project_policy_sets_its_own_deadlines(demo: Store, clock: FakeClock) -> None:
    with demo.sessions.begin() as session:
        project_id = session.scalar(select(Project.id).where(Project.code == "KKR-01"))
        session.execute(
            update(SlaPolicy).where(SlaPolicy.project_id == project_id).values(response_hours=12, level_1_hours=24)
        )
    grievance = file(demo, clock)
    assert grievance.due_at == START + 12 * HOUR
    with demo.sessions.begin() as session:
        assert acknowledge(session, clock, grievance.id, OFFICER).due_at == START + 24 * HOUR


@pytest.mark.parametrize(
    ("parent_hours", "child_hours", "expected"),
    [(None, None, 48), (12, None, 12), (12, 6, 6), (None, 30, 30)],
    ids=["policy", "inherited-from-parent", "child-overrides-parent", "child-only"],
)
def test_category_overrides_are_inherited_down_the_tree(
    demo: Store, clock: FakeClock, parent_hours: int | None, child_hours: int | None, expected: int
) -> None:
    with demo.sessions.begin() as session:
        session.execute(update(Category).where(Category.code == "environment").values(level_1_hours=parent_hours))
        session.execute(update(Category).where(Category.code == "environment.dust").values(level_1_hours=child_hours))
    grievance = file(demo, clock)
    with demo.sessions.begin() as session:
        assert acknowledge(session, clock, grievance.id, OFFICER).due_at == START + expected * HOUR


def test_overdue_list_at_a_given_time(demo: Store, clock: FakeClock) -> None:
    first = file(demo, clock)
    clock.advance(hours=2)
    second = file(demo, clock)
    answered = file(demo, clock)
    with demo.sessions.begin() as session:
        acknowledge(session, clock, answered.id, OFFICER)
        resolve(session, clock, answered.id, OFFICER, "Done.")
    with demo.sessions() as session:
        assert list_overdue(session, START + 24 * HOUR - timedelta(seconds=1)) == []
        # A deadline that falls exactly now counts as missed.
        assert [t.id for t in list_overdue(session, START + 24 * HOUR)] == [first.id]
        overdue = list_overdue(session, START + 30 * HOUR)
        assert [t.reference for t in overdue] == [first.reference, second.reference]
        assert overdue[0].level == 1 and overdue[0].due_at == START + 24 * HOUR
        assert [t.id for t in list_overdue(session, START + 30 * HOUR, limit=1)] == [first.id]
