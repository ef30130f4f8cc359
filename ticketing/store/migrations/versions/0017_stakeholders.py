"""stakeholders: people outside the backoffice told of a project's cases at a level

Seed 000 section 4.2 names the contractor, the supervision consultant, the grievance
redress committee's members and the affected persons as stakeholders of each level; they
are told per the notification matrix, their addresses encrypted like the citizens'.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 21:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stakeholder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_stakeholder_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stakeholder")),
    )
    op.create_index("ix_stakeholder_project_level", "stakeholder", ["project_id", "level"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_stakeholder_project_level", table_name="stakeholder")
    op.drop_table("stakeholder")
