"""Deadlines: a 24 h response while new, then each level's resolution time; none at level 4.

Resolution times come from the category (inherited down the tree, like openIMIS), then the
project's policy, then the defaults of the GRM manual. Calendar hours, not working days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ticketing.lifecycle import LADDER, TOP_LEVEL, Status
from ticketing.store.models import SlaPolicy

if TYPE_CHECKING:
    from ticketing.catalog import CategoryInfo


@dataclass(frozen=True)
class Deadlines:
    response_hours: int = 24
    # Levels 1 to 3 (the top has no timeline), as the ladder sets them by default.
    level_hours: tuple[int, ...] = tuple(level.hours for level in LADDER if level.hours is not None)
    auto_close_days: int = 7
    # How long after closing a case may be reopened (by an officer, with a reason).
    reopen_days: int = 30

    @classmethod
    def of(cls, policy: SlaPolicy | None) -> Deadlines:
        if policy is None:
            return cls()
        return cls(
            response_hours=policy.response_hours,
            level_hours=(policy.level_1_hours, policy.level_2_hours, policy.level_3_hours),
            auto_close_days=policy.auto_close_days,
            reopen_days=policy.reopen_days,
        )


def resolution_hours(deadlines: Deadlines, lineage: Sequence[CategoryInfo], level: int) -> int | None:
    """Hours a level has to resolve a case; None at the top level, which has no timeline.

    `lineage` is the case's category followed by its ancestors: the nearest one that sets a
    time for this level wins, else the project's policy.
    """
    if level >= TOP_LEVEL:
        return None
    override = next((node.level_hours[level - 1] for node in lineage if node.level_hours[level - 1] is not None), None)
    return override if override is not None else deadlines.level_hours[level - 1]


def due_at(
    status: Status,
    level: int,
    created_at: datetime,
    level_entered_at: datetime,
    deadlines: Deadlines,
    lineage: Sequence[CategoryInfo],
) -> datetime | None:
    """The deadline running for a case in this state, or None when nothing is due."""
    if status is Status.NEW:
        return created_at + timedelta(hours=deadlines.response_hours)
    if status in (Status.IN_PROGRESS, Status.ESCALATED):
        hours = resolution_hours(deadlines, lineage, level)
        return None if hours is None else level_entered_at + timedelta(hours=hours)
    return None
