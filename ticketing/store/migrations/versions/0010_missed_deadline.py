"""missed deadline: a flag on each case the scheduler escalated for a passed deadline

"Resolved within SLA" is then a column, not a search of every case's history. Existing
cases take the flag from their history. Plain ALTER TABLE statements (no batch rebuild),
so SQLite keeps the search triggers of migration 0008.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("grievance", sa.Column("missed_deadline", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE grievance SET missed_deadline = true WHERE id IN (SELECT grievance_id FROM status_change"
        " WHERE action = 'escalate' AND actor_kind = 'system')"
    )


def downgrade() -> None:
    op.drop_column("grievance", "missed_deadline")
