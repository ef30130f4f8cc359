"""A grievance filed by a citizen who did not know the project: stored without one, routed by
its place, on the default deadlines, and shown as such in every list, report and API answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import select, true

from tests.helpers import FakeClock, client_for, file, make_jobs, officer_by_email, sign_in
from tests.test_api import token_for
from ticketing.cases.moves import acknowledge, assign, resolve
from ticketing.cases.records import Actor
from ticketing.cases.search import matching
from ticketing.cases.sweeps import close_silent_resolutions
from ticketing.catalog import NO_PROJECT, catalog
from ticketing.lifecycle import Status
from ticketing.reporting.analytics import STANDARD_REPORTS, Period, build_dashboard, standard_reports
from ticketing.reporting.report import build_report
from ticketing.sla import Deadlines
from ticketing.store.case_models import Grievance
from ticketing.store.db import Store, alembic_config
from ticketing.store.vocabulary import Priority

CHITWAN = 24  # NBR-02's district


def test_it_is_routed_by_its_place_on_the_default_deadlines(demo: Store, clock: FakeClock) -> None:
    in_makwanpur = file(demo, clock, project_code=None)
    in_chitwan = file(demo, clock, project_code=None, district_id=CHITWAN, municipality_id=None, ward=None)
    gender = file(demo, clock, project_code=None, category_code="gender.harassment", details="A worker follows me.")
    assert in_makwanpur.project_id is None
    assert in_makwanpur.assignee_id == officer_by_email(demo, "site.kkr@grm.example")  # Makwanpur's site officer
    assert in_chitwan.assignee_id == officer_by_email(demo, "site.nbr@grm.example")
    assert gender.priority is Priority.GENDER
    assert gender.assignee_id == officer_by_email(demo, "gender.kkr@grm.example")  # cleared for gender cases
    assert in_makwanpur.due_at == clock.now() + timedelta(hours=Deadlines().response_hours)


def test_it_escalates_to_the_next_level_of_its_place(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock, project_code=None)
    clock.advance(hours=Deadlines().response_hours + 1)
    assert make_jobs(demo, clock).escalate() == 1
    piu = officer_by_email(demo, "piu.kkr@grm.example")
    with demo.sessions() as session:
        moved = session.get_one(Grievance, case.id)
        assert (moved.level, moved.assignee_id) == (2, piu)


def test_a_silent_resolution_closes_after_the_default_period(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock, project_code=None)
    site = Actor.officer(officer_by_email(demo, "site.kkr@grm.example"))
    with demo.sessions.begin() as session:
        acknowledge(session, clock, case.id, site)
        resolve(session, clock, case.id, site, "The ditch was filled.")
    clock.advance(days=Deadlines().auto_close_days - 1)
    with demo.sessions.begin() as session:
        assert close_silent_resolutions(session, clock) == []
    clock.advance(days=1, minutes=1)
    with demo.sessions.begin() as session:
        assert [g.id for g in close_silent_resolutions(session, clock)] == [case.id]
        assert session.get_one(Grievance, case.id).status is Status.CLOSED


def test_anyone_may_be_given_it_but_only_its_holder_and_the_wide_roles_see_it(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock, project_code=None, district_id=CHITWAN, municipality_id=None, ward=None)
    client = client_for(demo)
    listed = client.get("/api/v1/tickets", headers=token_for(demo, clock, "site.nbr@grm.example")).get_json()
    assert [(item["reference"], item["project"]) for item in listed["items"]] == [(case.reference, None)]
    for outsider in ("site.kkr@grm.example", "manager.kkr@grm.example", "contractor.kkr@grm.example"):
        assert client.get("/api/v1/tickets", headers=token_for(demo, clock, outsider)).get_json()["total"] == 0
    assert (
        client.get("/api/v1/tickets", headers=token_for(demo, clock, "director@grm.example")).get_json()["total"] == 1
    )
    # An officer of another project may be handed it: the case is bound to no project.
    admin, site = officer_by_email(demo, "admin@grm.example"), officer_by_email(demo, "site.kkr@grm.example")
    with demo.sessions.begin() as session:
        assign(session, clock, case.id, Actor.officer(admin), site)
    assert (
        client.get("/api/v1/tickets", headers=token_for(demo, clock, "site.kkr@grm.example")).get_json()["total"] == 1
    )


def test_the_api_files_one_without_a_project(demo: Store, clock: FakeClock) -> None:
    client = client_for(demo)
    headers = token_for(demo, clock, "admin@grm.example")
    body = {
        "details": "Told at the site office: the ditch floods my yard.",
        "name": "Gita Rai",
        "phone": "9841234578",
        "district_id": CHITWAN,
    }
    created = client.post("/api/v1/grievances", json=body, headers=headers)
    assert created.status_code == 201 and created.get_json()["project"] is None, created.get_json()
    unknown = client.post("/api/v1/grievances", json={**body, "project_code": "NOPE-9"}, headers=headers)
    assert unknown.status_code == 422  # a wrong code is refused, never filed without a project


def test_the_backoffice_lists_and_shows_it(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock, project_code=None)
    client = client_for(demo)
    sign_in(client, "admin@grm.example")
    listing = client.get("/admin/grievance/").get_data(as_text=True)
    assert case.reference in listing and NO_PROJECT in listing
    page = client.get(f"/admin/grievance/case/{case.id}").get_data(as_text=True)
    assert NO_PROJECT in page


def test_the_dashboard_and_the_standard_reports_count_it(demo: Store, clock: FakeClock) -> None:
    file(demo, clock, project_code=None)
    file(demo, clock)
    period = Period(true(), clock.now() - timedelta(days=1), clock.now() + timedelta(days=1), clock.now())
    with demo.sessions() as session:
        assert build_dashboard(session, period).by_project == [(NO_PROJECT, 1), ("KKR-01", 1)]
        for table in standard_reports(session, period, list(STANDARD_REPORTS)):
            if table.headers[0] == "Project":
                assert {row[0] for row in table.rows} >= {NO_PROJECT, "KKR-01"}, table.title


def test_the_monthly_report_has_a_line_for_cases_without_a_project(demo: Store, clock: FakeClock) -> None:
    file(demo, clock, project_code=None)
    with demo.sessions() as session:
        month = clock.now().date().replace(day=1)
        report = build_report(session, month, clock.now() + timedelta(days=40))
        projects = [p.code for p in catalog(session).projects.values()]
        codes = list(dict.fromkeys(line.project for line in report.lines))
        assert codes == [*sorted(projects), NO_PROJECT]
        assert sum(line.received for line in report.lines if line.project == NO_PROJECT) == 1
        assert session.scalar(select(Grievance.project_id)) is None


def test_the_migration_keeps_the_cases_and_their_search_and_refuses_to_drop_them(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock, details="The culvert near the temple is blocked.")
    config = alembic_config(demo.engine)
    command.downgrade(config, "0012")  # on SQLite, the grievance table is rebuilt both ways
    command.upgrade(config, "head")
    with demo.sessions() as session:
        found = session.scalars(select(Grievance.reference).where(matching(demo.engine.dialect.name, "culvert")))
        assert found.all() == [case.reference]
    file(demo, clock, project_code=None)
    with pytest.raises(RuntimeError, match="without a project"):
        command.downgrade(config, "0012")
