"""The web app's doors as an attacker tries them (issue 15): idempotency keys that belong to
their caller, the status lookup kept out of URLs, headers against framing and downgrades,
request-body limits, one-resolution answer links, formula cells in exports, and downloads
that never render a citizen's file as a page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.helpers import FakeClock, client_for
from tests.test_api import error_of, token_for
from ticketing.db import Store
from ticketing.models import Complainant, Grievance

# --- idempotency keys belong to their caller ---


def post_grievance(client: Any, token: dict[str, str], **fields: Any) -> Any:
    body = {"project_code": "KKR-01", "details": "Told at the site office: the culvert floods our yard."} | fields
    return client.post("/api/v1/grievances", json=body, headers=token)


def test_another_callers_idempotency_key_never_returns_their_case(demo: Store, clock: FakeClock) -> None:
    client = client_for(demo)
    gender_desk = token_for(demo, clock, "gender.kkr@grm.example")
    told = "A worker at the camp follows my daughter home every evening."
    first = post_grievance(
        client, gender_desk, details=told, category_code="gender.harassment", idempotency_key="visit-2026-01-05"
    )
    assert first.status_code == 201
    contractor = token_for(demo, clock, "contractor.kkr@grm.example")
    second = post_grievance(
        client, contractor, name="Mohan Shah", phone="9841000999", idempotency_key="visit-2026-01-05"
    )
    assert second.status_code == 201
    answer = second.get_json()
    assert answer["reference"] != first.get_json()["reference"]
    assert told not in second.get_data(as_text=True) and answer["details"].startswith("Told at the site office")
    with demo.sessions() as session:
        assert session.query(Grievance).count() == 2


def test_a_replayed_key_returns_the_callers_case_and_writes_no_contact_details(demo: Store, clock: FakeClock) -> None:
    client = client_for(demo)
    manager = token_for(demo, clock, "manager.kkr@grm.example")
    person = {"name": "Hari Magar", "phone": "9841000123", "email": "hari@example.org"}
    first = post_grievance(client, manager, idempotency_key="desk-17", **person)
    replay = post_grievance(
        client, manager, idempotency_key="desk-17", name="Someone Else", phone="9841000123", email="x@example.org"
    )
    assert replay.get_json()["reference"] == first.get_json()["reference"]
    with demo.sessions() as session:
        complainant = session.scalars(select(Complainant)).one()
        assert (complainant.name, complainant.email) == ("Hari Magar", "hari@example.org")


def test_an_overlong_idempotency_key_is_refused_politely(demo: Store, clock: FakeClock) -> None:
    client = client_for(demo)
    manager = token_for(demo, clock, "manager.kkr@grm.example")
    refused = post_grievance(client, manager, name="Hari Magar", phone="9841000123", idempotency_key="k" * 101)
    assert refused.status_code == 422 and error_of(refused)["field"] == "idempotency_key"
