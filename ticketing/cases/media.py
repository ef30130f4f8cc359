"""Files citizens send over WhatsApp and Messenger, fetched from the provider that holds them.

The channel connectors pass only the provider's URL of each file. The action server
fetches it here, and only from that provider's own hosts (or the proxy or stand-in
configured for it): a URL in a message's metadata must never make this server call
anywhere else, least of all with the Twilio credentials. Every redirect is checked too:
Twilio sends the download on to its content store, and nowhere else may it lead.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from ticketing.cases.attachments import EXTENSIONS, MAX_BYTES, detect_type
from ticketing.config import Settings
from ticketing.errors import InvalidInput

logger = logging.getLogger(__name__)

# Twilio may answer 404 for a moment after the webhook: the file is still being stored.
FETCH_ATTEMPTS = 3
RETRY_SECONDS = 1.0
TIMEOUT_SECONDS = 20.0
TWILIO_API_HOST = "api.twilio.com"
# Where Twilio redirects a media download: its CDN when media need credentials, else S3.
TWILIO_CONTENT_HOSTS = (".twiliocdn.com", "s3-external-1.amazonaws.com")
# Messenger's attachment URLs point at Meta's content hosts.
META_CONTENT_DOMAINS = (".fbcdn.net", ".fbsbx.com", ".facebook.com")
MAX_REDIRECTS = 3
_NAMES = {"image": "photo", "audio": "voice-note", "video": "video", "application/pdf": "document"}


class MediaUnavailable(Exception):
    """The provider did not hand the file over; the citizen may send it again."""


@dataclass(frozen=True)
class MediaSource:
    """Where one channel's files may be fetched from, and the credentials they need."""

    hosts: tuple[str, ...]  # the provider's https hosts; domains when starting with "."
    auth: tuple[str, str] | None = None
    # Proxies or stand-ins configured for the provider ("host:port"), on any scheme.
    proxies: tuple[str, ...] = ()
    # Where the provider may redirect a download (same forms as `hosts` and `proxies`).
    redirect_hosts: tuple[str, ...] = ()
    redirect_proxies: tuple[str, ...] = ()

    def allows(self, url: str) -> bool:
        """Whether a file may be asked for at `url`."""
        return _listed(url, self.hosts, self.proxies)

    def allows_hop(self, url: str) -> bool:
        """Whether a download may go on to `url`, the first request or a redirect."""
        return _listed(url, self.hosts + self.redirect_hosts, self.proxies + self.redirect_proxies)


def _listed(url: str, hosts: tuple[str, ...], proxies: tuple[str, ...]) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc.lower() in proxies:
        return True
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host or parts.port not in (None, 443):
        return False
    return any(host == h or (h.startswith(".") and host.endswith(h)) for h in hosts)


def _proxy(url: str | None) -> tuple[str, ...]:
    netloc = urlsplit(url).netloc.lower() if url else ""
    return (netloc,) if netloc else ()


def media_sources(settings: Settings) -> dict[str, MediaSource]:
    """The channels whose files can be fetched here, by Rasa's input channel name."""
    sources: dict[str, MediaSource] = {}
    if twilio := settings.twilio:
        sources["whatsapp"] = MediaSource(
            (TWILIO_API_HOST,),
            (twilio.account_sid, twilio.auth_token),
            _proxy(twilio.api_url),
            TWILIO_CONTENT_HOSTS,
            _proxy(twilio.media_url),
        )
    if settings.facebook.page_access_token:
        facebook_proxy = _proxy(settings.facebook.api_url)
        sources["facebook"] = MediaSource(META_CONTENT_DOMAINS, None, facebook_proxy, (), facebook_proxy)
    return sources


def fetch_media(url: str, source: MediaSource) -> bytes:
    """The file's bytes; InvalidInput when it is too big, MediaUnavailable when it cannot be had.

    Twilio answers with a redirect to its content store: httpx drops the credentials when
    a redirect leaves the host they were given for.
    """
    if not source.allows(url):
        logger.warning("refused to fetch a file from a host that is not the channel's: %s", urlsplit(url).hostname)
        raise MediaUnavailable(url)
    for attempt in range(1, FETCH_ATTEMPTS + 1):
        try:
            return _download(url, source)
        except httpx.TooManyRedirects as failure:
            raise MediaUnavailable(url) from failure
        except (httpx.HTTPStatusError, httpx.TransportError) as failure:
            status = failure.response.status_code if isinstance(failure, httpx.HTTPStatusError) else None
            if attempt == FETCH_ATTEMPTS or (status is not None and status not in (404, 429) and status < 500):
                logger.warning("a citizen's file could not be fetched: %s", failure)
                raise MediaUnavailable(url) from failure
            time.sleep(RETRY_SECONDS * attempt)
    raise MediaUnavailable(url)  # not reached: the loop returns or raises


def _download(url: str, source: MediaSource) -> bytes:
    too_big = InvalidInput("content", f"files are limited to {MAX_BYTES // (1024 * 1024)} MB")

    def each_hop(request: httpx.Request) -> None:
        if not source.allows_hop(str(request.url)):
            logger.warning("refused to follow a file's download to %s", request.url.host)
            raise MediaUnavailable(url)

    client = httpx.Client(
        auth=source.auth,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=TIMEOUT_SECONDS,
        event_hooks={"request": [each_hop]},
    )
    with client, client.stream("GET", url) as answer:
        answer.raise_for_status()
        if int(answer.headers.get("Content-Length") or 0) > MAX_BYTES:
            raise too_big
        content = bytearray()
        for chunk in answer.iter_bytes():
            content += chunk
            if len(content) > MAX_BYTES:
                raise too_big
    return bytes(content)


def media_filename(content: bytes, number: int) -> str:
    """A name an officer understands: "photo-1.jpg", "voice-note-2.ogg", "document-1.pdf"."""
    mime_type = detect_type(content) or "application/octet-stream"
    kind = _NAMES.get(mime_type) or _NAMES.get(mime_type.partition("/")[0], "file")
    extension = EXTENSIONS.get(mime_type)
    return f"{kind}-{number}.{extension}" if extension else f"{kind}-{number}"
