"""Stand-ins for the outside world that speak its wire formats on localhost: Twilio's
Messages API and media store (for the real `twilio` client), Messenger's Send API and
content host, and an SMTP server (aiosmtpd).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from launcher.processes import free_port
from ticketing.config import LOCALHOST

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"


@dataclass
class FakeTwilio:
    """Twilio's `POST /2010-04-01/Accounts/{sid}/Messages.json`, recording what it receives.

    `refuse` maps a destination to the HTTP status and Twilio error code to answer with;
    `fail_next` makes that many requests in a row answer 503.
    """

    url: str = ""
    # Twilio's content store, where media requests are redirected: another origin, as in production.
    content_url: str = ""
    messages: list[dict[str, str]] = field(default_factory=list)
    refuse: dict[str, tuple[int, int]] = field(default_factory=dict)
    fail_next: int = 0
    unauthorised: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Media citizens "sent": id -> (bytes, type); ids that answer 404 once (not stored yet).
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    media_late: set[str] = field(default_factory=set)
    # Whether each download from the content store carried credentials (it must not).
    cdn_saw_credentials: list[bool] = field(default_factory=list)
    # The path of every GET received (media downloads).
    fetched: list[str] = field(default_factory=list)

    def media_url(self, content: bytes, content_type: str, late: bool = False) -> str:
        """Where Twilio says a citizen's file is: behind the account's credentials."""
        media_id = "ME" + secrets.token_hex(16)
        with self.lock:
            self.media[media_id] = (content, content_type)
            if late:
                self.media_late.add(media_id)
        return f"{self.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM{secrets.token_hex(16)}/Media/{media_id}"

    def sent_to(self, recipient: str) -> list[str]:
        """The bodies sent to one recipient, in order."""
        with self.lock:
            return [m.get("Body", "") for m in self.messages if m.get("To") == recipient]

    def get(self, path: str, authorisation: str) -> tuple[int, dict[str, str], bytes]:
        """Media: the API checks the credentials and redirects to the content store, as Twilio does."""
        parts = path.split("/")
        with self.lock:
            self.fetched.append(path)
            if path.startswith("/cdn/") and parts[-1] in self.media:
                self.cdn_saw_credentials.append(bool(authorisation))
                content, content_type = self.media[parts[-1]]
                return 200, {"Content-Type": content_type}, content
            if "/Media/" not in path or parts[-1] not in self.media:
                return 404, {}, b""
            expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
            if authorisation != expected:
                self.unauthorised += 1
                return 401, {}, b""
            if parts[-1] in self.media_late:
                self.media_late.discard(parts[-1])
                return 404, {}, b""
        # Another origin (as Twilio's content store is): the client must not carry the credentials there.
        return 307, {"Location": f"{self.content_url}/cdn/{parts[-1]}"}, b""

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


class _Handler(BaseHTTPRequestHandler):
    """A stand-in's request handler: answers written whole, nothing logged."""

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer_json(self, status: int, answer: dict[str, Any]) -> None:
        self.answer(status, json.dumps(answer).encode(), {"Content-Type": "application/json"})

    def posted(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _serving(handler: type[_Handler]) -> Iterator[str]:
    """Serve `handler` on a free localhost port; yields its base URL."""
    server = ThreadingHTTPServer((LOCALHOST, free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{LOCALHOST}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()

    class Handler(_Handler):
        def do_GET(self) -> None:
            status, headers, body = fake.get(self.path, self.headers.get("Authorization", ""))
            self.answer(status, body, headers)

        def do_POST(self) -> None:
            form = {key: values[0] for key, values in parse_qs(self.posted().decode()).items()}
            self.answer_json(*fake.handle(self.path, self.headers.get("Authorization", ""), form))

    with _serving(Handler) as url, _serving(Handler) as content_url:
        fake.url, fake.content_url = url, content_url
        yield fake


@dataclass
class FakeMessenger:
    """Messenger's Send API (`POST /<version>/me/messages?access_token=`) and a content host."""

    access_token: str
    url: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def file_url(self, content: bytes) -> str:
        name = secrets.token_hex(8)
        with self.lock:
            self.files[name] = content
        return f"{self.url}/content/{name}"

    def sent_to(self, recipient: str) -> list[dict[str, Any]]:
        """The messages sent to one person, in order."""
        with self.lock:
            return [m["message"] for m in self.sent if m["recipient"]["id"] == recipient]

    def post(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(path)
        token = parse_qs(parts.query).get("access_token", [""])[0]
        if not parts.path.endswith("/me/messages") or token != self.access_token:
            error = {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}
            return 400, {"error": error}
        sent = json.loads(body)
        with self.lock:
            self.sent.append(sent)
        return 200, {"recipient_id": sent["recipient"]["id"], "message_id": "m_" + secrets.token_hex(12)}


@contextmanager
def fake_messenger(access_token: str) -> Iterator[FakeMessenger]:
    fake = FakeMessenger(access_token)

    class Handler(_Handler):
        def do_GET(self) -> None:
            content = fake.files.get(self.path.rpartition("/")[2])
            self.answer(200 if content is not None else 404, content or b"")

        def do_POST(self) -> None:
            self.answer_json(*fake.post(self.path, self.posted()))

    with _serving(Handler) as url:
        fake.url = url
        yield fake


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


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for localhost, as a private CA's file would hold it."""

    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def self_signed_certificate(directory: Path) -> Certificate:
    """A key and a certificate naming localhost and 127.0.0.1, signed by that same key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "GRM test SMTP server")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOCALHOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    found = Certificate(directory / "smtp.crt", directory / "smtp.key")
    found.cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    found.key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return found


@contextmanager
def fake_smtp(certificate: Certificate | None = None, security: str = "none") -> Iterator[FakeSmtp]:
    """The SMTP stand-in; with a certificate, it speaks TLS from the start ("ssl") or
    after STARTTLS, which it then requires ("starttls")."""
    fake = FakeSmtp(port=free_port())
    tls: dict[str, Any] = {}
    if certificate is not None and security == "ssl":
        tls = {"ssl_context": certificate.server_context()}
    elif certificate is not None and security == "starttls":
        tls = {"tls_context": certificate.server_context(), "require_starttls": True}
    controller = Controller(fake, hostname=LOCALHOST, port=fake.port, **tls)
    controller.start()
    try:
        yield fake
    finally:
        controller.stop()
