"""Benchmark of the ticket store at 100,000 tickets, on SQLite and PostgreSQL.

Measures grievances filed per second through `file_grievance` (one unit of work each, as
the bot files them), the citizen lookup's latency, and the overdue sweep, then rewrites
its section of docs/benchmarks.md. Run it with `make bench` (or `.venv/bin/python bench/store.py -h`).
PostgreSQL is used when BENCH_DATABASE_URL or TEST_DATABASE_URL names a server that
answers; the benchmark works in a database of its own there (grm_bench), made anew.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import BENCHMARKS, fresh_postgres_database, machine, percentile, verdict, write_section

from ticketing.cases.filing import Submission, file_grievance
from ticketing.cases.lookups import find_for_citizen, list_overdue
from ticketing.config import Settings
from ticketing.errors import GrievanceNotFound
from ticketing.store.bootstrap import prepare, seed_demo
from ticketing.store.crypto import generate_key_material
from ticketing.store.db import Store, open_store
from ticketing.store.vocabulary import Channel

KEYS = generate_key_material()
NOW = datetime(2026, 6, 1, tzinfo=UTC)
SPAN = timedelta(days=180)  # the filings are spread over the half year before NOW
TARGETS = {"filed_per_s": 1000.0, "lookup_p95_ms": 5.0, "sweep_s": 1.0}
CATEGORIES = [
    "environment.dust",
    "environment.noise",
    "land.compensation",
    "safety.road",
    "labour.wages",
    "access.blocked",
    "community.conduct",
    "other",
    "gender.harassment",
    "environment.crops",
]
# (project, municipality ids in its district)
PLACES = [("KKR-01", [337, 338, 339]), ("NBR-02", [278])]
DETAILS = [
    "Dust from the trucks covers our maize field every day and the children cough at night.",
    "मेरो जग्गा सडकले लियो तर अहिलेसम्म मुआब्जा पाएको छैन।",
    "The contractor blocked the footpath to the school with gravel piles for two weeks.",
    "Blasting at the quarry cracked the wall of our house.",
]


class SimulatedClock:
    """Moves forward by a fixed step at every reading, spreading filings over SPAN."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        self.current, self.step = start, step

    def now(self) -> datetime:
        self.current += self.step
        return self.current


def settings_for(url: str, var_dir: Path) -> Settings:
    return Settings(url, var_dir, KEYS["GRM_ENCRYPTION_KEYS"], KEYS["GRM_PHONE_HASH_KEY"])


def submission(rng: random.Random, serial: str) -> tuple[Submission, str]:
    project, municipalities = rng.choice(PLACES)
    phone = f"98{rng.choice('4561')}{rng.randrange(10**7):07d}"
    return (
        Submission(
            project_code=project,
            details=rng.choice(DETAILS),
            channel=rng.choice([Channel.WEBCHAT, Channel.WHATSAPP, Channel.FACEBOOK]),
            name="Bench Citizen",
            phone=phone,
            municipality_id=rng.choice(municipalities),
            ward=1,
            category_code=rng.choice(CATEGORIES),
            idempotency_key=f"bench:{serial}",
        ),
        phone,
    )


def file_batch(
    url: str, var_dir: str, worker: int, count: int, offset: int, start: datetime, step: timedelta
) -> list[tuple[str, str]]:
    """One worker process: file `count` grievances, each in its own unit of work."""
    store = open_store(settings_for(url, Path(var_dir)))
    rng = random.Random(worker * 1_000_003 + offset)
    clock = SimulatedClock(start, step)
    sample: list[tuple[str, str]] = []
    for n in range(count):
        filed, phone = submission(rng, f"{worker}:{offset + n}")
        with store.sessions.begin() as session:
            reference = file_grievance(session, clock, filed).reference
        if n % 50 == 0:
            sample.append((reference, phone))
    store.engine.dispose()
    return sample


def file_in_parallel(
    url: str, var_dir: Path, total: int, workers: int, offset: int, start: datetime
) -> tuple[float, list[tuple[str, str]]]:
    """File `total` grievances with `workers` processes; returns (seconds, lookup sample)."""
    step = SPAN / 100_000
    share = total // workers
    context = multiprocessing.get_context("fork")
    began = time.perf_counter()
    with context.Pool(workers) as pool:
        parts = pool.starmap(
            file_batch,
            [(url, str(var_dir), w, share, offset, start + step * w * share, step) for w in range(workers)],
        )
    return time.perf_counter() - began, [pair for part in parts for pair in part]


def settle_statuses(store: Store) -> dict[str, int]:
    """Give the filed tickets a realistic life: most closed, some resolved, a few open."""
    statements = [
        # One ticket in fifty is still being worked on at level 2, due nine days after filing.
        "UPDATE grievance SET status='in_progress', level=2, due_at=created_at + INTERVAL '9 days' WHERE id % 50 = 0",
        (
            "UPDATE grievance SET status='resolved', due_at=NULL, resolved_at=created_at + INTERVAL '5 days'"
            " WHERE id % 50 IN (1, 2)"
        ),
        (
            "UPDATE grievance SET status='closed', due_at=NULL, closed_at=created_at + INTERVAL '12 days', close_reason='accepted'"
            " WHERE id % 50 > 2 AND created_at < :fresh"
        ),
    ]
    with store.sessions.begin() as session:
        dialect = session.get_bind().dialect.name
        for statement in statements:
            if dialect == "sqlite":
                statement = statement.replace("created_at + INTERVAL '9 days'", "datetime(created_at, '+9 days')")
                statement = statement.replace("created_at + INTERVAL '5 days'", "datetime(created_at, '+5 days')")
                statement = statement.replace("created_at + INTERVAL '12 days'", "datetime(created_at, '+12 days')")
            fresh = NOW - timedelta(days=2)
            session.execute(text(statement), {"fresh": fresh.replace(tzinfo=None) if dialect == "sqlite" else fresh})
        counts = dict(session.execute(text("SELECT status, count(*) FROM grievance GROUP BY status")).tuples().all())
    if dialect == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE grievance"))
    else:
        with store.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    return counts


def measure_lookups(store: Store, sample: list[tuple[str, str]]) -> dict[str, float]:
    rng = random.Random(7)
    timings: list[float] = []
    found = 0
    for reference, phone in sample:
        # One in ten asks with someone else's phone: the "not found" path must be as fast.
        asked_phone = phone if rng.random() > 0.1 else f"98{rng.choice('456')}{rng.randrange(10**7):07d}"
        began = time.perf_counter()
        with store.sessions() as session:
            try:
                find_for_citizen(session, reference, asked_phone)
                found += 1
            except GrievanceNotFound:
                pass
        timings.append((time.perf_counter() - began) * 1000)
    return {
        "lookups": len(timings),
        "found": found,
        "p50_ms": statistics.median(timings),
        "p95_ms": percentile(timings, 0.95),
        "p99_ms": percentile(timings, 0.99),
    }


def measure_sweep(store: Store) -> dict[str, float]:
    timings, rows = [], 0
    for _ in range(7):
        began = time.perf_counter()
        with store.sessions() as session:
            rows = len(list_overdue(session, NOW))
        timings.append(time.perf_counter() - began)
    return {"rows": rows, "median_s": statistics.median(timings), "max_s": max(timings)}


def query_plans(store: Store, reference: str) -> dict[str, str]:
    """The plans of the sweep and the lookup, to show they use indexes, not table scans."""
    from sqlalchemy import select

    from ticketing.lifecycle import OPEN_STATUSES
    from ticketing.store.case_models import Complainant, Grievance

    sweep = (
        select(Grievance.id, Grievance.reference, Grievance.status, Grievance.level, Grievance.due_at)
        .where(Grievance.due_at <= NOW, Grievance.status.in_(OPEN_STATUSES))
        .order_by(Grievance.due_at)
    )
    lookup = (
        select(Grievance.id)
        .join(Grievance.complainant)
        .where(Grievance.reference == reference, Complainant.phone_hash == "0" * 64)
    )
    plans = {}
    with store.engine.connect() as connection:
        dialect = connection.dialect
        explain = (
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON)"
            if dialect.name == "postgresql"
            else "EXPLAIN QUERY PLAN"
        )
        for name, query in (("overdue sweep", sweep), ("citizen lookup", lookup)):
            sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            if dialect.name == "sqlite":
                sql = sql.replace("'2026-06-01 00:00:00+00:00'", "'2026-06-01 00:00:00.000000'")
            rows = connection.execute(text(f"{explain} {sql}")).all()
            plans[name] = "\n".join(
                " ".join(str(c) for c in row if c is not None) if len(row) > 1 else str(row[0]) for row in rows
            )
    return plans


@dataclass
class Result:
    backend: str
    server: str
    workers: int
    fill_seconds: float
    filed: int
    last_tenth_rate: float
    statuses: dict[str, int]
    lookup: dict[str, float]
    sweep: dict[str, float]
    plans: dict[str, str] = field(default_factory=dict)

    @property
    def filed_per_s(self) -> float:
        return self.filed / self.fill_seconds


def run_backend(backend: str, url: str, var_dir: Path, tickets: int, workers: int) -> Result:
    store = open_store(settings_for(url, var_dir))
    prepare(store)
    with store.sessions.begin() as session:
        seed_demo(session, SimulatedClock(NOW - SPAN - timedelta(days=1), timedelta(0)), "bench-password")
    with store.engine.connect() as connection:
        server = (
            connection.exec_driver_sql(
                "SELECT version()" if backend == "postgresql" else "SELECT 'SQLite ' || sqlite_version()"
            ).scalar()
            or ""
        )
    store.engine.dispose()
    bulk = tickets - tickets // 10
    start = NOW - SPAN
    print(f"[{backend}] filing {bulk} grievances with {workers} process(es)...", flush=True)
    bulk_seconds, sample = file_in_parallel(url, var_dir, bulk, workers, 0, start)
    print(f"[{backend}] {bulk / bulk_seconds:.0f}/s; filing the last {tickets - bulk}...", flush=True)
    tail_seconds, tail_sample = file_in_parallel(url, var_dir, tickets - bulk, workers, bulk, start + SPAN * 0.9)
    statuses = settle_statuses(store)
    lookups = measure_lookups(store, (sample + tail_sample)[:2000])
    sweep = measure_sweep(store)
    plans = query_plans(store, sample[0][0])
    store.engine.dispose()
    return Result(
        backend=backend,
        server=str(server).split(" on ")[0],
        workers=workers,
        fill_seconds=bulk_seconds + tail_seconds,
        filed=tickets,
        last_tenth_rate=(tickets - bulk) / tail_seconds,
        statuses=statuses,
        lookup=lookups,
        sweep=sweep,
        plans=plans,
    )


def report(results: list[Result], tickets: int) -> str:
    lines = [
        "## Ticket store (`bench/store.py`)",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        (
            f"- Tickets: {tickets:,}, filed through `ticketing.cases.filing.file_grievance`, one unit of work (one transaction, "
            "committed) per grievance, with encryption of the personal fields, routing, SLA and history rows; "
            "the last tenth is timed on its own, i.e. with 90,000 already in the store."
        ),
        (
            "- Then one ticket in fifty is made open at level 2, two in fifty resolved, the rest older than two days closed; "
            "lookups are 2,000 (reference, phone) pairs, one in ten with a wrong phone; the sweep is `list_overdue` at the "
            "end of the period (median of 7)."
        ),
        "",
        "| backend | server | filing processes | filed/s (all) | filed/s (90k to 100k) | lookup p50 | lookup p95 | lookup p99 | sweep (rows) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.server} | {r.workers} | {r.filed_per_s:,.0f} | {r.last_tenth_rate:,.0f} | "
            f"{r.lookup['p50_ms']:.2f} ms | {r.lookup['p95_ms']:.2f} ms | {r.lookup['p99_ms']:.2f} ms | "
            f"{r.sweep['median_s'] * 1000:.1f} ms ({int(r.sweep['rows']):,}) |"
        )
    lines += ["", "Targets (PostgreSQL, this 2-core machine):", ""]
    for r in results:
        if r.backend != "postgresql":
            continue
        lines += [
            "| target | measured | |",
            "|---|---|---|",
            (
                f"| at least {TARGETS['filed_per_s']:,.0f} grievances/s filed | {r.filed_per_s:,.0f}/s overall, "
                f"{r.last_tenth_rate:,.0f}/s at 90k-100k | {verdict(min(r.filed_per_s, r.last_tenth_rate) >= TARGETS['filed_per_s'])} |"
            ),
            (
                f"| lookup p95 under {TARGETS['lookup_p95_ms']:.0f} ms | {r.lookup['p95_ms']:.2f} ms | "
                f"{verdict(r.lookup['p95_ms'] < TARGETS['lookup_p95_ms'])} |"
            ),
            (
                f"| overdue sweep under {TARGETS['sweep_s']:.0f} s, index-backed | {r.sweep['median_s'] * 1000:.1f} ms for "
                f"{int(r.sweep['rows']):,} overdue rows | {verdict(r.sweep['median_s'] < TARGETS['sweep_s'])} |"
            ),
        ]
    lines += [
        "",
        "What a filing costs, and what was learnt getting it here (PostgreSQL, two filing processes):",
        "",
        (
            "- Seven statements and a commit per grievance: configuration comes from an in-process snapshot"
            " (`ticketing/catalog.py`), a replayed idempotency key is looked for first (so that a replay writes"
            " nothing), the complainant is one upsert, the grievance one INSERT ... ON CONFLICT DO NOTHING, and"
            " the status change and audit row two plain INSERTs."
        ),
        (
            "- The idempotency check is one statement built once: made anew through the ORM it cost a filing a"
            " quarter of its time (1.6 ms against 2.3 ms a filing on SQLite)."
        ),
        (
            "- Reading the configuration through the ORM on every filing (about 15 statements at some 250 us of"
            " CPU each) held filing to about 370/s; the snapshot took it past 500/s."
        ),
        "- `pool_pre_ping` cost a fifth of the throughput; connections are now pinged only after 30 s idle.",
        (
            "- SQLAlchemy 2.0 compiles its PostgreSQL and SQLite ON CONFLICT inserts anew on every execution"
            " (they opt out of the statement cache); writing them as typed `text()` took filing from about 950/s"
            " to about 1,400/s."
        ),
        (
            "- The machine's two cores are shared by the Python processes and PostgreSQL: a third filing process"
            " is slower, not faster."
        ),
    ]
    for r in results:
        lines += ["", f"### Query plans, {r.backend}", ""]
        lines += [f"Statuses after settling: {', '.join(f'{k} {v:,}' for k, v in sorted(r.statuses.items()))}.", ""]
        for name, plan in r.plans.items():
            lines += [f"{name}:", "", "```", plan, "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="filing processes (the machine has 2 cores)")
    parser.add_argument("--out", type=Path, default=BENCHMARKS)
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory(prefix="grm-bench-") as scratch:
        var_dir = Path(scratch)
        # SQLite has one writer at a time: a second process only adds lock waits.
        results.append(run_backend("sqlite", f"sqlite:///{var_dir / 'bench.sqlite3'}", var_dir, args.tickets, 1))
        url = fresh_postgres_database("grm_bench")
        if url is not None:
            results.append(run_backend("postgresql", url, var_dir, args.tickets, args.workers))
    text_ = report(results, args.tickets)
    write_section("store", text_, args.out)
    print(text_)


if __name__ == "__main__":
    main()
