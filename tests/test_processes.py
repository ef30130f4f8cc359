"""How `make run` wires the processes: where Rasa keeps conversations and locks."""

from __future__ import annotations

import http.server
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from actions.common import CHANNELS
from launcher.__main__ import channel_lines
from launcher.processes import (
    CREDENTIALS,
    EXTERNAL_CHANNELS,
    RASA_PYTHON,
    REST_CHANNEL_SECTION,
    RasaApi,
    Service,
    channel_setup,
    free_port,
    lock_store_environment,
    services,
    start_all,
    stop_all,
    tracker_store_environment,
)
from tests.conftest import settings_for
from ticketing.config import ACTIONS_TOKEN, PROJECT_ROOT
from ticketing.errors import ConfigurationError


def test_conversations_live_beside_the_tickets(tmp_path: Path) -> None:
    embedded = tracker_store_environment(settings_for(f"sqlite:///{tmp_path / 'grm.sqlite3'}", tmp_path))
    assert embedded["GRM_TRACKER_DIALECT"] == "sqlite"
    assert embedded["GRM_TRACKER_DB"] == str(tmp_path / "conversations.sqlite3")
    server = tracker_store_environment(settings_for("postgresql+psycopg://grm:secret@db.example:5433/grm", tmp_path))
    assert server == {
        "GRM_TRACKER_DIALECT": "postgresql",
        "GRM_TRACKER_HOST": "db.example:5433",
        "GRM_TRACKER_DB": "grm",
        "GRM_TRACKER_USER": "grm",
        "GRM_TRACKER_PASSWORD": "secret",
    }


def test_one_rasa_process_locks_in_memory_several_need_redis() -> None:
    assert lock_store_environment(1, None)["GRM_LOCK_STORE"] == "in_memory"
    with pytest.raises(ConfigurationError, match="GRM_REDIS_URL"):
        lock_store_environment(2, None)
    shared = lock_store_environment(2, "redis://cache.example:6380/3")
    assert (shared["GRM_LOCK_STORE"], shared["GRM_REDIS_HOST"], shared["GRM_REDIS_PORT"]) == (
        "redis",
        "cache.example",
        "6380",
    )
    assert (shared["GRM_REDIS_DB"], shared["SANIC_WORKERS"]) == ("3", "2")
    # One worker on each of several machines: the same locks in Redis.
    assert lock_store_environment(1, "redis://10.0.0.1:6379/0")["GRM_LOCK_STORE"] == "redis"


def test_rasa_gets_only_the_channels_whose_credentials_are_set(tmp_path: Path) -> None:
    bare = channel_setup({}, False, tmp_path)
    assert bare.enabled == () and [c.webhook for c in bare.disabled] == ["whatsapp", "facebook"]
    written = yaml.safe_load(bare.path.read_text())
    # The REST channel is for development and tests: asked for, or left out.
    assert list(written) == ["bot.channels.web.WebchatInput"] and bare.environment == {} and not bare.rest
    developing = channel_setup({}, True, tmp_path / "dev")
    assert list(yaml.safe_load(developing.path.read_text())) == [
        "bot.channels.web.RestApiInput",
        "bot.channels.web.WebchatInput",
    ]
    # What `make run` prints about them.
    assert channel_lines(bare, "http://localhost:5005") == [
        "WhatsApp (Twilio): off (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, GRM_TWILIO_WHATSAPP_FROM; see .env.example)",
        (
            "Facebook Messenger: off (set GRM_FACEBOOK_VERIFY_TOKEN, GRM_FACEBOOK_APP_SECRET,"
            " GRM_FACEBOOK_PAGE_ACCESS_TOKEN; see .env.example)"
        ),
    ]

    whatsapp = {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "token", "GRM_TWILIO_WHATSAPP_FROM": "+14155238886"}
    setup = channel_setup(whatsapp | {"GRM_FACEBOOK_APP_SECRET": "only one of three"}, False, tmp_path)
    assert [c.webhook for c in setup.enabled] == ["whatsapp"]
    assert channel_lines(setup, "http://localhost:5005")[0] == (
        "WhatsApp (Twilio): webhook http://localhost:5005/webhooks/whatsapp/webhook"
    )
    section = yaml.safe_load(setup.path.read_text())["bot.channels.whatsapp.WhatsAppInput"]
    # Rasa itself expands the variables; the optional ones it is given as empty, not unset.
    assert section["auth_token"] == "${TWILIO_AUTH_TOKEN}"
    assert setup.environment == whatsapp | {"GRM_RASA_URL": "", "GRM_TWILIO_API_URL": ""}


def running(pid: int) -> bool:
    """Whether the process exists and is not a zombie (an orphan's reaper may be slow)."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "State:\tZ" not in status.read_text()
    except FileNotFoundError:
        return False


def test_stopping_a_service_stops_the_workers_it_started(tmp_path: Path) -> None:
    # Like Rasa with several Sanic workers: a parent that starts a worker and, told to stop,
    # leaves without it.
    parent = (
        "import signal, subprocess, sys, time\n"
        "worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "print('worker', worker.pid, flush=True)\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
        "time.sleep(600)\n"
    )
    service = Service("parent", [sys.executable, "-c", parent], {}, None, tmp_path / "parent.log", ready_line="worker")
    start_all([service])
    worker = int(service.tail().split()[-1])
    assert running(worker)
    stop_all([service])
    deadline = time.monotonic() + 10
    while running(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running(worker)


def test_secrets_come_from_the_environment_or_an_owner_only_file_never_the_command_line(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite:///{tmp_path / 'grm.sqlite3'}", tmp_path / "var")
    started = services(settings, rasa_api=RasaApi("an-api-token-of-at-least-32-characters", ()))
    made = ACTIONS_TOKEN.value(settings.var_dir, {})
    assert stat.S_IMODE((settings.var_dir / ACTIONS_TOKEN.filename).stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.var_dir.stat().st_mode) == 0o700
    for service in started:
        assert made not in " ".join(service.command) and "an-api-token" not in " ".join(service.command)
    by_name = {service.name: service for service in started}
    assert by_name["action server"].environment["GRM_ACTIONS_TOKEN"] == made
    assert by_name["Rasa"].environment["GRM_ACTIONS_TOKEN"] == made
    assert by_name["Rasa"].environment["GRM_RASA_TOKEN"] == "an-api-token-of-at-least-32-characters"
    # Every process on loopback unless told otherwise; Rasa's API and CORS only when asked for.
    assert by_name["action server"].environment["GRM_ACTIONS_HOST"] == "127.0.0.1"
    assert "--enable-api" not in services(settings)[1].command
    assert "*" not in by_name["Rasa"].command
    assert ACTIONS_TOKEN.value(settings.var_dir, {"GRM_ACTIONS_TOKEN": "x" * 40}) == "x" * 40
    with pytest.raises(ConfigurationError, match="at least 32"):
        ACTIONS_TOKEN.value(settings.var_dir, {"GRM_ACTIONS_TOKEN": "short"})


# Each connector's name as Rasa knows it (its webhook's path and the input channel the
# actions see), read in Rasa's own environment, where the connectors can be imported.
CONNECTOR_NAMES = """
import sys
from rasa.shared.utils.common import class_from_module_path
for path in sys.argv[1:]:
    print(path, class_from_module_path(path).name())
"""


@pytest.mark.e2e
@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="the Rasa environment is not installed")
def test_every_connector_is_known_alike_to_rasa_the_launcher_and_the_actions() -> None:
    """A channel is named in credentials.yml (for Rasa), in the launcher (what it needs to be
    turned on) and in the actions (what a grievance from it is filed as): one list each side
    of the two environments, which this test keeps together."""
    sections = list(yaml.safe_load(CREDENTIALS.read_text()))
    printed = subprocess.run(
        [str(RASA_PYTHON), "-c", CONNECTOR_NAMES, *sections],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
        timeout=300,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    ).stdout
    names = dict(line.split() for line in printed.splitlines())
    assert set(names) == set(sections)
    assert set(names.values()) <= set(CHANNELS), "a connector whose grievances the actions cannot file"
    launched = {channel.section: channel.webhook for channel in EXTERNAL_CHANNELS}
    assert all(names[section] == webhook for section, webhook in launched.items())
    # The webchat is always on; the REST channel is for development.
    assert set(sections) == {*launched, REST_CHANNEL_SECTION, "bot.channels.web.WebchatInput"}


def test_a_service_that_answers_503_is_not_ready_yet(tmp_path: Path) -> None:
    """The action server's /ready answers 503 while triage loads: the launcher waits on."""
    answers = iter([503, 503, 200])

    class Ready(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(next(answers, 200))
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ready)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/ready"
        waiting = Service("waits", [sys.executable, "-c", "import time; time.sleep(60)"], {}, url, tmp_path / "w.log")
        start_all([waiting])
        assert next(answers, None) is None  # asked until it said 200
        stop_all([waiting])
    finally:
        server.shutdown()


def test_serve_becomes_the_one_service_a_unit_file_names(tmp_path: Path) -> None:
    """`python -m launcher serve actions` (deploy/systemd) is the action server itself, with
    the configuration `make run` gives it, ready once triage has loaded."""
    port = free_port()
    env = {**os.environ, "GRM_VAR_DIR": str(tmp_path / "var"), "GRM_ACTIONS_PORT": str(port)}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "launcher", "setup"], env=env, cwd=PROJECT_ROOT, check=True, timeout=300)
    served = subprocess.Popen([sys.executable, "-m", "launcher", "serve", "actions"], env=env, cwd=PROJECT_ROOT)
    try:
        service = Service("served", [], {}, f"http://127.0.0.1:{port}/ready", tmp_path / "none.log")
        service.process = served
        service.wait_ready(time.monotonic() + 300)
        assert served.poll() is None
        command = Path(f"/proc/{served.pid}/cmdline").read_bytes().split(b"\0")
        assert b"actions.server" in command  # the same process, become the action server
    finally:
        served.terminate()
        served.wait(timeout=30)
