"""triage: who chose the category, and cases waiting for triage

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("grievance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category_source", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("needs_triage", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f("ix_grievance_needs_triage"), ["needs_triage"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grievance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grievance_needs_triage"))
        batch_op.drop_column("needs_triage")
        batch_op.drop_column("category_source")
