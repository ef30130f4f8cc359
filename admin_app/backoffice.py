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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from flask import Flask, Response, abort, flash, redirect, request, send_file, url_for
from flask_admin import Admin, AdminIndexView, BaseView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, DateTimeBetweenFilter, FilterEqual, FilterLike
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user, login_user
from markupsafe import Markup, escape
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Query, Session, scoped_session
from werkzeug.wrappers import Response as BaseResponse

from admin_app import current_store
from admin_app.auth import (
    ApiTokenForm,
    Guarded,
    PasswordForm,
    TotpForm,
    TotpOffForm,
    api_token_lifetime,
    no_store,
    signed_in_as,
    viewer,
)
from admin_app.configuration import add_configuration_views
from ticketing.accounts import (
    change_totp,
    confirm_password,
    issue_api_token,
    new_totp_secret,
    set_password,
    totp_uri,
    turn_off_totp,
)
from ticketing.cases.attachments import MAX_BYTES, attach_file, attachment_path, download_name
from ticketing.cases.moves import acknowledge, add_note, assign, close_invalid, escalate, resolve
from ticketing.cases.records import Actor
from ticketing.cases.search import matching
from ticketing.cases.timeline import timeline
from ticketing.catalog import NO_PROJECT, catalog
from ticketing.clock import Clock, SystemClock
from ticketing.errors import GrmError, InvalidInput
from ticketing.lifecycle import TRANSITIONS, Action, Status
from ticketing.notify.outbox import retry_failed
from ticketing.permissions import Permission, visible
from ticketing.reporting.analytics import STANDARD_REPORTS, TREND_WEEKS, Period, build_dashboard, standard_reports
from ticketing.reporting.tables import Document, Format, Table, write
from ticketing.store.db import Store
from ticketing.store.models import Attachment, AuditLog, Grievance, NoteVisibility, Notification, Officer
from ticketing.values.dates import NEPAL, officer_time

SESSION_EXTENSION = "grm_request_session"


@dataclass(frozen=True)
class Chosen:
    """The project and filing dates an officer picked (dashboard, reports), within scope."""

    period: Period
    project: str
    start: str
    end: str

    @property
    def described(self) -> str:
        return f"Filed {self.start} to {self.end}, {self.project or 'every project in scope'}"


def _date_argument(name: str) -> datetime | None:
    try:
        return datetime.strptime(request.args.get(name, ""), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def chosen_period(db: Session) -> Chosen:
    """Read ?project=&from=&to= (the last TREND_WEEKS weeks by default)."""
    now = SystemClock().now()
    start = _date_argument("from") or (now - timedelta(weeks=TREND_WEEKS)).replace(hour=0, minute=0, second=0)
    end = (_date_argument("to") or now) + timedelta(days=1)
    scope = visible(viewer())
    project = catalog(db).projects.get(request.args.get("project", "").upper())
    if project is not None:
        scope = and_(scope, Grievance.project_id == project.id)
    return Chosen(
        Period(scope, start, end, now),
        project.code if project else "",
        start.date().isoformat(),
        (end - timedelta(days=1)).date().isoformat(),
    )


def their_projects(db: Session) -> list[str]:
    me = viewer()
    return sorted(project.code for project in catalog(db).projects.values() if me.oversees(project.id))


class HomeView(Guarded, AdminIndexView):  # type: ignore[misc]
    """The dashboard: the officer's own scope, by project and filing dates."""

    @expose("/")
    def index(self) -> str:
        with current_store().sessions() as db:
            chosen = chosen_period(db)
            figures = build_dashboard(db, chosen.period)
            projects = their_projects(db)
        page: str = self.render("backoffice/dashboard.html", figures=figures, projects=projects, chosen=chosen)
        return page


class ReportsView(Guarded, BaseView):  # type: ignore[misc]
    """The standard reports (seed 000 section 6.1) over chosen dates, projects and measures,
    on screen or as CSV, Excel or PDF (section 6.3)."""

    permission = Permission.REPORT

    @expose("/")
    def index(self) -> BaseResponse | str:
        picked = [key for key in request.args.getlist("report") if key in STANDARD_REPORTS] or list(STANDARD_REPORTS)
        with current_store().sessions() as db:
            chosen = chosen_period(db)
            tables = standard_reports(db, chosen.period, picked)
            projects = their_projects(db)
        form = request.args.get("format", "")
        if form in tuple(Format):
            document = Document("Grievance redress - standard reports", _made_by(chosen.described), tables)
            return download(document, Format(form), "grm-reports")
        page: str = self.render(
            "backoffice/reports.html",
            tables=tables,
            reports=STANDARD_REPORTS,
            picked=picked,
            projects=projects,
            chosen=chosen,
        )
        return page


def _made_by(what: str) -> str:
    return f"{what}. Made {officer_time(SystemClock().now())} (Nepal time) by {current_user.name}."


def download(document: Document, form: Format, name: str) -> BaseResponse:
    stamp = SystemClock().now().astimezone(NEPAL).strftime("%Y-%m-%d-%H%M")
    return Response(
        write(document, form),
        mimetype=form.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.{form.value}"'},
    )


class Overdue(BaseSQLAFilter):  # type: ignore[misc]
    """Cases whose deadline has passed (or not yet)."""

    def apply(self, query: Query[Any], value: str, alias: Any = None) -> Query[Any]:
        now = SystemClock().now()
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
        document = Document(f"GRM backoffice - {self.name}", _made_by(f"{len(table.rows)} rows"), [table])
        return download(document, Format(export_type), self.endpoint)


CASE_COLUMNS = ("reference", "project", "status", "level", "priority", "category", "assignee", "due_at", "created_at")


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
        "due_at": lambda view, context, case, name: sla_state(case, SystemClock().now()),
        "created_at": lambda view, context, case, name: officer_time(case.created_at),
        "project": lambda view, context, case, name: case.project.code if case.project else NO_PROJECT,
        "category": lambda view, context, case, name: case.category.name_en if case.category else "",
        "assignee": lambda view, context, case, name: case.assignee.name if case.assignee else "nobody",
        "status": lambda view, context, case, name: case.status.value.replace("_", " "),
        "priority": lambda view, context, case, name: case.priority.value,
    }
    # Exports carry the same readable values, the bare reference instead of its link.
    column_formatters_export: ClassVar[dict[str, Callable[..., object]]] = {
        name: format for name, format in column_formatters.items() if name != "reference"
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
        FilterEqual(Grievance.district_id, "District (id)"),
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
                    move.apply(db, SystemClock(), case_id, Actor.officer(viewer().id), form or {})
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
        officers = self.session.scalars(
            select(Officer).where(Officer.active, Officer.level.is_not(None)).order_by(Officer.level, Officer.name)
        ).all()
        page: str = self.render(
            "backoffice/case.html",
            case=grievance,
            complainant=grievance.complainant,
            timeline=timeline(self.session, grievance.id),
            moves={
                name: move
                for name, move in MOVES.items()
                if me.can(move.permission) and move.allowed_from(grievance.status)
            },
            officers=officers,
            catalog=catalog(self.session),
            due=sla_state(grievance, SystemClock().now()),
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
        path = attachment_path(current_store().settings.attachments_dir, found)
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
                    SystemClock(),
                    current_store().settings.attachments_dir,
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
                move.apply(db, SystemClock(), case_id, Actor.officer(viewer().id), request.form)
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


def _in_sight(db: Session, case_id: int) -> bool:
    """Whether the signed-in officer may see the case, asked in the caller's unit of work
    (on SQLite a second unit of work would wait for the first one's write lock)."""
    return db.scalar(select(Grievance.id).where(Grievance.id == case_id, visible(viewer()))) is not None


@dataclass(frozen=True)
class Move:
    """A workflow button: who may press it, what it calls, what it says when done."""

    permission: Permission
    label: str
    done: str
    apply: Callable[[Session, Clock, int, Actor, Mapping[str, str]], object]
    # The text field the move needs (a note, a reason, the resolution), if any.
    text: str | None = None
    # The lifecycle action it performs; None for notes, which any open or closed case takes.
    action: Action | None = None

    def allowed_from(self, status: Status) -> bool:
        return self.action is None or (status, self.action) in TRANSITIONS


def _officer_id(form: Mapping[str, str]) -> int:
    value = form.get("officer_id", "")
    if not value.isdigit():
        raise InvalidInput("officer_id", "choose an officer")
    return int(value)


def _current_level(db: Session, case_id: int) -> int:
    return db.get_one(Grievance, case_id).level


MOVES: dict[str, Move] = {
    "acknowledge": Move(
        Permission.UPDATE_STATUS,
        "Acknowledge",
        "Acknowledged: the case is in progress.",
        lambda db, clock, case_id, actor, form: acknowledge(db, clock, case_id, actor, form.get("text")),
        "Note (optional)",
        Action.ACKNOWLEDGE,
    ),
    "assign": Move(
        Permission.ASSIGN,
        "Assign",
        "Assigned.",
        lambda db, clock, case_id, actor, form: assign(db, clock, case_id, actor, _officer_id(form), form.get("text")),
        "Note (optional)",
        Action.ASSIGN,
    ),
    "escalate": Move(
        Permission.UPDATE_STATUS,
        "Escalate",
        "Escalated to the next level.",
        lambda db, clock, case_id, actor, form: escalate(
            db, clock, case_id, actor, form.get("text", ""), _current_level(db, case_id)
        ),
        "Reason",
        Action.ESCALATE,
    ),
    "resolve": Move(
        Permission.UPDATE_STATUS,
        "Resolve",
        "Resolved: the citizen is asked whether it satisfies them.",
        lambda db, clock, case_id, actor, form: resolve(db, clock, case_id, actor, form.get("text", "")),
        "Resolution (the citizen reads it)",
        Action.RESOLVE,
    ),
    "close_invalid": Move(
        Permission.UPDATE_STATUS,
        "Close as invalid",
        "Closed.",
        lambda db, clock, case_id, actor, form: close_invalid(
            db, clock, case_id, actor, form.get("text", ""), form.get("duplicate_of") or None
        ),
        "Reason",
        Action.CLOSE_INVALID,
    ),
    "note": Move(
        Permission.COMMENT,
        "Add note",
        "Note added.",
        lambda db, clock, case_id, actor, form: add_note(
            db,
            clock,
            case_id,
            actor,
            form.get("text", ""),
            NoteVisibility.PUBLIC if form.get("visibility") == "public" else NoteVisibility.INTERNAL,
        ),
        "Note",
    ),
}


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
            count = retry_failed(db, SystemClock().now(), [int(value) for value in ids if value.isdigit()])
        flash(f"{count} message(s) queued again.", "info")


class AuditView(Exported, ReadOnly):
    """Who did what, when: read-only, newest first."""

    permission = Permission.AUDIT
    column_list = ("at", "actor_kind", "actor_officer_id", "action", "entity", "entity_id", "detail")
    column_default_sort = ("id", True)
    column_filters = ("action", "entity", "actor_kind")


class AccountView(Guarded, BaseView):  # type: ignore[misc]
    """My account: my password, my second factor (TOTP) and my API tokens. Each change asks for
    the password again (and a TOTP change for a current code), so that a session left open or
    a copied cookie cannot take the account over; new secrets are shown once, on the page."""

    @expose("/", methods=("GET", "POST"))
    def index(self) -> BaseResponse:
        password_form = PasswordForm(prefix="password")
        totp_form, off_form = TotpForm(prefix="totp"), TotpOffForm(prefix="totp-off")
        token_form = ApiTokenForm(prefix="token")
        if password_form.validate_on_submit():
            self._change_password(password_form)
            return redirect(url_for(".index"))
        # Until a one-time password is replaced, nothing else on the account changes.
        if not current_user.must_change_password:
            if totp_form.validate_on_submit():
                self._change_totp(totp_form)
                return redirect(url_for(".index"))
            if off_form.validate_on_submit():
                self._turn_off_totp(off_form)
                return redirect(url_for(".index"))
            if token_form.validate_on_submit():
                return self._new_token(token_form)
        with current_store().sessions() as db:
            has_totp = db.get_one(Officer, viewer().id).totp_secret is not None
        secret = new_totp_secret()
        totp_form.secret.data = secret
        page: str = self.render(
            "backoffice/account.html",
            forced=current_user.must_change_password,
            password_form=password_form,
            totp_form=totp_form,
            off_form=off_form,
            token_form=token_form,
            has_totp=has_totp,
            secret=secret,
            uri=totp_uri(current_user.email, secret),
        )
        return no_store(page)

    def _confirmed(self, password: str | None) -> bool:
        """The password asked again, checked outside any write transaction; wrong ones are counted."""
        if confirm_password(current_store().sessions, SystemClock(), viewer().id, password or ""):
            return True
        flash("Your password is not right; nothing was changed.", "error")
        return False

    def _new_token(self, form: ApiTokenForm) -> BaseResponse:
        if not self._confirmed(form.password.data):
            return redirect(url_for(".index"))
        label = form.label.data or ""
        with current_store().sessions.begin() as db:
            token = issue_api_token(db, SystemClock(), db.get_one(Officer, viewer().id), label, api_token_lifetime())
        page: str = self.render(
            "backoffice/secret.html", title="Your new API token", secrets=[(label, token)], back=url_for(".index")
        )
        return no_store(page)

    def _change_password(self, form: PasswordForm) -> None:
        if not self._confirmed(form.current.data):
            return
        with current_store().sessions.begin() as db:
            officer = db.get_one(Officer, viewer().id)
            try:
                set_password(db, SystemClock(), officer, form.new.data or "")
            except InvalidInput as error:
                flash(f"Not changed: {error}", "error")
                return
            # The new token ends other sessions; this one continues under it.
            login_user(signed_in_as(officer))
        flash("Password changed; your other sessions are signed out.", "success")

    def _change_totp(self, form: TotpForm) -> None:
        if not self._confirmed(form.password.data):
            return
        with current_store().sessions.begin() as db:
            officer = db.get_one(Officer, viewer().id)
            changed = change_totp(
                db, SystemClock(), officer, form.current.data or "", form.secret.data or "", form.code.data or ""
            )
        if changed:
            flash("Second factor set: sign-ins now ask for a code from this key.", "success")
        else:
            flash("A code is not right (each code works once); nothing was changed.", "error")

    def _turn_off_totp(self, form: TotpOffForm) -> None:
        if not self._confirmed(form.password.data):
            return
        with current_store().sessions.begin() as db:
            turned_off = turn_off_totp(db, SystemClock(), db.get_one(Officer, viewer().id), form.current.data or "")
        if turned_off:
            flash("Second factor turned off: sign-ins ask for the password only.", "success")
        else:
            flash("The code is not right (each code works once); nothing was changed.", "error")


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
    admin.add_view(ReportsView(name="Reports", endpoint="reports", url="/admin/reports"))
    admin.add_view(AccountView(name="My account", endpoint="account", url="/admin/account"))
