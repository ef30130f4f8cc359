"""The Flask application: public pages (webchat, QR codes) now, the backoffice later.

Each concern is a blueprint registered by `create_app`; nothing is created at import time,
so tests and several processes can each build their own app over their own ticket store.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from ticketing.cases.attachments import MAX_BYTES
from ticketing.clock import Clock, SystemClock
from ticketing.config import Settings, load_settings
from ticketing.errors import ConfigurationError
from ticketing.store.crypto import keyring
from ticketing.store.db import Store, open_store

CLOCK_EXTENSION = "grm_clock"
STORE_EXTENSION = "grm_store"
csrf = CSRFProtect()
# Forms and JSON are small; only the two routes that take files read more (a chat file at
# its largest, with room for the form around it).
MAX_BODY_BYTES = 1024 * 1024
MAX_UPLOAD_BODY_BYTES = MAX_BYTES + 64 * 1024
UPLOAD_ENDPOINTS = frozenset({"public.upload", "grievance.attach", "intake.index"})
HSTS_SECONDS = 365 * 24 * 3600


def web_config(settings: Settings) -> dict[str, Any]:
    """The app's configuration keys, from the settings of its process."""
    twilio = settings.twilio
    return {
        # Where the browser reaches Rasa; unset means the page's own host on GRM_RASA_PORT.
        "GRM_RASA_URL": settings.network.rasa_url,
        "GRM_RASA_PORT": settings.network.rasa_port,
        # Base URL printed in QR codes; unset means the URL the request came in on.
        "GRM_PUBLIC_URL": settings.given_public_url,
        # The project links and posters offer WhatsApp and Messenger only when these are set.
        "GRM_WHATSAPP_NUMBER": twilio.whatsapp_from if twilio else None,
        "GRM_MESSENGER_PAGE": settings.facebook.page,
        # Checks the signature of Twilio's delivery reports (admin_app.hooks).
        "TWILIO_AUTH_TOKEN": twilio.auth_token if twilio else None,
        # Signs the officers' session cookies; unset, it is derived from the store's keys.
        "SECRET_KEY": settings.web.secret_key,
        # An officer's session ends after this long without a request.
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=settings.web.session_minutes),
        # How long an API token made on My account lasts.
        "GRM_API_TOKEN_DAYS": settings.web.api_token_days,
        # How many proxies in front set X-Forwarded-For and -Proto (the sign-in and upload
        # throttles count per client address, which a proxy would otherwise hide).
        "GRM_PROXIES": settings.web.proxies,
    }


def _check_web_url(app: Flask, key: str) -> None:
    value = app.config.get(key)
    if value is None:
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{key} must be an absolute http(s) URL, not {value!r}")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app over the ticket store of this process's settings; `config`
    overrides (tests pass GRM_STORE, a store opened on settings of their own)."""
    overrides = dict(config or {})
    store: Store = overrides.get("GRM_STORE") or open_store(load_settings())
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config.from_mapping(web_config(store.settings))
    app.config.from_mapping(overrides)
    for key in ("GRM_RASA_URL", "GRM_PUBLIC_URL"):
        _check_web_url(app, key)
    app.extensions[STORE_EXTENSION] = store
    # Every page and move reads the time from here: tests hand in a clock they can move.
    app.extensions[CLOCK_EXTENSION] = app.config.get("GRM_CLOCK") or SystemClock()
    if not app.config.get("SECRET_KEY"):
        # Stable across processes and restarts, and never stored apart from the keys it comes from.
        app.config["SECRET_KEY"] = keyring().digest("flask-session", "v1").hex()
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = str(app.config.get("GRM_PUBLIC_URL") or "").startswith("https://")
    if proxies := int(app.config.get("GRM_PROXIES") or 0):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    # Imported here, as in the Flask tutorial: blueprint modules import current_store from
    # this package, which must be fully loaded first.
    from admin_app.api import api
    from admin_app.auth import init_auth
    from admin_app.backoffice import init_backoffice
    from admin_app.hooks import hooks
    from admin_app.public import public

    # Before the CSRF check, which reads the form and so the body.
    app.before_request(_allow_files)
    app.after_request(_secure_headers)
    csrf.init_app(app)
    app.register_blueprint(public)
    # Twilio signs its requests, and the chat upload checks its Origin: no CSRF token there.
    csrf.exempt(hooks)
    csrf.exempt("admin_app.public.upload")
    app.register_blueprint(hooks)
    init_auth(app)
    init_backoffice(app, store)
    # Bearer tokens, not cookies, authenticate the API: no CSRF token there.
    csrf.exempt(api)
    app.register_blueprint(api)
    return app


def _allow_files() -> None:
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = MAX_UPLOAD_BODY_BYTES


def _secure_headers(response: Response) -> Response:
    """No page of the app may be framed by another site (clickjacking); a site served over
    HTTPS tells browsers to keep to it."""
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    policy = response.headers.get("Content-Security-Policy")
    if policy is None:
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    elif "frame-ancestors" not in policy:
        response.headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'none'"
    if request.is_secure or str(current_app.config.get("GRM_PUBLIC_URL") or "").startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_SECONDS}")
    return response


def current_clock() -> Clock:
    """The clock of the app handling the current request."""
    clock: Clock = current_app.extensions[CLOCK_EXTENSION]
    return clock


def current_store() -> Store:
    """The ticket store of the app handling the current request."""
    store: Store = current_app.extensions[STORE_EXTENSION]
    return store
