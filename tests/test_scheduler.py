"""Two real scheduler processes over one PostgreSQL database and a burst of overdue cases:
every case climbs exactly once, and every person is told exactly once, through Twilio's
API (a local stand-in) and SMTP (a local server)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from launcher.processes import Service, start_all, stop_all
from tests.conftest import TEST_KEYS, private_postgres_database, settings_for
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, fake_smtp, fake_twilio
from tests.helpers import PASSWORD, FakeClock, submission
from ticketing.cases.filing import file_grievance
from ticketing.config import PROJECT_ROOT
from ticketing.lifecycle import Action
from ticketing.scheduler import SCHEDULER_READY
from ticketing.store.bootstrap import prepare, seed_demo
from ticketing.store.case_models import Grievance, Notification, StatusChange, scheduler_job
from ticketing.store.db import open_store
from ticketing.store.vocabulary import NotificationStatus

BURST = 60
SETTLE_SECONDS = 120


@pytest.mark.e2e
def test_two_schedulers_escalate_and_tell_each_case_once(tmp_path: Path) -> None:
    with private_postgres_database("schedulers") as url, fake_twilio() as twilio, fake_smtp() as smtp:
        store = open_store(settings_for(url, tmp_path))
        prepare(store)
        # Filed two days ago: every response deadline has passed.
        clock = FakeClock(datetime.now(UTC) - timedelta(days=2))
        with store.sessions.begin() as session:
            seed_demo(session, clock, PASSWORD)
            references = [
                file_grievance(session, clock, submission(phone=f"98412{n:05d}")).reference for n in range(BURST)
            ]
        environment = {
            "DATABASE_URL": url,
            "GRM_VAR_DIR": str(tmp_path),
            **TEST_KEYS,
            "GRM_SCHEDULER_TICK_SECONDS": "1",
            # Small batches, so that the two processes take turns over the burst.
            "GRM_SCHEDULER_BATCH": "7",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "GRM_TWILIO_SMS_FROM": "+15005550006",
            "GRM_TWILIO_API_URL": twilio.url,
            "GRM_SMTP_HOST": "127.0.0.1",
            "GRM_SMTP_PORT": str(smtp.port),
        }
        schedulers = [
            Service(
                f"scheduler {n}",
                [sys.executable, "-m", "ticketing.scheduler"],
                environment,
                None,
                tmp_path / f"scheduler-{n}.log",
                ready_line=SCHEDULER_READY,
            )
            for n in (1, 2)
        ]
        # Each case: received (2 officers and the citizen's receipt), escalated (4 officers and the citizen).
        expected_rows = BURST * 8
        start_all(schedulers)
        try:
            deadline = time.monotonic() + SETTLE_SECONDS
            while time.monotonic() < deadline:
                with store.sessions() as session:
                    sent = session.scalar(select(func.count()).where(Notification.status == NotificationStatus.SENT))
                if sent == expected_rows:
                    break
                time.sleep(0.5)
            time.sleep(3)  # a few more ticks: nothing more may happen
        finally:
            stop_all(schedulers)

        with store.sessions() as session:
            escalations = Counter(
                session.scalars(select(StatusChange.grievance_id).where(StatusChange.action == Action.ESCALATE))
            )
            levels = set(session.scalars(select(Grievance.level)))
            rows = Counter(session.scalars(select(Notification.status)))
            job_ids = set(session.scalars(select(scheduler_job.c.id)))
        assert sorted(escalations.values()) == [1] * BURST and levels == {2}
        assert rows == {NotificationStatus.SENT: expected_rows}
        sms = Counter(message["To"] for message in twilio.messages)
        assert len(sms) == BURST and set(sms.values()) == {2}  # the receipt and the escalation
        assert {ref for ref in references if any(ref in m["Body"] for m in twilio.messages)} == set(references)
        emails = Counter((str(m["To"]), str(m["Subject"])) for m in smtp.messages)
        assert sum(emails.values()) == BURST * 6 and set(emails.values()) == {1}
        assert job_ids == {"plan", "dispatch", "escalate", "warn", "close", "triage", "purge", "monthly_report"}
        # Both processes did part of the work.
        for scheduler in schedulers:
            assert "escalate:" in scheduler.log.read_text() or "dispatch:" in scheduler.log.read_text()
        store.engine.dispose()


def run_scheduler_command(tmp_path: Path, *arguments: str) -> list[str]:
    """`python -m ticketing.scheduler ...` over the SQLite store in tmp_path; its output lines."""
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'grm.sqlite3'}",
        "GRM_VAR_DIR": str(tmp_path),
        **TEST_KEYS,
    }
    done = subprocess.run(
        [sys.executable, "-m", "ticketing.scheduler", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        cwd=PROJECT_ROOT,
        timeout=300,
        check=True,
    )
    return done.stdout.splitlines()


@pytest.mark.e2e
def test_jobs_run_on_demand_from_the_command_line(tmp_path: Path) -> None:
    store = open_store(settings_for(f"sqlite:///{tmp_path / 'grm.sqlite3'}", tmp_path))
    prepare(store)
    clock = FakeClock(datetime.now(UTC) - timedelta(days=40))
    with store.sessions.begin() as session:
        seed_demo(session, clock, PASSWORD)
        waiting = file_grievance(
            session, clock, submission(category_code=None, needs_triage=True, details="Blasting cracked our wall")
        )
    # Triage loads its model only when a grievance waits for it, and the monthly report runs any time.
    assert run_scheduler_command(tmp_path, "once", "triage", "escalate", "plan", "dispatch") == [
        "triage: 1",
        "escalate: 1",
        "plan: 1",
        "dispatch: 8",
    ]
    month = (clock.now() + timedelta(days=5)).strftime("%Y-%m")
    xlsx, pdf = run_scheduler_command(tmp_path, "report", "--month", month, "--no-email")
    assert xlsx.endswith(f"grm-report-{month}.xlsx") and Path(pdf).read_bytes().startswith(b"%PDF")
    with store.sessions() as session:
        triaged = session.get_one(Grievance, waiting.id)
        assert not triaged.needs_triage and triaged.category_source == "ai" and triaged.level == 2
    sent = (tmp_path / "notifications.jsonl").read_text().splitlines()
    assert len(sent) == 8 and all(waiting.reference in line for line in sent)
    store.engine.dispose()
