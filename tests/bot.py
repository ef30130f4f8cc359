"""End-to-end fixtures: the real Rasa server and action server on free ports, over a temporary
ticket store seeded with the demo projects, and citizens who talk to them over REST. WhatsApp
and Messenger are configured too, their providers played by local stand-ins (tests/fakes.py).

Rasa takes the better part of a minute to load its model, so one pair of servers serves
the whole run; every test talks as its own citizen (its own sender id).
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from launcher.processes import MODEL, RASA, RasaApi, Service, free_port, services, start_all, stop_all
from tests.conftest import settings_for
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, FakeMessenger, FakeTwilio, fake_messenger, fake_twilio
from tests.helpers import FakeClock, make_jobs, outbox_file
from ticketing.clock import SystemClock
from ticketing.config import Network
from ticketing.notify.messages import CITIZEN
from ticketing.store.bootstrap import prepare, seed_demo
from ticketing.store.db import Store, open_store
from ticketing.values.references import normalise_reference

WHATSAPP_NUMBER = "+14155238886"
MESSENGER_VERIFY_TOKEN = "test-verify-token"
MESSENGER_APP_SECRET = "test-app-secret"
MESSENGER_PAGE_TOKEN = "test-page-access-token"
# The tests read trackers through Rasa's HTTP API, which `make run` leaves off.
RASA_API_TOKEN = "test-rasa-api-token-of-32-characters-or-more"


@dataclass
class Bot:
    """The running servers and the ticket store they write to."""

    rasa_url: str
    store: Store
    services: list[Service]
    network: Network
    twilio: FakeTwilio
    messenger: FakeMessenger

    def citizen(self, **metadata: Any) -> Citizen:
        return Citizen(self, metadata)

    def tracker(self, sender: str) -> dict[str, Any]:
        """A conversation as Rasa keeps it, read through its HTTP API (on, with a token, for tests)."""
        response = httpx.get(
            f"{self.rasa_url}/conversations/{sender}/tracker", params={"token": RASA_API_TOKEN}, timeout=30
        )
        response.raise_for_status()
        tracker: dict[str, Any] = response.json()
        return tracker


@dataclass
class Citizen:
    """One person chatting over Rasa's REST channel, as a test drives them."""

    bot: Bot
    metadata: dict[str, Any]
    sender: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:12]}")
    heard: list[dict[str, Any]] = field(default_factory=list)

    def say(self, message: str, **metadata: Any) -> list[dict[str, Any]]:
        """Send one message (with `metadata` added to the citizen's); returns the bot's replies."""
        reply = httpx.post(
            f"{self.bot.rasa_url}/webhooks/rest/webhook",
            json={"sender": self.sender, "message": message, "metadata": self.metadata | metadata},
            timeout=120,
        )
        reply.raise_for_status()
        answers: list[dict[str, Any]] = reply.json()
        self.heard.extend(answers)
        return answers

    def says(self, message: str, **metadata: Any) -> str:
        """Send one message; returns the bot's replies as one text."""
        return "\n".join(str(a.get("text", "")) for a in self.say(message, **metadata))

    def tracker(self) -> dict[str, Any]:
        return self.bot.tracker(self.sender)

    def slot(self, name: str) -> Any:
        return self.tracker()["slots"].get(name)


def reference_in(text: str) -> str:
    """The reference the bot gave, read from its words."""
    words = [normalise_reference(w.strip(".,:;")) for w in text.split() if w.startswith("GR-")]
    found = [w for w in words if w]
    assert found, f"no reference in: {text}"
    return found[0]


def buttons(answers: list[dict[str, Any]]) -> list[str]:
    """The titles of the buttons offered in these replies."""
    return [str(b.get("title")) for a in answers for b in a.get("buttons") or []]


@pytest.fixture(scope="session")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    """Rasa and the action server over a fresh SQLite ticket store with the demo data."""
    if not RASA.exists() or not MODEL.exists():
        pytest.skip("the Rasa environment or the trained model is missing (make test builds both)")
    var_dir = tmp_path_factory.mktemp("bot")
    # The conversations tests drive a citizen over REST, a channel for development and tests.
    network = Network(rasa_port=free_port(), actions_port=free_port(), web_port=free_port(), rest_channel=True)
    settings = replace(settings_for(f"sqlite:///{var_dir / 'grm.sqlite3'}", var_dir), network=network)
    store = open_store(settings)
    prepare(store)
    with store.sessions.begin() as session:
        seed_demo(session, FakeClock(), "test-password")
    with ExitStack() as outside:
        twilio = outside.enter_context(fake_twilio())
        messenger = outside.enter_context(fake_messenger(MESSENGER_PAGE_TOKEN))
        channels = {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "GRM_TWILIO_WHATSAPP_FROM": WHATSAPP_NUMBER,
            "GRM_TWILIO_API_URL": twilio.url,
            "GRM_TWILIO_MEDIA_URL": twilio.content_url,
            "GRM_FACEBOOK_VERIFY_TOKEN": MESSENGER_VERIFY_TOKEN,
            "GRM_FACEBOOK_APP_SECRET": MESSENGER_APP_SECRET,
            "GRM_FACEBOOK_PAGE_ACCESS_TOKEN": MESSENGER_PAGE_TOKEN,
            "GRM_FACEBOOK_API_URL": messenger.url,
        }
        api = RasaApi(RASA_API_TOKEN, ())
        running = services(settings, web=False, scheduler=False, environment=channels, rasa_api=api)
        start_all(running)
        try:
            yield Bot(f"http://127.0.0.1:{network.rasa_port}", store, running, network, twilio, messenger)
        finally:
            stop_all(running)
            store.engine.dispose()


def log_of(bot: Bot, name: str) -> Path:
    return next(s.log for s in bot.services if s.name == name)


def new_phone() -> str:
    """A mobile number of its own for one test's citizen (codes to one number are limited)."""
    return "+977984" + "".join(random.choices("0123456789", k=7))


def sms_to(bot: Bot, phone: str) -> list[dict[str, str]]:
    """Every SMS the outbox sent to `phone`, once the scheduler's jobs have run."""
    jobs = make_jobs(bot.store, FakeClock(SystemClock().now()))
    jobs.plan()
    jobs.dispatch()
    path = outbox_file(bot.store)
    return [m for m in map(json.loads, path.read_text().splitlines()) if m["to"] == phone and m["channel"] == "sms"]


# The subjects of the code's SMS in each language: only those carry a code (a receipt's link
# may hold six digits of its own).
CODE_SUBJECTS = {templates["code"].subject for templates in CITIZEN.values()}


def last_code(bot: Bot, phone: str) -> str:
    codes = [
        found.group(1)
        for m in sms_to(bot, phone)
        if m["subject"] in CODE_SUBJECTS and (found := re.search(r"\b(\d{6})\b", m["body"]))
    ]
    assert codes, f"no code was sent to {phone}"
    return codes[-1]


def local(phone: str) -> str:
    """The number as a citizen in Nepal types it."""
    return phone.removeprefix("+977")
