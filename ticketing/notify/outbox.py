"""Sending the outbox: claim due rows, word them, hand them to their channel, record the result.

A claim pushes a row's next attempt a lease ahead and commits before anything is sent, so
two dispatchers never send one row; only a crash between sending and recording can make a
row go out again once its lease runs out. Failures are retried with exponential backoff;
a refused message, or one still failing after MAX_ATTEMPTS, stays as a dead letter
(status failed, with its last error) for an officer to see and retry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ticketing.catalog import catalog
from ticketing.citizen import answer_link_token, reply_link_token
from ticketing.clock import Clock
from ticketing.config import Settings
from ticketing.lifecycle import Action, handler_name
from ticketing.notify.messages import (
    CITIZEN,
    CLOSE_REASONS,
    HOW_TO_ANSWER,
    OFFICER,
    PRIVATE_NOTE,
    PRIVATE_RESOLUTION,
    PURPOSE,
    REOPEN_HINT,
    citizen_language,
    render,
)
from ticketing.notify.senders import DeliveryError, Outgoing, Sender
from ticketing.store.case_models import Complainant, Grievance, Note, Notification, NotificationAttempt, StatusChange
from ticketing.store.db import Store
from ticketing.store.models import Officer, Stakeholder, table
from ticketing.store.vocabulary import Audience, CloseReason, NotificationChannel, NotificationStatus
from ticketing.values.dates import citizen_time

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=1)
LEASE = timedelta(minutes=5)
WHATSAPP_WINDOW = timedelta(hours=24)
SEND_THREADS = 4
SUMMARY_CHARS = 200


class Undeliverable(Exception):
    """The row can never be sent: its recipient has no address any more, say."""


@dataclass(frozen=True)
class WhatsAppRules:
    """The approved template that carries a message outside the 24-hour window, if any."""

    template_sid: str | None = None


@dataclass(frozen=True)
class Dispatched:
    sent: int
    retried: int
    failed: int


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed ones: 1, 2, 4, ... minutes, at most an hour."""
    wait: timedelta = FIRST_RETRY * 2 ** max(attempts - 1, 0)
    return min(wait, LAST_RETRY)


def claim(session: Session, now: datetime, limit: int) -> list[Notification]:
    """Take up to `limit` due rows for this dispatcher: each is pushed a lease ahead and
    counted as an attempt, so that once committed no other dispatcher takes it."""
    due = (
        select(Notification)
        .where(Notification.status == NotificationStatus.PENDING, Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.scalars(due))
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + LEASE
    return rows


def _address(session: Session, row: Notification, grievance: Grievance | None) -> str:
    """Where the row goes, read now: officers and citizens may have changed their details."""
    email = row.channel is NotificationChannel.EMAIL
    if row.audience is Audience.ADDRESS:
        address = row.recipient
    elif row.audience is Audience.OFFICER:
        officer = session.get(Officer, row.officer_id) if row.officer_id else None
        if officer is None or not officer.active:
            raise Undeliverable("the officer is no longer active")
        address = officer.email if email else officer.phone
    elif row.audience is Audience.STAKEHOLDER:
        stakeholder = session.get(Stakeholder, row.payload.get("stakeholder"))
        if stakeholder is None or not stakeholder.active:
            raise Undeliverable("the stakeholder is no longer active")
        address = stakeholder.email if email else stakeholder.phone
    else:
        complainant = session.get(Complainant, grievance.complainant_id) if grievance else None
        address = None if complainant is None else complainant.email if email else complainant.phone
    if not address:
        raise Undeliverable(f"no {row.channel.value} address for this {row.audience.value}")
    return address


def _due(payload: dict[str, Any], language: str) -> str:
    """The deadline the event set, as people in Nepal read it."""
    if "due_at" not in payload:
        return "see the backoffice"
    due = payload["due_at"]
    return citizen_time(datetime.fromisoformat(due) if due else None, language)


def _days(span: timedelta) -> str:
    days = max(span.days, 0)
    return "1 day" if days == 1 else f"{days} days"


def _case_values(
    session: Session, row: Notification, grievance: Grievance, language: str, settings: Settings, now: datetime
) -> dict[str, Any]:
    """The template values of a message about one case, without anything a confidential case
    (gender, integrity) hides."""
    config = catalog(session)
    level = row.level or grievance.level
    confidential = grievance.priority.confidential
    values: dict[str, Any] = {
        "reference": grievance.reference,
        "project": config.project_name(grievance.project_id),
        "level": level,
        "level_name": handler_name(level, language),
        "from_level": row.payload.get("from_level") or level - 1,
        "due": _due(row.payload, language),
        "days": _days((grievance.resolved_at or now) - grievance.created_at),
        "close_reason": CLOSE_REASONS[language].get(grievance.close_reason or "", ""),
        "auto_close_days": config.deadlines(grievance.project_id).auto_close_days,
        "purpose": PURPOSE[row.for_action],
        "reopen_hint": "",
    }
    closed_invalid = grievance.close_reason in (CloseReason.INVALID, CloseReason.DUPLICATE)
    if row.audience is Audience.CITIZEN and closed_invalid:
        # Why it was closed, and that it can be reopened: a confidential case's reason stays inside.
        why = None if confidential else _reason_closed(session, grievance)
        values["close_reason"] += f": {why}" if why else ""
        days = config.deadlines(grievance.project_id).reopen_days
        values["reopen_hint"] = REOPEN_HINT[language].format(days=days)
    if row.audience is Audience.CITIZEN:
        link = f"{settings.public_url}/chat?resume={answer_link_token(grievance, now)}"
        values["how_to_answer"] = HOW_TO_ANSWER[language].format(link=link)
        values["chat"] = f"{settings.public_url}/chat"
        values["reply_link"] = f"{settings.public_url}/chat?resume={reply_link_token(grievance, now)}"
        values["resolution"] = PRIVATE_RESOLUTION[language] if confidential else grievance.resolution or ""
        if "note" in row.payload:
            note = session.get(Note, row.payload["note"])
            values["note"] = PRIVATE_NOTE[language] if confidential or note is None else note.body
    elif confidential:
        values["info"] = f"\n{grievance.priority.value.capitalize()} case: the details are in the backoffice only."
        values["resolution"] = values["proposal"] = values["message"] = "see the backoffice"
    else:
        category = config.categories[grievance.category_id].name_en if grievance.category_id else "not yet set"
        values["info"] = f"\nCategory: {category}. Summary: {grievance.summary or grievance.details[:SUMMARY_CHARS]}"
        values["resolution"] = grievance.resolution or ""
        values["proposal"] = (grievance.invalid_proposal or {}).get("reason", "")
        note = session.get(Note, row.payload["note"]) if "note" in row.payload else None
        values["message"] = note.body if note else ""
    return values


def _reason_closed(session: Session, grievance: Grievance) -> str | None:
    """The reason the officer gave for closing the case as invalid."""
    return session.scalar(
        select(StatusChange.note)
        .where(StatusChange.grievance_id == grievance.id, StatusChange.action == Action.CLOSE_INVALID)
        .order_by(StatusChange.id.desc())
        .limit(1)
    )


def _outside_whatsapp_window(session: Session, grievance: Grievance, now: datetime) -> bool:
    complainant = session.get(Complainant, grievance.complainant_id)
    seen = complainant.whatsapp_inbound_at if complainant else None
    return seen is None or now - seen > WHATSAPP_WINDOW


def compose(
    session: Session, row: Notification, settings: Settings, whatsapp: WhatsAppRules, now: datetime
) -> Outgoing:
    """The message a row stands for, worded as its case is now; Undeliverable if it cannot go."""
    grievance = session.get(Grievance, row.grievance_id) if row.grievance_id else None
    to = _address(session, row, grievance)
    attachments = tuple(Path(name) for name in row.payload.get("attachments", ()))
    if grievance is None:
        # A citizen's message about no case (a code) names its language; officers' read English.
        language = row.payload.get("language")
        templates = OFFICER if language is None else CITIZEN[citizen_language(language)]
        subject, body = render(templates[row.template], dict(row.payload))
        return Outgoing(row.channel, to, subject, body, attachments)
    if row.audience is Audience.CITIZEN:
        language = citizen_language(grievance.language)
        template = CITIZEN[language][row.template]
    else:
        language, template = "en", OFFICER[row.template]
    subject, body = render(template, _case_values(session, row, grievance, language, settings, now))
    if row.channel is NotificationChannel.WHATSAPP and _outside_whatsapp_window(session, grievance, now):
        if whatsapp.template_sid is None:
            # No approved template: the same words go by SMS rather than not at all.
            row.channel = NotificationChannel.SMS
        else:
            variables = {"1": grievance.reference, "2": subject}
            return Outgoing(
                row.channel, to, subject, body, template_sid=whatsapp.template_sid, template_variables=variables
            )
    return Outgoing(row.channel, to, subject, body, attachments)


@dataclass
class _Attempt:
    id: int
    attempts: int
    message: Outgoing
    provider_id: str | None = None
    error: DeliveryError | None = None


def _send(senders: Mapping[NotificationChannel, Sender], attempt: _Attempt) -> _Attempt:
    try:
        attempt.provider_id = senders[attempt.message.channel].send(attempt.message)
    except DeliveryError as error:
        attempt.error = error
    except Exception as error:  # a sender's bug: the row is tried again later, never lost
        logger.exception("sending notification %s failed", attempt.id)
        attempt.error = DeliveryError(f"unexpected error: {error!r}", permanent=False)
    return attempt


def _attempt_row(row: Notification, now: datetime, outcome: str, provider_id: str | None) -> dict[str, Any]:
    error = None if outcome == NotificationStatus.SENT.value else row.last_error
    return {
        "notification_id": row.id,
        "at": now,
        "outcome": outcome,
        "channel": row.channel,
        "provider_id": provider_id,
        "error": error,
    }


def _record_attempts(session: Session, tries: list[dict[str, Any]]) -> None:
    if tries:
        session.flush()
        session.connection().execute(insert(table(NotificationAttempt)), tries)


def dispatch(
    store: Store,
    clock: Clock,
    senders: Mapping[NotificationChannel, Sender],
    whatsapp: WhatsAppRules = WhatsAppRules(),
    limit: int = 200,
) -> Dispatched:
    """Send up to `limit` due rows; the outcome of each is recorded, none is lost."""
    attempts: list[_Attempt] = []
    with store.sessions.begin() as session:
        now = clock.now()
        unsendable: list[dict[str, Any]] = []
        for row in claim(session, now, limit):
            try:
                attempts.append(_Attempt(row.id, row.attempts, compose(session, row, store.settings, whatsapp, now)))
                continue
            except Undeliverable as reason:
                row.status, row.last_error = NotificationStatus.CANCELLED, str(reason)
            except Exception as error:  # a row that cannot be worded must not block the ones after it
                logger.exception("notification %s could not be composed", row.id)
                row.status, row.last_error = NotificationStatus.FAILED, f"could not be composed: {error!r}"
            unsendable.append(_attempt_row(row, now, row.status.value, None))
        _record_attempts(session, unsendable)
    # Sending waits on the network: a few at once, outside any transaction.
    with ThreadPoolExecutor(max_workers=SEND_THREADS) as pool:
        done = list(pool.map(lambda attempt: _send(senders, attempt), attempts))
    sent = retried = failed = 0
    with store.sessions.begin() as session:
        now = clock.now()
        rows = {
            row.id: row
            for row in session.scalars(select(Notification).where(Notification.id.in_([a.id for a in done])))
        }
        tries: list[dict[str, Any]] = []
        for attempt in done:
            row = rows[attempt.id]
            if attempt.error is None:
                row.status, row.sent_at, row.provider_id = NotificationStatus.SENT, now, attempt.provider_id
                row.last_error = None
                sent += 1
            elif attempt.error.permanent or attempt.attempts >= MAX_ATTEMPTS:
                row.status, row.last_error = NotificationStatus.FAILED, str(attempt.error)
                failed += 1
            else:
                row.next_attempt_at, row.last_error = now + backoff(attempt.attempts), str(attempt.error)
                retried += 1
            outcome = "retry" if row.status is NotificationStatus.PENDING else row.status.value
            tries.append(_attempt_row(row, now, outcome, attempt.provider_id))
        _record_attempts(session, tries)
    return Dispatched(sent, retried, failed)


def retry_failed(session: Session, now: datetime, ids: list[int]) -> int:
    """Queue failed (dead-letter) rows again, with a fresh count of attempts; returns how many."""
    rows = session.scalars(
        select(Notification).where(Notification.id.in_(ids), Notification.status == NotificationStatus.FAILED)
    ).all()
    for row in rows:
        row.status, row.attempts, row.next_attempt_at = NotificationStatus.PENDING, 0, now
        # A new send gets a new provider id and its own delivery reports.
        row.provider_id, row.delivery_status = None, None
    return len(rows)


# Twilio's message states in the order they can follow one another; reports may arrive out
# of order, and an earlier state never overwrites a later one.
DELIVERY_ORDER = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "canceled": 3,
    "read": 4,
}
DELIVERY_FAILED = frozenset({"undelivered", "failed", "canceled"})


def record_delivery(session: Session, provider_id: str, state: str, error_code: str | None) -> bool:
    """Apply a provider's delivery report to its row; False when no row has this id."""
    row = session.scalar(select(Notification).where(Notification.provider_id == provider_id).with_for_update())
    if row is None:
        return False
    rank = DELIVERY_ORDER.get(state)
    if rank is None or rank < DELIVERY_ORDER.get(row.delivery_status or "", -1):
        return True
    row.delivery_status = state
    if state in DELIVERY_FAILED:
        # Accepted by Twilio but not delivered: a dead letter an officer can see and retry.
        row.status = NotificationStatus.FAILED
        row.last_error = f"Twilio reported the message {state}" + (f" (error {error_code})" if error_code else "")
    return True
