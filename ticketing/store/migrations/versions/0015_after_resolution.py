"""after resolution: a contractor's proposal to close as invalid, and the refusals counted

grievance.invalid_proposal holds a contractor's "close as invalid" until a level-2 officer
decides; grievance.refusals counts the resolutions the citizen refused (from the history, for
the cases already there), so that the dashboard counts answers without reading the history.
Plain ALTER TABLE statements (no batch rebuild), so SQLite keeps the search triggers of
migration 0008.

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
    op.add_column("grievance", sa.Column("refusals", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE grievance SET refusals = (SELECT count(*) FROM status_change"
        " WHERE status_change.grievance_id = grievance.id AND status_change.action = 'refuse')"
    )


def downgrade() -> None:
    op.drop_column("grievance", "refusals")
    op.drop_column("grievance", "invalid_proposal")
