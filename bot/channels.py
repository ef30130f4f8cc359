"""WhatsApp (through Twilio) and Facebook Messenger: signed webhooks in, replies out.

Rasa's own connectors for both check signatures weakly or not at all, process a
redelivered message twice, and drop media; these replace them. credentials.yml names
them by module path (`bot.channels.WhatsAppInput`), so Rasa imports this file.

A conversation is found by its sender id alone, whatever channel a message came in on.
WhatsApp ids are phone numbers, easy to guess, and the webchat and REST channels let the
client choose its id; so each channel keeps to its own ids: "whatsapp:+977...",
"facebook:<page-scoped id>", and, for the webchat and REST, ids without a colon (our
subclasses drop any other message), so no one can write into another's conversation.

Both channels show buttons as numbered choices when they cannot show them natively, and
a citizen's number is read back as the button's payload: the choices are taken from the
conversation's tracker, so any Rasa worker can read them, before or after a restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.deeplinks import prefill_language, project_in_message, project_ref

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

# Twilio refuses a WhatsApp body over 1,600 characters; Messenger one over 2,000.
WHATSAPP_TEXT_LIMIT = 1600
MESSENGER_TEXT_LIMIT = 2000
# Messenger shows at most 13 quick replies, each title at most 20 characters.
MESSENGER_QUICK_REPLIES = 13
MESSENGER_TITLE_LIMIT = 20
GRAPH_API_URL = "https://graph.facebook.com"
GRAPH_API_VERSION = "v19.0"
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
# What one Socket.IO packet of the webchat may weigh: a message at its limit, in Devanagari
# (3 bytes a character), with its metadata; python-socketio's default is 1 MB.
WEBCHAT_PACKET_BYTES = 64 * 1024
CHOICE_HINT = "(Reply with the number / नम्बर लेखेर पठाउनुहोस्)"
_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
MESSENGER_PREFIX = "facebook:"
# The ids the webchat draws (uuid4 hex) and test and benchmark clients use on REST.
_OWN_CHOICE_SENDER = re.compile(r"[A-Za-z0-9_-]{8,64}")
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


# --- replies: long text and buttons on channels that have neither ---


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


# --- inbound: within limits, each message once ---


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


# --- WhatsApp through Twilio ---


class WhatsAppOutput(OutputChannel):
    """Replies through Twilio's Messages API, from the project's WhatsApp number."""

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    def __init__(self, client: Client, number: str) -> None:
        self.client = client
        self.sender = number if number.startswith("whatsapp:") else f"whatsapp:{number}"

    async def _send(self, recipient_id: str, body: str = "", media_url: str | None = None) -> None:
        try:
            await self.client.messages.create_async(
                from_=self.sender, to=recipient_id, body=body, media_url=[media_url] if media_url else None
            )
        except TwilioException:
            # The turn is already recorded; failing the webhook would only make Twilio
            # send the citizen's message again.
            logger.exception("a WhatsApp reply could not be sent")

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_text(text, WHATSAPP_TEXT_LIMIT):
            await self._send(recipient_id, part)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_message(recipient_id, numbered(text, buttons))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(recipient_id, media_url=image)


def twilio_form(request: Request) -> dict[str, str]:
    """The posted form with empty fields kept: Twilio signs them too (Body= on a photo)."""
    fields = parse_qs(request.body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}


class WhatsAppInput(SignedChannel):
    """Twilio's WhatsApp webhook: signature checked, redeliveries ignored, media and places kept."""

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        given = cls.required(credentials, "account_sid", "auth_token", "number")
        return cls(
            given["account_sid"],
            given["auth_token"],
            given["number"],
            given.get("public_url", ""),
            given.get("api_url", ""),
        )

    def __init__(self, account_sid: str, auth_token: str, number: str, public_url: str, api_url: str) -> None:
        super().__init__()
        self.account_sid, self.auth_token, self.number = account_sid, auth_token, number
        # Twilio signs the URL it was told to call; behind a proxy that is not the one Rasa sees.
        self.public_url = public_url.rstrip("/")
        self.api_url = api_url
        self.validator = RequestValidator(auth_token)
        self._client: Client | None = None

    def get_output_channel(self) -> OutputChannel:
        if self._client is None:
            # Made on first use, inside the worker's event loop, which its connection pool
            # belongs to; kept for the worker's life.
            self._client = Client(self.account_sid, self.auth_token, http_client=AsyncTwilioHttpClient())
            if self.api_url:
                # A proxy, or a local stand-in in tests.
                self._client.api.base_url = self.api_url.rstrip("/")
        return WhatsAppOutput(self._client, self.number)

    def signed_url(self, request: Request) -> str:
        if not self.public_url:
            return str(request.url)
        query = f"?{request.query_string}" if request.query_string else ""
        return self.public_url + request.path + query

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint("grm_whatsapp", __name__)

        @hook.get("/")
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.post("/webhook")
        async def receive(request: Request) -> HTTPResponse:
            form = twilio_form(request)
            signature = request.headers.get("X-Twilio-Signature")
            if not signature or not self.validator.validate(self.signed_url(request), form, signature):
                logger.warning("refused a WhatsApp webhook call without a valid Twilio signature")
                return response.text("invalid signature", status=403)
            message_id, sender = form.get("MessageSid", ""), form.get("From", "")
            if not message_id or not sender.startswith("whatsapp:"):
                return response.text("not a WhatsApp message", status=400)
            messages = self.messages(form, message_id, sender)
            if messages:
                await self.deliver(request, on_new_message, messages, message_id)
            return HTTPResponse(_EMPTY_TWIML, content_type="text/xml")

        return hook

    def messages(self, form: dict[str, str], message_id: str, sender: str) -> list[UserMessage]:
        """What one WhatsApp message says to the bot: its files, its place, its words."""
        output = self.get_output_channel()

        def said(text: str, metadata: dict[str, Any]) -> UserMessage:
            return UserMessage(
                text, output, sender, input_channel=self.name(), message_id=message_id, metadata=metadata
            )

        said_first: list[UserMessage] = []
        count = int(form.get("NumMedia") or 0) if (form.get("NumMedia") or "0").isdigit() else 0
        media = [
            {"url": form[f"MediaUrl{i}"], "content_type": form.get(f"MediaContentType{i}", "")}
            for i in range(count)
            if form.get(f"MediaUrl{i}")
        ]
        if media:
            said_first.append(said(ATTACH_PAYLOAD, {"media": media}))
        if form.get("Latitude") and form.get("Longitude"):
            place = {key.lower(): form.get(key, "") for key in ("Latitude", "Longitude", "Address", "Label")}
            said_first.append(said(LOCATION_PAYLOAD, {"location": place}))
        body = form.get("Body", "").strip()
        if body:
            metadata: dict[str, Any] = {}
            code = project_in_message(body)
            if code:
                metadata["project"] = code
            prefilled = prefill_language(body)
            if prefilled:  # only "send" pressed: a greeting, in the poster's language
                metadata["language"] = prefilled
            said_first.append(said(GREET_PAYLOAD if prefilled else body, metadata))
        # A caption comes after its file: the file is then held when the words are read.
        for later, message in enumerate(said_first[1:], start=1):
            message.message_id = f"{message_id}:{later}"
        return said_first


# --- Facebook Messenger ---


class MessengerOutput(OutputChannel):
    """Replies through the Messenger Send API of the page."""

    @classmethod
    def name(cls) -> str:
        return "facebook"

    def __init__(self, session: aiohttp.ClientSession, page_access_token: str, api_url: str) -> None:
        self.session = session
        self.token = page_access_token
        self.url = f"{(api_url or GRAPH_API_URL).rstrip('/')}/{GRAPH_API_VERSION}/me/messages"

    async def _send(self, recipient_id: str, message: dict[str, Any]) -> None:
        psid = recipient_id.removeprefix(MESSENGER_PREFIX)
        body = {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": message}
        try:
            async with self.session.post(self.url, params={"access_token": self.token}, json=body) as sent:
                if sent.status >= 400:
                    logger.error("Messenger refused a reply: %s %s", sent.status, await sent.text())
        except (asyncio.TimeoutError, aiohttp.ClientError):
            logger.exception("a Messenger reply could not be sent")

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_text(text, MESSENGER_TEXT_LIMIT):
            await self._send(recipient_id, {"text": part})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        titles = [str(button.get("title", "")) for button in buttons]
        if len(buttons) > MESSENGER_QUICK_REPLIES or any(len(t) > MESSENGER_TITLE_LIMIT for t in titles):
            # Messenger would cut the list or the names: numbered, like WhatsApp.
            await self.send_text_message(recipient_id, numbered(text, buttons))
            return
        parts = split_text(text, MESSENGER_TEXT_LIMIT) or [""]
        for part in parts[:-1]:
            await self._send(recipient_id, {"text": part})
        replies = [
            {"content_type": "text", "title": title, "payload": str(button.get("payload") or title)}
            for title, button in zip(titles, buttons)
        ]
        await self._send(recipient_id, {"text": parts[-1], "quick_replies": replies})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(recipient_id, {"attachment": {"type": "image", "payload": {"url": image}}})


def hub_signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256: "sha256=" and the HMAC-SHA256 of the raw body, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :])


class MessengerInput(SignedChannel):
    """Messenger's webhook: signature checked, every event of a batch read, referrals bound."""

    @classmethod
    def name(cls) -> str:
        return "facebook"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        given = cls.required(credentials, "verify", "secret", "page-access-token")
        return cls(given["verify"], given["secret"], given["page-access-token"], given.get("api_url", ""))

    def __init__(self, verify_token: str, app_secret: str, page_access_token: str, api_url: str) -> None:
        super().__init__()
        self.verify_token, self.app_secret = verify_token, app_secret
        self.page_access_token, self.api_url = page_access_token, api_url
        self._session: aiohttp.ClientSession | None = None

    def get_output_channel(self) -> OutputChannel:
        if self._session is None:
            # As for WhatsApp: one pool per worker, made inside its event loop.
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return MessengerOutput(self._session, self.page_access_token, self.api_url)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint("grm_messenger", __name__)

        @hook.get("/")
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.get("/webhook")
        async def verify(request: Request) -> HTTPResponse:
            """Meta's subscription check: echo the challenge for our own verify token only."""
            token = request.args.get("hub.verify_token", "")
            if request.args.get("hub.mode") == "subscribe" and hmac.compare_digest(token, self.verify_token):
                return response.text(request.args.get("hub.challenge", ""))
            return response.text("verification failed", status=403)

        @hook.post("/webhook")
        async def receive(request: Request) -> HTTPResponse:
            if not hub_signature_valid(self.app_secret, request.body, request.headers.get("X-Hub-Signature-256")):
                logger.warning("refused a Messenger webhook call without a valid signature")
                return response.text("invalid signature", status=403)
            try:
                delivery = json.loads(request.body)
            except ValueError:
                return response.text("not JSON", status=400)
            if not isinstance(delivery, dict) or delivery.get("object") != "page":
                return response.text("not a page event", status=400)
            for entry in delivery.get("entry") or []:
                for event in entry.get("messaging") or []:
                    said = self.messages(event)
                    if said:
                        await self.deliver(request, on_new_message, said, said[0].message_id or "")
            return response.text("EVENT_RECEIVED")

        return hook

    def messages(self, event: dict[str, Any]) -> list[UserMessage]:
        """What one Messenger event says to the bot; echoes, receipts and reads say nothing."""
        psid = str((event.get("sender") or {}).get("id") or "")
        sender = MESSENGER_PREFIX + psid
        message = event.get("message") or {}
        postback = event.get("postback") or {}
        referral = postback.get("referral") or event.get("referral") or {}
        if not psid or message.get("is_echo"):
            return []
        output = self.get_output_channel()
        # A referral (an m.me link opened) has no id of its own: its time tells it apart.
        event_id = str(message.get("mid") or postback.get("mid") or f"referral:{psid}:{event.get('timestamp')}")

        def said(text: str, metadata: dict[str, Any], part: int = 0) -> UserMessage:
            return UserMessage(
                text,
                output,
                sender,
                input_channel=self.name(),
                message_id=event_id if part == 0 else f"{event_id}:{part}",
                metadata=metadata,
            )

        ref = project_ref(str(referral.get("ref") or ""))
        if referral or postback:
            # Opening the page from a QR code, or the "Get started" button: a greeting.
            opened = {"project": ref[0]} | ({"language": ref[1]} if ref[1] else {}) if ref else {}
            return [said(GREET_PAYLOAD, opened)]
        if not message:
            return []
        quick_reply = (message.get("quick_reply") or {}).get("payload")
        if quick_reply:
            return [said(str(quick_reply), {})]
        files = [
            {"url": str(a["payload"]["url"]), "content_type": str(a.get("type") or "")}
            for a in message.get("attachments") or []
            if a.get("type") in ("image", "audio", "video", "file") and (a.get("payload") or {}).get("url")
        ]
        said_here: list[UserMessage] = []
        if files:
            said_here.append(said(ATTACH_PAYLOAD, {"media": files}))
        text = str(message.get("text") or "").strip()
        if text:
            said_here.append(said(text, {}, part=len(said_here)))
        return said_here


# --- the webchat and REST channels: unsigned, so trusted with nothing ---


def unsigned(channel: str, on_new_message: OnNewMessage) -> OnNewMessage:
    """What a client of an unsigned channel says, taken for no more than it is.

    The sender id must be one this channel draws (another channel's shape is dropped), the
    input channel is this channel whatever the client claims, the metadata is a mapping
    without what only the signed connectors may set, and the text is within the limit.
    """

    async def receive(message: UserMessage) -> None:
        if not _OWN_CHOICE_SENDER.fullmatch(message.sender_id or ""):
            logger.warning("refused a %s message addressed to a conversation of another channel", channel)
            return
        message.input_channel = channel
        metadata = message.metadata if isinstance(message.metadata, dict) else {}
        message.metadata = {key: value for key, value in metadata.items() if key not in SIGNED_ONLY_METADATA}
        await on_new_message(within_limits(message))

    return receive


class WebchatInput(SocketIOInput):
    """Rasa's Socket.IO channel (the webchat), limited to ids a browser draws and to small packets."""

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook: Blueprint = super().blueprint(unsigned(self.name(), on_new_message))
        if self.sio is not None:
            self.sio.eio.max_http_buffer_size = WEBCHAT_PACKET_BYTES
        return hook


class RestApiInput(RestInput):
    """Rasa's REST channel, for development and tests only (off unless GRM_REST_CHANNEL=on)."""

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook: Blueprint = super().blueprint(unsigned(self.name(), on_new_message))
        return hook
