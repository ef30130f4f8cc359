"""A contractor's "close as invalid" waits for a level-2 officer (issue 18, point 10); the
citizen is told why a case was closed as invalid and that it may be reopened."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.helpers import FakeClock, client_for, csrf_token, file, make_jobs, officer_by_email, outbox_file, sign_in
from ticketing.cases.moves import assign, close_invalid
from ticketing.cases.records import Actor
from ticketing.cases.reviews import decide_invalid, propose_invalid
from ticketing.errors import InvalidInput
from ticketing.lifecycle import Status
from ticketing.store.case_models import Grievance, Note, Notification
from ticketing.store.db import Store
from ticketing.store.models import Officer
from ticketing.store.vocabulary import CloseReason

CONTRACTOR = "contractor.kkr@grm.example"
PIU = "piu.kkr@grm.example"  # level 2 of KKR-01
SITE = "site.kkr@grm.example"  # level 1


def sms_saying(store: Store, clock: FakeClock, word: str) -> dict[str, str]:
    """The one SMS sent, once the outbox has run, whose body holds `word`."""
    jobs = make_jobs(store, clock)
    jobs.plan()
    jobs.dispatch()
    sent: list[dict[str, str]] = [json.loads(line) for line in outbox_file(store).read_text().splitlines()]
    [told] = [message for message in sent if message["channel"] == "sms" and word in message["body"]]
    return told


def actor(store: Store, email: str) -> Actor:
    return Actor.officer(officer_by_email(store, email))


def test_a_contractor_proposes_and_a_level_2_officer_closes(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    contractor = actor(demo, CONTRACTOR)
    with pytest.raises(InvalidInput, match="proposes"), demo.sessions.begin() as session:
        close_invalid(session, clock, case.id, contractor, "Not about our works.")
    with demo.sessions.begin() as session:
        proposed = propose_invalid(session, clock, case.id, contractor, "The dust comes from the quarry, not our road.")
        assert proposed.status is Status.NEW and proposed.invalid_proposal is not None
    with pytest.raises(InvalidInput, match="already proposed"), demo.sessions.begin() as session:
        propose_invalid(session, clock, case.id, contractor, "Again.")
    make_jobs(demo, clock).plan()
    with demo.sessions() as session:
        reviewers = session.scalars(
            select(Officer.email)
            .join(Notification, Notification.officer_id == Officer.id)
            .where(Notification.template == "invalid_proposed", Notification.for_action)
        ).all()
    assert set(reviewers) == {PIU}
    # Neither the contractor nor a level-1 officer decides.
    for undecided in (CONTRACTOR, SITE):
        with pytest.raises(InvalidInput, match="level 2"), demo.sessions.begin() as session:
            decide_invalid(session, clock, case.id, actor(demo, undecided), True)
    clock.advance(hours=2)
    with demo.sessions.begin() as session:
        closed = decide_invalid(session, clock, case.id, actor(demo, PIU), True)
        assert (closed.status, closed.close_reason, closed.invalid_proposal) == (
            Status.CLOSED,
            CloseReason.INVALID,
            None,
        )

    told = sms_saying(demo, clock, "closed")
    assert "The dust comes from the quarry, not our road." in told["body"]
    assert 'you can reopen it within 30 days: write "reopen" in our chat' in told["body"]


def test_a_rejected_proposal_leaves_the_case_open_with_the_reason(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    with demo.sessions.begin() as session:
        propose_invalid(session, clock, case.id, actor(demo, CONTRACTOR), "Not our works.")
    with pytest.raises(InvalidInput, match="reason"), demo.sessions.begin() as session:
        decide_invalid(session, clock, case.id, actor(demo, "manager.kkr@grm.example"), False, " ")
    with demo.sessions.begin() as session:
        going = decide_invalid(session, clock, case.id, actor(demo, "manager.kkr@grm.example"), False, "Trucks pass.")
        assert going.status is Status.NEW and going.invalid_proposal is None
        notes = session.scalars(select(Note.body).where(Note.grievance_id == case.id)).all()
    assert notes == ["Closing as invalid rejected: Trucks pass."]
    with pytest.raises(InvalidInput, match="nobody proposed"), demo.sessions.begin() as session:
        decide_invalid(session, clock, case.id, actor(demo, PIU), True)


def test_the_case_page_offers_each_their_part(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    with demo.sessions.begin() as session:  # a contractor sees the cases handed to it
        assign(session, clock, case.id, actor(demo, "manager.kkr@grm.example"), officer_by_email(demo, CONTRACTOR))
    page = f"/admin/grievance/case/{case.id}"
    contractor = client_for(demo)
    assert sign_in(contractor, CONTRACTOR) == 302
    shown = contractor.get(page).get_data(as_text=True)
    assert 'data-testid="move-propose_invalid"' in shown and 'data-testid="move-close_invalid"' not in shown
    form = {"csrf_token": csrf_token(contractor, page), "text": "A private dispute between neighbours."}
    assert contractor.post(f"{page}/propose_invalid", data=form).status_code == 302
    shown = contractor.get(page).get_data(as_text=True)
    assert "A private dispute between neighbours." in shown and 'data-testid="move-propose_invalid"' not in shown

    director = client_for(demo)
    assert sign_in(director, "director@grm.example") == 302
    shown = director.get(page).get_data(as_text=True)
    assert 'data-testid="move-approve_invalid"' in shown and 'data-testid="move-reject_invalid"' in shown
    assert director.post(f"{page}/approve_invalid", data={"csrf_token": csrf_token(director, page)}).status_code == 302
    with demo.sessions() as session:
        assert session.get_one(Grievance, case.id).close_reason is CloseReason.INVALID


def test_a_nepali_citizen_is_told_in_nepali_why_and_that_it_can_be_reopened(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock, language="ne", details="सडकको धुलोले बाली बिग्रियो।")
    contractor, piu = actor(demo, CONTRACTOR), actor(demo, PIU)
    with demo.sessions.begin() as session:
        propose_invalid(session, clock, case.id, contractor, "खानीको धुलो हो, सडकको होइन।")
        decide_invalid(session, clock, case.id, piu, True)
    told = sms_saying(demo, clock, "बन्द")
    assert "खानीको धुलो हो, सडकको होइन।" in told["body"]
    assert '30 दिनभित्र यसलाई फेरि खोल्न सक्नुहुन्छ: हाम्रो च्याटमा "फेरि खोल्ने" लेख्नुहोस्' in told["body"]
