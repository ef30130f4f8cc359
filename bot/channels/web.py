"""The webchat (Socket.IO) and the REST channel: Rasa's own connectors, kept to sender ids
without a colon (the ids these clients choose), within the same limits."""

from __future__ import annotations

import logging
import re

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint

from bot.channels.common import SIGNED_ONLY_METADATA, OnNewMessage, within_limits

logger = logging.getLogger(__name__)


# What one Socket.IO packet of the webchat may weigh: a message at its limit, in Devanagari
# (3 bytes a character), with its metadata; python-socketio's default is 1 MB.
WEBCHAT_PACKET_BYTES = 64 * 1024


# The ids the webchat draws (uuid4 hex) and test and benchmark clients use on REST.
_OWN_CHOICE_SENDER = re.compile(r"[A-Za-z0-9_-]{8,64}")


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
