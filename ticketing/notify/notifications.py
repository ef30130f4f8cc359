"""Who is told what, and when: the notification matrix of seed 000 section 5.3.

Lifecycle moves never write notifications themselves (filing is the hot path). Each move
sets `grievance.notify_pending` in its own transaction; `plan_notifications` then locks
the waiting cases, reads their status changes after `notified_change_id`, queues one
outbox row per person and channel, and clears the flag, all in one transaction. A row's
dedupe key (case, event occurrence, level, recipient, channel) is unique, so a repeated
or concurrent run queues nothing twice. `queue_deadline_warnings` does the same for the
"timeline approaching" trigger, remembering which deadline it announced.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ticketing.catalog import Catalog, catalog
from ticketing.clock import Clock
from ticketing.lifecycle import OPEN_STATUSES, TOP_LEVEL, Action, Status
from ticketing.places.locations import Place
from ticketing.routing import route
from ticketing.store.case_models import Complainant, Grievance, Notification, StatusChange
from ticketing.store.models import Officer, Stakeholder, table
from ticketing.store.vocabulary import ActorKind, Audience, Channel, NotificationChannel, NotificationStatus, Priority

ALL_LEVELS = frozenset(range(1, TOP_LEVEL + 1))
# The events of the matrix (seed 000 section 5.3) that a level's stakeholders hear of; the
# rest (a case handed to an officer, a deadline, a proposal to review, a citizen's message)
# are the officers' work.
STAKEHOLDER_EVENTS = frozenset({"received", "assigned", "escalated", "resolved", "accepted", "closed", "reopened"})


@dataclass(frozen=True)
class Told:
    """Who an event reaches: levels for action, levels for information, and the citizen."""

    action: frozenset[int]
    info: frozenset[int]
    citizen: bool


def event_of(action: Action, from_status: Status | None, actor: ActorKind) -> str | None:
    """The notification event a status change is, or None for moves nobody is told about."""
    if action is Action.ACKNOWLEDGE:
        # Only the first verification is "assigned"; taking over an escalated case is not news.
        return "assigned" if from_status is Status.NEW else None
    if action is Action.REFUSE:
        return "escalated"
    if action is Action.AUTO_CLOSE or action is Action.CLOSE_INVALID:
        return "closed"
    if action is Action.ASSIGN:
        return "handover" if actor is not ActorKind.SYSTEM else None
    return {
        Action.FILE: "received",
        Action.ESCALATE: "escalated",
        Action.RESOLVE: "resolved",
        Action.ACCEPT: "accepted",
        Action.REOPEN: "reopened",
    }.get(action)


def told(event: str, level: int, actor: ActorKind) -> Told:
    """The matrix: seed 000 section 5.3, extended to the events it leaves open."""
    none: frozenset[int] = frozenset()
    here = frozenset({level})
    if event == "received":
        # The citizen's receipt: the reference on their phone, should the chat be closed and lost.
        return Told(frozenset({1}), frozenset({2}), citizen=True)
    if event == "assigned":
        return Told(here, frozenset({level + 1}) & ALL_LEVELS, citizen=True)
    if event == "escalated":
        # A citizen who refused a resolution was told in the same conversation.
        return Told(here, ALL_LEVELS - here, citizen=actor is not ActorKind.CITIZEN)
    if event == "resolved":
        # Levels 3 and 4 hear of resolutions only of cases that were escalated.
        return Told(none, frozenset({1, 2}) | (frozenset({3, 4}) if level > 1 else none), citizen=True)
    if event == "accepted":
        return Told(none, here, citizen=False)
    if event == "closed":
        return Told(none, here, citizen=True)
    if event == "reopened":
        return Told(here, frozenset({level + 1}) & ALL_LEVELS, citizen=actor is not ActorKind.CITIZEN)
    if event in ("handover", "deadline"):
        return Told(here, none, citizen=False)
    raise ValueError(f"unknown notification event {event!r}")


@dataclass(frozen=True)
class Case:
    """What the planner needs of a case to address its notifications."""

    id: int
    project_id: int | None
    level: int
    assignee_id: int | None
    category_id: int | None
    priority: Priority
    channel: Channel
    place: Place
    complainant_id: int
    due_at: datetime | None
    phone_verified: bool

    @classmethod
    def of(cls, row: Row[Any] | Grievance) -> Case:
        """From a row of CASE_COLUMNS, or a loaded grievance (the same names)."""
        return cls(
            row.id,
            row.project_id,
            row.level,
            row.assignee_id,
            row.category_id,
            row.priority,
            row.channel,
            Place(row.province_id, row.district_id, row.municipality_id),
            row.complainant_id,
            row.due_at,
            row.phone_verified,
        )


CASE_COLUMNS = (
    Grievance.id,
    Grievance.project_id,
    Grievance.level,
    Grievance.assignee_id,
    Grievance.category_id,
    Grievance.priority,
    Grievance.channel,
    Grievance.province_id,
    Grievance.district_id,
    Grievance.municipality_id,
    Grievance.complainant_id,
    Grievance.notified_change_id,
    Grievance.due_at,
    Grievance.level_entered_at,
    Grievance.phone_verified,
)


@dataclass(frozen=True)
class Contacts:
    """Which channels can reach whom, read once per batch (no address is decrypted here)."""

    officers_with_phone: frozenset[int]
    active_officers: frozenset[int]
    # complainant id -> (has a phone, has an email)
    citizens: dict[int, tuple[bool, bool]]
    # (project id, level) -> the active stakeholders there, as (id, has an email)
    stakeholders: dict[tuple[int, int], list[tuple[int, bool]]]

    @classmethod
    def load(cls, session: Session, complainant_ids: Iterable[int]) -> Contacts:
        officers = session.execute(select(Officer.id, Officer.active, Officer.phone.is_not(None))).all()
        citizens = session.execute(
            select(Complainant.id, Complainant.phone_hash.is_not(None), Complainant.email.is_not(None)).where(
                Complainant.id.in_(set(complainant_ids))
            )
        ).all()
        stakeholders: dict[tuple[int, int], list[tuple[int, bool]]] = {}
        for id_, project_id, level, email in session.execute(
            select(Stakeholder.id, Stakeholder.project_id, Stakeholder.level, Stakeholder.email.is_not(None)).where(
                Stakeholder.active
            )
        ):
            stakeholders.setdefault((project_id, level), []).append((id_, email))
        return cls(
            officers_with_phone=frozenset(id_ for id_, active, phone in officers if active and phone),
            active_officers=frozenset(id_ for id_, active, _ in officers if active),
            citizens={id_: (phone, email) for id_, phone, email in citizens},
            stakeholders=stakeholders,
        )


def citizen_channels(case: Case, contacts: Contacts) -> list[NotificationChannel]:
    """The citizen's channels: WhatsApp if they wrote from it, else SMS, once their number is
    proven theirs; and e-mail too when they gave an address, as the chat promises. None for an
    anonymous case without contact."""
    has_phone, has_email = contacts.citizens.get(case.complainant_id, (False, False))
    channels = []
    if has_phone and case.phone_verified:
        channels.append(NotificationChannel.WHATSAPP if case.channel is Channel.WHATSAPP else NotificationChannel.SMS)
    if has_email:
        channels.append(NotificationChannel.EMAIL)
    return channels


def level_officer(
    session: Session, config: Catalog, case: Case, level: int, event_level: int, holder: int | None
) -> int | None:
    """The officer who answers for `level` of this case: the one who held it at the event's
    level (the case may have moved since), else routing's choice for that level."""
    if level == event_level and holder is not None:
        return holder
    return route(session, config, case.project_id, level, case.place, case.category_id, case.priority)


def rows_for(
    session: Session,
    config: Catalog,
    contacts: Contacts,
    now: datetime,
    case: Case,
    event: str,
    occurrence: str,
    told_: Told,
    payload: dict[str, Any],
    holder: int | None,
    actor_officer_id: int | None = None,
) -> list[dict[str, Any]]:
    """Outbox rows for one event of one case: officers by email (and SMS for action), the citizen."""
    level = payload["level"]
    officers: dict[int, bool] = {}
    for wanted in sorted(told_.action | told_.info):
        officer_id = level_officer(session, config, case, wanted, level, holder)
        if officer_id is None or officer_id == actor_officer_id or officer_id not in contacts.active_officers:
            continue
        # Someone at two levels (a GRC secretary also covering legal) hears it once, for action if either is.
        officers[officer_id] = officers.get(officer_id, False) or wanted in told_.action
    rows: list[dict[str, Any]] = []

    def add(audience: Audience, officer_id: int | None, channel: NotificationChannel, for_action: bool) -> None:
        who = f"o{officer_id}" if officer_id is not None else "citizen"
        key = f"g{case.id}:{event}:{occurrence}:l{level}:{who}:{channel.value}"
        rows.append(
            outbox_row(key, now, channel, audience, event, payload, case.id, officer_id, None, level, for_action)
        )

    for officer_id, for_action in officers.items():
        add(Audience.OFFICER, officer_id, NotificationChannel.EMAIL, for_action)
        if for_action and officer_id in contacts.officers_with_phone:
            add(Audience.OFFICER, officer_id, NotificationChannel.SMS, for_action)
    for channel in citizen_channels(case, contacts) if told_.citizen else []:
        add(Audience.CITIZEN, None, channel, False)
    # Stakeholders stand outside the GRM's confidentiality: they never hear of gender cases,
    # and they hear of the matrix's events only, not of an officer's own work.
    if case.project_id is None or case.priority.confidential or event not in STAKEHOLDER_EVENTS:
        return rows
    for wanted in sorted(told_.action | told_.info):
        for stakeholder_id, has_email in contacts.stakeholders.get((case.project_id, wanted), ()):
            channel = NotificationChannel.EMAIL if has_email else NotificationChannel.SMS
            key = f"g{case.id}:{event}:{occurrence}:l{level}:s{stakeholder_id}:{channel.value}"
            for_action = wanted in told_.action
            addressed = payload | {"stakeholder": stakeholder_id}
            rows.append(
                outbox_row(
                    key,
                    now,
                    channel,
                    Audience.STAKEHOLDER,
                    event,
                    addressed,
                    case.id,
                    level=level,
                    for_action=for_action,
                )
            )
    return rows


def outbox_row(
    dedupe_key: str,
    now: datetime,
    channel: NotificationChannel,
    audience: Audience,
    template: str,
    payload: dict[str, Any],
    grievance_id: int | None = None,
    officer_id: int | None = None,
    recipient: str | None = None,
    level: int | None = None,
    for_action: bool = False,
) -> dict[str, Any]:
    """The values of a new pending outbox row, due at once."""
    return {
        "dedupe_key": dedupe_key,
        "grievance_id": grievance_id,
        "created_at": now,
        "channel": channel,
        "audience": audience,
        "officer_id": officer_id,
        "recipient": recipient,
        "template": template,
        "level": level,
        "for_action": for_action,
        "payload": payload,
        "status": NotificationStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "sent_at": None,
        "last_error": None,
        "provider_id": None,
        "delivery_status": None,
    }


def queue(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert outbox rows; one whose dedupe key exists already is left out, not an error."""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table(Notification)).on_conflict_do_nothing(index_elements=["dedupe_key"])
    session.execute(statement, list(rows))


def _lock_cases(session: Session, *conditions: Any, limit: int) -> list[Row[Any]]:
    """Up to `limit` cases matching `conditions`, locked; rows another run holds are skipped."""
    query = select(*CASE_COLUMNS).where(*conditions).order_by(Grievance.id).limit(limit)
    return list(session.execute(query.with_for_update(skip_locked=True, of=Grievance)).all())


def plan_notifications(session: Session, clock: Clock, limit: int = 500) -> int:
    """Queue the notifications of up to `limit` cases' new status changes; returns the cases done."""
    cases = _lock_cases(session, Grievance.notify_pending, limit=limit)
    if not cases:
        return 0
    watermark = {row.id: row.notified_change_id for row in cases}
    by_id = {row.id: Case.of(row) for row in cases}
    changes = session.execute(
        select(StatusChange)
        .where(StatusChange.grievance_id.in_(watermark))
        .order_by(StatusChange.grievance_id, StatusChange.id)
    ).scalars()
    config = catalog(session)
    contacts = Contacts.load(session, (case.complainant_id for case in by_id.values()))
    now = clock.now()
    rows: list[dict[str, Any]] = []
    new_changes = [change for change in changes if change.id > watermark[change.grievance_id]]
    last_seen = dict(watermark) | {change.grievance_id: change.id for change in new_changes}
    for change in new_changes:
        event = event_of(change.action, change.from_status, change.actor_kind)
        if event is None:
            continue
        case = by_id[change.grievance_id]
        payload: dict[str, Any] = {"level": change.to_level, "from_level": change.from_level, "change": change.id}
        if change.id == last_seen[case.id]:
            # The deadline the case has now is the one this latest change set; earlier changes'
            # deadlines are gone, and their messages point to the backoffice instead.
            payload["due_at"] = case.due_at.isoformat() if case.due_at else None
        rows += rows_for(
            session,
            config,
            contacts,
            now,
            case,
            event,
            f"c{change.id}",
            told(event, change.to_level, change.actor_kind),
            payload,
            change.assignee_id,
            change.actor_officer_id,
        )
    queue(session, rows)
    grievances = table(Grievance)
    session.execute(
        update(grievances)
        .where(grievances.c.id == bindparam("case_id"))
        .values(notify_pending=False, notified_change_id=bindparam("last_change")),
        [{"case_id": case_id, "last_change": last} for case_id, last in last_seen.items()],
    )
    return len(cases)


def queue_deadline_warnings(session: Session, clock: Clock, lead: timedelta, limit: int = 500) -> int:
    """Warn the holders of open cases whose deadline falls within `lead`; returns the cases seen.

    A deadline that never gave `lead` of notice (the 24 h response time, when the lead is a
    day) is marked as seen without a warning, so that it is not looked at again.
    """
    now = clock.now()
    cases = _lock_cases(
        session,
        Grievance.due_at > now,
        Grievance.due_at <= now + lead,
        Grievance.status.in_(OPEN_STATUSES),
        (Grievance.warned_due_at.is_(None)) | (Grievance.warned_due_at != Grievance.due_at),
        limit=limit,
    )
    if not cases:
        return 0
    config = catalog(session)
    contacts = Contacts.load(session, ())
    rows: list[dict[str, Any]] = []
    for row in cases:
        case = Case.of(row)
        if row.due_at - lead <= row.level_entered_at:
            continue
        payload = {"level": case.level, "due_at": row.due_at.isoformat()}
        occurrence = f"d{int(row.due_at.timestamp())}"
        warned = told("deadline", case.level, ActorKind.SYSTEM)
        rows += rows_for(
            session, config, contacts, now, case, "deadline", occurrence, warned, payload, case.assignee_id
        )
    queue(session, rows)
    grievances = table(Grievance)
    session.execute(
        update(grievances).where(grievances.c.id == bindparam("case_id")).values(warned_due_at=bindparam("due")),
        [{"case_id": row.id, "due": row.due_at} for row in cases],
    )
    return len(cases)
