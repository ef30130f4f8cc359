"""Answers that need no case: how the process works, whom to call, stopping, not understanding."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.addition import ADDITION_SLOTS
from actions.common import (
    UNKNOWN_PROJECT,
    choose_project,
    current_catalog,
    has_response,
    in_store,
    language,
    numeral,
    phrase,
    project_answer,
    words_only,
)
from actions.grievance import FORM_SLOTS
from actions.resolution import ANSWER_SLOTS
from actions.session import CARRIED_OVER
from actions.status import LOOKUP_SLOTS
from actions.story import story_aside
from ticketing.catalog import catalog
from ticketing.lifecycle import TOP_LEVEL, handler_name
from ticketing.places.locations import Place
from ticketing.routing import route
from ticketing.sla import Deadlines
from ticketing.store.models import Officer
from ticketing.store.vocabulary import Priority

FALLBACK_INTENT = "nlu_fallback"


class ValidateProjectForm(FormValidationAction):
    """The project asked before giving its contact: same matching as when filing."""

    def name(self) -> str:
        return "validate_project_form"

    @project_answer
    @words_only
    async def validate_project_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        _, project = await choose_project(dispatcher, str(value))
        if project is None:
            return {"project_code": None}
        return {"project_code": project.code, "project_name": project.name}


class ActionExplainProcess(Action):
    """The levels and their time limits, as they apply to the conversation's project."""

    def name(self) -> str:
        return "action_explain_process"

    @story_aside
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        config = await current_catalog()
        code = tracker.get_slot("project_code")
        project = config.projects.get(code) if code else None
        deadlines = project.deadlines if project is not None else Deadlines()
        lang = language(tracker)
        dispatcher.utter_message(
            response="utter_process",
            response_hours=numeral(deadlines.response_hours, lang),
            level_1_days=numeral(round(deadlines.level_hours[0] / 24), lang),
            level_2_days=numeral(round(deadlines.level_hours[1] / 24), lang),
            level_3_days=numeral(round(deadlines.level_hours[2] / 24), lang),
            auto_close_days=numeral(deadlines.auto_close_days, lang),
            **{f"handler_{level}": handler_name(level, lang) for level in range(1, TOP_LEVEL + 1)},
        )
        return []


def focal_person(session: Session, project_code: str) -> Officer | None:
    """The officer who takes the project's ordinary cases first (level 1, at the project's place)."""
    config = catalog(session)
    project = config.project(project_code)
    place = Place(project.province_id, project.district_id, project.municipality_id)
    officer_id = route(session, config, project.id, 1, place, None, Priority.NORMAL)
    return None if officer_id is None else session.get(Officer, officer_id)


class ActionContactPerson(Action):
    """The project's focal person, so the citizen can reach a human."""

    def name(self) -> str:
        return "action_contact_person"

    @story_aside
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        code = tracker.get_slot("project_code")
        name = tracker.get_slot("project_name")
        if code == UNKNOWN_PROJECT:
            dispatcher.utter_message(response="utter_contact_project_unknown")
            return [SlotSet("project_code", None)]  # asked again the next time
        if not code:
            # Asked in the middle of another form: the project form cannot run, say what we can.
            dispatcher.utter_message(response="utter_contact_no_project")
            return []
        officer = await in_store(lambda session: focal_person(session, code))
        if officer is None:
            dispatcher.utter_message(response="utter_contact_unknown", project_name=name)
            return []
        dispatcher.utter_message(
            response="utter_contact",
            project_name=name,
            officer_name=officer.name,
            officer_phone=officer.phone or "-",
            officer_email=officer.email,
        )
        return []


class ActionOutOfScope(Action):
    """What the bot cannot help with, said kindly."""

    def name(self) -> str:
        return "action_out_of_scope"

    @story_aside
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_out_of_scope")
        return []


class ActionStop(Action):
    """Leave whatever was going on and forget its answers."""

    def name(self) -> str:
        return "action_stop"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_stopped")
        slots = {
            *FORM_SLOTS,
            *LOOKUP_SLOTS,
            *ANSWER_SLOTS,
            *ADDITION_SLOTS,
            "requested_slot",
            "verified_grievance",
            "attachments",
        }
        return [ActiveLoop(None), *(SlotSet(slot, None) for slot in sorted(slots))]


class ActionRestart(Action):
    """Start over: forget every answer, keep the project and language the chat was opened with.

    Replaces Rasa's own restart, which wipes the conversation so thoroughly that the bot no
    longer knows it should now listen (it would answer with the fallback).
    """

    def name(self) -> str:
        return "action_restart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_restart")
        kept = [SlotSet(slot, tracker.get_slot(slot)) for slot in CARRIED_OVER if tracker.get_slot(slot)]
        return [ActiveLoop(None), AllSlotsReset(), *kept]


class ActionDefaultAskAffirmation(Action):
    """ "Did you mean ...?" in words, in place of Rasa's default that shows the intent's name."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        guess = next((r.get("name") for r in ranking if r.get("name") != FALLBACK_INTENT), None)
        meaning = f"utter_meaning_{guess}"
        if guess is None or not has_response(domain, meaning):
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        dispatcher.utter_message(
            response="utter_did_you_mean", meaning=phrase(domain, meaning, language(tracker)), intent=guess
        )
        return []
