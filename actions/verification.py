"""A citizen's phone proven by a code, and the grievances filed with it ("my grievances").

A WhatsApp sender's number is proven by Twilio; any other number by the code sent to it by
SMS (ticketing.cases.verification). What a conversation proved is kept sealed to it.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    CLOCK,
    STORE_UNAVAILABLE,
    in_store,
    language,
    latest_text,
    logger,
    minutes_to_wait,
    numeral,
    phrase,
    requester,
    sealed,
    sender_phone,
    unsealed,
    words_only,
)
from ticketing.cases.verification import NoCode, Outcome, TooManyCodes, check_code, send_again, send_code
from ticketing.citizen import CitizenView, cases_of
from ticketing.errors import InvalidInput
from ticketing.values.phones import masked, normalise_mobile


def proven_phone(tracker: Tracker) -> str | None:
    """The number this conversation proved its citizen's: the WhatsApp sender's, or one a code proved."""
    return sender_phone(tracker) or unsealed(tracker, "verified_phone")


def tell_code_sent(dispatcher: CollectingDispatcher, phone: str) -> None:
    dispatcher.utter_message(response="utter_code_sent", phone=masked(phone))


def state(domain: DomainDict, case: CitizenView, lang: str) -> str:
    """Where a case stands, in a few words of the citizen's language."""
    return phrase(domain, f"utter_label_status_{case.status.value}", lang)


def list_cases(dispatcher: CollectingDispatcher, domain: DomainDict, lang: str, cases: list[CitizenView]) -> None:
    """The citizen's cases, newest first, each a button that tells its status."""
    if not cases:
        dispatcher.utter_message(response="utter_no_grievances")
        return
    no_project = phrase(domain, "utter_label_no_project", lang)
    lines = [f"{case.reference}: {case.project_name or no_project}, {state(domain, case, lang)}" for case in cases]
    buttons = [
        {"title": case.reference, "payload": f'/give_reference{{"reference": "{case.reference}"}}'} for case in cases
    ]
    dispatcher.utter_message(response="utter_my_grievances", cases="\n".join(lines), buttons=buttons)


class ValidateMineForm(FormValidationAction):
    """The number to list the grievances of, asked only when the conversation has none proven."""

    def name(self) -> str:
        return "validate_mine_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        return [] if proven_phone(tracker) else domain_slots

    @words_only
    async def validate_mine_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        try:
            return {"mine_phone": normalise_mobile(str(value))}
        except InvalidInput:
            dispatcher.utter_message(response="utter_phone_invalid", typed=str(value))
            return {"mine_phone": None}


class ActionMyGrievances(Action):
    """List the grievances of the proven number; for another number, send it a code first."""

    def name(self) -> str:
        return "action_my_grievances"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        forget: list[EventType] = [SlotSet("mine_phone", None)]
        lang = language(tracker)
        proven = proven_phone(tracker)
        try:
            if proven:
                cases = await in_store(lambda session: cases_of(session, proven))
                list_cases(dispatcher, domain, lang, cases)
                return forget
            typed = str(tracker.get_slot("mine_phone"))
            who = requester(tracker)
            await in_store(lambda session: send_code(session, CLOCK, typed, who, lang))
        except TooManyCodes as refused:
            dispatcher.utter_message(response="utter_code_limit", minutes=minutes_to_wait(refused, lang))
            return forget
        except STORE_UNAVAILABLE:
            logger.exception("the ticket store is unreachable for a citizen's list of grievances")
            dispatcher.utter_message(response="utter_lookup_unavailable")
            return forget
        tell_code_sent(dispatcher, typed)
        return forget


class ActionCheckCode(Action):
    """The code the citizen typed: a right one proves the number (and lists its cases, if asked)."""

    def name(self) -> str:
        return "action_check_code"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        lang = language(tracker)
        typed, who = latest_text(tracker), requester(tracker)
        try:
            checked = await in_store(lambda session: check_code(session, CLOCK, who, typed))
            if checked.outcome is not Outcome.CONFIRMED or checked.phone is None:
                tell_outcome(dispatcher, checked.outcome, checked.tries_left, lang)
                return []
            proven = [SlotSet("verified_phone", sealed(tracker, checked.phone))]
            if checked.for_filing:
                dispatcher.utter_message(response="utter_phone_confirmed")
                dispatcher.utter_message(response="utter_anything_else")
                return proven
            phone = checked.phone
            list_cases(dispatcher, domain, lang, await in_store(lambda session: cases_of(session, phone)))
            return proven
        except STORE_UNAVAILABLE:
            logger.exception("the ticket store is unreachable to check a code")
            dispatcher.utter_message(response="utter_lookup_unavailable")
            return []


def tell_outcome(dispatcher: CollectingDispatcher, outcome: Outcome, tries_left: int, lang: str) -> None:
    """Why a typed code proved nothing, and what to do next."""
    if outcome is Outcome.WRONG:
        dispatcher.utter_message(response="utter_code_wrong", tries=numeral(tries_left, lang))
    elif outcome is Outcome.NONE:
        dispatcher.utter_message(response="utter_no_code")
    else:  # expired, or too many wrong tries: only a new code helps
        dispatcher.utter_message(response=f"utter_code_{outcome.value}")


class ActionSendCodeAgain(Action):
    """A new code to the number of the conversation's last one."""

    def name(self) -> str:
        return "action_send_code_again"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        who = requester(tracker)
        try:
            phone = await in_store(lambda session: send_again(session, CLOCK, who))
        except NoCode:
            dispatcher.utter_message(response="utter_no_code")
            return []
        except TooManyCodes as refused:
            dispatcher.utter_message(response="utter_code_limit", minutes=minutes_to_wait(refused, language(tracker)))
            return []
        except STORE_UNAVAILABLE:
            logger.exception("the ticket store is unreachable to send a code again")
            dispatcher.utter_message(response="utter_lookup_unavailable")
            return []
        tell_code_sent(dispatcher, phone)
        return []
