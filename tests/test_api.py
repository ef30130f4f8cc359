"""The REST API through the real Flask app: bearer tokens, the officer's scope and role,
workflow moves, filing for a citizen, the throttled status lookup, JSON errors, OpenAPI."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from tests.helpers import PASSWORD, FakeClock, client_for, csrf_token, file, sign_in
from ticketing.accounts import issue_api_token
from ticketing.citizen import MAX_FAILURES_PER_REQUESTER
from ticketing.clock import SystemClock
from ticketing.store.db import Store
from ticketing.store.models import Officer


def token_for(store: Store, clock: FakeClock, email: str) -> dict[str, str]:
    """A bearer header for the officer; the token is made on the wall clock, which the API checks
    its expiry against (the test's clock, which files the cases, stands in the past)."""
    with store.sessions.begin() as session:
        officer = session.scalar(select(Officer).where(Officer.email == email))
        assert officer is not None
        return {"Authorization": f"Bearer {issue_api_token(session, SystemClock(), officer, 'test')}"}


def error_of(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
    error: dict[str, Any] = body["error"]
    return error


def test_no_token_or_a_wrong_one_is_401_with_the_error_shape(demo: Store) -> None:
    client = client_for(demo)
    assert client.get("/api/v1/tickets").status_code == 401
    response = client.get("/api/v1/tickets", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and error_of(response)["code"] == "unauthorized"


def test_officers_list_and_read_only_what_they_may_see(demo: Store, clock: FakeClock) -> None:
    mine = file(demo, clock)
    gender = file(demo, clock, category_code="gender.harassment", details="A worker follows my daughter.")
    client = client_for(demo)
    site = token_for(demo, clock, "site.kkr@grm.example")
    listed = client.get("/api/v1/tickets", headers=site).get_json()
    assert [item["reference"] for item in listed["items"]] == [mine.reference] and listed["total"] == 1
    assert client.get(f"/api/v1/tickets/{mine.reference}", headers=site).get_json()["details"].startswith("Dust")
    hidden = client.get(f"/api/v1/tickets/{gender.reference}", headers=site)
    assert hidden.status_code == 404 and error_of(hidden)["code"] == "not_found"
    admin = token_for(demo, clock, "admin@grm.example")
    everything = client.get("/api/v1/tickets?per_page=1&page=2", headers=admin).get_json()
    assert everything["total"] == 2 and len(everything["items"]) == 1
    searched = client.get("/api/v1/tickets?q=daughter", headers=admin).get_json()
    assert [item["reference"] for item in searched["items"]] == [gender.reference]
    assert client.get("/api/v1/tickets?q=daughter", headers=site).get_json()["total"] == 0  # search stays in scope
    bad = client.get("/api/v1/tickets?status=lost", headers=admin)
    assert bad.status_code == 422 and error_of(bad)["field"] == "status"


def test_moves_follow_the_role_and_the_lifecycle(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    client = client_for(demo)
    site, bank = token_for(demo, clock, "site.kkr@grm.example"), token_for(demo, clock, "bank@grm.example")
    early = client.post(f"/api/v1/tickets/{case.reference}/resolve", json={"text": "done"}, headers=site)
    assert early.status_code == 409 and error_of(early)["code"] == "illegal_transition"
    refused = client.post(f"/api/v1/tickets/{case.reference}/acknowledge", json={}, headers=bank)
    assert refused.status_code == 403 and "may not update status" in error_of(refused)["message"]
    moved = client.post(f"/api/v1/tickets/{case.reference}/acknowledge", json={"text": "seen"}, headers=site)
    assert moved.status_code == 200 and moved.get_json()["status"] == "in_progress"
    empty = client.post(f"/api/v1/tickets/{case.reference}/resolve", json={"text": " "}, headers=site)
    assert empty.status_code == 422 and error_of(empty)["field"] == "resolution"
    done = client.post(f"/api/v1/tickets/{case.reference}/resolve", json={"text": "Water sprayed."}, headers=site)
    assert done.get_json()["status"] == "resolved"
    assert client.get(f"/api/v1/tickets/{case.reference}", headers=site).get_json()["resolution"] == "Water sprayed."
    assert client.post(f"/api/v1/tickets/{case.reference}/fly", json={}, headers=site).status_code == 404


def test_officers_file_grievances_for_citizens(demo: Store, clock: FakeClock) -> None:
    client = client_for(demo)
    manager = token_for(demo, clock, "manager.kkr@grm.example")
    created = client.post(
        "/api/v1/grievances",
        json={
            "project_code": "KKR-01",
            "details": "Told at the site office: the culvert floods our yard.",
            "name": "Hari Magar",
            "phone": "9841000123",
            "district_id": 30,
        },
        headers=manager,
    )
    assert created.status_code == 201
    ticket = created.get_json()
    assert ticket["channel"] == "api" and ticket["status"] == "new" and ticket["reference"].startswith("GR-")
    unknown = client.post("/api/v1/grievances", json={"project_code": "KKR-01", "colour": "red"}, headers=manager)
    assert unknown.status_code == 422 and error_of(unknown)["field"] == "colour"
    missing = client.post("/api/v1/grievances", json={"project_code": "KKR-01", "details": "x"}, headers=manager)
    assert missing.status_code == 422 and error_of(missing)["field"] == "name"
    bank = token_for(demo, clock, "bank@grm.example")
    assert client.post("/api/v1/grievances", json={}, headers=bank).status_code == 403


def test_citizens_look_up_their_case_and_guessing_is_throttled(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    client = client_for(demo)
    found = client.post("/api/v1/status", json={"reference": case.reference, "phone": "9841234567"})
    assert found.status_code == 200 and found.get_json()["status"] == "new"
    assert "details" not in found.get_json()
    for _ in range(MAX_FAILURES_PER_REQUESTER):
        wrong = client.post("/api/v1/status", json={"reference": case.reference, "phone": "9800000000"})
        assert wrong.status_code == 404
    throttled = client.post("/api/v1/status", json={"reference": case.reference, "phone": "9841234567"})
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0


def test_the_openapi_document_describes_every_route(demo: Store) -> None:
    document = client_for(demo).get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/api/v1/tickets",
        "/api/v1/tickets/{reference}",
        "/api/v1/tickets/{reference}/{move}",
        "/api/v1/grievances",
        "/api/v1/status",
    }


def test_a_token_made_on_my_account_opens_the_api(demo: Store) -> None:
    client = client_for(demo)
    assert sign_in(client, "manager.kkr@grm.example") == 302
    token = csrf_token(client, "/admin/account/")
    form = {"token-csrf_token": token, "token-label": "district MIS", "token-password": PASSWORD}
    page = client.post("/admin/account/", data=form).get_data(as_text=True)
    issued = re.search(r'data-testid="secret">([A-Za-z0-9_-]{40,})<', page)
    assert issued
    listed = client_for(demo).get("/api/v1/tickets", headers={"Authorization": f"Bearer {issued.group(1)}"})
    assert listed.status_code == 200 and listed.get_json()["total"] == 0
