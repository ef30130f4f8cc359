"""officer accounts: reset passwords replaced at the next sign-in, TOTP codes used once, API tokens that expire

Tokens issued before this revision get the default lifetime from the upgrade on, so that
no client is cut off without warning. The officer columns are plain ALTER TABLE statements;
only api_token is rebuilt on SQLite (for NOT NULL), and it has no triggers to lose.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:30:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXISTING_TOKENS_LAST = timedelta(days=90)


def upgrade() -> None:
    op.add_column("officer", sa.Column("password_must_change", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("officer", sa.Column("totp_last_step", sa.Integer(), nullable=True))
    op.add_column("api_token", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    tokens = sa.table("api_token", sa.column("expires_at", sa.DateTime(timezone=True)))
    op.execute(tokens.update().values(expires_at=datetime.now(UTC) + EXISTING_TOKENS_LAST))
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    op.drop_column("officer", "totp_last_step")
    op.drop_column("officer", "password_must_change")
