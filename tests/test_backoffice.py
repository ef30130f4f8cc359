"""The backoffice through the real Flask app: signing in with CSRF, lock-out, sessions, and
the case list and detail scoped to what each officer may see."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from admin_app import create_app
from tests.helpers import FakeClock, file
from ticketing.accounts import MAX_FAILED_LOGINS
from ticketing.db import Store

PASSWORD = "test-password"  # the demo fixture's


def client_for(store: Store) -> FlaskClient:
    return create_app({"GRM_STORE": store, "SECRET_KEY": "test-secret"}).test_client()


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> int:
    token = csrf_token(client)
    response = client.post("/login", data={"csrf_token": token, "email": email, "password": password})
    return response.status_code


def test_the_backoffice_asks_to_sign_in(demo: Store) -> None:
    client = client_for(demo)
    response = client.get("/admin/grievance/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_a_form_without_its_csrf_token_is_refused(demo: Store) -> None:
    client = client_for(demo)
    response = client.post("/login", data={"email": "admin@grm.example", "password": PASSWORD})
    assert response.status_code == 400
    assert sign_in(client, "admin@grm.example") == 302


def test_signing_in_out_and_the_session_cookie(demo: Store) -> None:
    client = client_for(demo)
    token = csrf_token(client)
    response = client.post(
        "/login?next=/admin/grievance/", data={"csrf_token": token, "email": "admin@grm.example", "password": PASSWORD}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/grievance/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert client.get("/admin/grievance/").status_code == 200
    # Another site's address in ?next= is not followed.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/grievance/")})
    assert client.get("/admin/grievance/").status_code == 302
    token = csrf_token(client)
    response = client.post(
        "/login?next=https://evil.example/",
        data={"csrf_token": token, "email": "admin@grm.example", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/"


def test_wrong_passwords_get_one_answer_and_lock_the_account(demo: Store) -> None:
    client = client_for(demo)
    for _ in range(MAX_FAILED_LOGINS):
        token = csrf_token(client)
        response = client.post("/login", data={"csrf_token": token, "email": "admin@grm.example", "password": "nope"})
        assert response.status_code == 401
        assert "account is locked for a while" in response.get_data(as_text=True)
    assert sign_in(client, "admin@grm.example") == 401  # locked, even with the right password
    assert sign_in(client, "nobody@grm.example") == 401


def test_officers_see_only_the_cases_they_may(demo: Store, clock: FakeClock) -> None:
    mine = file(demo, clock)
    gender = file(demo, clock, category_code="gender.harassment", details="A worker follows my daughter.")
    client = client_for(demo)
    assert sign_in(client, "site.kkr@grm.example") == 302
    listing = client.get("/admin/grievance/").get_data(as_text=True)
    assert mine.reference in listing and gender.reference not in listing
    assert client.get(f"/admin/grievance/details/?id={mine.id}").status_code == 200
    # Typing the URL of a case outside their scope finds nothing.
    hidden = client.get(f"/admin/grievance/details/?id={gender.id}")
    assert hidden.status_code == 302 and gender.reference not in hidden.get_data(as_text=True)

    cleared = client_for(demo)
    assert sign_in(cleared, "gender.kkr@grm.example") == 302
    assert gender.reference in cleared.get("/admin/grievance/").get_data(as_text=True)


def post_move(client: FlaskClient, case_id: int, move: str, **form: str) -> str:
    page = f"/admin/grievance/case/{case_id}"
    token = csrf_token(client, page)
    response = client.post(f"{page}/{move}", data={"csrf_token": token, **form}, follow_redirects=True)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_an_officer_acts_on_a_case_from_its_page(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    client = client_for(demo)
    assert sign_in(client, "site.kkr@grm.example") == 302
    page = client.get(f"/admin/grievance/case/{case.id}").get_data(as_text=True)
    assert "Dust from the trucks" in page and "Sunita Tamang" in page and 'data-testid="move-acknowledge"' in page
    assert 'data-testid="move-resolve"' not in page  # a new case is acknowledged first
    assert "Acknowledged" in post_move(client, case.id, "acknowledge", text="Photos checked")
    answer = post_move(client, case.id, "resolve", text="")
    assert "Not done: resolution: is required" in answer
    answer = post_move(client, case.id, "resolve", text="Water sprayed twice a day.")
    assert "Resolved" in answer and 'data-testid="case-status">resolved' in answer
    assert 'data-testid="move-resolve"' not in answer and 'data-testid="move-note"' in answer  # what the status allows
    assert "Photos checked" in answer and "Water sprayed twice a day." in answer  # in the timeline
    assert "Note added" in post_move(client, case.id, "note", text="Called the citizen", visibility="public")
    # The list shows the case with its SLA state and links to its page.
    listing = client.get("/admin/grievance/").get_data(as_text=True)
    assert f'href="/admin/grievance/case/{case.id}"' in listing and "no deadline" in listing


def test_moves_outside_a_role_or_a_scope_are_refused(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    gender = file(demo, clock, category_code="gender.harassment", details="A worker follows my daughter.")
    viewer_client = client_for(demo)
    assert sign_in(viewer_client, "bank@grm.example") == 302
    page = viewer_client.get(f"/admin/grievance/case/{case.id}").get_data(as_text=True)
    assert "move-acknowledge" not in page  # the bank views, it does not act
    token = csrf_token(viewer_client, f"/admin/grievance/case/{case.id}")
    refused = viewer_client.post(f"/admin/grievance/case/{case.id}/acknowledge", data={"csrf_token": token})
    assert refused.status_code == 403
    site = client_for(demo)
    assert sign_in(site, "site.kkr@grm.example") == 302
    assert site.get(f"/admin/grievance/case/{gender.id}").status_code == 404
    token = csrf_token(site, f"/admin/grievance/case/{case.id}")
    assert (
        site.post(f"/admin/grievance/case/{gender.id}/resolve", data={"csrf_token": token, "text": "x"}).status_code
        == 404
    )
    assert site.post(f"/admin/grievance/case/{case.id}/acknowledge", data={}).status_code == 400  # no CSRF token
