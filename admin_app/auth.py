"""Officers signing in and out of the backoffice (Flask-Login), with CSRF on every form.

A session cookie names the officer and their current session token: a new password (or
an administrator's reset) replaces the token, which ends every session opened before.
Sessions end after GRM_SESSION_MINUTES without a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response as BaseResponse
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from admin_app import current_store
from ticketing.accounts import LOGIN_REFUSED, authenticate
from ticketing.clock import SystemClock
from ticketing.models import Officer
from ticketing.permissions import Permission, Viewer

auth = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
login_manager.session_protection = "strong"


@dataclass(frozen=True)
class SignedIn(UserMixin):  # type: ignore[misc]
    """The officer behind the current request."""

    viewer: Viewer
    name: str
    email: str
    session_token: str

    def get_id(self) -> str:
        return f"{self.viewer.id}:{self.session_token}"


def signed_in_as(officer: Officer) -> SignedIn:
    return SignedIn(Viewer.of(officer), officer.name, officer.email, officer.session_token or "")


@login_manager.user_loader
def load_officer(cookie_id: str) -> SignedIn | None:
    officer_id, _, token = cookie_id.partition(":")
    if not officer_id.isdigit() or not token:
        return None
    with current_store().sessions() as db:
        officer = db.scalar(
            select(Officer).where(Officer.id == int(officer_id)).options(selectinload(Officer.projects))
        )
        if officer is None or not officer.active or officer.session_token != token:
            return None
        return signed_in_as(officer)


def viewer() -> Viewer:
    """The permissions of the officer signed in for this request."""
    signed_in: SignedIn = current_user
    return signed_in.viewer


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    code = StringField("Code from your authenticator app (if you turned it on)", validators=[Length(max=10)])


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an absolute URL in ?next= would send officers elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("admin.index")


@auth.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | str | tuple[str, int]:
    form = LoginForm()
    if form.validate_on_submit():
        # The unit of work commits a refusal too: the failure count and the audit row stay.
        with current_store().sessions.begin() as db:
            email, password = form.email.data or "", form.password.data or ""
            officer = authenticate(db, SystemClock(), email, password, form.code.data or None)
            signed_in = signed_in_as(officer) if officer is not None else None
        if signed_in is not None:
            session.clear()  # a fresh session for the signed-in officer (no fixation)
            session.permanent = True
            login_user(signed_in)
            return redirect(_safe_next(request.args.get("next")))
        flash(LOGIN_REFUSED, "error")
        return render_template("backoffice/login.html", form=form), 401
    return render_template("backoffice/login.html", form=form)


@auth.post("/logout")
@login_required
def logout() -> BaseResponse:
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


class PasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    new = PasswordField("New password (12 characters or more)", validators=[DataRequired(), Length(max=200)])


class TotpForm(FlaskForm):  # type: ignore[misc]
    secret = HiddenField(validators=[DataRequired(), Length(max=64)])
    code = StringField("Code shown by your authenticator app", validators=[DataRequired(), Length(max=10)])


class ApiTokenForm(FlaskForm):  # type: ignore[misc]
    label = StringField("What the token is for", validators=[DataRequired(), Length(max=80)])


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    app.register_blueprint(auth)


class Guarded:
    """Views open to signed-in officers holding `permission`; others are sent to sign in."""

    permission = Permission.VIEW

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated) and viewer().can(self.permission)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> BaseResponse:
        if current_user.is_authenticated:
            abort(403)
        return redirect(url_for("auth.login", next=request.full_path))
