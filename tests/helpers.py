"""Test helpers: a clock that stands still, and short ways to file and move cases."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from admin_app import create_app
from ticketing.cases.filing import Submission, file_grievance
from ticketing.notify.outbox import WhatsAppRules
from ticketing.notify.senders import FileSender, Sender
from ticketing.scheduler import INTERVALS, Jobs, SchedulerSettings
from ticketing.store.case_models import Grievance, StatusChange
from ticketing.store.db import Store
from ticketing.store.models import Officer
from ticketing.store.vocabulary import Channel, NotificationChannel, Role

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MAKWANPUR = 30
HETAUDA = 337  # a municipality in Makwanpur
THAHA = 338  # another one
BAGMATI = 3

SUBMISSION = Submission(
    project_code="KKR-01",
    details="Dust from the trucks covers our maize field every day.",
    channel=Channel.WEBCHAT,
    name="Sunita Tamang",
    phone="9841234567",
    municipality_id=HETAUDA,
    ward=4,
    category_code="environment.dust",
    # Most tests are about what follows a filing: the citizen's number is taken as proven
    # (tests/test_verification.py covers the filings whose number is not).
    phone_verified=True,
)


class FakeClock:
    """A clock that only moves when a test moves it."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


def submission(**changes: Any) -> Submission:
    return replace(SUBMISSION, **changes)


def file(store: Store, clock: FakeClock, **changes: Any) -> Grievance:
    """File a grievance in its own unit of work and return it (detached, fully loaded)."""
    with store.sessions.begin() as session:
        grievance = file_grievance(session, clock, submission(**changes))
        session.flush()
        return grievance


def history(store: Store, grievance_id: int) -> list[StatusChange]:
    with store.sessions() as session:
        return list(
            session.scalars(
                select(StatusChange).where(StatusChange.grievance_id == grievance_id).order_by(StatusChange.id)
            )
        )


def count(store: Store, model: type, **where: Any) -> int:
    with store.sessions() as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return session.scalar(query) or 0


def outbox_file(store: Store) -> Path:
    return store.settings.var_dir / "sent.jsonl"


def make_jobs(
    store: Store,
    clock: FakeClock,
    senders: Mapping[NotificationChannel, Sender] | None = None,
    *,
    warn_hours: float = 24,
    whatsapp_template: str | None = None,
    report_addresses: Sequence[str] = (),
) -> Jobs:
    """The scheduler's jobs on a fake clock; channels not given write to `outbox_file`."""
    file_sender = FileSender(outbox_file(store))
    chosen: dict[NotificationChannel, Sender] = {channel: file_sender for channel in NotificationChannel}
    chosen |= senders or {}
    settings = SchedulerSettings(
        INTERVALS, timedelta(hours=warn_hours), list(report_addresses), WhatsAppRules(whatsapp_template)
    )
    return Jobs(store, clock, chosen, settings)


def officer_by_email(store: Store, email: str) -> int:
    with store.sessions() as session:
        officer_id = session.scalar(select(Officer.id).where(Officer.email == email))
        assert officer_id is not None
        return officer_id


# --- the backoffice, through Flask's test client ---

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


def add_project_admin(store: Store, clock: FakeClock, email: str) -> None:
    """A project admin of KKR-01 (the demo has none), with the demo's password."""
    with store.sessions.begin() as session:
        manager = session.scalars(select(Officer).where(Officer.email == "manager.kkr@grm.example")).one()
        session.add(
            Officer(
                name=f"Project Admin ({email})",
                email=email,
                role=Role.PROJECT_ADMIN,
                projects=list(manager.projects),
                password_hash=manager.password_hash,
                created_at=clock.now(),
            )
        )
