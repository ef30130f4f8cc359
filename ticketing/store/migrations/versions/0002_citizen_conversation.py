"""citizen conversation: satisfaction rating, failed lookups

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("grievance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("satisfaction", sa.Integer(), nullable=True))
    op.create_table(
        "lookup_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lookup_failure")),
    )
    op.create_index("ix_lookup_failure_key_digest_at", "lookup_failure", ["key_digest", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_lookup_failure_key_digest_at", table_name="lookup_failure")
    op.drop_table("lookup_failure")
    with op.batch_alter_table("grievance", schema=None) as batch_op:
        batch_op.drop_column("satisfaction")
