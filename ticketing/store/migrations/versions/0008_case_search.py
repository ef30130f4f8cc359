"""case search: a full-text index over the grievance texts

PostgreSQL: a GIN index on the "simple" text-search vector of summary and details.
SQLite: an FTS5 table with triggers (see ticketing.cases.search).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 00:00:00
"""

from collections.abc import Sequence

from alembic import op

from ticketing.cases.search import PG_DOCUMENT, PG_INDEX, sqlite_drop_statements, sqlite_statements

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"CREATE INDEX {PG_INDEX} ON grievance USING gin (({PG_DOCUMENT}))")
        return
    for statement in sqlite_statements():
        bind.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX {PG_INDEX}")
        return
    bind = op.get_bind()
    for statement in sqlite_drop_statements():
        bind.execute(statement)
