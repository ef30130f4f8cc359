"""The start of a conversation: the project and language it was opened with, and the welcome."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import CLOCK, current_catalog, in_store, note_whatsapp_message, sealed, sender_phone
from ticketing.catalog import ProjectInfo
from ticketing.citizen import grievance_for_link, grievance_for_reply
from ticketing.errors import InvalidInput
from ticketing.values.languages import LANGUAGES

# Kept from one session to the next of the same conversation; personal answers are not.
CARRIED_OVER = ("language", "project_code", "project_name")


class ActionSessionStart(Action):
    """Start a session with the project and language given by the link or QR code opened."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        metadata: dict[str, Any] = tracker.get_slot("session_started_metadata") or {}
        events: list[EventType] = [SessionStarted()]
        events += [SlotSet(slot, tracker.get_slot(slot)) for slot in CARRIED_OVER if tracker.get_slot(slot)]
        if metadata.get("language") in LANGUAGES:
            events.append(SlotSet("language", metadata["language"]))
        events += project_slots(await bound_project(metadata))
        token = str(metadata.get("answer") or "").strip()
        if token:
            events.append(SlotSet("answer_token", token))
        return [*events, ActionExecuted("action_listen")]


async def bound_project(metadata: dict[str, Any]) -> ProjectInfo | None:
    """The project a link or QR code named in the message's metadata; None if none or unknown."""
    code = str(metadata.get("project") or "").strip()
    if not code:
        return None
    config = await current_catalog()
    try:
        return config.project(code)
    except InvalidInput:
        return None


def project_slots(project: ProjectInfo | None) -> list[EventType]:
    return [] if project is None else [SlotSet("project_code", project.code), SlotSet("project_name", project.name)]


class ActionWelcome(Action):
    """Greet the citizen; opened from a resolution message's link, go straight to their answer."""

    def name(self) -> str:
        return "action_welcome"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        token = tracker.get_slot("answer_token")
        if token:
            found = await in_store(lambda session: grievance_for_link(session, token, CLOCK.now()))
            if found is not None and found.awaits_answer:
                return [
                    SlotSet("answer_token", None),
                    SlotSet("verified_grievance", sealed(tracker, str(found.id))),
                    SlotSet("lookup_outcome", "awaits_answer"),
                ]
            # An officer's note links here too: the citizen's reply joins that case.
            replied = await in_store(lambda session: grievance_for_reply(session, token, CLOCK.now()))
            if replied is not None:
                return [
                    SlotSet("answer_token", None),
                    SlotSet("verified_grievance", sealed(tracker, str(replied.id))),
                    SlotSet("filed_reference", sealed(tracker, replied.reference)),
                    SlotSet("lookup_outcome", "add"),
                ]
            if found is not None:
                dispatcher.utter_message(response="utter_nothing_to_answer", reference=found.reference)
            else:
                dispatcher.utter_message(response="utter_link_invalid")
            dispatcher.utter_message(response="utter_menu")
            return [SlotSet("answer_token", None), SlotSet("lookup_outcome", None)]
        phone = sender_phone(tracker)
        if phone:
            await note_whatsapp_message(phone)
        # A QR code scanned in the middle of a conversation binds it to that project from now on.
        scanned = await bound_project(tracker.latest_message.get("metadata") or {})
        project_name = scanned.name if scanned else tracker.get_slot("project_name")
        if project_name:
            dispatcher.utter_message(response="utter_welcome_project", project_name=project_name)
        else:
            dispatcher.utter_message(response="utter_welcome")
        dispatcher.utter_message(response="utter_menu")
        return [*project_slots(scanned), SlotSet("lookup_outcome", None)]
