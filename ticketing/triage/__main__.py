"""`python -m ticketing.triage`: triage JSON lines from stdin, or the grievances waiting for it.

    echo '{"text": "Dust from the trucks covers our maize"}' | python -m ticketing.triage
    {"summary": "...", "categories": [{"code": "environment.dust", "score": 0.81}], "priority": "normal"}

Categories come from the configured ticket store (DATABASE_URL, or the embedded SQLite).
`--backlog` triages the grievances filed while triage was unavailable; `--cache` embeds the
shipped examples and the default categories for the default model (after they change).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from sqlalchemy.exc import DBAPIError

from ticketing.catalog import catalog
from ticketing.clock import SystemClock
from ticketing.config import load_settings
from ticketing.store.db import open_store
from ticketing.triage import build_triager, default_labels, labels_from_catalog, officer_examples
from ticketing.triage.backlog import triage_backlog
from ticketing.triage.encoder import CACHE_FILE, SmallE5
from ticketing.triage.triager import Triager, load_examples


def triage_lines(triager: Triager, source: TextIO, sink: TextIO) -> int:
    """One output line per input line; a line that is not {"text": ...} gets {"error": ...}."""
    count = 0
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            text = json.loads(line)["text"]
            if not isinstance(text, str) or not text.strip():
                raise ValueError
        except (ValueError, KeyError, TypeError):
            sink.write(json.dumps({"line": number, "error": 'expected {"text": "..."}'}) + "\n")
            continue
        result = triager.triage(text)
        answer = {"summary": result.summary, "categories": result.as_record(), "priority": result.priority.value}
        sink.write(json.dumps(answer, ensure_ascii=False) + "\n")
        sink.flush()
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ticketing.triage", description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", action="store_true", help="triage the grievances waiting for triage")
    parser.add_argument("--cache", action="store_true", help=f"write {CACHE_FILE.name}: the examples' vectors")
    args = parser.parse_args(argv)
    if args.cache:
        texts = [example.text for example in load_examples()]
        texts += [text for label in default_labels() for text in label.prototypes]
        SmallE5().save_cache(texts)
        print(f"{len(texts)} texts embedded into {CACHE_FILE}", file=sys.stderr)
        return 0
    settings = load_settings()
    store = open_store(settings)
    try:
        with store.sessions() as session:
            labels = labels_from_catalog(catalog(session))
            examples = officer_examples(session)
    except DBAPIError:
        labels, examples = (), []
    if not labels and args.backlog:
        print("the ticket store is not set up: run `python -m launcher setup` first", file=sys.stderr)
        return 1
    if not labels:
        print("the ticket store is not set up: using the default category tree", file=sys.stderr)
        labels = default_labels()
    triager = build_triager(labels, examples, settings.models)
    if args.backlog:
        with store.sessions.begin() as session:
            print(f"triaged {triage_backlog(session, SystemClock(), triager)} grievances", file=sys.stderr)
        return 0
    triage_lines(triager, sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
