"""Adding to a grievance after filing: the citizen's words (and files, sent meanwhile) join a
case this conversation filed or proved theirs, as their message on its timeline. Reopening a
closed case goes the same way, its reason asked as an addition is."""

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
    latest_intent,
    logger,
    numeral,
    proven_case,
    sealed,
    unsealed,
    words_only,
)
from ticketing.cases.filing import MAX_DETAILS_CHARS
from ticketing.citizen import CitizenView, add_to_case, reopen_case, view, view_by_id
from ticketing.errors import GrievanceNotFound, IllegalTransition, InvalidInput
from ticketing.lifecycle import Status
from ticketing.store.case_models import Grievance

# The answers of one addition, forgotten once it is sent.
ADDITION_SLOTS = ("addition", "lookup_purpose", "lookup_outcome")


def chosen_reference(tracker: Tracker) -> str | None:
    """The case the citizen is adding to: the one this conversation filed, or proved theirs."""
    return unsealed(tracker, "filed_reference")


def reopening(tracker: Tracker) -> bool:
    return bool(tracker.get_slot("lookup_purpose") == "reopen")


def begin(dispatcher: CollectingDispatcher, tracker: Tracker, found: CitizenView, purpose: str) -> list[EventType]:
    """Go on with the case found, for the purpose "add" or "reopen": ask what to add, or why
    to reopen it. A case that is not closed has nothing to reopen (its answer is asked if it
    is resolved, else an addition), and one closed too long ago is told so."""
    chosen = [SlotSet("filed_reference", sealed(tracker, found.reference))]
    if purpose == "reopen" and found.awaits_answer:  # refusing the resolution is how it goes on
        proven = SlotSet("verified_grievance", sealed(tracker, str(found.id)))
        return [*chosen, proven, SlotSet("lookup_purpose", None), SlotSet("lookup_outcome", "awaits_answer")]
    if purpose == "reopen" and found.status is not Status.CLOSED:
        dispatcher.utter_message(response="utter_reopen_still_open", reference=found.reference)
        purpose = "add"
    elif purpose == "reopen" and not found.reopenable(CLOCK.now()):
        days = numeral(found.reopen_days, language(tracker))
        dispatcher.utter_message(response="utter_reopen_too_late", reference=found.reference, days=days)
        dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet("lookup_purpose", None), SlotSet("lookup_outcome", "found")]
    return [*chosen, SlotSet("lookup_purpose", purpose), SlotSet("lookup_outcome", "add")]


def proved_last(tracker: Tracker) -> bool:
    """Whether the case the conversation proved (a status check, a link) came after the one it
    filed or chose: the citizen means the case they dealt with last."""
    kept = ("verified_grievance", "filed_reference")
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("name") in kept and event.get("value") is not None:
            return bool(event["name"] == "verified_grievance")
    return False


class ActionBeginAddition(Action):
    """Add to (or reopen) the case the conversation dealt with last, filed or proved;
    otherwise find it first (reference and phone)."""

    def name(self) -> str:
        return "action_begin_addition"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        purpose = "reopen" if latest_intent(tracker) == "reopen_grievance" else "add"
        proven, reference = proven_case(tracker), chosen_reference(tracker)
        if reference is not None and not proved_last(tracker):
            proven = None

        def known(session: Session) -> CitizenView | None:
            if proven is not None:
                return view_by_id(session, proven)
            grievance = session.scalar(select(Grievance).where(Grievance.reference == reference))
            return None if grievance is None else view(session, grievance)

        found = None
        if proven is not None or reference is not None:
            try:
                found = await in_store(known)
            except (*STORE_UNAVAILABLE, GrievanceNotFound):
                logger.warning("the known grievance could not be read; it is asked for")
        if found is None:
            return [SlotSet("lookup_purpose", purpose), SlotSet("lookup_outcome", "ask")]
        return begin(dispatcher, tracker, found, purpose)


class ActionAskAddition(Action):
    def name(self) -> str:
        return "action_ask_addition"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        asked = "utter_ask_reopen_reason" if reopening(tracker) else "utter_ask_addition"
        dispatcher.utter_message(response=asked, reference=chosen_reference(tracker) or "")
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
    """Record the citizen's words on the case (reopening it first when that was asked); if
    the store is down, keep them for a retry."""

    def name(self) -> str:
        return "action_add_to_grievance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reference = chosen_reference(tracker)
        text = str(tracker.get_slot("addition") or "")
        if reference is None or not text:  # a tracker made up elsewhere proves no case
            dispatcher.utter_message(response="utter_not_found")
            return [SlotSet(slot, None) for slot in ADDITION_SLOTS]

        def add(session: Session) -> tuple[str, int]:
            """What was done ("reopened", "added", or "late" with the window's days): the words
            are kept on the case whatever happened to it while the citizen was writing."""
            grievance = session.scalar(select(Grievance).where(Grievance.reference == reference))
            if grievance is None:  # sealed to this conversation by the store itself: it exists
                raise GrievanceNotFound()
            done = "added", 0
            if reopening(tracker):
                try:
                    with session.begin_nested():
                        reopen_case(session, CLOCK, grievance.id, text)
                    return "reopened", 0
                except IllegalTransition:
                    pass  # reopened meanwhile: the reason reaches the officer as an addition
                except InvalidInput:  # the window closed meanwhile
                    done = "late", view(session, grievance).reopen_days
            add_to_case(session, CLOCK, grievance.id, text)
            return done

        try:
            done, days = await in_store(add)
        except STORE_UNAVAILABLE:
            logger.exception("the ticket store is unreachable; the citizen's addition is kept for a retry")
            dispatcher.utter_message(response="utter_store_unavailable")
            return [SlotSet("pending_retry", "add")]
        if done == "late":
            days_told = numeral(days, language(tracker))
            dispatcher.utter_message(response="utter_reopen_too_late", reference=reference, days=days_told)
        else:
            told = "utter_reopened" if done == "reopened" else "utter_addition_sent"
            dispatcher.utter_message(response=told, reference=reference)
        dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet(slot, None) for slot in ADDITION_SLOTS] + [SlotSet("pending_retry", None)]
