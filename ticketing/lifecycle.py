"""The grievance state machine: one table of every legal move, nothing implicit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ticketing.errors import IllegalTransition


@dataclass(frozen=True)
class Level:
    """A rung of the escalation ladder: who handles a case there, in each language the GRM
    speaks, and the hours it has by default before the case climbs (none at the top)."""

    handler: Mapping[str, str]
    hours: int | None


# The GRM manual's four tiers, from the site to the courts. A project's SLA policy and a
# category may shorten or lengthen each level's hours (ticketing/sla.py).
LADDER: tuple[Level, ...] = (
    Level({"en": "site safeguards focal person", "ne": "साइटका सुरक्षा सम्पर्क व्यक्ति"}, 48),
    Level({"en": "project implementation unit's focal person", "ne": "आयोजना कार्यान्वयन इकाइका सम्पर्क व्यक्ति"}, 7 * 24),
    Level({"en": "grievance redress committee", "ne": "गुनासो सुनुवाइ समिति"}, 15 * 24),
    Level({"en": "legal institutions", "ne": "कानुनी निकाय"}, None),
)
TOP_LEVEL = len(LADDER)


def handler_name(level: int, language: str) -> str:
    """Who handles a case at `level`, in `language` (English when the GRM does not speak it)."""
    names = LADDER[level - 1].handler
    return names.get(language, names["en"])


class Status(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Action(StrEnum):
    FILE = "file"
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    ACCEPT = "accept"
    REFUSE = "refuse"
    AUTO_CLOSE = "auto_close"
    CLOSE_INVALID = "close_invalid"
    REOPEN = "reopen"


OPEN_STATUSES = frozenset({Status.NEW, Status.IN_PROGRESS, Status.ESCALATED})

# (current status, action) -> next status. Filing is the one move with no current status.
TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.NEW, Action.ACKNOWLEDGE): Status.IN_PROGRESS,
    (Status.NEW, Action.ASSIGN): Status.NEW,
    (Status.NEW, Action.ESCALATE): Status.ESCALATED,
    (Status.NEW, Action.CLOSE_INVALID): Status.CLOSED,
    (Status.IN_PROGRESS, Action.ASSIGN): Status.IN_PROGRESS,
    (Status.IN_PROGRESS, Action.ESCALATE): Status.ESCALATED,
    (Status.IN_PROGRESS, Action.RESOLVE): Status.RESOLVED,
    (Status.IN_PROGRESS, Action.CLOSE_INVALID): Status.CLOSED,
    # The officer of the new level takes the case over by acknowledging it.
    (Status.ESCALATED, Action.ACKNOWLEDGE): Status.IN_PROGRESS,
    (Status.ESCALATED, Action.ASSIGN): Status.ESCALATED,
    (Status.ESCALATED, Action.ESCALATE): Status.ESCALATED,
    (Status.ESCALATED, Action.RESOLVE): Status.RESOLVED,
    (Status.ESCALATED, Action.CLOSE_INVALID): Status.CLOSED,
    (Status.RESOLVED, Action.ACCEPT): Status.CLOSED,
    (Status.RESOLVED, Action.AUTO_CLOSE): Status.CLOSED,
    # A refusal reopens the case one level up (it stays at the top level, the legal route).
    (Status.RESOLVED, Action.REFUSE): Status.ESCALATED,
    # Within the project's window after closing, at the level it closed at, its clock restarted.
    (Status.CLOSED, Action.REOPEN): Status.IN_PROGRESS,
}


def next_status(status: Status, action: Action, level: int) -> Status:
    """The status `action` leads to, or IllegalTransition when the table has no such move."""
    target = TRANSITIONS.get((status, action))
    if target is None or (action is Action.ESCALATE and level >= TOP_LEVEL):
        raise IllegalTransition(status.value, action.value, level)
    return target


def next_level(action: Action, level: int) -> int:
    """The level after `action`: escalations and refusals climb one, capped at the top."""
    if action in (Action.ESCALATE, Action.REFUSE):
        return min(level + 1, TOP_LEVEL)
    return level
