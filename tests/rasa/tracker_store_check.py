"""Run by tests/test_tracker_store.py with Rasa's own Python (.venv-rasa): the cached SQL tracker
store against a real SQLite file, with a second store standing in for another Rasa worker."""

import asyncio
import sys

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import CachedSQLTrackerStore


async def load(store: CachedSQLTrackerStore, sender_id: str) -> DialogueStateTracker:
    tracker = await store.retrieve(sender_id)
    assert tracker is not None, f"no conversation {sender_id}"
    return tracker


async def main(path: str) -> None:
    domain = Domain.empty()
    this = CachedSQLTrackerStore(domain=domain, dialect="sqlite", db=path, cache_size=2)
    other = CachedSQLTrackerStore(domain=domain, dialect="sqlite", db=path)

    # A new conversation holds one event before its session starts, which the database's
    # "latest session" leaves out: the first turn after it reads the database once.
    first = DialogueStateTracker.from_events("ann", [ActionExecuted("action_session_start"), SessionStarted()])
    first.update(UserUttered("hello"))
    await this.save(first)
    tracker = await load(this, "ann")
    assert tracker is not first and len(tracker.events) == 2
    await this.save(tracker)
    again = await load(this, "ann")
    assert again is tracker, "a conversation the database agrees with is not read again"

    # A turn that failed before saving leaves its events in memory only: they are not reused.
    again.update(UserUttered("lost"))
    fresh = await load(this, "ann")
    assert fresh is not again and [e.text for e in fresh.events if isinstance(e, UserUttered)] == ["hello"]
    await this.save(fresh)

    # Another worker answers meanwhile: this one reads the database afresh.
    elsewhere = await load(other, "ann")
    elsewhere.update(UserUttered("from the other worker"))
    await other.save(elsewhere)
    seen = await load(this, "ann")
    assert seen is not fresh and seen.latest_message.text == "from the other worker"
    await this.save(seen)

    # The cache keeps only the most recent conversations.
    for name in ("bob", "cat"):
        await this.save(DialogueStateTracker.from_events(name, [UserUttered("hi")]))
    assert (await this.retrieve("ann")) is not seen
    print("ok")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
