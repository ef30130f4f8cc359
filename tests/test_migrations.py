"""Migrations build the schema from nothing on each backend, exactly as the models describe it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

# Imported for its tables: Base.metadata holds a model's table once its module is imported.
import ticketing.store.case_models  # noqa: F401
from tests.conftest import private_postgres_database
from ticketing.cases.search import is_search_index
from ticketing.store.db import alembic_config, make_engine, upgrade_to_head
from ticketing.store.models import Base


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
        context = MigrationContext.configure(
            connection, opts={"include_name": lambda name, kind, parent: not is_search_index(name)}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    tables = {name for name in inspect(empty_engine).get_table_names() if not is_search_index(name)}
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_downgrade_to_nothing_and_up_again(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    command.downgrade(alembic_config(empty_engine), "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade_to_head(empty_engine)
    upgrade_to_head(empty_engine)  # a second run finds nothing to do
    assert "grievance" in inspect(empty_engine).get_table_names()


def test_upgrading_a_store_with_data_keeps_every_row(empty_engine: Engine) -> None:
    # Up to the revision before the officer table was rebuilt (SQLite rebuilds it by copy),
    # with officers that routing rules and audit rows point to.
    command.upgrade(alembic_config(empty_engine), "0005")
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO officer (id, name, email, role, all_projects, gender_cleared, active, created_at)"
                " VALUES (1, 'Ram', 'ram@grm.example', 'focal_person', true, false, true, '2026-01-01')"
            )
        )
        connection.execute(text("INSERT INTO routing_rule (level, officer_id, active) VALUES (1, 1, true)"))
    upgrade_to_head(empty_engine)
    with empty_engine.connect() as connection:
        officers = [tuple(row) for row in connection.execute(text("SELECT email, failed_logins FROM officer"))]
        assert officers == [("ram@grm.example", 0)]
        assert connection.execute(text("SELECT officer_id FROM routing_rule")).scalars().all() == [1]


def test_api_tokens_from_before_expiry_get_the_default_lifetime(empty_engine: Engine) -> None:
    command.upgrade(alembic_config(empty_engine), "0011")
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO officer (id, name, email, role, all_projects, gender_cleared, active, failed_logins,"
                " created_at) VALUES (1, 'Ram', 'ram@grm.example', 'focal_person', true, false, true, 0, '2026-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO api_token (officer_id, token_hash, label, created_at, revoked)"
                " VALUES (1, 'digest', 'MIS', '2026-01-01', false)"
            )
        )
    upgrade_to_head(empty_engine)
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM api_token WHERE expires_at IS NULL")).scalar() == 0
        flags = connection.execute(text("SELECT password_must_change, totp_last_step FROM officer")).one()
        assert tuple(flags) == (False, None)


def test_an_installed_category_tree_gains_the_integrity_branch_for_its_directors(empty_engine: Engine) -> None:
    command.upgrade(alembic_config(empty_engine), "0018")
    with empty_engine.begin() as connection:
        connection.execute(
            text("INSERT INTO category (code, name_en, name_ne, active) VALUES ('other', 'Other', 'अन्य', true)")
        )
        for number, (role, everywhere) in enumerate(
            [("project_director", True), ("super_admin", True), ("focal_person", False)], start=1
        ):
            connection.execute(
                text(
                    "INSERT INTO officer (id, name, email, role, all_projects, gender_cleared, active, failed_logins,"
                    " created_at) VALUES (:id, 'Officer', :email, :role, :everywhere, false, true, 0, '2026-01-01')"
                ),
                {"id": number, "email": f"{role}@grm.example", "role": role, "everywhere": everywhere},
            )
    upgrade_to_head(empty_engine)
    with empty_engine.connect() as connection:
        cleared = dict(connection.execute(text("SELECT role, integrity_cleared FROM officer")).tuples().all())
        assert cleared == {"project_director": True, "super_admin": True, "focal_person": False}
        branch = connection.execute(
            text("SELECT code, priority FROM category WHERE code LIKE 'integrity%' ORDER BY code")
        ).all()
        assert [tuple(row) for row in branch] == [
            ("integrity", "integrity"),
            ("integrity.bribery", None),
            ("integrity.fraud", None),
            ("integrity.funds", None),
        ]
        rules = connection.execute(
            text(
                "SELECT r.project_id, r.level, o.role FROM routing_rule r JOIN officer o ON o.id = r.officer_id"
                " JOIN category c ON c.id = r.category_id WHERE c.code = 'integrity' ORDER BY r.level"
            )
        ).all()
        assert [tuple(row) for row in rules] == [(None, level, "project_director") for level in (1, 2, 3, 4)]
