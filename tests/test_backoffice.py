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
