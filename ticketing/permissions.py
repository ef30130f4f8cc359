"""Who may do what, and which cases each officer may see: seed 000 section 2.

The permission matrix says what a role may do at all; `visible` is the SQL condition that
limits every query of cases to the rows an officer may see (their projects, their
assignments, their level), and gender and integrity cases to officers cleared for them. The backoffice
and the API both filter through it, so a URL typed by hand finds nothing more than a menu.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import aliased

from ticketing.lifecycle import Action
from ticketing.store.case_models import Grievance, StatusChange
from ticketing.store.models import Officer
from ticketing.store.vocabulary import Priority, Role, cleared_for


class Permission(StrEnum):
    CREATE = "create"  # file a grievance told in person or by phone
    VIEW = "view"  # open the cases `visible` allows
    ASSIGN = "assign"  # hand a case to another officer
    UPDATE_STATUS = "update_status"  # acknowledge, escalate, resolve, close as invalid
    COMMENT = "comment"  # internal and public notes, attachments
    CORRECT = "correct"  # a case's category, priority and place
    RECORD_ANSWER = "record_answer"  # a citizen's answer to a resolution, given in person or by phone
    REPORT = "report"  # dashboard, reports and exports
    MANAGE_USERS = "manage_users"
    CONFIGURE = "configure"  # projects, categories, SLAs, routing, the outbox
    AUDIT = "audit"  # read the audit log


_HANDLING = frozenset(
    {
        Permission.CREATE,
        Permission.VIEW,
        Permission.ASSIGN,
        Permission.UPDATE_STATUS,
        Permission.COMMENT,
        Permission.CORRECT,
        Permission.RECORD_ANSWER,
    }
)

# Seed 000 section 2.2, with the roles it lists in 2.1 but leaves out of the table: the
# project admin manages its project's users and reads its cases; the bank (ADB) views all
# and reports; the focal persons who handle cases at a level act like project managers
# on their own queue. A contractor neither corrects a case's category, priority or place nor
# records a citizen's acceptance: the complaints are often about its own works.
MATRIX: dict[Role, frozenset[Permission]] = {
    Role.SUPER_ADMIN: frozenset(Permission),
    Role.PROJECT_ADMIN: frozenset({Permission.VIEW, Permission.MANAGE_USERS}),
    Role.BANK_VIEWER: frozenset({Permission.VIEW, Permission.REPORT}),
    Role.PROJECT_DIRECTOR: _HANDLING | {Permission.REPORT},
    Role.PROJECT_MANAGER: _HANDLING | {Permission.REPORT},
    Role.CONTRACTOR: frozenset({Permission.CREATE, Permission.VIEW, Permission.UPDATE_STATUS, Permission.COMMENT}),
    Role.FOCAL_PERSON: _HANDLING,
}

# Roles whose "close as invalid" is a proposal that a level-2 officer approves or rejects:
# a contractor must not close complaints about its own works alone.
CLOSE_INVALID_WITH_APPROVAL = frozenset({Role.CONTRACTOR})

# Roles that see every project's cases ("View All" of the matrix).
SEES_ALL = frozenset({Role.SUPER_ADMIN, Role.BANK_VIEWER, Role.PROJECT_DIRECTOR})


@dataclass(frozen=True)
class Viewer:
    """The signed-in officer, as permissions need them."""

    id: int
    role: Role
    level: int | None
    all_projects: bool
    project_ids: frozenset[int]
    gender_cleared: bool
    integrity_cleared: bool

    @classmethod
    def of(cls, officer: Officer) -> Viewer:
        return cls(
            officer.id,
            officer.role,
            officer.level,
            officer.all_projects,
            frozenset(project.id for project in officer.projects),
            officer.gender_cleared,
            officer.integrity_cleared,
        )

    def can(self, permission: Permission) -> bool:
        return permission in MATRIX[self.role]

    def oversees(self, project_id: int) -> bool:
        """Whether the project is theirs as a whole (to pick it in a filter), not only some of its cases."""
        return self.role in SEES_ALL or self.all_projects or project_id in self.project_ids


def _in_projects(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.all_projects:
        return true()
    if not viewer.project_ids:
        return false()
    return Grievance.project_id.in_(sorted(viewer.project_ids))


def visible(viewer: Viewer) -> ColumnElement[bool]:
    """The condition on Grievance rows this officer may see."""
    # IN over one indexed lookup, not a correlated EXISTS: the database finds the officer's
    # filings once per query instead of probing the history for every case it scans. An
    # alias, so that queries joining the history themselves do not correlate it away.
    filing = aliased(StatusChange)
    filed_by_them = Grievance.id.in_(
        select(filing.grievance_id).where(filing.action == Action.FILE, filing.actor_officer_id == viewer.id)
    )
    assigned = Grievance.assignee_id == viewer.id
    if viewer.role in SEES_ALL:
        scope: ColumnElement[bool] = true()
    elif viewer.role in (Role.PROJECT_ADMIN, Role.PROJECT_MANAGER):
        scope = or_(_in_projects(viewer), assigned, filed_by_them)
    elif viewer.role is Role.FOCAL_PERSON:
        # Their own queue, and their level's cases in their projects (to take over a colleague's).
        at_their_level = and_(_in_projects(viewer), Grievance.level == viewer.level)
        scope = or_(assigned, at_their_level, filed_by_them)
    else:  # contractors: what is assigned to them, and what they filed
        scope = or_(assigned, filed_by_them)
    hidden = [priority for priority in Priority if not cleared_for(priority, viewer)]
    return and_(scope, Grievance.priority.not_in(hidden)) if hidden else scope
