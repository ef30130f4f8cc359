"""Bulk seeding shared by the benchmarks: complete grievance rows and complainants.

A benchmark needs a hundred thousand cases in seconds, which neither `file_grievance` nor
ORM objects give; these rows go in through Core executemany INSERTs instead. The grievance
row lists every column in one place, so a column added by a migration is seen here (and
`insert_grievances` refuses rows that miss one) rather than in every benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ticketing.lifecycle import Status
from ticketing.places.locations import Place
from ticketing.store.case_models import Complainant, Grievance
from ticketing.store.crypto import keyring
from ticketing.store.models import table
from ticketing.store.vocabulary import Channel, CloseReason, Priority

# The demo officers' password in the benchmarks: long enough for the password policy
# (ticketing.accounts), which seed_demo enforces.
DEMO_PASSWORD = "bench-password"
# Rows per INSERT: large enough to amortise the round trips, small enough for SQLite's and
# psycopg's statement limits and a modest memory footprint.
CHUNK = 5_000


def complainant_phone(n: int) -> str:
    """The phone of seeded citizen number `n` (E.164, a Nepal Telecom mobile)."""
    return f"+977984{n:07d}"


def insert_complainants(session: Session, count: int, now: datetime) -> None:
    """Citizens 1..count (ids in insertion order), with encrypted names and phones and the
    phone hash, as `file_grievance` would leave them."""
    digest = keyring().phone_digest
    for start in range(0, count, CHUNK):
        session.execute(
            insert(table(Complainant)),
            [
                {
                    "name": f"Citizen {n}",
                    "phone": complainant_phone(n),
                    "phone_hash": digest(complainant_phone(n)),
                    "email": None,
                    "address": None,
                    "whatsapp_inbound_at": None,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(start, min(start + CHUNK, count))
            ],
        )


def grievance_row(
    *,
    reference: str,
    project_id: int,
    complainant_id: int,
    place: Place,
    status: Status,
    level: int,
    assignee_id: int | None,
    created_at: datetime,
    details: str,
    summary: str | None,
    level_entered_at: datetime | None = None,
    updated_at: datetime | None = None,
    due_at: datetime | None = None,
    missed_deadline: bool = False,
    acknowledged_at: datetime | None = None,
    resolved_at: datetime | None = None,
    closed_at: datetime | None = None,
    resolution: str | None = None,
    satisfaction: int | None = None,
    refusals: int = 0,
    close_reason: CloseReason | None = None,
    category_id: int | None = None,
    category_source: str | None = None,
    priority: Priority = Priority.NORMAL,
    channel: Channel = Channel.WEBCHAT,
    language: str = "en",
    ward: int | None = None,
) -> dict[str, Any]:
    """Every column of one grievance row. The level was entered at filing and nothing has
    changed since unless said otherwise."""
    entered = level_entered_at or created_at
    return {
        "reference": reference,
        "idempotency_key": None,
        "project_id": project_id,
        "complainant_id": complainant_id,
        "category_id": category_id,
        "priority": priority,
        "status": status,
        "level": level,
        "assignee_id": assignee_id,
        "channel": channel,
        "language": language,
        "details": details,
        "summary": summary,
        "ai_categories": None,
        "category_source": category_source,
        "needs_triage": False,
        "province_id": place.province_id,
        "district_id": place.district_id,
        "municipality_id": place.municipality_id,
        "ward": ward,
        "locality": None,
        # Only a place shared from WhatsApp carries coordinates.
        "latitude": None,
        "longitude": None,
        "created_at": created_at,
        "updated_at": updated_at or entered,
        "level_entered_at": entered,
        "due_at": due_at,
        "missed_deadline": missed_deadline,
        "acknowledged_at": acknowledged_at,
        "resolved_at": resolved_at,
        "closed_at": closed_at,
        "resolution": resolution,
        "satisfaction": satisfaction,
        "phone_verified": True,
        "refusals": refusals,
        "close_reason": close_reason,
        "duplicate_of_id": None,
        "invalid_proposal": None,
        # Seeded cases were announced long ago: the scheduler has nothing left to send.
        "notify_pending": False,
        "notified_change_id": 0,
        "warned_due_at": None,
        "version": 1,
    }


_GRIEVANCE_COLUMNS = frozenset(column.name for column in table(Grievance).columns if not column.primary_key)


def insert_grievances(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert complete grievance rows in one executemany; returns their ids, in the rows' order."""
    if not rows:
        return []
    if rows[0].keys() != _GRIEVANCE_COLUMNS:
        # A column the model gained (or lost) would otherwise be left to its default silently.
        raise ValueError(f"grievance rows do not match the table: {sorted(rows[0].keys() ^ _GRIEVANCE_COLUMNS)}")
    grievances = table(Grievance)
    inserted = session.execute(insert(grievances).returning(grievances.c.id, sort_by_parameter_order=True), rows)
    return list(inserted.scalars())
