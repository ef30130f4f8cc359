"""Facebook Messenger: signed webhooks in, replies out through the Graph API as quick
replies or numbered choices."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.common import ATTACH_PAYLOAD, GREET_PAYLOAD, OnNewMessage, SignedChannel, numbered, split_text
from bot.deeplinks import project_ref

logger = logging.getLogger(__name__)


MESSENGER_TEXT_LIMIT = 2000


# Messenger shows at most 13 quick replies, each title at most 20 characters.
MESSENGER_QUICK_REPLIES = 13


MESSENGER_TITLE_LIMIT = 20


GRAPH_API_URL = "https://graph.facebook.com"


GRAPH_API_VERSION = "v19.0"


MESSENGER_PREFIX = "facebook:"


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
