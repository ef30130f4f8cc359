"""Fixtures: a real ticket store on SQLite always, and on PostgreSQL when TEST_DATABASE_URL is set.

PostgreSQL tests run in a database of their own, created on that server for this run and
dropped afterwards, so they never touch the data of whoever else uses the server.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.helpers import FakeClock
from ticketing.config import Settings, normalise_database_url
from ticketing.store.bootstrap import load_categories, prepare, seed_demo
from ticketing.store.crypto import generate_key_material
from ticketing.store.db import Store, open_store
from ticketing.store.models import Base

REFERENCE_TABLES = {"province", "district", "municipality", "alembic_version", "config_version"}
TEST_KEYS = generate_key_material()


def postgres_server_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    return normalise_database_url(url) if url else None


def settings_for(url: str, var_dir: Path) -> Settings:
    return Settings(
        database_url=url,
        var_dir=var_dir,
        encryption_keys=TEST_KEYS["GRM_ENCRYPTION_KEYS"],
        phone_hash_key=TEST_KEYS["GRM_PHONE_HASH_KEY"],
    )


def kind_of(item: pytest.Item) -> str:
    """browser, e2e, store or unit: the slowest thing a test needs decides. Tests that start
    processes without the `bot` fixture say so with `pytest.mark.e2e`."""
    needs = getattr(item, "fixturenames", ())
    if "chromium" in needs:
        return "browser"
    if "bot" in needs or item.get_closest_marker("e2e") is not None:
        return "e2e"
    return "store" if "store" in needs else "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = kind_of(item)
        if item.get_closest_marker(kind) is None:
            item.add_marker(kind)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the reference data, copied for every test."""
    directory = tmp_path_factory.mktemp("template")
    path = directory / "grm.sqlite3"
    store = open_store(settings_for(f"sqlite:///{path}", directory))
    prepare(store)
    store.engine.dispose()  # the last connection to close folds the WAL into the file
    return path


@contextmanager
def private_postgres_database(purpose: str) -> Iterator[str]:
    """A new, empty database on the TEST_DATABASE_URL server, dropped afterwards."""
    server = postgres_server_url()
    if server is None:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    name = f"grm_{purpose}_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private database migrated once for the run; tests empty it between them."""
    with private_postgres_database("test") as url:
        store = open_store(settings_for(url, tmp_path_factory.mktemp("pgvar")))
        prepare(store)
        store.engine.dispose()
        yield url


def _empty_postgres(store: Store) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name not in REFERENCE_TABLES)
    with store.sessions.begin() as session:
        session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        load_categories(session)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty ticket store (reference data and categories loaded) on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "grm.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        opened = open_store(settings_for(f"sqlite:///{path}", tmp_path))
    else:
        opened = open_store(settings_for(request.getfixturevalue("postgres_database"), tmp_path))
        _empty_postgres(opened)
    yield opened
    opened.engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def demo(store: Store, clock: FakeClock) -> Store:
    """The store with the demo projects, officers and routing rules."""
    with store.sessions.begin() as session:
        seed_demo(session, clock, "test-password")
    return store


@pytest.fixture
def backend(store: Store) -> str:
    return store.engine.dialect.name


# Fixture modules: the browser (Playwright on the system's Chromium) and the running bot.
pytest_plugins = ["tests.browser", "tests.bot"]
