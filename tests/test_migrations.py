"""Migrations build the schema from nothing on each backend, exactly as the models describe it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from tests.conftest import private_postgres_database
from ticketing.db import alembic_config, make_engine, upgrade_to_head
from ticketing.models import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield engine
        engine.dispose()
        return
    with private_postgres_database("migrate") as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def test_upgrade_from_empty_matches_the_models(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    with empty_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert set(inspect(empty_engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}


def test_downgrade_to_nothing_and_up_again(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    command.downgrade(alembic_config(empty_engine), "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade_to_head(empty_engine)
    upgrade_to_head(empty_engine)  # a second run finds nothing to do
    assert "grievance" in inspect(empty_engine).get_table_names()
