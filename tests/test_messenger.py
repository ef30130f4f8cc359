"""Facebook Messenger, against the running Rasa server: Meta's subscription check, events signed
with X-Hub-Signature-256 (and badly signed ones), m.me referrals that bind the project, quick
replies, attachments from a local content host, and replies caught by a stand-in of the Send API."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select

from tests.bot import MESSENGER_APP_SECRET, MESSENGER_VERIFY_TOKEN, Bot, reference_in
from tests.helpers import HETAUDA
from tests.test_nepali import DEVANAGARI
from ticketing.store.case_models import Attachment, Grievance
from ticketing.store.vocabulary import Channel

HOOK = "/webhooks/facebook/webhook"
PAGE_ID = "1029384756"
PNG = b"\x89PNG\r\n\x1a\n a photo of the blocked path"


def sign(body: bytes, secret: str = MESSENGER_APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class MessengerCitizen:
    """One person writing to the project's Facebook page, as Meta relays them."""

    bot: Bot
    psid: str = field(default_factory=lambda: "".join(random.choices("0123456789", k=16)))

    @property
    def url(self) -> str:
        return self.bot.rasa_url + HOOK

    @property
    def sender(self) -> str:
        """The conversation's id in Rasa: Messenger's ids are kept apart from other channels'."""
        return f"facebook:{self.psid}"

    def event(self, **content: Any) -> dict[str, Any]:
        now = int(time.time() * 1000)
        return {"sender": {"id": self.psid}, "recipient": {"id": PAGE_ID}, "timestamp": now, **content}

    def post(self, *events: dict[str, Any], signature: str | None = "valid") -> httpx.Response:
        body = json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "time": 0, "messaging": list(events)}]})
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = sign(body.encode()) if signature == "valid" else signature
        return httpx.post(self.url, content=body, headers=headers, timeout=120)

    def replies(self) -> list[dict[str, Any]]:
        return self.bot.messenger.sent_to(self.psid)

    def send(self, *events: dict[str, Any]) -> list[dict[str, Any]]:
        before = len(self.replies())
        answer = self.post(*events)
        assert answer.status_code == 200, answer.text
        return self.replies()[before:]

    def says(self, text: str) -> str:
        return texts(self.send(self.message(text=text)))

    def message(self, **content: Any) -> dict[str, Any]:
        return self.event(message={"mid": "m_" + secrets.token_hex(16), **content})

    def taps(self, payload: str, title: str) -> str:
        return texts(self.send(self.message(text=title, quick_reply={"payload": payload})))

    def opens_link(self, ref: str, new_thread: bool = True) -> str:
        """Opening m.me/<page>?ref=<ref>: "Get started" in a new thread, a referral in an old one."""
        referral = {"ref": ref, "source": "SHORTLINK", "type": "OPEN_THREAD"}
        if new_thread:
            event = self.event(postback={"title": "Get Started", "payload": "GET_STARTED", "referral": referral})
        else:
            event = self.event(referral=referral)
        return texts(self.send(event))


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(str(r.get("text", "")) for r in replies)


def quick_replies(replies: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(q["title"], q["payload"]) for r in replies for q in r.get("quick_replies") or []]


def user_events(bot: Bot, sender: str) -> list[dict[str, Any]]:
    return [e for e in bot.tracker(sender)["events"] or [] if e["event"] == "user"]


def test_the_subscription_check_answers_only_our_verify_token(bot: Bot) -> None:
    url = bot.rasa_url + HOOK
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    assert httpx.get(url, params=query | {"hub.verify_token": MESSENGER_VERIFY_TOKEN}).text == "1158201444"
    assert httpx.get(url, params=query | {"hub.verify_token": "guess"}).status_code == 403


def test_badly_signed_events_are_refused_and_leave_no_trace(bot: Bot) -> None:
    citizen = MessengerCitizen(bot)
    hello = citizen.message(text="hello")
    assert citizen.post(hello, signature=None).status_code == 403
    assert citizen.post(hello, signature=sign(b"another body")).status_code == 403
    assert citizen.post(hello, signature=sign(b"x", "another secret")[:20]).status_code == 403
    # The old SHA-1 header alone is not accepted.
    body = json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "messaging": [hello]}]}).encode()
    sha1 = "sha1=" + hmac.new(MESSENGER_APP_SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert httpx.post(citizen.url, content=body, headers={"X-Hub-Signature": sha1}).status_code == 403
    assert user_events(bot, citizen.sender) == []
    assert citizen.replies() == []


def test_a_redelivered_event_is_processed_once_and_every_event_of_a_batch_is_read(bot: Bot) -> None:
    citizen, neighbour = MessengerCitizen(bot), MessengerCitizen(bot)
    hello = citizen.message(text="hello")
    batch = [hello, neighbour.message(text="namaste")]
    assert citizen.post(*batch).status_code == 200
    assert citizen.post(*batch).status_code == 200  # Meta's retry
    assert len(user_events(bot, citizen.sender)) == 1 and len(user_events(bot, neighbour.sender)) == 1
    assert "What would you like to do?" in texts(citizen.replies())
    assert "What would you like to do?" in texts(neighbour.replies())


def test_a_link_with_a_project_ref_binds_the_conversation(bot: Bot) -> None:
    citizen = MessengerCitizen(bot)
    assert "Kathmandu-Kulekhani Road Upgrading" in citizen.opens_link("KKR-01")
    # A second poster scanned later, in the same thread, binds the other project.
    assert "Narayani Bridge" in citizen.opens_link("NBR-02", new_thread=False)
    # An unknown or malformed ref is a plain welcome.
    assert "What would you like to do?" in MessengerCitizen(bot).opens_link("no such project!")
    # A Nepali poster's link opens the conversation in Nepali.
    welcome = MessengerCitizen(bot).opens_link("KKR-01.ne")
    assert "Kathmandu-Kulekhani Road Upgrading" in welcome and "गुनासो सहायक" in welcome


def test_a_whole_grievance_over_messenger_with_quick_replies_and_a_photo(bot: Bot) -> None:
    citizen = MessengerCitizen(bot)
    menu = citizen.opens_link("KKR-01")
    # "Answer about a resolution" is longer than a quick reply's title: the menu is numbered.
    assert "1. File a grievance" in menu
    assert "in your own words" in citizen.says("1")
    asked = citizen.send(citizen.message(text="Workers blocked the footpath to the health post with gravel."))
    assert ("That's all", "/done_adding") in quick_replies(asked)
    photo = {"type": "image", "payload": {"url": bot.messenger.file_url(PNG)}}
    assert "photo-1.png" in texts(citizen.send(citizen.message(attachments=[photo])))
    assert "name" in citizen.taps("/done_adding", "That's all").lower()
    assert "mobile" in citizen.says("Dipak Khadka").lower()
    assert "municipality" in citizen.says("9861234567").lower()
    assert "ward" in citizen.says("Hetauda").lower()
    assert "email" in citizen.says("7").lower()
    recap = citizen.send(citizen.message(text="Skip", quick_reply={"payload": "/skip"}))
    assert "photo-1.png" in texts(recap) and ("Yes, send it", "/affirm") in quick_replies(recap)
    reference = reference_in(citizen.taps("/affirm", "Yes, send it"))

    with bot.store.sessions() as session:
        filed = session.scalar(select(Grievance).where(Grievance.reference == reference))
        assert filed is not None
        assert (filed.channel, filed.municipality_id, filed.ward) == (Channel.FACEBOOK, HETAUDA, 7)
        names = session.scalars(select(Attachment.filename).where(Attachment.grievance_id == filed.id)).all()
        assert names == ["photo-1.png"]


def test_a_citizen_writing_romanised_nepali_is_answered_in_nepali(bot: Bot) -> None:
    citizen = MessengerCitizen(bot)
    answer = citizen.says("namaste hajur, mero ujuri dinu cha")
    assert DEVANAGARI.search(answer), answer
    assert "गुनासो" in answer
