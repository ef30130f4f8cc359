"""The officers' backoffice: Flask-Admin over the ticket store's own models.

Flask-Admin gets a scoped session bound to the store's session factory (the models stay
free of Flask); each request's session is removed when the request ends. Every view asks
for a signed-in officer with the right permission, and the case views filter their
queries with `ticketing.permissions.visible`, so a case outside an officer's scope is not
found, whether reached by the menu, a typed URL or an export.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from flask import Flask, abort, flash, redirect, request, send_file, url_for
from flask_admin import Admin, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import (
    BaseSQLAFilter,
    DateTimeBetweenFilter,
    FilterEqual,
    FilterLike,
    IntEqualFilter,
)
from flask_admin.theme import Bootstrap4Theme
from markupsafe import Markup, escape
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Query, Session, scoped_session
from werkzeug.wrappers import Response as BaseResponse

from admin_app import current_clock, current_store
from admin_app.account import AccountView
from admin_app.auth import (
    Guarded,
    viewer,
)
from admin_app.configuration import add_configuration_views
from admin_app.intake import IntakeView
from admin_app.moves import MOVES
from admin_app.reports import HomeView, ReportsView, download, made_by
from ticketing.cases.attachments import MAX_BYTES, attach_file, attachment_path, download_name
from ticketing.cases.moves import why_not_holder
from ticketing.cases.records import Actor
from ticketing.cases.search import matching
from ticketing.cases.timeline import timeline
from ticketing.catalog import NO_PROJECT, catalog
from ticketing.errors import GrmError
from ticketing.notify.outbox import retry_failed
from ticketing.permissions import Permission, visible
from ticketing.places.locations import district_names
from ticketing.reporting.tables import Document, Format, Table
from ticketing.store.case_models import Attachment, AuditLog, Grievance, Notification
from ticketing.store.db import Store
from ticketing.store.models import Officer
from ticketing.values.dates import officer_time

SESSION_EXTENSION = "grm_request_session"


class Overdue(BaseSQLAFilter):  # type: ignore[misc]
    """Cases whose deadline has passed (or not yet)."""

    def apply(self, query: Query[Any], value: str, alias: Any = None) -> Query[Any]:
        now = current_clock().now()
        late = and_(Grievance.due_at.is_not(None), Grievance.due_at < now)
        return query.filter(late if value == "yes" else ~late)

    def operation(self) -> str:
        return "is"


class ReadOnly(Guarded, ModelView):  # type: ignore[misc]
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    page_size = 50


class Exported(ModelView):  # type: ignore[misc]
    """A list that exports what it shows (its filters, search and sort) as CSV, Excel or PDF."""

    can_export = True
    export_types = tuple(form.value for form in Format)

    def _export_csv(self, return_url: str) -> BaseResponse:
        # Not Flask-Admin's own CSV writer: ticketing.reporting.tables keeps formulas from running.
        return self._export_tablib(Format.CSV.value, return_url)

    def _export_tablib(self, export_type: str, return_url: str) -> BaseResponse:
        # Every format goes through ticketing.reporting.tables.
        _count, rows = self._export_data()
        table = Table(
            self.name,
            self.name,
            tuple(label for _name, label in self._export_columns),
            [tuple(self.get_export_value(row, name) for name, _label in self._export_columns) for row in rows],
        )
        document = Document(f"GRM backoffice - {self.name}", made_by(f"{len(table.rows)} rows"), [table])
        return download(document, Format(export_type), self.endpoint)


CASE_COLUMNS = (
    "reference",
    "project",
    "status",
    "level",
    "priority",
    "category",
    "summary",
    "assignee",
    "due_at",
    "created_at",
)
# The list shows the opening of each summary; the case page and exports the whole of it.
SUMMARY_CHARS = 90


class GrievanceView(Exported, ReadOnly):
    """The case list and detail, scoped to what the officer may see; cases change only
    through the workflow moves."""

    column_list = CASE_COLUMNS
    column_default_sort = ("created_at", True)
    column_labels: ClassVar[dict[str, str]] = {"due_at": "SLA", "created_at": "Filed (Nepal)", "assignee": "Held by"}
    column_formatters: ClassVar[dict[str, Callable[..., object]]] = {
        "reference": lambda view, context, case, name: Markup(
            f'<a href="{url_for(".case", case_id=case.id)}">{escape(case.reference)}</a>'
        ),
        "due_at": lambda view, context, case, name: sla_state(case, current_clock().now()),
        "created_at": lambda view, context, case, name: officer_time(case.created_at),
        "project": lambda view, context, case, name: case.project.code if case.project else NO_PROJECT,
        "category": lambda view, context, case, name: case.category.name_en if case.category else "",
        "assignee": lambda view, context, case, name: case.assignee.name if case.assignee else "nobody",
        "status": lambda view, context, case, name: case.status.value.replace("_", " "),
        "priority": lambda view, context, case, name: case.priority.value,
        "summary": lambda view, context, case, name: _opening(case.summary or ""),
    }
    # Exports carry the same readable values, the bare reference instead of its link.
    column_formatters_export: ClassVar[dict[str, Callable[..., object]]] = {
        name: format for name, format in column_formatters.items() if name not in ("reference", "summary")
    }
    # Words of the summary or the citizen's own words, or a reference (ticketing.cases.search).
    column_searchable_list = ("reference", "summary", "details")
    column_filters = (
        "status",
        "level",
        "priority",
        FilterEqual("project.code", "Project"),
        FilterLike("category.name_en", "Category"),
        FilterLike("assignee.name", "Held by"),
        IntEqualFilter(Grievance.district_id, "District", options=lambda: _district_options()),
        Overdue(Grievance.due_at, "Overdue", options=(("yes", "yes"), ("no", "no"))),
        DateTimeBetweenFilter(Grievance.created_at, "Filed between"),
    )
    # Readable filter URLs (?flt0_overdue_is=yes), which officers can bookmark and share.
    named_filter_urls = True
    column_export_list = CASE_COLUMNS
    column_details_exclude_list = ("idempotency_key", "version", "notify_pending", "notified_change_id")

    def get_query(self) -> Query[Any]:
        query: Query[Any] = super().get_query()
        return query.filter(visible(viewer()))

    def get_count_query(self) -> Query[Any]:
        query: Query[Any] = super().get_count_query()
        return query.filter(visible(viewer()))

    def _apply_search(
        self, query: Query[Any], count_query: Query[Any] | None, joins: Any, count_joins: Any, search: str
    ) -> tuple[Query[Any], Query[Any] | None, Any, Any]:
        # The full-text index instead of Flask-Admin's LIKE over every searchable column.
        condition = matching(self.session.get_bind().dialect.name, search)
        return (
            query.filter(condition),
            None if count_query is None else count_query.filter(condition),
            joins,
            count_joins,
        )

    def search_placeholder(self) -> str:
        return "Words or a reference"

    def is_action_allowed(self, name: str) -> bool:
        move = MOVES.get(name)
        return move is not None and viewer().can(move.permission)

    @action("acknowledge", "Acknowledge", "Acknowledge the selected cases?")
    def action_acknowledge(self, ids: list[str]) -> None:
        self._act_on_many("acknowledge", ids)

    @action("assign", "Assign to me", "Take the selected cases?")
    def action_assign(self, ids: list[str]) -> None:
        self._act_on_many("assign", ids, {"officer_id": str(viewer().id)})

    def _act_on_many(self, name: str, ids: list[str], form: Mapping[str, str] | None = None) -> None:
        """One move on each selected case the officer may see, each in its own unit of work."""
        move, done, refused = MOVES[name], 0, []
        for case_id in (int(value) for value in ids if value.isdigit()):
            try:
                with current_store().sessions.begin() as db:
                    if not _in_sight(db, case_id):
                        continue
                    move.apply(db, current_clock(), case_id, Actor.officer(viewer().id), form or {})
                done += 1
            except GrmError as error:
                refused.append(str(error))
        flash(
            f"{move.label}: {done} done" + (f", {len(refused)} not possible ({refused[0]})" if refused else ""), "info"
        )

    def _visible_case(self, case_id: int) -> Grievance:
        case = self.get_one(case_id)
        if case is None:
            abort(404)
        return case

    @expose("/case/<int:case_id>")
    def case(self, case_id: int) -> str:
        """Every field, the timeline, and the moves this officer may make."""
        grievance = self._visible_case(case_id)
        me = viewer()
        config = catalog(self.session)
        # The place can be corrected to a municipality of the case's district, or its project's.
        project = config.projects_by_id.get(grievance.project_id) if grievance.project_id else None
        district = grievance.district_id or (project.district_id if project else None)
        nearby = config.gazetteer.municipalities_of(district) if district else []
        # Only those who may hold the case as it stands are offered for it.
        officers = [
            officer
            for officer in self.session.scalars(
                select(Officer).where(Officer.active, Officer.level.is_not(None)).order_by(Officer.level, Officer.name)
            )
            if why_not_holder(config.officers.get(officer.id), grievance) is None
        ]
        page: str = self.render(
            "backoffice/case.html",
            case=grievance,
            complainant=grievance.complainant,
            timeline=timeline(self.session, grievance.id),
            moves={
                name: move
                for name, move in MOVES.items()
                if me.can(move.permission) and move.offered(grievance, me.role) and (name != "relocate" or nearby)
            },
            officers=officers,
            catalog=config,
            place=config.place_names(grievance.municipality_id, grievance.district_id, grievance.province_id),
            nearby=nearby,
            due=sla_state(grievance, current_clock().now()),
            can_attach=me.can(Permission.COMMENT),
        )
        return page

    @expose("/case/<int:case_id>/file/<int:attachment_id>")
    def attachment(self, case_id: int, attachment_id: int) -> BaseResponse:
        """A case's file, for whoever may see the case: a photo, recording or video shown in
        the browser, anything else (and everything with ?download=1) saved under a name made
        here, like GR-7K3P-9QXD-2.pdf: a sender's name may mislead, and no page or script a
        citizen sent ever runs in the backoffice's origin."""
        case = self._visible_case(case_id)
        found = self.session.scalar(
            select(Attachment).where(Attachment.id == attachment_id, Attachment.grievance_id == case_id)
        )
        if found is None:
            abort(404)
        path = attachment_path(current_store().settings.files, found)
        if not path.is_file():
            abort(404)
        number = self.session.scalar(
            select(func.count()).where(Attachment.grievance_id == case_id, Attachment.id <= found.id)
        )
        shown = found.mime_type.partition("/")[0] in ("image", "audio", "video")
        response = send_file(
            path,
            mimetype=found.mime_type,
            as_attachment=request.args.get("download") == "1" or not shown,
            download_name=download_name(case.reference, number or 1, found.mime_type),
            conditional=True,
            etag=found.sha256,
            max_age=0,
        )
        # Types are read from the bytes (ticketing.cases.attachments), and nothing a file holds may
        # run: no sniffing, no scripts, no requests from it.
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
        response.cache_control.private = True
        return response

    @expose("/case/<int:case_id>/attach", methods=("POST",))
    def attach(self, case_id: int) -> BaseResponse:
        """An officer adds a file (a site photo, a signed agreement) to a case they may see."""
        if not viewer().can(Permission.COMMENT):
            abort(403)
        sent = request.files.get("file")
        # One byte over the limit is enough for ticketing.cases.attachments to refuse the file.
        content = sent.read(MAX_BYTES + 1) if sent else b""
        try:
            with current_store().sessions.begin() as db:
                if not _in_sight(db, case_id):
                    abort(404)
                attach_file(
                    db,
                    current_clock(),
                    current_store().settings.files,
                    case_id,
                    Actor.officer(viewer().id),
                    (sent.filename or "") if sent else "",
                    content,
                )
            flash("File attached.", "success")
        except GrmError as error:
            flash(f"Not attached: {error}", "error")
        return redirect(url_for(".case", case_id=case_id))

    @expose("/case/<int:case_id>/<move_name>", methods=("POST",))
    def act(self, case_id: int, move_name: str) -> BaseResponse:
        """Apply one move through the ticketing services; the form carries the note it needs."""
        move = MOVES.get(move_name)
        if move is None:
            abort(404)
        if not viewer().can(move.permission):
            abort(403)
        store = current_store()
        try:
            with store.sessions.begin() as db:
                if not _in_sight(db, case_id):
                    abort(404)
                move.apply(db, current_clock(), case_id, Actor.officer(viewer().id), request.form)
            flash(move.done, "success")
        except GrmError as error:
            flash(f"Not done: {error}", "error")
        return redirect(url_for(".case", case_id=case_id))

    def get_one(self, id: Any) -> Grievance | None:
        # The detail page of a case outside the officer's scope is "not found".
        found: Grievance | None = self.session.scalar(
            select(Grievance).where(Grievance.id == int(id), visible(viewer()))
        )
        return found


def _opening(text: str) -> str:
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1].rstrip() + "…"


def _district_options() -> list[tuple[str, str]]:
    """The districts by name, for the list's filter (the filter keeps the id in its URL)."""
    return [(str(district_id), name) for district_id, name in district_names()]


def _in_sight(db: Session, case_id: int) -> bool:
    """Whether the signed-in officer may see the case, asked in the caller's unit of work
    (on SQLite a second unit of work would wait for the first one's write lock)."""
    return db.scalar(select(Grievance.id).where(Grievance.id == case_id, visible(viewer()))) is not None


def sla_state(grievance: Grievance, now: datetime) -> str:
    """ "due in 5 h", "overdue by 2 d", or "no deadline": what an officer reads at a glance."""
    if grievance.due_at is None:
        return "no deadline"
    left = grievance.due_at - now
    hours = abs(left.total_seconds()) / 3600
    span = f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} d"
    return f"due in {span}" if left.total_seconds() >= 0 else f"overdue by {span}"


class OutboxView(ReadOnly):
    """Every queued message and its fate; a dead letter can be sent again."""

    permission = Permission.CONFIGURE
    column_list = (
        "id",
        "created_at",
        "template",
        "audience",
        "channel",
        "level",
        "status",
        "attempts",
        "delivery_status",
        "last_error",
    )
    column_default_sort = ("id", True)
    column_filters = ("status", "channel", "template")
    column_details_exclude_list = ("recipient",)

    def is_action_allowed(self, name: str) -> bool:
        return name == "retry" and viewer().can(Permission.CONFIGURE)

    @action("retry", "Send again", "Send the selected failed messages again?")
    def action_retry(self, ids: list[str]) -> None:
        with current_store().sessions.begin() as db:
            count = retry_failed(db, current_clock().now(), [int(value) for value in ids if value.isdigit()])
        flash(f"{count} message(s) queued again.", "info")


class AuditView(Exported, ReadOnly):
    """Who did what, when: read-only, newest first."""

    permission = Permission.AUDIT
    column_list = ("at", "actor_kind", "actor_officer_id", "action", "entity", "entity_id", "detail")
    column_default_sort = ("id", True)
    column_filters = ("action", "entity", "actor_kind")


def init_backoffice(app: Flask, store: Store) -> None:
    app.jinja_env.filters["nepal"] = officer_time
    sessions = scoped_session(store.sessions)
    app.extensions[SESSION_EXTENSION] = sessions
    app.teardown_appcontext(lambda _error: sessions.remove())
    admin = Admin(
        app,
        name="GRM backoffice",
        url="/admin",
        index_view=HomeView(name="Dashboard", url="/admin"),
        theme=Bootstrap4Theme(fluid=True),
    )
    with warnings.catch_warnings():
        # Flask-Admin 2 would rather have a Flask-SQLAlchemy object, which would build engines
        # of its own without the store's SQLite settings; a scoped session still works in 2.x.
        warnings.filterwarnings("ignore", "Passing a session object directly", DeprecationWarning)
        admin.add_view(GrievanceView(Grievance, sessions, name="Grievances", endpoint="grievance"))
        admin.add_view(OutboxView(Notification, sessions, name="Outbox", endpoint="outbox", category="Admin"))
        admin.add_view(AuditView(AuditLog, sessions, name="Audit log", endpoint="audit", category="Admin"))
        add_configuration_views(admin, sessions)
    admin.add_view(IntakeView(name="New grievance", endpoint="intake", url="/admin/new-grievance"))
    admin.add_view(ReportsView(name="Reports", endpoint="reports", url="/admin/reports"))
    admin.add_view(AccountView(name="My account", endpoint="account", url="/admin/account"))
