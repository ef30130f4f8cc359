"""Every demo role against every backoffice screen and every move, by URL and by API: what
the permission matrix allows answers, what it refuses is 403, what the officer may not see
is 404, whether or not a menu shows the way."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tests.helpers import FakeClock, add_project_admin, client_for, csrf_token, file, sign_in
from ticketing.accounts import issue_api_token
from ticketing.clock import SystemClock
from ticketing.permissions import Permission, Viewer, visible
from ticketing.store.db import Store
from ticketing.store.models import Officer

# One account per role of the demo, and a project admin made here (the demo has none).
ACCOUNTS = [
    "admin@grm.example",
    "bank@grm.example",
    "director@grm.example",
    "manager.kkr@grm.example",
    "contractor.kkr@grm.example",
    "site.kkr@grm.example",
    "piu.kkr@grm.example",
    "project.admin@grm.example",
]
SCREENS = {
    "/admin/": Permission.VIEW,
    "/admin/new-grievance/": Permission.CREATE,
    "/admin/reports/": Permission.REPORT,
    "/admin/reports/?format=xlsx": Permission.REPORT,
    "/admin/grievance/export/pdf/": Permission.VIEW,
    "/admin/outbox/": Permission.CONFIGURE,
    "/admin/audit/": Permission.AUDIT,
    "/admin/projects/": Permission.CONFIGURE,
    "/admin/projects/new/": Permission.CONFIGURE,
    "/admin/routing/": Permission.CONFIGURE,
    "/admin/categories/": Permission.CONFIGURE,
    "/admin/sla/": Permission.CONFIGURE,
    "/admin/stakeholders/": Permission.CONFIGURE,
    "/admin/stakeholders/new/": Permission.CONFIGURE,
    "/admin/officers/": Permission.MANAGE_USERS,
    "/admin/officers/new/": Permission.MANAGE_USERS,
}
MOVES = {
    "acknowledge": Permission.UPDATE_STATUS,
    "assign": Permission.ASSIGN,
    "escalate": Permission.UPDATE_STATUS,
    "resolve": Permission.UPDATE_STATUS,
    "close_invalid": Permission.UPDATE_STATUS,
    "note": Permission.COMMENT,
    "recategorise": Permission.CORRECT,
    "raise_priority": Permission.CORRECT,
    "relocate": Permission.CORRECT,
    "citizen_answer": Permission.RECORD_ANSWER,
    "reopen": Permission.UPDATE_STATUS,
    "propose_invalid": Permission.UPDATE_STATUS,
    "approve_invalid": Permission.UPDATE_STATUS,
    "reject_invalid": Permission.UPDATE_STATUS,
}


@pytest.fixture
def officers(demo: Store, clock: FakeClock) -> dict[str, Viewer]:
    add_project_admin(demo, clock, "project.admin@grm.example")
    with demo.sessions() as session:
        rows = session.scalars(
            select(Officer).where(Officer.email.in_(ACCOUNTS)).options(selectinload(Officer.projects))
        )
        return {officer.email: Viewer.of(officer) for officer in rows}


@pytest.mark.parametrize("email", ACCOUNTS)
def test_each_role_against_every_screen_and_move(
    demo: Store, clock: FakeClock, officers: dict[str, Viewer], email: str
) -> None:
    viewer = officers[email]
    case = file(demo, clock)
    with demo.sessions() as session:
        sees_case = session.scalar(select(visible(viewer)).select_from(type(case)).where(type(case).id == case.id))
    client = client_for(demo)
    assert sign_in(client, email) == 302
    for path, permission in SCREENS.items():
        assert client.get(path).status_code == (200 if viewer.can(permission) else 403), (email, path)
    page = client.get(f"/admin/grievance/case/{case.id}")
    assert page.status_code == (200 if sees_case else 404), email
    with demo.sessions.begin() as session:
        officer = session.get_one(Officer, viewer.id)
        bearer = {"Authorization": f"Bearer {issue_api_token(session, SystemClock(), officer, 'matrix')}"}
    token = csrf_token(client, "/admin/")
    for move, permission in MOVES.items():
        # A case of its own for each way in: a move may take the case out of the officer's sight.
        on_screen, by_token = file(demo, clock), file(demo, clock)
        form = {"csrf_token": token, "text": "matrix check", "officer_id": str(viewer.id)}
        by_url = client.post(f"/admin/grievance/case/{on_screen.id}/{move}", data=form)
        by_api = client.post(f"/api/v1/tickets/{by_token.reference}/{move}", json={"text": "x"}, headers=bearer)
        if not viewer.can(permission):
            assert (by_url.status_code, by_api.status_code) == (403, 403), (email, move)
        elif not sees_case:
            assert (by_url.status_code, by_api.status_code) == (404, 404), (email, move)
        else:
            # Allowed: done, or refused by the lifecycle or the input (never by permissions).
            assert by_url.status_code == 302 and by_api.status_code not in (401, 403, 404), (email, move)
    listed = client.get("/api/v1/tickets", headers=bearer)
    assert listed.status_code == (200 if viewer.can(Permission.VIEW) else 403)
    created = client.post("/api/v1/grievances", json={"project_code": "KKR-01", "details": "x"}, headers=bearer)
    assert (created.status_code == 403) == (not viewer.can(Permission.CREATE)), email
