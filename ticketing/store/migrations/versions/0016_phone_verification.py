"""phone verification: one-time codes, and whether a case's phone is proven

grievance.phone_verified says the citizen's phone is proven theirs; the cases already filed
keep the messages they were getting (true), new ones start unproven unless filed from the
number itself or by an officer. phone_code holds the codes sent by SMS. Plain ALTER TABLE
(no batch rebuild), so SQLite keeps the search triggers of migration 0008.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 21:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("grievance", sa.Column("phone_verified", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE grievance SET phone_verified = true")
    op.create_table(
        "phone_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requester_digest", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("grievance_id", sa.Integer(), nullable=True),
        sa.Column("claimed", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wrong_tries", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["grievance_id"], ["grievance.id"], name=op.f("fk_phone_code_grievance_id_grievance")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_code")),
    )
    op.create_index(op.f("ix_phone_code_requester_digest"), "phone_code", ["requester_digest"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_phone_code_requester_digest"), table_name="phone_code")
    op.drop_table("phone_code")
    op.drop_column("grievance", "phone_verified")
