"""What every conversation flow shares: the ticket store, the language, and the domain's words."""

from __future__ import annotations

import asyncio
import base64
import functools
import hmac
import logging
import math
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from ticketing.catalog import Catalog, ProjectInfo, catalog
from ticketing.citizen import heard_on_whatsapp
from ticketing.clock import SystemClock
from ticketing.config import PROJECT_ROOT
from ticketing.errors import ConfigurationError, InvalidInput, RetryLater
from ticketing.places.gazetteer import plain_words
from ticketing.store.crypto import keyring
from ticketing.store.db import Store
from ticketing.store.vocabulary import Channel
from ticketing.triage import BackgroundTriager, Example, labels_from_catalog, officer_examples
from ticketing.values.languages import spoken
from ticketing.values.numerals import devanagari_digits
from ticketing.values.phones import normalise_mobile

logger = logging.getLogger(__name__)
T = TypeVar("T")

CLOCK = SystemClock()
# The ticket store being unreachable or failing: the citizen is asked to retry, nothing is lost.
STORE_UNAVAILABLE = (OperationalError, DBAPIError, PoolTimeout, ConnectionError)
# Rasa's input channel names, as the ticket store records them.
CHANNELS = {"socketio": Channel.WEBCHAT, "twilio": Channel.WHATSAPP, "whatsapp": Channel.WHATSAPP}
CHANNELS |= {"facebook": Channel.FACEBOOK, "rest": Channel.API}

# Loaded on a thread of its own when the action server first reads the configuration, so
# that the first citizen to reach a recap finds it ready; a recap waits at most this long.
TRIAGE = BackgroundTriager()
TRIAGE_TIMEOUT_SECONDS = 2.0

_store: Store | None = None
_last_catalog: Catalog | None = None
_store_lock = threading.Lock()


def use_store(opened: Store | None) -> None:
    """Hand the actions their ticket store (the server's app factory does, and tests); None forgets it."""
    global _store, _last_catalog
    with _store_lock:
        _store, _last_catalog = opened, None


def store() -> Store:
    """The ticket store of this action server, and through it the server's settings."""
    with _store_lock:
        if _store is None:
            raise ConfigurationError("the actions were given no ticket store (actions.server.create_app gives it)")
        return _store


async def in_store(work: Callable[[Session], T]) -> T:
    """Run `work` in one unit of work on a worker thread, so the event loop keeps serving."""

    def unit_of_work() -> T:
        with store().sessions.begin() as session:
            return work(session)

    return await asyncio.to_thread(unit_of_work)


async def current_catalog() -> Catalog:
    """The configuration snapshot (projects, places), refreshed as the store's rules say.

    While the store is unreachable the last snapshot serves, so that a citizen can go on
    answering questions; only the submission waits for the store to come back.
    """
    global _last_catalog
    try:
        _last_catalog = await in_store(catalog)
    except STORE_UNAVAILABLE:
        if _last_catalog is None:
            raise
        logger.warning("the ticket store is unreachable; using the configuration read before")
    _start_triage(_last_catalog)
    return _last_catalog


def _start_triage(config: Catalog) -> None:
    """Load triage for this category tree; nothing to do when it is loaded already, a changed tree is loaded anew."""
    TRIAGE.start(labels_from_catalog(config), _officer_examples, store().settings.models)


def _officer_examples() -> list[Example]:
    with store().sessions() as session:
        return officer_examples(session)


def warm_up_triage() -> None:
    """Begin loading triage as the action server starts, not when the first citizen arrives.

    Runs on a thread: an unreachable store only postpones the load to the first catalog read.
    """

    def load() -> None:
        try:
            with store().sessions() as session:
                config = catalog(session)
            _start_triage(config)
        except STORE_UNAVAILABLE:
            logger.warning("the ticket store is unreachable; triage loads once it answers")
        finally:
            _WARMED_UP.set()

    threading.Thread(target=load, name="triage-warm-up", daemon=True).start()


# Set once the warm-up has begun loading triage (or found the store unreachable).
_WARMED_UP = threading.Event()


def triage_ready() -> bool:
    """Whether this action server would triage a recap without waiting for triage to load:
    what its /ready tells the launcher and a load balancer, so that no citizen arriving just
    after a restart waits for the load (about 15 s of CPU)."""
    return _WARMED_UP.is_set() and TRIAGE.ready


# More active projects than this are not offered as buttons: the district is asked first.
MAX_PROJECT_BUTTONS = 10
# project_code when the citizen does not know the project: the case goes by its place.
UNKNOWN_PROJECT = "?"


def known_project(tracker: Tracker) -> str | None:
    """The project the conversation is about; None when none was named or the citizen did not know it."""
    code = tracker.get_slot("project_code")
    return None if not code or code == UNKNOWN_PROJECT else str(code)


def project_answer(validate: SlotCheck) -> SlotCheck:
    """Take the answers to "which project?" that name none: "I don't know" (the case will go
    by its place) and, among many projects, a district (its projects are offered next) or
    "another district". Wraps a form's `validate_project_code`."""

    @functools.wraps(validate)
    async def checked(
        self: Any, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        intent = latest_intent(tracker)
        if intent == "skip":
            dispatcher.utter_message(response="utter_project_unknown")
            return {"project_code": UNKNOWN_PROJECT, "project_name": None}
        config = await current_catalog()
        if sum(p.active for p in config.projects.values()) > MAX_PROJECT_BUTTONS:
            if intent == "deny" and tracker.get_slot("district"):
                return {"project_code": None, "district": None, "province": None}
            typed = str(value).strip()
            district = config.gazetteer.find_district(typed).place
            if district is not None and not config.find_projects(typed):
                return {"project_code": None, "district": district.id, "province": district.parent_id}
        return await validate(self, value, dispatcher, tracker, domain)

    return checked


async def choose_project(dispatcher: CollectingDispatcher, typed: str) -> tuple[Catalog, ProjectInfo | None]:
    """The one project a citizen's words name; otherwise offer the candidates, or say none matched."""
    config = await current_catalog()
    projects = config.find_projects(typed)
    if len(projects) == 1:
        return config, projects[0]
    if projects:
        buttons = [{"title": p.name, "payload": p.code} for p in projects]
        dispatcher.utter_message(response="utter_project_choose", buttons=buttons)
    else:
        dispatcher.utter_message(response="utter_project_not_found", typed=typed)
    return config, None


def language(tracker: Tracker) -> str:
    """The conversation's language; English for anything else a hand-typed payload put there."""
    return spoken(str(tracker.get_slot("language") or ""))


def channel(tracker: Tracker) -> Channel:
    return CHANNELS.get(tracker.get_latest_input_channel() or "", Channel.API)


def sender_phone(tracker: Tracker) -> str | None:
    """The mobile number a WhatsApp citizen writes from, which Twilio vouched for; else None.

    Only the WhatsApp connector (whose webhook Twilio signs) produces this input channel,
    so a sender id typed into another channel never passes for someone's phone.
    """
    sender = tracker.sender_id or ""
    if tracker.get_latest_input_channel() != "whatsapp" or not sender.startswith("whatsapp:"):
        return None
    try:
        return normalise_mobile(sender.removeprefix("whatsapp:"))
    except InvalidInput:
        return None  # not a mobile number: the citizen is asked for one


async def note_whatsapp_message(phone: str) -> None:
    """Open the citizen's 24-hour WhatsApp window; the store being down only costs a template later."""
    try:
        await in_store(lambda session: heard_on_whatsapp(session, phone, CLOCK.now()))
    except STORE_UNAVAILABLE:
        logger.warning("the ticket store is unreachable; a WhatsApp message was not noted")


def minutes_to_wait(refused: RetryLater, lang: str) -> str:
    """The whole minutes (at least one) a refused citizen waits, in their language's digits."""
    return numeral(max(1, math.ceil(refused.retry_after.total_seconds() / 60)), lang)


def requester(tracker: Tracker) -> str:
    """Who is asking, for the lookup guard: the channel and the conversation's sender."""
    return f"{tracker.get_latest_input_channel() or 'unknown'}:{tracker.sender_id}"


def phrase(domain: DomainDict, name: str, lang: str) -> str:
    """The text of a one-line response in the citizen's language, to be put inside another."""
    variations: list[dict[str, Any]] = domain.get("responses", {}).get(name, [])
    fallback = ""
    for variation in variations:
        conditions = variation.get("condition") or []
        if not conditions:
            fallback = fallback or str(variation.get("text", ""))
        elif all(c.get("name") == "language" and c.get("value") == lang for c in conditions):
            return str(variation.get("text", ""))
    return fallback


def numeral(value: int, lang: str) -> str:
    """A number put into a response, in the digits of the citizen's language."""
    return devanagari_digits(value) if lang == "ne" else str(value)


def has_response(domain: DomainDict, name: str) -> bool:
    return name in domain.get("responses", {})


SlotCheck = Callable[..., Awaitable[dict[str, Any]]]
ActionRun = Callable[..., Awaitable[list[EventType]]]


def words_only(validate: SlotCheck) -> SlotCheck:
    """Refuse a "/intent{...}" message as the answer to a question that wants the citizen's words.

    Such a message is a button's payload or typed by hand: it may answer a yes/no question
    through its intent, but its text is never a name, a phone number or a place. The
    question is simply asked again. Wraps a `validate_<slot>` method of a form validator.
    """
    slot = validate.__name__.removeprefix("validate_")

    @functools.wraps(validate)
    async def checked(self: Any, value: Any, *rest: Any) -> dict[str, Any]:
        if isinstance(value, str) and value.lstrip().startswith("/"):
            return {slot: None}
        return await validate(self, value, *rest)

    return checked


def latest_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "").strip()


def latest_intent(tracker: Tracker) -> str:
    return str((tracker.latest_message.get("intent") or {}).get("name") or "")


# --- what a citizen proved in this conversation ---
# Rasa keeps slots in the tracker it sends with every call; a slot is only a claim. What the
# citizen proved (the case their reference and phone opened, the case they filed) is kept
# sealed to the conversation, so a tracker made up elsewhere, or a seal copied from another
# conversation, proves nothing.
_PROOF_PURPOSE = "conversation-proof"
_SEAL_MARK = "~"


def seal(tracker: Tracker, value: str) -> str:
    """A signature of `value` that holds in this conversation only."""
    store()  # opening the store installs the keys
    digest = keyring().digest(_PROOF_PURPOSE, f"{tracker.sender_id}\n{value}")[:18]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def sealed(tracker: Tracker, value: str) -> str:
    """`value` sealed to this conversation, to be kept in a slot."""
    return f"{value}{_SEAL_MARK}{seal(tracker, value)}"


def unsealed(tracker: Tracker, slot: str) -> str | None:
    """The value `sealed` put in `slot` for this conversation; None if absent or not sealed here."""
    kept = tracker.get_slot(slot)
    if not isinstance(kept, str):
        return None
    value, _, signature = kept.rpartition(_SEAL_MARK)
    if value and hmac.compare_digest(signature, seal(tracker, value)):
        return value
    return None


def proven_case(tracker: Tracker) -> int | None:
    """The id of the case this conversation has proven to be the citizen's, if any."""
    value = unsealed(tracker, "verified_grievance")
    return int(value) if value is not None and value.isdigit() else None


MAX_NAME_CHARS = 120


def person_name(text: str) -> str | None:
    """A name as typed, with its spaces tidied; None when it has no letter or is too long."""
    name = " ".join(text.split())
    return name if name and len(name) <= MAX_NAME_CHARS and any(c.isalpha() for c in name) else None


@functools.cache
def words_of(*intents: str) -> frozenset[str]:
    """Every word of these intents' training examples, as plain_words writes it (read once)."""
    found: set[str] = set()
    for path in sorted((PROJECT_ROOT / "data" / "nlu").rglob("*.yml")):
        for item in yaml.safe_load(path.read_text("utf-8")).get("nlu") or []:
            if item.get("intent") in intents:
                found.update(plain_words(str(item.get("examples") or "")).split())
    return frozenset(found)
