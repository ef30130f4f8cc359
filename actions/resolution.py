"""The citizen's answer to a resolution: satisfied (and a rating), or not (and why)."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.common import (
    CLOCK,
    STORE_UNAVAILABLE,
    in_store,
    language,
    logger,
    numeral,
    proven_case,
    words_only,
)
from ticketing.citizen import CitizenView, answer_resolution, view_by_id
from ticketing.errors import IllegalTransition
from ticketing.lifecycle import Status, handler_name
from ticketing.places.gazetteer import fold

NO_RATING = "none"
ANSWER_SLOTS = ("satisfied", "rating", "refusal_reason", "lookup_outcome")


class ActionAskSatisfied(Action):
    """Tell the resolution of the case this conversation has proven, and ask whether it satisfies."""

    def name(self) -> str:
        return "action_ask_satisfied"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        grievance_id = proven_case(tracker)
        if grievance_id is None:
            return not_proven(dispatcher)
        found = await in_store(lambda session: view_by_id(session, grievance_id))
        dispatcher.utter_message(response="utter_ask_satisfied", reference=found.reference, resolution=found.resolution)
        return []


def not_proven(dispatcher: CollectingDispatcher) -> list[EventType]:
    """No case proven in this conversation (a slot from elsewhere): the citizen proves it again."""
    dispatcher.utter_message(response="utter_link_invalid")
    return [SlotSet(slot, None) for slot in (*ANSWER_SLOTS, "verified_grievance")]


class ValidateResolutionForm(FormValidationAction):
    """Yes asks for an optional rating, no for the reason."""

    def name(self) -> str:
        return "validate_resolution_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        satisfied = tracker.get_slot("satisfied")
        if satisfied is None:
            return ["satisfied"]
        return ["satisfied", "rating" if satisfied else "refusal_reason"]

    @words_only
    async def validate_rating(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == NO_RATING:
            return {"rating": NO_RATING}
        digits = re.findall(r"\d", fold(str(value)))
        if len(digits) == 1 and 1 <= int(digits[0]) <= 5:
            return {"rating": int(digits[0])}
        dispatcher.utter_message(response="utter_rating_invalid")
        return {"rating": None}

    @words_only
    async def validate_refusal_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reason = str(value).strip()
        return {"refusal_reason": reason or None}


class ActionRecordAnswer(Action):
    """Close the case, or send it up a level, and tell the citizen who has it now."""

    def name(self) -> str:
        return "action_record_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        forget: list[EventType] = [SlotSet(slot, None) for slot in ANSWER_SLOTS]
        forget.append(SlotSet("pending_retry", None))
        grievance_id = proven_case(tracker)
        if grievance_id is None:
            return forget + not_proven(dispatcher)
        accepted = bool(tracker.get_slot("satisfied"))
        rating = tracker.get_slot("rating")
        reason = tracker.get_slot("refusal_reason")

        def answer(session: Session) -> tuple[int, CitizenView]:
            level_before = view_by_id(session, grievance_id).level
            stars = rating if isinstance(rating, int) else None
            return level_before, answer_resolution(session, CLOCK, grievance_id, accepted, reason, stars)

        try:
            level_before, answered = await in_store(answer)
        except IllegalTransition:
            # Answered meanwhile (another channel, or the auto-close): nothing left to answer.
            found = await in_store(lambda session: view_by_id(session, grievance_id))
            dispatcher.utter_message(response="utter_nothing_to_answer", reference=found.reference)
            return forget
        except STORE_UNAVAILABLE:
            logger.exception("the ticket store is unreachable; the citizen's answer is kept")
            dispatcher.utter_message(response="utter_answer_unavailable")
            return [SlotSet("pending_retry", "answer")]
        if answered.status is Status.CLOSED:
            dispatcher.utter_message(response="utter_answer_accepted", reference=answered.reference)
        else:
            # At the last level a refusal leaves the case where it is.
            stayed = answered.level == level_before
            dispatcher.utter_message(
                response="utter_answer_refused_top" if stayed else "utter_answer_refused",
                reference=answered.reference,
                handler=handler_name(answered.level, language(tracker)),
                level=numeral(answered.level, language(tracker)),
            )
        dispatcher.utter_message(response="utter_anything_else")
        return forget
