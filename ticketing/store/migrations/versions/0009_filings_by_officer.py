"""filings by officer: index the history by the officer who acted

An officer's scope includes the cases they filed; the index lets that part of the scope
be found with one lookup.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 00:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_status_change_actor_officer_id"), "status_change", ["actor_officer_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_status_change_actor_officer_id"), table_name="status_change")
