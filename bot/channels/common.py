"""What every connector shares: one length limit, each message handled once, and buttons as
numbered choices read back from the conversation."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from sanic.request import Request

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


# How long a handled message id is remembered: providers redeliver within minutes.
SEEN_SECONDS = 24 * 3600


_IN_MEMORY_SEEN_LIMIT = 100_000


# What a citizen's file or shared place becomes: an intent the rules answer, the details
# travelling as metadata (never typed by a citizen, so never taken for their words).
ATTACH_PAYLOAD = "/attach"


LOCATION_PAYLOAD = "/share_location"


GREET_PAYLOAD = "/greet"


# One limit for every channel, applied before NLU reads a message: longer ones are answered
# kindly (the rule for this payload) and never reach the classifier or the actions' checks.
MAX_MESSAGE_CHARS = 4000


TOO_LONG_PAYLOAD = "/too_long"


# Metadata only the signed connectors may set: it makes the action server fetch files or
# record a place. A webchat or REST client could otherwise point it anywhere.
SIGNED_ONLY_METADATA = frozenset({"media", "location"})


CHOICE_HINT = "(Reply with the number / नम्बर लेखेर पठाउनुहोस्)"


_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")


def split_text(text: str, limit: int) -> list[str]:
    """Cut a long reply into messages of at most `limit` characters, at a paragraph,
    line, sentence or word boundary where there is one."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max((window.rfind(mark) for mark in ("\n\n", "\n", ". ", "। ", " ")), default=-1)
        cut = cut if cut > limit // 2 else limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return parts + [rest] if rest else parts


def numbered(text: str, buttons: list[dict[str, Any]]) -> str:
    """A question with its choices as a numbered list, answerable by the number alone."""
    lines = [f"{number}. {button.get('title', '')}" for number, button in enumerate(buttons, start=1)]
    return "\n".join([text, "", *lines, "", CHOICE_HINT]) if text else "\n".join([*lines, "", CHOICE_HINT])


def chosen_payload(text: str, events: Iterable[Any]) -> str | None:
    """The payload of the button a bare number picks among the bot's last choices, if any.

    Only the choices offered since the citizen last spoke count: an old list answered
    by a number much later is not what the citizen is looking at.
    """
    digits = text.strip().translate(_DEVANAGARI_DIGITS).rstrip(".)")
    if not digits.isdigit():
        return None
    offered: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event, UserUttered):
            offered = []
        elif isinstance(event, BotUttered) and (event.data or {}).get("buttons"):
            offered = list(event.data["buttons"])
    index = int(digits) - 1
    if 0 <= index < len(offered):
        return str(offered[index].get("payload") or offered[index].get("title") or "")
    return None


def within_limits(message: UserMessage) -> UserMessage:
    """The message, or the payload that answers it kindly when it is longer than any channel allows."""
    if message.text is not None and len(message.text) > MAX_MESSAGE_CHARS:
        message.text = TOO_LONG_PAYLOAD
    return message


class SeenMessages:
    """Message ids already taken (or being taken): a redelivery is acknowledged, not redone.

    With several Rasa workers the ids live in the Redis the lock store uses, so a retry
    reaching another worker is caught too; with one, in this process. A message whose
    turn failed is released, so the provider's retry is processed.
    """

    def __init__(self) -> None:
        self._local: OrderedDict[str, float] = OrderedDict()

    def claim(self, agent: Any, key: str) -> bool:
        redis = getattr(getattr(agent, "lock_store", None), "red", None)
        if redis is not None:
            return bool(redis.set(f"grm:seen:{key}", "1", nx=True, ex=SEEN_SECONDS))
        now = time.monotonic()
        while self._local and (
            len(self._local) > _IN_MEMORY_SEEN_LIMIT or next(iter(self._local.values())) < now - SEEN_SECONDS
        ):
            self._local.popitem(last=False)
        if key in self._local:
            return False
        self._local[key] = now
        return True

    def release(self, agent: Any, key: str) -> None:
        redis = getattr(getattr(agent, "lock_store", None), "red", None)
        if redis is not None:
            redis.delete(f"grm:seen:{key}")
        else:
            self._local.pop(key, None)


async def conversation_events(request: Request, sender_id: str) -> list[Any]:
    """The conversation's events as Rasa keeps them (empty for a new one)."""
    agent = request.app.ctx.agent
    tracker = await agent.tracker_store.retrieve(sender_id) if agent and agent.tracker_store else None
    return list(tracker.events) if tracker is not None else []


class SignedChannel(InputChannel):
    """What both connectors share: once-only handling and numbered choices read back."""

    def __init__(self) -> None:
        self.seen = SeenMessages()

    @classmethod
    def required(cls, credentials: dict[str, Any] | None, *names: str) -> dict[str, str]:
        """The channel's settings as text; Rasa's own error when one of `names` is empty."""
        given = {key: str(value or "") for key, value in (credentials or {}).items()}
        if not all(given.get(name) for name in names):
            cls.raise_missing_credentials_exception()
        return given

    async def deliver(
        self, request: Request, on_new_message: OnNewMessage, messages: list[UserMessage], message_id: str
    ) -> None:
        """Hand the messages of one delivery to Rasa, unless that delivery was handled before."""
        agent = request.app.ctx.agent
        sender = messages[0].sender_id or ""
        events = await conversation_events(request, sender)
        if any(isinstance(e, UserUttered) and e.message_id == message_id for e in events):
            return  # handled before a restart, or by a worker whose claim has expired
        if not self.seen.claim(agent, f"{self.name()}:{message_id}"):
            return
        try:
            for message in messages:
                within_limits(message)
                if message.text and not message.text.startswith("/"):
                    message.text = chosen_payload(message.text, events) or message.text
                await on_new_message(message)
        except BaseException:
            self.seen.release(agent, f"{self.name()}:{message_id}")
            raise
