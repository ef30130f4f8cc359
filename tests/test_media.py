"""Fetching a citizen's file from the channel's provider: only from its hosts, at every hop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from ticketing.cases.media import MediaSource, MediaUnavailable, fetch_media
from ticketing.config import LOCALHOST

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF a cracked wall"


@contextmanager
def server(redirect_to: str | None = None) -> Iterator[tuple[str, list[str]]]:
    """A local web server that serves JPEG, or redirects every request; yields its URL and the paths asked."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            if redirect_to is not None:
                self.send_response(302)
                self.send_header("Location", redirect_to + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(JPEG)))
            self.end_headers()
            self.wfile.write(JPEG)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    listening = ThreadingHTTPServer((LOCALHOST, 0), Handler)
    threading.Thread(target=listening.serve_forever, daemon=True).start()
    try:
        yield f"http://{LOCALHOST}:{listening.server_port}", asked
    finally:
        listening.shutdown()
        listening.server_close()


def netloc(url: str) -> str:
    return urlsplit(url).netloc


def test_a_download_follows_the_provider_to_its_content_store() -> None:
    with server() as (store, served), server(redirect_to=store) as (api, _):
        source = MediaSource(("api.twilio.com",), None, (netloc(api),), (), (netloc(store),))
        assert fetch_media(f"{api}/Media/ME1", source) == JPEG
        assert served == ["/Media/ME1"]


def test_a_redirect_elsewhere_is_not_followed() -> None:
    with server() as (elsewhere, reached), server(redirect_to=elsewhere) as (api, _):
        source = MediaSource(("api.twilio.com",), ("AC1", "secret"), (netloc(api),))
        with pytest.raises(MediaUnavailable):
            fetch_media(f"{api}/Media/ME1", source)
        assert reached == []


def test_a_url_off_the_providers_hosts_is_never_asked() -> None:
    with server() as (anywhere, reached):
        source = MediaSource(("api.twilio.com",), ("AC1", "secret"))
        for url in (f"{anywhere}/x", "http://api.twilio.com/x", "https://api.twilio.com.evil.example/x"):
            with pytest.raises(MediaUnavailable):
                fetch_media(url, source)
        assert reached == []
