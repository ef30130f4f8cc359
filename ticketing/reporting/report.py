"""The monthly report of seed 000 section 6.2, as a spreadsheet and a PDF sent by email.

Per project and priority: grievances received, resolved and escalated (by the level they
went to) during the month, and the escalated grievances still unresolved when the report
is made. Months are Nepal's calendar months (Asia/Kathmandu), counted from the history.
Gender cases are counted like the others; the list shows references, never details.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ticketing.catalog import catalog
from ticketing.lifecycle import OPEN_STATUSES, TOP_LEVEL, Action
from ticketing.notify.notifications import outbox_row, queue
from ticketing.reporting.tables import Document, Format, Table, write
from ticketing.store.case_models import Grievance, StatusChange
from ticketing.store.crypto import keyring
from ticketing.store.models import Officer
from ticketing.store.vocabulary import Audience, NotificationChannel, Priority, Role
from ticketing.values.dates import NEPAL, officer_time

ESCALATION_LEVELS = tuple(range(2, TOP_LEVEL + 1))
PERFORMANCE_HEADER = (
    "Project",
    "Priority level",
    "Received",
    "Resolved",
    *(f"Escalated to level {level}" for level in ESCALATION_LEVELS),
)
REPORT = "monthly_report"
EMAIL = NotificationChannel.EMAIL
UNRESOLVED_HEADER = ("Reference", "Project", "Priority level", "Level", "Status", "Filed", "Due", "Held by")


@dataclass(frozen=True)
class ReportLine:
    project: str
    priority: Priority
    received: int
    resolved: int
    escalated: tuple[int, ...]  # to levels 2, 3, 4

    def cells(self) -> tuple[Any, ...]:
        return (self.project, self.priority.value, self.received, self.resolved, *self.escalated)


@dataclass(frozen=True)
class MonthlyReport:
    month: date  # the first day
    made_at: datetime
    lines: list[ReportLine]
    unresolved: list[tuple[str, ...]]

    @property
    def label(self) -> str:
        return self.month.strftime("%Y-%m")


def previous_month(now: datetime) -> date:
    """The calendar month before `now`'s, in Nepal."""
    first_of_this = now.astimezone(NEPAL).date().replace(day=1)
    return (first_of_this - timedelta(days=1)).replace(day=1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month's first and next month's first instants, Nepal time."""
    start = datetime(month.year, month.month, 1, tzinfo=NEPAL)
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, datetime(following.year, following.month, 1, tzinfo=NEPAL)


def build_report(session: Session, month: date, now: datetime) -> MonthlyReport:
    """Count the month's history, per project and priority, and list the open escalated cases."""
    start, end = month_bounds(month)
    config = catalog(session)
    key = (Grievance.project_id, Grievance.priority)
    received = Counter(
        {
            (project, priority): n
            for project, priority, n in session.execute(
                select(*key, func.count())
                .where(Grievance.created_at >= start, Grievance.created_at < end)
                .group_by(*key)
            ).tuples()
        }
    )
    moves = session.execute(
        select(*key, StatusChange.action, StatusChange.to_level, func.count())
        .join(Grievance, Grievance.id == StatusChange.grievance_id)
        .where(
            StatusChange.at >= start,
            StatusChange.at < end,
            StatusChange.action.in_((Action.RESOLVE, Action.ESCALATE, Action.REFUSE)),
        )
        .group_by(*key, StatusChange.action, StatusChange.to_level)
    ).tuples()
    resolved: Counter[tuple[int | None, Priority]] = Counter()
    escalated: Counter[tuple[int | None, Priority, int]] = Counter()
    for project, priority, action, to_level, n in moves:
        if action is Action.RESOLVE:
            resolved[(project, priority)] += n
        else:
            escalated[(project, priority, to_level)] += n
    project_ids: list[int | None] = [p.id for p in sorted(config.projects.values(), key=lambda p: p.code)]
    if any(key[0] is None for key in (*received, *resolved, *escalated)):
        project_ids.append(None)  # cases filed without a project, last
    lines = [
        ReportLine(
            config.project_code(project_id),
            priority,
            received[(project_id, priority)],
            resolved[(project_id, priority)],
            tuple(escalated[(project_id, priority, level)] for level in ESCALATION_LEVELS),
        )
        for project_id in project_ids
        for priority in Priority
    ]
    officers = dict(session.execute(select(Officer.id, Officer.name)).tuples().all())
    unresolved: list[tuple[str, ...]] = [
        (
            row.reference,
            config.project_code(row.project_id),
            row.priority.value,
            str(row.level),
            row.status.value,
            officer_time(row.created_at),
            officer_time(row.due_at),
            officers.get(row.assignee_id, "") if row.assignee_id else "",
        )
        for row in session.execute(
            select(
                Grievance.reference,
                Grievance.project_id,
                Grievance.priority,
                Grievance.level,
                Grievance.status,
                Grievance.created_at,
                Grievance.due_at,
                Grievance.assignee_id,
            )
            .where(Grievance.status.in_(OPEN_STATUSES), Grievance.level > 1)
            .order_by(Grievance.level.desc(), Grievance.created_at)
        )
    ]
    return MonthlyReport(month, now, lines, unresolved)


def as_document(report: MonthlyReport) -> Document:
    return Document(
        f"Grievance redress - monthly report {report.label}",
        f"Made {officer_time(report.made_at)} (Nepal time)",
        [
            Table(
                "Performance",
                "Performance per project and priority level",
                PERFORMANCE_HEADER,
                [line.cells() for line in report.lines],
            ),
            Table(
                "Unresolved escalated",
                f"Escalated grievances not yet resolved ({len(report.unresolved)})",
                UNRESOLVED_HEADER,
                list(report.unresolved),
            ),
        ],
    )


def write_report(report: MonthlyReport, directory: Path) -> list[Path]:
    """The report's spreadsheet and PDF under `directory`; a second run rewrites the same files."""
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    document = as_document(report)
    for form in (Format.XLSX, Format.PDF):
        content = write(document, form)
        path = directory / f"grm-report-{report.label}.{form.value}"
        path.write_bytes(content)
        files.append(path)
    return files


REPORT_ROLES = (Role.SUPER_ADMIN, Role.PROJECT_DIRECTOR, Role.BANK_VIEWER)


def queue_report(
    session: Session, now: datetime, report: MonthlyReport, files: list[Path], addresses: list[str]
) -> None:
    """Queue the report's email to the officers who oversee every project and to `addresses`
    (a repeated run for the same month queues nothing new)."""
    payload = {"month": report.label, "attachments": [str(path) for path in files]}
    officers = session.scalars(select(Officer.id).where(Officer.active, Officer.role.in_(REPORT_ROLES))).all()
    rows = [
        outbox_row(
            f"report:{report.label}:o{officer_id}:email",
            now,
            EMAIL,
            Audience.OFFICER,
            REPORT,
            payload,
            officer_id=officer_id,
        )
        for officer_id in officers
    ]
    rows += [
        outbox_row(
            f"report:{report.label}:a{keyring().digest('report', address.lower()).hex()[:24]}:email",
            now,
            EMAIL,
            Audience.ADDRESS,
            REPORT,
            payload,
            recipient=address,
        )
        for address in addresses
    ]
    queue(session, rows)
