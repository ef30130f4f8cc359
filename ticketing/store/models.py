"""The ticket store's base, its reference data (provinces, districts, local levels) and the
configuration officers edit (projects, SLA policies, categories, officers, routing rules),
as typed SQLAlchemy 2 models; a change to the configuration is announced to every process.
The cases are in `case_models`, the enums in `vocabulary`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    Text,
    event,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column, relationship

from ticketing.lifecycle import LADDER
from ticketing.store.types import EncryptedText, UtcDateTime, text_enum
from ticketing.store.vocabulary import Priority, ProjectType, Role


class Base(DeclarativeBase):
    # Stable constraint names so Alembic migrations read the same on SQLite and PostgreSQL.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UtcDateTime()}


class Province(Base):
    __tablename__ = "province"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name_en: Mapped[str] = mapped_column(String(80))
    name_ne: Mapped[str] = mapped_column(String(80))


class District(Base):
    __tablename__ = "district"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    province_id: Mapped[int] = mapped_column(ForeignKey("province.id"), index=True)
    name_en: Mapped[str] = mapped_column(String(80))
    name_ne: Mapped[str] = mapped_column(String(80))


class Municipality(Base):
    """A local level (metropolitan, sub-metropolitan, urban or rural municipality)."""

    __tablename__ = "municipality"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    kind: Mapped[str] = mapped_column(String(4))  # MC, SMC, M or RM
    name_en: Mapped[str] = mapped_column(String(80))
    name_ne: Mapped[str] = mapped_column(String(80))
    wards: Mapped[int]


class LocatedMixin:
    """A place at any depth: a row may name a province, a district, a municipality, a ward."""

    province_id: Mapped[int | None] = mapped_column(ForeignKey("province.id"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))


class Project(LocatedMixin, Base):
    __tablename__ = "project"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[ProjectType] = mapped_column(text_enum(ProjectType))
    location: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    sla_policy: Mapped[SlaPolicy | None] = relationship(back_populates="project", lazy="raise")


class SlaPolicy(Base):
    """A project's deadlines in hours; level 4 (legal institutions) has none."""

    __tablename__ = "sla_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), unique=True)
    response_hours: Mapped[int] = mapped_column(default=24)
    level_1_hours: Mapped[int] = mapped_column(default=LADDER[0].hours)
    level_2_hours: Mapped[int] = mapped_column(default=LADDER[1].hours)
    level_3_hours: Mapped[int] = mapped_column(default=LADDER[2].hours)
    auto_close_days: Mapped[int] = mapped_column(default=7)
    reopen_days: Mapped[int] = mapped_column(default=30, server_default="30")

    project: Mapped[Project] = relationship(back_populates="sla_policy", lazy="raise")


class Category(Base):
    """A node of the category tree; unset priority and deadlines are inherited from the parent."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_ne: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[Priority | None] = mapped_column(text_enum(Priority))
    level_1_hours: Mapped[int | None]
    level_2_hours: Mapped[int | None]
    level_3_hours: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[Category | None] = relationship(remote_side=[id])


officer_project = Table(
    "officer_project",
    Base.metadata,
    Column("officer_id", ForeignKey("officer.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", ForeignKey("project.id", ondelete="CASCADE"), primary_key=True),
)


class Officer(LocatedMixin, Base):
    """A backoffice user. `level` is set for the focal persons who handle cases."""

    __tablename__ = "officer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[Role] = mapped_column(text_enum(Role))
    level: Mapped[int | None]
    # Explicit rather than "no projects means all", so a forgotten scope never widens access.
    all_projects: Mapped[bool] = mapped_column(default=False)
    gender_cleared: Mapped[bool] = mapped_column(default=False)
    integrity_cleared: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None]
    # Set by an administrator's reset: the one-time password must be replaced before anything else.
    password_must_change: Mapped[bool] = mapped_column(default=False)
    # Failed sign-ins in a row; reaching the limit locks the account until locked_until.
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # Part of the session cookie's identity: replacing it ends every session of the officer.
    session_token: Mapped[str | None] = mapped_column(String(32))
    # The second factor's shared secret, when the officer has turned TOTP on.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)
    # The time step of the last code accepted: a code works once, even within its window.
    totp_last_step: Mapped[int | None]
    created_at: Mapped[datetime]

    projects: Mapped[list[Project]] = relationship(secondary=officer_project)


class ApiToken(Base):
    """A bearer token for the REST API, acting as its officer; only its hash is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(default=False)


class RoutingRule(LocatedMixin, Base):
    """Who takes a case at a level; unset project, place or category match anything."""

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    level: Mapped[int]
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"))
    active: Mapped[bool] = mapped_column(default=True)

    officer: Mapped[Officer] = relationship()
    project: Mapped[Project | None] = relationship()
    category: Mapped[Category | None] = relationship()

    __table_args__ = (Index("ix_routing_rule_project_level", "project_id", "level"),)


class Stakeholder(Base):
    """Someone outside the backoffice told of a project's cases at one level (seed 000 section
    4.2): the contractor's site engineer, the supervision consultant (CSC), a member of the
    grievance redress committee, an affected persons' representative. Their addresses are
    personal data, kept encrypted, and read when a message is sent."""

    __tablename__ = "stakeholder"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    level: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(EncryptedText)
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    project: Mapped[Project] = relationship()

    __table_args__ = (Index("ix_stakeholder_project_level", "project_id", "level"),)


class ConfigVersion(Base):
    """A single row whose token changes with every configuration change (see ticketing.catalog)."""

    __tablename__ = "config_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))


def table(model: type[Base]) -> Table:
    """The Core table behind a model, for statements that skip the ORM on hot paths."""
    return cast(Table, model.__table__)


CONFIG_MODELS = (Project, SlaPolicy, Category, Officer, RoutingRule, Province, District, Municipality)


# Counts this process's committed configuration changes, so its own catalog reloads at once.
config_generation = 0


CONFIG_CHANGED = "grm.config_changed"


def bump_config_version(session: Session) -> None:
    """Replace the configuration token, so every process reloads its catalog snapshot."""
    session.connection().execute(update(ConfigVersion).where(ConfigVersion.id == 1).values(token=uuid.uuid4().hex))
    session.info[CONFIG_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _announce_configuration_change(session: Session) -> None:
    global config_generation
    if session.info.pop(CONFIG_CHANGED, False):
        config_generation += 1


@event.listens_for(Session, "after_rollback")
def _forget_configuration_change(session: Session) -> None:
    session.info.pop(CONFIG_CHANGED, None)


@event.listens_for(Session, "before_flush")
def _track_configuration(session: Session, flush_context: object, instances: object) -> None:
    if any(isinstance(row, CONFIG_MODELS) for row in (*session.new, *session.dirty, *session.deleted)):
        bump_config_version(session)


@event.listens_for(Session, "do_orm_execute")
def _track_bulk_configuration_writes(state: ORMExecuteState) -> None:
    mapper = state.bind_mapper
    if (
        (state.is_update or state.is_delete or state.is_insert)
        and mapper is not None
        and mapper.class_ in CONFIG_MODELS
    ):
        bump_config_version(state.session)
