"""Everything that happened to a case, in one list: status changes, notes, notifications
(with their delivery state) and attachments, oldest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.store.case_models import Attachment, Note, Notification, StatusChange
from ticketing.store.models import Officer


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # status, note, notification or attachment
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
            f"{note.visibility.value} note",
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
    return sorted(entries, key=lambda entry: entry.at)
