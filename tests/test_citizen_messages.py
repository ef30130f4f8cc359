"""A citizen's message added to their case: on the timeline as theirs, its holder told for
action, the citizen told nothing back; a gender case's message stays in the backoffice."""

from __future__ import annotations

import json

import pytest

from tests.helpers import FakeClock, file, make_jobs, outbox_file
from ticketing.cases.timeline import timeline
from ticketing.citizen import add_to_case
from ticketing.errors import InvalidInput
from ticketing.store.db import Store

SITE = "site.kkr@grm.example"


def test_the_citizens_message_reaches_the_timeline_and_the_holder(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    jobs = make_jobs(demo, clock)
    jobs.plan()
    jobs.dispatch()
    before = len(outbox_file(demo).read_text().splitlines())
    clock.advance(hours=1)
    with demo.sessions.begin() as session:
        add_to_case(session, clock, grievance.id, "The dust is worse today: the children cough at school.")
    jobs.dispatch()
    sent = [json.loads(line) for line in outbox_file(demo).read_text().splitlines()[before:]]
    assert [(m["to"], m["subject"]) for m in sent] == [
        (SITE, f"[GRM] For action: the citizen wrote about grievance {grievance.reference}")
    ]
    assert "the children cough at school" in sent[0]["body"]
    with demo.sessions() as session:
        [entry] = [e for e in timeline(session, grievance.id) if e.kind == "note"]
    assert (entry.title, entry.who) == ("message from the citizen", "citizen")


def test_a_gender_cases_message_stays_in_the_backoffice(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock, category_code="gender", name=None)
    with demo.sessions.begin() as session:
        add_to_case(session, clock, grievance.id, "He came to our house again last night.")
        with pytest.raises(InvalidInput):
            add_to_case(session, clock, grievance.id, "x" * 10_001)
    make_jobs(demo, clock).dispatch()
    sent = outbox_file(demo).read_text()
    assert "the citizen wrote about grievance" in sent and "last night" not in sent
