"""Who takes a case: the most specific active routing rule for its project, level, place
and category; gender cases only ever go to officers cleared for them."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ticketing.lifecycle import OPEN_STATUSES
from ticketing.locations import Place
from ticketing.models import Category, Grievance, Officer, Priority, RoutingRule


def _place_depth(rule: RoutingRule, place: Place) -> int | None:
    """How precisely the rule's place matches (0 = anywhere, 3 = this municipality), or None."""
    depth = 0
    for rank, (wanted, actual) in enumerate(
        (
            (rule.province_id, place.province_id),
            (rule.district_id, place.district_id),
            (rule.municipality_id, place.municipality_id),
        ),
        start=1,
    ):
        if wanted is not None:
            if wanted != actual:
                return None
            depth = rank
    return depth


def _category_depth(rule: RoutingRule, lineage: list[int]) -> int | None:
    """How deep the rule's category sits in the case's category lineage (0 = any category)."""
    if rule.category_id is None:
        return 0
    if rule.category_id not in lineage:
        return None
    return len(lineage) - lineage.index(rule.category_id)


def _lineage(category: Category | None) -> list[int]:
    """The category's id followed by its ancestors' ids."""
    ids: list[int] = []
    while category is not None:
        ids.append(category.id)
        category = category.parent
    return ids


def _least_loaded(session: Session, officers: list[Officer]) -> Officer:
    open_cases = dict(
        session.execute(
            select(Grievance.assignee_id, func.count())
            .where(Grievance.assignee_id.in_([o.id for o in officers]), Grievance.status.in_(OPEN_STATUSES))
            .group_by(Grievance.assignee_id)
        ).tuples().all()
    )
    return min(officers, key=lambda officer: (open_cases.get(officer.id, 0), officer.id))


def route(
    session: Session,
    project_id: int,
    level: int,
    place: Place,
    category: Category | None,
    priority: Priority,
) -> Officer | None:
    """The officer who should hold a case, or None when no rule covers it (an unassigned queue)."""
    rules = session.scalars(
        select(RoutingRule)
        .join(RoutingRule.officer)
        .where(
            RoutingRule.active,
            RoutingRule.level == level,
            or_(RoutingRule.project_id == project_id, RoutingRule.project_id.is_(None)),
            Officer.active,
        )
    ).all()
    lineage = _lineage(category)
    ranked: dict[tuple[int, int, int], list[Officer]] = {}
    for rule in rules:
        if priority is Priority.GENDER and not rule.officer.gender_cleared:
            continue
        place_depth = _place_depth(rule, place)
        category_depth = _category_depth(rule, lineage)
        if place_depth is None or category_depth is None:
            continue
        # A project's own rule beats a catch-all; then the finer category; then the finer place.
        rank = (int(rule.project_id is not None), category_depth, place_depth)
        ranked.setdefault(rank, [])
        if rule.officer not in ranked[rank]:
            ranked[rank].append(rule.officer)
    if not ranked:
        return None
    best = ranked[max(ranked)]
    return best[0] if len(best) == 1 else _least_loaded(session, best)
