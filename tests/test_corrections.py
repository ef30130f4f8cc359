"""Officers correct a case's category, priority and place (issue 18, point 8): in the store,
on the case page and through the API, each with the previous value kept in the history.
Who may (not the contractor) is checked with every other move in tests/test_matrix.py."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser
from sqlalchemy import select

from admin_app import create_app
from tests.browser import Screenshot, live_server
from tests.helpers import MAKWANPUR, PASSWORD, FakeClock, client_for, csrf_token, file, officer_by_email, sign_in
from ticketing.accounts import issue_api_token
from ticketing.cases.corrections import raise_priority, set_category, set_place
from ticketing.cases.moves import assign
from ticketing.cases.records import Actor
from ticketing.cases.timeline import timeline
from ticketing.clock import SystemClock
from ticketing.errors import InvalidInput
from ticketing.store.case_models import AuditLog, Grievance
from ticketing.store.db import Store
from ticketing.store.models import Officer
from ticketing.store.vocabulary import Priority
from ticketing.triage import officer_examples

BHIMPHEDI = 339  # Makwanpur, 9 wards
BHARATPUR = 278  # Chitwan, where the other demo project runs
MANAGER = "manager.kkr@grm.example"


def officer(store: Store, email: str = MANAGER) -> Actor:
    return Actor.officer(officer_by_email(store, email))


def corrections_of(store: Store, grievance_id: int) -> list[str]:
    with store.sessions() as session:
        return [entry.title for entry in timeline(session, grievance_id) if entry.kind == "correction"]


def test_a_corrected_category_is_kept_in_the_history_and_teaches_triage(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    clock.advance(hours=1)
    with demo.sessions.begin() as session:
        set_category(session, clock, case.id, officer(demo), "land.compensation")
    with demo.sessions() as session:
        corrected = session.get_one(Grievance, case.id)
        assert corrected.category_source == "officer"
        assert (case.details, "land.compensation") in [(e.text, e.code) for e in officer_examples(session)]
        audit = session.scalars(select(AuditLog).where(AuditLog.action == "set_category")).one()
        assert audit.detail == {"from": "environment.dust", "to": "land.compensation"}
    assert corrections_of(demo, case.id) == ["category: environment.dust → land.compensation"]


def test_priority_is_raised_never_lowered_and_a_gender_case_keeps_its_own(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    with demo.sessions.begin() as session:
        assert raise_priority(session, clock, case.id, officer(demo), "high").priority is Priority.HIGH
    for asked in ("high", "normal", "gender", "urgent"):
        with pytest.raises(InvalidInput, match="priority"), demo.sessions.begin() as session:
            raise_priority(session, clock, case.id, officer(demo), asked)
    gender = file(demo, clock, category_code="gender.harassment", details="A worker follows my daughter.")
    with pytest.raises(InvalidInput, match="already gender"), demo.sessions.begin() as session:
        raise_priority(session, clock, gender.id, officer(demo), "high")
    assert corrections_of(demo, case.id) == ["priority: normal → high"]


def test_a_case_corrected_to_integrity_leaves_its_uncleared_officer_for_the_director(
    demo: Store, clock: FakeClock
) -> None:
    """Bribery told as a land complaint: once an officer files it under integrity, the site
    officer who held it loses it (and can no longer see it); the project director takes it."""
    case = file(demo, clock, details="The surveyor wants 20,000 rupees to measure my land again.")
    site = officer_by_email(demo, "site.kkr@grm.example")
    director = officer_by_email(demo, "director@grm.example")
    assert case.assignee_id == site
    with demo.sessions.begin() as session:
        corrected = set_category(session, clock, case.id, officer(demo), "integrity.bribery")
        assert (corrected.priority, corrected.assignee_id) == (Priority.INTEGRITY, director)
    with pytest.raises(InvalidInput, match="already integrity"), demo.sessions.begin() as session:
        raise_priority(session, clock, case.id, officer(demo), "high")
    with pytest.raises(InvalidInput, match="not cleared for integrity cases"), demo.sessions.begin() as session:
        assign(session, clock, case.id, officer(demo), site)


def test_a_corrected_place_brings_its_district_and_a_case_without_project_its_officer(
    demo: Store, clock: FakeClock
) -> None:
    case = file(demo, clock)
    with demo.sessions.begin() as session:
        set_place(session, clock, case.id, officer(demo), BHIMPHEDI, 7)
    with pytest.raises(InvalidInput, match="wards 1 to 9"), demo.sessions.begin() as session:
        set_place(session, clock, case.id, officer(demo), BHIMPHEDI, 12)
    with pytest.raises(InvalidInput, match="unknown municipality"), demo.sessions.begin() as session:
        set_place(session, clock, case.id, officer(demo), 99999, None)
    assert corrections_of(demo, case.id) == ["place: ward 4, Hetauda → ward 7, Bhimphedi"]

    # Filed without a project, a case goes by its place: moved to Chitwan, it goes to the
    # people of the project there.
    lost = file(demo, clock, project_code=None)
    with demo.sessions() as session:
        before = session.get_one(Grievance, lost.id)
        assert before.district_id == MAKWANPUR and before.assignee_id is not None
        holder_before = before.assignee_id
    with demo.sessions.begin() as session:
        moved = set_place(session, clock, lost.id, officer(demo, "director@grm.example"), BHARATPUR, None)
        assert moved.district_id != MAKWANPUR and moved.assignee_id not in (None, holder_before)
        holder = session.get_one(Officer, moved.assignee_id)
        assert "NBR-02" in {project.code for project in holder.projects}


def test_officers_correct_on_the_case_page(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    client = client_for(demo)
    assert sign_in(client, MANAGER) == 302
    page = client.get(f"/admin/grievance/case/{case.id}").get_data(as_text=True)
    assert 'data-testid="case-place">Ward 4, Hetauda, Makwanpur, Bagmati' in page
    for move in ("recategorise", "raise_priority", "relocate"):
        assert f'data-testid="move-{move}"' in page
    token = csrf_token(client, f"/admin/grievance/case/{case.id}")
    done = client.post(
        f"/admin/grievance/case/{case.id}/relocate", data={"csrf_token": token, "municipality_id": BHIMPHEDI}
    )
    assert done.status_code == 302
    page = client.get(f"/admin/grievance/case/{case.id}").get_data(as_text=True)
    assert "place: ward 4, Hetauda → Bhimphedi" in page and 'data-testid="case-place">Bhimphedi, Makwanpur' in page
    client.post(f"/admin/grievance/case/{case.id}/raise_priority", data={"csrf_token": token, "priority": "high"})
    # Once high, there is nothing to raise: the form is no longer offered.
    assert 'data-testid="move-raise_priority"' not in client.get(f"/admin/grievance/case/{case.id}").get_data(
        as_text=True
    )


def test_the_api_corrects_with_the_same_moves(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    with demo.sessions.begin() as session:
        manager = session.scalars(select(Officer).where(Officer.email == MANAGER)).one()
        bearer = {"Authorization": f"Bearer {issue_api_token(session, SystemClock(), manager, 'corrections')}"}
    client = client_for(demo)
    raised = client.post(f"/api/v1/tickets/{case.reference}/raise_priority", json={"priority": "high"}, headers=bearer)
    assert raised.status_code == 200 and raised.get_json()["priority"] == "high"
    moved = client.post(
        f"/api/v1/tickets/{case.reference}/recategorise", json={"category": "land.compensation"}, headers=bearer
    )
    assert moved.status_code == 200 and moved.get_json()["category"] == "land.compensation"
    unknown = client.post(f"/api/v1/tickets/{case.reference}/recategorise", json={"category": "x.y"}, headers=bearer)
    assert unknown.status_code == 422 and unknown.get_json()["error"]["field"] == "category_code"
    ward = client.post(
        f"/api/v1/tickets/{case.reference}/relocate", json={"municipality_id": BHIMPHEDI, "ward": "7"}, headers=bearer
    )
    assert ward.status_code == 422 and ward.get_json()["error"]["field"] == "ward"
    placed = client.post(
        f"/api/v1/tickets/{case.reference}/relocate", json={"municipality_id": BHIMPHEDI, "ward": 7}, headers=bearer
    )
    assert placed.status_code == 200
    place = client.get(f"/api/v1/tickets/{case.reference}", headers=bearer).get_json()["place"]
    assert place == {
        "ward": 7,
        "locality": None,
        "municipality_id": BHIMPHEDI,
        "district_id": MAKWANPUR,
        "province_id": 3,
        "names": ["Bhimphedi", "Makwanpur", "Bagmati Province"],
    }


def test_the_case_list_shows_summaries_filters_by_district_name_and_assign_offers_the_eligible(
    demo: Store, clock: FakeClock
) -> None:
    case = file(demo, clock)
    with demo.sessions.begin() as session:
        session.get_one(Grievance, case.id).summary = "Dust from the trucks covers the maize field. " * 4
    client = client_for(demo)
    assert sign_in(client, "director@grm.example") == 302
    listed = client.get("/admin/grievance/").get_data(as_text=True)
    assert "Dust from the trucks covers the maize field. Dust" in listed and "…" in listed
    assert '["30", "Makwanpur"]' in listed  # the filter's choices, by name
    assert case.reference in client.get("/admin/grievance/?flt0_district_equals=30").get_data(as_text=True)
    assert case.reference not in client.get("/admin/grievance/?flt0_district_equals=24").get_data(as_text=True)

    page = client.get(f"/admin/grievance/case/{case.id}").get_data(as_text=True)
    offered = re.findall(r'<option value="\d+">([^<]+) \(level (\d)\)</option>', page)
    # Level 1 of KKR-01, not cleared for gender cases or cleared alike; nobody of NBR-02 or of level 2.
    assert offered and all(level == "1" for _name, level in offered)
    assert not [name for name, _level in offered if "NBR-02" in name]
    with demo.sessions() as session:
        nbr_site = session.scalars(select(Officer).where(Officer.email == "site.nbr@grm.example")).one()
    with pytest.raises(InvalidInput, match="project"), demo.sessions.begin() as session:
        assign(session, clock, case.id, officer(demo), nbr_site.id)
    with pytest.raises(InvalidInput, match="level 2"), demo.sessions.begin() as session:
        assign(session, clock, case.id, officer(demo), officer_by_email(demo, "piu.kkr@grm.example"))


def test_the_list_and_the_case_page_fit_a_360_pixel_phone(
    demo: Store, clock: FakeClock, chromium: Browser, screenshot: Screenshot
) -> None:
    case = file(demo, clock)
    app = create_app({"GRM_STORE": demo, "SECRET_KEY": "test-secret"})
    context = chromium.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    sideways = "() => [document.documentElement.scrollWidth, ...[...document.querySelectorAll('.table-responsive')].map(t => t.scrollWidth - t.clientWidth)]"
    with live_server(app) as base_url:
        page.goto(f"{base_url}/admin/grievance/")
        page.fill("#email", "site.kkr@grm.example")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/admin/grievance/**")
        assert page.locator(f"text={case.reference}").count() == 1
        assert page.evaluate(sideways) in ([360, 0], [360])
        # Each value is labelled in the stacked rows of a narrow screen.
        label = "el => getComputedStyle(el, '::before').content"
        assert page.locator("td.col-status").first.evaluate(label) == '"Status: "'
        screenshot(page, "backoffice-list-360px")
        page.click(f"text={case.reference}")
        page.wait_for_selector("[data-testid=case-place]")
        assert page.evaluate(sideways) == [360]
        screenshot(page, "backoffice-case-360px")
    context.close()
