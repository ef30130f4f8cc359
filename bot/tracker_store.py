"""Rasa's SQL tracker store, without rebuilding each conversation from the database every turn.

Rasa's SQLTrackerStore reads every event of a conversation and replays them into a new
tracker on each message: about a third of Rasa's CPU per turn here (docs/benchmarks.md).
This store keeps the tracker it last saved for each recent conversation in memory and
hands it back while the database still holds exactly the events it had then, which one
COUNT query tells. Anything else (another Rasa worker answered meanwhile, a turn failed
before saving, a new session began) falls back to the database, so the database stays
the only truth and several workers behind a shared lock store stay correct.

What the citizen typed (names, phones, what happened, sometimes violence) is the ticket
store's to keep, encrypted. Once a turn files a grievance or looks one up, the stored
copies of the conversation so far lose their words: the citizen's and the bot's texts,
entity values, metadata, and every earlier value of a slot that is empty now. What drives
the dialogue stays (intents, actions, slots still set, slots the policies read, message
ids that catch a redelivery), so a conversation read back from the database goes on the same.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

# Conversations kept in memory, the most recently used first; each holds a few hundred
# events at most (a session ends after an hour of silence).
DEFAULT_CACHE_SIZE = 2000
# A turn that sets one of these (filed a grievance, looked one up) has nothing more to ask
# of what was typed before it.
CHECKPOINT_SLOTS = frozenset({"filed_reference", "lookup_outcome"})
# Read only when a session starts, and carries the resolution link's token: always forgotten.
ALWAYS_FORGOTTEN_SLOTS = frozenset({"session_started_metadata"})
REDACTED = "[removed]"


class CachedSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that reuses the tracker it saved last, when the database agrees."""

    def __init__(self, *args: Any, cache_size: int = DEFAULT_CACHE_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A database error's text would otherwise carry the events it was writing (what the
        # citizen typed) into Rasa's log.
        self.engine.hide_parameters = True
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
        if reached_checkpoint(tracker):
            self._redact_stored(tracker)
        self._saved[tracker.sender_id] = tracker
        while len(self._saved) > self._cache_size:
            self._saved.popitem(last=False)

    def _redact_stored(self, tracker: DialogueStateTracker) -> None:
        """Rewrite the stored events of the conversation without its words (the memory copy stays)."""
        kept = {
            name
            for name, slot in tracker.slots.items()
            if (slot.value is not None or slot.influence_conversation) and name not in ALWAYS_FORGOTTEN_SLOTS
        }
        with self.session_scope() as session:
            rows = session.query(self.SQLEvent).filter(
                self.SQLEvent.sender_id == tracker.sender_id,
                self.SQLEvent.type_name.in_(("user", "bot", "slot")),
            )
            for row in rows:
                event = json.loads(row.data)
                redacted = redact(event, kept)
                if redacted != event:
                    row.data = json.dumps(redacted)
            session.commit()


def reached_checkpoint(tracker: DialogueStateTracker) -> bool:
    """Whether this turn (the events since the citizen's last message) filed or looked up a case."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, SlotSet) and event.key in CHECKPOINT_SLOTS and event.value is not None:
            return True
    return False


def redact(event: dict[str, Any], kept_slots: set[str]) -> dict[str, Any]:
    """A stored event without what the citizen or the bot said; slots in `kept_slots` untouched."""
    kind = event.get("event")
    if kind == "slot":
        return event if event.get("name") in kept_slots else {**event, "value": None}
    if kind == "bot":
        utterance = {key: value for key, value in (event.get("metadata") or {}).items() if key == "utter_action"}
        return {**event, "text": REDACTED if event.get("text") else event.get("text"), "metadata": utterance}
    if kind != "user":
        return event
    parsed = dict(event.get("parse_data") or {})
    parsed["entities"] = [{**entity, "value": REDACTED} for entity in parsed.get("entities") or []]
    parsed["text"] = REDACTED
    parsed["metadata"] = {}
    return {**event, "text": REDACTED, "parse_data": parsed, "metadata": {}}
