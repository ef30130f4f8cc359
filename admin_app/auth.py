"""Officers signing in and out of the backoffice (Flask-Login), with CSRF on every form.

A session cookie names the officer and their current session token: a new password, an
administrator's reset, a deactivation or signing out replaces the token, which ends every
session opened before. Sessions end after GRM_SESSION_MINUTES without a request. An officer
signed in with a one-time password reaches nothing but the page that replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response as BaseResponse
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from admin_app import current_clock, current_store
from ticketing.accounts import LOGIN_REFUSED, authenticate, sign_out
from ticketing.permissions import Permission, Viewer
from ticketing.store.models import Officer

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
    must_change_password: bool

    def get_id(self) -> str:
        return f"{self.viewer.id}:{self.session_token}"


def signed_in_as(officer: Officer) -> SignedIn:
    return SignedIn(
        Viewer.of(officer), officer.name, officer.email, officer.session_token or "", officer.password_must_change
    )


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
        # The client's address: the connection's, or behind GRM_PROXIES proxies the one they
        # forwarded (ProxyFix, admin_app/__init__.py); otherwise every sign-in would share one.
        officer = authenticate(
            current_store().sessions,
            current_clock(),
            form.email.data or "",
            form.password.data or "",
            form.code.data or None,
            request.remote_addr or "",
        )
        if officer is not None:
            session.clear()  # a fresh session for the signed-in officer (no fixation)
            session.permanent = True
            login_user(signed_in_as(officer))
            return redirect(_safe_next(request.args.get("next")))
        flash(LOGIN_REFUSED, "error")
        return render_template("backoffice/login.html", form=form), 401
    return render_template("backoffice/login.html", form=form)


@auth.post("/logout")
@login_required
def logout() -> BaseResponse:
    # Per-session records on the server would let one session end alone, at the cost of a
    # table and a write per sign-in; the officer's session token already names their sessions,
    # so replacing it ends this one for good (a copied cookie is refused) and their others
    # too, which errs on the safe side for a desk application.
    with current_store().sessions.begin() as db:
        sign_out(db, current_clock(), db.get_one(Officer, viewer().id))
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


def _password_field() -> PasswordField:
    return PasswordField("Your password", validators=[DataRequired(), Length(max=200)])


def _code_field(label: str, required: bool = True) -> StringField:
    return StringField(label, validators=[DataRequired() if required else Optional(), Length(max=10)])


class PasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    new = PasswordField("New password (12 characters or more)", validators=[DataRequired(), Length(max=200)])


class TotpForm(FlaskForm):  # type: ignore[misc]
    """Turn the second factor on, or replace it (then with a code from the current one)."""

    password = _password_field()
    current = _code_field("Code from your current authenticator (when replacing it)", required=False)
    secret = HiddenField(validators=[DataRequired(), Length(max=64)])
    code = _code_field("Code shown by your authenticator app for the new key")


class TotpOffForm(FlaskForm):  # type: ignore[misc]
    password = _password_field()
    current = _code_field("Code from your authenticator app")


class ApiTokenForm(FlaskForm):  # type: ignore[misc]
    label = StringField("What the token is for", validators=[DataRequired(), Length(max=80)])
    password = _password_field()


def no_store(page: str) -> BaseResponse:
    """A page that shows a secret: kept out of every cache and the browser's history."""
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


def api_token_lifetime() -> timedelta:
    return timedelta(days=current_app.config["GRM_API_TOKEN_DAYS"])


# What an officer signed in with a one-time password may reach: the page that replaces it.
_BEFORE_NEW_PASSWORD = frozenset({"account.index", "auth.login", "auth.logout", "static", "admin.static"})


def _new_password_first() -> BaseResponse | None:
    if request.endpoint in _BEFORE_NEW_PASSWORD or not current_user.is_authenticated:
        return None
    if current_user.must_change_password:
        flash("Please choose your own password first.", "info")
        return redirect(url_for("account.index"))
    return None


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    app.before_request(_new_password_first)
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
