"""How `make run` wires the processes: where Rasa keeps conversations and locks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import settings_for
from ticketing.errors import ConfigurationError
from ticketing.processes import lock_store_environment, tracker_store_environment


def test_conversations_live_beside_the_tickets(tmp_path: Path) -> None:
    embedded = tracker_store_environment(settings_for(f"sqlite:///{tmp_path / 'grm.sqlite3'}", tmp_path))
    assert embedded["GRM_TRACKER_DIALECT"] == "sqlite"
    assert embedded["GRM_TRACKER_DB"] == str(tmp_path / "conversations.sqlite3")
    server = tracker_store_environment(settings_for("postgresql+psycopg://grm:secret@db.example:5433/grm", tmp_path))
    assert server == {
        "GRM_TRACKER_DIALECT": "postgresql",
        "GRM_TRACKER_HOST": "db.example:5433",
        "GRM_TRACKER_DB": "grm",
        "GRM_TRACKER_USER": "grm",
        "GRM_TRACKER_PASSWORD": "secret",
    }


def test_one_rasa_process_locks_in_memory_several_need_redis() -> None:
    assert lock_store_environment(1, None)["GRM_LOCK_STORE"] == "in_memory"
    with pytest.raises(ConfigurationError, match="GRM_REDIS_URL"):
        lock_store_environment(2, None)
    shared = lock_store_environment(2, "redis://cache.example:6380/3")
    assert (shared["GRM_LOCK_STORE"], shared["GRM_REDIS_HOST"], shared["GRM_REDIS_PORT"]) == (
        "redis",
        "cache.example",
        "6380",
    )
    assert (shared["GRM_REDIS_DB"], shared["SANIC_WORKERS"]) == ("3", "2")
