"""The administrators' screens through the real Flask app: a project, its SLA policy and
routing rule made in forms take effect for the next case; categories are checked; officers
are created, given a one-time password, locked out of the API; project admins stay within
their projects; every change is in the audit log."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from admin_app import create_app
from tests.helpers import FakeClock, add_project_admin, client_for, csrf_token, file, officer_by_email, sign_in
from ticketing.accounts import issue_api_token
from ticketing.clock import SystemClock
from ticketing.store.case_models import AuditLog
from ticketing.store.db import Store
from ticketing.store.models import Category, Officer, Project


def submit(client: FlaskClient, screen: str, form: dict[str, Any], record: int | None = None) -> str:
    """Post a create (or, with `record`, an edit) form of a screen; the page it lands on."""
    path = f"/admin/{screen}/new/" if record is None else f"/admin/{screen}/edit/?id={record}"
    data = {"csrf_token": csrf_token(client, path), **form}
    return client.post(path, data=data, follow_redirects=True).get_data(as_text=True)


def audit_actions(store: Store) -> list[tuple[str, Any]]:
    with store.sessions() as session:
        return [(row.action, row.detail) for row in session.scalars(select(AuditLog).order_by(AuditLog.id))]


def test_a_new_project_its_sla_and_routing_take_effect_for_the_next_case(demo: Store, clock: FakeClock) -> None:
    admin = client_for(demo)
    assert sign_in(admin, "admin@grm.example") == 302
    page = submit(
        admin, "projects", {"code": "bhr-03 ", "name": "Bharatpur bypass", "type": "construction", "active": "y"}
    )
    assert "Record was successfully created" in page
    with demo.sessions() as session:
        project = session.scalars(select(Project).where(Project.code == "BHR-03")).one()
    listing = admin.get("/admin/projects/").get_data(as_text=True)
    assert "/qr/BHR-03.png?download=1" in listing and "/chat/BHR-03" in listing
    qr = admin.get("/qr/BHR-03.png?download=1")
    assert qr.status_code == 200 and qr.mimetype == "image/png"
    assert "cannot change" in submit(admin, "projects", {"code": "XYZ-09", "name": "x", "type": "other"}, project.id)

    sla = {"project": str(project.id), "response_hours": "2", "level_1_hours": "24"}
    sla |= {"level_2_hours": "72", "level_3_hours": "240", "auto_close_days": "5"}
    assert "Number must be at least 1" in submit(admin, "sla", sla | {"response_hours": "0"})
    assert "Record was successfully created" in submit(admin, "sla", sla)
    piu = officer_by_email(demo, "piu.kkr@grm.example")
    rule = {"project": str(project.id), "level": "2", "officer": str(piu), "active": "y"}
    assert "works at level 2, not 1" in submit(admin, "routing", rule | {"level": "1"})
    site = officer_by_email(demo, "site.kkr@grm.example")
    assert "Record was successfully created" in submit(admin, "routing", rule | {"level": "1", "officer": str(site)})

    case = file(demo, clock, project_code="BHR-03", municipality_id=None, ward=None, district_id=35)
    assert case.assignee_id == site
    assert case.due_at is not None and case.due_at - case.created_at == timedelta(hours=2)
    actions = [action for action, _detail in audit_actions(demo) if action.endswith("_created")]
    assert actions == ["project_created", "sla_policy_created", "routing_rule_created"]
    created = dict(audit_actions(demo))["project_created"]
    assert {"code", "name", "type"} <= set(created["fields"])


def test_categories_are_edited_within_bounds(demo: Store) -> None:
    admin = client_for(demo)
    assert sign_in(admin, "admin@grm.example") == 302
    with demo.sessions() as session:
        dust = session.scalars(select(Category).where(Category.code == "environment.dust")).one()
    form = {"code": dust.code, "name_en": dust.name_en, "name_ne": dust.name_ne, "parent": str(dust.parent_id)}
    assert "Number must be at least 1" in submit(admin, "categories", form | {"level_1_hours": "0"}, dust.id)
    assert "Record was successfully saved" in submit(admin, "categories", form | {"priority": "high"}, dust.id)
    with demo.sessions() as session:
        assert session.get_one(Category, dust.id).priority == "high"
    assert admin.get("/admin/categories/delete/").status_code in (404, 405)  # switched off, never deleted


def test_officers_are_made_given_a_one_time_password_and_cut_off(demo: Store) -> None:
    admin = client_for(demo)
    assert sign_in(admin, "admin@grm.example") == 302
    form = {"name": "Maya Rai", "email": "Maya.Rai@grm.example ", "role": "focal_person", "level": "1"}
    page = submit(admin, "officers", form | {"projects": "1", "active": "y"})
    assert "Record was successfully created" in page
    maya = officer_by_email(demo, "maya.rai@grm.example")
    assert sign_in(client_for(demo), "maya.rai@grm.example", "") != 302  # no password until one is set

    token = csrf_token(admin, "/admin/officers/")
    answer = admin.post(
        "/admin/officers/action/", data={"csrf_token": token, "action": "reset_password", "rowid": [str(maya)]}
    ).get_data(as_text=True)
    found = re.search(r'data-testid="secret">(\S+)</code>', answer)
    assert found
    maya_client = client_for(demo)
    assert sign_in(maya_client, "maya.rai@grm.example", found.group(1)) == 302
    assert maya_client.get("/admin/grievance/").headers["Location"] == "/admin/account/"  # her own password first
    form = {"password-csrf_token": csrf_token(maya_client, "/admin/account/"), "password-current": found.group(1)}
    maya_client.post("/admin/account/", data=form | {"password-new": "a-much-better-password"})
    assert maya_client.get("/admin/grievance/").status_code == 200

    with demo.sessions.begin() as session:
        officer = session.get_one(Officer, maya)
        bearer = {"Authorization": f"Bearer {issue_api_token(session, SystemClock(), officer, 'x')}"}
    assert maya_client.get("/api/v1/tickets", headers=bearer).status_code == 200
    admin.post(
        "/admin/officers/action/",
        data={"csrf_token": token, "action": "revoke_tokens", "rowid": [str(maya)]},
    )
    assert maya_client.get("/api/v1/tickets", headers=bearer).status_code == 401

    edit = {"name": "Maya Rai", "email": "maya.rai@grm.example", "role": "focal_person", "level": "1"}
    assert "Record was successfully saved" in submit(admin, "officers", edit | {"projects": "1"}, maya)  # not active
    assert maya_client.get("/admin/grievance/").status_code == 302  # signed out at once
    actions = [action for action, _detail in audit_actions(demo) if action.startswith("officer_")]
    assert actions == ["officer_created", "officer_password_reset", "officer_api_tokens_revoked", "officer_changed"]


def test_a_project_admin_manages_only_their_projects_officers(demo: Store, clock: FakeClock) -> None:
    add_project_admin(demo, clock, "padmin.kkr@grm.example")
    with demo.sessions() as session:
        kkr, nbr = (
            session.scalars(select(Project.id).where(Project.code == code)).one() for code in ("KKR-01", "NBR-02")
        )
    padmin = client_for(demo)
    assert sign_in(padmin, "padmin.kkr@grm.example") == 302
    listing = padmin.get("/admin/officers/").get_data(as_text=True)
    assert "site.kkr@grm.example" in listing
    assert "site.nbr@grm.example" not in listing and "admin@grm.example<" not in listing
    nbr_officer = officer_by_email(demo, "site.nbr@grm.example")
    assert padmin.get(f"/admin/officers/edit/?id={nbr_officer}", follow_redirects=True).status_code == 200
    assert "Record does not exist" in padmin.get(
        f"/admin/officers/edit/?id={nbr_officer}", follow_redirects=True
    ).get_data(as_text=True)

    base = {"name": "Binod KC", "email": "binod@grm.example", "level": "1", "active": "y"}
    assert "managers, contractors and focal persons only" in submit(
        padmin, "officers", base | {"role": "super_admin", "projects": str(kkr)}
    )
    assert "choose among your own projects" in submit(
        padmin, "officers", base | {"role": "focal_person", "projects": str(nbr)}
    )
    for clearance in ("gender_cleared", "integrity_cleared"):
        assert "only an administrator grants every project or a clearance" in submit(
            padmin, "officers", base | {"role": "focal_person", "projects": str(kkr), clearance: "y"}
        )
    assert "Record was successfully created" in submit(
        padmin, "officers", base | {"role": "focal_person", "projects": str(kkr)}
    )
    assert padmin.get("/admin/projects/").status_code == 403


def test_the_project_screen_lists_every_channels_link_qr_codes_and_the_poster(demo: Store) -> None:
    config = {"GRM_STORE": demo, "SECRET_KEY": "test-secret", "GRM_PUBLIC_URL": "https://grm.example.org"}
    channels = {"GRM_WHATSAPP_NUMBER": "+14155238886", "GRM_MESSENGER_PAGE": "grm.nepal"}
    admin = create_app(config | channels).test_client()
    assert sign_in(admin, "admin@grm.example") == 302
    listing = admin.get("/admin/projects/").get_data(as_text=True)
    assert 'href="https://grm.example.org/chat/KKR-01"' in listing
    assert 'href="https://wa.me/14155238886?text=Namaste%21%20I%20am%20writing%20about%20project%20KKR-01."' in listing
    assert 'href="https://m.me/grm.nepal?ref=KKR-01"' in listing
    for path in (
        "/qr/KKR-01.png?download=1",
        "/qr/KKR-01/whatsapp.svg?download=1",
        "/qr/KKR-01/messenger.png?download=1",
    ):
        assert f'href="{path.replace("&", "&amp;")}"' in listing
        assert admin.get(path).status_code == 200
    assert 'href="/poster/KKR-01.pdf"' in listing and admin.get("/poster/KKR-01.pdf").mimetype == "application/pdf"
    # Without WhatsApp or Messenger configured, only the webchat is offered.
    plain = create_app(config | {"GRM_WHATSAPP_NUMBER": None, "GRM_MESSENGER_PAGE": None}).test_client()
    assert sign_in(plain, "admin@grm.example") == 302
    listing = plain.get("/admin/projects/").get_data(as_text=True)
    assert "wa.me" not in listing and "m.me" not in listing and "/qr/KKR-01/whatsapp" not in listing
