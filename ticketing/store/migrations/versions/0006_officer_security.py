"""officer security: lock-out after failed sign-ins, session token, password age, TOTP

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("officer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("session_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("totp_secret", sa.Text(), nullable=True))
    with op.batch_alter_table("officer", schema=None) as batch_op:
        batch_op.alter_column("failed_logins", existing_type=sa.Integer(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("officer", schema=None) as batch_op:
        batch_op.drop_column("totp_secret")
        batch_op.drop_column("session_token")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("password_changed_at")
