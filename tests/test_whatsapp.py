"""WhatsApp through Twilio, against the running Rasa server: webhook calls signed with Twilio's
own algorithm (and forged, unsigned and redelivered ones), media fetched from a local stand-in
of Twilio's media store, shared places, and replies caught by a stand-in of Twilio's Messages
API that the real `twilio` client inside Rasa talks to."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot.deeplinks import prefilled_message
from tests.bot import WHATSAPP_NUMBER, Bot, new_phone, reference_in
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN
from tests.helpers import HETAUDA, MAKWANPUR
from tests.test_conversation_nepali import ANSWERS, in_language, story_in, understood
from tests.test_nepali import DEVANAGARI
from ticketing.cases.attachments import MAX_BYTES
from ticketing.store.case_models import Attachment, Complainant, Grievance
from ticketing.store.vocabulary import Channel

HOOK = "/webhooks/whatsapp/webhook"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF dust on the maize leaves"
OGG = b"OggS\x00\x02 a voice note"
PROGRAM = b"MZ\x90\x00\x03 not a photo at all"
WHATSAPP_TEXT_LIMIT = 1600


@dataclass
class WhatsAppCitizen:
    """One person writing to the project's WhatsApp number, as Twilio relays them."""

    bot: Bot
    phone: str = field(default_factory=new_phone)

    @property
    def address(self) -> str:
        return f"whatsapp:{self.phone}"

    @property
    def url(self) -> str:
        return self.bot.rasa_url + HOOK

    def fields(self, body: str = "", **extra: str) -> dict[str, str]:
        """A webhook form as Twilio posts it for an incoming WhatsApp message."""
        sid = "SM" + secrets.token_hex(16)
        return {
            "SmsMessageSid": sid,
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": self.address,
            "To": f"whatsapp:{WHATSAPP_NUMBER}",
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "ProfileName": "Maya",
            "WaId": self.phone.lstrip("+"),
            "SmsStatus": "received",
            "MessageType": "text",
            "ApiVersion": "2010-04-01",
        } | extra

    def post(self, form: dict[str, str], token: str | None = AUTH_TOKEN) -> httpx.Response:
        """Post the form, signed with `token` as Twilio signs (None: unsigned)."""
        headers = (
            {} if token is None else {"X-Twilio-Signature": RequestValidator(token).compute_signature(self.url, form)}
        )
        return httpx.post(self.url, data=form, headers=headers, timeout=120)

    def replies(self) -> list[str]:
        return self.bot.twilio.sent_to(self.address)

    def send(self, form: dict[str, str]) -> str:
        """Send one message; returns what the bot replied to it, as one text."""
        before = len(self.replies())
        answer = self.post(form)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/xml") and "<Response" in answer.text
        return "\n".join(self.replies()[before:])

    def says(self, text: str) -> str:
        return self.send(self.fields(text))

    def sends_media(self, *files: tuple[bytes, str], body: str = "", late: bool = False) -> str:
        media: dict[str, str] = {"NumMedia": str(len(files)), "MessageType": "image"}
        for number, (content, content_type) in enumerate(files):
            media[f"MediaUrl{number}"] = self.bot.twilio.media_url(content, content_type, late=late)
            media[f"MediaContentType{number}"] = content_type
        return self.send(self.fields(body, **media))

    def shares_place(self, latitude: str, longitude: str, **named: str) -> str:
        return self.send(self.fields("", Latitude=latitude, Longitude=longitude, MessageType="location", **named))

    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.bot.tracker(self.address)["events"] or []
        return events


def user_events(citizen: WhatsAppCitizen) -> list[dict[str, Any]]:
    return [e for e in citizen.events() if e["event"] == "user"]


def test_forged_and_unsigned_calls_are_refused_and_leave_no_trace(bot: Bot) -> None:
    citizen = WhatsAppCitizen(bot)
    form = citizen.fields("hello")
    assert citizen.post(form, token=None).status_code == 403
    assert citizen.post(form, token="not-the-auth-token").status_code == 403
    # A genuine signature over other fields (the body changed on the way) is no signature.
    signature = RequestValidator(AUTH_TOKEN).compute_signature(citizen.url, form)
    tampered = httpx.post(citizen.url, data=form | {"Body": "hello!"}, headers={"X-Twilio-Signature": signature})
    assert tampered.status_code == 403
    assert user_events(citizen) == []
    assert citizen.replies() == []


def test_a_redelivered_message_is_processed_once(bot: Bot) -> None:
    citizen = WhatsAppCitizen(bot)
    form = citizen.fields("hello")
    first = citizen.send(form)
    assert "What would you like to do?" in first
    assert citizen.send(form) == ""  # Twilio's retry: acknowledged, not answered again
    assert [e["message_id"] for e in user_events(citizen)] == [form["MessageSid"]]


def test_no_other_channel_can_write_into_a_whatsapp_conversation(bot: Bot) -> None:
    citizen = WhatsAppCitizen(bot)
    citizen.says("hello")
    citizen.says("1")  # filing has begun: the next reply would show what the citizen typed
    # The REST channel (public, like every webhook) lets its client name the conversation.
    posted = httpx.post(
        f"{bot.rasa_url}/webhooks/rest/webhook", json={"sender": citizen.address, "message": "hello"}, timeout=60
    )
    assert posted.status_code == 200 and posted.json() == []
    assert len(user_events(citizen)) == 2


def test_buttons_are_numbered_and_a_number_chooses(bot: Bot) -> None:
    citizen = WhatsAppCitizen(bot)
    menu = citizen.says("hello")
    assert "1. File a grievance" in menu and "2. Check a grievance" in menu
    assert "Reply with the number" in menu
    assert "Which project" in citizen.says("1")  # "File a grievance", without a project link
    assert "in your own words" in citizen.says("KKR-01")
    # A number where no choice was offered is the citizen's own words.
    assert "add anything" in citizen.says("2 trucks broke the water pipe of our village in the night")


def test_a_whole_grievance_over_whatsapp_from_the_project_link(bot: Bot) -> None:
    citizen = WhatsAppCitizen(bot)
    # What the wa.me link of the project's poster writes for the citizen.
    welcome = citizen.says("Namaste! I am writing about project KKR-01.")
    assert "Kathmandu-Kulekhani Road Upgrading" in welcome
    assert "in your own words" in citizen.says("1")
    story = "Trucks of the road contractor leave mud and dust on the road next to our school. " * 20
    assert "add anything" in citizen.says(story.strip())
    # A photo, and a voice note that Twilio has not finished storing (404 first, then found).
    kept = citizen.sends_media((JPEG, "image/jpeg"), (OGG, "audio/ogg"), late=True)
    assert "photo-1.jpg" in kept and "voice-note-2.ogg" in kept
    assert "name" in citizen.says("That's all").lower()
    asked = citizen.says("Maya Gurung")
    # The number is known from WhatsApp: confirmed with one tap, not typed.
    assert citizen.phone in asked and "1. Yes, use" in asked
    asked = citizen.says("1")
    assert "Makwanpur" in asked and "municipality" in asked
    # The place shared from WhatsApp names the municipality: only the ward is left.
    noted = citizen.shares_place("27.42890", "85.03210", Address="Hetauda, Makwanpur, Bagmati", Label="Our school")
    assert "27.42890, 85.03210" in noted and "Hetauda" in noted and "ward" in noted.lower()
    assert "email" in citizen.says("4").lower()
    recap_and_question = citizen.says("1")  # "Skip"
    assert citizen.phone in recap_and_question and "photo-1.jpg" in recap_and_question
    assert "1. Yes, send it" in recap_and_question
    reference = reference_in(citizen.says("1"))

    # The long recap came as several messages, none over Twilio's limit.
    assert all(len(body) <= WHATSAPP_TEXT_LIMIT for body in citizen.replies())
    assert bot.twilio.cdn_saw_credentials and not any(bot.twilio.cdn_saw_credentials)
    with bot.store.sessions() as session:
        filed = session.scalar(select(Grievance).where(Grievance.reference == reference))
        assert filed is not None
        assert (filed.channel, filed.district_id, filed.municipality_id, filed.ward) == (
            Channel.WHATSAPP,
            MAKWANPUR,
            HETAUDA,
            4,
        )
        assert (filed.latitude, filed.longitude) == (27.4289, 85.0321)
        complainant = session.get(Complainant, filed.complainant_id)
        assert complainant is not None and complainant.phone == citizen.phone
        window_opened = complainant.whatsapp_inbound_at
        assert window_opened is not None  # the 24-hour window for free-form messages is open
        files = session.scalars(select(Attachment).where(Attachment.grievance_id == filed.id)).all()
        assert sorted((f.filename, f.mime_type, f.size_bytes) for f in files) == [
            ("photo-1.jpg", "image/jpeg", len(JPEG)),
            ("voice-note-2.ogg", "audio/ogg", len(OGG)),
        ]

    # Checking it later needs the reference only: the phone is the one writing.
    assert "reference" in citizen.says("2").lower()  # "Check a grievance", offered after filing
    status = citizen.says(reference)
    assert reference in status and "mobile number you gave" not in status
    # Writing again on WhatsApp keeps the window open from the latest message.
    with bot.store.sessions() as session:
        again = session.get(Complainant, filed.complainant_id)
        assert again is not None and again.whatsapp_inbound_at is not None
        assert again.whatsapp_inbound_at > window_opened


def test_a_refused_file_gets_a_clear_answer(bot: Bot) -> None:
    citizen = WhatsAppCitizen(bot)
    citizen.says("hello")
    refused = citizen.sends_media((PROGRAM, "application/octet-stream"))
    assert "cannot keep this file" in refused and "photos, PDF documents, voice notes" in refused
    too_big = b"\xff\xd8\xff" + b"0" * MAX_BYTES
    assert "limited to 16 MB" in citizen.sends_media((too_big, "image/jpeg"))


def test_a_file_on_another_host_is_not_fetched(bot: Bot) -> None:
    citizen = WhatsAppCitizen(bot)
    citizen.says("hello")
    other = bot.messenger.file_url(JPEG)  # a real file, but not where Twilio keeps them
    form = citizen.fields("", NumMedia="1", MediaUrl0=other, MediaContentType0="image/jpeg")
    assert "did not receive that file" in citizen.send(form)


def test_a_place_shared_outside_a_form_is_kept_for_the_grievance(bot: Bot) -> None:
    citizen = WhatsAppCitizen(bot)
    citizen.says("hello")
    assert "27.70000, 85.30000" in citizen.shares_place("27.7", "85.3")
    assert "could not read that place" in citizen.shares_place("127.7", "85.3")


def test_a_citizen_writing_nepali_is_answered_in_nepali_and_a_devanagari_number_chooses(bot: Bot) -> None:
    citizen = WhatsAppCitizen(bot)
    menu = citizen.says("नमस्ते")  # no link, no language given: the first words decide
    assert "1. गुनासो दर्ता गर्ने" in menu and "नम्बर लेखेर पठाउनुहोस्" in menu
    assert "कुन आयोजना" in citizen.says("१")  # "File a grievance", chosen by a Devanagari digit


OPENINGS = {
    "en": ("Namaste! I am writing about project KKR-01.", "That's all", "Maya Gurung"),
    "ne": ("नमस्ते! म आयोजना KKR-01 बारे लेख्दैछु।", "यति नै हो", "माया गुरुङ"),
    "rom": ("namaste! ma aayojana KKR-01 ko barema lekhdai chu", "yati nai ho", "Maya Gurung"),
}


@pytest.mark.parametrize(("answer", "language", "yes"), ANSWERS)
def test_the_number_written_from_is_confirmed_or_replaced_with_yes_or_no(
    bot: Bot, answer: str, language: str, yes: bool
) -> None:
    citizen = WhatsAppCitizen(bot)
    script = "ne" if DEVANAGARI.search(answer) else "rom" if language == "ne" else "en"
    opening, done, name = OPENINGS[script]
    citizen.says(opening)
    citizen.says("1")
    citizen.says(story_in(answer))
    citizen.says(done)
    asked = citizen.says(name)
    assert citizen.phone in asked and in_language("utter_ask_phone_known", language).split("{")[0] in asked
    reply = citizen.says(answer)
    assert understood(reply)
    if yes:
        assert in_language("utter_ask_municipality_project", language) in reply
    else:
        assert in_language("utter_ask_phone", language) in reply and citizen.phone not in reply
        assert in_language("utter_ask_municipality_project", language) in citizen.says("9841234599")


def test_the_nepali_posters_link_opens_the_conversation_in_nepali(bot: Bot) -> None:
    citizen = WhatsAppCitizen(bot)
    welcome = citizen.says(prefilled_message("KKR-01", "ne"))  # only "send" pressed
    assert "Kathmandu-Kulekhani Road Upgrading" in welcome and in_language("utter_welcome_project", "ne") in welcome
    assert user_events(citizen)[0]["text"] == "/greet"
