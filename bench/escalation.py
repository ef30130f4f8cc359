"""Benchmark of the escalation scheduler at 100,000 open tickets, on SQLite and PostgreSQL.

Seeds 100,000 open tickets (10,000 of them past their deadline), then times one sweep as
the scheduler runs it: `Jobs.escalate` (lock, escalate, re-route, history) followed by
`Jobs.plan` (the notifications of every escalation queued in the outbox). Then times
`Jobs.dispatch` sending the citizens' SMS through the real `twilio` client to a local
stand-in of Twilio's API. Rewrites its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from report import BENCHMARKS, fresh_postgres_database, machine, verdict, write_section
from seeding import CHUNK, DEMO_PASSWORD, grievance_row, insert_complainants, insert_grievances
from sqlalchemy import func, select, update

from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, fake_twilio
from ticketing.catalog import catalog
from ticketing.config import Settings, Twilio
from ticketing.lifecycle import Status
from ticketing.notify.outbox import WhatsAppRules
from ticketing.notify.senders import FileSender, TwilioSender
from ticketing.places.locations import Place
from ticketing.routing import route
from ticketing.scheduler import INTERVALS, Jobs, SchedulerSettings
from ticketing.sla import Deadlines
from ticketing.store.bootstrap import prepare, seed_demo
from ticketing.store.case_models import Notification
from ticketing.store.crypto import generate_key_material
from ticketing.store.db import Store, open_store
from ticketing.store.vocabulary import NotificationChannel, NotificationStatus, Priority

KEYS = generate_key_material()
NOW = datetime(2026, 6, 1, tzinfo=UTC)
TARGET_SWEEP_S = 10.0
COMPLAINANTS = 10_000


class Frozen:
    def now(self) -> datetime:
        return NOW


@dataclass
class Result:
    backend: str
    seed_s: float
    escalated: int
    escalate_s: float
    queued: int
    plan_s: float
    dispatched: int
    dispatch_s: float

    @property
    def sweep_s(self) -> float:
        return self.escalate_s + self.plan_s


def seed(store: Store, tickets: int, due: int) -> None:
    """Open tickets in bulk (no history: they were filed and announced long ago)."""
    rng = random.Random(5)
    with store.sessions.begin() as session:
        seed_demo(session, Frozen(), DEMO_PASSWORD)
    with store.sessions.begin() as session:
        config = catalog(session)
        project = config.project("KKR-01")
        place = Place(3, 30, 337)
        holders = {
            level: route(session, config, project.id, level, place, None, Priority.NORMAL) for level in (1, 2, 3)
        }
        insert_complainants(session, COMPLAINANTS, NOW)
    deadlines = Deadlines()
    for start in range(0, tickets, CHUNK):
        rows = []
        for n in range(start, min(start + CHUNK, tickets)):
            overdue = n % (tickets // due) == 0
            level = 1 + n % 3
            status = (
                Status.NEW if level == 1 and (n // 7) % 2 else Status.IN_PROGRESS if level == 1 else Status.ESCALATED
            )
            hours = deadlines.response_hours if status is Status.NEW else deadlines.level_hours[level - 1]
            entered = NOW - timedelta(hours=hours + 1 if overdue else rng.uniform(0, hours - 1))
            rows.append(
                grievance_row(
                    reference=f"GR-B{n // 10000:03d}-{n % 10000:04d}",
                    project_id=project.id,
                    complainant_id=1 + n % COMPLAINANTS,
                    place=place,
                    status=status,
                    level=level,
                    assignee_id=holders[level],
                    created_at=entered,
                    details="Dust from the trucks covers our maize field every day.",
                    summary="Dust from the trucks covers the maize field.",
                    ward=4,
                    due_at=entered + timedelta(hours=hours),
                    acknowledged_at=None if status is Status.NEW else entered,
                )
            )
        with store.sessions.begin() as session:
            insert_grievances(session, rows)
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")


def run_backend(backend: str, url: str, var_dir: Path, tickets: int, due: int) -> Result:
    print(f"{backend}: seeding {tickets:,} open tickets ({due:,} due)...", flush=True)
    store = open_store(Settings(url, var_dir, KEYS["GRM_ENCRYPTION_KEYS"], KEYS["GRM_PHONE_HASH_KEY"]))
    prepare(store)
    started = time.perf_counter()
    seed(store, tickets, due)
    seed_s = time.perf_counter() - started
    settings = SchedulerSettings(INTERVALS, timedelta(hours=24), [], WhatsAppRules())
    file_sender = FileSender(var_dir / f"{backend}-notifications.jsonl")
    with fake_twilio() as twilio:
        sms = TwilioSender(Twilio(ACCOUNT_SID, AUTH_TOKEN, "+15005550006", api_url=twilio.url), None)
        senders = {channel: file_sender for channel in NotificationChannel} | {NotificationChannel.SMS: sms}
        jobs = Jobs(store, Frozen(), senders, settings)
        started = time.perf_counter()
        escalated = jobs.escalate()
        escalate_s = time.perf_counter() - started
        started = time.perf_counter()
        jobs.plan()
        plan_s = time.perf_counter() - started
        with store.sessions.begin() as session:
            queued = session.scalar(select(func.count()).select_from(Notification)) or 0
            # The dispatch figure is for SMS through Twilio's API; emails wait.
            session.execute(
                update(Notification)
                .where(Notification.channel != NotificationChannel.SMS)
                .values(status=NotificationStatus.CANCELLED)
            )
        started = time.perf_counter()
        dispatched = jobs.dispatch()
        dispatch_s = time.perf_counter() - started
        assert len(twilio.messages) == dispatched
    store.engine.dispose()
    result = Result(backend, seed_s, escalated, escalate_s, queued, plan_s, dispatched, dispatch_s)
    print(result, flush=True)
    return result


def report(results: list[Result], tickets: int, due: int) -> str:
    lines = [
        "## Escalation scheduler (`bench/escalation.py`)",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        (
            f"- {tickets:,} open tickets, {due:,} of them past their deadline (new ones past the 24 h response time, "
            "others past their level's time, levels 1 to 3). The sweep is one run of the escalation job "
            "(batches of 500, each locked with SKIP LOCKED, escalated, re-routed, with status change and audit rows) "
            "followed by one run of the planning job (each escalation's messages queued in the outbox: four levels' "
            "officers by email and the citizen by SMS)."
        ),
        (
            "- Dispatch: the citizens' SMS sent through the real `twilio` client to a local stand-in of Twilio's API "
            "(4 sending threads, batches of 500), with the outbox rows claimed and recorded in the database."
        ),
        "",
        "| backend | escalated | escalate | queued | plan | sweep (both) | SMS sent | dispatch rate |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.escalated:,} | {r.escalate_s:.2f} s | {r.queued:,} | {r.plan_s:.2f} s | "
            f"{r.sweep_s:.2f} s | {r.dispatched:,} | {r.dispatched / r.dispatch_s:,.0f}/s |"
        )
    for r in results:
        if r.backend == "postgresql":
            lines += [
                "",
                (
                    f"Target (PostgreSQL): the sweep of {due:,} due tickets with their notifications queued under "
                    f"{TARGET_SWEEP_S:.0f} s: {r.sweep_s:.2f} s, {verdict(r.sweep_s < TARGET_SWEEP_S)}."
                ),
            ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=BENCHMARKS)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="grm-bench-") as scratch:
        var_dir = Path(scratch)
        results.append(run_backend("sqlite", f"sqlite:///{var_dir / 'bench.sqlite3'}", var_dir, args.tickets, args.due))
        url = fresh_postgres_database("grm_bench_escalation")
        if url is not None:
            results.append(run_backend("postgresql", url, var_dir, args.tickets, args.due))
    text = report(results, args.tickets, args.due)
    write_section("escalation", text, args.out)
    print(text)


if __name__ == "__main__":
    main()
