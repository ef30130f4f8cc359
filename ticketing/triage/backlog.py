"""Grievances filed while triage was unavailable: triaged later, by the scheduler or by hand."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.cases.corrections import set_category
from ticketing.cases.records import SYSTEM, audit
from ticketing.clock import Clock
from ticketing.store.case_models import Grievance
from ticketing.triage.triager import Triager


def triage_backlog(session: Session, clock: Clock, triager: Triager, limit: int = 50) -> int:
    """Triage up to `limit` waiting grievances; returns how many. Safe with two runners at once:
    rows another runner holds are skipped (PostgreSQL), and a triaged row no longer waits."""
    waiting = session.scalars(
        select(Grievance)
        .where(Grievance.needs_triage.is_(True))
        .order_by(Grievance.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for grievance in waiting:
        result = triager.triage(grievance.details)
        grievance.summary = grievance.summary or result.summary
        grievance.ai_categories = result.as_record()
        grievance.needs_triage = False
        audit(session, clock.now(), SYSTEM, "triage", grievance, {"category": result.category})
        if grievance.category_source is None:  # nobody chose a category: triage's choice stands
            set_category(session, clock, grievance.id, SYSTEM, result.category, "ai")
    return len(waiting)
