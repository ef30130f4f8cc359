"""A grievance told where a short answer was asked: kept as what happened, never lost."""

from __future__ import annotations

import functools
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import ActionRun, SlotCheck, latest_intent, latest_text, person_name, words_of
from ticketing.cases.filing import MAX_DETAILS_CHARS
from ticketing.places.gazetteer import plain_words

# A short answer this long is a grievance told (a name, a number or a place never is), and
# so is one of half the length the classifier hears as a problem described.
STORY_WORDS_WHEN_TOLD = 15
STORY_WORDS = 6


def tells_the_story(tracker: Tracker, text: str) -> bool:
    """Whether an answer is in fact the grievance: told as one (or far too long for a short
    answer), never a button's payload."""
    words = len(text.split())
    if text.startswith("/"):
        return False
    return words >= STORY_WORDS_WHEN_TOLD or (latest_intent(tracker) == "describe_problem" and words >= STORY_WORDS)


def story_kept(validate: SlotCheck) -> SlotCheck:
    """Keep a grievance told where a short answer is asked (the project, a name, a place) as
    what happened, and ask the question again: the citizen's words are never lost to "I
    could not find a project called <the whole story>". Wraps a `validate_<slot>` method."""
    slot = validate.__name__.removeprefix("validate_")

    @functools.wraps(validate)
    async def checked(
        self: Any, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        details = kept_story(tracker, value.strip() if isinstance(value, str) else "")
        if details is not None:
            dispatcher.utter_message(response="utter_story_kept")
            return {slot: None, "details": details}
        return await validate(self, value, dispatcher, tracker, domain)

    return checked


def kept_story(tracker: Tracker, text: str) -> str | None:
    """What happened with `text` added, when `text` tells the grievance and still fits."""
    if not text or not tells_the_story(tracker, text):
        return None
    told = str(tracker.get_slot("details") or "")
    details = f"{told}\n{text}" if told else text
    return details if len(details) <= MAX_DETAILS_CHARS else None


def story_aside(run: ActionRun) -> ActionRun:
    """A grievance told in the middle of the filing but heard as an aside (a question about
    the process, whom to call, something off topic) is kept as what happened, and the form
    goes on, instead of an answer to a question nobody asked. Wraps an action's `run`."""

    @functools.wraps(run)
    async def answered(
        self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.active_loop_name == "grievance_form":
            details = kept_story(tracker, latest_text(tracker))
            if details is not None:
                dispatcher.utter_message(response="utter_story_kept")
                return [SlotSet("details", details)]
            text = latest_text(tracker)
            name = person_name(text)
            if name is not None and typed_at_the_name_question(tracker, text, words_of(latest_intent(tracker))):
                return [SlotSet("complainant_name", name)]
        return await run(self, dispatcher, tracker, domain)

    return answered


def typed_at_the_name_question(tracker: Tracker, text: str, heard: frozenset[str]) -> bool:
    """Whether `text`, typed where the form asked for the citizen's name, shares no word with
    `heard` (the words of what the classifier took it for): then it is a name misheard
    ("Pramila Praja" heard as "how does it work?" or as "I'd rather not say")."""
    if tracker.get_slot("requested_slot") != "complainant_name" or text.startswith("/"):
        return False
    return not heard.intersection(plain_words(text).split())
