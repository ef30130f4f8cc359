"""Filing a grievance: the form, its checks and its own questions; the places, the story told
early, the files and the recap have modules of their own."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    TRIAGE,
    TRIAGE_TIMEOUT_SECONDS,
    choose_project,
    current_catalog,
    language,
    latest_intent,
    latest_text,
    numeral,
    person_name,
    project_answer,
    sender_phone,
    words_of,
    words_only,
)
from actions.places import PlaceChecks, project_place
from actions.story import story_kept, typed_at_the_name_question
from ticketing.cases.filing import MAX_DETAILS_CHARS
from ticketing.errors import InvalidInput
from ticketing.places.gazetteer import plain_words
from ticketing.values.emails import normalise_email
from ticketing.values.phones import normalise_mobile

MIN_DETAILS_CHARS = 8


NO_EMAIL = "none"


# What a citizen may want to correct at the recap, and the answers that each clears.
FIELD_SLOTS = {
    "details": ("details", "details_done", "details_by_file"),
    "name": ("complainant_name", "name_withheld", "sensitive_case"),
    "phone": ("phone",),
    "place": ("province", "district", "municipality", "ward", "locality", "place_suggestion"),
    "email": ("email",),
    "category": ("category_choice",),
}


# Words by which a typed correction names its field (the buttons send the first of each), in
# English, Devanagari and romanised Nepali.
FIELD_WORDS = {
    "details": (
        *("what happened", "details", "story", "complaint", "grievance", "problem", "description"),
        *("के भयो", "विवरण", "गुनासो", "समस्या", "कुरा", "उजुरी"),
        *("ke bhayo", "bibaran", "vivaran", "gunaso", "samasya", "ujuri", "kura"),
    ),
    "name": ("name", "नाम", "थर", "naam", "nam", "thar"),
    "phone": ("mobile", "phone", "number", "contact", "मोबाइल", "फोन", "नम्बर", "nambar", "mobail"),
    "place": (
        *("place", "location", "address", "ward", "municipality", "district", "province", "village"),
        *("ठाउँ", "ठेगाना", "वडा", "पालिका", "नगरपालिका", "गाउँपालिका", "जिल्ला", "प्रदेश", "गाउँ", "टोल"),
        *("thau", "thaun", "thegana", "wada", "palika", "jilla", "pradesh", "gaun", "tol"),
    ),
    "email": ("email", "e mail", "mail", "इमेल", "इ मेल", "imel"),
    "category": (
        *("category", "kind of problem", "kind", "type", "topic"),
        *("विषय", "प्रकार", "किसिम", "bishaya", "bisaya", "prakar", "kisim"),
    ),
}


# The words of declining to give one's name ("keep me anonymous", "नाम नदिने", "skip"): a
# message at the name question with none of them is a name, whatever the classifier heard.
DECLINING_WORDS = words_of("stay_anonymous", "skip")


# category_choice while the category triage gives stands (the citizen did not correct it).
TRIAGE_CHOICE = "ai"


FORM_SLOTS = (
    *(slot for slots in FIELD_SLOTS.values() for slot in slots),
    "confirmed",
    "correction_field",
    "submission_key",
    "pending_retry",
    "triage",
)


def correction_field(text: str) -> str | None:
    """Which field a typed correction is about, if any of its words says so."""
    words = f" {plain_words(text)} "
    for field, names in FIELD_WORDS.items():
        if any(f" {plain_words(name)} " in words for name in names):
            return field
    return None


def cleared(field: str) -> dict[str, Any]:
    """The answers to ask again for a correction of `field`, then the recap again."""
    return {slot: None for slot in FIELD_SLOTS[field]} | {"confirmed": None, "correction_field": None}


class ActionBeginGrievance(Action):
    """Start a new filing: forget any earlier one, keep a problem already told, pre-fill the place."""

    def name(self) -> str:
        return "action_begin_grievance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        slots: dict[str, Any] = dict.fromkeys(FORM_SLOTS)
        slots["submission_key"] = f"chat:{uuid.uuid4().hex}"
        slots["category_choice"] = TRIAGE_CHOICE
        if latest_intent(tracker) == "describe_problem":
            slots["details"] = latest_text(tracker)
        code = tracker.get_slot("project_code")
        if code:
            config = await current_catalog()
            try:
                slots |= project_place(config.project(code), config.gazetteer)
            except InvalidInput:
                slots |= {"project_code": None, "project_name": None}
        # Only what changes: every event makes each later turn of the conversation dearer.
        return [SlotSet(slot, value) for slot, value in slots.items() if tracker.get_slot(slot) != value]


class ValidateGrievanceForm(PlaceChecks, FormValidationAction):
    """Check every answer as it comes; a wrong one is asked again with an example."""

    def name(self) -> str:
        return "validate_grievance_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        # Asked only on the way: whether a withheld name is a gender case, what to correct. A
        # name withheld stays listed while it is set: rasa-sdk checks only the listed slots,
        # and its check may find the "declining" was a name.
        skipped = set() if tracker.get_slot("name_withheld") else {"name_withheld"}
        skipped.add("complainant_name" if tracker.get_slot("name_withheld") else "sensitive_case")
        if tracker.get_slot("confirmed") is not False:
            skipped.add("correction_field")
        return [slot for slot in domain_slots if slot not in skipped]

    @story_kept
    @project_answer
    @words_only
    async def validate_project_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        config, project = await choose_project(dispatcher, str(value))
        if project is None:
            return {"project_code": None}
        if tracker.get_slot("requested_slot") == "project_code":  # typed, not from the QR code
            dispatcher.utter_message(response="utter_project_confirmed", project_name=project.name)
        place = {} if tracker.get_slot("province") else project_place(project, config.gazetteer)
        return {"project_code": project.code, "project_name": project.name} | place

    @words_only
    async def validate_details(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        details = str(value).strip()
        if len(details) < MIN_DETAILS_CHARS:
            dispatcher.utter_message(response="utter_details_too_short")
            return {"details": None}
        if len(details) > MAX_DETAILS_CHARS:
            dispatcher.utter_message(
                response="utter_details_too_long", limit=numeral(MAX_DETAILS_CHARS, language(tracker))
            )
            return {"details": None}
        return {"details": details}

    @words_only
    async def validate_details_done(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == "done":
            return {"details_done": "done"}
        # Anything else is more of the story: it is added, and the citizen asked again.
        added = f"{tracker.get_slot('details') or ''}\n{str(value).strip()}".strip()
        if len(added) > MAX_DETAILS_CHARS:
            dispatcher.utter_message(
                response="utter_details_too_long", limit=numeral(MAX_DETAILS_CHARS, language(tracker))
            )
            return {"details_done": None}
        # Words written after a voice note or photo can be triaged (with the line naming the file).
        return {"details": added, "details_done": None, "details_by_file": None}

    @story_kept
    @words_only
    async def validate_complainant_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        name = person_name(str(value))
        if name is None:
            dispatcher.utter_message(response="utter_name_invalid")
            return {"complainant_name": None}
        return {"complainant_name": name, "name_withheld": None, "sensitive_case": None}

    async def validate_name_withheld(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        typed = latest_text(tracker)
        if value and typed_at_the_name_question(tracker, typed, DECLINING_WORDS):
            # A name heard as "I'd rather not say" (the letters of "Pramila Praja" are like those
            # of "naam prakat nagarnus"): it declines nothing, so it is the name.
            return await self.validate_complainant_name(typed, dispatcher, tracker, domain)
        return {"name_withheld": value}

    async def validate_sensitive_case(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is True:
            dispatcher.utter_message(response="utter_anonymous_noted")
            return {"sensitive_case": True}
        # Not a gender case: a name is needed after all, asked for again.
        dispatcher.utter_message(response="utter_name_needed")
        return {"sensitive_case": None, "name_withheld": None}

    @story_kept
    async def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        known = sender_phone(tracker)
        if known and latest_intent(tracker) == "affirm":  # "yes, use the number I write from"
            return {"phone": known}
        if known and latest_intent(tracker) == "deny":  # "no": the plain question follows
            return {"phone": None}
        if str(value).lstrip().startswith("/"):  # any other button is not a number
            return {"phone": None}
        try:
            return {"phone": normalise_mobile(str(value))}
        except InvalidInput:
            dispatcher.utter_message(response="utter_phone_invalid", typed=str(value))
            return {"phone": None}

    @story_kept
    @words_only
    async def validate_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        email = str(value).strip()
        if email == NO_EMAIL:
            return {"email": ""}
        try:
            return {"email": normalise_email(email)}
        except InvalidInput:
            dispatcher.utter_message(response="utter_email_invalid", typed=email)
            return {"email": None}

    @words_only
    async def validate_category_choice(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == TRIAGE_CHOICE:  # set when the form began: triage's category stands
            return {"category_choice": TRIAGE_CHOICE}
        judged = await asyncio.to_thread(TRIAGE.triage, str(value), TRIAGE_TIMEOUT_SECONDS)
        if judged is None:  # triage is unavailable: the officer will decide
            return {"category_choice": TRIAGE_CHOICE}
        if judged.needs_review and len(str(value).split()) < 2:
            dispatcher.utter_message(response="utter_category_not_understood")
            return {"category_choice": None}
        return {"category_choice": judged.category}

    async def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is True:
            return {"confirmed": True}
        # "My phone number is wrong" names the field at once; otherwise it is asked.
        entities = tracker.latest_message.get("entities") or []
        field = next((e.get("value") for e in entities if e.get("entity") == "field"), None)
        field = field if field in FIELD_SLOTS else correction_field(latest_text(tracker))
        return cleared(field) if field else {"confirmed": False}

    @words_only
    async def validate_correction_field(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        field = correction_field(str(value))
        if field is None:
            return {"correction_field": None}
        return cleared(field)


class ActionAskPhone(Action):
    """Ask for the mobile number; on WhatsApp, ask only to confirm the one the citizen writes from."""

    def name(self) -> str:
        return "action_ask_phone"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        known = sender_phone(tracker)
        if known and latest_intent(tracker) != "deny":
            dispatcher.utter_message(response="utter_ask_phone_known", phone=known)
        else:
            dispatcher.utter_message(response="utter_ask_phone")
        return []
