"""The backoffice through the real Flask app: signing in with CSRF, lock-out, sessions, and
the case list and detail scoped to what each officer may see."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime, timedelta

import pyotp
from flask.testing import FlaskClient
from openpyxl import load_workbook
from playwright.sync_api import Browser
from sqlalchemy import select, update

from admin_app import create_app
from tests.browser import Screenshot, live_server
from tests.helpers import PASSWORD, FakeClock, client_for, csrf_token, file, make_jobs, officer_by_email, sign_in
from tests.test_uploads import PNG
from ticketing.accounts import MAX_FAILED_LOGINS
from ticketing.cases.attachments import attach_file
from ticketing.cases.moves import acknowledge, resolve
from ticketing.cases.records import CITIZEN, Actor
from ticketing.store.case_models import Grievance, Notification
from ticketing.store.db import Store
from ticketing.store.vocabulary import NotificationStatus


def test_the_backoffice_asks_to_sign_in(demo: Store) -> None:
    client = client_for(demo)
    response = client.get("/admin/grievance/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_a_form_without_its_csrf_token_is_refused(demo: Store) -> None:
    client = client_for(demo)
    response = client.post("/login", data={"email": "admin@grm.example", "password": PASSWORD})
    assert response.status_code == 400
    assert sign_in(client, "admin@grm.example") == 302


def test_signing_in_out_and_the_session_cookie(demo: Store) -> None:
    client = client_for(demo)
    token = csrf_token(client)
    response = client.post(
        "/login?next=/admin/grievance/", data={"csrf_token": token, "email": "admin@grm.example", "password": PASSWORD}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/grievance/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert client.get("/admin/grievance/").status_code == 200
    # Another site's address in ?next= is not followed.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/grievance/")})
    assert client.get("/admin/grievance/").status_code == 302
    token = csrf_token(client)
    response = client.post(
        "/login?next=https://evil.example/",
        data={"csrf_token": token, "email": "admin@grm.example", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/"


def test_wrong_passwords_get_one_answer_and_lock_the_account(demo: Store) -> None:
    client = client_for(demo)
    for _ in range(MAX_FAILED_LOGINS):
        token = csrf_token(client)
        response = client.post("/login", data={"csrf_token": token, "email": "admin@grm.example", "password": "nope"})
        assert response.status_code == 401
        assert "account is locked for a while" in response.get_data(as_text=True)
    assert sign_in(client, "admin@grm.example") == 401  # locked, even with the right password
    assert sign_in(client, "nobody@grm.example") == 401


def test_officers_see_only_the_cases_they_may(demo: Store, clock: FakeClock) -> None:
    mine = file(demo, clock)
    gender = file(demo, clock, category_code="gender.harassment", details="A worker follows my daughter.")
    client = client_for(demo)
    assert sign_in(client, "site.kkr@grm.example") == 302
    listing = client.get("/admin/grievance/").get_data(as_text=True)
    assert mine.reference in listing and gender.reference not in listing
    assert client.get(f"/admin/grievance/details/?id={mine.id}").status_code == 200
    # Typing the URL of a case outside their scope finds nothing.
    hidden = client.get(f"/admin/grievance/details/?id={gender.id}")
    assert hidden.status_code == 302 and gender.reference not in hidden.get_data(as_text=True)

    cleared = client_for(demo)
    assert sign_in(cleared, "gender.kkr@grm.example") == 302
    assert gender.reference in cleared.get("/admin/grievance/").get_data(as_text=True)


def post_move(client: FlaskClient, case_id: int, move: str, **form: str) -> str:
    page = f"/admin/grievance/case/{case_id}"
    token = csrf_token(client, page)
    response = client.post(f"{page}/{move}", data={"csrf_token": token, **form}, follow_redirects=True)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_an_officer_acts_on_a_case_from_its_page(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock, latitude=27.4289, longitude=85.0321)  # a place shared on WhatsApp
    client = client_for(demo)
    assert sign_in(client, "site.kkr@grm.example") == 302
    page = client.get(f"/admin/grievance/case/{case.id}").get_data(as_text=True)
    assert "Dust from the trucks" in page and "Sunita Tamang" in page and 'data-testid="move-acknowledge"' in page
    assert '27.42890, 85.03210 <a href="https://www.openstreetmap.org/?mlat=27.4289&amp;mlon=85.0321' in page
    assert 'data-testid="move-resolve"' not in page  # a new case is acknowledged first
    assert "Acknowledged" in post_move(client, case.id, "acknowledge", text="Photos checked")
    answer = post_move(client, case.id, "resolve", text="")
    assert "Not done: resolution: is required" in answer
    answer = post_move(client, case.id, "resolve", text="Water sprayed twice a day.")
    assert "Resolved" in answer and 'data-testid="case-status">resolved' in answer
    assert 'data-testid="move-resolve"' not in answer and 'data-testid="move-note"' in answer  # what the status allows
    assert "Photos checked" in answer and "Water sprayed twice a day." in answer  # in the timeline
    assert "Note added" in post_move(client, case.id, "note", text="Called the citizen", visibility="public")
    # The list shows the case with its SLA state and links to its page.
    listing = client.get("/admin/grievance/").get_data(as_text=True)
    assert f'href="/admin/grievance/case/{case.id}"' in listing and "no deadline" in listing


def test_moves_outside_a_role_or_a_scope_are_refused(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    gender = file(demo, clock, category_code="gender.harassment", details="A worker follows my daughter.")
    viewer_client = client_for(demo)
    assert sign_in(viewer_client, "bank@grm.example") == 302
    page = viewer_client.get(f"/admin/grievance/case/{case.id}").get_data(as_text=True)
    assert "move-acknowledge" not in page  # the bank views, it does not act
    token = csrf_token(viewer_client, f"/admin/grievance/case/{case.id}")
    refused = viewer_client.post(f"/admin/grievance/case/{case.id}/acknowledge", data={"csrf_token": token})
    assert refused.status_code == 403
    site = client_for(demo)
    assert sign_in(site, "site.kkr@grm.example") == 302
    assert site.get(f"/admin/grievance/case/{gender.id}").status_code == 404
    token = csrf_token(site, f"/admin/grievance/case/{case.id}")
    assert (
        site.post(f"/admin/grievance/case/{gender.id}/resolve", data={"csrf_token": token, "text": "x"}).status_code
        == 404
    )
    assert site.post(f"/admin/grievance/case/{case.id}/acknowledge", data={}).status_code == 400  # no CSRF token


def test_the_list_filters_searches_acts_in_bulk_and_exports_within_scope(demo: Store, clock: FakeClock) -> None:
    clock.current = datetime.now(UTC) - timedelta(hours=30)  # the backoffice judges deadlines by the wall clock
    dust = file(demo, clock)
    land = file(demo, clock, details="The compensation for my land was never paid.", category_code="land.compensation")
    clock.advance(hours=30)
    fresh = file(demo, clock, details="A new pothole by the school.", category_code="safety.road")
    nbr = file(demo, clock, project_code="NBR-02", municipality_id=None, ward=None, district_id=24)
    client = client_for(demo)
    assert sign_in(client, "admin@grm.example") == 302

    def listed(query: str) -> set[str]:
        page = client.get(f"/admin/grievance/?{query}").get_data(as_text=True)
        return {case.reference for case in (dust, land, fresh, nbr) if case.reference in page}

    assert listed("search=compensation") == {land.reference}
    assert listed("flt0_project_equals=NBR-02") == {nbr.reference}
    assert listed("flt0_overdue_is=yes") == {dust.reference, land.reference}  # filed 30 h ago, never acknowledged
    assert listed("flt0_category_contains=pothole") == set()
    assert listed("flt0_held_by_contains=Ram+Thapa") == {dust.reference, land.reference, fresh.reference}

    token = csrf_token(client, "/admin/grievance/")
    response = client.post(
        "/admin/grievance/action/",
        data={"csrf_token": token, "action": "acknowledge", "rowid": [str(dust.id), str(fresh.id)]},
        follow_redirects=True,
    )
    assert "Acknowledge: 2 done" in response.get_data(as_text=True)
    assert listed("flt0_status_equals=IN_PROGRESS") == {dust.reference, fresh.reference}

    site = client_for(demo)
    assert sign_in(site, "site.nbr@grm.example") == 302
    export = site.get("/admin/grievance/export/csv/").get_data(as_text=True)
    assert nbr.reference in export and dust.reference not in export  # another project's cases stay out
    assert "<a " not in export
    # Bulk moves on cases outside the officer's scope do nothing.
    token = csrf_token(site, "/admin/grievance/")
    response = site.post(
        "/admin/grievance/action/",
        data={"csrf_token": token, "action": "acknowledge", "rowid": [str(land.id)]},
        follow_redirects=True,
    )
    assert "Acknowledge: 0 done" in response.get_data(as_text=True)


def test_administrators_see_the_outbox_and_audit_log_and_send_a_dead_letter_again(
    demo: Store, clock: FakeClock
) -> None:
    file(demo, clock)
    jobs = make_jobs(demo, clock)
    jobs.plan()
    with demo.sessions.begin() as session:
        session.execute(update(Notification).values(status=NotificationStatus.FAILED, last_error="SMTP 550"))
        dead = session.scalars(select(Notification.id)).all()
    manager = client_for(demo)
    assert sign_in(manager, "manager.kkr@grm.example") == 302
    assert manager.get("/admin/outbox/").status_code == 403
    assert manager.get("/admin/audit/").status_code == 403
    admin = client_for(demo)
    assert sign_in(admin, "admin@grm.example") == 302
    assert "SMTP 550" in admin.get("/admin/outbox/").get_data(as_text=True)
    assert "login" in admin.get("/admin/audit/").get_data(as_text=True)
    token = csrf_token(admin, "/admin/outbox/")
    response = admin.post(
        "/admin/outbox/action/",
        data={"csrf_token": token, "action": "retry", "rowid": [str(row_id) for row_id in dead]},
        follow_redirects=True,
    )
    assert f"{len(dead)} message(s) queued again" in response.get_data(as_text=True)
    clock.current = datetime.now(UTC)  # queued again as of the wall clock
    assert jobs.dispatch() == len(dead)


def test_an_officer_works_a_case_in_the_browser(
    demo: Store, clock: FakeClock, chromium: Browser, screenshot: Screenshot
) -> None:
    clock.current = datetime.now(UTC) - timedelta(hours=2)
    case = file(demo, clock)
    other = file(demo, clock, details="The compensation for my land was never paid.", category_code="land.compensation")
    app = create_app({"GRM_STORE": demo, "SECRET_KEY": "test-secret"})
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    with live_server(app) as base_url:
        page.goto(f"{base_url}/admin/grievance/")
        page.fill("#email", "site.kkr@grm.example")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.fill("input[name=search]", "maize")
        page.press("input[name=search]", "Enter")
        page.wait_for_url("**search=maize**")
        assert page.locator(f"text={case.reference}").count() == 1
        # The filter the officer would pick from the menu, as the readable URL it makes.
        page.goto(f"{base_url}/admin/grievance/?search=maize&flt0_status_equals=NEW&flt1_overdue_is=no")
        assert page.locator(f"text={case.reference}").count() == 1
        assert page.locator(f"text={other.reference}").count() == 0
        screenshot(page, "backoffice-list")
        page.click(f"text={case.reference}")
        page.fill("[data-testid=move-acknowledge] textarea", "Photos checked on site")
        page.click("[data-testid=move-acknowledge] button")
        assert "in progress" in page.inner_text("[data-testid=case-status]")
        page.fill("[data-testid=move-resolve] textarea", "The contractor waters the road twice a day.")
        page.click("[data-testid=move-resolve] button")
        assert page.inner_text("[data-testid=case-status]") == "resolved"
        assert "Photos checked on site" in page.inner_text("[data-testid=timeline]")
        screenshot(page, "backoffice-case")
        page.goto(f"{base_url}/admin/")
        assert "Resolved" in page.inner_text("[data-testid=dashboard-figures]")
        assert page.locator("[data-testid=weekly-chart] rect").count() > 0
        screenshot(page, "backoffice-dashboard")
    context.close()


def resolved_and_late(demo: Store, clock: FakeClock) -> tuple[Grievance, Grievance]:
    """Three days ago: a KKR-01 case resolved in 10 h, another and an NBR-02 case that missed
    their response time (escalated to level 2)."""
    clock.current = datetime.now(UTC) - timedelta(days=3)
    on_time = file(demo, clock)
    late = file(demo, clock, details="The compensation for my land was never paid.", category_code="land.compensation")
    file(demo, clock, project_code="NBR-02", municipality_id=None, ward=None, district_id=24)
    site = Actor.officer(officer_by_email(demo, "site.kkr@grm.example"))
    with demo.sessions.begin() as session:
        acknowledge(session, clock, on_time.id, site)
        clock.advance(hours=10)
        resolve(session, clock, on_time.id, site, "Water sprayed.")
    clock.advance(hours=20)
    make_jobs(demo, clock).escalate()
    return on_time, late


def test_the_dashboard_counts_what_the_officer_may_see(demo: Store, clock: FakeClock) -> None:
    _on_time, late = resolved_and_late(demo, clock)
    piu = Actor.officer(officer_by_email(demo, "piu.kkr@grm.example"))
    with demo.sessions.begin() as session:
        acknowledge(session, clock, late.id, piu)
        resolve(session, clock, late.id, piu, "Paid in full.")

    def figures(client: FlaskClient, query: str = "") -> dict[str, str]:
        page = client.get(f"/admin/?{query}").get_data(as_text=True)
        cards = re.findall(r'<div class="small text-muted">([^<]+)</div><div class="h5 mb-0">([^<]+)</div>', page)
        return dict(cards)

    admin = client_for(demo)
    assert sign_in(admin, "admin@grm.example") == 302
    assert figures(admin) == {
        "Grievances": "3",
        "Resolved": "2",
        "Resolved within SLA": "50%",
        "Overdue now": "0",
        "Escalations": "2",  # `late` and the NBR-02 case missed their response time
        "Median response": "15.0 h",
        "Median resolution": "0.8 d",
        "Resolutions accepted": "–",  # nobody has answered yet
        "Mean rating (1-5)": "–",
    }
    chart = admin.get("/admin/").get_data(as_text=True)
    assert 'data-testid="weekly-chart"' in chart
    assert not re.search(r'(src|href)="(https?:)?//', chart)  # every asset is served by the app itself
    assert figures(admin, "project=NBR-02")["Grievances"] == "1"
    assert figures(admin, "from=2000-01-01&to=2000-12-31")["Grievances"] == "0"
    manager = client_for(demo)
    assert sign_in(manager, "manager.kkr@grm.example") == 302
    assert figures(manager)["Grievances"] == "2"  # only their project's cases


def test_standard_reports_on_screen_and_as_csv_excel_and_pdf(demo: Store, clock: FakeClock) -> None:
    _on_time, late = resolved_and_late(demo, clock)
    manager = client_for(demo)
    assert sign_in(manager, "manager.kkr@grm.example") == 302

    page = manager.get("/admin/reports/?report=timely&report=officers&report=projects").get_data(as_text=True)
    assert re.findall(r'data-testid="report-([a-z-]+)"', page) == ["timely-resolution", "projects", "officers"]
    cells = re.findall(r"<td>([^<]*)</td>", page)
    assert cells[:10] == [
        "Resolved within SLA", "1", "Resolved after a missed deadline", "0", "Open, on time", "1",
        "Open, overdue", "0", "Closed without resolution", "0",
    ]  # fmt: skip
    assert "NBR-02" not in page  # the manager's scope is KKR-01

    book = load_workbook(io.BytesIO(manager.get("/admin/reports/?format=xlsx").data), read_only=True)
    assert book.sheetnames == [
        "Status", "Timely resolution", "Escalation levels", "Resolution time", "Response time",
        "Assignment", "Projects", "Officers", "Satisfaction",
    ]  # fmt: skip
    officers = [tuple(row) for row in book["Officers"].iter_rows(values_only=True)]
    assert officers[3][:4] == ("Officer", "Acknowledged", "Assigned", "Resolved")
    assert officers[4][:4] == ("Ram Thapa (site safeguards, KKR-01)", 1, 0, 1)
    response = [tuple(row) for row in book["Response time"].iter_rows(values_only=True)]
    assert response[4:] == [("KKR-01", 1, 0.0, 0.0), ("All projects", 1, 0.0, 0.0)]
    pdf = manager.get("/admin/reports/?format=pdf&from=2000-01-01&to=2000-01-31")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    csv = manager.get("/admin/reports/?format=csv&report=status").get_data(as_text=True)
    assert csv.lstrip("\ufeff").splitlines()[:3] == ["Status,Grievances", "escalated,1", "resolved,1"]

    listed = manager.get("/admin/grievance/export/xlsx/?flt0_status_equals=ESCALATED")
    sheet = load_workbook(io.BytesIO(listed.data), read_only=True).active
    assert sheet is not None
    rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[3][:3] == ("Reference", "Project", "Status") and [row[0] for row in rows[4:]] == [late.reference]
    assert manager.get("/admin/grievance/export/pdf/").data.startswith(b"%PDF")


def test_attachments_are_previewed_downloaded_and_added_within_scope(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock)
    with demo.sessions.begin() as session:
        photo = attach_file(session, clock, demo.settings.files, case.id, CITIZEN, "dust.png", PNG)
        session.flush()
        photo_id = photo.id
    site, nbr = client_for(demo), client_for(demo)
    assert sign_in(site, "site.kkr@grm.example") == 302
    assert sign_in(nbr, "site.nbr@grm.example") == 302
    page = site.get(f"/admin/grievance/case/{case.id}").get_data(as_text=True)
    url = f"/admin/grievance/case/{case.id}/file/{photo_id}"
    assert f'<img src="{url}"' in page and f'href="{url}?download=1"' in page
    shown = site.get(url)
    assert shown.status_code == 200 and shown.data == PNG and shown.mimetype == "image/png"
    assert (
        shown.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in shown.headers["Content-Security-Policy"]
    )
    saved = site.get(f"{url}?download=1")
    assert saved.headers["Content-Disposition"] == f"attachment; filename={case.reference}-1.png"
    assert nbr.get(url).status_code == 404  # another project's officer: as if it did not exist
    other = file(demo, clock)
    assert site.get(f"/admin/grievance/case/{other.id}/file/{photo_id}").status_code == 404  # not that case's file

    token = csrf_token(site, f"/admin/grievance/case/{case.id}")
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

    def send(content: bytes, with_token: bool = True) -> tuple[int, str]:
        form = {"file": (io.BytesIO(content), "agreement.pdf")} | ({"csrf_token": token} if with_token else {})
        answer = site.post(f"/admin/grievance/case/{case.id}/attach", data=form, content_type="multipart/form-data")
        return answer.status_code, site.get(f"/admin/grievance/case/{case.id}").get_data(as_text=True)

    assert send(pdf, with_token=False)[0] == 400
    status, page = send(pdf)
    assert status == 302 and "File attached." in page
    assert "agreement.pdf (application/pdf" in page and "Ram Thapa" in page  # who added it, in the timeline
    status, page = send(b"MZ\x90\x00 an executable")
    assert "Not attached" in page
    bank = client_for(demo)
    assert sign_in(bank, "bank@grm.example") == 302
    answer = bank.post(f"/admin/grievance/case/{case.id}/attach", data={"csrf_token": csrf_token(bank, "/admin/")})
    assert answer.status_code == 403  # viewing is not adding


def test_an_officer_changes_their_password_and_turns_on_the_second_factor(demo: Store) -> None:
    client, other_device = client_for(demo), client_for(demo)
    assert sign_in(client, "site.kkr@grm.example") == 302
    assert sign_in(other_device, "site.kkr@grm.example") == 302

    def change(current: str, new: str) -> str:
        token = csrf_token(client, "/admin/account/")
        form = {"password-csrf_token": token, "password-current": current, "password-new": new}
        return client.post("/admin/account/", data=form, follow_redirects=True).get_data(as_text=True)

    assert "Your password is not right" in change("wrong", "a-much-better-password")
    assert "Not changed: password: must be at least 12 characters" in change(PASSWORD, "short")
    assert "Password changed" in change(PASSWORD, "a-much-better-password")
    assert client.get("/admin/grievance/").status_code == 200  # this session continues
    assert other_device.get("/admin/grievance/").status_code == 302  # the other one is signed out

    page = client.get("/admin/account/").get_data(as_text=True)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page)
    assert secret
    token = csrf_token(client, "/admin/account/")
    totp = pyotp.TOTP(secret.group(1))
    form = {"totp-csrf_token": token, "totp-password": "a-much-better-password", "totp-secret": secret.group(1)}
    answer = client.post("/admin/account/", data=form | {"totp-code": totp.now()}, follow_redirects=True)
    assert "Second factor set" in answer.get_data(as_text=True)
    fresh = client_for(demo)
    assert sign_in(fresh, "site.kkr@grm.example", "a-much-better-password") == 401  # no code
    token = csrf_token(fresh)
    response = fresh.post(
        "/login",
        data={
            "csrf_token": token,
            "email": "site.kkr@grm.example",
            "password": "a-much-better-password",
            # The code that turned it on is used up: the next one (accepted a step early).
            "code": totp.at(time.time() + totp.interval),
        },
    )
    assert response.status_code == 302
