"""shared place: the spot a citizen shared from WhatsApp, kept with the case

Plain ALTER TABLE statements (no batch rebuild), so SQLite keeps the search triggers of
migration 0008.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("grievance", sa.Column("latitude", sa.Float(), nullable=True))
    op.add_column("grievance", sa.Column("longitude", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("grievance", "longitude")
    op.drop_column("grievance", "latitude")
