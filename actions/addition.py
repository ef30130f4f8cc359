"""Adding to a grievance after filing: the citizen's words (and files, sent meanwhile) join a
case this conversation filed or proved theirs, as their message on its timeline."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.common import (
    CLOCK,
    STORE_UNAVAILABLE,
    in_store,
    language,
    logger,
    numeral,
    proven_case,
    sealed,
    unsealed,
    words_only,
)
from ticketing.cases.filing import MAX_DETAILS_CHARS
from ticketing.citizen import add_to_case
from ticketing.errors import GrievanceNotFound
from ticketing.store.case_models import Grievance

# The answers of one addition, forgotten once it is sent.
ADDITION_SLOTS = ("addition", "lookup_purpose", "lookup_outcome")


def chosen_reference(tracker: Tracker) -> str | None:
    """The case the citizen is adding to: the one this conversation filed, or proved theirs."""
    return unsealed(tracker, "filed_reference")


class ActionBeginAddition(Action):
    """Add to the case the conversation knows; otherwise find it first (reference and phone)."""

    def name(self) -> str:
        return "action_begin_addition"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reference = chosen_reference(tracker)
        proven = proven_case(tracker)
        if reference is None and proven is not None:
            try:
                reference = await in_store(
                    lambda session: session.scalar(select(Grievance.reference).where(Grievance.id == proven))
                )
            except STORE_UNAVAILABLE:
                logger.warning("the ticket store is unreachable; the grievance is asked for")
        if reference is None:
            return [SlotSet("lookup_purpose", "add"), SlotSet("lookup_outcome", "ask")]
        return [SlotSet("filed_reference", sealed(tracker, reference)), SlotSet("lookup_outcome", "add")]


class ActionAskAddition(Action):
    def name(self) -> str:
        return "action_ask_addition"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_ask_addition", reference=chosen_reference(tracker) or "")
        return []


class ValidateAdditionForm(FormValidationAction):
    def name(self) -> str:
        return "validate_addition_form"

    @words_only
    async def validate_addition(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value).strip()
        if len(text) > MAX_DETAILS_CHARS:
            dispatcher.utter_message(
                response="utter_details_too_long", limit=numeral(MAX_DETAILS_CHARS, language(tracker))
            )
            return {"addition": None}
        return {"addition": text or None}


class ActionAddToGrievance(Action):
    """Record the citizen's words on the case; if the store is down, keep them for a retry."""

    def name(self) -> str:
        return "action_add_to_grievance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reference = chosen_reference(tracker)
        text = str(tracker.get_slot("addition") or "")
        if reference is None or not text:  # a tracker made up elsewhere proves no case
            dispatcher.utter_message(response="utter_not_found")
            return [SlotSet(slot, None) for slot in ADDITION_SLOTS]

        def add(session: Session) -> None:
            grievance_id = session.scalar(select(Grievance.id).where(Grievance.reference == reference))
            if grievance_id is None:  # sealed to this conversation by the store itself: it exists
                raise GrievanceNotFound()
            add_to_case(session, CLOCK, grievance_id, text)

        try:
            await in_store(add)
        except STORE_UNAVAILABLE:
            logger.exception("the ticket store is unreachable; the citizen's addition is kept for a retry")
            dispatcher.utter_message(response="utter_store_unavailable")
            return [SlotSet("pending_retry", "add")]
        dispatcher.utter_message(response="utter_addition_sent", reference=reference)
        dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet(slot, None) for slot in ADDITION_SLOTS] + [SlotSet("pending_retry", None)]
