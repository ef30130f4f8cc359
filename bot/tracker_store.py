"""Rasa's SQL tracker store, without rebuilding each conversation from the database every turn.

Rasa's SQLTrackerStore reads every event of a conversation and replays them into a new
tracker on each message: about a third of Rasa's CPU per turn here (docs/benchmarks.md).
This store keeps the tracker it last saved for each recent conversation in memory and
hands it back while the database still holds exactly the events it had then, which one
COUNT query tells. Anything else (another Rasa worker answered meanwhile, a turn failed
before saving, a new session began) falls back to the database, so the database stays
the only truth and several workers behind a shared lock store stay correct.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

# Conversations kept in memory, the most recently used first; each holds a few hundred
# events at most (a session ends after an hour of silence).
DEFAULT_CACHE_SIZE = 2000


class CachedSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that reuses the tracker it saved last, when the database agrees."""

    def __init__(self, *args: Any, cache_size: int = DEFAULT_CACHE_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache_size = int(cache_size)
        self._saved: OrderedDict[str, DialogueStateTracker] = OrderedDict()

    def _stored_count(self, sender_id: str) -> int:
        """Events of the conversation's latest session in the database."""
        with self.session_scope() as session:
            return int(self._event_query(session, sender_id, fetch_events_from_all_sessions=False).count())

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        saved = self._saved.pop(sender_id, None)
        # Rasa adds events to the tracker it is given: one handed out is not kept until saved
        # again, and its length must still match the database's, or it is read afresh.
        if saved is not None and len(saved.events) == self._stored_count(sender_id):
            return saved
        return await super().retrieve(sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await super().save(tracker)
        self._saved[tracker.sender_id] = tracker
        while len(self._saved) > self._cache_size:
            self._saved.popitem(last=False)
