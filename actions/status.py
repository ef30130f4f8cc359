"""Checking a grievance: reference and phone, the brute-force guard, and the answer in plain words."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.addition import begin
from actions.common import (
    CLOCK,
    STORE_UNAVAILABLE,
    in_store,
    language,
    logger,
    minutes_to_wait,
    note_whatsapp_message,
    numeral,
    phrase,
    requester,
    sealed,
    sender_phone,
    words_only,
)
from actions.verification import list_cases, proven_phone
from ticketing.citizen import CitizenView, TooManyAttempts, cases_of, look_up
from ticketing.errors import InvalidInput
from ticketing.lifecycle import OPEN_STATUSES, handler_name
from ticketing.values.dates import citizen_time
from ticketing.values.phones import normalise_phone
from ticketing.values.references import normalise_reference

LOOKUP_SLOTS = ("reference", "lookup_phone")


class ValidateStatusForm(FormValidationAction):
    """Only the shape is checked here; whether the pair matches is told once, after both."""

    def name(self) -> str:
        return "validate_status_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        # A proven number (the WhatsApp sender's, or one a code proved) stands for the phone half.
        if proven_phone(tracker):
            return [slot for slot in domain_slots if slot != "lookup_phone"]
        return domain_slots

    @words_only
    async def validate_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reference = normalise_reference(str(value))
        if reference is None:
            dispatcher.utter_message(response="utter_reference_invalid", typed=str(value))
        return {"reference": reference}

    @words_only
    async def validate_lookup_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        try:
            return {"lookup_phone": normalise_phone(str(value))}
        except InvalidInput:
            dispatcher.utter_message(response="utter_phone_invalid", typed=str(value))
            return {"lookup_phone": None}


def tell_status(dispatcher: CollectingDispatcher, domain: DomainDict, lang: str, found: CitizenView) -> None:
    """The case's status, level, last update and next deadline, in plain words."""
    dispatcher.utter_message(
        response=f"utter_status_{found.status.value}",
        reference=found.reference,
        project_name=found.project_name or phrase(domain, "utter_label_no_project", lang),
        handler=handler_name(found.level, lang),
        level=numeral(found.level, lang),
        filed=citizen_time(found.filed_at, lang),
        updated=citizen_time(found.updated_at, lang),
        resolution=found.resolution or "",
    )
    if found.status in OPEN_STATUSES:
        if found.due_at is not None:
            dispatcher.utter_message(response="utter_next_deadline", deadline=citizen_time(found.due_at, lang))
        else:
            dispatcher.utter_message(response="utter_no_deadline")


class ActionAskReference(Action):
    """Ask which grievance; a citizen whose number is proven picks it from their list."""

    def name(self) -> str:
        return "action_ask_reference"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        phone = proven_phone(tracker)
        try:
            cases = await in_store(lambda session: cases_of(session, phone)) if phone else []
        except STORE_UNAVAILABLE:
            logger.warning("the ticket store is unreachable; the reference is asked for")
            cases = []
        if cases:
            list_cases(dispatcher, domain, language(tracker), cases)
            dispatcher.utter_message(response="utter_ask_reference_listed")
        else:
            dispatcher.utter_message(response="utter_ask_reference")
        return []


class ActionCheckStatus(Action):
    """Look the case up; any wrong half gets the same "not found", and guessing is stopped."""

    def name(self) -> str:
        return "action_check_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        forget = [SlotSet(slot, None) for slot in LOOKUP_SLOTS]
        reference = str(tracker.get_slot("reference"))
        known = sender_phone(tracker)
        phone = proven_phone(tracker) or str(tracker.get_slot("lookup_phone"))
        who = requester(tracker)
        try:
            found = await in_store(lambda session: look_up(session, CLOCK, reference, phone, who))
        except TooManyAttempts as refused:
            dispatcher.utter_message(
                response="utter_lookup_locked", minutes=minutes_to_wait(refused, language(tracker))
            )
            return [*forget, SlotSet("lookup_outcome", "locked")]
        except STORE_UNAVAILABLE:
            logger.exception("the ticket store is unreachable for a status lookup")
            dispatcher.utter_message(response="utter_lookup_unavailable")
            return [*forget, SlotSet("lookup_outcome", "not_found")]
        if known:
            await note_whatsapp_message(known)
        if found is None:
            dispatcher.utter_message(response="utter_not_found")
            return [*forget, SlotSet("lookup_outcome", "not_found")]
        proven = SlotSet("verified_grievance", sealed(tracker, str(found.id)))
        purpose = tracker.get_slot("lookup_purpose")
        if purpose in ("add", "reopen"):  # found to be added to or reopened, not to be told
            return [*forget, proven, *begin(dispatcher, tracker, found, purpose)]
        outcome = "awaits_answer" if found.awaits_answer else "found"
        # A resolved case goes on to the question "are you satisfied?", which tells the resolution.
        if outcome == "found":
            tell_status(dispatcher, domain, language(tracker), found)
            dispatcher.utter_message(response="utter_anything_else")
        return [*forget, proven, SlotSet("lookup_outcome", outcome)]
