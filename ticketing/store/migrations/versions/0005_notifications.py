"""notifications: outbox rows name their recipient, provider ids and delivery reports;
every sending attempt; cases carry their notification watermark; APScheduler's job table

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUDIENCE = sa.Enum("officer", "citizen", "address", name="audience", native_enum=False, length=24)


def upgrade() -> None:
    with op.batch_alter_table("grievance", schema=None) as batch_op:
        # Cases filed before this revision have had no notifications and need none now.
        batch_op.add_column(sa.Column("notify_pending", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("notified_change_id", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("warned_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_grievance_notify_pending",
            ["notify_pending"],
            unique=False,
            postgresql_where=sa.text("notify_pending"),
            sqlite_where=sa.text("notify_pending"),
        )
    with op.batch_alter_table("complainant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("whatsapp_inbound_at", sa.DateTime(timezone=True), nullable=True))

    op.execute("UPDATE notification SET next_attempt_at = created_at WHERE next_attempt_at IS NULL")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audience", AUDIENCE, nullable=False, server_default="address"))
        batch_op.add_column(sa.Column("officer_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("level", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("for_action", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("provider_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=24), nullable=True))
        batch_op.alter_column("recipient", existing_type=sa.Text(), nullable=True)
        batch_op.alter_column("next_attempt_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_foreign_key(batch_op.f("fk_notification_officer_id_officer"), "officer", ["officer_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_notification_provider_id"), ["provider_id"], unique=False)
    with op.batch_alter_table("notification", schema=None) as batch_op:
        # The defaults only filled the rows that existed; new rows always say who they are for.
        batch_op.alter_column("audience", existing_type=AUDIENCE, server_default=None)
        batch_op.alter_column("for_action", existing_type=sa.Boolean(), server_default=None)

    op.create_table(
        "notification_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("sms", "whatsapp", "email", "console", name="notificationchannel", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"], ["notification.id"], name=op.f("fk_notification_attempt_notification_id_notification")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempt")),
    )
    with op.batch_alter_table("notification_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_attempt_notification_id"), ["notification_id"], unique=False)

    op.create_table(
        "scheduler_job",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_job")),
    )
    with op.batch_alter_table("scheduler_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scheduler_job_next_run_time"), ["next_run_time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scheduler_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduler_job_next_run_time"))
    op.drop_table("scheduler_job")
    with op.batch_alter_table("notification_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_attempt_notification_id"))
    op.drop_table("notification_attempt")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_provider_id"))
        batch_op.drop_constraint(batch_op.f("fk_notification_officer_id_officer"), type_="foreignkey")
        batch_op.alter_column("next_attempt_at", existing_type=sa.DateTime(timezone=True), nullable=True)
        batch_op.alter_column("recipient", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("delivery_status")
        batch_op.drop_column("provider_id")
        batch_op.drop_column("for_action")
        batch_op.drop_column("level")
        batch_op.drop_column("officer_id")
        batch_op.drop_column("audience")
    with op.batch_alter_table("complainant", schema=None) as batch_op:
        batch_op.drop_column("whatsapp_inbound_at")
    with op.batch_alter_table("grievance", schema=None) as batch_op:
        batch_op.drop_index("ix_grievance_notify_pending")
        batch_op.drop_column("warned_due_at")
        batch_op.drop_column("notified_change_id")
        batch_op.drop_column("notify_pending")
