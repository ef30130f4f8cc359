"""Who changed a case and what every change leaves behind: the status change and the audit row,
written at once or gathered for a sweep; and the cleaning every typed text gets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ticketing.errors import InvalidInput
from ticketing.lifecycle import Action, Status
from ticketing.store.case_models import AuditLog, Grievance, StatusChange
from ticketing.store.models import table
from ticketing.store.vocabulary import ActorKind


@dataclass(frozen=True)
class Actor:
    """Who makes a change: an officer, the citizen, or the system (scheduler, auto rules)."""

    kind: ActorKind
    officer_id: int | None = None

    @classmethod
    def officer(cls, officer_id: int) -> Actor:
        return cls(ActorKind.OFFICER, officer_id)


SYSTEM = Actor(ActorKind.SYSTEM)


CITIZEN = Actor(ActorKind.CITIZEN)


# Half of a UTF-16 pair, alone: JSON may carry one, UTF-8 (and so no store) has none.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def optional_text(value: str | None) -> str | None:
    # A NUL never means anything in what people type, and PostgreSQL's text cannot hold one.
    text = _LONE_SURROGATE.sub("\ufffd", (value or "").replace("\x00", "")).strip()
    return text or None


def required_text(value: str | None, field_name: str) -> str:
    text = optional_text(value)
    if text is None:
        raise InvalidInput(field_name, "is required")
    return text


def _audit_row(
    now: datetime, actor: Actor, action: str, grievance: Grievance, detail: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "at": now,
        "actor_kind": actor.kind,
        "actor_officer_id": actor.officer_id,
        "action": action,
        "entity": "grievance",
        "entity_id": grievance.id,
        "grievance_id": grievance.id,
        "detail": detail,
    }


def audit(
    session: Session,
    now: datetime,
    actor: Actor,
    action: str,
    grievance: Grievance,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append an audit row about `grievance`."""
    # A plain INSERT on the connection rather than an ORM object: history is written, never
    # read back here, and filing is the hot path (see docs/benchmarks.md).
    session.connection().execute(insert(table(AuditLog)), _audit_row(now, actor, action, grievance, detail))


@dataclass
class History:
    """Status changes and audit rows gathered over many moves, then inserted with one
    statement each: what lets a sweep move thousands of cases in seconds."""

    changes: list[dict[str, Any]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)

    def write(self, session: Session) -> None:
        connection = session.connection()
        if self.changes:
            connection.execute(insert(table(StatusChange)), self.changes)
        if self.audits:
            connection.execute(insert(table(AuditLog)), self.audits)
        self.changes, self.audits = [], []


def record(
    session: Session,
    now: datetime,
    grievance: Grievance,
    action: Action,
    actor: Actor,
    from_status: Status | None,
    from_level: int | None,
    note: str | None,
    history: History | None = None,
) -> None:
    """Append the status change and the audit row that every lifecycle move leaves behind;
    into `history` when given (its owner writes it), else at once."""
    detail: dict[str, Any] = {"from": from_status, "to": grievance.status, "level": grievance.level}
    if note:
        detail["note"] = note
    gathered = history if history is not None else History()
    gathered.changes.append(
        {
            "grievance_id": grievance.id,
            "at": now,
            "action": action,
            "from_status": from_status,
            "to_status": grievance.status,
            "from_level": from_level,
            "to_level": grievance.level,
            "actor_kind": actor.kind,
            "actor_officer_id": actor.officer_id,
            "assignee_id": grievance.assignee_id,
            "note": note,
        }
    )
    gathered.audits.append(_audit_row(now, actor, action.value, grievance, detail))
    if history is None:
        gathered.write(session)
