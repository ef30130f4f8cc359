"""Everything that happened to a case, in one list: status changes, notes, notifications
(with their delivery state), attachments and corrections, oldest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.cases.corrections import CORRECTIONS
from ticketing.catalog import Catalog, catalog
from ticketing.store.case_models import Attachment, AuditLog, Note, Notification, StatusChange
from ticketing.store.models import Officer
from ticketing.store.vocabulary import ActorKind


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # status, note, notification, attachment or correction
    title: str
    text: str | None = None
    who: str | None = None
    # For attachments: the file to link to, and its type (images are shown in place).
    attachment_id: int | None = None
    mime_type: str | None = None


def timeline(session: Session, grievance_id: int) -> list[Entry]:
    officers = dict(session.execute(select(Officer.id, Officer.name)).tuples().all())

    def who(kind: str, officer_id: int | None) -> str:
        return officers.get(officer_id, "an officer") if officer_id else kind

    entries = [
        Entry(
            change.at,
            "status",
            f"{change.action.value.replace('_', ' ')}: {change.to_status.value.replace('_', ' ')}, level {change.to_level}",
            change.note,
            who(change.actor_kind.value, change.actor_officer_id),
        )
        for change in session.scalars(select(StatusChange).where(StatusChange.grievance_id == grievance_id))
    ]
    entries += [
        Entry(
            note.created_at,
            "note",
            "message from the citizen" if note.author_kind is ActorKind.CITIZEN else f"{note.visibility.value} note",
            note.body,
            who(note.author_kind.value, note.author_officer_id),
        )
        for note in session.scalars(select(Note).where(Note.grievance_id == grievance_id))
    ]
    for row in session.scalars(select(Notification).where(Notification.grievance_id == grievance_id)):
        recipient = officers.get(row.officer_id, "") if row.officer_id else row.audience.value
        state = row.delivery_status or row.status.value
        text = row.last_error if row.last_error else None
        entries.append(
            Entry(
                row.created_at, "notification", f"{row.template} to {recipient} by {row.channel.value}: {state}", text
            )
        )
    entries += [
        Entry(
            file.created_at,
            "attachment",
            f"{file.filename} ({file.mime_type}, {file.size_bytes:,} bytes)",
            None,
            who(file.uploaded_by_kind.value, file.uploaded_by_officer_id),
            file.id,
            file.mime_type,
        )
        for file in session.scalars(select(Attachment).where(Attachment.grievance_id == grievance_id))
    ]
    config = catalog(session)
    entries += [
        Entry(
            row.at,
            "correction",
            f"{CORRECTIONS[row.action]}: {_shown(config, detail.get('from'))} → {_shown(config, detail.get('to'))}",
            None,
            who(row.actor_kind.value, row.actor_officer_id),
        )
        for row in session.scalars(
            select(AuditLog).where(AuditLog.grievance_id == grievance_id, AuditLog.action.in_(CORRECTIONS))
        )
        for detail in [row.detail or {}]
    ]
    return sorted(entries, key=lambda entry: entry.at)


def _shown(config: Catalog, value: Any) -> str:
    """A corrected value as an officer reads it: a category's code, a priority, or a place's names."""
    if isinstance(value, dict):
        names = config.place_names(value.get("municipality_id"), None, None)
        ward = [f"ward {value['ward']}"] if value.get("ward") else []
        return ", ".join(ward + names) or "not set"
    return str(value) if value is not None else "not set"
