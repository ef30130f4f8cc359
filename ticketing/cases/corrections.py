"""Officers put right what the chat or triage got wrong: a case's category, its priority, its
place. Each correction keeps the value it replaces in the case's history (an audit row the
timeline shows), and the case's officer and deadline follow the corrected case.

Callers own the unit of work (`with store.sessions.begin() as session:`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ticketing.cases.moves import lock, reset_deadline, route_again
from ticketing.cases.records import Actor, audit
from ticketing.catalog import catalog
from ticketing.clock import Clock
from ticketing.errors import InvalidInput
from ticketing.lifecycle import OPEN_STATUSES
from ticketing.places.locations import resolve_place
from ticketing.store.case_models import Grievance
from ticketing.store.vocabulary import ActorKind, Priority, cleared_for

CATEGORY_SOURCES = frozenset({"ai", "citizen", "officer"})
# The audit actions the case's history shows as corrections, with what each changed.
CORRECTIONS = {"set_category": "category", "raise_priority": "priority", "set_place": "place"}
# Priorities an officer may choose; a confidential case's priority comes with its category.
RANKS = (Priority.NORMAL, Priority.HIGH)


def _keep_with_a_cleared_officer(session: Session, grievance: Grievance) -> None:
    """An open case keeps its officer unless it has none, or has become a gender or integrity
    case its officer is not cleared for: then it is routed again at its level."""
    if grievance.status not in OPEN_STATUSES:
        return
    config = catalog(session)
    holder = config.officers.get(grievance.assignee_id) if grievance.assignee_id else None
    if holder is None or not cleared_for(grievance.priority, holder):
        route_again(session, config, grievance)
    reset_deadline(config, grievance)


def _corrected(session: Session, clock: Clock, actor: Actor, grievance: Grievance, action: str, detail: Any) -> None:
    grievance.updated_at = clock.now()
    audit(session, grievance.updated_at, actor, action, grievance, detail)


def set_category(
    session: Session, clock: Clock, grievance_id: int, actor: Actor, code: str, source: str | None = None
) -> Grievance:
    """File the case under another category: its priority and deadline follow. An officer's
    choice makes the case a labelled example for triage."""
    source = source or ("officer" if actor.kind is ActorKind.OFFICER else "ai")
    if source not in CATEGORY_SOURCES:
        raise InvalidInput("category_source", "unknown source")
    grievance = lock(session, grievance_id)
    config = catalog(session)
    category = config.category(code)
    before = config.categories[grievance.category_id].code if grievance.category_id in config.categories else None
    grievance.category_id = category.id
    grievance.category_source = source
    grievance.priority = config.priority(category.id)
    _keep_with_a_cleared_officer(session, grievance)
    _corrected(session, clock, actor, grievance, "set_category", {"from": before, "to": category.code})
    return grievance


def raise_priority(session: Session, clock: Clock, grievance_id: int, actor: Actor, priority: str) -> Grievance:
    """Make a case more urgent than its category says (normal to high). Lowering is not a
    correction an officer makes alone: the category decides, and a confidential case stays one."""
    chosen = next((rank for rank in RANKS if rank.value == priority), None)
    if chosen is None:
        raise InvalidInput("priority", "choose normal or high")
    grievance = lock(session, grievance_id)
    before = grievance.priority
    if before.confidential or RANKS.index(chosen) <= RANKS.index(before):
        raise InvalidInput("priority", f"the case is already {before.value} priority")
    grievance.priority = chosen
    _keep_with_a_cleared_officer(session, grievance)
    _corrected(session, clock, actor, grievance, "raise_priority", {"from": before.value, "to": chosen.value})
    return grievance


def set_place(
    session: Session, clock: Clock, grievance_id: int, actor: Actor, municipality_id: int, ward: int | None
) -> Grievance:
    """Put the case where it happened: the municipality (its district and province follow)
    and the ward. A case without a project was routed by its place, so it is routed again."""
    grievance = lock(session, grievance_id)
    config = catalog(session)
    place, ward = resolve_place(config, None, None, municipality_id, ward)
    before = {"municipality_id": grievance.municipality_id, "ward": grievance.ward}
    grievance.province_id, grievance.district_id = place.province_id, place.district_id
    grievance.municipality_id, grievance.ward = place.municipality_id, ward
    if grievance.project_id is None and grievance.status in OPEN_STATUSES:
        route_again(session, config, grievance)
    _keep_with_a_cleared_officer(session, grievance)
    after = {"municipality_id": municipality_id, "ward": ward}
    _corrected(session, clock, actor, grievance, "set_place", {"from": before, "to": after})
    return grievance
