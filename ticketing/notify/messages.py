"""The words of every notification: one template per event and audience, in each language.

Officers read English (the backoffice's language); citizens get their grievance's language.
Times are shown in Nepal's time zone (ticketing/values/dates.py). A template never names the citizen, and the officers'
`{info}` line is left out for gender and integrity cases, whose details stay in the backoffice.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    subject: str
    body: str


# Officers: {purpose} is "For action" or "For information".
OFFICER: dict[str, Template] = {
    "received": Template(
        "[GRM] {purpose}: new grievance {reference}",
        "{purpose}. Grievance {reference} received ({project}) - to be reviewed by the officer in charge"
        " by {due}.{info}",
    ),
    "assigned": Template(
        "[GRM] {purpose}: grievance {reference} verified",
        "{purpose}. Grievance {reference} verified by the officer in charge - actions need to be taken"
        " to resolve it by {due}.{info}",
    ),
    "escalated": Template(
        "[GRM] {purpose}: grievance {reference} escalated to level {level}",
        "{purpose}. Grievance {reference} was not resolved in time - escalated from level {from_level}"
        " to level {level} ({level_name}) for immediate resolution. Due: {due}.{info}",
    ),
    "resolved": Template(
        "[GRM] {purpose}: grievance {reference} resolved",
        "{purpose}. Grievance {reference} resolved in {days} days at level {level}. Resolution: {resolution}",
    ),
    "accepted": Template(
        "[GRM] {purpose}: grievance {reference} closed",
        "{purpose}. The citizen accepted the resolution of grievance {reference}; it is closed.",
    ),
    "closed": Template(
        "[GRM] {purpose}: grievance {reference} closed",
        "{purpose}. Grievance {reference} is closed: {close_reason}.",
    ),
    "reopened": Template(
        "[GRM] {purpose}: grievance {reference} reopened",
        "{purpose}. Grievance {reference} ({project}, level {level}) was closed and is open again; it is to"
        " be resolved by {due}.{info}",
    ),
    "invalid_proposed": Template(
        "[GRM] {purpose}: close grievance {reference} as invalid?",
        "{purpose}. The contractor proposes to close grievance {reference} ({project}) as invalid: {proposal}"
        " Approve or reject it on the case's page; the case stays open until then.{info}",
    ),
    "citizen_message": Template(
        "[GRM] {purpose}: the citizen wrote about grievance {reference}",
        "{purpose}. The citizen added to grievance {reference} ({project}, level {level}): {message}",
    ),
    "handover": Template(
        "[GRM] {purpose}: grievance {reference} assigned to you",
        "{purpose}. Grievance {reference} ({project}, level {level}) is now yours. Due: {due}.{info}",
    ),
    "deadline": Template(
        "[GRM] {purpose}: grievance {reference} due {due}",
        "{purpose}. Grievance {reference} ({project}, level {level}) is due {due}; after that it is"
        " escalated automatically.{info}",
    ),
    "monthly_report": Template(
        "[GRM] Monthly report {month}",
        "The grievance redress report for {month} is attached (spreadsheet and PDF): per project and"
        " priority, grievances received, resolved and escalated by level, and the escalated grievances"
        " still unresolved.",
    ),
}

# Citizens, per language. SMS costs by the segment: these stay short.
CITIZEN: dict[str, dict[str, Template]] = {
    "en": {
        "received": Template(
            "Grievance {reference} received",
            "Your grievance {reference} was received; keep this number. The {level_name} will respond by"
            " {due}. To follow it, ask for its status at {chat}",
        ),
        "code": Template(
            "Your grievance desk code",
            "Your grievance desk code is {code}. It works for {minutes} minutes. Do not share it.",
        ),
        "assigned": Template(
            "Grievance {reference} is being handled",
            "Your grievance {reference} has been checked and is now being handled by the {level_name}.",
        ),
        "escalated": Template(
            "Grievance {reference} passed to level {level}",
            "Your grievance {reference} was not resolved in time. It has gone up to the {level_name}"
            " (level {level} of 4) for immediate resolution.",
        ),
        "resolved": Template(
            "Grievance {reference} resolved - are you satisfied?",
            "Your grievance {reference} has been resolved: {resolution}\nAre you satisfied with the resolution?"
            " {how_to_answer} Without an answer within {auto_close_days} days it will be closed.",
        ),
        "closed": Template(
            "Grievance {reference} closed",
            "Your grievance {reference} is now closed ({close_reason}).{reopen_hint} Thank you.",
        ),
        "note": Template(
            "Update on grievance {reference}", "About your grievance {reference}: {note}\nTo reply: {reply_link}"
        ),
        "reopened": Template(
            "Grievance {reference} reopened",
            "Your grievance {reference} is open again and is being handled by the {level_name}.",
        ),
    },
    "ne": {
        "received": Template(
            "गुनासो {reference} दर्ता भयो",
            "तपाईंको गुनासो {reference} दर्ता भयो; यो नम्बर राख्नुहोस्। {level_name}ले {due} सम्म जवाफ"
            " दिनुहुनेछ। अवस्था जान्न {chat} मा सोध्नुहोस्।",
        ),
        "code": Template(
            "गुनासो डेस्कको कोड",
            "तपाईंको गुनासो डेस्कको कोड {code} हो। यो {minutes} मिनेट चल्छ। कसैलाई नदिनुहोस्।",
        ),
        "assigned": Template(
            "गुनासो {reference} माथि काम हुँदैछ",
            "तपाईंको गुनासो {reference} जाँच गरिएको छ र अब {level_name}ले हेर्दै हुनुहुन्छ।",
        ),
        "escalated": Template(
            "गुनासो {reference} तह {level} मा पठाइयो",
            "तपाईंको गुनासो {reference} समयमै समाधान भएन। तुरुन्त समाधानका लागि यसलाई {level_name}"
            " (४ मध्ये तह {level}) मा पठाइएको छ।",
        ),
        "resolved": Template(
            "गुनासो {reference} समाधान भयो - तपाईं सन्तुष्ट हुनुहुन्छ?",
            "तपाईंको गुनासो {reference} समाधान भयो: {resolution}\nके तपाईं यो समाधानसँग सन्तुष्ट हुनुहुन्छ?"
            " {how_to_answer} {auto_close_days} दिनभित्र जवाफ नआए यो बन्द हुनेछ।",
        ),
        "closed": Template(
            "गुनासो {reference} बन्द भयो",
            "तपाईंको गुनासो {reference} अब बन्द भएको छ ({close_reason})।{reopen_hint} धन्यवाद।",
        ),
        "note": Template(
            "गुनासो {reference} बारे जानकारी", "तपाईंको गुनासो {reference} बारे: {note}\nजवाफ दिन: {reply_link}"
        ),
        "reopened": Template(
            "गुनासो {reference} फेरि खोलियो",
            "तपाईंको गुनासो {reference} फेरि खोलिएको छ र {level_name}ले हेर्दै हुनुहुन्छ।",
        ),
    },
}

# The link opens the webchat at the resolution question (admin_app.public, ?resume=).
HOW_TO_ANSWER = {
    "en": "Answer yes or no here: {link}",
    "ne": "हो वा होइन यहाँ जवाफ दिनुहोस्: {link}",
}

CLOSE_REASONS = {
    "en": {
        "accepted": "resolution accepted",
        "no_answer": "no answer to the resolution",
        "invalid": "not a grievance this mechanism can handle",
        "duplicate": "a duplicate of another grievance",
    },
    "ne": {
        "accepted": "समाधान स्वीकृत",
        "no_answer": "समाधानको जवाफ नआएकाले",
        "invalid": "यो संयन्त्रले हेर्न नमिल्ने गुनासो",
        "duplicate": "अर्को गुनासोको दोहोरो",
    },
}

# Told with a case closed as invalid or duplicate: the citizen may have it looked at again.
REOPEN_HINT = {
    "en": ' If you disagree, you can reopen it within {days} days: write "reopen" in our chat, or ask the'
    " project's grievance desk.",
    "ne": ' तपाईं असहमत हुनुहुन्छ भने {days} दिनभित्र यसलाई फेरि खोल्न सक्नुहुन्छ: हाम्रो च्याटमा "फेरि खोल्ने"'
    " लेख्नुहोस्, वा आयोजनाको गुनासो डेस्कलाई भन्नुहोस्।",
}

# A confidential case's resolution is read behind the link, never in an SMS others may see.
PRIVATE_RESOLUTION = {
    "en": "(open the link below to read it)",
    "ne": "(पढ्न तलको लिङ्क खोल्नुहोस्)",
}
# Nor does an officer's note to a gender case's citizen travel in the message itself.
PRIVATE_NOTE = {
    "en": "an officer has news for you. Please contact the project's grievance desk.",
    "ne": "अधिकारीसँग तपाईंका लागि जानकारी छ। कृपया आयोजनाको गुनासो डेस्कमा सम्पर्क गर्नुहोस्।",
}

PURPOSE = {True: "For action", False: "For information"}


def citizen_language(language: str) -> str:
    """The grievance's language if messages exist in it, else English."""
    return language if language in CITIZEN else "en"


def render(template: Template, values: dict[str, object]) -> tuple[str, str]:
    """Subject and body with the values filled in."""
    return template.subject.format(**values), template.body.format(**values).strip()
