"""The officers' backoffice: Flask-Admin over the ticket store's own models.

Flask-Admin gets a scoped session bound to the store's session factory (the models stay
free of Flask); each request's session is removed when the request ends. Every view asks
for a signed-in officer with the right permission, and the case views filter their
queries with `ticketing.permissions.visible`, so a case outside an officer's scope is not
found, whether reached by the menu, a typed URL or an export.
"""

from __future__ import annotations

import warnings
from typing import Any

from flask import Flask, abort, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Query, scoped_session
from werkzeug.wrappers import Response as BaseResponse

from admin_app.auth import viewer
from ticketing.db import Store
from ticketing.models import Grievance
from ticketing.permissions import Permission, visible

SESSION_EXTENSION = "grm_request_session"


class Guarded:
    """Views open to signed-in officers holding `permission`; others are sent to sign in."""

    permission = Permission.VIEW

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated) and viewer().can(self.permission)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> BaseResponse:
        if current_user.is_authenticated:
            abort(403)
        return redirect(url_for("auth.login", next=request.full_path))


class HomeView(Guarded, AdminIndexView):  # type: ignore[misc]
    @expose("/")
    def index(self) -> BaseResponse:
        return redirect(url_for("grievance.index_view"))


class GrievanceView(Guarded, ModelView):  # type: ignore[misc]
    """The case list and detail, scoped to what the officer may see."""

    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    page_size = 50
    column_list = (
        "reference",
        "project",
        "status",
        "level",
        "priority",
        "category",
        "assignee",
        "due_at",
        "created_at",
    )
    column_default_sort = ("created_at", True)
    column_searchable_list = ("reference",)
    column_filters = ("status", "level", "priority")
    column_details_exclude_list = ("idempotency_key", "version", "notify_pending", "notified_change_id")

    def get_query(self) -> Query[Any]:
        query: Query[Any] = super().get_query()
        return query.filter(visible(viewer()))

    def get_count_query(self) -> Query[Any]:
        query: Query[Any] = super().get_count_query()
        return query.filter(visible(viewer()))

    def get_one(self, id: Any) -> Grievance | None:
        # The detail page of a case outside the officer's scope is "not found".
        found: Grievance | None = self.session.scalar(
            select(Grievance).where(Grievance.id == int(id), visible(viewer()))
        )
        return found


def init_backoffice(app: Flask, store: Store) -> None:
    sessions = scoped_session(store.sessions)
    app.extensions[SESSION_EXTENSION] = sessions
    app.teardown_appcontext(lambda _error: sessions.remove())
    admin = Admin(
        app,
        name="GRM backoffice",
        url="/admin",
        index_view=HomeView(url="/admin"),
        theme=Bootstrap4Theme(fluid=True),
    )
    with warnings.catch_warnings():
        # Flask-Admin 2 would rather have a Flask-SQLAlchemy object, which would build engines
        # of its own without the store's SQLite settings; a scoped session still works in 2.x.
        warnings.filterwarnings("ignore", "Passing a session object directly", DeprecationWarning)
        admin.add_view(GrievanceView(Grievance, sessions, name="Grievances", endpoint="grievance"))
