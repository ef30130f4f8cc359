"""`python -m ticketing.scheduler`: the jobs that keep cases moving when nobody acts.

An APScheduler 3 BlockingScheduler keeps its jobs in the ticket database (table
scheduler_job), each under a fixed id, replaced at every start, coalesced when runs were
missed, in UTC. Each job works in batches, one transaction each, and every batch locks the
rows it takes (SKIP LOCKED on PostgreSQL; SQLite has one writer at a time), so two
scheduler processes, or a run repeated after a crash, never move a case twice or queue a
message twice (see ticketing.cases.sweeps, ticketing.notify.notifications, ticketing.notify.outbox).

    python -m ticketing.scheduler                  run the jobs until stopped
    python -m ticketing.scheduler once JOB...      run jobs once now (escalate, warn, close,
                                                   plan, dispatch, triage, purge, report)
    python -m ticketing.scheduler report [--month YYYY-MM] [--no-email]
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ticketing.cases.attachments import purge_expired_uploads
from ticketing.cases.sweeps import close_silent_resolutions, escalate_overdue
from ticketing.catalog import catalog
from ticketing.clock import Clock, SystemClock
from ticketing.config import SILENT_CONVERSATION_DAYS, Settings, load_settings
from ticketing.notify.notifications import plan_notifications, queue_deadline_warnings
from ticketing.notify.outbox import Dispatched, WhatsAppRules, dispatch
from ticketing.notify.senders import Sender, senders_for
from ticketing.reporting.report import build_report, previous_month, queue_report, write_report
from ticketing.store.allowances import forget_spent_allowances
from ticketing.store.case_models import Grievance, scheduler_job
from ticketing.store.conversations import forget_silent_conversations
from ticketing.store.db import Store, open_store
from ticketing.store.vocabulary import NotificationChannel
from ticketing.values.dates import NEPAL

if TYPE_CHECKING:
    from ticketing.triage.triager import Triager

logger = logging.getLogger("ticketing.scheduler")
# The line the launcher waits for before it counts the scheduler as started.
SCHEDULER_READY = "scheduler ready"

# Seconds between runs of each interval job (GRM_SCHEDULER_TICK_SECONDS sets them all, for demos and tests).
INTERVALS = {"plan": 15, "dispatch": 10, "escalate": 60, "warn": 300, "close": 3600, "triage": 300, "purge": 3600}


@dataclass(frozen=True)
class SchedulerSettings:
    intervals: Mapping[str, int]
    warn_before: timedelta
    report_addresses: list[str]
    whatsapp: WhatsAppRules
    # Rows a transaction takes at most: short transactions keep row locks brief.
    batch: int = 500
    # A conversation silent this long is deleted from Rasa's store (ticketing.store.conversations).
    conversation_days: int = SILENT_CONVERSATION_DAYS

    @classmethod
    def of(cls, settings: Settings) -> SchedulerSettings:
        schedule = settings.schedule
        return cls(
            intervals={name: schedule.tick_seconds or seconds for name, seconds in INTERVALS.items()},
            warn_before=timedelta(hours=schedule.warn_before_hours),
            report_addresses=list(schedule.report_emails),
            whatsapp=WhatsAppRules(settings.twilio.whatsapp_template_sid if settings.twilio else None),
            batch=schedule.batch,
            conversation_days=schedule.conversation_days,
        )


class Jobs:
    """One run of each job, in batches until nothing is left; each returns what it did."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        senders: Mapping[NotificationChannel, Sender],
        settings: SchedulerSettings,
    ) -> None:
        self.store, self.clock, self.senders, self.settings = store, clock, senders, settings
        self._triager: Triager | None = None

    def _batches(self, step: Callable[[Session, int], int]) -> int:
        done = 0
        while True:
            with self.store.sessions.begin() as session:
                count = step(session, self.settings.batch)
            done += count
            if count < self.settings.batch:
                return done

    def escalate(self) -> int:
        return self._batches(lambda session, limit: len(escalate_overdue(session, self.clock, limit)))

    def warn(self) -> int:
        lead = self.settings.warn_before
        return self._batches(lambda session, limit: queue_deadline_warnings(session, self.clock, lead, limit))

    def close(self) -> int:
        return self._batches(lambda session, limit: len(close_silent_resolutions(session, self.clock, limit)))

    def plan(self) -> int:
        return self._batches(lambda session, limit: plan_notifications(session, self.clock, limit))

    def dispatch(self) -> int:
        sent, limit = 0, self.settings.batch
        while True:
            outcome: Dispatched = dispatch(self.store, self.clock, self.senders, self.settings.whatsapp, limit)
            sent += outcome.sent
            if outcome.sent + outcome.retried + outcome.failed < limit:
                return sent

    def triage(self) -> int:
        """Triage grievances filed while triage was unavailable (the model loads on first need)."""
        # Imported here: the models take memory and seconds that most runs never need.
        from ticketing.triage import build_triager, labels_from_catalog, officer_examples
        from ticketing.triage.backlog import triage_backlog

        with self.store.sessions() as session:
            if not session.scalar(select(exists().where(Grievance.needs_triage.is_(True)))):
                return 0
            labels = labels_from_catalog(catalog(session))
            if self._triager is None or self._triager.labels != labels:
                self._triager = build_triager(labels, officer_examples(session), self.store.settings.models)
        triager = self._triager
        return self._batches(lambda session, limit: triage_backlog(session, self.clock, triager, limit))

    def purge(self) -> int:
        """Delete chat files nobody claimed in time (their bytes too, once nothing else holds
        them), the counted events no allowance looks at any more, and conversations left silent."""
        with self.store.sessions.begin() as session:
            forget_spent_allowances(session, self.clock.now())
        silent_for = timedelta(days=self.settings.conversation_days)
        forget_silent_conversations(self.store.settings, self.clock.now(), silent_for)
        directory = self.store.settings.files
        return self._batches(lambda session, limit: purge_expired_uploads(session, self.clock, directory, limit))

    def report(self, month: date | None = None, email: bool = True) -> list[str]:
        """Write the month's report (the last month by default) and queue its email."""
        now = self.clock.now()
        with self.store.sessions.begin() as session:
            report = build_report(session, month or previous_month(now), now)
            files = write_report(report, self.store.settings.var_dir / "reports")
            if email:
                queue_report(session, now, report, files, self.settings.report_addresses)
        return [str(path) for path in files]


# APScheduler stores a job as a reference to a module-level function and its arguments; the
# process's Jobs object is set once by `build_scheduler`. The reference is built from
# __name__, so that under `python -m` it names this very module object (__main__), whose
# `_jobs` is the one set, rather than a second import of ticketing.scheduler.
_jobs: Jobs | None = None


def run_job(name: str) -> None:
    assert _jobs is not None, "build_scheduler sets the jobs before the scheduler starts"
    done = getattr(_jobs, name)()
    if done:
        logger.info("%s: %s", name, done)


def build_scheduler(jobs: Jobs) -> BlockingScheduler:
    """The scheduler with every job registered under its own id in the database job store."""
    global _jobs
    _jobs = jobs
    scheduler = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=jobs.store.engine, tablename=scheduler_job.name)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone="UTC",
    )
    for name, seconds in jobs.settings.intervals.items():
        scheduler.add_job(
            f"{__name__}:run_job",
            IntervalTrigger(seconds=seconds),
            args=[name],
            id=name,
            name=name,
            replace_existing=True,
        )
    # The 1st of each month, 06:00 in Nepal: the report of the month just ended.
    scheduler.add_job(
        f"{__name__}:run_job",
        CronTrigger(day=1, hour=6, timezone=NEPAL),
        args=["report"],
        id="monthly_report",
        name="monthly_report",
        replace_existing=True,
    )
    return scheduler


def main(argv: list[str] | None = None, clock: Clock | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ticketing.scheduler", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    once = commands.add_parser("once", help="run jobs once, now")
    once.add_argument("names", nargs="+", choices=[*INTERVALS, "report"])
    report = commands.add_parser("report", help="make a monthly report now")
    report.add_argument("--month", help="YYYY-MM (default: the month before this one)")
    report.add_argument("--no-email", action="store_true", help="write the files only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Each request and each run would otherwise fill the log; what the jobs did is logged here.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)

    settings = load_settings()
    jobs = Jobs(open_store(settings), clock or SystemClock(), senders_for(settings), SchedulerSettings.of(settings))
    if args.command == "once":
        for name in args.names:
            print(f"{name}: {getattr(jobs, name)()}")
        return 0
    if args.command == "report":
        month = datetime.strptime(args.month, "%Y-%m").date() if args.month else None
        for path in jobs.report(month, email=not args.no_email):
            print(path)
        return 0
    scheduler = build_scheduler(jobs)
    # Stop between jobs on SIGTERM (make run, systemd); a batch cut short rolls back whole.
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    logger.info("%s: %d jobs", SCHEDULER_READY, len(scheduler.get_jobs()))
    try:
        scheduler.start()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
