"""Officers' sign-in: the password policy, lock-out after failures, the second factor, and
every attempt in the audit log."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from tests.helpers import FakeClock
from ticketing.accounts import (
    LOCK_OUT,
    MAX_FAILED_LOGINS,
    authenticate,
    check_password_policy,
    new_totp_secret,
    set_password,
)
from ticketing.errors import InvalidInput
from ticketing.store.case_models import AuditLog
from ticketing.store.db import Store
from ticketing.store.models import Officer

EMAIL = "site.kkr@grm.example"
GOOD = "maize-dust-kulekhani-42"


def officer(session: object, email: str = EMAIL) -> Officer:
    found = session.scalar(select(Officer).where(Officer.email == email))  # type: ignore[attr-defined]
    assert isinstance(found, Officer)
    return found


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short-1", "at least 12 characters"),
        ("password1234", "too easy to guess"),
        ("aaaaaaaaaaaaaa", "too easy to guess"),
        ("my-site.kkr-password", "name or email"),
        ("thapa-of-the-road-99", "name or email"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(demo: Store, password: str, problem: str) -> None:
    with demo.sessions() as session:
        with pytest.raises(InvalidInput, match=problem):
            check_password_policy(password, officer(session))
        check_password_policy(GOOD, officer(session))


def test_signing_in_and_locking_out(demo: Store, clock: FakeClock) -> None:
    with demo.sessions.begin() as session:
        set_password(session, clock, officer(session), GOOD)
    assert authenticate(demo.sessions, clock, " Site.KKR@grm.example ", GOOD) is not None
    for _ in range(MAX_FAILED_LOGINS):
        assert authenticate(demo.sessions, clock, EMAIL, "wrong-password-123") is None
    # Locked: even the right password is refused, with the same message.
    assert authenticate(demo.sessions, clock, EMAIL, GOOD) is None
    clock.advance(seconds=LOCK_OUT.total_seconds())
    signed_in = authenticate(demo.sessions, clock, EMAIL, GOOD)
    assert signed_in is not None and signed_in.failed_logins == 0
    assert authenticate(demo.sessions, clock, "nobody@grm.example", GOOD) is None
    with demo.sessions() as session:
        actions = session.scalars(select(AuditLog.action).where(AuditLog.entity == "officer").order_by(AuditLog.id))
        assert list(actions) == [
            "password_changed",
            "login",
            *["login_failed"] * MAX_FAILED_LOGINS,
            "login_refused_locked",
            "login",
            "login_failed",
        ]


def test_a_new_password_ends_every_other_session(demo: Store, clock: FakeClock) -> None:
    with demo.sessions.begin() as session:
        set_password(session, clock, officer(session), GOOD)
        before = officer(session).session_token
        set_password(session, clock, officer(session), GOOD + "-new")
        assert officer(session).session_token not in (None, before)


def test_the_second_factor_is_asked_once_turned_on(demo: Store, clock: FakeClock) -> None:
    secret = new_totp_secret()
    with demo.sessions.begin() as session:
        set_password(session, clock, officer(session), GOOD)
        officer(session).totp_secret = secret
    assert authenticate(demo.sessions, clock, EMAIL, GOOD) is None
    assert authenticate(demo.sessions, clock, EMAIL, GOOD, "000000") is None
    assert authenticate(demo.sessions, clock, EMAIL, GOOD, pyotp.TOTP(secret).at(clock.now())) is not None


def test_an_inactive_officer_cannot_sign_in(demo: Store, clock: FakeClock) -> None:
    with demo.sessions.begin() as session:
        set_password(session, clock, officer(session), GOOD)
        officer(session).active = False
    assert authenticate(demo.sessions, clock, EMAIL, GOOD) is None
