"""Officers' accounts: signing in with lock-out, the password policy, and the optional second
factor (TOTP). Every sign-in, failure and lock-out is written to the audit log.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import pyotp
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ticketing.clock import Clock
from ticketing.crypto import keyring
from ticketing.errors import InvalidInput
from ticketing.models import ActorKind, ApiToken, AuditLog, Officer, table

MAX_FAILED_LOGINS = 5
LOCK_OUT = timedelta(minutes=15)
MIN_PASSWORD_CHARS = 12
# The passwords most often tried first by anyone guessing; the length rule stops the rest.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "password1234",
        "passwordpassword",
        "qwertyuiopas",
        "administrator",
        "letmeinletmein",
        "iloveyou1234",
        "nepal1234567",
        "kathmandu123",
        "welcome12345",
        "changeme1234",
    }
)
# A hash to compare against when the email is unknown, so that both cases take as long.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


# Wrong email or password, a locked or inactive account, a wrong code: one answer for all,
# so that nobody learns which accounts exist.
LOGIN_REFUSED = "The email, password or code is not right, or the account is locked for a while."


def _log(session: Session, now: datetime, officer_id: int | None, action: str, detail: dict[str, Any]) -> None:
    session.connection().execute(
        insert(table(AuditLog)),
        {
            "at": now,
            "actor_kind": ActorKind.OFFICER if officer_id else ActorKind.SYSTEM,
            "actor_officer_id": officer_id,
            "action": action,
            "entity": "officer",
            "entity_id": officer_id,
            "grievance_id": None,
            "detail": detail,
        },
    )


def check_password_policy(password: str, officer: Officer) -> None:
    """Long enough, not a common password, not the officer's own email or name."""
    folded = password.casefold()
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD_CHARS} characters")
    if folded in COMMON_PASSWORDS or len(set(folded)) < 4:
        raise InvalidInput("password", "is too easy to guess")
    personal = [officer.email.split("@")[0].casefold(), *officer.name.casefold().split()]
    if any(len(part) >= 4 and part in folded for part in personal):
        raise InvalidInput("password", "must not contain your name or email")


def password_matches(officer: Officer, password: str) -> bool:
    return officer.password_hash is not None and check_password_hash(officer.password_hash, password)


def set_password(session: Session, clock: Clock, officer: Officer, password: str) -> None:
    """A new password (checked against the policy); every other session of the officer ends."""
    check_password_policy(password, officer)
    officer.password_hash = generate_password_hash(password)
    officer.password_changed_at = clock.now()
    officer.session_token = secrets.token_hex(16)
    _log(session, clock.now(), officer.id, "password_changed", {})


def authenticate(session: Session, clock: Clock, email: str, password: str, code: str | None = None) -> Officer | None:
    """The officer these credentials open, or None. A refusal is recorded (failure count,
    lock-out, audit) in the caller's unit of work, which must commit it: hence no exception."""
    now = clock.now()
    officer = session.scalar(
        select(Officer).where(func.lower(Officer.email) == email.strip().lower()).with_for_update()
    )
    if officer is None:
        check_password_hash(_DUMMY_HASH, password)
        _log(session, now, None, "login_failed", {"email": email.strip().lower()[:254]})
        return None
    if officer.locked_until is not None and officer.locked_until > now:
        _log(session, now, officer.id, "login_refused_locked", {})
        return None
    password_ok = password_matches(officer, password)
    code_ok = officer.totp_secret is None or (
        code is not None and pyotp.TOTP(officer.totp_secret).verify(code, for_time=now, valid_window=1)
    )
    if not (password_ok and code_ok and officer.active):
        officer.failed_logins += 1
        detail: dict[str, Any] = {"failures": officer.failed_logins}
        if officer.failed_logins >= MAX_FAILED_LOGINS:
            officer.locked_until, officer.failed_logins = now + LOCK_OUT, 0
            detail["locked_until"] = officer.locked_until.isoformat()
        _log(session, now, officer.id, "login_failed", detail)
        return None
    officer.failed_logins, officer.locked_until = 0, None
    if officer.session_token is None:
        officer.session_token = secrets.token_hex(16)
    _log(session, now, officer.id, "login", {})
    return officer


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(email: str, secret: str) -> str:
    """What an authenticator app scans (or is typed into) to add the account."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="GRM")


def turn_on_totp(session: Session, clock: Clock, officer: Officer, secret: str, code: str) -> bool:
    """Keep `secret` as the officer's second factor once a code from it proves the app has it."""
    if not pyotp.TOTP(secret).verify(code.strip(), for_time=clock.now(), valid_window=1):
        return False
    officer.totp_secret = secret
    _log(session, clock.now(), officer.id, "totp_turned_on", {})
    return True


def _token_digest(token: str) -> str:
    return keyring().digest("api-token", token).hex()


def issue_api_token(session: Session, clock: Clock, officer: Officer, label: str) -> str:
    """A new API token for the officer, shown once: only its HMAC is stored."""
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            officer_id=officer.id, token_hash=_token_digest(token), label=label[:80] or "API", created_at=clock.now()
        )
    )
    _log(session, clock.now(), officer.id, "api_token_issued", {"label": label[:80]})
    return token


def officer_for_token(session: Session, clock: Clock, token: str) -> Officer | None:
    """The active officer a live token acts as, or None."""
    found = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _token_digest(token.strip()), ApiToken.revoked.is_(False))
    )
    if found is None:
        return None
    officer = session.get(Officer, found.officer_id)
    if officer is None or not officer.active:
        return None
    found.last_used_at = clock.now()
    return officer
