"""Stakeholders of a project's levels (seed 000 section 4.2): set on their screen, told per
the notification matrix like the officers of their level, never of a gender or integrity case."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Browser
from sqlalchemy import select, update

from admin_app import create_app
from tests.browser import SIDEWAYS, Screenshot, live_server, sign_in_page
from tests.helpers import PASSWORD, FakeClock, client_for, file, make_jobs, outbox_file, sign_in
from tests.test_configuration import submit
from ticketing.citizen import add_to_case
from ticketing.store.case_models import Grievance, Notification
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


def test_stakeholders_never_hear_of_a_confidential_case_nor_once_inactive(demo: Store, clock: FakeClock) -> None:
    add_stakeholders(demo, clock)
    jobs = make_jobs(demo, clock)
    file(demo, clock, category_code="gender", name=None, phone=None, email=None)
    file(demo, clock, category_code="integrity.funds", name=None, phone=None, email=None)
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


@pytest.mark.parametrize("width", [360, 1280])
def test_the_new_screens_fit_a_phone_and_a_desktop(
    demo: Store, clock: FakeClock, chromium: Browser, screenshot: Screenshot, width: int
) -> None:
    """Stakeholders (list and form), a case whose number is not verified, and an integrity
    case as the project director sees it, without sideways scrolling."""
    add_stakeholders(demo, clock)
    unproven = file(demo, clock)
    with demo.sessions.begin() as session:
        session.execute(update(Grievance).where(Grievance.id == unproven.id).values(phone_verified=False))
    bribery = file(demo, clock, category_code="integrity.bribery", details="The surveyor asked for 20,000 rupees.")
    app = create_app({"GRM_STORE": demo, "SECRET_KEY": "test-secret"})
    context = chromium.new_context(viewport={"width": width, "height": 800}, is_mobile=width < 600)
    page = context.new_page()
    try:
        with live_server(app) as base_url:
            sign_in_page(page, base_url, ADMIN, PASSWORD)
            page.goto(f"{base_url}/admin/stakeholders/")
            assert page.locator("text=Gita Rai").count() == 1
            assert page.evaluate(SIDEWAYS) == 0
            screenshot(page, f"backoffice-stakeholders-{width}px")
            page.goto(f"{base_url}/admin/stakeholders/new/")
            assert page.locator("#name").is_visible() and page.evaluate(SIDEWAYS) == 0
            screenshot(page, f"backoffice-stakeholder-form-{width}px")
            page.goto(f"{base_url}/admin/grievance/case/{unproven.id}")
            assert page.locator("text=number not verified").count() == 1
            assert page.evaluate(SIDEWAYS) == 0
            screenshot(page, f"backoffice-case-unverified-{width}px")
            sign_in_page(page, base_url, "director@grm.example", PASSWORD)
            page.goto(f"{base_url}/admin/grievance/case/{bribery.id}")
            assert page.locator("text=The surveyor asked for 20,000 rupees.").count() == 1
            assert page.locator(".badge-danger", has_text="integrity").count() == 1
            assert page.evaluate(SIDEWAYS) == 0
            screenshot(page, f"backoffice-case-integrity-{width}px")
    finally:
        context.close()
