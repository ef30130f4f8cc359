"""Officers' accounts as an attacker would try them, through the real Flask app: whose account
a project admin may act on, reset passwords that must be replaced, API tokens that expire and
die, the password asked again, TOTP codes that work once, secrets kept out of the session
cookie, signing out that ends the session, the per-address throttle, and the password hash
compared with no database transaction open."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.pool import QueuePool
from werkzeug.security import check_password_hash
from werkzeug.test import TestResponse

from admin_app import create_app
from tests.helpers import (
    PASSWORD,
    FakeClock,
    add_project_admin,
    client_for,
    count,
    csrf_token,
    officer_by_email,
    sign_in,
)
from ticketing.accounts import (
    LOCK_OUT,
    MAX_FAILURES_PER_ADDRESS,
    authenticate,
    change_totp,
    issue_api_token,
    new_totp_secret,
)
from ticketing.clock import SystemClock
from ticketing.config import API_TOKEN_DAYS, load_settings
from ticketing.errors import ConfigurationError
from ticketing.store.case_models import AuditLog
from ticketing.store.db import Store
from ticketing.store.models import ApiToken, Officer, Project
from ticketing.store.vocabulary import Role

ADMIN = "admin@grm.example"
PROJECT_ADMIN = "padmin.kkr@grm.example"
SHOWN_ONCE = re.compile(r'data-testid="secret">([^<]+)</code>')
TOTP_SECRET = re.compile(r'data-testid="totp-secret">([A-Z2-7]+)<')
NEW_PASSWORD = "a-much-better-password"

# Accounts in the project admin's project (KKR-01) beside the demo's: more power than theirs
# (every role the project admin may not grant, every project, several projects).
EXTRA_OFFICERS: dict[str, tuple[Role, tuple[str, ...], bool]] = {
    "super.kkr@grm.example": (Role.SUPER_ADMIN, ("KKR-01",), False),
    "director.kkr@grm.example": (Role.PROJECT_DIRECTOR, ("KKR-01",), False),
    "bank.kkr@grm.example": (Role.BANK_VIEWER, ("KKR-01",), False),
    "padmin2.kkr@grm.example": (Role.PROJECT_ADMIN, ("KKR-01",), False),
    "manager.everywhere@grm.example": (Role.PROJECT_MANAGER, ("KKR-01",), True),
    "focal.both@grm.example": (Role.FOCAL_PERSON, ("KKR-01", "NBR-02"), False),
}
# The demo's gender-cleared focal persons, its handling accounts, another project's, and the
# project admin themselves (who must not make themselves a manager).
TARGETS = [
    *EXTRA_OFFICERS,
    "gender.kkr@grm.example",
    "piu.kkr@grm.example",
    "site.kkr@grm.example",
    "manager.kkr@grm.example",
    "contractor.kkr@grm.example",
    "site.nbr@grm.example",
    PROJECT_ADMIN,
]
# The accounts a project admin of KKR-01 could have made: a handling role, in KKR-01 only,
# without gender clearance or every project.
PROJECT_ADMIN_MANAGES = {"site.kkr@grm.example", "manager.kkr@grm.example", "contractor.kkr@grm.example"}


def add_officers(store: Store, clock: FakeClock) -> None:
    add_project_admin(store, clock, PROJECT_ADMIN)
    with store.sessions.begin() as session:
        projects = {project.code: project for project in session.scalars(select(Project))}
        password_hash = session.scalars(select(Officer.password_hash).where(Officer.email == ADMIN)).one()
        for email, (role, codes, every_project) in EXTRA_OFFICERS.items():
            session.add(
                Officer(
                    name=email.split("@")[0],
                    email=email,
                    role=role,
                    level=1 if role is Role.FOCAL_PERSON else None,
                    projects=[projects[code] for code in codes],
                    all_projects=every_project,
                    password_hash=password_hash,
                    created_at=clock.now(),
                )
            )


def bearer_for(store: Store, email: str, clock: Any = None) -> dict[str, str]:
    """A live API token of the officer (made on the wall clock, which the API checks against)."""
    with store.sessions.begin() as session:
        officer = session.scalars(select(Officer).where(Officer.email == email)).one()
        return {"Authorization": f"Bearer {issue_api_token(session, clock or SystemClock(), officer, 'test')}"}


def api_status(store: Store, bearer: dict[str, str]) -> int:
    return client_for(store).get("/api/v1/tickets", headers=bearer).status_code


def account(store: Store, email: str) -> Officer:
    with store.sessions() as session:
        return session.scalars(
            select(Officer).where(Officer.email == email).options(selectinload(Officer.projects))
        ).one()


def project_id(store: Store, code: str) -> int:
    with store.sessions() as session:
        return session.scalars(select(Project.id).where(Project.code == code)).one()


def act(client: FlaskClient, action: str, officer_id: int) -> TestResponse:
    """An action from the officers' list, on one account."""
    data = {"csrf_token": csrf_token(client, "/admin/"), "action": action, "rowid": [str(officer_id)]}
    return client.post("/admin/officers/action/", data=data)


def take_over(client: FlaskClient, officer_id: int, email: str, kkr: int) -> None:
    """Save an account as a KKR-01 focal person named "Taken over": a form the old checks passed."""
    form = {"csrf_token": csrf_token(client, "/admin/"), "name": "Taken over", "email": email}
    form |= {"role": "focal_person", "level": "1", "projects": str(kkr), "active": "y"}
    client.post(f"/admin/officers/edit/?id={officer_id}", data=form)


def assert_not_in_the_cookie(client: FlaskClient, response: TestResponse, secret: str) -> None:
    assert all(secret not in header for header in response.headers.getlist("Set-Cookie"))
    with client.session_transaction() as session:
        assert secret not in json.dumps(dict(session), default=str)


def change_password(client: FlaskClient, current: str, new: str = NEW_PASSWORD) -> TestResponse:
    token = csrf_token(client, "/admin/account/")
    form = {"password-csrf_token": token, "password-current": current, "password-new": new}
    return client.post("/admin/account/", data=form, follow_redirects=True)


@pytest.mark.parametrize("actor", [PROJECT_ADMIN, ADMIN])
@pytest.mark.parametrize("action", ["reset_password", "revoke_tokens", "deactivate", "edit"])
def test_every_action_on_an_account_keeps_to_the_actors_limits(
    demo: Store, clock: FakeClock, actor: str, action: str
) -> None:
    add_officers(demo, clock)
    kkr = project_id(demo, "KKR-01")
    tokens = {email: bearer_for(demo, email) for email in TARGETS}
    client = client_for(demo)
    assert sign_in(client, actor) == 302
    for email in TARGETS:
        before = account(demo, email)
        if action == "edit":
            take_over(client, before.id, email, kkr)
        else:
            act(client, action, before.id)
        after = account(demo, email)
        done = {
            "reset_password": after.password_hash != before.password_hash,
            "revoke_tokens": api_status(demo, tokens[email]) == 401,
            "deactivate": not after.active,
            "edit": after.name == "Taken over",
        }[action]
        # Only a super admin hands out passwords; a project admin acts on what they could have made.
        allowed = actor == ADMIN or (action != "reset_password" and email in PROJECT_ADMIN_MANAGES)
        assert done == allowed, (actor, action, email)
        if not allowed:
            assert (after.session_token, after.role, after.active) == (before.session_token, before.role, True)


def test_a_project_admin_cannot_sign_in_as_an_account_they_make(demo: Store, clock: FakeClock) -> None:
    add_project_admin(demo, clock, PROJECT_ADMIN)
    kkr = project_id(demo, "KKR-01")
    padmin = client_for(demo)
    assert sign_in(padmin, PROJECT_ADMIN) == 302
    form = {"csrf_token": csrf_token(padmin, "/admin/officers/new/"), "name": "Sock Puppet"}
    form |= {"email": "puppet@grm.example", "role": "project_manager", "projects": str(kkr), "active": "y"}
    assert "Record was successfully created" in padmin.post(
        "/admin/officers/new/", data=form, follow_redirects=True
    ).get_data(as_text=True)
    puppet = officer_by_email(demo, "puppet@grm.example")
    answer = act(padmin, "reset_password", puppet)
    assert SHOWN_ONCE.search(answer.get_data(as_text=True)) is None
    assert account(demo, "puppet@grm.example").password_hash is None  # no way in for anyone yet
    assert "Reset password" not in padmin.get("/admin/officers/").get_data(as_text=True)
    # Nor may they make themselves a manager.
    take_over(padmin, officer_by_email(demo, PROJECT_ADMIN), PROJECT_ADMIN, kkr)
    assert account(demo, PROJECT_ADMIN).role is Role.PROJECT_ADMIN


def test_a_reset_password_opens_only_the_page_that_replaces_it(demo: Store) -> None:
    site = officer_by_email(demo, "site.kkr@grm.example")
    old_session = client_for(demo)
    assert sign_in(old_session, "site.kkr@grm.example") == 302
    old_token = bearer_for(demo, "site.kkr@grm.example")
    admin = client_for(demo)
    assert sign_in(admin, ADMIN) == 302
    answer = act(admin, "reset_password", site)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    found = SHOWN_ONCE.search(answer.get_data(as_text=True))
    assert found
    one_time = found.group(1)
    assert_not_in_the_cookie(admin, answer, one_time)
    assert old_session.get("/admin/grievance/").status_code == 302  # signed out
    assert api_status(demo, old_token) == 401  # the token died with the old password

    client = client_for(demo)
    assert sign_in(client, "site.kkr@grm.example", one_time) == 302
    for path in ("/admin/", "/admin/grievance/", "/admin/reports/", "/admin/audit/"):
        assert client.get(path).headers["Location"] == "/admin/account/", path
    page = client.get("/admin/account/").get_data(as_text=True)
    assert 'data-testid="must-change"' in page and 'data-testid="api-token"' not in page
    form = {"token-csrf_token": csrf_token(client, "/admin/account/"), "token-label": "x", "token-password": one_time}
    assert SHOWN_ONCE.search(client.post("/admin/account/", data=form).get_data(as_text=True)) is None
    with demo.sessions() as session:
        live = select(func.count()).where(ApiToken.officer_id == site, ~ApiToken.revoked)
        assert session.scalar(live) == 0
    # A token made some other way is refused too, while the one-time password stands.
    assert api_status(demo, late := bearer_for(demo, "site.kkr@grm.example")) == 401

    assert "Password changed" in change_password(client, one_time).get_data(as_text=True)
    assert client.get("/admin/grievance/").status_code == 200
    assert api_status(demo, late) == 200
    assert sign_in(client_for(demo), "site.kkr@grm.example", one_time) == 401


def test_the_demo_accounts_sign_in_straight_away(demo: Store) -> None:
    client = client_for(demo)
    assert sign_in(client, "manager.kkr@grm.example") == 302
    assert client.get("/admin/grievance/").status_code == 200


def test_deactivating_an_account_kills_its_tokens_and_sessions_for_good(demo: Store) -> None:
    site = account(demo, "site.kkr@grm.example")
    session = client_for(demo)
    assert sign_in(session, site.email) == 302
    token = bearer_for(demo, site.email)
    admin = client_for(demo)
    assert sign_in(admin, ADMIN) == 302
    form = {"name": site.name, "email": site.email, "role": "focal_person", "level": "1"}
    form |= {"projects": str(project_id(demo, "KKR-01"))}
    for active in ({}, {"active": "y"}):  # switched off, then on again
        data = {"csrf_token": csrf_token(admin, "/admin/")} | form | active
        admin.post(f"/admin/officers/edit/?id={site.id}", data=data)
    assert account(demo, site.email).active
    assert api_status(demo, token) == 401
    assert session.get("/admin/grievance/").status_code == 302


def test_api_tokens_expire(demo: Store) -> None:
    now = SystemClock().now()
    expired = bearer_for(demo, "manager.kkr@grm.example", FakeClock(now - timedelta(days=API_TOKEN_DAYS, minutes=1)))
    recent = bearer_for(demo, "manager.kkr@grm.example", FakeClock(now - timedelta(days=API_TOKEN_DAYS - 1)))
    assert (api_status(demo, expired), api_status(demo, recent)) == (401, 200)

    # GRM_API_TOKEN_DAYS sets the lifetime of the tokens made on My account.
    week = replace(demo, settings=replace(demo.settings, web=load_settings({"GRM_API_TOKEN_DAYS": "7"}).web))
    client = create_app({"GRM_STORE": week, "SECRET_KEY": "test-secret"}).test_client()
    assert sign_in(client, "manager.kkr@grm.example") == 302
    form = {"token-csrf_token": csrf_token(client, "/admin/account/"), "token-label": "MIS", "token-password": PASSWORD}
    assert SHOWN_ONCE.search(client.post("/admin/account/", data=form).get_data(as_text=True))
    with demo.sessions() as session:
        made = session.scalars(select(ApiToken).where(ApiToken.label == "MIS")).one()
        assert made.expires_at - made.created_at == timedelta(days=7)
    with pytest.raises(ConfigurationError, match="GRM_API_TOKEN_DAYS"):
        load_settings({"GRM_API_TOKEN_DAYS": "forever"})


def test_a_token_is_made_only_with_the_password_and_shown_once(demo: Store) -> None:
    client = client_for(demo)
    assert sign_in(client, "manager.kkr@grm.example") == 302

    def mint(**password: str) -> TestResponse:
        token = csrf_token(client, "/admin/account/")
        return client.post("/admin/account/", data={"token-csrf_token": token, "token-label": "MIS", **password})

    assert SHOWN_ONCE.search(mint().get_data(as_text=True)) is None
    refused = mint(**{"token-password": "not-my-password"})
    assert refused.status_code == 302 and count(demo, ApiToken) == 0
    assert "Your password is not right" in client.get("/admin/account/").get_data(as_text=True)
    answer = mint(**{"token-password": PASSWORD})
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    found = SHOWN_ONCE.search(answer.get_data(as_text=True))
    assert found
    assert_not_in_the_cookie(client, answer, found.group(1))
    assert api_status(demo, {"Authorization": f"Bearer {found.group(1)}"}) == 200
    assert count(demo, AuditLog, action="password_confirmation_failed") == 1  # counted toward the lock-out


def test_totp_changes_ask_for_the_password_and_a_current_code(demo: Store) -> None:
    client = client_for(demo)
    assert sign_in(client, "site.kkr@grm.example") == 302
    start = time.time()  # codes are taken at this step and the next; the test takes seconds
    page = client.get("/admin/account/")
    found = TOTP_SECRET.search(page.get_data(as_text=True))
    assert found
    first = pyotp.TOTP(found.group(1))

    def post(**form: str) -> None:
        data = {f"totp-{name}": value for name, value in form.items()}
        client.post("/admin/account/", data={"totp-csrf_token": csrf_token(client, "/admin/account/"), **data})

    def secret() -> str | None:
        return account(demo, "site.kkr@grm.example").totp_secret

    post(secret=first.secret, code=first.at(start))  # no password
    post(secret=first.secret, code=first.at(start), password="not-my-password")
    assert secret() is None
    post(secret=first.secret, code=first.at(start), password=PASSWORD)
    assert secret() == first.secret

    second = pyotp.TOTP(new_totp_secret())
    replace = {"secret": second.secret, "code": second.at(start), "password": PASSWORD}
    post(**replace)  # no current code
    post(**replace, current=first.at(start))  # the code that turned it on, again
    assert secret() == first.secret
    post(**replace, current=first.at(start + first.interval))
    assert secret() == second.secret

    def turn_off(code: str) -> None:
        data = {"csrf_token": csrf_token(client, "/admin/account/"), "password": PASSWORD, "current": code}
        client.post("/admin/account/", data={f"totp-off-{name}": value for name, value in data.items()})

    turn_off(second.at(start))  # used up by the replacement
    assert secret() == second.secret
    turn_off(second.at(start + second.interval))
    assert secret() is None
    assert page.headers["Cache-Control"] == "no-store"  # the page that showed the key


def test_a_totp_code_works_once_at_sign_in(demo: Store, clock: FakeClock) -> None:
    totp = pyotp.TOTP(new_totp_secret())
    with demo.sessions.begin() as session:
        officer = session.scalars(select(Officer).where(Officer.email == "site.kkr@grm.example")).one()
        assert change_totp(session, clock, officer, "", totp.secret, totp.at(clock.now()))

    def sign_in_with(code: str) -> bool:
        return authenticate(demo.sessions, clock, "site.kkr@grm.example", PASSWORD, code) is not None

    assert not sign_in_with(totp.at(clock.now()))  # spent on turning it on
    next_step = clock.now() + timedelta(seconds=totp.interval)
    assert sign_in_with(totp.at(next_step))
    assert not sign_in_with(totp.at(next_step))  # replayed within its window
    clock.advance(seconds=totp.interval)
    assert not sign_in_with(totp.at(clock.now() - timedelta(seconds=totp.interval)))  # older than the last
    assert sign_in_with(totp.at(clock.now() + timedelta(seconds=totp.interval)))

    # Through the app: a code seen over a shoulder opens nothing after its owner used it.
    client = client_for(demo)
    secret = account(demo, "site.kkr@grm.example").totp_secret
    assert secret is not None
    code = pyotp.TOTP(secret).now()
    for attempt, expected in ((client, 302), (client_for(demo), 401)):
        form = {"csrf_token": csrf_token(attempt), "email": "site.kkr@grm.example", "password": PASSWORD, "code": code}
        assert attempt.post("/login", data=form).status_code == expected


def test_signing_out_ends_the_session_on_the_server(demo: Store) -> None:
    client = client_for(demo)
    assert sign_in(client, "manager.kkr@grm.example") == 302
    assert client.get("/admin/grievance/").status_code == 200
    cookie = client.get_cookie("session")
    assert cookie is not None
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    thief = client_for(demo)
    thief.set_cookie("session", cookie.value)
    assert thief.get("/admin/grievance/").status_code == 302
    assert count(demo, AuditLog, action="logout") == 1


def _sign_in_from(client: FlaskClient, address: str, email: str, password: str) -> int:
    form = {"csrf_token": csrf_token(client), "email": email, "password": password}
    return client.post("/login", data=form, environ_base={"REMOTE_ADDR": address}).status_code


def test_sign_in_is_throttled_per_address(demo: Store, clock: FakeClock) -> None:
    client = client_for(demo)
    # A spray: one wrong password for each of many accounts, so no account locks.
    for n in range(MAX_FAILURES_PER_ADDRESS):
        assert _sign_in_from(client, "203.0.113.9", f"officer{n}@grm.example", "guess-1234567") == 401
    assert _sign_in_from(client, "203.0.113.9", "manager.kkr@grm.example", PASSWORD) == 401
    assert _sign_in_from(client_for(demo), "198.51.100.4", "manager.kkr@grm.example", PASSWORD) == 302

    # The throttle lasts the lock-out's time (the demo's clock, on the function itself), and an
    # IPv6 client counts as its /64, which it can hop around in.
    def manager_from(address: str) -> bool:
        return authenticate(demo.sessions, clock, "manager.kkr@grm.example", PASSWORD, address=address) is not None

    for n in range(MAX_FAILURES_PER_ADDRESS):
        assert authenticate(demo.sessions, clock, f"officer{n}@grm.example", "guess", address=f"2001:db8::{n}") is None
    assert not manager_from("2001:db8::ffff") and manager_from("2001:db8:0:1::1")
    clock.advance(seconds=LOCK_OUT.total_seconds())
    assert manager_from("2001:db8::ffff")


@pytest.mark.parametrize("proxies", [0, 1])
def test_behind_a_proxy_the_throttle_counts_the_forwarded_address_and_never_a_forged_one(
    demo: Store, proxies: int
) -> None:
    """Behind nginx (GRM_PROXIES=1) every sign-in arrives from the proxy: the address it
    forwards is the client's. Reached directly, a forged X-Forwarded-For changes nothing."""
    client = create_app({"GRM_STORE": demo, "SECRET_KEY": "test-secret", "GRM_PROXIES": proxies}).test_client()

    def sign_in_via_proxy(forwarded: str, email: str, password: str) -> int:
        form = {"csrf_token": csrf_token(client), "email": email, "password": password}
        headers = {"X-Forwarded-For": forwarded}
        return client.post("/login", data=form, headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code

    for n in range(MAX_FAILURES_PER_ADDRESS):
        assert sign_in_via_proxy(f"203.0.113.{n}", f"officer{n}@grm.example", "guess-1234567") == 401
    # Trusted, each forwarded address is its own client, so the spray spent nobody else's
    # allowance; not trusted, the spray (whatever it forged) came from one address: stopped.
    allowed = sign_in_via_proxy("198.51.100.4", "manager.kkr@grm.example", PASSWORD)
    assert allowed == (302 if proxies else 401)


def test_passwords_are_compared_with_no_transaction_open(demo: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # On SQLite every transaction holds the write lock (BEGIN IMMEDIATE): a hash compared inside
    # one would stall every other writer for its duration. No connection out means no transaction.
    pool = demo.engine.pool
    assert isinstance(pool, QueuePool)
    connections_out: list[int] = []

    def watched(stored: str, password: str) -> bool:
        connections_out.append(pool.checkedout())
        return check_password_hash(stored, password)

    monkeypatch.setattr("ticketing.accounts.check_password_hash", watched)
    client = client_for(demo)
    assert sign_in(client, "nobody@grm.example") == 401
    assert sign_in(client, "manager.kkr@grm.example", "wrong-password") == 401
    assert sign_in(client, "manager.kkr@grm.example") == 302
    assert connections_out == [0, 0, 0]
    # The password asked again before a change to the account, likewise.
    form = {"token-csrf_token": csrf_token(client, "/admin/account/"), "token-label": "x", "token-password": PASSWORD}
    assert client.post("/admin/account/", data=form).status_code == 200
    assert connections_out == [0, 0, 0, 0]
    with demo.sessions() as session:  # and the refusals were still written
        failures = select(func.count()).where(AuditLog.action == "login_failed")
        assert session.scalar(failures) == 2
