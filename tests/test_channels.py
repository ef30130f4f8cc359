"""Notifications on the wire: the real `twilio` client against a local stand-in of Twilio's
API, email to a local SMTP server, WhatsApp's 24-hour rule, retries and dead letters, and
Twilio's signed delivery reports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from twilio.request_validator import RequestValidator

from admin_app import create_app
from tests.fakes import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FakeSmtp,
    FakeTwilio,
    fake_smtp,
    fake_twilio,
    self_signed_certificate,
)
from tests.helpers import FakeClock, file, make_jobs
from ticketing.config import Smtp, Twilio, load_settings
from ticketing.errors import ConfigurationError
from ticketing.notify.outbox import MAX_ATTEMPTS, claim
from ticketing.notify.senders import (
    TWILIO_STATUS_PATH,
    DeliveryError,
    Outgoing,
    SmtpSender,
    TwilioSender,
    senders_for,
)
from ticketing.scheduler import Jobs
from ticketing.store.case_models import Complainant, Notification, NotificationAttempt
from ticketing.store.db import Store
from ticketing.store.vocabulary import Audience, Channel, NotificationChannel, NotificationStatus

CITIZEN_PHONE = "+9779841234567"
SMS_FROM, WHATSAPP_FROM = "+15005550006", "+14155238886"
CALLBACK = "https://grm.example.org" + TWILIO_STATUS_PATH


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with fake_twilio() as fake:
        yield fake


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with fake_smtp() as fake:
        yield fake


def twilio_jobs(store: Store, clock: FakeClock, twilio: FakeTwilio, template: str | None = None) -> Jobs:
    sender = TwilioSender(Twilio(ACCOUNT_SID, AUTH_TOKEN, SMS_FROM, WHATSAPP_FROM, api_url=twilio.url), CALLBACK)
    senders = {NotificationChannel.SMS: sender, NotificationChannel.WHATSAPP: sender}
    return make_jobs(store, clock, senders, whatsapp_template=template)


def escalate_one(store: Store, clock: FakeClock, jobs: Jobs, twilio: FakeTwilio, **changes: object) -> str:
    """File a case (its receipt sent and forgotten), let its response time pass and plan the
    escalation's messages: the one message to the citizen these tests follow."""
    grievance = file(store, clock, **changes)
    jobs.plan()
    jobs.dispatch()
    twilio.messages.clear()
    clock.advance(hours=25)
    assert jobs.escalate() == 1
    jobs.plan()
    return grievance.reference


def citizen_rows(store: Store) -> list[Notification]:
    """The citizen's messages after the receipt."""
    with store.sessions() as session:
        after_filing = (Notification.audience == Audience.CITIZEN, Notification.template != "received")
        return list(session.scalars(select(Notification).where(*after_filing)))


def test_an_sms_goes_through_the_twilio_client(demo: Store, clock: FakeClock, twilio: FakeTwilio) -> None:
    jobs = twilio_jobs(demo, clock, twilio)
    reference = escalate_one(demo, clock, jobs, twilio)
    jobs.dispatch()
    [message] = twilio.messages
    assert (message["To"], message["From"], message["StatusCallback"]) == (CITIZEN_PHONE, SMS_FROM, CALLBACK)
    assert reference in message["Body"] and "level 2 of 4" in message["Body"]
    [row] = citizen_rows(demo)
    assert (row.status, row.provider_id, row.attempts) == (NotificationStatus.SENT, message["Sid"], 1)
    assert twilio.unauthorised == 0


def test_whatsapp_is_free_text_within_24_hours_of_the_citizens_last_message(
    demo: Store, clock: FakeClock, twilio: FakeTwilio
) -> None:
    jobs = twilio_jobs(demo, clock, twilio, template="HX" + "1" * 32)
    escalate_one(demo, clock, jobs, twilio, channel=Channel.WHATSAPP)
    with demo.sessions.begin() as session:
        session.execute(update(Complainant).values(whatsapp_inbound_at=clock.now() - timedelta(hours=23)))
    jobs.dispatch()
    [message] = twilio.messages
    assert (message["To"], message["From"]) == (f"whatsapp:{CITIZEN_PHONE}", f"whatsapp:{WHATSAPP_FROM}")
    assert "Body" in message and "ContentSid" not in message


def test_outside_the_window_whatsapp_takes_the_approved_template(
    demo: Store, clock: FakeClock, twilio: FakeTwilio
) -> None:
    template = "HX" + "2" * 32
    jobs = twilio_jobs(demo, clock, twilio, template=template)
    reference = escalate_one(demo, clock, jobs, twilio, channel=Channel.WHATSAPP)
    with demo.sessions.begin() as session:
        session.execute(update(Complainant).values(whatsapp_inbound_at=clock.now() - timedelta(hours=25)))
    jobs.dispatch()
    [message] = twilio.messages
    assert message["ContentSid"] == template and "Body" not in message
    assert json.loads(message["ContentVariables"]) == {"1": reference, "2": f"Grievance {reference} passed to level 2"}


def test_without_a_template_a_message_outside_the_window_goes_by_sms(
    demo: Store, clock: FakeClock, twilio: FakeTwilio
) -> None:
    jobs = twilio_jobs(demo, clock, twilio)
    escalate_one(demo, clock, jobs, twilio, channel=Channel.WHATSAPP)
    jobs.dispatch()
    [message] = twilio.messages
    assert (message["To"], message["From"]) == (CITIZEN_PHONE, SMS_FROM)
    [row] = citizen_rows(demo)
    assert (row.channel, row.status) == (NotificationChannel.SMS, NotificationStatus.SENT)


def test_failures_are_retried_with_growing_waits(demo: Store, clock: FakeClock, twilio: FakeTwilio) -> None:
    jobs = twilio_jobs(demo, clock, twilio)
    escalate_one(demo, clock, jobs, twilio)
    twilio.fail_next = 2
    jobs.dispatch()
    [row] = citizen_rows(demo)
    assert (row.status, row.attempts, row.next_attempt_at) == (
        NotificationStatus.PENDING,
        1,
        clock.now() + timedelta(minutes=1),
    )
    assert "503" in (row.last_error or "")
    jobs.dispatch()
    assert citizen_rows(demo)[0].attempts == 1  # not due yet
    clock.advance(minutes=1)
    jobs.dispatch()
    [row] = citizen_rows(demo)
    assert (row.attempts, row.next_attempt_at) == (2, clock.now() + timedelta(minutes=2))
    clock.advance(minutes=2)
    jobs.dispatch()
    [row] = citizen_rows(demo)
    assert (row.status, row.attempts, row.last_error) == (NotificationStatus.SENT, 3, None)
    assert len(twilio.messages) == 1
    with demo.sessions() as session:
        tries = session.execute(
            select(NotificationAttempt.outcome, NotificationAttempt.provider_id, NotificationAttempt.error)
            .where(NotificationAttempt.notification_id == row.id)
            .order_by(NotificationAttempt.id)
        ).all()
    # Every try is on record, with what came of it.
    assert [(outcome, provider_id) for outcome, provider_id, _ in tries] == [
        ("retry", None),
        ("retry", None),
        ("sent", twilio.messages[0]["Sid"]),
    ]
    assert "503" in (tries[0].error or "") and tries[2].error is None


def test_a_message_that_keeps_failing_becomes_a_dead_letter(demo: Store, clock: FakeClock, twilio: FakeTwilio) -> None:
    jobs = twilio_jobs(demo, clock, twilio)
    escalate_one(demo, clock, jobs, twilio)
    twilio.fail_next = 1000
    for _ in range(MAX_ATTEMPTS + 2):
        jobs.dispatch()
        clock.advance(hours=2)
    [row] = citizen_rows(demo)
    assert (row.status, row.attempts) == (NotificationStatus.FAILED, MAX_ATTEMPTS)
    assert twilio.messages == []


def test_a_refused_number_fails_at_once(demo: Store, clock: FakeClock, twilio: FakeTwilio) -> None:
    jobs = twilio_jobs(demo, clock, twilio)
    escalate_one(demo, clock, jobs, twilio)
    twilio.refuse[CITIZEN_PHONE] = (400, 21211)
    jobs.dispatch()
    [row] = citizen_rows(demo)
    assert (row.status, row.attempts) == (NotificationStatus.FAILED, 1)
    assert "21211" in (row.last_error or "")


def test_officers_get_email_through_smtp(demo: Store, clock: FakeClock, smtp: FakeSmtp) -> None:
    sender = SmtpSender(Smtp("127.0.0.1", smtp.port, "grm@grm.example"))
    jobs = make_jobs(demo, clock, {NotificationChannel.EMAIL: sender})
    grievance = file(demo, clock)
    jobs.plan()
    smtp.refuse.add("piu.kkr@grm.example")
    jobs.dispatch()
    [email] = smtp.messages
    assert (email["To"], email["From"]) == ("site.kkr@grm.example", "grm@grm.example")
    assert email["Subject"] == f"[GRM] For action: new grievance {grievance.reference}"
    body = email.get_content()
    assert "Dust from the trucks" in body and "(Nepal time)" in body
    with demo.sessions() as session:
        emails = select(Notification.status).where(Notification.channel == NotificationChannel.EMAIL)
        statuses = sorted(session.scalars(emails).all())
    assert statuses == sorted([NotificationStatus.SENT, NotificationStatus.FAILED])  # 550: refused for good


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_smtp_over_tls_trusts_only_a_verified_certificate(
    demo: Store, clock: FakeClock, tmp_path: Path, security: str
) -> None:
    certificate = self_signed_certificate(tmp_path)
    smtp_env = {
        "GRM_SMTP_HOST": "localhost",
        "GRM_SMTP_SECURITY": security,
        "GRM_MAIL_FROM": "grm@grm.example",
        "GRM_VAR_DIR": str(tmp_path),
        "GRM_PUBLIC_URL": "https://grm.example.org",
    }
    with fake_smtp(certificate, security) as smtp:
        smtp_env["GRM_SMTP_PORT"] = str(smtp.port)
        # Without the private CA, the stand-in could be anyone listening on that port.
        untrusting = senders_for(load_settings(smtp_env))
        jobs = make_jobs(demo, clock, {NotificationChannel.EMAIL: untrusting[NotificationChannel.EMAIL]})
        file(demo, clock)
        jobs.plan()
        jobs.dispatch()
        assert smtp.messages == []
        with demo.sessions() as session:
            rows = session.scalars(select(Notification).where(Notification.channel == NotificationChannel.EMAIL)).all()
            assert rows and all(row.status is NotificationStatus.PENDING for row in rows)  # kept, tried again later
            assert all("certificate" in (row.last_error or "") for row in rows)
        with pytest.raises(DeliveryError, match="certificate") as refused:
            untrusting[NotificationChannel.EMAIL].send(Outgoing(NotificationChannel.EMAIL, "a@grm.example", "s", "b"))
        assert not refused.value.permanent

        trusting = senders_for(load_settings(smtp_env | {"GRM_SMTP_CA_FILE": str(certificate.cert_file)}))
        trusting[NotificationChannel.EMAIL].send(Outgoing(NotificationChannel.EMAIL, "a@grm.example", "Hello", "b"))
        assert [message["Subject"] for message in smtp.messages] == ["Hello"]


def test_an_unreadable_ca_file_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="GRM_SMTP_CA_FILE"):
        SmtpSender(Smtp("localhost", 465, "grm@grm.example", security="ssl", ca_file=str(tmp_path / "missing.pem")))


def signed_post(client: object, params: dict[str, str], token: str = AUTH_TOKEN) -> int:
    signature = RequestValidator(token).compute_signature(CALLBACK, params)
    response = client.post(TWILIO_STATUS_PATH, data=params, headers={"X-Twilio-Signature": signature})  # type: ignore[attr-defined]
    return int(response.status_code)


def test_twilio_delivery_reports_update_the_row_when_signed(demo: Store, clock: FakeClock, twilio: FakeTwilio) -> None:
    jobs = twilio_jobs(demo, clock, twilio)
    escalate_one(demo, clock, jobs, twilio)
    jobs.dispatch()
    [message] = twilio.messages
    sid = message["Sid"]
    app = create_app({"GRM_STORE": demo, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "GRM_PUBLIC_URL": "https://grm.example.org"})
    client = app.test_client()

    report = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}
    assert signed_post(client, report, token="wrong-token") == 403
    assert client.post(TWILIO_STATUS_PATH, data=report).status_code == 403
    assert citizen_rows(demo)[0].delivery_status is None

    assert signed_post(client, report) == 204
    assert signed_post(client, {**report, "MessageStatus": "sent"}) == 204  # late, out of order
    [row] = citizen_rows(demo)
    assert (row.status, row.delivery_status) == (NotificationStatus.SENT, "delivered")

    assert signed_post(client, {**report, "MessageStatus": "undelivered", "ErrorCode": "30003"}) == 204
    [row] = citizen_rows(demo)
    assert (row.status, row.delivery_status) == (NotificationStatus.FAILED, "undelivered")
    assert "30003" in (row.last_error or "")
    assert signed_post(client, {**report, "MessageSid": "SM" + "f" * 32}) == 204  # not ours: ignored


def test_the_delivery_hook_is_closed_without_twilio(demo: Store) -> None:
    client = create_app({"GRM_STORE": demo, "TWILIO_AUTH_TOKEN": None}).test_client()
    assert client.post(TWILIO_STATUS_PATH, data={"MessageSid": "SM1", "MessageStatus": "delivered"}).status_code == 404


def test_a_dispatcher_that_dies_after_claiming_delays_its_rows_by_the_lease(
    demo: Store, clock: FakeClock, twilio: FakeTwilio
) -> None:
    jobs = twilio_jobs(demo, clock, twilio)
    escalate_one(demo, clock, jobs, twilio)
    with demo.sessions.begin() as session:
        claimed = claim(session, clock.now(), 100)  # ... and the process is killed here
        assert len(claimed) == 5  # escalated: 4 officers and the citizen (the receipts went at filing)
    assert jobs.dispatch() == 0  # another dispatcher leaves the claimed rows alone
    clock.advance(minutes=5)
    assert jobs.dispatch() == 5
    assert len(twilio.messages) == 1
    [row] = citizen_rows(demo)
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 2)
