"""Nepali is a language of the bot, not a translation of some of it: every response has its
Nepali form with the same facts, variables and buttons, and the bot knows a Nepali writer
from their words."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.language import detect, named_language, one_spelling
from ticketing.config import PROJECT_ROOT
from ticketing.lifecycle import LADDER, TOP_LEVEL
from ticketing.notify import messages
from ticketing.reporting.tables import Document, Table, to_pdf
from ticketing.values.dates import citizen_time
from ticketing.values.languages import LANGUAGES

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
RESPONSES: dict[str, list[dict[str, Any]]] = DOMAIN["responses"]
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
VARIABLE = re.compile(r"\{(\w+)\}")
# Messenger shows a button title of at most 20 characters; a longer one turns the buttons into a numbered list.
MESSENGER_TITLE = 20


def language_of(variation: dict[str, Any]) -> str:
    for condition in variation.get("condition") or []:
        if condition.get("name") == "language":
            return str(condition["value"])
    return "en"


def other_conditions(variation: dict[str, Any]) -> list[tuple[str, Any]]:
    return sorted((c["name"], c["value"]) for c in variation.get("condition") or [] if c.get("name") != "language")


def pairs(name: str) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each English variation of a response with the Nepali one said in the same situation."""
    variations = RESPONSES[name]
    nepali = [v for v in variations if language_of(v) == "ne"]
    return [
        (english, next((v for v in nepali if other_conditions(v) == other_conditions(english)), None))
        for english in variations
        if language_of(english) == "en"
    ]


def variables(variation: dict[str, Any]) -> set[str]:
    said = [variation.get("text", "")] + [button["title"] for button in variation.get("buttons", [])]
    return {name for text in said for name in VARIABLE.findall(text)}


def payloads(variation: dict[str, Any]) -> list[str]:
    """What the buttons do, but for the one that offers the other language."""
    return [b["payload"] for b in variation.get("buttons", []) if not b["payload"].startswith("/choose_language")]


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_every_response_is_said_in_nepali_with_the_same_facts(name: str) -> None:
    for english, nepali in pairs(name):
        assert nepali is not None, f"{name} has no Nepali variation for {other_conditions(english) or 'the default'}"
        assert DEVANAGARI.search(nepali["text"]), f"{name}: the Nepali text is not in Devanagari"
        assert variables(nepali) == variables(english), f"{name}: the Nepali text fills other variables"
        assert payloads(nepali) == payloads(english), f"{name}: the Nepali buttons do other things"


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_nepali_buttons_fit_every_channel(name: str) -> None:
    for _, nepali in pairs(name):
        for button in (nepali or {}).get("buttons", []):
            title = button["title"]
            assert VARIABLE.search(title) or len(title) <= MESSENGER_TITLE, (
                f"{name}: {title!r} is too long for Messenger"
            )


def test_the_menu_offers_the_other_language() -> None:
    english, nepali = pairs("utter_menu")[0]
    assert nepali is not None
    # As Rasa sends them: a doubled brace is a brace (a single one would be taken for a slot).
    sent = {
        language: [b["payload"].replace("{{", "{").replace("}}", "}") for b in v["buttons"]]
        for language, v in (("en", english), ("ne", nepali))
    }
    assert '/choose_language{"language": "ne"}' in sent["en"] and '/choose_language{"language": "en"}' in sent["ne"]


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("नमस्ते", "ne"),
        ("गुनासो दर्ता गर्न चाहन्छु।", "ne"),
        ("वडा ५", "ne"),
        ("मेरो complaint को status के छ?", "ne"),  # code-mixed, mostly Devanagari
        ("mero jagga ko muabja aayena", "ne"),
        ("ujuri dinu cha", "ne"),
        ("my complaint status k cha", "ne"),  # code-mixed romanised
        ("hoina", "ne"),
        ("Land was taken for the road widening and I have not received any compensation", "en"),
        ("Hi there, I want to file a complaint", "en"),
        # Short or neutral answers leave the language as it was.
        ("hello", None),
        ("thank you", None),  # Nepali speakers say it too
        ("ok", None),
        ("Ram Bahadur Thapa", None),
        ("Hetauda", None),
        ("9841234567", None),
        ("GR-340K-0X6R", None),  # not the word "k"
        ("gr 340k 0x6r", None),
        ("ram@example.com", None),
        ('/choose_language{"language": "ne"}', None),  # a button's payload says it itself
    ],
)
def test_the_language_of_a_message_is_told_only_when_it_is_clear(message: str, language: str | None) -> None:
    assert detect(message) == language


def test_dates_are_told_as_nepali_readers_count_them() -> None:
    moment = datetime(2026, 12, 3, 14, 42, tzinfo=UTC)  # 20:27 in Nepal, 17 Mangsir 2083
    assert citizen_time(moment, "ne") == "२०८३ मंसिर १७, २०:२७ (3 Dec 2026)"
    assert citizen_time(moment, "en") == "03 Dec 2026 20:27 (Nepal time)"
    assert citizen_time(None, "ne") == "तोकिएको मिति छैन"
    # Just after midnight in Nepal is still the evening before in UTC: the Nepali day counts.
    assert citizen_time(datetime(2026, 4, 13, 18, 30, tzinfo=UTC), "ne").startswith("२०८३ वैशाख १,")


def test_pdfs_print_nepali_among_english(tmp_path: Path) -> None:
    table = Table("Cases", "Cases", ("reference", "name", "details"), [("GR-7K3P-9QXD", "सीता तामाङ", "धुलो; trucks")])
    pdf = tmp_path / "cases.pdf"
    pdf.write_bytes(to_pdf(Document("गुनासो / Grievances", "KKR-01", [table])))
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "NotoSansDevanagari" in fonts  # embedded, so any reader draws it
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    # Read back from the PDF as a reader copies it. (A conjunct or a vowel sign drawn before its
    # consonant is one shaped glyph that reportlab gives no text: "बहादुर" copies as "बहार".)
    assert "सीता तामाङ" in text and "धुलो;" in text and "trucks" in text and "गुनासो / Grievances" in text


def test_every_part_that_speaks_to_citizens_speaks_the_languages_defined_once() -> None:
    chat_page = yaml.safe_load((PROJECT_ROOT / "admin_app" / "chat_text.yml").read_text("utf-8"))
    spoken_by = {
        "the chat's language slot": DOMAIN["slots"]["language"]["values"],
        "the chat page": list(chat_page),
        **{
            f"the citizens' notifications ({name})": words
            for name, words in {
                "templates": list(messages.CITIZEN),
                "how to answer": list(messages.HOW_TO_ANSWER),
                "close reasons": list(messages.CLOSE_REASONS),
                "a private resolution": list(messages.PRIVATE_RESOLUTION),
                "a private note": list(messages.PRIVATE_NOTE),
                "the hint to reopen": list(messages.REOPEN_HINT),
            }.items()
        },
        **{f"level {n}'s handler": list(level.handler) for n, level in enumerate(LADDER, start=1)},
    }
    assert {part: sorted(languages) for part, languages in spoken_by.items()} == dict.fromkeys(
        spoken_by, sorted(LANGUAGES)
    )


def test_every_message_to_citizens_is_written_in_every_language() -> None:
    events = {language: sorted(templates) for language, templates in messages.CITIZEN.items()}
    assert events == dict.fromkeys(LANGUAGES, sorted(messages.CITIZEN[LANGUAGES[0]]))
    assert {language: sorted(reasons) for language, reasons in messages.CLOSE_REASONS.items()} == dict.fromkeys(
        LANGUAGES, sorted(messages.CLOSE_REASONS[LANGUAGES[0]])
    )


def test_the_escalation_ladder_is_named_in_one_place_and_the_chat_explains_every_level() -> None:
    # The chat and the notifications both name a level from ticketing.lifecycle.LADDER;
    # domain.yml keeps no names of its own, and its account of the process has every level.
    assert not [name for name in RESPONSES if name.startswith("utter_handler")]
    assert all(set(level.handler) == {"en", "ne"} and all(level.handler.values()) for level in LADDER)
    for variation in RESPONSES["utter_process"]:
        named = set(re.findall(r"\{(handler_\d+)\}", variation["text"]))
        assert named == {f"handler_{n}" for n in range(1, TOP_LEVEL + 1)}, language_of(variation)


@pytest.mark.parametrize(
    ("span", "language"),
    [("ne", "ne"), ("नेपालीमा", "ne"), ("nepali bhasa", "ne"), ("English", "en"), ("अंग्रेजी", "en"), ("French", None)],
)
def test_a_language_named_in_any_words_becomes_its_code(span: str, language: str | None) -> None:
    # What the classifier hands over may be any span; the slot only ever gets "en" or "ne".
    assert named_language(span) == language


@pytest.mark.parametrize(
    ("one", "other"),
    [("अरू केही छैन", "अरु केही छैन"), ("दीदी", "दिदी"), ("गाउँ", "गाउं"), ("पर्\u200dयो", "पर्यो"), ("ऊ", "उ")],
)
def test_the_classifier_reads_the_spellings_of_a_word_as_one(one: str, other: str) -> None:
    assert one_spelling(one) == one_spelling(other)
    assert one_spelling("the same english") == "the same english"
