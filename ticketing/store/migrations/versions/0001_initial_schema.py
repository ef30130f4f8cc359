"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 04:02:03.697554
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column("name_ne", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "priority",
            sa.Enum("normal", "high", "gender", name="priority", native_enum=False, length=24),
            nullable=True,
        ),
        sa.Column("level_1_hours", sa.Integer(), nullable=True),
        sa.Column("level_2_hours", sa.Integer(), nullable=True),
        sa.Column("level_3_hours", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["category.id"], name=op.f("fk_category_parent_id_category")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category")),
        sa.UniqueConstraint("code", name=op.f("uq_category_code")),
    )
    with op.batch_alter_table("category", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_category_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "complainant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complainant")),
        sa.UniqueConstraint("phone_hash", name=op.f("uq_complainant_phone_hash")),
    )
    op.create_table(
        "config_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_version")),
    )
    # The one row whose token the catalog snapshot is keyed by; it must always exist.
    op.execute("INSERT INTO config_version (id, token) VALUES (1, 'initial')")
    op.create_table(
        "province",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name_en", sa.String(length=80), nullable=False),
        sa.Column("name_ne", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_province")),
    )
    op.create_table(
        "district",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("province_id", sa.Integer(), nullable=False),
        sa.Column("name_en", sa.String(length=80), nullable=False),
        sa.Column("name_ne", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["province_id"], ["province.id"], name=op.f("fk_district_province_id_province")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_district")),
    )
    with op.batch_alter_table("district", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_district_province_id"), ["province_id"], unique=False)

    op.create_table(
        "municipality",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("name_en", sa.String(length=80), nullable=False),
        sa.Column("name_ne", sa.String(length=80), nullable=False),
        sa.Column("wards", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["district_id"], ["district.id"], name=op.f("fk_municipality_district_id_district")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_municipality")),
    )
    with op.batch_alter_table("municipality", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_municipality_district_id"), ["district_id"], unique=False)

    op.create_table(
        "officer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column(
            "role",
            sa.Enum(
                "super_admin",
                "project_admin",
                "bank_viewer",
                "project_director",
                "project_manager",
                "contractor",
                "focal_person",
                name="role",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("all_projects", sa.Boolean(), nullable=False),
        sa.Column("gender_cleared", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("province_id", sa.Integer(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("municipality_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["district_id"], ["district.id"], name=op.f("fk_officer_district_id_district")),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_officer_municipality_id_municipality")
        ),
        sa.ForeignKeyConstraint(["province_id"], ["province.id"], name=op.f("fk_officer_province_id_province")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_officer")),
        sa.UniqueConstraint("email", name=op.f("uq_officer_email")),
    )
    op.create_table(
        "project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "type",
            sa.Enum("construction", "operation_maintenance", "other", name="projecttype", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("province_id", sa.Integer(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("municipality_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["district_id"], ["district.id"], name=op.f("fk_project_district_id_district")),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_project_municipality_id_municipality")
        ),
        sa.ForeignKeyConstraint(["province_id"], ["province.id"], name=op.f("fk_project_province_id_province")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project")),
        sa.UniqueConstraint("code", name=op.f("uq_project_code")),
    )
    op.create_table(
        "grievance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=12), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("complainant_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column(
            "priority",
            sa.Enum("normal", "high", "gender", name="priority", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "new", "in_progress", "escalated", "resolved", "closed", name="status", native_enum=False, length=24
            ),
            nullable=False,
        ),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column(
            "channel",
            sa.Enum(
                "webchat",
                "whatsapp",
                "facebook",
                "sms",
                "api",
                "backoffice",
                "phone",
                "in_person",
                name="channel",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("ai_categories", sa.JSON(), nullable=True),
        sa.Column("ward", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level_entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column(
            "close_reason",
            sa.Enum("accepted", "no_answer", "invalid", "duplicate", name="closereason", native_enum=False, length=24),
            nullable=True,
        ),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("province_id", sa.Integer(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("municipality_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["assignee_id"], ["officer.id"], name=op.f("fk_grievance_assignee_id_officer")),
        sa.ForeignKeyConstraint(["category_id"], ["category.id"], name=op.f("fk_grievance_category_id_category")),
        sa.ForeignKeyConstraint(
            ["complainant_id"], ["complainant.id"], name=op.f("fk_grievance_complainant_id_complainant")
        ),
        sa.ForeignKeyConstraint(["district_id"], ["district.id"], name=op.f("fk_grievance_district_id_district")),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"], ["grievance.id"], name=op.f("fk_grievance_duplicate_of_id_grievance")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_grievance_municipality_id_municipality")
        ),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_grievance_project_id_project")),
        sa.ForeignKeyConstraint(["province_id"], ["province.id"], name=op.f("fk_grievance_province_id_province")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grievance")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_grievance_idempotency_key")),
        sa.UniqueConstraint("reference", name=op.f("uq_grievance_reference")),
    )
    with op.batch_alter_table("grievance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grievance_assignee_id"), ["assignee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grievance_complainant_id"), ["complainant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grievance_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_grievance_due_at"), ["due_at"], unique=False)
        batch_op.create_index("ix_grievance_project_status", ["project_id", "status"], unique=False)
        batch_op.create_index(
            "ix_grievance_resolved_at",
            ["resolved_at"],
            unique=False,
            postgresql_where=sa.text("status = 'resolved'"),
            sqlite_where=sa.text("status = 'resolved'"),
        )

    op.create_table(
        "officer_project",
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officer.id"], name=op.f("fk_officer_project_officer_id_officer"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_officer_project_project_id_project"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("officer_id", "project_id", name=op.f("pk_officer_project")),
    )
    op.create_table(
        "routing_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("province_id", sa.Integer(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("municipality_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["category_id"], ["category.id"], name=op.f("fk_routing_rule_category_id_category")),
        sa.ForeignKeyConstraint(["district_id"], ["district.id"], name=op.f("fk_routing_rule_district_id_district")),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_routing_rule_municipality_id_municipality")
        ),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], name=op.f("fk_routing_rule_officer_id_officer")),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_routing_rule_project_id_project")),
        sa.ForeignKeyConstraint(["province_id"], ["province.id"], name=op.f("fk_routing_rule_province_id_province")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rule")),
    )
    with op.batch_alter_table("routing_rule", schema=None) as batch_op:
        batch_op.create_index("ix_routing_rule_project_level", ["project_id", "level"], unique=False)

    op.create_table(
        "sla_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("response_hours", sa.Integer(), nullable=False),
        sa.Column("level_1_hours", sa.Integer(), nullable=False),
        sa.Column("level_2_hours", sa.Integer(), nullable=False),
        sa.Column("level_3_hours", sa.Integer(), nullable=False),
        sa.Column("auto_close_days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_sla_policy_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policy")),
        sa.UniqueConstraint("project_id", name=op.f("uq_sla_policy_project_id")),
    )
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grievance_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("storage_key", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=False),
        sa.Column(
            "uploaded_by_kind",
            sa.Enum("officer", "citizen", "system", name="actorkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("uploaded_by_officer_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["grievance_id"], ["grievance.id"], name=op.f("fk_attachment_grievance_id_grievance")),
        sa.ForeignKeyConstraint(
            ["uploaded_by_officer_id"], ["officer.id"], name=op.f("fk_attachment_uploaded_by_officer_id_officer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachment_grievance_id"), ["grievance_id"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "actor_kind",
            sa.Enum("officer", "citizen", "system", name="actorkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("actor_officer_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("grievance_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_officer_id"], ["officer.id"], name=op.f("fk_audit_log_actor_officer_id_officer")
        ),
        sa.ForeignKeyConstraint(["grievance_id"], ["grievance.id"], name=op.f("fk_audit_log_grievance_id_grievance")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_grievance_id"), ["grievance_id"], unique=False)

    op.create_table(
        "note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grievance_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "visibility",
            sa.Enum("internal", "public", name="notevisibility", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "author_kind",
            sa.Enum("officer", "citizen", "system", name="actorkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("author_officer_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["author_officer_id"], ["officer.id"], name=op.f("fk_note_author_officer_id_officer")),
        sa.ForeignKeyConstraint(["grievance_id"], ["grievance.id"], name=op.f("fk_note_grievance_id_grievance")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note")),
    )
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_grievance_id"), ["grievance_id"], unique=False)

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("grievance_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("sms", "whatsapp", "email", "console", name="notificationchannel", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("template", sa.String(length=80), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "sent", "failed", "cancelled", name="notificationstatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["grievance_id"], ["grievance.id"], name=op.f("fk_notification_grievance_id_grievance")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notification_dedupe_key")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_grievance_id"), ["grievance_id"], unique=False)
        batch_op.create_index("ix_notification_status_next_attempt_at", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grievance_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "file",
                "acknowledge",
                "assign",
                "escalate",
                "resolve",
                "accept",
                "refuse",
                "auto_close",
                "close_invalid",
                name="action",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "from_status",
            sa.Enum(
                "new", "in_progress", "escalated", "resolved", "closed", name="status", native_enum=False, length=24
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "new", "in_progress", "escalated", "resolved", "closed", name="status", native_enum=False, length=24
            ),
            nullable=False,
        ),
        sa.Column("from_level", sa.Integer(), nullable=True),
        sa.Column("to_level", sa.Integer(), nullable=False),
        sa.Column(
            "actor_kind",
            sa.Enum("officer", "citizen", "system", name="actorkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("actor_officer_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_officer_id"], ["officer.id"], name=op.f("fk_status_change_actor_officer_id_officer")
        ),
        sa.ForeignKeyConstraint(["assignee_id"], ["officer.id"], name=op.f("fk_status_change_assignee_id_officer")),
        sa.ForeignKeyConstraint(
            ["grievance_id"], ["grievance.id"], name=op.f("fk_status_change_grievance_id_grievance")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_change")),
    )
    with op.batch_alter_table("status_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_change_grievance_id"), ["grievance_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("status_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_change_grievance_id"))

    op.drop_table("status_change")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_notification_grievance_id"))

    op.drop_table("notification")
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_note_grievance_id"))

    op.drop_table("note")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_grievance_id"))

    op.drop_table("audit_log")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachment_grievance_id"))

    op.drop_table("attachment")
    op.drop_table("sla_policy")
    with op.batch_alter_table("routing_rule", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_rule_project_level")

    op.drop_table("routing_rule")
    op.drop_table("officer_project")
    with op.batch_alter_table("grievance", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_grievance_resolved_at",
            postgresql_where=sa.text("status = 'resolved'"),
            sqlite_where=sa.text("status = 'resolved'"),
        )
        batch_op.drop_index("ix_grievance_project_status")
        batch_op.drop_index(batch_op.f("ix_grievance_due_at"))
        batch_op.drop_index(batch_op.f("ix_grievance_created_at"))
        batch_op.drop_index(batch_op.f("ix_grievance_complainant_id"))
        batch_op.drop_index(batch_op.f("ix_grievance_assignee_id"))

    op.drop_table("grievance")
    op.drop_table("project")
    op.drop_table("officer")
    with op.batch_alter_table("municipality", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_municipality_district_id"))

    op.drop_table("municipality")
    with op.batch_alter_table("district", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_district_province_id"))

    op.drop_table("district")
    op.drop_table("province")
    op.drop_table("config_version")
    op.drop_table("complainant")
    with op.batch_alter_table("category", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_category_parent_id"))

    op.drop_table("category")
