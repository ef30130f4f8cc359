"""Filing a grievance: one idempotent unit of work that saves the citizen, draws a reference,
routes the case and sets its first deadline."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, make_transient_to_detached

from ticketing.cases.records import CITIZEN, Actor, optional_text, record, required_text
from ticketing.catalog import catalog
from ticketing.clock import Clock
from ticketing.errors import InvalidInput
from ticketing.lifecycle import Action, Status
from ticketing.places.locations import on_the_map, resolve_place
from ticketing.routing import route
from ticketing.sla import due_at
from ticketing.store.case_models import Complainant, Grievance
from ticketing.store.crypto import keyring
from ticketing.store.db import hold_lock
from ticketing.store.models import table
from ticketing.store.sqlfunctions import every_column, insert_returning_id
from ticketing.store.vocabulary import Channel, Priority
from ticketing.values.emails import normalise_email
from ticketing.values.languages import DEFAULT_LANGUAGE, LANGUAGES
from ticketing.values.phones import normalise_phone
from ticketing.values.references import new_reference

MAX_DETAILS_CHARS = 10_000


# Room for an officer's prefix (see _owned_key) within the column's 120 characters.
MAX_IDEMPOTENCY_KEY_CHARS = 100


_REFERENCE_ATTEMPTS = 5


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
    # The village or tole, as the citizen wrote it.
    locality: str | None = None
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
    # What the history says of the filing: how an officer received it, the citizen's consent.
    note: str | None = None
    # The phone is proven the citizen's (their WhatsApp number, or an officer took it down from
    # them); otherwise it is proven later by a code, and keeps no other case's details from it.
    phone_verified: bool = False


def _owned_key(submission: Submission, actor: Actor) -> str | None:
    """The idempotency key as stored: an officer's keys are theirs alone, so that another
    caller who sends the same key files a case of their own instead of reading theirs. The
    chat's keys need no prefix: the action server draws them (random uuids)."""
    key = optional_text(submission.idempotency_key)
    if key is None:
        return None
    if len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidInput("idempotency_key", f"is longer than {MAX_IDEMPOTENCY_KEY_CHARS} characters")
    return key if actor.officer_id is None else f"officer:{actor.officer_id}:{key}"


def _save_complainant(session: Session, now: datetime, submission: Submission, priority: Priority) -> int:
    """The returning citizen found by phone, or a new one; the latest details given win."""
    name = optional_text(submission.name)
    email = optional_text(submission.email)
    address = optional_text(submission.address)
    typed_phone = optional_text(submission.phone)
    phone = normalise_phone(typed_phone) if typed_phone else None
    # Survivors of gender-based violence and those who report bribery or fraud may stay
    # anonymous; everyone else is reachable.
    if not priority.confidential:
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
        # Writing on WhatsApp opens its 24-hour window for free-form replies: the writer's own
        # number's window, not that of another number they typed.
        "whatsapp_inbound_at": now if submission.channel is Channel.WHATSAPP and submission.phone_verified else None,
        "created_at": now,
        "updated_at": now,
    }
    if phone is None:
        anonymous = Complainant(**values)
        session.add(anonymous)
        session.flush()
        return anonymous.id
    values["phone_hash"] = keyring().phone_digest(phone)
    # Anyone may type any number: an unproven one changes nothing its owner gave before.
    upsert = _UPSERT_COMPLAINANT if submission.phone_verified else _ADD_COMPLAINANT
    complainant_id: int = session.connection().execute(upsert, every_column(table(Complainant), values)).scalar_one()
    return complainant_id


def _language(value: str | None) -> str:
    """A language the citizen's messages are written in (English by default)."""
    language = optional_text(value) or DEFAULT_LANGUAGE
    if language not in LANGUAGES:
        raise InvalidInput("language", f"one of {', '.join(LANGUAGES)}")
    return language


def _spot(latitude: float | None, longitude: float | None) -> dict[str, float | None]:
    """A shared place as stored: both coordinates, in range, or neither."""
    if latitude is None or longitude is None:
        return {"latitude": None, "longitude": None}
    if not on_the_map(latitude, longitude):
        raise InvalidInput("place", "the shared place is not on the map")
    return {"latitude": latitude, "longitude": longitude}


# A returning citizen is refreshed, not duplicated: one statement, atomic under concurrency.
_UPSERT_COMPLAINANT = insert_returning_id(
    table(Complainant),
    "ON CONFLICT (phone_hash) DO UPDATE SET name = coalesce(excluded.name, complainant.name),"
    " email = coalesce(excluded.email, complainant.email),"
    " address = coalesce(excluded.address, complainant.address), updated_at = excluded.updated_at,"
    " whatsapp_inbound_at = coalesce(excluded.whatsapp_inbound_at, complainant.whatsapp_inbound_at)",
)


# A number not yet proven: a new citizen, or the number's complainant as they were.
_ADD_COMPLAINANT = insert_returning_id(
    table(Complainant), "ON CONFLICT (phone_hash) DO UPDATE SET updated_at = complainant.updated_at"
)


# Built once: made anew (and through the ORM) the check cost a filing a quarter of its time.
_FILED_WITH_KEY = select(table(Grievance).c.id).where(table(Grievance).c.idempotency_key == bindparam("key"))


# A clash on the reference inserts nothing instead of failing the unit (the key was checked first).
_INSERT_GRIEVANCE = insert_returning_id(table(Grievance), "ON CONFLICT DO NOTHING")


def file_grievance(session: Session, clock: Clock, submission: Submission, actor: Actor = CITIZEN) -> Grievance:
    """Open a new case (status new, level 1), routed and with its response deadline set.

    Idempotent: a submission whose key the same caller sent before returns the ticket it
    made then, and writes nothing (the complainant's details are left as they were).
    `actor` is an officer when a case told in person or by phone is typed in for the citizen.
    """
    if actor.officer_id is not None:  # the officer took the number down from the citizen
        submission = replace(submission, phone_verified=True)
    config = catalog(session)
    details = required_text(submission.details, "details")
    if len(details) > MAX_DETAILS_CHARS:
        raise InvalidInput("details", f"is longer than {MAX_DETAILS_CHARS} characters")
    project_id = config.project(submission.project_code).id if submission.project_code else None
    code = optional_text(submission.category_code)
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
    # Columns not named here (the outcome, notification bookkeeping, the version) start at
    # their defaults: a new column needs no change to filing.
    values = every_column(
        table(Grievance),
        {
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
            "summary": optional_text(submission.summary),
            "ai_categories": submission.ai_categories,
            "category_source": submission.category_source if category_id else None,
            "needs_triage": submission.needs_triage,
            "phone_verified": submission.phone_verified,
            "province_id": place.province_id,
            "district_id": place.district_id,
            "municipality_id": place.municipality_id,
            "ward": ward,
            "locality": optional_text(submission.locality),
            **_spot(submission.latitude, submission.longitude),
            "created_at": now,
            "updated_at": now,
            "level_entered_at": now,
            "due_at": due_at(Status.NEW, 1, now, now, config.deadlines(project_id), config.lineage(category_id)),
        },
    )
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
        record(session, now, grievance, Action.FILE, actor, None, None, optional_text(submission.note))
        return grievance
    raise RuntimeError("could not draw an unused reference; the reference space is exhausted")
