"""What can happen to a grievance, as plain functions over a session and a clock.

Callers own the unit of work (`with store.sessions.begin() as session:`); every function
here writes its status change and audit row inside that same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Table, and_, bindparam, insert, or_, select, text, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.sql.selectable import TextualSelect

from ticketing.catalog import Catalog, catalog
from ticketing.clock import Clock
from ticketing.errors import ConcurrentChange, GrievanceNotFound, IllegalTransition, InvalidInput, NotFound
from ticketing.lifecycle import OPEN_STATUSES, TOP_LEVEL, Action, Status, next_level, next_status
from ticketing.notify.messages import CITIZEN as CITIZEN_MESSAGES
from ticketing.notify.notifications import queue_public_note
from ticketing.places.locations import Place, resolve_place
from ticketing.routing import route
from ticketing.sla import due_at
from ticketing.store.crypto import keyring
from ticketing.store.models import (
    ActorKind,
    AuditLog,
    Channel,
    CloseReason,
    Complainant,
    Grievance,
    Note,
    NoteVisibility,
    Priority,
    StatusChange,
    table,
)
from ticketing.values.emails import normalise_email
from ticketing.values.phones import normalise_phone
from ticketing.values.references import new_reference, normalise_reference

MAX_DETAILS_CHARS = 10_000
# Room for an officer's prefix (see _owned_key) within the column's 120 characters.
MAX_IDEMPOTENCY_KEY_CHARS = 100
_REFERENCE_ATTEMPTS = 5


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


@dataclass(frozen=True)
class Submission:
    """A grievance as a channel collected it."""

    project_code: str | None  # None: the citizen did not know it
    details: str
    channel: Channel
    language: str = "en"
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    province_id: int | None = None
    district_id: int | None = None
    municipality_id: int | None = None
    ward: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    category_code: str | None = None
    # Who chose category_code: "ai" (triage), "citizen" (corrected at the recap) or "officer".
    category_source: str | None = None
    summary: str | None = None
    ai_categories: list[dict[str, Any]] | None = None
    # Triage was unavailable or too slow at filing: it runs again later.
    needs_triage: bool = False
    # The same key on a retried submission by the same caller returns the first ticket
    # instead of a second one.
    idempotency_key: str | None = None


@dataclass(frozen=True)
class OverdueTicket:
    id: int
    reference: str
    status: Status
    level: int
    due_at: datetime


# Half of a UTF-16 pair, alone: JSON may carry one, UTF-8 (and so no store) has none.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _optional_text(value: str | None) -> str | None:
    # A NUL never means anything in what people type, and PostgreSQL's text cannot hold one.
    text = _LONE_SURROGATE.sub("\ufffd", (value or "").replace("\x00", "")).strip()
    return text or None


def _required_text(value: str | None, field_name: str) -> str:
    text = _optional_text(value)
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


def _place(grievance: Grievance) -> Place:
    return Place(grievance.province_id, grievance.district_id, grievance.municipality_id)


def _record(
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


def _move(
    session: Session,
    clock: Clock,
    grievance: Grievance,
    action: Action,
    actor: Actor,
    note: str | None = None,
    history: History | None = None,
) -> datetime:
    """Apply one move of the transition table, re-route on a level change, reset the deadline."""
    now = clock.now()
    config = catalog(session)
    from_status, from_level = grievance.status, grievance.level
    grievance.status = next_status(from_status, action, from_level)
    grievance.level = next_level(action, from_level)
    grievance.updated_at = now
    grievance.notify_pending = True
    if grievance.level != from_level:
        grievance.level_entered_at = now
        _route_again(session, config, grievance)
    _reset_deadline(config, grievance)
    _record(session, now, grievance, action, actor, from_status, from_level, note, history)
    return now


def _route_again(session: Session, config: Catalog, grievance: Grievance) -> None:
    """Give the case to whoever the routing rules name for it as it now stands."""
    grievance.assignee_id = route(
        session,
        config,
        grievance.project_id,
        grievance.level,
        _place(grievance),
        grievance.category_id,
        grievance.priority,
    )


def _reset_deadline(config: Catalog, grievance: Grievance) -> None:
    """The next deadline for the case as it now stands (status, level, category)."""
    grievance.due_at = due_at(
        grievance.status,
        grievance.level,
        grievance.created_at,
        grievance.level_entered_at,
        config.deadlines(grievance.project_id),
        config.lineage(grievance.category_id),
    )


def _lock(session: Session, grievance_id: int) -> Grievance:
    """Load a case and hold its row until the unit of work ends (FOR UPDATE on PostgreSQL)."""
    grievance = session.scalar(
        select(Grievance)
        .where(Grievance.id == grievance_id)
        .with_for_update(of=Grievance)
        .execution_options(populate_existing=True)
    )
    if grievance is None:
        raise NotFound("grievance", grievance_id)
    return grievance


# --- filing ---


def hold_lock(session: Session, name: str) -> None:
    """Make other units of work that hold the same name wait until this one ends.

    PostgreSQL takes a transaction-level advisory lock; SQLite needs none, since every unit
    of work there holds the database's one write lock from its start (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name})


def _owned_key(submission: Submission, actor: Actor) -> str | None:
    """The idempotency key as stored: an officer's keys are theirs alone, so that another
    caller who sends the same key files a case of their own instead of reading theirs. The
    chat's keys need no prefix: the action server draws them (random uuids)."""
    key = _optional_text(submission.idempotency_key)
    if key is None:
        return None
    if len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidInput("idempotency_key", f"is longer than {MAX_IDEMPOTENCY_KEY_CHARS} characters")
    return key if actor.officer_id is None else f"officer:{actor.officer_id}:{key}"


def _save_complainant(session: Session, now: datetime, submission: Submission, priority: Priority) -> int:
    """The returning citizen found by phone, or a new one; the latest details given win."""
    name = _optional_text(submission.name)
    email = _optional_text(submission.email)
    address = _optional_text(submission.address)
    typed_phone = _optional_text(submission.phone)
    phone = normalise_phone(typed_phone) if typed_phone else None
    # Survivors of gender-based violence may stay anonymous; everyone else is reachable.
    if priority is not Priority.GENDER:
        if name is None:
            raise InvalidInput("name", "is required")
        if phone is None:
            raise InvalidInput("phone", "is required")
    if email is not None:
        email = normalise_email(email)
    values = {
        "name": name,
        "phone": phone,
        "email": email,
        "address": address,
        # Writing on WhatsApp opens its 24-hour window for free-form replies.
        "whatsapp_inbound_at": now if submission.channel is Channel.WHATSAPP else None,
        "created_at": now,
        "updated_at": now,
    }
    if phone is None:
        anonymous = Complainant(**values)
        session.add(anonymous)
        session.flush()
        return anonymous.id
    values["phone_hash"] = keyring().phone_digest(phone)
    complainant_id: int = session.connection().execute(_UPSERT_COMPLAINANT, values).scalar_one()
    return complainant_id


def _language(value: str | None) -> str:
    """A language the citizen's messages are written in (English by default)."""
    language = _optional_text(value) or "en"
    if language not in CITIZEN_MESSAGES:
        raise InvalidInput("language", f"one of {', '.join(CITIZEN_MESSAGES)}")
    return language


def _spot(latitude: float | None, longitude: float | None) -> dict[str, float | None]:
    """A shared place as stored: both coordinates, in range, or neither."""
    if latitude is None or longitude is None:
        return {"latitude": None, "longitude": None}
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidInput("place", "the shared place is not on the map")
    return {"latitude": latitude, "longitude": longitude}


def _insert_on_conflict(table_: Table, on_conflict: str) -> TextualSelect:
    """INSERT of every column but the key, with an ON CONFLICT clause, RETURNING the new id.

    Written out because the same SQL runs on PostgreSQL and SQLite, and because SQLAlchemy
    2.0's dialect inserts cannot be cached: they would be compiled anew on every filing.
    """
    columns = [column for column in table_.columns if not column.primary_key]
    names = ", ".join(column.name for column in columns)
    values = ", ".join(f":{column.name}" for column in columns)
    return (
        text(f"INSERT INTO {table_.name} ({names}) VALUES ({values}) {on_conflict} RETURNING id")
        .bindparams(*(bindparam(column.name, type_=column.type) for column in columns))
        .columns(id=Integer)
    )


# A returning citizen is refreshed, not duplicated: one statement, atomic under concurrency.
_UPSERT_COMPLAINANT = _insert_on_conflict(
    table(Complainant),
    "ON CONFLICT (phone_hash) DO UPDATE SET name = coalesce(excluded.name, complainant.name),"
    " email = coalesce(excluded.email, complainant.email),"
    " address = coalesce(excluded.address, complainant.address), updated_at = excluded.updated_at,"
    " whatsapp_inbound_at = coalesce(excluded.whatsapp_inbound_at, complainant.whatsapp_inbound_at)",
)
# Built once: made anew (and through the ORM) the check cost a filing a quarter of its time.
_FILED_WITH_KEY = select(table(Grievance).c.id).where(table(Grievance).c.idempotency_key == bindparam("key"))
# A clash on the reference inserts nothing instead of failing the unit (the key was checked first).
_INSERT_GRIEVANCE = _insert_on_conflict(table(Grievance), "ON CONFLICT DO NOTHING")


def file_grievance(session: Session, clock: Clock, submission: Submission, actor: Actor = CITIZEN) -> Grievance:
    """Open a new case (status new, level 1), routed and with its response deadline set.

    Idempotent: a submission whose key the same caller sent before returns the ticket it
    made then, and writes nothing (the complainant's details are left as they were).
    `actor` is an officer when a case told in person or by phone is typed in for the citizen.
    """
    config = catalog(session)
    details = _required_text(submission.details, "details")
    if len(details) > MAX_DETAILS_CHARS:
        raise InvalidInput("details", f"is longer than {MAX_DETAILS_CHARS} characters")
    project_id = config.project(submission.project_code).id if submission.project_code else None
    code = _optional_text(submission.category_code)
    category = config.category(code) if code else None
    category_id = category.id if category else None
    priority = config.priority(category_id)
    place, ward = resolve_place(
        config, submission.province_id, submission.district_id, submission.municipality_id, submission.ward
    )
    key = _owned_key(submission, actor)
    if key is not None:
        # A retry sent while the first attempt is still being written waits for it here.
        hold_lock(session, f"idempotency:{key}")
        filed_id = session.connection().execute(_FILED_WITH_KEY, {"key": key}).scalar()
        if filed_id is not None:
            return session.get_one(Grievance, filed_id)
    now = clock.now()
    complainant_id = _save_complainant(session, now, submission, priority)
    values = {
        "idempotency_key": key,
        "project_id": project_id,
        "complainant_id": complainant_id,
        "category_id": category_id,
        "priority": priority,
        "status": Status.NEW,
        "level": 1,
        "assignee_id": route(session, config, project_id, 1, place, category_id, priority),
        "channel": submission.channel,
        "language": _language(submission.language),
        "details": details,
        "summary": _optional_text(submission.summary),
        "ai_categories": submission.ai_categories,
        "category_source": submission.category_source if category_id else None,
        "needs_triage": submission.needs_triage,
        "province_id": place.province_id,
        "district_id": place.district_id,
        "municipality_id": place.municipality_id,
        "ward": ward,
        **_spot(submission.latitude, submission.longitude),
        "created_at": now,
        "updated_at": now,
        "level_entered_at": now,
        "due_at": due_at(Status.NEW, 1, now, now, config.deadlines(project_id), config.lineage(category_id)),
        "missed_deadline": False,
        "acknowledged_at": None,
        "resolved_at": None,
        "closed_at": None,
        "resolution": None,
        "satisfaction": None,
        "close_reason": None,
        "duplicate_of_id": None,
        "notify_pending": True,
        "notified_change_id": 0,
        "warned_due_at": None,
        "version": 1,
    }
    for _ in range(_REFERENCE_ATTEMPTS):
        values["reference"] = new_reference()
        # A reference drawn twice inserts nothing rather than failing the caller's unit of work.
        grievance_id: int | None = session.connection().execute(_INSERT_GRIEVANCE, values).scalar()
        if grievance_id is None:
            continue
        # The row is written; hand it to the session as it stands, without reading it back.
        grievance = Grievance(id=grievance_id, **values)
        make_transient_to_detached(grievance)
        session.add(grievance)
        _record(session, now, grievance, Action.FILE, actor, None, None, None)
        return grievance
    raise RuntimeError("could not draw an unused reference; the reference space is exhausted")


# --- the officers' moves ---


def acknowledge(session: Session, clock: Clock, grievance_id: int, actor: Actor, note: str | None = None) -> Grievance:
    """The officer in charge of the current level takes the case up (new/escalated -> in progress)."""
    grievance = _lock(session, grievance_id)
    first_time = grievance.acknowledged_at is None
    now = _move(session, clock, grievance, Action.ACKNOWLEDGE, actor, _optional_text(note))
    if first_time:
        grievance.acknowledged_at = now
    return grievance


def assign(
    session: Session, clock: Clock, grievance_id: int, actor: Actor, officer_id: int, note: str | None = None
) -> Grievance:
    """Hand the case to a named officer within its level; the status does not change."""
    grievance = _lock(session, grievance_id)
    officer = catalog(session).officers.get(officer_id)
    if officer is None or not officer.active:
        raise InvalidInput("officer_id", "no such active officer")
    if grievance.priority is Priority.GENDER and not officer.gender_cleared:
        raise InvalidInput("officer_id", "this officer is not cleared for gender cases")
    # A case filed without a project may go to anyone: whoever assigns it knows the place.
    bound = grievance.project_id is not None and not officer.all_projects
    if bound and grievance.project_id not in officer.project_ids:
        raise InvalidInput("officer_id", "this officer does not work on the case's project")
    grievance.assignee_id = officer.id
    _move(session, clock, grievance, Action.ASSIGN, actor, _optional_text(note))
    return grievance


def escalate(
    session: Session,
    clock: Clock,
    grievance_id: int,
    actor: Actor,
    reason: str,
    from_level: int,
) -> Grievance:
    """Move the case one level up: automatically on a missed deadline or at a stakeholder's request.

    `from_level` is the level the caller saw; if the case has moved meanwhile (say two
    officers, or the scheduler and an officer, escalate at once) ConcurrentChange is raised
    so that one request never climbs two levels.
    """
    reason = _required_text(reason, "reason")
    grievance = _lock(session, grievance_id)
    if grievance.level != from_level:
        raise ConcurrentChange(grievance.reference, f"it is now at level {grievance.level}")
    _move(session, clock, grievance, Action.ESCALATE, actor, reason)
    return grievance


def _lock_due(session: Session, limit: int, oldest_first: Any, *conditions: Any) -> list[Grievance]:
    """Up to `limit` cases matching `conditions`, locked for this unit of work; rows another
    sweep holds are skipped (SKIP LOCKED), and the conditions are checked again on the locked
    rows, so two schedulers never move one case twice."""
    query = select(Grievance).where(*conditions).order_by(oldest_first, Grievance.id).limit(limit)
    return list(
        session.scalars(query.with_for_update(skip_locked=True, of=Grievance).execution_options(populate_existing=True))
    )


# What a lifecycle move may change on a case (see _move, _close_if_silent).
_MOVED_COLUMNS = (
    "status",
    "level",
    "updated_at",
    "notify_pending",
    "level_entered_at",
    "assignee_id",
    "due_at",
    "closed_at",
    "close_reason",
    "missed_deadline",
)


def _write_moved(session: Session, moved: Sequence[Grievance]) -> None:
    """Write the cases a sweep moved with one executemany UPDATE, and let the session forget
    them. The ORM sends one UPDATE per row of a versioned table (it must read each row
    count); here the rows are locked by this transaction, so the version is bumped as the
    ORM would, and checked, in one batch: a third of the sweep's time on PostgreSQL."""
    if not moved:
        return
    grievances = table(Grievance)
    statement = (
        update(grievances)
        .where(grievances.c.id == bindparam("case_id"), grievances.c.version == bindparam("seen_version"))
        .values({name: bindparam(f"new_{name}") for name in _MOVED_COLUMNS} | {"version": grievances.c.version + 1})
    )
    rows = [
        {"case_id": g.id, "seen_version": g.version} | {f"new_{name}": getattr(g, name) for name in _MOVED_COLUMNS}
        for g in moved
    ]
    written = session.connection().execute(statement, rows).rowcount
    if written != len(rows):
        raise ConcurrentChange("a swept case", "it changed while locked")
    for grievance in moved:
        session.expunge(grievance)


def escalate_overdue(session: Session, clock: Clock, limit: int = 500) -> list[Grievance]:
    """Escalate up to `limit` open cases whose deadline has passed (none at level 4, which has none)."""
    now = clock.now()
    overdue = _lock_due(
        session,
        limit,
        Grievance.due_at,
        Grievance.due_at <= now,
        Grievance.status.in_(OPEN_STATUSES),
        Grievance.level < TOP_LEVEL,
    )
    history = History()
    # No autoflush: the moved rows are written by _write_moved, not one by one by the ORM.
    with session.no_autoflush:
        for grievance in overdue:
            if grievance.status is Status.NEW:
                hours = catalog(session).deadlines(grievance.project_id).response_hours
                reason = f"no response within {hours} hours"
            else:
                reason = f"level {grievance.level} deadline passed"
            grievance.missed_deadline = True
            _move(session, clock, grievance, Action.ESCALATE, SYSTEM, reason, history)
    _write_moved(session, overdue)
    history.write(session)
    return overdue


def close_silent_resolutions(session: Session, clock: Clock, limit: int = 500) -> list[Grievance]:
    """Close up to `limit` resolved cases whose citizen stayed silent for their project's period."""
    now = clock.now()
    config = catalog(session)
    projects_by_wait: dict[int, list[int]] = {}
    for project in config.projects.values():
        projects_by_wait.setdefault(project.deadlines.auto_close_days, []).append(project.id)
    silent_long_enough = or_(
        *(
            and_(Grievance.project_id.in_(ids), Grievance.resolved_at <= now - timedelta(days=days))
            for days, ids in projects_by_wait.items()
        ),
        # Cases filed without a project wait the default policy's period.
        and_(
            Grievance.project_id.is_(None),
            Grievance.resolved_at <= now - timedelta(days=config.deadlines(None).auto_close_days),
        ),
    )
    waiting = _lock_due(session, limit, Grievance.resolved_at, Grievance.status == Status.RESOLVED, silent_long_enough)
    history = History()
    with session.no_autoflush:
        closed = [grievance for grievance in waiting if _close_if_silent(session, clock, grievance, history)]
    _write_moved(session, closed)
    history.write(session)
    return closed


def resolve(session: Session, clock: Clock, grievance_id: int, actor: Actor, resolution: str) -> Grievance:
    """Record the resolution; the citizen is then asked whether it satisfies them."""
    resolution = _required_text(resolution, "resolution")
    grievance = _lock(session, grievance_id)
    grievance.resolved_at = _move(session, clock, grievance, Action.RESOLVE, actor, resolution)
    grievance.resolution = resolution
    return grievance


def record_citizen_answer(
    session: Session,
    clock: Clock,
    grievance_id: int,
    actor: Actor,
    accepted: bool,
    reason: str | None = None,
) -> Grievance:
    """The citizen's answer to a resolution, from any channel: accepted closes the case,
    refused sends it to the next level with the citizen's reason."""
    grievance = _lock(session, grievance_id)
    if accepted:
        grievance.closed_at = _move(session, clock, grievance, Action.ACCEPT, actor, _optional_text(reason))
        grievance.close_reason = CloseReason.ACCEPTED
    else:
        _move(session, clock, grievance, Action.REFUSE, actor, _required_text(reason, "reason"))
        grievance.resolved_at = None
    return grievance


def _close_if_silent(session: Session, clock: Clock, grievance: Grievance, history: History | None = None) -> bool:
    """Close a resolved case whose citizen stayed silent for the project's auto-close period."""
    waited = timedelta(days=catalog(session).deadlines(grievance.project_id).auto_close_days)
    if grievance.status is not Status.RESOLVED or grievance.resolved_at is None:
        return False
    if clock.now() < grievance.resolved_at + waited:
        return False
    note = f"no answer {waited.days} days after the resolution"
    grievance.closed_at = _move(session, clock, grievance, Action.AUTO_CLOSE, SYSTEM, note, history)
    grievance.close_reason = CloseReason.NO_ANSWER
    return True


def close_unanswered(session: Session, clock: Clock, grievance_id: int) -> Grievance:
    """Close one resolved case whose citizen stayed silent for the project's auto-close period."""
    grievance = _lock(session, grievance_id)
    if not _close_if_silent(session, clock, grievance):
        raise IllegalTransition(grievance.status.value, Action.AUTO_CLOSE.value)
    return grievance


def close_invalid(
    session: Session,
    clock: Clock,
    grievance_id: int,
    actor: Actor,
    reason: str,
    duplicate_of: str | None = None,
) -> Grievance:
    """Close an open case as invalid, or as a duplicate of another reference."""
    reason = _required_text(reason, "reason")
    grievance = _lock(session, grievance_id)
    if duplicate_of is not None:
        original = session.scalar(select(Grievance).where(Grievance.reference == normalise_reference(duplicate_of)))
        if original is None or original.id == grievance.id:
            raise InvalidInput("duplicate_of", "no other grievance has this reference")
        grievance.duplicate_of_id = original.id
    grievance.closed_at = _move(session, clock, grievance, Action.CLOSE_INVALID, actor, reason)
    grievance.close_reason = CloseReason.DUPLICATE if duplicate_of else CloseReason.INVALID
    return grievance


def add_note(
    session: Session,
    clock: Clock,
    grievance_id: int,
    actor: Actor,
    body: str,
    visibility: NoteVisibility = NoteVisibility.INTERNAL,
) -> Note:
    """Comment on a case; public notes are the ones the citizen may read."""
    body = _required_text(body, "body")
    grievance = session.get(Grievance, grievance_id)
    if grievance is None:
        raise NotFound("grievance", grievance_id)
    now = clock.now()
    note = Note(
        grievance_id=grievance.id,
        created_at=now,
        visibility=visibility,
        author_kind=actor.kind,
        author_officer_id=actor.officer_id,
        body=body,
    )
    session.add(note)
    audit(session, now, actor, "add_note", grievance, {"visibility": visibility.value})
    if visibility is NoteVisibility.PUBLIC:
        session.flush()
        queue_public_note(session, now, grievance, note.id)
    return note


# --- lookups ---


CATEGORY_SOURCES = frozenset({"ai", "citizen", "officer"})


def set_category(
    session: Session, clock: Clock, grievance_id: int, actor: Actor, code: str, source: str | None = None
) -> Grievance:
    """File the case under another category: its priority and deadline follow. The case keeps
    its officer unless it has none or becomes a gender case its officer is not cleared for;
    then it is routed again at its level. An officer's choice makes the case a labelled
    example for triage.
    """
    source = source or ("officer" if actor.kind is ActorKind.OFFICER else "ai")
    if source not in CATEGORY_SOURCES:
        raise InvalidInput("category_source", "unknown source")
    grievance = _lock(session, grievance_id)
    config = catalog(session)
    category = config.category(code)
    before = grievance.category_id
    grievance.category_id = category.id
    grievance.category_source = source
    grievance.priority = config.priority(category.id)
    grievance.updated_at = clock.now()
    if grievance.status in OPEN_STATUSES:
        holder = config.officers.get(grievance.assignee_id) if grievance.assignee_id else None
        if holder is None or (grievance.priority is Priority.GENDER and not holder.gender_cleared):
            _route_again(session, config, grievance)
        _reset_deadline(config, grievance)
    audit(session, grievance.updated_at, actor, "set_category", grievance, {"from": before, "to": category.id})
    return grievance


def find_for_citizen(session: Session, reference: str, phone: str) -> Grievance:
    """The citizen's own case by reference and phone; one same answer for any wrong half."""
    canonical = normalise_reference(reference)
    try:
        phone_hash = keyring().phone_digest(normalise_phone(phone))
    except InvalidInput:
        raise GrievanceNotFound() from None
    if canonical is None:
        raise GrievanceNotFound()
    grievance = session.scalar(
        select(Grievance)
        .join(Grievance.complainant)
        .where(Grievance.reference == canonical, Complainant.phone_hash == phone_hash)
    )
    if grievance is None:
        raise GrievanceNotFound()
    return grievance


def list_overdue(session: Session, now: datetime, limit: int | None = None) -> list[OverdueTicket]:
    """Open cases whose deadline has passed at `now`, most overdue first (index on due_at)."""
    query = (
        select(Grievance.id, Grievance.reference, Grievance.status, Grievance.level, Grievance.due_at)
        .where(Grievance.due_at <= now, Grievance.status.in_(OPEN_STATUSES))
        .order_by(Grievance.due_at)
        .limit(limit)
    )
    rows = session.execute(query).tuples()
    return [OverdueTicket(id_, reference, status, level, due) for id_, reference, status, level, due in rows if due]
