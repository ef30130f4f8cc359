"""Figures over the cases an officer may see: the dashboard and the standard reports of
seed 000 section 6.1, counted in the database (GROUP BY, percentiles) whatever the volume.

A period is the cases in the officer's scope filed within [start, end). "Within SLA" means
resolved without ever missing a deadline (the scheduler never escalated it);
response time runs from filing to the first acknowledgement, resolution time from filing
to the resolution that stands (a refused one is undone).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from ticketing.catalog import catalog
from ticketing.lifecycle import OPEN_STATUSES, Action, Status
from ticketing.reporting.satisfaction import satisfaction_table
from ticketing.reporting.tables import Table
from ticketing.store.case_models import Grievance, StatusChange
from ticketing.store.models import Officer
from ticketing.store.sqlfunctions import hours_between, percentile, week_of
from ticketing.store.vocabulary import ActorKind, CloseReason

TREND_WEEKS = 12
RESPONSE_HOURS = hours_between(Grievance.acknowledged_at, Grievance.created_at)
RESOLUTION_HOURS = hours_between(Grievance.resolved_at, Grievance.created_at)
MISSED_A_DEADLINE = Grievance.missed_deadline
IS_OPEN = Grievance.status.in_(OPEN_STATUSES)
RESOLVED = Grievance.resolved_at.is_not(None)


@dataclass(frozen=True)
class Period:
    scope: ColumnElement[bool]
    start: datetime
    end: datetime
    now: datetime

    @property
    def cases(self) -> tuple[ColumnElement[bool], ...]:
        return (self.scope, Grievance.created_at >= self.start, Grievance.created_at < self.end)

    @property
    def overdue(self) -> ColumnElement[bool]:
        # Spelt out so that a case with no deadline counts as not overdue, never as NULL.
        return IS_OPEN & Grievance.due_at.is_not(None) & (Grievance.due_at < self.now)


@dataclass(frozen=True)
class Dashboard:
    total: int
    by_status: list[tuple[str, int]]
    by_level: list[tuple[str, int]]
    by_project: list[tuple[str, int]]
    by_category: list[tuple[str, int]]
    resolved: int
    within_sla: int
    overdue: int
    escalations: int
    median_response_hours: float | None
    median_resolution_hours: float | None
    # (week's Monday, filed, resolved), oldest first
    weekly: list[tuple[str, int, int]]
    # Of the resolutions citizens answered, the share they accepted, and their mean 1-5 rating.
    accepted_share: float | None = None
    mean_rating: float | None = None

    @property
    def within_sla_share(self) -> float | None:
        return self.within_sla / self.resolved if self.resolved else None


def _counted(session: Session, period: Period, column: Any) -> list[tuple[Any, int]]:
    rows = session.execute(select(column, func.count()).where(*period.cases).group_by(column).order_by(column))
    return [(key, n) for key, n in rows.tuples()]


def build_dashboard(session: Session, period: Period) -> Dashboard:
    """Three queries, whatever the volume: one grouped count over every dimension the page
    shows (summed here), the two medians, and the resolutions per week."""
    config = catalog(session)
    dimensions = (
        Grievance.status,
        Grievance.level,
        Grievance.project_id,
        Grievance.category_id,
        week_of(Grievance.created_at),
    )
    groups = session.execute(
        select(
            *dimensions,
            func.count(),
            func.count().filter(RESOLVED),
            func.count().filter(RESOLVED & ~MISSED_A_DEADLINE),
            func.count().filter(period.overdue),
            func.count().filter(Grievance.close_reason == CloseReason.ACCEPTED),
            func.coalesce(func.sum(Grievance.refusals), 0),
            func.coalesce(func.sum(Grievance.satisfaction), 0),
            func.count(Grievance.satisfaction),
        )
        .where(*period.cases)
        .group_by(*dimensions)
    ).all()
    by: dict[str, Counter[Any]] = {name: Counter() for name in ("status", "level", "project", "category", "week")}
    # Cases, resolved, within SLA, overdue, accepted, refusals, the ratings' sum and count.
    totals, escalations = [0] * 8, 0
    for status, level, project_id, category_id, week, *counts in groups:
        for name, key in zip(by, (status, level, project_id, category_id, week), strict=True):
            by[name][key] += counts[0]
        totals = [total + n for total, n in zip(totals, counts, strict=True)]
        # Levels only rise, one escalation (by a deadline or a refusal) at a time.
        escalations += (level - 1) * counts[0]
    response, resolution = session.execute(
        select(percentile(RESPONSE_HOURS, 0.5), percentile(RESOLUTION_HOURS, 0.5)).where(*period.cases)
    ).one()
    resolved_weekly = dict(
        session.execute(
            select(week_of(Grievance.resolved_at), func.count())
            .where(*period.cases, RESOLVED)
            .group_by(week_of(Grievance.resolved_at))
        )
        .tuples()
        .all()
    )
    accepted, refused, rating_sum, ratings = totals[4:]
    last = (period.end - timedelta(days=1)).date()
    mondays = [(last - timedelta(days=last.weekday(), weeks=n)).isoformat() for n in range(TREND_WEEKS - 1, -1, -1)]
    return Dashboard(
        total=totals[0],
        by_status=[(status.value.replace("_", " "), n) for status, n in sorted(by["status"].items())],
        by_level=[(f"level {level}", n) for level, n in sorted(by["level"].items())],
        by_project=sorted((config.project_code(pid), n) for pid, n in by["project"].items()),
        by_category=sorted(
            ((config.categories[cid].name_en if cid else "not set", n) for cid, n in by["category"].items()),
            key=lambda item: -item[1],
        ),
        resolved=totals[1],
        within_sla=totals[2],
        overdue=totals[3],
        escalations=escalations,
        median_response_hours=response,
        median_resolution_hours=resolution,
        weekly=[(monday, by["week"][monday], resolved_weekly.get(monday, 0)) for monday in mondays],
        accepted_share=accepted / (accepted + refused) if accepted + refused else None,
        mean_rating=rating_sum / ratings if ratings else None,
    )


# --- the standard reports (seed 000 section 6.1) ---


def _hours(value: float | None) -> float | str:
    return round(value, 1) if value is not None else ""


def _volume_by_status(session: Session, period: Period) -> Table:
    rows = [(status.value.replace("_", " "), n) for status, n in _counted(session, period, Grievance.status)]
    return Table("Status", "Volume by status", ("Status", "Grievances"), rows)


def _timely_resolution(session: Session, period: Period) -> Table:
    outcomes = {
        "Resolved within SLA": RESOLVED & ~MISSED_A_DEADLINE,
        "Resolved after a missed deadline": RESOLVED & MISSED_A_DEADLINE,
        "Open, on time": IS_OPEN & ~period.overdue,
        "Open, overdue": period.overdue,
        "Closed without resolution": (Grievance.status == Status.CLOSED) & ~RESOLVED,
    }
    counts = session.execute(
        select(*(func.count().filter(condition) for condition in outcomes.values())).where(*period.cases)
    ).one()
    return Table(
        "Timely resolution", "Volume by timely resolution", ("Outcome", "Grievances"), list(zip(outcomes, counts))
    )


def _escalation_levels(session: Session, period: Period) -> Table:
    now_at = {
        level: (n, still_open)
        for level, n, still_open in session.execute(
            select(Grievance.level, func.count(), func.count().filter(IS_OPEN))
            .where(*period.cases)
            .group_by(Grievance.level)
        ).tuples()
    }
    reached = dict(
        session.execute(
            select(StatusChange.to_level, func.count(StatusChange.grievance_id.distinct()))
            .join(Grievance, Grievance.id == StatusChange.grievance_id)
            .where(*period.cases, StatusChange.action.in_((Action.ESCALATE, Action.REFUSE)))
            .group_by(StatusChange.to_level)
        )
        .tuples()
        .all()
    )
    levels = sorted(set(now_at) | set(reached))
    rows = [(level, *now_at.get(level, (0, 0)), reached.get(level, 0)) for level in levels]
    return Table(
        "Escalation levels",
        "Volume by escalation level",
        ("Level", "Grievances at this level", "Open at this level", "Grievances escalated to it"),
        rows,
    )


def _time_by_project(session: Session, period: Period, hours: ColumnElement[float], title: str) -> Table:
    config = catalog(session)
    measures = (func.count(hours), percentile(hours, 0.5), percentile(hours, 0.9))
    per_project = session.execute(
        select(Grievance.project_id, *measures).where(*period.cases).group_by(Grievance.project_id)
    ).tuples()
    overall = session.execute(select(*measures).where(*period.cases)).one()
    rows = sorted((config.project_code(pid), n, _hours(median), _hours(p90)) for pid, n, median, p90 in per_project)
    rows.append(("All projects", overall[0], _hours(overall[1]), _hours(overall[2])))
    return Table(title, f"{title} (hours)", ("Project", "Grievances", "Median", "90th percentile"), rows)


def _assignment_distribution(session: Session, period: Period) -> Table:
    names = dict(session.execute(select(Officer.id, Officer.name)).tuples().all())
    rows = session.execute(
        select(
            Grievance.assignee_id,
            func.count().filter(IS_OPEN),
            func.count().filter(period.overdue),
            func.count().filter(RESOLVED),
            func.count(),
        )
        .where(*period.cases)
        .group_by(Grievance.assignee_id)
    ).tuples()
    listed = [
        (names.get(who, "") if who else "nobody", still_open, overdue, resolved, every)
        for who, still_open, overdue, resolved, every in sorted(rows, key=lambda row: -row[1])
    ]
    return Table("Assignment", "Assignment distribution", ("Held by", "Open", "Overdue", "Resolved", "All"), listed)


def _project_distribution(session: Session, period: Period) -> Table:
    config = catalog(session)
    rows = session.execute(
        select(
            Grievance.project_id,
            func.count(),
            func.count().filter(IS_OPEN),
            func.count().filter(period.overdue),
            func.count().filter(RESOLVED),
            func.count().filter(Grievance.status == Status.CLOSED),
            func.count().filter(Grievance.level > 1),
        )
        .where(*period.cases)
        .group_by(Grievance.project_id)
    ).tuples()
    listed = sorted((config.project_code(pid), *counts) for pid, *counts in rows)
    return Table(
        "Projects",
        "Project-wise distribution",
        ("Project", "Filed", "Open", "Overdue", "Resolved", "Closed", "Above level 1"),
        listed,
    )


def _user_performance(session: Session, period: Period) -> Table:
    acted = StatusChange.action
    resolution_hours = case((acted == Action.RESOLVE, hours_between(StatusChange.at, Grievance.created_at)))
    rows = session.execute(
        select(
            Officer.name,
            func.count().filter(acted == Action.ACKNOWLEDGE),
            func.count().filter(acted == Action.ASSIGN),
            func.count().filter(acted == Action.RESOLVE),
            func.count().filter(acted == Action.ESCALATE),
            func.count().filter(acted == Action.CLOSE_INVALID),
            percentile(resolution_hours, 0.5),
        )
        .join(Grievance, Grievance.id == StatusChange.grievance_id)
        .join(Officer, Officer.id == StatusChange.actor_officer_id)
        .where(*period.cases, StatusChange.actor_kind == ActorKind.OFFICER)
        .group_by(Officer.id, Officer.name)
        .order_by(Officer.name)
    ).tuples()
    return Table(
        "Officers",
        "User performance",
        (
            "Officer",
            "Acknowledged",
            "Assigned",
            "Resolved",
            "Escalated",
            "Closed as invalid",
            "Median hours to resolve",
        ),
        [(*row[:-1], _hours(row[-1])) for row in rows],
    )


# The reports an officer can choose (seed 000 section 6.3: "custom metrics"), in order.
STANDARD_REPORTS: dict[str, tuple[str, Callable[[Session, Period], Table]]] = {
    "status": ("Volume by status", _volume_by_status),
    "timely": ("Volume by timely resolution", _timely_resolution),
    "levels": ("Volume by escalation level", _escalation_levels),
    "resolution": (
        "Resolution time",
        lambda session, period: _time_by_project(session, period, RESOLUTION_HOURS, "Resolution time"),
    ),
    "response": (
        "Response time",
        lambda session, period: _time_by_project(session, period, RESPONSE_HOURS, "Response time"),
    ),
    "assignment": ("Assignment distribution", _assignment_distribution),
    "projects": ("Project-wise distribution", _project_distribution),
    "officers": ("User performance", _user_performance),
    "satisfaction": ("Satisfaction", lambda session, period: satisfaction_table(session, period.cases)),
}


def standard_reports(session: Session, period: Period, chosen: list[str]) -> list[Table]:
    return [STANDARD_REPORTS[key][1](session, period) for key in STANDARD_REPORTS if key in chosen]
