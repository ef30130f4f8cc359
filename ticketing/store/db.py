"""Engines, sessions and migrations. Nothing here runs at import time."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from ticketing.config import Settings, private_directory
from ticketing.store.crypto import install_keys, keyring_from_settings
from ticketing.store.sqlfunctions import register_sqlite_functions

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
IDLE_PING_SECONDS = 30.0


def _tune_sqlite(dbapi_connection: Any, connection_record: object) -> None:
    # WAL lets the backoffice read while the bot writes; the busy timeout makes concurrent
    # writers wait for each other instead of failing with "database is locked".
    # pysqlite's own implicit BEGIN is switched off; _begin_sqlite_immediately replaces it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    register_sqlite_functions(dbapi_connection)


def _begin_sqlite_immediately(connection: Any) -> None:
    # Take the write lock at BEGIN, so two read-then-write units cannot both read the old row.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _note_checkin(dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
    connection_record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, connection_record: ConnectionPoolEntry, proxy: object) -> None:
    # A connection that sat idle may have been cut by a server restart; one in steady use has
    # just proven itself. Pinging only the idle ones keeps a round trip off every unit of work
    # (pool_pre_ping would cost a fifth of filing throughput).
    idle_since = connection_record.info.get("checked_in_at")
    if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()
    except Exception as exc:  # any failure means this connection is unusable
        raise DisconnectionError("stale connection") from exc  # the pool retries with a new one


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for the ticket store, with SQLite made safe for several processes."""
    # An error's text would otherwise carry the statement's values (a story, a phone's hash)
    # into whatever log records it.
    options.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _tune_sqlite)
        event.listen(engine, "begin", _begin_sqlite_immediately)
        return engine
    # PostgreSQL's JIT compiler pays off on long analytical queries; the planner reaches for
    # it on the backoffice's scoped counts, where compiling took longer than the query
    # (bench/backoffice.py: a manager's case list 257 ms p95 with it, 99 ms without).
    connect_args = {"options": "-c jit=off"} | options.pop("connect_args", {})
    engine = create_engine(url, connect_args=connect_args, **options)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: objects stay readable after their unit of work has committed.
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Apply every migration not yet applied to the database behind `engine`."""
    command.upgrade(alembic_config(engine), "head")


@dataclass(frozen=True)
class Store:
    """An opened ticket store: its engine and the factory of units of work."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]


def open_store(settings: Settings, **engine_options: Any) -> Store:
    """Install the encryption keys and connect; the one entry point every process uses."""
    private_directory(settings.var_dir)
    install_keys(keyring_from_settings(settings))
    engine = make_engine(settings.database_url, **engine_options)
    return Store(settings=settings, engine=engine, sessions=make_session_factory(engine))


def hold_lock(session: Session, name: str) -> None:
    """Make other units of work that hold the same name wait until this one ends.

    PostgreSQL takes a transaction-level advisory lock; SQLite needs none, since every unit
    of work there holds the database's one write lock from its start (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name})
