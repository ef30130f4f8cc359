"""After a resolution (issue 18, point 7): a citizen's answer given to an officer in person,
by phone or by letter (seed 000 section 1.2), recorded in the backoffice or the API and kept
in the history with who recorded it and how it was given, a refusal escalating as in the
chat; and a closed case reopened with a reason within the project's window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, true

from tests.helpers import FakeClock, client_for, csrf_token, file, history, make_jobs, officer_by_email, sign_in
from ticketing.accounts import issue_api_token
from ticketing.cases.moves import acknowledge, record_answer_heard, reopen, resolve
from ticketing.cases.records import Actor
from ticketing.citizen import answer_resolution
from ticketing.clock import SystemClock
from ticketing.errors import InvalidInput
from ticketing.lifecycle import Action, Status
from ticketing.reporting.analytics import Period, build_dashboard
from ticketing.reporting.satisfaction import satisfaction_table
from ticketing.store.case_models import Grievance, Notification
from ticketing.store.db import Store
from ticketing.store.models import Officer
from ticketing.store.vocabulary import ActorKind, Audience, CloseReason

SITE = "site.kkr@grm.example"
MANAGER = "manager.kkr@grm.example"


def resolved(store: Store, clock: FakeClock) -> Grievance:
    case = file(store, clock)
    site = Actor.officer(officer_by_email(store, SITE))
    with store.sessions.begin() as session:
        acknowledge(session, clock, case.id, site)
        resolve(session, clock, case.id, site, "The road is watered twice a day.")
    return case


def test_an_acceptance_in_person_closes_the_case_with_who_and_how(demo: Store, clock: FakeClock) -> None:
    case = resolved(demo, clock)
    site = Actor.officer(officer_by_email(demo, SITE))
    with demo.sessions.begin() as session:
        closed = record_answer_heard(session, clock, case.id, site, True, "in person", "Happy with the watering.")
        assert (closed.status, closed.close_reason) == (Status.CLOSED, CloseReason.ACCEPTED)
    last = history(demo, case.id)[-1]
    assert (last.action, last.actor_kind, last.actor_officer_id) == (Action.ACCEPT, ActorKind.OFFICER, site.officer_id)
    assert last.note == "the citizen accepted the resolution in person: Happy with the watering."


def test_a_refusal_by_phone_needs_its_reason_and_escalates_telling_the_citizen(demo: Store, clock: FakeClock) -> None:
    case = resolved(demo, clock)
    site = Actor.officer(officer_by_email(demo, SITE))
    with pytest.raises(InvalidInput, match="reason"), demo.sessions.begin() as session:
        record_answer_heard(session, clock, case.id, site, False, "by phone", "  ")
    with pytest.raises(InvalidInput, match="in person, by phone, by letter"), demo.sessions.begin() as session:
        record_answer_heard(session, clock, case.id, site, False, "by pigeon", "Still dusty.")
    with demo.sessions.begin() as session:
        refused = record_answer_heard(session, clock, case.id, site, False, "by phone", "Still dusty at night.")
        assert (refused.status, refused.level, refused.resolved_at) == (Status.ESCALATED, 2, None)
    assert history(demo, case.id)[-1].note == "the citizen refused the resolution by phone: Still dusty at night."
    make_jobs(demo, clock).plan()
    with demo.sessions() as session:
        told = session.scalars(
            select(Notification.template).where(
                Notification.grievance_id == case.id, Notification.audience == Audience.CITIZEN
            )
        ).all()
    assert "escalated" in told  # it was an officer who heard the refusal, so the citizen is told


def test_the_backoffice_and_the_api_record_the_answer_of_a_resolved_case_only(demo: Store, clock: FakeClock) -> None:
    waiting, resolved_case = file(demo, clock), resolved(demo, clock)
    client = client_for(demo)
    assert sign_in(client, SITE) == 302
    assert 'data-testid="move-citizen_answer"' not in client.get(f"/admin/grievance/case/{waiting.id}").get_data(
        as_text=True
    )
    assert 'data-testid="move-citizen_answer"' in client.get(f"/admin/grievance/case/{resolved_case.id}").get_data(
        as_text=True
    )
    form = {
        "csrf_token": csrf_token(client, f"/admin/grievance/case/{resolved_case.id}"),
        "answer": "refused",
        "way": "by letter",
        "text": "The dust is back.",
    }
    assert client.post(f"/admin/grievance/case/{resolved_case.id}/citizen_answer", data=form).status_code == 302
    # Now at level 2, the case has left the site officer's sight; its history says why.
    assert history(demo, resolved_case.id)[-1].note == "the citizen refused the resolution by letter: The dust is back."

    again = resolved(demo, clock)
    with demo.sessions.begin() as session:
        manager = session.scalars(select(Officer).where(Officer.email == "manager.kkr@grm.example")).one()
        bearer = {"Authorization": f"Bearer {issue_api_token(session, SystemClock(), manager, 'answers')}"}
    answered = client.post(
        f"/api/v1/tickets/{again.reference}/citizen_answer",
        json={"answer": "accepted", "way": "in person"},
        headers=bearer,
    )
    assert answered.status_code == 200 and answered.get_json()["status"] == "closed"
    late = client.post(
        f"/api/v1/tickets/{again.reference}/citizen_answer",
        json={"answer": "refused", "way": "in person", "text": "x"},
        headers=bearer,
    )
    assert late.status_code == 409  # a closed case takes no answer


def closed(store: Store, clock: FakeClock) -> Grievance:
    case = resolved(store, clock)
    with store.sessions.begin() as session:
        record_answer_heard(
            session, clock, case.id, Actor.officer(officer_by_email(store, SITE)), True, "by phone", None
        )
    return case


def test_a_closed_case_is_reopened_with_a_reason_within_the_window(demo: Store, clock: FakeClock) -> None:
    case = closed(demo, clock)
    manager = Actor.officer(officer_by_email(demo, "manager.kkr@grm.example"))
    clock.advance(days=29)
    with pytest.raises(InvalidInput, match="reason"), demo.sessions.begin() as session:
        reopen(session, clock, case.id, manager, " ")
    with demo.sessions.begin() as session:
        again = reopen(session, clock, case.id, manager, "The trucks are back and so is the dust.")
        assert (again.status, again.level, again.closed_at, again.close_reason) == (Status.IN_PROGRESS, 1, None, None)
        assert (again.resolved_at, again.resolution, again.level_entered_at) == (None, None, clock.now())
        assert again.due_at is not None and again.due_at > clock.now()  # its level's time anew
    last = history(demo, case.id)[-1]
    assert (last.action, last.note) == (Action.REOPEN, "The trucks are back and so is the dust.")
    make_jobs(demo, clock).plan()
    with demo.sessions() as session:
        told = session.execute(
            select(Notification.audience, Notification.template).where(Notification.template == "reopened")
        ).all()
    # The holder for action, the next level for information, and the citizen, who did not ask.
    assert {audience for audience, _template in told} == {Audience.OFFICER, Audience.CITIZEN}

    late = closed(demo, clock)
    clock.advance(days=31)
    with pytest.raises(InvalidInput, match="more than 30 days"), demo.sessions.begin() as session:
        reopen(session, clock, late.id, manager, "Too late?")


def test_the_backoffice_reopens_a_closed_case(demo: Store, clock: FakeClock) -> None:
    case = closed(demo, clock)
    client = client_for(demo)
    assert sign_in(client, SITE) == 302
    page = f"/admin/grievance/case/{case.id}"
    assert 'data-testid="move-reopen"' in client.get(page).get_data(as_text=True)
    form = {"csrf_token": csrf_token(client, page), "text": "Asked for by the ward chair."}
    assert client.post(f"{page}/reopen", data=form).status_code == 302
    assert "in progress" in client.get(page).get_data(as_text=True)


def test_satisfaction_per_project_category_and_resolving_officer(demo: Store, clock: FakeClock) -> None:
    manager = Actor.officer(officer_by_email(demo, MANAGER))
    pleased, displeased, _silent = (resolved(demo, clock) for _ in range(3))
    land = file(demo, clock, category_code="land.compensation", details="My land was taken without payment.")
    with demo.sessions.begin() as session:
        answer_resolution(session, clock, pleased.id, True, rating=4)
        answer_resolution(session, clock, displeased.id, False, "Still dusty.")
        acknowledge(session, clock, land.id, manager)
        resolve(session, clock, land.id, manager, "Paid in full.")
        answer_resolution(session, clock, land.id, True, rating=2)
    clock.advance(days=8)
    make_jobs(demo, clock).close()  # the silent one closes unanswered
    period = Period(true(), clock.now() - timedelta(days=30), clock.now() + timedelta(days=1), clock.now())
    with demo.sessions() as session:
        rows = {(row[0], row[1]): row[2:] for row in satisfaction_table(session, period.cases).rows}
        figures = build_dashboard(session, period)
    # Answers, accepted, refused, unanswered, accepted %, mean rating, ratings.
    assert rows[("project", "KKR-01")] == (4, 2, 1, 1, 67, 3.0, 2)
    assert rows[("category", "Dust and air pollution")] == (3, 1, 1, 1, 50, 4.0, 1)
    assert rows[("category", "Compensation not paid or disputed")] == (1, 1, 0, 0, 100, 2.0, 1)
    assert rows[("officer", "Ram Thapa (site safeguards, KKR-01)")] == (3, 1, 1, 1, 50, 4.0, 1)
    assert rows[("officer", "Project Manager KKR-01")] == (1, 1, 0, 0, 100, 2.0, 1)
    assert (round(figures.accepted_share or 0, 2), figures.mean_rating) == (0.67, 3.0)
