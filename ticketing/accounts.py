"""Officers' accounts: signing in with lock-out and a per-address throttle, the password
policy, reset passwords that must be replaced, the optional second factor (TOTP) whose codes
work once, and API tokens that expire. Every sign-in, failure and change is audited.

Passwords are compared between two short units of work, never inside one: the hash takes a
few tenths of a second, and on SQLite every unit of work holds the database's write lock.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

import pyotp
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from ticketing.clock import Clock
from ticketing.config import API_TOKEN_DAYS
from ticketing.errors import InvalidInput
from ticketing.store.allowances import Allowance, client_name
from ticketing.store.case_models import AuditLog
from ticketing.store.crypto import keyring
from ticketing.store.models import ApiToken, Officer, table
from ticketing.store.vocabulary import ActorKind

MAX_FAILED_LOGINS = 5
LOCK_OUT = timedelta(minutes=15)
# Failed sign-ins from one client address, whatever the accounts tried, within LOCK_OUT: an
# office behind one address mistyping stays below it, a guesser spraying accounts does not.
MAX_FAILURES_PER_ADDRESS = 20
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
_FAILURES_PER_ADDRESS = Allowance("login-failure", MAX_FAILURES_PER_ADDRESS, LOCK_OUT)


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


def _matches(stored: str | None, password: str) -> bool:
    """Compare with no unit of work open; an account without a password costs as long as one with."""
    return check_password_hash(stored or _DUMMY_HASH, password) and stored is not None


def _new_session_token(officer: Officer) -> None:
    # The token is part of every session cookie of the officer (admin_app.auth): a new one
    # ends every session opened under the old.
    officer.session_token = secrets.token_hex(16)


def set_password(session: Session, clock: Clock, officer: Officer, password: str) -> None:
    """A new password of the officer's own choosing; every other session of theirs ends."""
    check_password_policy(password, officer)
    officer.password_hash = generate_password_hash(password)
    officer.password_changed_at = clock.now()
    officer.password_must_change = False
    _new_session_token(officer)
    _log(session, clock.now(), officer.id, "password_changed", {})


def revoke_api_tokens(session: Session, officer: Officer) -> int:
    """Revoke every live API token of the officer; how many there were."""
    tokens = table(ApiToken)
    return (
        session.connection()
        .execute(update(tokens).where(tokens.c.officer_id == officer.id, ~tokens.c.revoked).values(revoked=True))
        .rowcount
    )


def end_access(session: Session, officer: Officer) -> int:
    """End the officer's sessions and API tokens (on deactivation and reset); tokens revoked."""
    _new_session_token(officer)
    return revoke_api_tokens(session, officer)


def reset_password(session: Session, clock: Clock, officer: Officer) -> str:
    """A one-time password for an administrator to hand over, shown once: it opens nothing but
    the page that replaces it, and the officer's sessions and API tokens end with the old one."""
    password = secrets.token_urlsafe(12)
    officer.password_hash = generate_password_hash(password)
    officer.password_changed_at = clock.now()
    officer.password_must_change = True
    officer.failed_logins, officer.locked_until = 0, None
    end_access(session, officer)
    return password


def sign_out(session: Session, clock: Clock, officer: Officer) -> None:
    """End the officer's sessions on the server, so that a copy of the cookie opens nothing."""
    _new_session_token(officer)
    _log(session, clock.now(), officer.id, "logout", {})


def _count_failure(session: Session, now: datetime, officer: Officer, action: str) -> None:
    officer.failed_logins += 1
    detail: dict[str, Any] = {"failures": officer.failed_logins}
    if officer.failed_logins >= MAX_FAILED_LOGINS:
        officer.locked_until, officer.failed_logins = now + LOCK_OUT, 0
        detail["locked_until"] = officer.locked_until.isoformat()
    _log(session, now, officer.id, action, detail)


def _locked(officer: Officer, now: datetime) -> bool:
    return officer.locked_until is not None and officer.locked_until > now


def _fresh_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step of `code` if it is one of the secret's codes within a step of now and
    later than `last_step` (RFC 6238 section 5.2: a code is accepted once)."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(totp.generate_otp(step), code.strip()):
            return step
    return None


def _spend_code(officer: Officer, code: str | None, now: datetime) -> bool:
    """Whether `code` is a fresh code of the officer's second factor, which it then uses up;
    true for an officer without one."""
    if officer.totp_secret is None:
        return True
    step = _fresh_step(officer.totp_secret, code or "", now, officer.totp_last_step)
    if step is None:
        return False
    officer.totp_last_step = step
    return True


def authenticate(
    sessions: sessionmaker[Session],
    clock: Clock,
    email: str,
    password: str,
    code: str | None = None,
    address: str = "",
) -> Officer | None:
    """The officer these credentials open (their projects loaded), or None; `address` is the
    client's. Every refusal is recorded (failure counts, lock-out, audit) in units of work of
    its own: hence no exception."""
    now = clock.now()
    email = email.strip().lower()
    client = client_name(address)
    with sessions() as session:
        if _FAILURES_PER_ADDRESS.wait(session, client, now) is not None:
            # Neither hashed nor written: a flood from one address costs a read per request.
            return None
        found = session.execute(
            select(Officer.id, Officer.password_hash).where(func.lower(Officer.email) == email)
        ).one_or_none()
    stored = found.password_hash if found is not None else None
    password_ok = _matches(stored, password)
    with sessions.begin() as session:
        officer = None
        if found is not None:
            officer = session.scalar(
                select(Officer).where(Officer.id == found.id).options(selectinload(Officer.projects)).with_for_update()
            )
        if officer is None or _locked(officer, now):
            _FAILURES_PER_ADDRESS.spend(session, client, now)
            if officer is None:
                _log(session, now, None, "login_failed", {"email": email[:254]})
            else:
                _log(session, now, officer.id, "login_refused_locked", {})
            return None
        # A password changed while the hash was compared makes the comparison stale.
        unchanged = officer.password_hash == stored
        if not (password_ok and unchanged and officer.active and _spend_code(officer, code, now)):
            _FAILURES_PER_ADDRESS.spend(session, client, now)
            _count_failure(session, now, officer, "login_failed")
            return None
        officer.failed_logins, officer.locked_until = 0, None
        if officer.session_token is None:
            _new_session_token(officer)
        _log(session, now, officer.id, "login", {})
        return officer


def confirm_password(sessions: sessionmaker[Session], clock: Clock, officer_id: int, password: str) -> bool:
    """Whether `password` is the signed-in officer's own, asked again before a change to their
    account; a wrong one counts toward the lock-out like a failed sign-in."""
    now = clock.now()
    with sessions() as session:
        stored = session.scalar(select(Officer.password_hash).where(Officer.id == officer_id))
    password_ok = _matches(stored, password)
    with sessions.begin() as session:
        officer = session.get_one(Officer, officer_id, with_for_update=True)
        if _locked(officer, now):
            return False
        if password_ok and officer.password_hash == stored:
            return True
        _count_failure(session, now, officer, "password_confirmation_failed")
        return False


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(email: str, secret: str) -> str:
    """What an authenticator app scans (or is typed into) to add the account."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="GRM")


def change_totp(session: Session, clock: Clock, officer: Officer, current: str, secret: str, code: str) -> bool:
    """Make `secret` the officer's second factor once a code from it proves the app has it; an
    officer who has one already proves it with a current code (the password is asked first,
    see confirm_password). A wrong current code counts toward the lock-out."""
    now = clock.now()
    step = _fresh_step(secret, code, now, None)
    if step is None:
        return False
    replacing = officer.totp_secret is not None
    if not _spend_code(officer, current, now):
        _count_failure(session, now, officer, "totp_change_refused")
        return False
    # The code that proved the new secret is used up too.
    officer.totp_secret, officer.totp_last_step = secret, step
    _log(session, now, officer.id, "totp_replaced" if replacing else "totp_turned_on", {})
    return True


def turn_off_totp(session: Session, clock: Clock, officer: Officer, current: str) -> bool:
    """Drop the officer's second factor, proven with a current code (after the password)."""
    now = clock.now()
    if officer.totp_secret is None or not _spend_code(officer, current, now):
        _count_failure(session, now, officer, "totp_change_refused")
        return False
    officer.totp_secret, officer.totp_last_step = None, None
    _log(session, now, officer.id, "totp_turned_off", {})
    return True


def _token_digest(token: str) -> str:
    return keyring().digest("api-token", token).hex()


def issue_api_token(
    session: Session, clock: Clock, officer: Officer, label: str, lifetime: timedelta = timedelta(days=API_TOKEN_DAYS)
) -> str:
    """A new API token for the officer, shown once: only its HMAC is stored."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        ApiToken(
            officer_id=officer.id,
            token_hash=_token_digest(token),
            label=label[:80] or "API",
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    _log(session, now, officer.id, "api_token_issued", {"label": label[:80], "days": lifetime.days})
    return token


def officer_for_token(session: Session, clock: Clock, token: str) -> Officer | None:
    """The officer a live token acts as, or None: not revoked, not expired, and its officer
    active with a password of their own (not an administrator's one-time password)."""
    now = clock.now()
    found = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == _token_digest(token.strip()), ~ApiToken.revoked, ApiToken.expires_at > now
        )
    )
    if found is None:
        return None
    officer = session.get(Officer, found.officer_id)
    if officer is None or not officer.active or officer.password_must_change:
        return None
    found.last_used_at = now
    return officer
