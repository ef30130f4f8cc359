"""locality: the village or tole a citizen writes with the ward

Plain ALTER TABLE (no batch rebuild), so SQLite keeps the search triggers of migration 0008.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("grievance", sa.Column("locality", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column("grievance", "locality")
