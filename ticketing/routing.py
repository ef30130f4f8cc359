"""Who takes a case: the most specific active routing rule for its project, level, place
and category; gender and integrity cases only ever go to officers cleared for them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ticketing.catalog import Catalog, RuleInfo
from ticketing.lifecycle import OPEN_STATUSES
from ticketing.places.locations import Place
from ticketing.store.case_models import Grievance
from ticketing.store.vocabulary import Priority, cleared_for


def _place_depth(rule: RuleInfo, place: Place) -> int | None:
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


def _category_depth(rule: RuleInfo, lineage: list[int]) -> int | None:
    """How deep the rule's category sits in the case's category lineage (0 = any category)."""
    if rule.category_id is None:
        return 0
    if rule.category_id not in lineage:
        return None
    return len(lineage) - lineage.index(rule.category_id)


def _least_loaded(session: Session, officer_ids: list[int]) -> int:
    open_cases = dict(
        session.execute(
            select(Grievance.assignee_id, func.count())
            .where(Grievance.assignee_id.in_(officer_ids), Grievance.status.in_(OPEN_STATUSES))
            .group_by(Grievance.assignee_id)
        )
        .tuples()
        .all()
    )
    return min(officer_ids, key=lambda officer_id: (open_cases.get(officer_id, 0), officer_id))


def route(
    session: Session,
    catalog: Catalog,
    project_id: int | None,
    level: int,
    place: Place,
    category_id: int | None,
    priority: Priority,
) -> int | None:
    """The id of the officer who should hold a case, or None when no rule covers it.

    A case without a project is covered only by the rules for every project (by place)."""
    lineage = [node.id for node in catalog.lineage(category_id)]
    ranked: dict[tuple[int, int, int], list[int]] = {}
    for rule in catalog.rules:
        if rule.level != level or rule.project_id not in (None, project_id):
            continue
        if not cleared_for(priority, rule):
            continue
        place_depth = _place_depth(rule, place)
        category_depth = _category_depth(rule, lineage)
        if place_depth is None or category_depth is None:
            continue
        # A project's own rule beats a catch-all; then the finer category; then the finer place.
        rank = (int(rule.project_id is not None), category_depth, place_depth)
        candidates = ranked.setdefault(rank, [])
        if rule.officer_id not in candidates:
            candidates.append(rule.officer_id)
    if not ranked:
        return None
    best = ranked[max(ranked)]
    # Equally good officers share the work: the one with the fewest open cases takes it.
    return best[0] if len(best) == 1 else _least_loaded(session, best)
