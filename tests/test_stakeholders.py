"""Stakeholders of a project's levels (seed 000 section 4.2): set on their screen, told per
the notification matrix like the officers of their level, never of a gender case."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.helpers import PASSWORD, FakeClock, client_for, file, make_jobs, outbox_file, sign_in
from tests.test_configuration import submit
from ticketing.citizen import add_to_case
from ticketing.store.case_models import Notification
from ticketing.store.db import Store
from ticketing.store.models import Project, Stakeholder
from ticketing.store.vocabulary import Audience

ADMIN = "admin@grm.example"


def add_stakeholders(store: Store, clock: FakeClock) -> None:
    with store.sessions.begin() as session:
        project_id = session.scalar(select(Project.id).where(Project.code == "KKR-01"))
        assert project_id is not None
        for level, name, role, email, phone in (
            (1, "Bikash Shrestha", "contractor's site engineer", "bikash@contractor.example", None),
            (1, "Gita Rai", "affected persons' representative", None, "+9779851111111"),
            (2, "Ramesh KC", "supervision consultant (CSC)", "ramesh@csc.example", "+9779852222222"),
        ):
            session.add(
                Stakeholder(
                    project_id=project_id,
                    level=level,
                    name=name,
                    role=role,
                    email=email,
                    phone=phone,
                    created_at=clock.now(),
                )
            )


def told(store: Store) -> set[tuple[str, str, str, bool]]:
    """(event, stakeholder, channel, for action) of every row queued for a stakeholder."""
    with store.sessions() as session:
        names = dict(session.execute(select(Stakeholder.id, Stakeholder.name)).tuples().all())
        rows = session.scalars(select(Notification).where(Notification.audience == Audience.STAKEHOLDER)).all()
        return {(r.template, names[r.payload["stakeholder"]], r.channel.value, r.for_action) for r in rows}


def test_each_levels_stakeholders_hear_what_its_officers_hear(demo: Store, clock: FakeClock) -> None:
    add_stakeholders(demo, clock)
    jobs = make_jobs(demo, clock)
    grievance = file(demo, clock)
    jobs.plan()
    # A new case: level 1 for action, level 2 for information; e-mail when there is one, else SMS.
    assert told(demo) == {
        ("received", "Bikash Shrestha", "email", True),
        ("received", "Gita Rai", "sms", True),
        ("received", "Ramesh KC", "email", False),
    }
    jobs.dispatch()
    sent = [json.loads(line) for line in outbox_file(demo).read_text().splitlines()]
    to_gita = [m for m in sent if m["to"] == "+9779851111111"]
    assert [m["subject"] for m in to_gita] == [f"[GRM] For action: new grievance {grievance.reference}"]
    assert "Dust from the trucks" in to_gita[0]["body"]


def test_stakeholders_never_hear_of_a_gender_case_nor_once_inactive(demo: Store, clock: FakeClock) -> None:
    add_stakeholders(demo, clock)
    jobs = make_jobs(demo, clock)
    file(demo, clock, category_code="gender", name=None, phone=None, email=None)
    jobs.plan()
    assert told(demo) == set()
    file(demo, clock)
    jobs.plan()
    with demo.sessions.begin() as session:
        for stakeholder in session.scalars(select(Stakeholder)):
            stakeholder.active = False
    assert jobs.dispatch() >= 1
    with demo.sessions() as session:
        states = session.scalars(
            select(Notification.last_error).where(Notification.audience == Audience.STAKEHOLDER)
        ).all()
    assert set(states) == {"the stakeholder is no longer active"}


def test_an_administrator_adds_a_stakeholder_with_a_checked_address(demo: Store) -> None:
    client = client_for(demo)
    assert sign_in(client, ADMIN, PASSWORD) == 302
    with demo.sessions() as session:
        project_id = session.scalar(select(Project.id).where(Project.code == "KKR-01"))
    form = {"project": str(project_id), "level": "2", "name": "Laxmi Thapa", "role": "GRC member", "active": "y"}
    refused = submit(client, "stakeholders", form)
    assert "give an e-mail address, a mobile number or both" in refused
    wrong = submit(client, "stakeholders", form | {"phone": "12345"})
    assert "not a" in wrong
    submit(client, "stakeholders", form | {"phone": "९८५१२३४५६७", "email": "Laxmi@Example.org"})
    with demo.sessions() as session:
        added = session.scalars(select(Stakeholder)).one()
        assert (added.phone, added.email, added.level) == ("+9779851234567", "Laxmi@example.org", 2)
    listed = client.get("/admin/stakeholders/").get_data(as_text=True)
    assert "Laxmi Thapa" in listed and "GRC member" in listed


def test_stakeholders_hear_the_matrix_events_not_the_officers_work(demo: Store, clock: FakeClock) -> None:
    add_stakeholders(demo, clock)
    grievance = file(demo, clock)
    with demo.sessions.begin() as session:
        add_to_case(session, clock, grievance.id, "The dust is worse today.")
    clock.advance(hours=25)
    jobs = make_jobs(demo, clock)
    jobs.escalate()
    jobs.plan()
    assert {event for event, *_ in told(demo)} == {"received", "escalated"}
    assert ("escalated", "Ramesh KC", "email", True) in told(demo)  # level 2 now acts
