"""`make run` as a whole (`python -m launcher run`): what it opens to the network, what it
refuses, and what its logs and files give away after a citizen files, looks up and answers."""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from launcher.processes import MODEL, RASA, free_port
from tests.bot import reference_in
from ticketing.config import PROJECT_ROOT

# Starts real processes: not in `make test-fast`.
pytestmark = pytest.mark.e2e

LISTEN = "0A"
PHONE = "9841000199"
RESOLVE = """
import sys
from sqlalchemy import select
from ticketing.citizen import answer_link_token
from ticketing.clock import SystemClock
from ticketing.config import load_settings
from ticketing.store.db import open_store
from ticketing.store.case_models import Grievance
from ticketing.cases.records import SYSTEM
from ticketing.cases.moves import acknowledge, resolve
store = open_store(load_settings())
with store.sessions.begin() as session:
    case = session.scalars(select(Grievance).where(Grievance.reference == sys.argv[1])).one()
    acknowledge(session, SystemClock(), case.id, SYSTEM)
    resolve(session, SystemClock(), case.id, SYSTEM, "The trucks are washed before they leave.")
    print(answer_link_token(case, SystemClock().now()))
"""


@dataclass
class Running:
    supervisor: subprocess.Popen[str]
    var_dir: Path
    rasa: int
    actions: int
    web: int


def descendants(root: int) -> set[int]:
    """The process and everything it started, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo += children.get(pid, [])
    return found


def listening_addresses(pids: set[int]) -> set[tuple[str, int]]:
    """The (address, port) of every TCP socket these processes listen on."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != LISTEN or fields[9] not in inodes:
                continue
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            # /proc prints each 32-bit word of the address in the host's (little-endian) order.
            ordered = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.add((str(ipaddress.ip_address(ordered)), int(port, 16)))
    return found


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    if not RASA.exists() or not MODEL.exists():
        pytest.skip("the Rasa environment or the trained model is missing (make test builds both)")
    var_dir = tmp_path_factory.mktemp("make-run") / "var"
    ports = {"GRM_RASA_PORT": free_port(), "GRM_ACTIONS_PORT": free_port(), "GRM_WEB_PORT": free_port()}
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("GRM_", "DATABASE_URL", "TWILIO_"))
    }
    environment |= {key: str(value) for key, value in ports.items()}
    # REST only to drive the citizen here; it does not change what listens where.
    environment |= {"GRM_VAR_DIR": str(var_dir), "GRM_REST_CHANNEL": "on"}
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "launcher", "run"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert supervisor.stdout is not None
    printed = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = supervisor.stdout.readline()
        if not line:
            break
        printed.append(line)
        if "Press Ctrl-C" in line:
            break
    assert any("Press Ctrl-C" in line for line in printed), "".join(printed)
    try:
        yield Running(supervisor, var_dir, ports["GRM_RASA_PORT"], ports["GRM_ACTIONS_PORT"], ports["GRM_WEB_PORT"])
    finally:
        supervisor.send_signal(signal.SIGINT)
        supervisor.wait(timeout=60)


def say(running: Running, sender: str, text: str, **metadata: str) -> str:
    answer = httpx.post(
        f"http://127.0.0.1:{running.rasa}/webhooks/rest/webhook",
        json={"sender": sender, "message": text, "metadata": {"project": "KKR-01", **metadata}},
        timeout=120,
    )
    answer.raise_for_status()
    return "\n".join(str(reply.get("text", "")) for reply in answer.json())


def test_every_process_listens_on_loopback_only(running: Running) -> None:
    listening = listening_addresses(descendants(running.supervisor.pid))
    assert {port for _, port in listening} >= {running.rasa, running.actions, running.web}
    assert all(ipaddress.ip_address(address).is_loopback for address, _ in listening), listening


def test_the_action_server_and_rasas_api_are_closed(running: Running) -> None:
    call = {"next_action": "action_check_status", "tracker": {"sender_id": "x", "slots": {}}, "domain": {}}
    assert httpx.post(f"http://127.0.0.1:{running.actions}/webhook", json=call, timeout=30).status_code == 401
    # Rasa's HTTP API is off: no tracker, no model, whoever asks.
    rasa = f"http://127.0.0.1:{running.rasa}"
    assert httpx.get(f"{rasa}/conversations/x/tracker", timeout=30).status_code == 404
    assert httpx.get(f"{rasa}/status", timeout=30).status_code == 404


def test_var_is_its_owners_alone(running: Running) -> None:
    assert stat.S_IMODE(running.var_dir.stat().st_mode) == 0o700
    for path in running.var_dir.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_logs_give_away_no_phone_reference_or_token(running: Running) -> None:
    citizen = f"run{uuid.uuid4().hex[:12]}"
    say(running, citizen, "/file_grievance")
    say(running, citizen, "Trucks leave mud and dust all over the road next to our school in ward 4.")
    for answer in ("/done_adding", "Maya Gurung", PHONE, "Hetauda", "4", "/skip"):
        say(running, citizen, answer)
    reference = reference_in(say(running, citizen, "/affirm"))
    # Looked up in the chat and through the API, then resolved by an officer.
    say(running, citizen, "/check_status")
    say(running, citizen, reference)
    told = say(running, citizen, PHONE)
    assert reference in told, told
    looked_up = httpx.post(
        f"http://127.0.0.1:{running.web}/api/v1/status", json={"reference": reference, "phone": PHONE}, timeout=30
    )
    assert looked_up.status_code == 200 and looked_up.json()["reference"] == reference
    # In a process of its own, as the README does it: this one keeps the other tests' keys.
    resolved = subprocess.run(
        [sys.executable, "-c", RESOLVE, reference],
        check=False,
        cwd=PROJECT_ROOT,
        env={**os.environ, "GRM_VAR_DIR": str(running.var_dir)},
        capture_output=True,
        text=True,
    )
    assert resolved.returncode == 0, resolved.stderr
    # The citizen opens the resolution message's link and answers.
    token = resolved.stdout.strip()
    page = httpx.get(f"http://127.0.0.1:{running.web}/chat", params={"resume": token}, timeout=30)
    assert page.status_code == 200
    answerer = f"run{uuid.uuid4().hex[:12]}"
    assert "Are you satisfied" in say(running, answerer, "/greet", answer=token)
    say(running, answerer, "/affirm")
    assert "closed" in say(running, answerer, "/skip")
    logs = "\n".join(path.read_text(errors="replace") for path in (running.var_dir / "logs").glob("*.log"))
    # The web app runs under gunicorn, whose access log is there and keeps paths only.
    assert "gunicorn" in (running.var_dir / "logs" / "web.log").read_text() and "/chat" in logs
    for secret in (PHONE, PHONE[-7:], token, token.split(".")[-1], "Maya Gurung"):
        assert secret not in logs, secret
    assert not re.search(re.escape(reference) + r".{0,80}(98|\+977)", logs)
