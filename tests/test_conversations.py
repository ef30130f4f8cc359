"""Conversations left silent are deleted from Rasa's store; the others stay."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.bot import Bot
from tests.conftest import settings_for
from tests.test_conversation import QR
from ticketing.clock import SystemClock
from ticketing.store.conversations import CONVERSATIONS_FILE, forget_silent_conversations
from ticketing.store.db import Store


def senders(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT DISTINCT sender_id FROM events")}


def test_silent_conversations_are_forgotten_in_rasas_own_store(bot: Bot, tmp_path: Path) -> None:
    citizen = bot.citizen(**QR)
    citizen.say("/greet")
    # A copy of the store Rasa wrote, so that the running bot keeps its own.
    shutil.copy(bot.store.settings.var_dir / CONVERSATIONS_FILE, tmp_path / CONVERSATIONS_FILE)
    settings = settings_for(f"sqlite:///{tmp_path / 'grm.sqlite3'}", tmp_path)
    now, month = SystemClock().now(), timedelta(days=30)
    assert forget_silent_conversations(settings, now, month) == 0
    assert citizen.sender in senders(tmp_path / CONVERSATIONS_FILE)
    assert forget_silent_conversations(settings, now + month + timedelta(minutes=1), month) > 0
    assert senders(tmp_path / CONVERSATIONS_FILE) == set()


def test_before_rasa_has_run_there_is_nothing_to_forget(store: Store) -> None:
    # No file is made on SQLite, no table touched on PostgreSQL.
    settings = store.settings
    assert forget_silent_conversations(settings, SystemClock().now(), timedelta(days=30)) == 0
    assert not (settings.var_dir / CONVERSATIONS_FILE).exists()


def test_on_postgresql_rasas_events_share_the_tickets_database(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite Rasa keeps its own file (the test above)")
    now = SystemClock().now()
    with store.engine.begin() as connection:
        # The columns of Rasa's SQL tracker store (rasa.core.tracker_store.SQLTrackerStore.SQLEvent).
        connection.execute(
            text(
                "CREATE TABLE events (id serial PRIMARY KEY, sender_id varchar(255) NOT NULL, type_name varchar(255)"
                " NOT NULL, timestamp float, intent_name varchar(255), action_name varchar(255), data text)"
            )
        )
        for sender, age in (("silent", 40), ("silent", 31), ("recent", 40), ("recent", 1)):
            connection.execute(
                text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, 'user', :t, '{}')"),
                {"s": sender, "t": (now - timedelta(days=age)).timestamp()},
            )
    try:
        assert forget_silent_conversations(store.settings, now, timedelta(days=30)) == 2
        with store.engine.connect() as connection:
            assert connection.execute(text("SELECT DISTINCT sender_id FROM events")).scalars().all() == ["recent"]
    finally:
        with store.engine.begin() as connection:
            connection.execute(text("DROP TABLE events"))
