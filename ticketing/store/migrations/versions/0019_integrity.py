"""integrity: bribery, fraud and misuse of funds, handled in confidence by cleared officers

Adds the officers' integrity clearance (given to active project directors and super admins,
as the demo does) and, where the category tree is already loaded, the "integrity" branch
that data/reference/categories.json now holds, with routing rules that give its cases to
those project directors at every level. A fresh store gets the branch from that file.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than read from the JSON file, which may change after this migration.
_ROOT = (
    "integrity",
    "Integrity: bribery, fraud and misuse of funds",
    "सदाचार: घूस, ठगी र रकमको दुरुपयोग",
    (
        "Bribes asked for compensation, valuation, jobs or permits; fraud in compensation lists or records; theft"
        " or misuse of the project's money or materials. Visible only to cleared officers; referred to the bank's"
        " integrity office as its policy requires."
    ),
)
_CHILDREN = (
    ("integrity.bribery", "Bribery or money demanded", "घूस वा पैसा माग"),
    ("integrity.fraud", "Fraud, false records or favouritism", "ठगी, झूटो अभिलेख वा पक्षपात"),
    ("integrity.funds", "Misuse of project funds or materials", "आयोजनाको रकम वा सामग्रीको दुरुपयोग"),
)
_LEVELS = (1, 2, 3, 4)

category = sa.table(
    "category",
    sa.column("id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("parent_id", sa.Integer),
    sa.column("name_en", sa.String),
    sa.column("name_ne", sa.String),
    sa.column("description", sa.Text),
    sa.column("priority", sa.String),
    sa.column("active", sa.Boolean),
)
officer = sa.table(
    "officer",
    sa.column("id", sa.Integer),
    sa.column("role", sa.String),
    sa.column("active", sa.Boolean),
    sa.column("all_projects", sa.Boolean),
    sa.column("integrity_cleared", sa.Boolean),
)
officer_project = sa.table("officer_project", sa.column("officer_id", sa.Integer), sa.column("project_id", sa.Integer))
routing_rule = sa.table(
    "routing_rule",
    sa.column("project_id", sa.Integer),
    sa.column("level", sa.Integer),
    sa.column("category_id", sa.Integer),
    sa.column("officer_id", sa.Integer),
    sa.column("active", sa.Boolean),
)


def upgrade() -> None:
    op.add_column("officer", sa.Column("integrity_cleared", sa.Boolean(), nullable=False, server_default=sa.false()))
    bind = op.get_bind()
    bind.execute(
        officer.update()
        .where(officer.c.active, officer.c.role.in_(["project_director", "super_admin"]))
        .values(integrity_cleared=True)
    )
    loaded = bind.scalar(sa.select(sa.func.count()).select_from(category))
    present = bind.scalar(sa.select(sa.func.count()).select_from(category).where(category.c.code == _ROOT[0]))
    if not loaded or present:
        return
    code, name_en, name_ne, description = _ROOT
    root_id = bind.execute(
        category.insert()
        .values(code=code, name_en=name_en, name_ne=name_ne, description=description, priority="integrity", active=True)
        .returning(category.c.id)
    ).scalar_one()
    bind.execute(
        category.insert(),
        [{"code": c, "name_en": en, "name_ne": ne, "parent_id": root_id, "active": True} for c, en, ne in _CHILDREN],
    )
    directors = bind.execute(
        sa.select(officer.c.id, officer.c.all_projects).where(officer.c.active, officer.c.role == "project_director")
    ).all()
    rules = []
    for officer_id, everywhere in directors:
        projects: list[int | None] = [None]
        if not everywhere:
            projects = list(
                bind.scalars(sa.select(officer_project.c.project_id).where(officer_project.c.officer_id == officer_id))
            )
        rules += [
            {"project_id": project_id, "level": level, "category_id": root_id, "officer_id": officer_id, "active": True}
            for project_id in projects
            for level in _LEVELS
        ]
    if rules:
        bind.execute(routing_rule.insert(), rules)


def downgrade() -> None:
    op.drop_column("officer", "integrity_cleared")
