"""How a message leaves the GRM: SMS and WhatsApp through Twilio, email through SMTP, and a
file of JSON lines (the embedded default) for whatever is not configured.

Every sender has one method, `send`, which returns the provider's id for the message (or
None) and raises DeliveryError, saying whether trying again later could help.
"""

from __future__ import annotations

import json
import mimetypes
import smtplib
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from ticketing.config import Settings, Smtp, Twilio
from ticketing.errors import ConfigurationError
from ticketing.store.vocabulary import NotificationChannel

SMTP_TIMEOUT_SECONDS = 30
TWILIO_STATUS_PATH = "/hooks/twilio/status"


@dataclass(frozen=True)
class Outgoing:
    """One message to one address, fully worded."""

    channel: NotificationChannel
    to: str  # an E.164 phone number, or an email address
    subject: str
    body: str
    attachments: tuple[Path, ...] = ()
    # Outside WhatsApp's 24-hour window only an approved template may be sent: its content
    # SID and variables replace the body.
    template_sid: str | None = None
    template_variables: Mapping[str, str] = field(default_factory=dict)


class DeliveryError(Exception):
    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Sender(Protocol):
    def send(self, message: Outgoing) -> str | None:
        """Hand the message over; the provider's id for it, if it gives one."""
        ...


class FileSender:
    """Appends each message as a JSON line to a file, for a machine with nothing configured."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, message: Outgoing) -> str | None:
        line = {
            "channel": message.channel.value,
            "to": message.to,
            "subject": message.subject,
            "body": message.body,
            "attachments": [path.name for path in message.attachments],
            "template_sid": message.template_sid,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as output:
            output.write(json.dumps(line, ensure_ascii=False) + "\n")
        return None


class TwilioSender:
    """SMS and WhatsApp through Twilio's Messages API, with delivery reports to our callback."""

    def __init__(self, twilio: Twilio, status_callback: str | None) -> None:
        self.client = Client(twilio.account_sid, twilio.auth_token)
        if twilio.api_url:
            # A proxy, or a local stand-in in tests: the client's own requests, another host.
            self.client.api.base_url = twilio.api_url
        self.sms_from = twilio.sms_from
        self.whatsapp_from = twilio.whatsapp_from
        self.status_callback = status_callback

    def send(self, message: Outgoing) -> str | None:
        if message.channel is NotificationChannel.WHATSAPP:
            if not self.whatsapp_from:
                raise DeliveryError("no WhatsApp sender number is configured", permanent=True)
            to, sender = f"whatsapp:{message.to}", f"whatsapp:{self.whatsapp_from}"
        else:
            if not self.sms_from:
                raise DeliveryError("no SMS sender number is configured", permanent=True)
            to, sender = message.to, self.sms_from
        content: dict[str, str] = (
            {"content_sid": message.template_sid, "content_variables": json.dumps(dict(message.template_variables))}
            if message.template_sid
            else {"body": message.body}
        )
        if self.status_callback:
            content["status_callback"] = self.status_callback
        try:
            created = self.client.messages.create(to=to, from_=sender, **content)
        except TwilioRestException as error:
            # Too many requests and server errors pass; a refused number or message does not.
            transient = error.status == 429 or error.status >= 500
            raise DeliveryError(f"Twilio {error.status} (code {error.code}): {error.msg}", not transient) from error
        except (TwilioException, OSError) as error:
            raise DeliveryError(f"Twilio unreachable: {error}", permanent=False) from error
        sid: str = created.sid
        return sid


class SmtpSender:
    """Email through an SMTP server (STARTTLS or TLS when configured), attachments included.

    Over TLS the server must show a certificate for its host name that the system's CAs, or
    the private CA in `ca_file`, vouch for: the password and the citizens' messages go to
    that server only.
    """

    def __init__(self, smtp: Smtp) -> None:
        if smtp.security not in ("none", "starttls", "ssl"):
            raise ConfigurationError(f"GRM_SMTP_SECURITY must be none, starttls or ssl, not {smtp.security!r}")
        self.host, self.port, self.sender = smtp.host, smtp.port, smtp.sender
        self.user, self.password, self.security = smtp.user, smtp.password, smtp.security
        try:
            self.tls = ssl.create_default_context(cafile=smtp.ca_file)
        except (OSError, ssl.SSLError) as error:
            raise ConfigurationError(
                f"GRM_SMTP_CA_FILE {smtp.ca_file!r} is not a readable PEM file: {error}"
            ) from error

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS, context=self.tls)
        connection = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
        if self.security == "starttls":
            connection.starttls(context=self.tls)
        return connection

    def send(self, message: Outgoing) -> str | None:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Message-ID"] = make_msgid(domain=self.sender.partition("@")[2] or None)
        email.set_content(message.body)
        for path in message.attachments:
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            maintype, _, subtype = kind.partition("/")
            email.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
        try:
            with self._connect() as connection:
                if self.user:
                    connection.login(self.user, self.password or "")
                connection.send_message(email)
        except ssl.SSLCertVerificationError as error:
            # Kept and tried again: a server's certificate gets fixed, or the CA configured.
            raise DeliveryError(
                f"the SMTP server's certificate is not trusted ({error.verify_message});"
                " GRM_SMTP_CA_FILE names a private CA",
                permanent=False,
            ) from error
        except smtplib.SMTPRecipientsRefused as error:
            raise DeliveryError(f"recipient refused: {error.recipients}", permanent=True) from error
        except smtplib.SMTPResponseException as error:
            permanent = 500 <= error.smtp_code < 600
            raise DeliveryError(f"SMTP {error.smtp_code}: {error.smtp_error!r}", permanent) from error
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP server unreachable: {error}", permanent=False) from error
        return str(email["Message-ID"])


def senders_for(settings: Settings) -> dict[NotificationChannel, Sender]:
    """A sender per channel: Twilio and SMTP where configured, the notifications file elsewhere."""
    file_sender = FileSender(settings.var_dir / "notifications.jsonl")
    senders: dict[NotificationChannel, Sender] = {channel: file_sender for channel in NotificationChannel}
    if settings.twilio is not None:
        twilio = TwilioSender(settings.twilio, status_callback=settings.public_url + TWILIO_STATUS_PATH)
        senders[NotificationChannel.SMS] = twilio
        senders[NotificationChannel.WHATSAPP] = twilio
    if settings.smtp is not None:
        senders[NotificationChannel.EMAIL] = SmtpSender(settings.smtp)
    return senders
