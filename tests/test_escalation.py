"""The scheduler's jobs under a fake clock: cases climb the levels on their own, resolutions
close after a silent week, and each event reaches the people of seed 000 section 5.3, once."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.helpers import FakeClock, count, file, history, make_jobs, officer_by_email, outbox_file
from ticketing.cases.moves import acknowledge, add_note, record_citizen_answer, resolve
from ticketing.cases.records import SYSTEM, Actor
from ticketing.lifecycle import Action, Status
from ticketing.store.case_models import Grievance, Notification
from ticketing.store.db import Store
from ticketing.store.models import Category, Officer, SlaPolicy
from ticketing.store.vocabulary import Audience, NoteVisibility, NotificationStatus

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
SITE, PIU, GRC, LEGAL = "site.kkr@grm.example", "piu.kkr@grm.example", "grc@grm.example", "legal@grm.example"


def queued(store: Store, template: str | None = None) -> set[tuple[str, str, str, bool]]:
    """(event, recipient, channel, for action) of every queued row, officers by email address."""
    with store.sessions() as session:
        emails = dict(session.execute(select(Officer.id, Officer.email)).tuples().all())
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
        return {
            (
                row.template,
                emails[row.officer_id] if row.officer_id else row.audience.value,
                row.channel.value,
                row.for_action,
            )
            for row in rows
            if template is None or row.template == template
        }


def test_a_silent_case_climbs_every_level_and_the_right_people_are_told(demo: Store, clock: FakeClock) -> None:
    jobs = make_jobs(demo, clock)
    grievance = file(demo, clock)
    assert jobs.plan() == 1
    assert queued(demo, "received") == {
        ("received", SITE, "email", True),
        ("received", PIU, "email", False),
        ("received", "citizen", "sms", False),  # the receipt, with the reference
    }

    clock.advance(hours=24, seconds=-1)
    assert jobs.escalate() == 0
    clock.advance(seconds=1)
    assert jobs.escalate() == 1
    jobs.plan()
    assert queued(demo, "escalated") == {
        ("escalated", PIU, "email", True),
        ("escalated", SITE, "email", False),
        ("escalated", GRC, "email", False),
        ("escalated", LEGAL, "email", False),
        ("escalated", "citizen", "sms", False),
    }

    clock.advance(days=7)
    assert jobs.escalate() == 1
    clock.advance(days=15)
    assert jobs.escalate() == 1
    clock.advance(days=365)
    assert jobs.escalate() == 0  # level 4, the legal route, has no timeline
    jobs.plan()

    steps = [(c.action, c.to_level, c.actor_kind.value, c.note) for c in history(demo, grievance.id)]
    assert steps == [
        (Action.FILE, 1, "citizen", None),
        (Action.ESCALATE, 2, "system", "no response within 24 hours"),
        (Action.ESCALATE, 3, "system", "level 2 deadline passed"),
        (Action.ESCALATE, 4, "system", "level 3 deadline passed"),
    ]
    with demo.sessions() as session:
        case = session.get_one(Grievance, grievance.id)
        assert (case.status, case.level, case.due_at, case.notify_pending) == (Status.ESCALATED, 4, None, False)
        assert case.version == 4  # each sweep bumped the optimistic lock, as an officer's change would
        assert case.assignee is not None and case.assignee.email == LEGAL
        levels_told = session.execute(
            select(Notification.level, Notification.for_action, Officer.email)
            .join(Officer, Officer.id == Notification.officer_id)
            .where(Notification.template == "escalated", Notification.for_action)
        ).all()
    # Each escalation: the new level's officer for action, once.
    assert sorted(levels_told) == [(2, True, PIU), (3, True, GRC), (4, True, LEGAL)]
    assert count(demo, Notification, template="escalated", audience=Audience.CITIZEN) == 3


def test_runs_repeated_or_after_a_crash_queue_nothing_twice(demo: Store, clock: FakeClock) -> None:
    jobs = make_jobs(demo, clock)
    file(demo, clock)
    # A planning run that dies before committing leaves the case waiting, as if never run.
    with demo.sessions() as session:
        from ticketing.notify.notifications import plan_notifications

        assert plan_notifications(session, clock) == 1
        session.rollback()
    assert count(demo, Notification) == 0
    assert jobs.plan() == 1
    assert jobs.plan() == 0
    # Even a case flagged again by hand (a crash between queueing and clearing) queues nothing new.
    with demo.sessions.begin() as session:
        session.execute(update(Grievance).values(notify_pending=True, notified_change_id=0))
    assert jobs.plan() == 1
    assert count(demo, Notification) == 3


def test_officers_with_a_phone_also_get_an_sms_for_action(demo: Store, clock: FakeClock) -> None:
    with demo.sessions.begin() as session:
        session.execute(update(Officer).where(Officer.email.in_([SITE, PIU])).values(phone="+9779851000001"))
    jobs = make_jobs(demo, clock)
    file(demo, clock)
    jobs.plan()
    assert queued(demo) == {
        ("received", SITE, "email", True),
        ("received", SITE, "sms", True),
        ("received", PIU, "email", False),  # information comes by email only
        ("received", "citizen", "sms", False),
    }


def test_verification_tells_the_officers_and_the_citizen(demo: Store, clock: FakeClock) -> None:
    jobs = make_jobs(demo, clock)
    grievance = file(demo, clock)
    site = officer_by_email(demo, SITE)
    with demo.sessions.begin() as session:
        acknowledge(session, clock, grievance.id, Actor.officer(site), "checked the photos")
    jobs.plan()
    # The officer who verified it is not told of their own action.
    assert queued(demo, "assigned") == {("assigned", PIU, "email", False), ("assigned", "citizen", "sms", False)}


def test_a_citizen_who_gave_an_email_gets_the_updates_by_email_too(demo: Store, clock: FakeClock) -> None:
    jobs = make_jobs(demo, clock)
    both = file(demo, clock, email="sunita@example.org")
    with demo.sessions.begin() as session:
        acknowledge(session, clock, both.id, SYSTEM)
    jobs.plan()
    with demo.sessions() as session:
        told = session.execute(
            select(Notification.grievance_id, Notification.channel).where(
                Notification.template == "assigned", Notification.audience == Audience.CITIZEN
            )
        ).all()
    assert sorted((case_id, channel.value) for case_id, channel in told) == [(both.id, "email"), (both.id, "sms")]
    jobs.dispatch()
    sent = [json.loads(line) for line in outbox_file(demo).read_text().splitlines()]
    assert {(m["channel"], m["to"]) for m in sent if "sunita@example.org" in m["to"] or m["channel"] == "sms"} == {
        ("email", "sunita@example.org"),
        ("sms", "+9779841234567"),
    }


def test_a_deadline_is_announced_once_before_it_passes(demo: Store, clock: FakeClock) -> None:
    jobs = make_jobs(demo, clock, warn_hours=24)
    grievance = file(demo, clock)
    assert jobs.warn() == 1  # the 24 h response time leaves no day of notice: seen, not announced
    assert count(demo, Notification, template="deadline") == 0
    with demo.sessions.begin() as session:
        acknowledge(session, clock, grievance.id, SYSTEM)  # level 1 now has 48 h
    clock.advance(hours=23)
    assert jobs.warn() == 0
    clock.advance(hours=2)
    assert jobs.warn() == 1
    assert queued(demo, "deadline") == {("deadline", SITE, "email", True)}
    clock.advance(hours=1)
    assert jobs.warn() == 0
    assert count(demo, Notification, template="deadline") == 1


def test_a_silent_resolution_closes_after_seven_days_and_the_citizen_is_told(demo: Store, clock: FakeClock) -> None:
    jobs = make_jobs(demo, clock)
    grievance = file(demo, clock)
    site = officer_by_email(demo, SITE)
    with demo.sessions.begin() as session:
        acknowledge(session, clock, grievance.id, Actor.officer(site))
        resolve(session, clock, grievance.id, Actor.officer(site), "The contractor now waters the road twice a day.")
    jobs.plan()
    assert queued(demo, "resolved") == {("resolved", PIU, "email", False), ("resolved", "citizen", "sms", False)}

    clock.advance(days=7, seconds=-1)
    assert jobs.close() == 0
    clock.advance(seconds=1)
    assert jobs.close() == 1
    assert jobs.close() == 0
    jobs.plan()
    assert queued(demo, "closed") == {("closed", SITE, "email", False), ("closed", "citizen", "sms", False)}
    with demo.sessions() as session:
        case = session.get_one(Grievance, grievance.id)
        assert (case.status, case.close_reason) == (Status.CLOSED, "no_answer")

    jobs.dispatch()
    sent = [json.loads(line) for line in outbox_file(demo).read_text().splitlines()]
    # Several messages go out at once, in no set order.
    to_citizen = {m["subject"]: m["body"] for m in sent if m["to"] == "+9779841234567"}
    assert set(to_citizen) == {
        f"Grievance {grievance.reference} received",
        f"Grievance {grievance.reference} is being handled",
        f"Grievance {grievance.reference} resolved - are you satisfied?",
        f"Grievance {grievance.reference} closed",
    }
    resolved = to_citizen[f"Grievance {grievance.reference} resolved - are you satisfied?"]
    assert "waters the road twice a day" in resolved and "/chat?resume=" + grievance.reference in resolved
    assert "within 7 days" in resolved


def test_a_refusal_escalates_and_the_next_level_acts(demo: Store, clock: FakeClock) -> None:
    jobs = make_jobs(demo, clock)
    grievance = file(demo, clock)
    site = officer_by_email(demo, SITE)
    with demo.sessions.begin() as session:
        acknowledge(session, clock, grievance.id, Actor.officer(site))
        resolve(session, clock, grievance.id, Actor.officer(site), "Sprinkled once.")
    clock.advance(days=1)
    with demo.sessions.begin() as session:
        from ticketing.cases.records import CITIZEN

        record_citizen_answer(session, clock, grievance.id, CITIZEN, accepted=False, reason="Still dusty.")
    jobs.plan()
    escalated = queued(demo, "escalated")
    assert ("escalated", PIU, "email", True) in escalated
    assert not any(who == "citizen" for _, who, _, _ in escalated)  # they refused in this very conversation
    with demo.sessions() as session:
        assert session.get_one(Grievance, grievance.id).status is Status.ESCALATED


@pytest.mark.parametrize(
    ("category_code", "level_2_officer", "clearance"),
    [
        ("gender.harassment", PIU, Officer.gender_cleared),
        ("integrity.bribery", "director@grm.example", Officer.integrity_cleared),
    ],
)
def test_confidential_cases_never_carry_details_or_names(
    demo: Store, clock: FakeClock, category_code: str, level_2_officer: str, clearance: Any
) -> None:
    jobs = make_jobs(demo, clock)
    details = "Bikram the camp supervisor follows my daughter Maya home every evening."
    if category_code.startswith("integrity"):
        details = "Bikram the camp supervisor asked my daughter Maya for 5000 rupees to keep her job."
    grievance = file(demo, clock, details=details, category_code=category_code, name="Kamala Shrestha")
    clock.advance(hours=25)
    jobs.escalate()
    with demo.sessions.begin() as session:
        handler = officer_by_email(demo, level_2_officer)
        acknowledge(session, clock, grievance.id, Actor.officer(handler))
        resolve(session, clock, grievance.id, Actor.officer(handler), "Bikram was moved to another site.")
    jobs.plan()
    jobs.dispatch()
    sent = outbox_file(demo).read_text()
    assert grievance.reference in sent
    for secret in ("Bikram", "Maya", "Kamala", "daughter", "supervisor", "rupees"):
        assert secret not in sent
    # Only officers cleared for the kind of case are told at all.
    with demo.sessions() as session:
        told = session.scalars(select(clearance).join(Notification, Notification.officer_id == Officer.id)).all()
    assert told and all(told)


def test_an_undeliverable_row_is_kept_visible_and_blocks_nothing(demo: Store, clock: FakeClock) -> None:
    jobs = make_jobs(demo, clock)
    file(demo, clock)
    jobs.plan()
    with demo.sessions.begin() as session:
        session.execute(update(Officer).where(Officer.email == SITE).values(active=False))
    assert jobs.dispatch() == 2  # the information to the PIU and the citizen's receipt
    with demo.sessions() as session:
        rows = {r.officer_id: (r.status, r.last_error) for r in session.scalars(select(Notification))}
    assert rows[officer_by_email(demo, SITE)] == (NotificationStatus.CANCELLED, "the officer is no longer active")
    assert rows[officer_by_email(demo, PIU)] == (NotificationStatus.SENT, None)


def test_events_planned_late_reach_the_officers_of_their_own_level(demo: Store, clock: FakeClock) -> None:
    jobs = make_jobs(demo, clock)
    file(demo, clock)
    clock.advance(hours=25)
    jobs.escalate()  # filed and escalated before any planning run
    jobs.plan()
    assert queued(demo, "received") == {
        ("received", SITE, "email", True),
        ("received", PIU, "email", False),
        ("received", "citizen", "sms", False),
    }
    assert ("escalated", PIU, "email", True) in queued(demo, "escalated")
    with demo.sessions() as session:
        received_due = session.scalars(select(Notification.payload).where(Notification.template == "received")).all()
    # Only the latest change knows the deadline the case has now.
    assert all("due_at" not in payload for payload in received_due)


def test_deadlines_follow_the_category_and_the_project_where_configured(demo: Store, clock: FakeClock) -> None:
    with demo.sessions.begin() as session:
        session.execute(update(Category).where(Category.code == "environment.dust").values(level_1_hours=12))
        session.execute(update(SlaPolicy).values(level_2_hours=72))
    jobs = make_jobs(demo, clock)
    grievance = file(demo, clock)
    with demo.sessions.begin() as session:
        acknowledge(session, clock, grievance.id, SYSTEM)
    clock.advance(hours=12, seconds=-1)
    assert jobs.escalate() == 0
    clock.advance(seconds=1)
    assert jobs.escalate() == 1  # the category's 12 hours, not the default 48
    clock.advance(hours=72)
    assert jobs.escalate() == 1  # the project's 3 days at level 2, not the default 7
    with demo.sessions() as session:
        assert session.get_one(Grievance, grievance.id).level == 3


def test_a_public_note_goes_to_the_citizen_and_an_internal_one_does_not(demo: Store, clock: FakeClock) -> None:
    jobs = make_jobs(demo, clock)
    plain = file(demo, clock)
    gender = file(demo, clock, category_code="gender.harassment", details="A worker follows my sister.")
    site = Actor.officer(officer_by_email(demo, SITE))
    with demo.sessions.begin() as session:
        add_note(session, clock, plain.id, site, "Checked with the contractor", NoteVisibility.INTERNAL)
        add_note(session, clock, plain.id, site, "The water truck comes tomorrow at 7.", NoteVisibility.PUBLIC)
        add_note(session, clock, gender.id, SYSTEM, "The supervisor was moved away.", NoteVisibility.PUBLIC)
    assert queued(demo, "note") == {("note", "citizen", "sms", False)}
    assert count(demo, Notification, template="note") == 2
    jobs.dispatch()
    sent = outbox_file(demo).read_text()
    assert f"About your grievance {plain.reference}: The water truck comes tomorrow at 7." in sent
    assert "Checked with the contractor" not in sent and "supervisor" not in sent
    assert f"About your grievance {gender.reference}: an officer has news for you" in sent


def test_citizens_are_written_to_in_their_grievances_language(demo: Store, clock: FakeClock) -> None:
    jobs = make_jobs(demo, clock)
    grievance = file(demo, clock, language="ne")
    clock.advance(hours=25)
    jobs.escalate()
    jobs.plan()
    jobs.dispatch()
    to_citizen = [json.loads(line) for line in outbox_file(demo).read_text().splitlines() if '"sms"' in line]
    by_subject = {m["subject"]: m for m in to_citizen}
    assert set(by_subject) == {f"गुनासो {grievance.reference} दर्ता भयो", f"गुनासो {grievance.reference} तह 2 मा पठाइयो"}
    assert "यो नम्बर राख्नुहोस्" in by_subject[f"गुनासो {grievance.reference} दर्ता भयो"]["body"]
    message = by_subject[f"गुनासो {grievance.reference} तह 2 मा पठाइयो"]
    assert "आयोजना कार्यान्वयन इकाइका सम्पर्क व्यक्ति" in message["body"]
