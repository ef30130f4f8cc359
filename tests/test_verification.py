"""Proving a phone with a one-time code: an unproven number gets no SMS but the code, renames
nobody, and once the code is typed back the case is verified and its receipt goes out once."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from tests.helpers import FakeClock, count, file, make_jobs, outbox_file
from ticketing.cases.verification import (
    Claim,
    NoCode,
    Outcome,
    TooManyCodes,
    check_code,
    send_again,
    send_code,
)
from ticketing.citizen import cases_of
from ticketing.store.case_models import Complainant, Grievance, Notification, PhoneCode
from ticketing.store.db import Store
from ticketing.store.vocabulary import Audience, Channel

PHONE = "+9779841234567"
CHAT = "socketio:visitor-1"


def sent_to(store: Store, phone: str = PHONE) -> list[dict[str, str]]:
    path = outbox_file(store)
    lines = path.read_text().splitlines() if path.exists() else []
    return [message for message in map(json.loads, lines) if message["to"] == phone]


def code_in(message: dict[str, str]) -> str:
    found = re.search(r"\b(\d{6})\b", message["body"])
    assert found, message["body"]
    return found.group(1)


def unproven_filing(store: Store, clock: FakeClock, **changes: object) -> Grievance:
    """A webchat filing, its code sent (as the chat does) and dispatched; the code's SMS is the last."""
    grievance = file(store, clock, phone_verified=False, **changes)
    with store.sessions.begin() as session:
        claim = Claim(str(changes.get("name", "Sunita Tamang")), None)
        send_code(session, clock, PHONE, CHAT, grievance.language, grievance.id, claim)
    return grievance


def test_an_unproven_number_gets_its_code_and_nothing_else_until_it_is_typed_back(
    demo: Store, clock: FakeClock
) -> None:
    jobs = make_jobs(demo, clock)
    grievance = unproven_filing(demo, clock, email="sunita@example.org")
    jobs.plan()
    jobs.dispatch()
    [code_sms] = sent_to(demo)
    assert "10 minutes" in code_sms["body"] and code_sms["channel"] == "sms"
    # The e-mail receipt goes (an address the citizen gave); the number hears only its code.
    assert [m["subject"] for m in sent_to(demo, "sunita@example.org")] == [f"Grievance {grievance.reference} received"]

    with demo.sessions.begin() as session:
        checked = check_code(session, clock, CHAT, code_in(code_sms))
    assert (checked.outcome, checked.phone) == (Outcome.CONFIRMED, PHONE)
    jobs.plan()
    jobs.dispatch()
    receipt = sent_to(demo)[1]
    assert receipt["subject"] == f"Grievance {grievance.reference} received"
    assert "/chat" in receipt["body"]
    with demo.sessions() as session:
        assert session.get_one(Grievance, grievance.id).phone_verified
    # The planner came first here; the receipt is queued once all the same.
    assert count(demo, Notification, template="received", audience=Audience.CITIZEN) == 2  # SMS and e-mail
    with demo.sessions.begin() as session:
        assert check_code(session, clock, CHAT, code_in(code_sms)).outcome is Outcome.NONE


def test_a_number_proven_before_the_planner_runs_gets_one_receipt(demo: Store, clock: FakeClock) -> None:
    jobs = make_jobs(demo, clock)
    unproven_filing(demo, clock)
    jobs.dispatch()
    with demo.sessions.begin() as session:
        check_code(session, clock, CHAT, code_in(sent_to(demo)[0]))
    jobs.plan()
    jobs.dispatch()
    assert [m["subject"].split()[-1] for m in sent_to(demo)] == ["code", "received"]


def test_a_whatsapp_filing_from_the_number_itself_gets_its_receipt_on_whatsapp(demo: Store, clock: FakeClock) -> None:
    jobs = make_jobs(demo, clock)
    grievance = file(demo, clock, channel=Channel.WHATSAPP, phone_verified=True, language="ne")
    jobs.plan()
    jobs.dispatch()
    [receipt] = sent_to(demo, f"whatsapp:{PHONE}") or sent_to(demo)
    assert receipt["channel"] == "whatsapp"
    assert receipt["subject"] == f"गुनासो {grievance.reference} दर्ता भयो"


def test_an_unproven_filing_renames_nobody_until_its_number_is_proven(demo: Store, clock: FakeClock) -> None:
    owner = file(demo, clock, name="Sunita Tamang", email="sunita@example.org")
    impostor = unproven_filing(demo, clock, name="Somebody Else", email="else@example.org")
    with demo.sessions() as session:
        kept = session.get_one(Complainant, owner.complainant_id)
        assert impostor.complainant_id == owner.complainant_id
        assert (kept.name, kept.email) == ("Sunita Tamang", "sunita@example.org")
        # The number's owner sees only the cases proven theirs.
        assert [case.reference for case in cases_of(session, "9841234567")] == [owner.reference]
    make_jobs(demo, clock).dispatch()
    with demo.sessions.begin() as session:
        check_code(session, clock, CHAT, code_in(sent_to(demo)[-1]))
    with demo.sessions() as session:
        renamed = session.get_one(Complainant, owner.complainant_id)
        assert renamed.name == "Somebody Else"
        assert [case.reference for case in cases_of(session, PHONE)] == [impostor.reference, owner.reference]


def test_wrong_codes_are_counted_and_end_the_code(demo: Store, clock: FakeClock) -> None:
    unproven_filing(demo, clock)
    make_jobs(demo, clock).dispatch()
    right = code_in(sent_to(demo)[0])
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with demo.sessions.begin() as session:
        assert check_code(session, clock, "socketio:someone-else", right).outcome is Outcome.NONE
        tries = [check_code(session, clock, CHAT, wrong) for _ in range(5)]
        assert [t.tries_left for t in tries] == [4, 3, 2, 1, 0]
        assert tries[-1].outcome is Outcome.SPENT
        assert check_code(session, clock, CHAT, right).outcome is Outcome.SPENT


def test_an_expired_code_is_sent_again_and_only_the_new_one_works(demo: Store, clock: FakeClock) -> None:
    grievance = unproven_filing(demo, clock, language="ne")
    jobs = make_jobs(demo, clock)
    jobs.dispatch()
    first = code_in(sent_to(demo)[0])
    clock.advance(minutes=10)
    with demo.sessions.begin() as session:
        assert check_code(session, clock, CHAT, first).outcome is Outcome.EXPIRED
        assert send_again(session, clock, CHAT) == PHONE
    jobs.dispatch()
    again = sent_to(demo)[1]
    assert again["body"].startswith("तपाईंको गुनासो डेस्कको कोड")
    devanagari = code_in(again).translate(str.maketrans("0123456789", "०१२३४५६७८९"))
    with demo.sessions.begin() as session:
        assert check_code(session, clock, CHAT, first).outcome is Outcome.WRONG  # checked against the new one
        assert check_code(session, clock, CHAT, f"code {devanagari}").outcome is Outcome.CONFIRMED
        assert session.get_one(Grievance, grievance.id).phone_verified
        with pytest.raises(NoCode):
            send_again(session, clock, CHAT)


def test_codes_to_one_number_and_from_one_conversation_are_limited(demo: Store, clock: FakeClock) -> None:
    with demo.sessions.begin() as session:
        for _ in range(3):
            send_code(session, clock, "9841234567", CHAT, "en")
        with pytest.raises(TooManyCodes) as refused:
            send_code(session, clock, "9841234567", "socketio:another-visitor", "en")
        assert refused.value.retry_after.total_seconds() == 3600
        send_code(session, clock, "9851234567", CHAT, "en")
        send_code(session, clock, "9861234567", CHAT, "en")
        with pytest.raises(TooManyCodes):
            send_code(session, clock, "9801234567", CHAT, "en")
    clock.advance(hours=1)
    with demo.sessions.begin() as session:
        send_code(session, clock, "9841234567", CHAT, "en")
        codes = session.scalars(select(Notification.payload).where(Notification.template == "code")).all()
    assert len(codes) == 6


def test_a_code_is_kept_only_as_a_keyed_hash(demo: Store, clock: FakeClock) -> None:
    unproven_filing(demo, clock)
    make_jobs(demo, clock).dispatch()
    code = code_in(sent_to(demo)[0])
    with demo.sessions() as session:
        row = session.scalars(select(PhoneCode)).one()
        assert code not in row.code_digest and CHAT not in row.requester_digest
