"""grievance without project: a citizen who does not know the project still files

grievance.project_id becomes nullable; such a case is routed by its place (the rules for
every project) and follows the default deadlines. On SQLite the column change rebuilds the
table, which drops the search triggers of migration 0008: the search index is removed
before and built again after, from the rows.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ticketing.cases.search import sqlite_drop_statements, sqlite_statements

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _set_nullable(nullable: bool) -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        for statement in sqlite_drop_statements():
            bind.execute(statement)
    with op.batch_alter_table("grievance", schema=None) as batch_op:
        batch_op.alter_column("project_id", existing_type=sa.Integer(), nullable=nullable)
    if sqlite:
        for statement in sqlite_statements():
            bind.execute(statement)


def upgrade() -> None:
    _set_nullable(True)


def downgrade() -> None:
    if op.get_bind().execute(sa.text("SELECT count(*) FROM grievance WHERE project_id IS NULL")).scalar():
        raise RuntimeError("grievances without a project exist: give each a project before downgrading")
    _set_nullable(False)
