"""How citizens took the resolutions of the cases in a period: accepted, refused, or left
unanswered (closed after the silent period), with the 1-5 ratings of those accepted, per
project, per category and per officer who gave the resolution. Counted from the history,
so a case resolved twice (refused, then accepted) counts both answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, aliased

from ticketing.catalog import catalog
from ticketing.lifecycle import Action
from ticketing.reporting.tables import Table
from ticketing.store.case_models import Grievance, StatusChange
from ticketing.store.models import Officer

ANSWERS = (Action.ACCEPT, Action.REFUSE, Action.AUTO_CLOSE)
COLUMNS = ("By", "Name", "Answers", "Accepted", "Refused", "Unanswered", "Accepted (%)", "Mean rating", "Ratings")


def _resolver() -> ColumnElement[Any]:
    """The officer who gave the resolution an answer is about: the last one to resolve the
    case before that answer."""
    resolved = aliased(StatusChange)
    return (
        select(resolved.actor_officer_id)
        .where(
            resolved.grievance_id == StatusChange.grievance_id,
            resolved.action == Action.RESOLVE,
            resolved.id < StatusChange.id,
        )
        .order_by(resolved.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _measures() -> tuple[ColumnElement[Any], ...]:
    accepted = StatusChange.action == Action.ACCEPT
    return (
        func.count(),
        func.count().filter(accepted),
        func.count().filter(StatusChange.action == Action.REFUSE),
        func.count().filter(StatusChange.action == Action.AUTO_CLOSE),
        func.avg(Grievance.satisfaction).filter(accepted),
        func.count(Grievance.satisfaction).filter(accepted),
    )


def _answers(cases: tuple[ColumnElement[bool], ...], *key: ColumnElement[Any]) -> Select[Any]:
    # The period's cases first (an index on the filing time), then their history (an index
    # on the case): never a scan of every answer ever given.
    in_period = select(Grievance.id).where(*cases)
    return (
        select(*key, *_measures())
        .join(Grievance, Grievance.id == StatusChange.grievance_id)
        .where(StatusChange.grievance_id.in_(in_period), StatusChange.action.in_(ANSWERS))
    )


def satisfaction_table(session: Session, cases: tuple[ColumnElement[bool], ...]) -> Table:
    config = catalog(session)
    officers = dict(session.execute(select(Officer.id, Officer.name)).tuples().all())
    names: dict[str, Callable[[Any], str]] = {
        "project": lambda key: config.project_code(key),
        "category": lambda key: config.categories[key].name_en if key else "not set",
        "officer": lambda key: officers.get(key, "") if key else "nobody",
    }
    keys: dict[str, ColumnElement[Any]] = {
        "project": Grievance.__table__.c.project_id,
        "category": Grievance.__table__.c.category_id,
        "officer": _resolver(),
    }
    rows = []
    for by, key in keys.items():
        found = session.execute(_answers(cases, key).group_by(key)).tuples()
        listed = []
        for value, answers, accepted, refused, silent, rating, ratings in found:
            answered = accepted + refused
            share = round(100 * accepted / answered) if answered else ""
            mean = round(float(rating), 1) if rating is not None else ""
            listed.append((by, names[by](value), answers, accepted, refused, silent, share, mean, ratings))
        rows += sorted(listed, key=lambda row: str(row[1]))
    return Table("Satisfaction", "Citizens' satisfaction with the resolutions", COLUMNS, rows)
