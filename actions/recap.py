"""The recap of what the citizen told (with triage's summary and category), and the filing."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.attachments import files
from actions.common import (
    CLOCK,
    STORE_UNAVAILABLE,
    TRIAGE,
    TRIAGE_TIMEOUT_SECONDS,
    channel,
    current_catalog,
    in_store,
    known_project,
    language,
    logger,
    numeral,
    phrase,
    requester,
    seal,
    sealed,
)
from actions.grievance import FIELD_SLOTS, FORM_SLOTS, TRIAGE_CHOICE
from actions.places import place_text
from actions.verification import proven_phone, tell_code_sent
from ticketing.cases.attachments import claim_uploads
from ticketing.cases.filing import Submission, file_grievance
from ticketing.cases.verification import Claim, TooManyCodes, send_code
from ticketing.catalog import Catalog, catalog
from ticketing.errors import InvalidInput
from ticketing.lifecycle import handler_name
from ticketing.triage.summary import trim
from ticketing.values.languages import in_language

# The roots of the categories handled in confidence, where a citizen who withholds their name
# because the case is sensitive is filed; gender first, when triage heard neither.
CONFIDENTIAL_ROOTS = ("gender", "integrity")


# The answers to ask again when the ticket store refuses a filing (a project closed or a ward
# dropped from the gazetteer since the question was answered): by the field the service names.
REFUSED_FIELDS = {
    "project_code": ("project_code", "project_name"),
    **{field: FIELD_SLOTS[field] for field in ("details", "name", "phone", "email")},
    "place": (*FIELD_SLOTS["place"], "coordinates"),  # a shared spot off the map
    **dict.fromkeys(("ward", "municipality_id", "district_id", "province_id"), FIELD_SLOTS["place"]),
    "category_code": FIELD_SLOTS["category"],
}


class ActionAskConfirmed(Action):
    """Show everything the citizen told, and ask whether to send it or change something."""

    def name(self) -> str:
        return "action_ask_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        config = await current_catalog()
        lang = language(tracker)
        details = str(tracker.get_slot("details"))
        judged = None
        if not tracker.get_slot("details_by_file"):  # a line naming a file says nothing to triage
            judged = await asyncio.to_thread(TRIAGE.triage, details, TRIAGE_TIMEOUT_SECONDS)
        seen = None if judged is None else {"summary": judged.summary, "categories": judged.as_record()}
        code = chosen_category(tracker, seen)
        dispatcher.utter_message(
            response="utter_recap",
            project_name=tracker.get_slot("project_name") or phrase(domain, "utter_label_no_project", lang),
            details=tracker.get_slot("details"),
            name=tracker.get_slot("complainant_name") or phrase(domain, "utter_recap_anonymous_name", lang),
            phone=tracker.get_slot("phone"),
            ward=tracker.get_slot("ward"),
            place=place_text(config, tracker, lang),
            email=tracker.get_slot("email") or phrase(domain, "utter_recap_no_email", lang),
            files=", ".join(f["name"] for f in files(tracker)) or phrase(domain, "utter_recap_no_files", lang),
            summary=seen["summary"] if seen else trim(details),
            category=category_name(config, code, lang) if code else phrase(domain, "utter_recap_no_category", lang),
        )
        dispatcher.utter_message(response="utter_ask_confirmed")
        return [SlotSet("triage", seen)] if seen != tracker.get_slot("triage") else []


def chosen_category(tracker: Tracker, seen: dict[str, Any] | None) -> str | None:
    """The citizen's own choice if they corrected it, else triage's first category, else none."""
    choice = tracker.get_slot("category_choice")
    if choice and choice != TRIAGE_CHOICE:
        return str(choice)
    return str(seen["categories"][0]["code"]) if seen else None


def category_name(config: Catalog, code: str, lang: str) -> str:
    category = config.categories[config.category_codes[code]]
    return in_language(category.name_en, category.name_ne, lang)


def submission(tracker: Tracker) -> Submission:
    """The grievance as the form collected it, with what triage said at the recap."""
    seen = tracker.get_slot("triage")
    spot = tracker.get_slot("coordinates")
    code = chosen_category(tracker, seen)
    citizen_chose = tracker.get_slot("category_choice") not in (None, TRIAGE_CHOICE)
    if tracker.get_slot("sensitive_case") and (code or "").split(".")[0] not in CONFIDENTIAL_ROOTS:
        # The citizen said it is about harassment, violence, bribery or fraud: a confidential
        # case whatever triage ranked first (the first confidential category it saw, else gender).
        ranked = [str(seen_category["code"]) for seen_category in (seen or {}).get("categories", [])]
        confidential = [ranked_code for ranked_code in ranked if ranked_code.split(".")[0] in CONFIDENTIAL_ROOTS]
        code, citizen_chose = (confidential or [CONFIDENTIAL_ROOTS[0]])[0], True
    return Submission(
        project_code=known_project(tracker),
        details=str(tracker.get_slot("details")),
        channel=channel(tracker),
        language=language(tracker),
        name=tracker.get_slot("complainant_name"),
        phone=tracker.get_slot("phone"),
        # A WhatsApp citizen's own number, or one this conversation proved by a code, is
        # proven; any other waits for its code.
        phone_verified=bool(tracker.get_slot("phone")) and tracker.get_slot("phone") == proven_phone(tracker),
        email=tracker.get_slot("email") or None,
        province_id=tracker.get_slot("province"),
        district_id=tracker.get_slot("district"),
        municipality_id=tracker.get_slot("municipality"),
        ward=tracker.get_slot("ward"),
        locality=tracker.get_slot("locality"),
        latitude=spot["latitude"] if spot else None,
        longitude=spot["longitude"] if spot else None,
        category_code=code,
        category_source="citizen" if citizen_chose else "ai",
        summary=seen["summary"] if seen else None,
        ai_categories=seen["categories"] if seen else None,
        needs_triage=seen is None and not tracker.get_slot("details_by_file"),
        idempotency_key=submission_key(tracker),
    )


def submission_key(tracker: Tracker) -> str:
    """The filing's idempotency key: the form's draw, bound to this conversation (a retry files
    once; a key copied into another conversation's tracker names nothing of this one)."""
    drawn = str(tracker.get_slot("submission_key") or "")
    return f"chat:{seal(tracker, drawn)}"


class ActionSubmitGrievance(Action):
    """File the grievance; if the store cannot be reached, keep every answer for a retry."""

    def name(self) -> str:
        return "action_submit_grievance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        filed = submission(tracker)
        tokens = [f["token"] for f in files(tracker)]
        who = requester(tracker)
        try:
            reference, level, hours, confidential, code_sent = await in_store(
                lambda session: self._file(session, filed, tracker.sender_id, tokens, who)
            )
        except (InvalidInput, *STORE_UNAVAILABLE) as failure:
            if isinstance(failure, InvalidInput) and failure.field in REFUSED_FIELDS:
                # Every other answer is kept: the form asks again only what was refused, then
                # recaps. It goes on as after an aside, active already, as a form started anew
                # would check every kept answer again against the "yes" that sent it.
                logger.warning("a filing was refused (%s); the form asks again", failure)
                dispatcher.utter_message(response="utter_submit_rejected")
                refused = (*REFUSED_FIELDS[failure.field], "confirmed")
                return [
                    *(SlotSet(slot, None) for slot in refused),
                    ActiveLoop("grievance_form"),
                    FollowupAction("grievance_form"),
                ]
            # The store unreachable, or a refusal no answer could mend (a fault of ours).
            logger.exception("the grievance could not be filed; the citizen's answers are kept")
            dispatcher.utter_message(response="utter_store_unavailable")
            return [SlotSet("pending_retry", "submit")]
        if confidential:
            dispatcher.utter_message(
                response="utter_filed_confidential", reference=reference, hours=numeral(hours, language(tracker))
            )
        else:
            dispatcher.utter_message(
                response="utter_filed",
                reference=reference,
                hours=numeral(hours, language(tracker)),
                handler=handler_name(level, language(tracker)),
            )
        if code_sent:
            tell_code_sent(dispatcher, str(filed.phone))
        else:
            if filed.phone and not filed.phone_verified:
                dispatcher.utter_message(response="utter_code_not_sent")
            dispatcher.utter_message(response="utter_anything_else")
        done = [
            SlotSet(slot, None)
            for slot in (*FORM_SLOTS, "attachments", "coordinates")
            if tracker.get_slot(slot) is not None
        ]
        return [*done, SlotSet("filed_reference", sealed(tracker, reference))]

    @staticmethod
    def _file(
        session: Session, filed: Submission, conversation: str, tokens: list[str], who: str
    ) -> tuple[str, int, int, bool, bool]:
        """File, and send a code to a number not yet proven; returns what the citizen is told:
        reference, level, hours to the first response, whether the case is handled in
        confidence (a gender or integrity case), and whether a code went to the number."""
        grievance = file_grievance(session, CLOCK, filed)
        claim_uploads(session, CLOCK, grievance, conversation, tokens)
        hours = catalog(session).deadlines(grievance.project_id).response_hours
        told = grievance.reference, grievance.level, hours, grievance.priority.confidential
        if not filed.phone or grievance.phone_verified:
            return (*told, False)
        claim = Claim(filed.name, filed.email)
        try:
            send_code(session, CLOCK, filed.phone, who, grievance.language, grievance.id, claim)
        except TooManyCodes:  # refused before writing anything: the filing stands, unproven
            return (*told, False)
        return (*told, True)
