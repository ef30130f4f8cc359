"""The cases and everything that hangs off them: the complainant, the grievance, its history
(status changes, audit rows, append-only), notes, files, notifications and failed lookups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    Unicode,
    event,
    false,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ticketing.errors import HistoryIsAppendOnly
from ticketing.lifecycle import Action, Status
from ticketing.store.models import Base, Category, LocatedMixin, Officer, Project
from ticketing.store.types import EncryptedText, text_enum
from ticketing.store.vocabulary import (
    ActorKind,
    Audience,
    Channel,
    CloseReason,
    NoteVisibility,
    NotificationChannel,
    NotificationStatus,
    Priority,
)


class Complainant(Base):
    """The citizen behind grievances; personal fields are encrypted, the phone also hashed."""

    __tablename__ = "complainant"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(EncryptedText)
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    # One complainant per phone: returning citizens are recognised by it.
    phone_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(EncryptedText)
    address: Mapped[str | None] = mapped_column(EncryptedText)
    # The citizen's last WhatsApp message: free-form replies are allowed for 24 h after it.
    whatsapp_inbound_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Grievance(LocatedMixin, Base):
    __tablename__ = "grievance"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    # None when the citizen did not know the project: the case is routed by its place alone.
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    complainant_id: Mapped[int] = mapped_column(ForeignKey("complainant.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    priority: Mapped[Priority] = mapped_column(text_enum(Priority))
    status: Mapped[Status] = mapped_column(text_enum(Status))
    level: Mapped[int] = mapped_column(default=1)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"), index=True)
    channel: Mapped[Channel] = mapped_column(text_enum(Channel))
    language: Mapped[str] = mapped_column(String(8))
    details: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    ai_categories: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Who chose the category: triage ("ai"), the citizen at the recap, or an officer. An
    # officer's choice makes the case a labelled example for triage.
    category_source: Mapped[str | None] = mapped_column(String(16))
    # Filed while triage was unavailable or too slow: the scheduler triages it later.
    needs_triage: Mapped[bool] = mapped_column(default=False, index=True)
    ward: Mapped[int | None]
    # The village or tole, as the citizen wrote it with the ward (free text, never matched).
    locality: Mapped[str | None] = mapped_column(String(200))
    # The spot the citizen shared from WhatsApp, if they did (WGS 84 degrees).
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    level_entered_at: Mapped[datetime]
    # The next deadline (response, then the level's resolution); NULL when none runs.
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    # Set when the scheduler escalated the case for a passed deadline: a case resolved
    # without it was resolved within its SLA (the history says the same, at a higher price).
    missed_deadline: Mapped[bool] = mapped_column(default=False, server_default=false())
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    # The citizen's 1-5 rating of the resolution they accepted, when they gave one.
    satisfaction: Mapped[int | None]
    # The citizen's phone is proven theirs: a WhatsApp sender's own number, a one-time code
    # typed back (ticketing.cases.verification) or an officer's filing. Until then the case gets
    # no SMS or WhatsApp message, so that a mistyped number tells a stranger nothing.
    phone_verified: Mapped[bool] = mapped_column(default=False, server_default=false())
    # How many resolutions the citizen refused: the dashboard counts answers without the history.
    refusals: Mapped[int] = mapped_column(default=0, server_default="0")
    close_reason: Mapped[CloseReason | None] = mapped_column(text_enum(CloseReason))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("grievance.id"))
    # A contractor's proposal to close the case as invalid, waiting for a level-2 officer:
    # {"by": officer id, "at": ISO time, "reason": ..., "duplicate_of": reference or None}.
    invalid_proposal: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Set by every lifecycle move, in its own transaction; the scheduler then turns the status
    # changes after `notified_change_id` into notifications and clears it (ticketing.notify.notifications).
    notify_pending: Mapped[bool] = mapped_column(default=True)
    notified_change_id: Mapped[int] = mapped_column(default=0)
    # The deadline the officers were last warned about, so each deadline is announced once.
    warned_due_at: Mapped[datetime | None]
    # Optimistic lock: a write based on a stale read fails instead of overwriting.
    version: Mapped[int] = mapped_column(default=1)

    # Loaded on access: the lifecycle reads configuration from the catalog snapshot, and the
    # complainant's fields are decrypted only where someone needs to see them.
    project: Mapped[Project] = relationship()
    complainant: Mapped[Complainant] = relationship()
    category: Mapped[Category | None] = relationship()
    assignee: Mapped[Officer | None] = relationship()

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_grievance_project_status", "project_id", "status"),
        # Only resolved cases wait for the auto-close; indexing just those keeps inserts cheap.
        Index(
            "ix_grievance_resolved_at",
            "resolved_at",
            postgresql_where=text("status = 'resolved'"),
            sqlite_where=text("status = 'resolved'"),
        ),
        # Few cases wait for their notifications at any time; the index holds only those.
        Index(
            "ix_grievance_notify_pending",
            "notify_pending",
            postgresql_where=text("notify_pending"),
            sqlite_where=text("notify_pending"),
        ),
    )


class StatusChange(Base):
    """One step of a grievance's history. Append-only."""

    __tablename__ = "status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    grievance_id: Mapped[int] = mapped_column(ForeignKey("grievance.id"), index=True)
    at: Mapped[datetime]
    action: Mapped[Action] = mapped_column(text_enum(Action))
    from_status: Mapped[Status | None] = mapped_column(text_enum(Status))
    to_status: Mapped[Status] = mapped_column(text_enum(Status))
    from_level: Mapped[int | None]
    to_level: Mapped[int]
    actor_kind: Mapped[ActorKind] = mapped_column(text_enum(ActorKind))
    # Indexed: "the cases this officer filed" is part of their scope (ticketing.permissions).
    actor_officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    note: Mapped[str | None] = mapped_column(Text)


class Note(Base):
    """A comment on a case: internal ones stay in the backoffice, public ones reach the citizen."""

    __tablename__ = "note"

    id: Mapped[int] = mapped_column(primary_key=True)
    grievance_id: Mapped[int] = mapped_column(ForeignKey("grievance.id"), index=True)
    created_at: Mapped[datetime]
    visibility: Mapped[NoteVisibility] = mapped_column(text_enum(NoteVisibility))
    author_kind: Mapped[ActorKind] = mapped_column(text_enum(ActorKind))
    author_officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    body: Mapped[str] = mapped_column(Text)


class StoredFileMixin:
    """A file whose bytes live under var/attachments/, named by their hash."""

    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    mime_type: Mapped[str] = mapped_column(String(100))


class Attachment(StoredFileMixin, Base):
    """A file given with a case."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    grievance_id: Mapped[int] = mapped_column(ForeignKey("grievance.id"), index=True)
    created_at: Mapped[datetime]
    uploaded_by_kind: Mapped[ActorKind] = mapped_column(text_enum(ActorKind))
    uploaded_by_officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))


class Upload(StoredFileMixin, Base):
    """A file a citizen sent in a chat before the grievance it goes with was filed.

    Its bytes are already under var/attachments/; filing (or a later message in the same
    conversation) turns it into an Attachment. Unclaimed rows expire (UPLOAD_TTL).
    """

    __tablename__ = "upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random, given to the browser that sent the file; it names the file in the conversation.
    token: Mapped[str] = mapped_column(String(32), unique=True)
    # HMAC of the conversation that sent it: only that conversation can claim it.
    owner_digest: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]


class Notification(Base):
    """An outbox row: one message to one person about one event, queued once, sent later.

    Officers and citizens are named by reference (`officer_id`, or the grievance's
    complainant) and their address is read when the message is sent, so the outbox keeps no
    copy of anyone's contact details; `recipient` holds an address only for messages to
    configured addresses (the monthly report).
    """

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    # (ticket, event occurrence, level, recipient, channel): a repeated run queues nothing twice.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    grievance_id: Mapped[int | None] = mapped_column(ForeignKey("grievance.id"), index=True)
    created_at: Mapped[datetime]
    channel: Mapped[NotificationChannel] = mapped_column(text_enum(NotificationChannel))
    audience: Mapped[Audience] = mapped_column(text_enum(Audience))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    recipient: Mapped[str | None] = mapped_column(EncryptedText)
    # The event, which names the message template (ticketing.notify.messages).
    template: Mapped[str] = mapped_column(String(80))
    level: Mapped[int | None]
    for_action: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[NotificationStatus] = mapped_column(text_enum(NotificationStatus))
    attempts: Mapped[int] = mapped_column(default=0)
    # When a pending row may next be tried; a claimed row is pushed ahead by a lease.
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # The provider's id for the message (Twilio's MessageSid) and its delivery reports.
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)
    delivery_status: Mapped[str | None] = mapped_column(String(24))

    __table_args__ = (Index("ix_notification_status_next_attempt_at", "status", "next_attempt_at"),)


class NotificationAttempt(Base):
    """One try at sending an outbox row, whatever came of it. Append-only."""

    __tablename__ = "notification_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"), index=True)
    at: Mapped[datetime]
    # sent, retry (a failure that will be tried again), failed (for good) or cancelled
    outcome: Mapped[str] = mapped_column(String(16))
    channel: Mapped[NotificationChannel] = mapped_column(text_enum(NotificationChannel))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)


class AuditLog(Base):
    """Who did what to which record, and when. Append-only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index on `at`: ids grow with time, so the newest rows are found by id.
    at: Mapped[datetime]
    actor_kind: Mapped[ActorKind] = mapped_column(text_enum(ActorKind))
    actor_officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    grievance_id: Mapped[int | None] = mapped_column(ForeignKey("grievance.id"), index=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class LookupFailure(Base):
    """One event an allowance counts (ticketing.store.allowances): a failed lookup or sign-in, a file
    received; kept a day at most, so that guessing and flooding are slowed. The table keeps
    its first use's name."""

    __tablename__ = "lookup_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    # HMAC of who or what was tried (a conversation, a reference): no readable identifier.
    key_digest: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]

    __table_args__ = (Index("ix_lookup_failure_key_digest_at", "key_digest", "at"),)


class PhoneCode(Base):
    """A one-time code sent by SMS to prove that a conversation holds a phone
    (ticketing.cases.verification). Only keyed hashes of the code and the conversation are kept."""

    __tablename__ = "phone_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_digest: Mapped[str] = mapped_column(String(64), index=True)
    phone: Mapped[str] = mapped_column(EncryptedText)
    code_digest: Mapped[str] = mapped_column(String(64))
    # The filing whose phone the code proves, and the name and e-mail it gave: they replace
    # those kept for the number only once the number is proven.
    grievance_id: Mapped[int | None] = mapped_column(ForeignKey("grievance.id"))
    claimed: Mapped[str | None] = mapped_column(EncryptedText)
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    wrong_tries: Mapped[int] = mapped_column(default=0)
    # Confirmed, or replaced by a newer code for the same conversation.
    ended_at: Mapped[datetime | None]


# APScheduler's job store (ticketing.scheduler), declared here so that migrations create it
# like every other table; the columns are those APScheduler 3 expects.
scheduler_job = Table(
    "scheduler_job",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


APPEND_ONLY = (StatusChange, AuditLog, NotificationAttempt)


@event.listens_for(Session, "before_flush")
def _guard_history(session: Session, flush_context: object, instances: object) -> None:
    """History rows are evidence: the ORM may add them, never change or delete them."""
    for row in (*session.dirty, *session.deleted):
        if isinstance(row, APPEND_ONLY) and (row in session.deleted or session.is_modified(row)):
            raise HistoryIsAppendOnly(type(row).__name__)
