"""The administrators' screens: projects (with their QR codes), officers, routing rules,
categories, SLA policies and the stakeholders told of each level.

Rows are edited in place, never deleted: cases and their history point to them, so a
project, category, rule or officer is switched off with its `active` box instead. Every
change is written to the audit log with the fields it touched, and the catalog of every
process reloads on its own (the models bump the configuration version). Project admins
manage the officers of their own projects only, and cannot hand out more than that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from flask import flash, url_for
from flask_admin import Admin
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from markupsafe import Markup, escape
from sqlalchemy import inspect, select
from sqlalchemy.orm import Query, Session, joinedload, scoped_session
from werkzeug.wrappers import Response as BaseResponse
from wtforms import Form, SelectField, StringField
from wtforms.validators import NumberRange, ValidationError

from admin_app import current_clock
from admin_app.auth import Guarded, no_store, viewer
from admin_app.public import project_links
from ticketing.accounts import end_access, reset_password, revoke_api_tokens
from ticketing.errors import InvalidInput
from ticketing.lifecycle import TOP_LEVEL
from ticketing.permissions import Permission
from ticketing.store.case_models import AuditLog
from ticketing.store.models import (
    Category,
    District,
    Municipality,
    Officer,
    Project,
    Province,
    RoutingRule,
    SlaPolicy,
    Stakeholder,
)
from ticketing.store.vocabulary import ActorKind, Role
from ticketing.values.dates import officer_time
from ticketing.values.emails import normalise_email
from ticketing.values.phones import normalise_mobile

# What a project admin may make of the officers of their projects (see OfficerView).
PROJECT_ADMIN_GRANTS = frozenset({Role.PROJECT_MANAGER, Role.CONTRACTOR, Role.FOCAL_PERSON})
PLACE_FIELDS = ("province_id", "district_id", "municipality_id")


def _optional_id(value: object) -> int | None:
    return int(str(value)) if value not in (None, "", "None") else None


class Configured(Guarded, ModelView):  # type: ignore[misc]
    """A configuration table: listed, created and edited by administrators, audited."""

    permission = Permission.CONFIGURE
    can_delete = False
    page_size = 50

    def check(self, model: Any, is_created: bool) -> None:
        """Refuse a change the form alone cannot judge (raise ValidationError)."""

    def on_model_change(self, form: Form, model: Any, is_created: bool) -> None:
        now = current_clock().now()
        if is_created and hasattr(model, "created_at"):
            model.created_at = now
        try:
            self.check(model, is_created)
        except InvalidInput as error:
            raise ValidationError(str(error)) from error
        changed = sorted(attribute.key for attribute in inspect(model).attrs if attribute.history.has_changes())
        self.session.flush()  # the new row's id, for the audit row
        self.audit(model, "created" if is_created else "changed", {"fields": changed})

    def audit(self, model: Any, what: str, detail: dict[str, Any]) -> None:
        self.session.add(
            AuditLog(
                at=current_clock().now(),
                actor_kind=ActorKind.OFFICER,
                actor_officer_id=viewer().id,
                action=f"{model.__tablename__}_{what}",
                entity=model.__tablename__,
                entity_id=model.id,
                grievance_id=None,
                detail=detail,
            )
        )


class Placed(Configured):
    """Rows with a place: province, district and municipality picked by name, not typed as ids."""

    form_extra_fields: ClassVar[dict[str, Any]] = {
        name: SelectField(name.removesuffix("_id").capitalize(), coerce=_optional_id, validate_choice=True)
        for name in PLACE_FIELDS
    }

    def _with_places(self, form: Any) -> Any:
        anywhere: list[tuple[int | None, str]] = [(None, "anywhere")]
        form.province_id.choices = anywhere + [
            (row.id, row.name_en) for row in self.session.scalars(select(Province).order_by(Province.id))
        ]
        form.district_id.choices = anywhere + [
            (row.id, row.name_en) for row in self.session.scalars(select(District).order_by(District.name_en))
        ]
        districts = dict(self.session.execute(select(District.id, District.name_en)).tuples().all())
        form.municipality_id.choices = anywhere + [
            (row.id, f"{row.name_en} ({districts[row.district_id]})")
            for row in self.session.scalars(select(Municipality).order_by(Municipality.name_en))
        ]
        return form

    def create_form(self, obj: Any = None) -> Any:
        return self._with_places(super().create_form(obj))

    def edit_form(self, obj: Any = None) -> Any:
        return self._with_places(super().edit_form(obj))


_CHANNEL_LABELS = {"chat": "webchat", "whatsapp": "WhatsApp", "messenger": "Messenger"}


def _qr_links(view: Any, context: Any, project: Project, name: str) -> Markup:
    """Each channel's deep link with its QR codes, and the project's poster."""
    lines = []
    for channel, url in project_links(project.code).items():
        links = [(_CHANNEL_LABELS[channel], url)] + [
            (
                f"QR {kind.upper()}",
                url_for("public.qr_code", project_code=project.code, channel=channel, kind=kind, download=1),
            )
            for kind in ("png", "svg")
        ]
        lines.append(" · ".join(f'<a href="{escape(href)}">{escape(label)}</a>' for label, href in links))
    posters = [
        (url_for("public.poster", project_code=project.code), "A4 poster (PDF)"),
        (url_for("public.poster", project_code=project.code, lang="ne"), "the same, opening the chat in Nepali"),
    ]
    lines.append(" · ".join(f'<a href="{escape(href)}">{escape(label)}</a>' for href, label in posters))
    return Markup("<br>".join(lines))


class ProjectView(Placed):
    column_list = ("code", "name", "type", "location", "active", "links")
    column_formatters: ClassVar[dict[str, Callable[..., object]]] = {"links": _qr_links}
    column_searchable_list = ("code", "name")
    form_columns = ("code", "name", "type", "location", *PLACE_FIELDS, "active")

    def check(self, model: Project, is_created: bool) -> None:
        if not is_created and inspect(model).attrs.code.history.has_changes():
            raise InvalidInput("code", "is printed on the project's QR codes and posters; it cannot change")
        model.code = model.code.strip().upper()
        if not model.code.replace("-", "").isalnum():
            raise InvalidInput("code", "letters, digits and dashes only (it goes into links and QR codes)")


class CategoryView(Configured):
    column_list = (
        "code",
        "name_en",
        "name_ne",
        "parent",
        "priority",
        *(f"level_{n}_hours" for n in (1, 2, 3)),
        "active",
    )
    column_labels: ClassVar[dict[str, str]] = {"name_en": "Name (English)", "name_ne": "Name (Nepali)"}
    column_searchable_list = ("code", "name_en", "name_ne")
    column_default_sort = "code"
    form_columns = (
        "code",
        "name_en",
        "name_ne",
        "description",
        "parent",
        "priority",
        *(f"level_{n}_hours" for n in (1, 2, 3)),
        "active",
    )
    form_args: ClassVar[dict[str, Any]] = {
        f"level_{n}_hours": {"validators": [NumberRange(min=1)], "description": "empty: the project's SLA"}
        for n in (1, 2, 3)
    }


class SlaPolicyView(Configured):
    """Each project's deadlines (hours per level) and how long a silent resolution waits."""

    column_list = (
        "project",
        "response_hours",
        "level_1_hours",
        "level_2_hours",
        "level_3_hours",
        "auto_close_days",
        "reopen_days",
    )
    form_columns = column_list
    form_args: ClassVar[dict[str, Any]] = {
        name: {"validators": [NumberRange(min=1)]} for name in column_list if name != "project"
    }

    def get_one(self, id: Any) -> SlaPolicy | None:
        # The models forbid lazy loads of a policy's project: the form needs it loaded.
        found: SlaPolicy | None = self.session.scalar(
            select(SlaPolicy).where(SlaPolicy.id == int(id)).options(joinedload(SlaPolicy.project))
        )
        return found


class RoutingRuleView(Placed):
    """Who takes a case at each level: the most specific active rule wins (ticketing.routing)."""

    column_list = ("project", "level", "category", "officer", "district_id", "municipality_id", "active")
    column_labels: ClassVar[dict[str, str]] = {"district_id": "District", "municipality_id": "Municipality"}
    column_formatters: ClassVar[dict[str, Callable[..., object]]] = {
        "project": lambda view, context, rule, name: rule.project.code if rule.project else "every project",
        "category": lambda view, context, rule, name: rule.category.name_en if rule.category else "any",
    }
    form_columns = ("project", "level", "category", "officer", *PLACE_FIELDS, "active")
    form_args: ClassVar[dict[str, Any]] = {"level": {"validators": [NumberRange(min=1, max=TOP_LEVEL)]}}

    def check(self, model: RoutingRule, is_created: bool) -> None:
        if not model.officer.active:
            raise InvalidInput("officer", "is not active")
        if model.officer.level not in (None, model.level):
            raise InvalidInput("officer", f"works at level {model.officer.level}, not {model.level}")


class StakeholderView(Configured):
    """The people outside the backoffice told of a project's cases at a level, as its officers
    are (seed 000 section 4.2): contractor, supervision consultant, committee members,
    affected persons' representatives. An e-mail address, a mobile number, or both."""

    column_list = ("project", "level", "name", "role", "email", "phone", "active")
    column_formatters: ClassVar[dict[str, Callable[..., object]]] = {
        "project": lambda view, context, stakeholder, name: stakeholder.project.code,
    }
    form_columns = ("project", "level", "name", "role", "email", "phone", "active")
    # The addresses are stored encrypted: typed as plain text, checked in `check`.
    form_overrides: ClassVar[dict[str, Any]] = {"email": StringField, "phone": StringField}
    form_args: ClassVar[dict[str, Any]] = {
        "level": {"validators": [NumberRange(min=1, max=TOP_LEVEL)]},
        "role": {"description": "contractor, supervision consultant (CSC), GRC member, affected persons..."},
    }

    def check(self, model: Stakeholder, is_created: bool) -> None:
        model.email = normalise_email(model.email) if model.email else None
        model.phone = normalise_mobile(model.phone) if model.phone else None
        if not (model.email or model.phone):
            raise InvalidInput("email", "give an e-mail address, a mobile number or both")


class OfficerView(Placed):
    """Officers' accounts. Passwords are never typed here: "reset password" makes a one-time
    password to hand over, which the officer must replace when they next sign in.

    Whoever can set an account's password can act as it. So resetting passwords is for the
    administrators of everything (super admins) alone, and a project admin manages only the
    accounts they could have made themselves: a handling role (PROJECT_ADMIN_GRANTS) within
    their own projects, never a clearance (gender, integrity) or every project, never another admin, a
    director, the bank or themselves. They may make, edit, deactivate and cut off such
    accounts, but cannot sign in as any: a new account has no password until a super admin
    resets it, so a project admin cannot lend themselves (or a sock puppet) the case handling
    their own role lacks. The same limits hold for every action, not only for the form."""

    permission = Permission.MANAGE_USERS
    column_list = (
        *("name", "email", "role", "level", "projects", "all_projects"),
        *("gender_cleared", "integrity_cleared", "active", "locked"),
    )
    column_formatters: ClassVar[dict[str, Callable[..., object]]] = {
        "projects": lambda view, context, officer, name: ", ".join(sorted(p.code for p in officer.projects)),
        "locked": lambda view, context, officer, name: (
            f"until {officer_time(officer.locked_until)}"
            if officer.locked_until and officer.locked_until > current_clock().now()
            else ""
        ),
    }
    column_searchable_list = ("name", "email")
    column_filters = ("role", "active")
    form_columns = (
        "name",
        "email",
        "phone",
        "role",
        "level",
        "projects",
        "all_projects",
        "gender_cleared",
        "integrity_cleared",
        *PLACE_FIELDS,
        "active",
    )
    form_args: ClassVar[dict[str, Any]] = {"level": {"validators": [NumberRange(min=1, max=TOP_LEVEL)]}}

    def _managed_project_ids(self) -> frozenset[int] | None:
        """None for an administrator of everything; a project admin's own projects otherwise."""
        me = viewer()
        return None if me.can(Permission.CONFIGURE) else me.project_ids

    def get_query(self) -> Query[Any]:
        query: Query[Any] = super().get_query()
        return self._scoped(query)

    def get_count_query(self) -> Query[Any]:
        query: Query[Any] = super().get_count_query()
        return self._scoped(query)

    def _scoped(self, query: Query[Any]) -> Query[Any]:
        """The accounts the signed-in officer manages: the list, the forms and every action go through it."""
        mine = self._managed_project_ids()
        if mine is None:
            return query
        return query.filter(
            Officer.role.in_(sorted(PROJECT_ADMIN_GRANTS)),
            ~Officer.all_projects,
            ~Officer.gender_cleared,
            ~Officer.integrity_cleared,
            Officer.projects.any(),
            ~Officer.projects.any(Project.id.not_in(sorted(mine))),
        )

    def get_one(self, id: Any) -> Officer | None:
        found: Officer | None = self.get_query().filter(Officer.id == int(id)).one_or_none()
        return found

    def check(self, model: Officer, is_created: bool) -> None:
        model.email = model.email.strip().lower()
        mine = self._managed_project_ids()
        if mine is None:
            return
        chosen = {project.id for project in model.projects}
        if model.role not in PROJECT_ADMIN_GRANTS:
            raise InvalidInput("role", "a project admin may make managers, contractors and focal persons only")
        if model.all_projects or model.gender_cleared or model.integrity_cleared:
            raise InvalidInput("role", "only an administrator grants every project or a clearance")
        if not chosen or not chosen <= mine:
            raise InvalidInput("projects", "choose among your own projects")

    def on_model_change(self, form: Form, model: Any, is_created: bool) -> None:
        super().on_model_change(form, model, is_created)
        if not model.active:
            end_access(self.session, model)  # a switched-off account keeps no session or token

    def is_action_allowed(self, name: str) -> bool:
        if name == "reset_password":
            return self._managed_project_ids() is None
        return viewer().can(Permission.MANAGE_USERS)

    def _chosen(self, ids: list[str]) -> list[Officer]:
        wanted = [int(value) for value in ids if value.isdigit()]
        return list(self.get_query().filter(Officer.id.in_(wanted)))

    @action("reset_password", "Reset password", "Make a one-time password for each selected officer?")
    def action_reset_password(self, ids: list[str]) -> BaseResponse:
        clock = current_clock()
        passwords = []
        for officer in self._chosen(ids):
            passwords.append((officer.email, reset_password(self.session, clock, officer)))
            self.audit(officer, "password_reset", {})
        self.session.commit()
        page: str = self.render(
            "backoffice/secret.html",
            title="One-time passwords (replaced at the next sign-in)",
            secrets=passwords,
            back=self.get_url(".index_view"),
        )
        return no_store(page)

    @action("revoke_tokens", "Revoke API tokens", "Revoke every API token of the selected officers?")
    def action_revoke_tokens(self, ids: list[str]) -> None:
        revoked = 0
        for officer in self._chosen(ids):
            count = revoke_api_tokens(self.session, officer)
            self.audit(officer, "api_tokens_revoked", {"count": count})
            revoked += count
        self.session.commit()
        flash(f"{revoked} API token(s) revoked.", "info")

    @action("deactivate", "Deactivate", "Switch off the selected officers' accounts, sessions and API tokens?")
    def action_deactivate(self, ids: list[str]) -> None:
        chosen = self._chosen(ids)
        for officer in chosen:
            officer.active = False
            self.audit(officer, "deactivated", {"api_tokens_revoked": end_access(self.session, officer)})
        self.session.commit()
        flash(f"{len(chosen)} account(s) deactivated.", "info")


def add_configuration_views(admin: Admin, sessions: scoped_session[Session]) -> None:
    for view, model, name, endpoint in (
        (ProjectView, Project, "Projects", "projects"),
        (OfficerView, Officer, "Officers", "officers"),
        (RoutingRuleView, RoutingRule, "Routing rules", "routing"),
        (CategoryView, Category, "Categories", "categories"),
        (SlaPolicyView, SlaPolicy, "SLA policies", "sla"),
        (StakeholderView, Stakeholder, "Stakeholders", "stakeholders"),
    ):
        admin.add_view(view(model, sessions, name=name, endpoint=endpoint, category="Admin"))
