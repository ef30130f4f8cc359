"""Callbacks from providers: Twilio's delivery reports for the messages the outbox sent.

Twilio signs each request (X-Twilio-Signature, an HMAC of the URL it called and the form
fields, keyed by the account's auth token); an unsigned or forged request changes nothing.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import RequestValidator

from admin_app import current_store
from ticketing.notify.outbox import record_delivery
from ticketing.notify.senders import TWILIO_STATUS_PATH

hooks = Blueprint("hooks", __name__)


@hooks.post(TWILIO_STATUS_PATH)
def twilio_status() -> Response:
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    if not token:
        abort(404)  # Twilio is not configured here
    # Twilio signs the URL it was given (the outbox builds it from GRM_PUBLIC_URL), which a
    # proxy in front of this app may have rewritten.
    base = (current_app.config.get("GRM_PUBLIC_URL") or request.host_url).rstrip("/")
    query = request.query_string.decode()
    url = base + request.path + (f"?{query}" if query else "")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not RequestValidator(token).validate(url, request.form.to_dict(), signature):
        abort(403)
    sid, state = request.form.get("MessageSid", ""), request.form.get("MessageStatus", "")
    if not sid or not state:
        abort(400)
    with current_store().sessions.begin() as session:
        record_delivery(session, sid, state, request.form.get("ErrorCode") or None)
    # Twilio only needs a 2xx; an unknown id (a message sent by another system) is not an error.
    return Response(status=204)
