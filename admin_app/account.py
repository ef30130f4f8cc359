"""My account: an officer's own password, second factor and API tokens."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_admin import BaseView, expose
from flask_login import current_user, login_user
from werkzeug.wrappers import Response as BaseResponse

from admin_app import current_clock, current_store
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
from ticketing.accounts import (
    change_totp,
    confirm_password,
    issue_api_token,
    new_totp_secret,
    set_password,
    totp_uri,
    turn_off_totp,
)
from ticketing.errors import InvalidInput
from ticketing.store.models import Officer


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
        if confirm_password(current_store().sessions, current_clock(), viewer().id, password or ""):
            return True
        flash("Your password is not right; nothing was changed.", "error")
        return False

    def _new_token(self, form: ApiTokenForm) -> BaseResponse:
        if not self._confirmed(form.password.data):
            return redirect(url_for(".index"))
        label = form.label.data or ""
        with current_store().sessions.begin() as db:
            token = issue_api_token(db, current_clock(), db.get_one(Officer, viewer().id), label, api_token_lifetime())
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
                set_password(db, current_clock(), officer, form.new.data or "")
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
                db, current_clock(), officer, form.current.data or "", form.secret.data or "", form.code.data or ""
            )
        if changed:
            flash("Second factor set: sign-ins now ask for a code from this key.", "success")
        else:
            flash("A code is not right (each code works once); nothing was changed.", "error")

    def _turn_off_totp(self, form: TotpOffForm) -> None:
        if not self._confirmed(form.password.data):
            return
        with current_store().sessions.begin() as db:
            turned_off = turn_off_totp(db, current_clock(), db.get_one(Officer, viewer().id), form.current.data or "")
        if turned_off:
            flash("Second factor turned off: sign-ins ask for the password only.", "success")
        else:
            flash("The code is not right (each code works once); nothing was changed.", "error")
