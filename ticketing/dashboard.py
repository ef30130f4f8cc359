"""The figures of the backoffice's dashboard, over the cases an officer may see.

Counts come from GROUP BY queries; "within SLA" means resolved without ever missing a
deadline (no automatic escalation in the case's history); response time runs from filing
to the first acknowledgement, resolution time from filing to the resolution.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from ticketing.catalog import catalog
from ticketing.lifecycle import Action, Status
from ticketing.models import ActorKind, Grievance, StatusChange

TREND_WEEKS = 12


@dataclass(frozen=True)
class Dashboard:
    total: int
    by_status: list[tuple[str, int]]
    by_level: list[tuple[str, int]]
    by_project: list[tuple[str, int]]
    by_category: list[tuple[str, int]]
    resolved: int
    within_sla: int
    escalations: int
    median_response_hours: float | None
    median_resolution_hours: float | None
    # (week's Monday, filed, resolved), oldest first
    weekly: list[tuple[str, int, int]]

    @property
    def within_sla_share(self) -> float | None:
        return self.within_sla / self.resolved if self.resolved else None


def _median_hours(spans: list[timedelta]) -> float | None:
    return statistics.median(span.total_seconds() / 3600 for span in spans) if spans else None


def build_dashboard(session: Session, scope: ColumnElement[bool], start: datetime, end: datetime) -> Dashboard:
    """Figures for the cases in `scope` filed in [start, end)."""
    config = catalog(session)
    chosen: list[ColumnElement[bool]] = [scope, Grievance.created_at >= start, Grievance.created_at < end]

    def counted(column: Any) -> list[tuple[Any, int]]:
        rows = session.execute(select(column, func.count()).where(*chosen).group_by(column).order_by(column))
        return [(key, n) for key, n in rows.tuples()]

    by_status = [(status.value.replace("_", " "), n) for status, n in counted(Grievance.status)]
    by_level = [(f"level {level}", n) for level, n in counted(Grievance.level)]
    by_project = [(config.projects_by_id[pid].code, n) for pid, n in counted(Grievance.project_id)]
    by_category = sorted(
        ((config.categories[cid].name_en if cid else "not set", n) for cid, n in counted(Grievance.category_id)),
        key=lambda item: -item[1],
    )
    cases = session.execute(
        select(
            Grievance.id, Grievance.created_at, Grievance.acknowledged_at, Grievance.resolved_at, Grievance.status
        ).where(*chosen)
    ).all()
    missed = set(
        session.scalars(
            select(StatusChange.grievance_id)
            .join(Grievance, Grievance.id == StatusChange.grievance_id)
            .where(*chosen, StatusChange.action == Action.ESCALATE, StatusChange.actor_kind == ActorKind.SYSTEM)
        )
    )
    escalations = session.scalar(
        select(func.count())
        .select_from(StatusChange)
        .join(Grievance, Grievance.id == StatusChange.grievance_id)
        .where(*chosen, StatusChange.action.in_((Action.ESCALATE, Action.REFUSE)))
    )
    resolved_times = {
        gid: at
        for gid, at in session.execute(
            select(StatusChange.grievance_id, func.min(StatusChange.at))
            .join(Grievance, Grievance.id == StatusChange.grievance_id)
            .where(*chosen, StatusChange.action == Action.RESOLVE)
            .group_by(StatusChange.grievance_id)
        ).tuples()
    }
    done = [c for c in cases if c.id in resolved_times and c.status in (Status.RESOLVED, Status.CLOSED)]
    weeks = [(end - timedelta(weeks=n)).date() for n in range(TREND_WEEKS - 1, -1, -1)]
    weekly = []
    for first in weeks:
        monday = first - timedelta(days=first.weekday())
        following = monday + timedelta(weeks=1)
        filed = sum(1 for c in cases if monday <= c.created_at.date() < following)
        closed = sum(1 for at in resolved_times.values() if monday <= at.date() < following)
        weekly.append((monday.isoformat(), filed, closed))
    return Dashboard(
        total=len(cases),
        by_status=by_status,
        by_level=by_level,
        by_project=by_project,
        by_category=by_category,
        resolved=len(done),
        within_sla=sum(1 for c in done if c.id not in missed),
        escalations=escalations or 0,
        median_response_hours=_median_hours([c.acknowledged_at - c.created_at for c in cases if c.acknowledged_at]),
        median_resolution_hours=_median_hours([resolved_times[c.id] - c.created_at for c in done]),
        weekly=weekly,
    )
