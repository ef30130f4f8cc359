"""deploy/ as an operator runs it, on this machine: nginx (with deploy/nginx/grm.conf) in
front of two Rasa servers and two action servers over PostgreSQL and Redis. Citizens file
through nginx in English and Nepali; one Rasa server and one action server are killed in
the middle, and every conversation still ends with its own grievance, filed once."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from launcher.processes import MODEL, RASA, Service, free_port, services, start_all, stop_all
from tests.bot import Bot, Citizen, reference_in
from tests.conftest import private_postgres_database, settings_for
from tests.fakes import fake_messenger, fake_twilio
from tests.helpers import FakeClock
from ticketing.config import PROJECT_ROOT, Network
from ticketing.store.bootstrap import prepare, seed_demo
from ticketing.store.case_models import Grievance
from ticketing.store.db import open_store

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
        f"  log_format upstreams '$upstream_addr';\n  access_log {directory / 'access.log'} upstreams;\n"
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


def test_two_of_each_behind_nginx_survive_losing_one_of_each(tmp_path: Path) -> None:
    if not NGINX.exists():
        pytest.skip("nginx is not installed (apt-get install nginx; make test installs it)")
    if not redis_answers():
        pytest.skip("Redis does not answer on 127.0.0.1:6379: the shared lock store is missing")
    if not RASA.exists() or not MODEL.exists():
        pytest.skip("the Rasa environment or the trained model is missing (make test builds both)")
    with ExitStack() as stack:
        url = stack.enter_context(private_postgres_database("deploy"))
        front, actions_front = free_port(), free_port()
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
            )
            settings = replace(settings_for(url, tmp_path / f"machine-{number}"), network=network)
            if number == 1:
                store = open_store(settings)
                prepare(store)
                with store.sessions.begin() as session:
                    seed_demo(session, FakeClock(), "test-password")
            # One shared secret between the Rasa servers and the action servers, as grm.env gives.
            running += services(settings, web=False, scheduler=False, environment={"GRM_ACTIONS_TOKEN": "s" * 40})
        addresses = {
            "listen 80;": f"listen 127.0.0.1:{front};",
            "listen 10.0.0.1:5056;": f"listen 127.0.0.1:{actions_front};",
            "10.0.0.1:5000": f"127.0.0.1:{free_port()}",
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
        through_nginx = Bot(f"http://127.0.0.1:{front}/rasa", store, running, network, twilio, messenger)

        scripts = []
        for n in range(6):
            nepali = n % 2 == 1
            phone = f"98410{n:05d}"
            scripts.append(
                (
                    through_nginx.citizen(project="KKR-01", language="ne" if nepali else "en"),
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
        failures: list[str] = []
        answers: dict[str, str] = {}
        for step in range(9):
            if step == 4:  # in the middle of every conversation
                kill(next(s for s in running[:2] if s.name == "Rasa"))
                kill(next(s for s in running[:2] if s.name == "action server"))
            for citizen, _name, script in scripts:
                answers[citizen.sender] = turn(citizen, script[step], failures)

        references = {citizen.sender: reference_in(answers[citizen.sender]) for citizen, _, _ in scripts}
        assert len(set(references.values())) == len(scripts)
        with store.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Grievance)) == len(scripts)
            for citizen, name, _ in scripts:
                filed = session.scalars(
                    select(Grievance).where(Grievance.reference == references[citizen.sender])
                ).one()
                assert filed.complainant.name == name  # no conversation got another's answers
        # Nothing was in flight when the servers died: no message needed sending twice.
        assert failures == []
        answered = (tmp_path / "nginx" / "access.log").read_text()
        for rasa_port, actions_port in ports:
            assert f"127.0.0.1:{rasa_port}" in answered and f"127.0.0.1:{actions_port}" in answered
        store.engine.dispose()
