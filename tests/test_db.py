"""Connection handling: connections the server cut while idle are replaced, not used."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.helpers import FakeClock, file
from ticketing.store import db
from ticketing.store.db import Store


def cut_every_pooled_connection(store: Store) -> None:
    """What a server restart does to the pool: every idle connection is closed server-side."""
    with store.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    killer = create_engine(store.settings.database_url, isolation_level="AUTOCOMMIT")
    with killer.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    killer.dispose()


@pytest.fixture
def server_store(demo: Store, backend: str) -> Store:
    if backend != "postgresql":
        pytest.skip("only a server database cuts connections")
    return demo


def test_a_cut_idle_connection_is_replaced(
    server_store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
    cut_every_pooled_connection(server_store)
    assert file(server_store, clock).id is not None


def test_a_connection_in_steady_use_is_not_pinged(server_store: Store, clock: FakeClock) -> None:
    # The counterpart: within the idle window no ping is spent, so a cut shows as an error
    # (which the edges retry); this is the price of keeping a round trip off every unit.
    cut_every_pooled_connection(server_store)
    with pytest.raises(OperationalError):
        file(server_store, clock)
    assert file(server_store, clock).id is not None  # the pool has recovered by itself
