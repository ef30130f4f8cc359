"""The settings of every process, read from the environment once, in this one place.

Each process (the launcher, the action server, the scheduler, the web app, the command-line
tools) calls `load_settings()` at its start and hands the `Settings` down: nothing else reads
the environment. Rasa's own process (bot/) lives in another environment and reads the
variables its configuration files name itself.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ticketing.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A shared secret set by hand must not be guessable: 32 characters of a random string.
MIN_SECRET_CHARS = 32
LOCALHOST = "127.0.0.1"
# How long an API token made on My account lasts, unless GRM_API_TOKEN_DAYS says otherwise.
API_TOKEN_DAYS = 90
# A conversation silent this long is deleted from Rasa's store (ticketing.store.conversations).
SILENT_CONVERSATION_DAYS = 30
# Files are refused before they leave less than this free on the disk of var/attachments:
# the ticket store, its logs and the files already kept need the room more.
MIN_FREE_DISK_MB = 1024


@dataclass(frozen=True)
class Twilio:
    """SMS and WhatsApp through Twilio (TWILIO_*, GRM_TWILIO_*)."""

    account_sid: str
    auth_token: str = field(repr=False)
    sms_from: str | None = None
    whatsapp_from: str | None = None
    # The approved template that reopens a WhatsApp conversation after 24 hours of silence.
    whatsapp_template_sid: str | None = None
    # Stand-ins for Twilio's API and its file store (a local server in tests and benchmarks).
    api_url: str | None = None
    media_url: str | None = None


@dataclass(frozen=True)
class Smtp:
    """E-mail through an SMTP server (GRM_SMTP_*, GRM_MAIL_FROM)."""

    host: str
    port: int = 25
    sender: str = "grm@localhost"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    # none, starttls or tls
    security: str = "none"
    ca_file: str | None = None


@dataclass(frozen=True)
class Facebook:
    """What the application side needs of the Messenger page (Rasa reads the rest itself)."""

    # The page's user name, for m.me links on posters and project pages.
    page: str | None = None
    # Lets the action server fetch the files citizens send on Messenger.
    page_access_token: str | None = field(default=None, repr=False)
    api_url: str | None = None


@dataclass(frozen=True)
class Network:
    """Where each process listens and how they find one another (loopback unless told)."""

    host: str = LOCALHOST
    actions_host: str = LOCALHOST
    rasa_port: int = 5005
    actions_port: int = 5055
    web_port: int = 5000
    # Where the browser reaches Rasa; unset means the page's own host on rasa_port.
    rasa_url: str | None = None
    # Rasa's HTTP API and REST channel: for development, tests and benchmarks only.
    rasa_api: bool = False
    rest_channel: bool = False
    rasa_workers: int = 1
    # Shared locks for several Rasa workers.
    redis_url: str | None = None
    # Where Rasa calls the actions when not this machine's action server: a load balancer in
    # front of several (deploy/).
    actions_url: str | None = None


@dataclass(frozen=True)
class Web:
    """The backoffice's sessions and tokens."""

    # Signs the officers' session cookies; unset, it is derived from the store's keys.
    secret_key: str | None = field(default=None, repr=False)
    session_minutes: int = 30
    api_token_days: int = API_TOKEN_DAYS
    # Reverse proxies in front of the web app (nginx: 1) whose X-Forwarded-* headers are
    # believed; 0 believes none, so a client cannot forge its address past the throttles.
    proxies: int = 0


@dataclass(frozen=True)
class Schedule:
    """What the scheduler's jobs need beyond the store."""

    # Every job at this interval instead of its own (tests and demonstrations).
    tick_seconds: int | None = None
    warn_before_hours: float = 24
    report_emails: tuple[str, ...] = ()
    # Rows a transaction takes at most: short transactions keep row locks brief.
    batch: int = 500
    conversation_days: int = SILENT_CONVERSATION_DAYS


@dataclass(frozen=True)
class Models:
    """Local transformers models that replace the shipped triage encoder, or add a summariser."""

    triage_dir: Path | None = None
    summary_dir: Path | None = None


@dataclass(frozen=True)
class FileShelf:
    """Where the files of cases are kept, and how much disk they must leave free for the database and logs."""

    directory: Path
    min_free_mb: int = MIN_FREE_DISK_MB


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to know about its surroundings. Secrets stay out of its
    repr, so that a settings object in a log or a traceback shows none."""

    database_url: str
    var_dir: Path
    # Comma-separated Fernet keys: the first encrypts, all of them decrypt (key rotation).
    encryption_keys: str | None = field(repr=False)
    # Key of the HMAC that makes phone numbers searchable without decrypting them.
    phone_hash_key: str | None = field(repr=False)
    # Where citizens and officers reach the web app, when set (GRM_PUBLIC_URL).
    given_public_url: str | None = None
    min_free_disk_mb: int = MIN_FREE_DISK_MB
    twilio: Twilio | None = None
    smtp: Smtp | None = None
    facebook: Facebook = Facebook()
    network: Network = Network()
    web: Web = Web()
    schedule: Schedule = Schedule()
    models: Models = Models()
    # The environment as it was read: the launcher hands it to the processes it starts, and
    # the shared secrets below come from it.
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def public_url(self) -> str:
        """The web app's base URL: links in notifications and the Twilio callbacks start with it."""
        return self.given_public_url or f"http://localhost:{self.network.web_port}"

    @property
    def files(self) -> FileShelf:
        return FileShelf(self.var_dir / "attachments", self.min_free_disk_mb)

    @property
    def is_embedded(self) -> bool:
        """True for the single-machine SQLite default, where keys may be generated locally."""
        return self.database_url.startswith("sqlite")


def normalise_database_url(url: str) -> str:
    """Point plain postgresql:// URLs at psycopg 3, the driver this environment ships."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class _Reader:
    """The environment's values, each checked as it is read; a wrong one is named in the error."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str) -> str | None:
        return self.env.get(name, "").strip() or None

    def whole(self, name: str, default: int, least: int = 0) -> int:
        value = self.text(name)
        if value is None:
            return default
        if not value.isdigit() or int(value) < least:
            raise ConfigurationError(f"{name} must be a whole number of at least {least}, not {value!r}")
        return int(value)

    def port(self, name: str, default: int) -> int:
        port = self.whole(name, default, least=1)
        if port > 65535:
            raise ConfigurationError(f"{name} must be a TCP port number, not {port}")
        return port

    def hours(self, name: str, default: float) -> float:
        value = self.text(name)
        try:
            return default if value is None else float(value)
        except ValueError:
            raise ConfigurationError(f"{name} must be a number of hours, not {value!r}") from None

    def switch(self, name: str) -> bool:
        return self.text(name) == "on"

    def folder(self, name: str) -> Path | None:
        value = self.text(name)
        if value is not None and not (Path(value) / "config.json").is_file():
            raise ConfigurationError(f"{name}={value} holds no transformers model (no config.json)")
        return Path(value) if value else None

    def url(self, name: str) -> str | None:
        value = self.text(name)
        return value.rstrip("/") if value else None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings in `environ` (the process's environment when None); .env.example lists them."""
    env = dict(os.environ if environ is None else environ)
    read = _Reader(env)
    var_dir = Path(read.text("GRM_VAR_DIR") or PROJECT_ROOT / "var").resolve()
    twilio = None
    if (sid := read.text("TWILIO_ACCOUNT_SID")) and (token := read.text("TWILIO_AUTH_TOKEN")):
        twilio = Twilio(
            sid,
            token,
            read.text("GRM_TWILIO_SMS_FROM"),
            read.text("GRM_TWILIO_WHATSAPP_FROM"),
            read.text("GRM_WHATSAPP_TEMPLATE_SID"),
            read.url("GRM_TWILIO_API_URL"),
            read.url("GRM_TWILIO_MEDIA_URL"),
        )
    smtp = None
    if smtp_host := read.text("GRM_SMTP_HOST"):
        smtp = Smtp(
            smtp_host,
            read.port("GRM_SMTP_PORT", 25),
            read.text("GRM_MAIL_FROM") or "grm@localhost",
            read.text("GRM_SMTP_USER"),
            read.text("GRM_SMTP_PASSWORD"),
            read.text("GRM_SMTP_SECURITY") or "none",
            read.text("GRM_SMTP_CA_FILE"),
        )
    tick = read.whole("GRM_SCHEDULER_TICK_SECONDS", 0, least=1)
    return Settings(
        database_url=normalise_database_url(read.text("DATABASE_URL") or f"sqlite:///{var_dir / 'grm.sqlite3'}"),
        var_dir=var_dir,
        encryption_keys=read.text("GRM_ENCRYPTION_KEYS"),
        phone_hash_key=read.text("GRM_PHONE_HASH_KEY"),
        given_public_url=read.url("GRM_PUBLIC_URL"),
        min_free_disk_mb=read.whole("GRM_MIN_FREE_DISK_MB", MIN_FREE_DISK_MB),
        twilio=twilio,
        smtp=smtp,
        facebook=Facebook(
            read.text("GRM_FACEBOOK_PAGE"),
            read.text("GRM_FACEBOOK_PAGE_ACCESS_TOKEN"),
            read.url("GRM_FACEBOOK_API_URL"),
        ),
        network=Network(
            host=read.text("GRM_HOST") or LOCALHOST,
            actions_host=read.text("GRM_ACTIONS_HOST") or LOCALHOST,
            rasa_port=read.port("GRM_RASA_PORT", 5005),
            actions_port=read.port("GRM_ACTIONS_PORT", 5055),
            web_port=read.port("GRM_WEB_PORT", 5000),
            rasa_url=read.url("GRM_RASA_URL"),
            rasa_api=read.switch("GRM_RASA_API"),
            rest_channel=read.switch("GRM_REST_CHANNEL"),
            rasa_workers=read.whole("GRM_RASA_WORKERS", 1, least=1),
            redis_url=read.text("GRM_REDIS_URL"),
            actions_url=read.url("GRM_ACTIONS_URL"),
        ),
        web=Web(
            secret_key=read.text("GRM_SECRET_KEY"),
            session_minutes=read.whole("GRM_SESSION_MINUTES", 30, least=1),
            api_token_days=read.whole("GRM_API_TOKEN_DAYS", API_TOKEN_DAYS, least=1),
            proxies=read.whole("GRM_PROXIES", 0, least=0),
        ),
        schedule=Schedule(
            tick_seconds=tick or None,
            warn_before_hours=read.hours("GRM_WARN_BEFORE_HOURS", 24),
            report_emails=tuple(a.strip() for a in (read.text("GRM_REPORT_EMAILS") or "").split(",") if a.strip()),
            batch=read.whole("GRM_SCHEDULER_BATCH", 500, least=1),
            conversation_days=read.whole("GRM_CONVERSATION_DAYS", SILENT_CONVERSATION_DAYS, least=1),
        ),
        models=Models(read.folder("TRIAGE_MODEL_DIR"), read.folder("SUMMARY_MODEL_DIR")),
        environment=env,
    )


def private_directory(path: Path) -> Path:
    """`path` made (if missing) readable by its owner only: var/ holds keys, logs and personal data."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def private_file(path: Path, make: Callable[[], str]) -> str:
    """The text kept in `path` (owner-only), written once by `make` by whichever process comes first."""
    if not path.exists():
        private_directory(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process wrote it meanwhile
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(make())
    return path.read_text()


@dataclass(frozen=True)
class SharedSecret:
    """A secret two processes share (Rasa and the action server, say): from the environment,
    else from an owner-only file under var/ made on the first start. Never a command-line
    argument, which every local user can read in the process list."""

    variable: str
    filename: str

    def value(self, var_dir: Path, environ: Mapping[str, str]) -> str:
        """The secret given in `environ` (Settings.environment), else the one kept under `var_dir`."""
        given = environ.get(self.variable)
        if given:
            if len(given) < MIN_SECRET_CHARS:
                raise ConfigurationError(f"{self.variable} must be at least {MIN_SECRET_CHARS} characters long")
            return given
        return private_file(var_dir / self.filename, lambda: secrets.token_urlsafe(32)).strip()


# What Rasa sends the action server with every call (endpoints.yml), and what the action server asks for.
ACTIONS_TOKEN = SharedSecret("GRM_ACTIONS_TOKEN", "actions.token")
# Rasa's HTTP API, when it is turned on (GRM_RASA_API=on), answers only callers with this token.
RASA_API_TOKEN = SharedSecret("GRM_RASA_TOKEN", "rasa-api.token")
