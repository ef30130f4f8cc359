"""The bot's doors, tried as an attacker would: the action server, Rasa's API, the unsigned
channels, message sizes, and what the tracker store keeps of a citizen's words."""

from __future__ import annotations

import sqlite3
import statistics
import threading
import time
from typing import Any

import httpx
import pytest
import yaml

from tests.bot import RASA_API_TOKEN, Bot, Citizen, reference_in
from tests.test_conversation import JPEG, QR, attachment_names, file_by_chat, grievance, resolve_as_officer, send_file
from ticketing.config import ACTIONS_TOKEN, PROJECT_ROOT
from ticketing.lifecycle import Status

DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
ACTIONS = [*DOMAIN["actions"], *(f"validate_{form}" for form in DOMAIN["forms"])]


def action_call(
    bot: Bot, action: str, slots: dict[str, Any], sender: str, token: str | None, **metadata: Any
) -> httpx.Response:
    """A call to the action server in the shape Rasa sends, made up by whoever posts it."""
    latest = {"text": "yes", "intent": {"name": "affirm", "confidence": 1.0}, "entities": [], "metadata": metadata}
    tracker = {
        "sender_id": sender,
        "slots": slots,
        "latest_message": latest,
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
        "latest_input_channel": "rest",
    }
    body = {"next_action": action, "sender_id": sender, "tracker": tracker, "domain": DOMAIN, "version": "3.6.21"}
    headers = {"Authorization": f"Bearer {token}".strip()} if token is not None else {}
    return httpx.post(f"http://127.0.0.1:{bot.network.actions_port}/webhook", json=body, headers=headers, timeout=60)


def actions_token(bot: Bot) -> str:
    return ACTIONS_TOKEN.value(bot.store.settings.var_dir, {})


def resolved_case(bot: Bot, phone: str) -> tuple[Citizen, str]:
    citizen = bot.citizen(**QR)
    reference = file_by_chat(citizen, phone=phone)
    resolve_as_officer(bot, reference, "The contractor paid for the broken wall.")
    return citizen, reference


@pytest.mark.parametrize("token", [None, "not-the-secret", ""])
def test_the_action_server_answers_rasa_alone(bot: Bot, token: str | None) -> None:
    _, reference = resolved_case(bot, "9841000101")
    case_id = grievance(bot, reference).id
    for action in ACTIONS:
        slots = {"verified_grievance": case_id, "satisfied": True, "filed_reference": reference}
        refused = action_call(bot, action, slots, "attacker-0001", token)
        assert refused.status_code == 401, action
        assert reference not in refused.text and "broken wall" not in refused.text
    assert grievance(bot, reference).status is Status.RESOLVED
    assert httpx.get(f"http://127.0.0.1:{bot.network.actions_port}/actions", timeout=30).status_code == 401
    # Whether to send it work is all the open doors tell (the launcher waited for "ready").
    ready = httpx.get(f"http://127.0.0.1:{bot.network.actions_port}/ready", timeout=30)
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_a_slot_proves_nothing_the_conversation_did_not_prove(bot: Bot) -> None:
    """Even with Rasa's secret, a tracker that claims a case (by its id, or with another
    conversation's proof) reads, answers and attaches to nothing."""
    owner, reference = resolved_case(bot, "9841000102")
    case_id = grievance(bot, reference).id
    owner.says("/respond_resolution")
    owner.says(reference)
    owner.says("9841000102")
    proof = owner.slot("verified_grievance")
    assert proof and str(case_id) in proof
    token = actions_token(bot)
    for claimed in (case_id, str(case_id), proof):
        asked = action_call(bot, "action_ask_satisfied", {"verified_grievance": claimed}, "attacker-0002", token)
        assert asked.status_code == 200
        assert reference not in asked.text and "broken wall" not in asked.text
        assert [r["response"] for r in asked.json()["responses"]] == ["utter_link_invalid"]
        answered = action_call(
            bot, "action_record_answer", {"verified_grievance": claimed, "satisfied": False}, "attacker-0002", token
        )
        assert answered.status_code == 200 and reference not in answered.text
    assert grievance(bot, reference).status is Status.RESOLVED
    # A file the attacker holds does not join a case by naming its reference.
    attacker = bot.citizen()
    attacker.sender = "attacker-0003"
    upload = send_file(bot, attacker, "x.jpg", JPEG)
    for filed in (reference, owner.slot("filed_reference")):
        slots = {"filed_reference": filed}
        attached = action_call(bot, "action_take_attachment", slots, attacker.sender, token, attachment=upload)
        assert attached.status_code == 200 and reference not in attached.text
    assert attachment_names(bot, reference) == []


def test_rasas_api_needs_its_token(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    citizen.say("/greet")
    url = f"{bot.rasa_url}/conversations/{citizen.sender}/tracker"
    assert httpx.get(url, timeout=30).status_code == 401
    assert httpx.get(url, params={"token": "guess"}, timeout=30).status_code == 401
    assert httpx.get(url, params={"token": RASA_API_TOKEN}, timeout=30).status_code == 200
    # Nor can a caller without it replace the model or write into a conversation.
    assert httpx.put(f"{bot.rasa_url}/model", json={}, timeout=30).status_code == 401
    events = f"{bot.rasa_url}/conversations/{citizen.sender}/tracker/events"
    assert httpx.post(events, json={"event": "slot", "name": "language", "value": "ne"}, timeout=30).status_code == 401


def test_a_rest_client_cannot_pass_for_whatsapp_or_hand_over_files(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    citizen.say("/greet")
    media = bot.twilio.media_url(JPEG, "image/jpeg")
    before = list(bot.twilio.fetched)
    answer = httpx.post(
        f"{bot.rasa_url}/webhooks/rest/webhook",
        json={
            "sender": citizen.sender,
            "message": "/attach",
            "input_channel": "whatsapp",
            "metadata": {"media": [{"url": media, "content_type": "image/jpeg"}], "location": {"latitude": 27}},
        },
        timeout=60,
    )
    answer.raise_for_status()
    assert bot.twilio.fetched == before  # nothing was fetched with the account's credentials
    user = [e for e in citizen.tracker()["events"] if e["event"] == "user"][-1]
    assert user["input_channel"] == "rest" and "media" not in (user.get("metadata") or {})


def test_a_message_too_long_is_answered_kindly_and_the_form_goes_on(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    citizen.says("/file_grievance")
    reply = citizen.says("dust " * 1000)
    assert "too long" in reply and "shorter parts" in reply
    assert "dust dust" not in str(citizen.tracker()["events"])  # the long text is kept nowhere
    # The form asks its question again and takes the story in parts.
    citizen.says("Trucks leave mud and dust all over the road next to our school in ward 4.")
    assert str(citizen.slot("details")).startswith("Trucks leave mud")


def test_oversized_and_pathological_messages_do_not_slow_anyone_else(bot: Bot) -> None:
    """The issue's attack: 1 MB messages and an e-mail answer that made the old regex
    backtrack for seconds, sent while ten other citizens chat."""

    def exchange(citizen: Citizen) -> float:
        started = time.monotonic()
        citizen.say("/menu")
        return time.monotonic() - started

    others = [bot.citizen(**QR) for _ in range(10)]
    for citizen in others:
        citizen.say("/greet")
    calm = [exchange(citizen) for citizen in others]

    attacks = ["x" * 1_000_000, "x@" + "a." * 30000 + "@", "x@" + "a." * 1990 + "@"]
    attacker = bot.citizen(**QR)
    attacker.says("/file_grievance")
    answered: list[float] = []

    def attack() -> None:
        for text in attacks:
            started = time.monotonic()
            reply = httpx.post(
                f"{bot.rasa_url}/webhooks/rest/webhook", json={"sender": attacker.sender, "message": text}, timeout=60
            )
            assert reply.status_code in (200, 413)
            answered.append(time.monotonic() - started)

    during: list[float] = []
    attacking = threading.Thread(target=attack)
    attacking.start()
    for citizen in others:
        during.append(exchange(citizen))
    attacking.join()
    assert max(answered) < 1.0, answered
    assert max(during) < max(1.0, 3 * statistics.median(calm)), (calm, during)


def test_the_tracker_store_forgets_the_citizens_words_once_filed(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    reference = file_by_chat(citizen, phone="9841000103")
    path = bot.store.settings.var_dir / "conversations.sqlite3"
    with sqlite3.connect(path) as connection:
        stored = " ".join(
            row[0] for row in connection.execute("SELECT data FROM events WHERE sender_id = ?", (citizen.sender,))
        )
    for personal in ("Maya Gurung", "9841000103", "Trucks leave mud", "+9779841000103"):
        assert personal not in stored
    # The conversation goes on as before: a file sent now joins the grievance just filed.
    token = send_file(bot, citizen, "wall.jpg", JPEG)
    assert reference in citizen.says("/attach", attachment=token)
    assert attachment_names(bot, reference) == ["wall.jpg"]
    citizen.says("/check_status")
    citizen.says(reference)
    assert reference_in(citizen.says("9841000103")) == reference
