"""What the benchmarks share: the machine they ran on, their statistics, and docs/benchmarks.md.

Each benchmark owns one section of the file, between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->`, so that running one of them leaves the others' figures alone.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ticketing.config import normalise_database_url

BENCHMARKS = ROOT / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nWritten by `make bench` (`bench/store.py`, `bench/conversations.py`, `bench/triage.py`, `bench/escalation.py`, `bench/backoffice.py`); do not edit by hand.\n"


def fresh_postgres_database(name: str) -> str | None:
    """A new, empty database `name` on the PostgreSQL server of BENCH_DATABASE_URL or
    TEST_DATABASE_URL (this machine's by default), or None when no server answers."""
    server = normalise_database_url(
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL")
        or "postgresql://postgres@127.0.0.1/test"
    )
    try:
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except OperationalError as error:  # no server here: the report says so
        print(f"PostgreSQL not reachable ({error.__class__.__name__}); skipping it", flush=True)
        return None
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def machine() -> str:
    """The CPU, cores, memory, kernel and Python the figures were measured with."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return f"{cpu}, {os.cpu_count()} cores, {memory_kb / 1024**2:.0f} GiB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def write_section(name: str, body: str, path: Path = BENCHMARKS) -> None:
    """Put `body` between the markers of section `name`, replacing it or appending it."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    # The header lists the benchmarks: an older file gets the current list.
    first = text.find("<!-- bench:")
    if text.startswith("# Benchmarks\n") and first > 0:
        text = HEADER + "\n" + text[first:]
    start = text.find(begin)
    if start < 0:
        text = f"{text.rstrip()}\n\n{block}\n"
    else:
        stop = text.index(end, start) + len(end)
        text = text[:start] + block + text[stop:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
