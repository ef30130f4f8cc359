"""deploy/ as an operator runs it, on this machine: nginx (with deploy/nginx/grm.conf) in
front of the web app, two Rasa servers and two action servers over PostgreSQL and Redis.
A citizen files in the webchat through nginx (page, socket and all); then citizens file over
the channels' webhooks in English and Nepali while one Rasa server and one action server are
killed in the middle, and every conversation still ends with its own grievance, filed once."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser
from sqlalchemy import func, select

from admin_app import create_app
from launcher.processes import MODEL, RASA, Service, free_port, services, start_all, stop_all
from tests.bot import Bot, Citizen, reference_in
from tests.browser import live_server
from tests.conftest import private_postgres_database, settings_for
from tests.fakes import fake_messenger, fake_twilio
from tests.helpers import FakeClock
from tests.test_webchat import tap, type_message, wait_for_reply
from ticketing.config import PROJECT_ROOT, Network
from ticketing.store.bootstrap import prepare, seed_demo
from ticketing.store.case_models import Grievance
from ticketing.store.db import Store, open_store

pytestmark = pytest.mark.e2e

NGINX = Path(shutil.which("nginx") or "/usr/sbin/nginx")
REDIS = ("127.0.0.1", 6379)
DEVANAGARI_DIGITS = str.maketrans("0123456789", "०१२३४५६७८९")


def redis_answers() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=2) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def nginx(directory: Path, addresses: dict[str, str]) -> Iterator[None]:
    """nginx with the shipped configuration, the example addresses replaced by this machine's."""
    config = (PROJECT_ROOT / "deploy" / "nginx" / "grm.conf").read_text()
    for example, here in addresses.items():
        assert example in config, example
        config = config.replace(example, here)
    (directory / "grm.conf").write_text(config)
    temp = {kind: directory / kind for kind in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    (directory / "nginx.conf").write_text(
        # As root (here, CI) its workers would otherwise run as nobody, who cannot reach tmp_path.
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"pid {directory / 'nginx.pid'};\nerror_log {directory / 'error.log'};\nevents {{}}\nhttp {{\n"
        # Which server answered each request, to show that both of each kind took work.
        f"  log_format upstreams '$upstream_addr $uri';\n  access_log {directory / 'access.log'} upstreams;\n"
        + "".join(f"  {kind}_temp_path {path};\n" for kind, path in temp.items()).replace(
            "body_temp", "client_body_temp"
        )
        + "  include grm.conf;\n}\n"
    )
    started = subprocess.Popen(
        [str(NGINX), "-p", str(directory), "-c", str(directory / "nginx.conf"), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    try:
        yield
    finally:
        started.terminate()
        started.wait(timeout=30)


def turn(citizen: Citizen, text: str, failures: list[str]) -> str:
    """One message; a message lost with a killed server is sent again, once, as a person would."""
    try:
        return citizen.says(text)
    except (httpx.HTTPStatusError, httpx.TransportError):
        failures.append(f"{citizen.sender}: {text}")
        return citizen.says(text)


def kill(service: Service) -> None:
    assert service.process is not None
    os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait(timeout=30)


@dataclass
class Deployment:
    front: str  # nginx, where citizens and officers come in
    store: Store
    running: list[Service]  # the first machine's action server and Rasa, then the second's
    ports: list[tuple[int, int]]  # (Rasa, action server) of each machine
    access_log: Path
    bot: Bot  # citizens on the REST channel, through nginx


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    if not NGINX.exists():
        pytest.skip("nginx is not installed (apt-get install nginx; make test installs it)")
    if not redis_answers():
        pytest.skip("Redis does not answer on 127.0.0.1:6379: the shared lock store is missing")
    if not RASA.exists() or not MODEL.exists():
        pytest.skip("the Rasa environment or the trained model is missing (make test builds both)")
    tmp_path = tmp_path_factory.mktemp("deployment")
    with ExitStack() as stack:
        url = stack.enter_context(private_postgres_database("deploy"))
        front, actions_front = free_port(), free_port()
        public = f"http://127.0.0.1:{front}"
        ports = [(free_port(), free_port()) for _ in range(2)]
        running: list[Service] = []
        for number, (rasa_port, actions_port) in enumerate(ports, start=1):
            network = Network(
                rasa_port=rasa_port,
                actions_port=actions_port,
                web_port=free_port(),
                rest_channel=True,
                redis_url=f"redis://{REDIS[0]}:{REDIS[1]}/0",
                actions_url=f"http://127.0.0.1:{actions_front}/webhook",
                rasa_url=f"{public}/rasa/",
            )
            settings = replace(
                settings_for(url, tmp_path / f"machine-{number}"), network=network, given_public_url=public
            )
            if number == 1:
                store = open_store(settings)
                prepare(store)
                with store.sessions.begin() as session:
                    seed_demo(session, FakeClock(), "test-password")
            # One shared secret between the Rasa servers and the action servers, as grm.env gives.
            running += services(settings, web=False, scheduler=False, environment={"GRM_ACTIONS_TOKEN": "s" * 40})
        web = stack.enter_context(live_server(create_app({"GRM_STORE": store, "GRM_RASA_URL": f"{public}/rasa/"})))
        addresses = {
            "listen 80;": f"listen 127.0.0.1:{front};",
            "server_name grm.example.org;": "server_name 127.0.0.1;",
            "listen 10.0.0.1:5056;": f"listen 127.0.0.1:{actions_front};",
            "10.0.0.1:5000": web.removeprefix("http://"),
            "10.0.0.2:5005": f"127.0.0.1:{ports[0][0]}",
            "10.0.0.3:5005": f"127.0.0.1:{ports[1][0]}",
            "10.0.0.2:5055": f"127.0.0.1:{ports[0][1]}",
            "10.0.0.3:5055": f"127.0.0.1:{ports[1][1]}",
        }
        (tmp_path / "nginx").mkdir()
        stack.enter_context(nginx(tmp_path / "nginx", addresses))
        stack.callback(stop_all, running)
        start_all(running)
        twilio, messenger = stack.enter_context(fake_twilio()), stack.enter_context(fake_messenger("token"))
        bot = Bot(f"{public}/rasa", store, running, network, twilio, messenger)
        yield Deployment(public, store, running, ports, tmp_path / "nginx" / "access.log", bot)
        store.engine.dispose()


def test_the_webchat_files_through_nginx_page_socket_and_all(deployment: Deployment, chromium: Browser) -> None:
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{deployment.front}/chat/KKR-01")
        assert "Kathmandu-Kulekhani Road Upgrading" in wait_for_reply(page, 0)
        assert "in your own words" in tap(page, "File a grievance")
        assert "add anything" in type_message(page, "Dust from the crusher covers our vegetables every morning.")
        assert "name" in tap(page, "That's all").lower()
        assert "mobile" in type_message(page, "Sunita Tamang").lower()
        assert "municipality" in type_message(page, "9841 555 123").lower()
        assert "ward" in tap(page, "Hetauda").lower()
        assert "email" in type_message(page, "6").lower()
        tap(page, "Skip")
        reference = reference_in(tap(page, "Yes, send it"))
        # The page reached Rasa only through nginx: it knows no other address.
        chat = page.locator("#grm-chat")
        assert (chat.get_attribute("data-rasa-url"), chat.get_attribute("data-socket-path")) == (
            deployment.front,
            "/rasa/socket.io/",
        )
    finally:
        context.close()
    with deployment.store.sessions() as session:
        assert session.scalars(select(Grievance.ward).where(Grievance.reference == reference)).one() == 6


def test_losing_one_rasa_and_one_action_server_loses_no_conversation(deployment: Deployment) -> None:
    """Runs after the webchat's test: it kills the first machine's servers."""
    scripts = []
    for n in range(6):
        nepali = n % 2 == 1
        phone = f"98410{n:05d}"
        scripts.append(
            (
                deployment.bot.citizen(project="KKR-01", language="ne" if nepali else "en"),
                f"Citizen {n}",
                [
                    "/file_grievance",
                    "सडकको धुलोले हाम्रो विद्यालयका बालबालिका बिरामी परे।"
                    if nepali
                    else "Trucks leave mud and dust all over the road next to our school in ward 4.",
                    "/done_adding",
                    f"Citizen {n}",
                    phone.translate(DEVANAGARI_DIGITS) if nepali else phone,
                    "Hetauda",
                    "४" if nepali else "4",
                    "/skip",
                    "/affirm",
                ],
            )
        )
    with deployment.store.sessions() as session:
        before = session.scalar(select(func.count()).select_from(Grievance)) or 0
    failures: list[str] = []
    answers: dict[str, str] = {}
    for step in range(9):
        if step == 4:  # in the middle of every conversation
            kill(next(s for s in deployment.running[:2] if s.name == "Rasa"))
            kill(next(s for s in deployment.running[:2] if s.name == "action server"))
        for citizen, _name, script in scripts:
            answers[citizen.sender] = turn(citizen, script[step], failures)

    references = {citizen.sender: reference_in(answers[citizen.sender]) for citizen, _, _ in scripts}
    assert len(set(references.values())) == len(scripts)
    with deployment.store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Grievance)) == before + len(scripts)
        for citizen, name, _ in scripts:
            filed = session.scalars(select(Grievance).where(Grievance.reference == references[citizen.sender])).one()
            assert filed.complainant.name == name  # no conversation got another's answers
    # Nothing was in flight when the servers died: no message needed sending twice.
    assert failures == []
    answered = deployment.access_log.read_text()
    for rasa_port, actions_port in deployment.ports:
        assert f"127.0.0.1:{rasa_port}" in answered and f"127.0.0.1:{actions_port}" in answered
