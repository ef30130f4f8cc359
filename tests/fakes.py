"""Stand-ins for the outside world that speak its wire formats on localhost: Twilio's
Messages API (for the real `twilio` client) and an SMTP server (aiosmtpd).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from ticketing.processes import LOCALHOST, free_port

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"


@dataclass
class FakeTwilio:
    """Twilio's `POST /2010-04-01/Accounts/{sid}/Messages.json`, recording what it receives.

    `refuse` maps a destination to the HTTP status and Twilio error code to answer with;
    `fail_next` makes that many requests in a row answer 503.
    """

    url: str = ""
    messages: list[dict[str, str]] = field(default_factory=list)
    refuse: dict[str, tuple[int, int]] = field(default_factory=dict)
    fail_next: int = 0
    unauthorised: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, path: str, authorisation: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        expected_path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        with self.lock:
            if path != expected_path or not authorisation.startswith("Basic "):
                self.unauthorised += 1
                return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, {"code": 20500, "message": "Service unavailable", "status": 503}
            if form.get("To") in self.refuse:
                status, code = self.refuse[form["To"]]
                return status, {"code": code, "message": "Invalid 'To' Phone Number", "status": status}
            sid = "SM" + secrets.token_hex(16)
            self.messages.append({**form, "Sid": sid})
        return 201, {
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "to": form.get("To"),
            "from": form.get("From"),
            "body": form.get("Body"),
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": "Wed, 25 Nov 2026 12:00:00 +0000",
            "uri": f"{expected_path[:-5]}/{sid}.json",
        }


@contextmanager
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
            status, answer = fake.handle(self.path, self.headers.get("Authorization", ""), form)
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((LOCALHOST, free_port()), Handler)
    fake.url = f"http://{LOCALHOST}:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class FakeSmtp:
    """An SMTP server on localhost that keeps every message it accepts."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted"


@contextmanager
def fake_smtp() -> Iterator[FakeSmtp]:
    fake = FakeSmtp(port=free_port())
    controller = Controller(fake, hostname=LOCALHOST, port=fake.port)
    controller.start()
    try:
        yield fake
    finally:
        controller.stop()
