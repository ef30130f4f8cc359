"""Rasa's conversation store, seen from the ticket side: where it is, and forgetting the
conversations nobody has continued for a while.

The bot keeps each conversation's events there (bot/tracker_store.py), and forgets a
citizen's words as soon as a turn files or looks up a grievance. A conversation left before
that (a story told and never sent) would keep them for good; after GRM_CONVERSATION_DAYS of
silence it is deleted whole: the ticket store holds everything that was filed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, Float, MetaData, String, Table, create_engine, delete, func, inspect, select

from ticketing.config import Settings

CONVERSATIONS_FILE = "conversations.sqlite3"
# The columns of Rasa's SQL tracker store that this needs (its table is Rasa's to create).
_EVENTS = Table("events", MetaData(), Column("sender_id", String(255)), Column("timestamp", Float))


def conversations_file(settings: Settings) -> Path:
    """The embedded default's conversation store, beside the tickets' SQLite file."""
    return settings.var_dir / CONVERSATIONS_FILE


def forget_silent_conversations(settings: Settings, now: datetime, silent_for: timedelta) -> int:
    """Delete every conversation whose last event is older than `silent_for`; how many events went."""
    if settings.is_embedded:
        path = conversations_file(settings)
        if not path.exists():
            return 0  # Rasa has not started yet: nothing to forget, and no file to make
        url = f"sqlite:///{path}"
    else:
        url = settings.database_url  # Rasa keeps its events in the tickets' own database
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table(_EVENTS.name):
            return 0
        silent = (
            select(_EVENTS.c.sender_id)
            .group_by(_EVENTS.c.sender_id)
            .having(func.max(_EVENTS.c.timestamp) < (now - silent_for).timestamp())
        )
        with engine.begin() as connection:
            forgotten: int = connection.execute(delete(_EVENTS).where(_EVENTS.c.sender_id.in_(silent))).rowcount
        return forgotten
    finally:
        engine.dispose()
