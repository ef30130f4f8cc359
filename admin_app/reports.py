"""The dashboard and the standard reports over the dates and project an officer picks, and
the downloads (CSV, Excel, PDF) every list and report offers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Response, request
from flask_admin import AdminIndexView, BaseView, expose
from flask_login import current_user
from sqlalchemy import and_
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from admin_app import current_clock, current_store
from admin_app.auth import (
    Guarded,
    viewer,
)
from ticketing.catalog import catalog
from ticketing.permissions import Permission, visible
from ticketing.reporting.analytics import STANDARD_REPORTS, TREND_WEEKS, Period, build_dashboard, standard_reports
from ticketing.reporting.tables import Document, Format, write
from ticketing.store.case_models import Grievance
from ticketing.values.dates import NEPAL, officer_time


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
    now = current_clock().now()
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
            document = Document("Grievance redress - standard reports", made_by(chosen.described), tables)
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


def made_by(what: str) -> str:
    return f"{what}. Made {officer_time(current_clock().now())} (Nepal time) by {current_user.name}."


def download(document: Document, form: Format, name: str) -> BaseResponse:
    stamp = current_clock().now().astimezone(NEPAL).strftime("%Y-%m-%d-%H%M")
    return Response(
        write(document, form),
        mimetype=form.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.{form.value}"'},
    )
