"""WhatsApp through Twilio: signed webhooks in (text, files, a shared place), replies out
through Twilio's Messages API from the project's number."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.common import (
    ATTACH_PAYLOAD,
    GREET_PAYLOAD,
    LOCATION_PAYLOAD,
    OnNewMessage,
    SignedChannel,
    numbered,
    split_text,
)
from bot.deeplinks import prefill_language, project_in_message

logger = logging.getLogger(__name__)


# Twilio refuses a WhatsApp body over 1,600 characters; Messenger one over 2,000.
WHATSAPP_TEXT_LIMIT = 1600


_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


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
