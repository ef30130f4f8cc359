"""invalid proposal: a contractor's "close as invalid" waits for a level-2 officer

A plain ALTER TABLE (no batch rebuild), so SQLite keeps the search triggers of migration 0008.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("grievance", sa.Column("invalid_proposal", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("grievance", "invalid_proposal")
