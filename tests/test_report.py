"""The monthly report: counted from the history per project and priority, written as XLSX
and PDF, and emailed (through a local SMTP server) with both attached, once per month."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook
from sqlalchemy import select

from tests.fakes import fake_smtp
from tests.helpers import FakeClock, count, file, make_jobs, officer_by_email
from ticketing.cases.moves import acknowledge, resolve
from ticketing.cases.records import Actor
from ticketing.config import Smtp
from ticketing.notify.senders import SmtpSender
from ticketing.reporting.report import month_bounds, previous_month
from ticketing.store.case_models import Notification
from ticketing.store.db import Store
from ticketing.store.vocabulary import NotificationChannel, NotificationStatus

OCTOBER = datetime(2026, 10, 3, 9, 0, tzinfo=UTC)
# 1 November 2026, 06:00 in Nepal (UTC+5:45): the scheduler's monthly run.
REPORT_TIME = datetime(2026, 11, 1, 0, 15, tzinfo=UTC)


def sheet_rows(content: bytes, sheet: str) -> list[tuple[object, ...]]:
    book = load_workbook(io.BytesIO(content), read_only=True)
    return [tuple(row) for row in book[sheet].iter_rows(values_only=True)]


def test_months_are_nepal_calendar_months() -> None:
    assert previous_month(REPORT_TIME) == date(2026, 10, 1)
    assert previous_month(datetime(2026, 10, 31, 18, 14, tzinfo=UTC)) == date(2026, 9, 1)  # 23:59 in Nepal
    start, end = month_bounds(date(2026, 12, 1))
    assert (start.isoformat(), end.isoformat()) == ("2026-12-01T00:00:00+05:45", "2027-01-01T00:00:00+05:45")


def test_the_monthly_report_counts_the_month_and_is_emailed_once(demo: Store) -> None:
    clock = FakeClock(OCTOBER)
    site = Actor.officer(officer_by_email(demo, "site.kkr@grm.example"))
    resolved = file(demo, clock)
    with demo.sessions.begin() as session:
        acknowledge(session, clock, resolved.id, site)
        resolve(session, clock, resolved.id, site, "Water sprinkled twice a day.")
    escalated = file(demo, clock)
    gender = file(demo, clock, category_code="gender.harassment", details="A worker follows my sister.")
    clock.advance(days=2)
    jobs = make_jobs(demo, clock, report_addresses=["bank.safeguards@lender.example"])
    assert jobs.escalate() == 2  # `escalated` and `gender` missed their response time
    clock.advance(days=8)
    assert jobs.escalate() == 2  # and level 2's seven days
    clock.current = REPORT_TIME
    file(demo, clock)  # November: not in October's report

    with fake_smtp() as smtp:
        sender = SmtpSender(Smtp("127.0.0.1", smtp.port, "grm@grm.example"))
        jobs.senders = {**jobs.senders, NotificationChannel.EMAIL: sender}
        paths = jobs.report()
        jobs.plan()
        jobs.dispatch()
        reports = [m for m in smtp.messages if m["Subject"] == "[GRM] Monthly report 2026-10"]
        assert jobs.report() == paths
        jobs.dispatch()
        assert len([m for m in smtp.messages if m["Subject"] == "[GRM] Monthly report 2026-10"]) == len(reports)

    # Super admin, project director and bank viewer of the demo, and the configured address.
    assert sorted(m["To"] for m in reports) == [
        "admin@grm.example",
        "bank.safeguards@lender.example",
        "bank@grm.example",
        "director@grm.example",
    ]
    with demo.sessions() as session:
        statuses = set(session.scalars(select(Notification.status).where(Notification.template == "monthly_report")))
    assert statuses == {NotificationStatus.SENT}
    assert count(demo, Notification, template="monthly_report") == 4

    attachments = {part.get_filename(): part.get_content() for part in reports[0].iter_attachments()}
    assert set(attachments) == {"grm-report-2026-10.xlsx", "grm-report-2026-10.pdf"}
    assert attachments["grm-report-2026-10.pdf"].startswith(b"%PDF")
    performance = sheet_rows(attachments["grm-report-2026-10.xlsx"], "Performance")
    assert performance[3] == (
        "Project",
        "Priority level",
        "Received",
        "Resolved",
        "Escalated to level 2",
        "Escalated to level 3",
        "Escalated to level 4",
    )
    lines = {(row[0], row[1]): row[2:] for row in performance[4:]}
    assert lines[("KKR-01", "normal")] == (2, 1, 1, 1, 0)
    assert lines[("KKR-01", "gender")] == (1, 0, 1, 1, 0)
    assert lines[("NBR-02", "high")] == (0, 0, 0, 0, 0)
    unresolved = sheet_rows(attachments["grm-report-2026-10.xlsx"], "Unresolved escalated")
    assert unresolved[3][:4] == ("Reference", "Project", "Priority level", "Level")
    assert {row[0] for row in unresolved[4:]} == {escalated.reference, gender.reference}
    assert all(row[3] == "3" for row in unresolved[4:])
    text = str(unresolved)
    assert "follows my sister" not in text and "Dust" not in text
