"""New grievance (issue 18, point 6): an officer types in a grievance received in person, by
phone, by letter or by e-mail, through the same filing service; the letter goes with it, the
consent and the way it came are in its history, and triage reads it later."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from admin_app import create_app
from admin_app.intake import CONSENT
from tests.browser import SIDEWAYS, Screenshot, live_server, sign_in_page
from tests.helpers import PASSWORD, FakeClock, client_for, csrf_token, history, sign_in
from tests.test_api import error_of, token_for
from tests.test_uploads import PNG
from ticketing.lifecycle import Action, Status
from ticketing.store.case_models import Attachment, Grievance
from ticketing.store.db import Store
from ticketing.store.vocabulary import ActorKind, Channel

PAGE = "/admin/new-grievance/"
HETAUDA = 337


def form(client_token: str, **changes: str) -> dict[str, object]:
    return {
        "csrf_token": client_token,
        "channel": "letter",
        "project_code": "KKR-01",
        "language": "ne",
        "details": "सडक निर्माणको धुलोले हाम्रो मकैबारी ढाकेको छ।",
        "municipality_id": str(HETAUDA),
        "ward": "4",
        "name": "Sunita Tamang",
        "phone": "९८४१२३४५६७",
        "consent": "yes",
        **changes,
    }


def test_an_officer_files_a_letter_with_its_scan_and_triage_reads_it_later(demo: Store) -> None:
    client = client_for(demo)
    assert sign_in(client, "site.kkr@grm.example") == 302
    assert 'data-testid="new-grievance"' in client.get(PAGE).get_data(as_text=True)
    sent = form(csrf_token(client, PAGE)) | {"letter": (io.BytesIO(PNG), "letter-scan.png")}
    filed = client.post(PAGE, data=sent, content_type="multipart/form-data")
    assert filed.status_code == 302 and "/admin/grievance/case/" in filed.location
    with demo.sessions() as session:
        case = session.scalars(select(Grievance)).one()
        # needs_triage: the scheduler's triage job (tests/test_triage.py) gives it a category.
        assert (case.channel, case.language, case.ward, case.needs_triage) == (Channel.LETTER, "ne", 4, True)
        scans = session.scalars(select(Attachment.filename).where(Attachment.grievance_id == case.id)).all()
        assert scans == ["letter-scan.png"]
        assert case.complainant.phone == "+9779841234567"  # Devanagari digits, read as the chat reads them
    [filing] = history(demo, case.id)
    assert (filing.action, filing.actor_kind) == (Action.FILE, ActorKind.OFFICER)
    assert filing.note == (
        "Received by letter; the citizen agreed that these contact details are kept and used for this grievance"
    )
    page = client.get(filed.location).get_data(as_text=True)
    assert f"Filed: {case.reference}" in page


def test_nothing_typed_is_lost_when_the_form_is_refused(demo: Store) -> None:
    client = client_for(demo)
    assert sign_in(client, "contractor.kkr@grm.example") == 302  # contractors may file (seed 000 matrix)
    token = csrf_token(client, PAGE)
    refused = client.post(PAGE, data=form(token, consent="", channel="phone"))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "Not filed: consent: note the citizen&#39;s consent" in page
    assert "सडक निर्माणको धुलोले हाम्रो मकैबारी ढाकेको छ।" in page and 'value="phone" selected' in page
    unknown_way = client.post(PAGE, data=form(token, channel="pigeon")).get_data(as_text=True)
    assert "say how the grievance was received" in unknown_way
    with demo.sessions() as session:
        assert session.scalars(select(Grievance)).all() == []


def test_the_api_files_a_grievance_received_by_phone_with_the_same_rules(demo: Store, clock: FakeClock) -> None:
    client = client_for(demo)
    manager = token_for(demo, clock, "manager.kkr@grm.example")
    body = {
        "project_code": "KKR-01",
        "details": "Told by phone: the culvert floods our yard.",
        "name": "Hari Magar",
        "phone": "9841000123",
        "district_id": 30,
        "received": "phone",
    }
    refused = client.post("/api/v1/grievances", json=body, headers=manager)
    assert refused.status_code == 422 and error_of(refused)["field"] == "consent"
    wrong = client.post("/api/v1/grievances", json=body | {"received": "pigeon", "consent": True}, headers=manager)
    assert wrong.status_code == 422 and error_of(wrong)["field"] == "received"
    typed = client.post("/api/v1/grievances", json=body | {"consent": "yes"}, headers=manager)
    assert typed.status_code == 422 and error_of(typed)["message"].endswith("must be true or false")
    created = client.post("/api/v1/grievances", json=body | {"consent": True}, headers=manager)
    assert created.status_code == 201 and created.get_json()["channel"] == "phone"
    with demo.sessions() as session:
        case = session.scalars(select(Grievance)).one()
        # Taken down by the officer from the citizen: the number is theirs, the receipt goes by SMS.
        assert case.phone_verified
    [filing] = history(demo, case.id)
    assert filing.note == f"Received by phone; {CONSENT}"


def act(page: Page, move: str, text: str | None = None, **choices: str) -> None:
    """Submit one move's form on the case page, as an officer would."""
    form = page.locator(f"[data-testid=move-{move}]")
    for name, value in choices.items():
        form.locator(f"select[name={name}]").select_option(value)
    if text is not None:
        form.locator("textarea[name=text]").fill(text)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("width", [360, 1280])
def test_an_officer_files_a_walk_in_corrects_records_the_answer_and_reopens_in_chromium(
    demo: Store, chromium: Browser, screenshot: Screenshot, width: int
) -> None:
    """The officers' flows of the issue, in a real browser on a phone and a desktop: a walk-in
    grievance with its scanned letter, the category corrected, the citizen's acceptance heard
    in person, the case reopened with a reason; none needs sideways scrolling."""
    app = create_app({"GRM_STORE": demo, "SECRET_KEY": "test-secret"})
    context = chromium.new_context(viewport={"width": width, "height": 800}, is_mobile=width < 600)
    page = context.new_page()
    try:
        with live_server(app) as base_url:
            sign_in_page(page, base_url, "manager.kkr@grm.example", PASSWORD)
            page.goto(f"{base_url}{PAGE}")
            page.select_option("#channel", "in_person")
            page.select_option("#project_code", "KKR-01")
            page.fill("#details", "Blasting at the quarry cracked the wall of our cowshed last night.")
            page.select_option("#municipality_id", str(HETAUDA))
            page.fill("#ward", "4")
            page.fill("#name", "Sunita Tamang")
            page.fill("#phone", "9841234567")
            page.check("#consent")
            page.set_input_files("#letter", files={"name": "letter.png", "mimeType": "image/png", "buffer": PNG})
            assert page.evaluate(SIDEWAYS) == 0
            screenshot(page, f"backoffice-new-grievance-{width}px")
            page.click("text=File the grievance")
            page.wait_for_url("**/admin/grievance/case/**")
            assert page.locator("text=Filed: GR-").count() == 1
            act(page, "recategorise", category="land.property_damage")
            act(page, "acknowledge")
            act(page, "resolve", "The contractor rebuilt the wall on 3 Poush.")
            act(page, "citizen_answer", answer="accepted", way="in person")
            assert page.locator("text=the citizen accepted the resolution in person").count() == 1
            assert page.evaluate(SIDEWAYS) == 0
            screenshot(page, f"backoffice-case-answered-{width}px")
            act(page, "reopen", "The new wall cracked again after this week's blasting.")
            assert page.locator("text=The new wall cracked again").count() >= 1
            assert page.evaluate(SIDEWAYS) == 0
            screenshot(page, f"backoffice-case-reopened-{width}px")
            for screen in ("reports", "dashboard"):
                page.goto(f"{base_url}/admin/{'reports' if screen == 'reports' else ''}")
                assert page.evaluate(SIDEWAYS) == 0, screen
                screenshot(page, f"backoffice-{screen}-{width}px")
    finally:
        context.close()
    with demo.sessions() as session:
        case = session.scalars(select(Grievance)).one()
        assert (case.channel, case.status) == (Channel.IN_PERSON, Status.IN_PROGRESS)
    assert [(step.action, step.actor_kind) for step in history(demo, case.id)] == [
        (Action.FILE, ActorKind.OFFICER),
        (Action.ACKNOWLEDGE, ActorKind.OFFICER),
        (Action.RESOLVE, ActorKind.OFFICER),
        (Action.ACCEPT, ActorKind.OFFICER),
        (Action.REOPEN, ActorKind.OFFICER),
    ]
