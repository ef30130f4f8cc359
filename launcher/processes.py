"""The GRM's processes (Rasa, the action server, the web app): how each is started and watched.

`make run` starts them all with the embedded defaults; the end-to-end tests and benchmarks
start the same commands on free ports with a temporary database.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import yaml
from sqlalchemy.engine import make_url

from ticketing.config import ACTIONS_TOKEN, LOCALHOST, PROJECT_ROOT, Settings
from ticketing.errors import ConfigurationError
from ticketing.scheduler import SCHEDULER_READY
from ticketing.store.conversations import conversations_file

RASA = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = RASA.parent / "python"
MODEL = PROJECT_ROOT / "models" / "grm.tar.gz"
ANY_ADDRESS = "0.0.0.0"
# Rasa loads its model in about a minute; several minutes on a busy machine.
STARTUP_SECONDS = 300.0
CREDENTIALS = PROJECT_ROOT / "credentials.yml"
_VARIABLE = re.compile(r"\$\{(\w+)\}")
# Files the processes write (logs, SQLite files, uploads) are their owner's alone.
PRIVATE_UMASK = 0o077
# Rasa's request bodies: a Messenger batch at most; its default is 100 MB. Socket.IO frames
# are capped lower by the webchat channel itself (bot/channels/web.py).
RASA_REQUEST_BYTES = 1024 * 1024
WEB_WORKERS = 2
# The web app's access log: method, path without its query (a resume link's token or a
# phone never lands in a log), status, size and time; no referrer, which carries queries too.
WEB_ACCESS_LOG = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss'


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOCALHOST, 0))
        return int(probe.getsockname()[1])


def tracker_store_environment(settings: Settings) -> dict[str, str]:
    """Where Rasa keeps conversations: beside the tickets, in SQLite or the same PostgreSQL."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return {
            "GRM_TRACKER_DIALECT": "sqlite",
            "GRM_TRACKER_HOST": "",
            "GRM_TRACKER_DB": str(conversations_file(settings)),
            "GRM_TRACKER_USER": "",
            "GRM_TRACKER_PASSWORD": "",
        }
    # Rasa's own SQLAlchemy 1.4 talks to PostgreSQL through psycopg2.
    host = url.host or LOCALHOST
    return {
        "GRM_TRACKER_DIALECT": "postgresql",
        "GRM_TRACKER_HOST": f"{host}:{url.port}" if url.port else host,
        "GRM_TRACKER_DB": url.database or "",
        "GRM_TRACKER_USER": url.username or "",
        "GRM_TRACKER_PASSWORD": url.password or "",
    }


def lock_store_environment(workers: int, redis_url: str | None) -> dict[str, str]:
    """Rasa's lock store: Redis when given (required for several processes, on one machine or
    several: deploy/), else in memory for the one."""
    if workers > 1 and not redis_url:
        raise ConfigurationError("several Rasa workers share their locks in Redis: set GRM_REDIS_URL")
    if redis_url is None:
        return {"GRM_LOCK_STORE": "in_memory", "GRM_REDIS_HOST": "", "GRM_REDIS_PORT": "0", "GRM_REDIS_DB": "0"}
    url = make_url(redis_url)
    return {
        "GRM_LOCK_STORE": "redis",
        "GRM_REDIS_HOST": url.host or LOCALHOST,
        "GRM_REDIS_PORT": str(url.port or 6379),
        "GRM_REDIS_DB": (url.database or "0").lstrip("/") or "0",
        "SANIC_WORKERS": str(workers),
    }


@dataclass(frozen=True)
class ExternalChannel:
    """A messaging channel that works only with the operator's own credentials."""

    label: str
    section: str  # its key in credentials.yml
    webhook: str  # Rasa serves it at /webhooks/<webhook>/webhook
    required: tuple[str, ...]


EXTERNAL_CHANNELS = (
    ExternalChannel(
        "WhatsApp (Twilio)",
        "bot.channels.whatsapp.WhatsAppInput",
        "whatsapp",
        ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "GRM_TWILIO_WHATSAPP_FROM"),
    ),
    ExternalChannel(
        "Facebook Messenger",
        "bot.channels.messenger.MessengerInput",
        "facebook",
        ("GRM_FACEBOOK_VERIFY_TOKEN", "GRM_FACEBOOK_APP_SECRET", "GRM_FACEBOOK_PAGE_ACCESS_TOKEN"),
    ),
)


# Rasa's REST channel lets any caller speak as any conversation id of its own shape and get
# the replies back: for development, tests and benchmarks only.
REST_CHANNEL_SECTION = "bot.channels.web.RestApiInput"


@dataclass(frozen=True)
class ChannelSetup:
    """The credentials file Rasa is started with, and which external channels it holds."""

    path: Path
    environment: dict[str, str]
    enabled: tuple[ExternalChannel, ...]
    disabled: tuple[ExternalChannel, ...]
    rest: bool


def channel_setup(environ: Mapping[str, str], rest: bool, directory: Path) -> ChannelSetup:
    """credentials.yml without the channels whose credentials are not all set in `environ`,
    and without the REST channel unless `rest` (GRM_REST_CHANNEL=on).

    Rasa expands ${VAR} itself and refuses to start on an unset one, so the optional
    settings of the channels kept (a proxy URL, say) are passed as empty when not given.
    """
    enabled = tuple(c for c in EXTERNAL_CHANNELS if all(environ.get(name) for name in c.required))
    disabled = tuple(c for c in EXTERNAL_CHANNELS if c not in enabled)
    sections = yaml.safe_load(CREDENTIALS.read_text(encoding="utf-8")) or {}
    for section in [c.section for c in disabled] + ([] if rest else [REST_CHANNEL_SECTION]):
        sections.pop(section, None)
    kept = yaml.safe_dump(sections, sort_keys=False)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "credentials.yml"
    path.write_text(kept, encoding="utf-8")
    environment = {name: environ.get(name, "") for name in _VARIABLE.findall(kept)}
    return ChannelSetup(path, environment, enabled, disabled, rest)


@dataclass
class Service:
    """One process: its command, environment, and how it shows it is ready: a URL that
    answers, or (for a process without HTTP) a line in its log."""

    name: str
    command: Sequence[str]
    environment: Mapping[str, str]
    ready_url: str | None
    log: Path
    ready_line: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    # Where this run's part of the (appended) log begins.
    _log_offset: int = field(default=0, repr=False)

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        with open(os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as output:
            self.process = subprocess.Popen(
                self.command,
                cwd=PROJECT_ROOT,
                # The child inherits the launcher's environment (PATH, locale) with its own settings on top.
                env={**os.environ, **self.environment},
                stdout=output,
                stderr=subprocess.STDOUT,
                # A group of its own: stopping it stops the worker processes it forks too.
                start_new_session=True,
                umask=PRIVATE_UMASK,
            )

    def become(self) -> NoReturn:
        """Replace this process with the service, in the foreground: for a process manager
        (systemd) that supervises it and keeps its output."""
        os.chdir(PROJECT_ROOT)
        os.execvpe(self.command[0], list(self.command), {**os.environ, **self.environment})

    def wait_ready(self, deadline: float) -> None:
        """Block until the service answers, or raise with the end of its log."""
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
            if self.ready_url is None:
                if self.ready_line is not None and self.ready_line in self._this_run_log():
                    return
                time.sleep(0.3)
                continue
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2):
                    return
            except urllib.error.HTTPError as answer:
                if answer.code != HTTPStatus.SERVICE_UNAVAILABLE:
                    return  # it answers, even if not with 200; 503 is "not yet" (the action server's /ready)
                time.sleep(0.3)
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"{self.name} was not ready ({self.ready_url or self.ready_line}):\n{self.tail()}")

    def _this_run_log(self) -> str:
        with self.log.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the process and whatever it started (Rasa's Sanic workers outlive a stopped parent)."""
        if self.process is None:
            return
        group = self.process.pid  # the group's id: the process leads its own session
        _signal_group(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            _signal_group(group, signal.SIGKILL)
            self.process.wait()
        _signal_group(group, signal.SIGKILL)  # any child that ignored the request


def _signal_group(group: int, number: signal.Signals) -> None:
    try:
        os.killpg(group, number)
    except ProcessLookupError:
        pass  # nobody left in the group


@dataclass(frozen=True)
class RasaApi:
    """Rasa's HTTP API (every conversation's tracker, the model): off unless asked for, and
    then only for callers with its token, from the web app's origins."""

    token: str
    origins: tuple[str, ...]


def web_origins(settings: Settings) -> tuple[str, ...]:
    """Where the web app's pages come from: its public URL, and this machine's own names."""
    parts = urlsplit(settings.public_url)
    public = f"{parts.scheme}://{parts.netloc}"
    web = settings.network.web_port
    return tuple(dict.fromkeys([public, f"http://localhost:{web}", f"http://{LOCALHOST}:{web}"]))


def services(
    settings: Settings,
    *,
    rasa_api: RasaApi | None = None,
    model: Path = MODEL,
    web: bool = True,
    scheduler: bool = True,
    environment: Mapping[str, str] | None = None,
    channels: ChannelSetup | None = None,
) -> list[Service]:
    """The action server, Rasa and (optionally) the scheduler and web app, configured to find
    each other on the hosts and ports of `settings.network`; `environment` adds settings of
    the started processes' own (a channel's credentials, say).

    Rasa and the action server share a secret (environment or var/), which Rasa sends with
    every action call; secrets travel in the environment, never on a command line. Rasa
    answers on one core per worker; more than one worker needs Redis for the locks that
    keep each conversation's turns in order.
    """
    net = settings.network
    common = {
        "GRM_VAR_DIR": str(settings.var_dir),
        "DATABASE_URL": settings.database_url,
        **({"GRM_ENCRYPTION_KEYS": settings.encryption_keys} if settings.encryption_keys else {}),
        **({"GRM_PHONE_HASH_KEY": settings.phone_hash_key} if settings.phone_hash_key else {}),
        # Each process finds the others where this one put them.
        "GRM_RASA_PORT": str(net.rasa_port),
        "GRM_ACTIONS_PORT": str(net.actions_port),
        "GRM_WEB_PORT": str(net.web_port),
        "GRM_ACTIONS_HOST": net.actions_host,
        **(environment or {}),
    }
    given = {**settings.environment, **common}
    actions_token = ACTIONS_TOKEN.value(settings.var_dir, given)
    logs = settings.var_dir / "logs"
    if channels is None:
        channels = channel_setup(given, net.rest_channel, settings.var_dir)
    actions = Service(
        "action server",
        [sys.executable, "-m", "actions.server"],
        # Ready once triage has loaded (about 15 s, while Rasa starts): the first recap never waits.
        {**common, "GRM_ACTIONS_TOKEN": actions_token},
        f"http://{LOCALHOST}:{net.actions_port}/ready",
        logs / "actions.log",
    )
    rasa_command = [str(RASA_PYTHON), "-m", "bot.serve", "run", "--model", str(model), "--endpoints", "endpoints.yml"]
    rasa_command += ["--credentials", str(channels.path), "--interface", net.host, "--port", str(net.rasa_port)]
    rasa_command += ["--cors", *web_origins(settings)]
    api_environment = {}
    if rasa_api is not None:
        rasa_command.append("--enable-api")
        # bot/serve.py hands the token to Rasa inside its process, not on its command line.
        api_environment = {"GRM_RASA_TOKEN": rasa_api.token}
    rasa = Service(
        "Rasa",
        rasa_command,
        {
            **common,
            **channels.environment,
            **tracker_store_environment(settings),
            **lock_store_environment(net.rasa_workers, net.redis_url),
            **api_environment,
            "GRM_ACTIONS_URL": net.actions_url
            or f"http://{net.actions_host if net.actions_host != ANY_ADDRESS else LOCALHOST}:{net.actions_port}/webhook",
            "GRM_ACTIONS_TOKEN": actions_token,
            "SANIC_REQUEST_MAX_SIZE": str(RASA_REQUEST_BYTES),
            # endpoints.yml names the tracker store in bot/, which Rasa imports from here.
            "PYTHONPATH": str(PROJECT_ROOT),
            # Rasa phones home by default; the GRM runs without network access.
            "RASA_TELEMETRY_ENABLED": "false",
        },
        f"http://{LOCALHOST}:{net.rasa_port}/",
        logs / "rasa.log",
    )
    started = [actions, rasa]
    if scheduler:
        started.append(
            Service(
                "scheduler",
                [sys.executable, "-m", "ticketing.scheduler"],
                common,
                None,
                logs / "scheduler.log",
                ready_line=SCHEDULER_READY,
            )
        )
    if web:
        started.append(
            Service(
                "web app",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--bind",
                    f"{net.host}:{net.web_port}",
                    "--workers",
                    str(WEB_WORKERS),
                ]
                + ["--worker-class", "gthread", "--threads", "4", "--timeout", "60", "--graceful-timeout", "10"]
                + ["--access-logfile", "-", "--access-logformat", WEB_ACCESS_LOG, "admin_app:create_app()"],
                common,
                f"http://{LOCALHOST}:{net.web_port}/chat",
                logs / "web.log",
            )
        )
    return started


def start_all(started: Sequence[Service], timeout: float = STARTUP_SECONDS) -> None:
    """Start every service, then wait until each answers; stop them all if one fails."""
    try:
        for service in started:
            service.start()
        deadline = time.monotonic() + timeout
        for service in started:
            service.wait_ready(deadline)
    except BaseException:
        stop_all(started)
        raise


def stop_all(started: Sequence[Service]) -> None:
    for service in reversed(started):
        service.stop()
