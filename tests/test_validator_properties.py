"""Whatever a citizen types, in any script and up to the channels' limit, each of the chat's
checks answers: a value or a polite "ask again", never an error (property-based, hypothesis)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import use_store
from actions.grievance import ValidateGrievanceForm
from actions.resolution import ValidateResolutionForm
from actions.status import ValidateStatusForm
from tests.helpers import BAGMATI, HETAUDA, MAKWANPUR
from tests.test_actions import DOMAIN
from ticketing.store.db import Store

# Latin, Devanagari (with its digits, danda and combining marks), digits, punctuation, space.
TYPED = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.characters(min_codepoint=0x0900, max_codepoint=0x097F),
        st.sampled_from(["\n", "\t", "@", ".", "+", "-", "/", " ", "\u200d", "\u00a0"]),
    ),
    max_size=4000,
)
# Where each check expects the conversation to be when it is asked.
CHECKS: list[tuple[Any, str, dict[str, Any]]] = [
    (ValidateGrievanceForm(), slot, {"province": BAGMATI, "district": MAKWANPUR, "municipality": HETAUDA})
    for slot in (
        "project_code",
        "details",
        "details_done",
        "complainant_name",
        "phone",
        "province",
        "district",
        "municipality",
        "ward",
        "email",
        "correction_field",
    )
]
CHECKS += [(ValidateStatusForm(), slot, {}) for slot in ("reference", "lookup_phone")]
CHECKS += [(ValidateResolutionForm(), slot, {"satisfied": False}) for slot in ("rating", "refusal_reason")]


@pytest.fixture
def actions_store(demo: Store) -> Iterator[Store]:
    use_store(demo)
    yield demo
    use_store(None)


def conversation(text: str, slots: dict[str, Any]) -> Tracker:
    message = {"text": text, "intent": {"name": "inform", "confidence": 1.0}, "entities": []}
    events = [{"event": "user", "text": text, "parse_data": message, "input_channel": "socketio"}]
    return Tracker("citizen-typing", slots, message, events, False, None, {"name": "grievance_form"}, "action_listen")


@pytest.mark.parametrize(("form", "slot", "slots"), CHECKS, ids=[f"{form.name()}.{slot}" for form, slot, _ in CHECKS])
def test_any_text_is_taken_or_asked_again(actions_store: Store, form: Any, slot: str, slots: dict[str, Any]) -> None:
    validate = getattr(form, f"validate_{slot}")
    # Each check runs in an event loop of its own thread: the browser tests' driver may
    # already run one in this thread.
    loop = ThreadPoolExecutor(max_workers=1)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(typed=TYPED)
    def check(typed: str) -> None:
        dispatcher = CollectingDispatcher()
        checking = validate(typed, dispatcher, conversation(typed, slots), DOMAIN)
        result = loop.submit(asyncio.run, checking).result()
        assert isinstance(result, dict) and slot in result
        if result[slot] is None:
            # Asked again: with words the domain has, never a bare silence unless the answer was a payload.
            assert all(message["response"] in DOMAIN["responses"] for message in dispatcher.messages)

    with loop:
        check()
