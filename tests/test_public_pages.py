"""Public pages: the webchat page (project-bound or not), its CSP, and the projects' QR codes."""

from __future__ import annotations

import io
import re
import shutil
import socket
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from playwright.sync_api import Page

from admin_app import create_app, web_config
from admin_app.public import CHAT_TEXT
from bot.deeplinks import prefill_language, prefilled_message, project_in_message, project_ref
from tests.browser import Screenshot, live_server
from ticketing.config import load_settings
from ticketing.errors import ConfigurationError
from ticketing.store.db import Store

KKR_NAME = "Kathmandu-Kulekhani Road Upgrading"
UNSET = {
    "GRM_RASA_URL": None,
    "GRM_PUBLIC_URL": None,
    "GRM_RASA_PORT": 5005,
    "GRM_WHATSAPP_NUMBER": None,
    "GRM_MESSENGER_PAGE": None,
    "TWILIO_AUTH_TOKEN": None,
    "SECRET_KEY": None,
    "PERMANENT_SESSION_LIFETIME": timedelta(minutes=30),
    "GRM_API_TOKEN_DAYS": 90,
    "GRM_PROXIES": 0,
}
CHANNELS = {"GRM_WHATSAPP_NUMBER": "+14155238886", "GRM_MESSENGER_PAGE": "grm.nepal"}


def make_app(store: Store, **config: Any) -> Flask:
    # Explicit values, so a developer's exported GRM_* variables cannot change the outcome.
    return create_app({"TESTING": True, "GRM_STORE": store, **UNSET, **config})


@pytest.fixture
def client(demo: Store) -> FlaskClient:
    return make_app(demo).test_client()


def widget_settings(html: str) -> dict[str, str]:
    """The data-* attributes the page hands to chat.js."""
    root = re.search(r'<main id="grm-chat"[^>]*>', html)
    assert root is not None, "the chat root element is missing"
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', root.group(0)))


def decode_qr(image: Image.Image) -> str:
    barcode = zxingcpp.read_barcode(image)
    assert barcode is not None and barcode.valid, "no QR code found in the image"
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    return barcode.text


def closed_port() -> int:
    """A localhost port nothing listens on: Rasa 'down'."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- the chat page -------------------------------------------------------------------------


def test_chat_page_for_a_project_shows_its_name_and_binds_the_widget_to_it(client: FlaskClient) -> None:
    response = client.get("/chat/KKR-01")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert KKR_NAME in html
    assert 'id="chat-input"' in html and 'id="chat-send"' in html and 'id="chat-log"' in html
    settings = widget_settings(html)
    assert settings["project"] == "KKR-01"
    assert settings["language"] == "en"


def test_a_lowercase_code_finds_the_project_and_the_widget_gets_the_canonical_code(client: FlaskClient) -> None:
    response = client.get("/chat/kkr-01")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert KKR_NAME in html
    assert widget_settings(html)["project"] == "KKR-01"


def test_the_resolution_links_token_is_handed_to_the_widget_and_nothing_else(client: FlaskClient) -> None:
    token = "GR-7K3P-9QXD.6a1b2c3d.q9-_Zx"
    assert widget_settings(client.get(f"/chat/KKR-01?resume={token}").get_data(as_text=True))["answer"] == token
    forged = client.get('/chat/KKR-01?resume="><script>x</script>').get_data(as_text=True)
    assert widget_settings(forged)["answer"] == "" and "<script>x" not in forged


def test_an_unknown_project_gets_a_friendly_404_that_leads_to_the_general_chat(client: FlaskClient) -> None:
    response = client.get("/chat/NOPE-99")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert 'href="/chat"' in html
    assert "grm-chat" not in html


def test_the_general_chat_has_no_project(client: FlaskClient) -> None:
    response = client.get("/chat")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert widget_settings(html)["project"] == ""
    assert "Grievance desk" in html


def test_the_root_redirects_to_the_chat(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code in (301, 302, 303, 307, 308)
    assert urlsplit(response.headers["Location"]).path == "/chat"


def test_the_chat_page_allows_scripts_from_itself_only_and_sockets_to_rasa_only(demo: Store) -> None:
    client = make_app(demo, GRM_RASA_URL="https://bot.example.org").test_client()
    policy = client.get("/chat/KKR-01").headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'", "https://bot.example.org", "wss://bot.example.org"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_without_a_rasa_url_the_page_uses_its_own_host_and_scheme_on_the_rasa_port(demo: Store) -> None:
    client = make_app(demo, GRM_RASA_PORT=6006).test_client()
    response = client.get("/chat/KKR-01", base_url="https://grm.example.org:8443")
    settings = widget_settings(response.get_data(as_text=True))
    assert settings["rasa-url"] == "https://grm.example.org:6006"
    assert settings["socket-path"] == "/socket.io/"
    assert "wss://grm.example.org:6006" in response.headers["Content-Security-Policy"]


def test_an_ipv6_host_keeps_its_brackets(client: FlaskClient) -> None:
    response = client.get("/chat", base_url="http://[::1]:5000")
    assert widget_settings(response.get_data(as_text=True))["rasa-url"] == "http://[::1]:5005"


def test_a_rasa_url_with_a_path_puts_the_path_in_front_of_socket_io(demo: Store) -> None:
    client = make_app(demo, GRM_RASA_URL="https://grm.example.org/rasa/").test_client()
    settings = widget_settings(client.get("/chat").get_data(as_text=True))
    assert settings["rasa-url"] == "https://grm.example.org"
    assert settings["socket-path"] == "/rasa/socket.io/"


def test_the_app_takes_its_settings_from_the_environment() -> None:
    settings = web_config(
        load_settings(
            {
                "GRM_RASA_URL": "http://10.0.0.5:5005/",
                "GRM_RASA_PORT": "7007",
                "GRM_PUBLIC_URL": "https://grm.example.org",
                "TWILIO_ACCOUNT_SID": "AC1",
                "TWILIO_AUTH_TOKEN": "secret",
                "GRM_TWILIO_WHATSAPP_FROM": "+14155238886",
                "GRM_FACEBOOK_PAGE": "grm.nepal",
                "GRM_SECRET_KEY": "cookie-key",
                "GRM_SESSION_MINUTES": "10",
                "GRM_API_TOKEN_DAYS": "30",
                "GRM_PROXIES": "1",
            }
        )
    )
    assert settings == {
        "GRM_RASA_URL": "http://10.0.0.5:5005",
        "GRM_RASA_PORT": 7007,
        "GRM_PUBLIC_URL": "https://grm.example.org",
        **CHANNELS,
        "TWILIO_AUTH_TOKEN": "secret",
        "SECRET_KEY": "cookie-key",
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=10),
        "GRM_API_TOKEN_DAYS": 30,
        "GRM_PROXIES": 1,
    }
    assert web_config(load_settings({})) == UNSET


@pytest.mark.parametrize("key, value", [("GRM_RASA_URL", "bot.example.org:5005"), ("GRM_PUBLIC_URL", "ftp://x")])
def test_a_url_that_is_not_http_is_refused_at_start_up(demo: Store, key: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=key):
        make_app(demo, **{key: value})


@pytest.mark.parametrize("value", ["port", "0", "70000"])
def test_a_bad_rasa_port_is_refused(value: str) -> None:
    with pytest.raises(ConfigurationError, match="GRM_RASA_PORT"):
        load_settings({"GRM_RASA_PORT": value})


# --- QR codes ----------------------------------------------------------------------------


def test_the_png_qr_code_opens_the_projects_chat(client: FlaskClient) -> None:
    response = client.get("/qr/KKR-01.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.cache_control.public and (response.cache_control.max_age or 0) >= 3600
    image = Image.open(io.BytesIO(response.data))
    assert 550 <= image.width <= 700 and image.width == image.height
    assert decode_qr(image) == "http://localhost/chat/KKR-01"


def test_the_qr_code_uses_the_public_url_and_the_canonical_code(demo: Store) -> None:
    client = make_app(demo, GRM_PUBLIC_URL="https://grm.example.org/").test_client()
    response = client.get("/qr/nbr-02.png")
    assert decode_qr(Image.open(io.BytesIO(response.data))) == "https://grm.example.org/chat/NBR-02"


def test_the_svg_qr_code_is_an_svg_naming_the_chat_url(client: FlaskClient) -> None:
    response = client.get("/qr/KKR-01.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    root = ElementTree.fromstring(response.data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert int(root.attrib["width"]) >= 550
    title = root.find("{http://www.w3.org/2000/svg}title")
    assert title is not None and "http://localhost/chat/KKR-01" in (title.text or "")


def test_download_asks_the_browser_to_save_a_named_file(client: FlaskClient) -> None:
    response = client.get("/qr/kkr-01.svg?download=1")
    assert response.headers["Content-Disposition"] == "attachment; filename=grm-KKR-01.svg"
    assert "Content-Disposition" not in client.get("/qr/KKR-01.png").headers


@pytest.mark.parametrize("path", ["/qr/NOPE-99.png", "/qr/NOPE-99.svg", "/qr/KKR-01.gif"])
def test_no_qr_code_for_an_unknown_project_or_format(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_whatsapp_and_messenger_codes_carry_the_project_into_the_conversation(demo: Store) -> None:
    client = make_app(demo, **CHANNELS).test_client()
    whatsapp = decode_qr(Image.open(io.BytesIO(client.get("/qr/kkr-01/whatsapp.png").data)))
    assert whatsapp == "https://wa.me/14155238886?text=Namaste%21%20I%20am%20writing%20about%20project%20KKR-01."
    # The bot reads the project back from the message the link writes (bot/deeplinks.py).
    assert project_in_message(unquote(whatsapp.partition("text=")[2])) == "KKR-01"
    messenger = decode_qr(Image.open(io.BytesIO(client.get("/qr/KKR-01/messenger.png").data)))
    assert messenger == "https://m.me/grm.nepal?ref=KKR-01"
    assert (
        decode_qr(Image.open(io.BytesIO(client.get("/qr/KKR-01/chat.png", follow_redirects=True).data)))
        == "http://localhost/chat/KKR-01"
    )
    named = client.get("/qr/KKR-01/whatsapp.svg?download=1").headers["Content-Disposition"]
    assert named == "attachment; filename=grm-KKR-01-whatsapp.svg"


def test_a_channel_this_installation_lacks_has_no_code(client: FlaskClient) -> None:
    assert client.get("/qr/KKR-01/whatsapp.png").status_code == 404
    assert client.get("/qr/KKR-01/messenger.svg").status_code == 404
    assert client.get("/qr/KKR-01/telegram.svg").status_code == 404


def test_an_edited_prefilled_message_still_names_its_project() -> None:
    assert project_in_message("Namaste, I am writing about project nbr-02 because of the dust") == "nbr-02"
    assert project_in_message("Project: KKR-01") == "KKR-01"
    assert project_in_message("the project manager never came") == "manager"  # not a code: the catalog says no
    assert project_in_message("hello") is None
    assert project_in_message("नमस्ते, आयोजना KKR-01 को धुलोबारे लेख्दैछु") == "KKR-01"
    assert project_in_message("namaste, aayojana kkr-01 ko dhulo") == "kkr-01"
    assert prefill_language(prefilled_message("KKR-01")) == "en"
    assert prefill_language(prefilled_message("KKR-01", "ne")) == "ne"
    assert prefill_language("Namaste! I am writing about project KKR-01. The dust is terrible.") is None
    assert project_ref("KKR-01") == ("KKR-01", None) and project_ref("KKR-01.ne") == ("KKR-01", "ne")
    assert project_ref("KKR-01.fr") is None and project_ref("<script>") is None


def poster_pages(pdf: bytes, tmp_path: Path) -> list[Image.Image]:
    """The poster as a print shop sees it: rendered to images by poppler."""
    source = tmp_path / "poster.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(source), str(tmp_path / "page")], check=True)
    return [Image.open(path) for path in sorted(tmp_path.glob("page*.png"))]


def test_the_poster_is_one_a4_page_whose_codes_open_each_channel(demo: Store, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (Debian's poppler-utils) is not installed")
    client = make_app(demo, GRM_PUBLIC_URL="https://grm.example.org", **CHANNELS).test_client()
    response = client.get("/poster/kkr-01.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == "inline; filename=grm-poster-KKR-01.pdf"
    pages = poster_pages(response.data, tmp_path)
    assert len(pages) == 1
    width, height = pages[0].size
    assert abs(width / height - 210 / 297) < 0.01  # A4
    found = sorted(b.text for b in zxingcpp.read_barcodes(pages[0]) if b.format == zxingcpp.BarcodeFormat.QRCode)
    assert found == sorted(
        [
            "https://grm.example.org/chat/KKR-01",
            "https://m.me/grm.nepal?ref=KKR-01",
            "https://wa.me/14155238886?text=Namaste%21%20I%20am%20writing%20about%20project%20KKR-01.",
        ]
    )
    # Nepali is printed in a Devanagari font embedded in the file, and English beside it.
    assert b"NotoSansDevanagari" in response.data and b"NotoSans-Bold" in response.data
    text = subprocess.run(["pdftotext", "-", "-"], input=response.data, capture_output=True, check=True).stdout
    assert KKR_NAME.encode() in text and b"Scan a code with your phone" in text


def test_a_poster_for_nepali_readers_opens_every_channel_in_nepali(demo: Store, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (Debian's poppler-utils) is not installed")
    client = make_app(demo, GRM_PUBLIC_URL="https://grm.example.org", **CHANNELS).test_client()
    pages = poster_pages(client.get("/poster/KKR-01.pdf?lang=ne").data, tmp_path)
    found = {unquote(b.text) for b in zxingcpp.read_barcodes(pages[0])}
    assert found == {
        "https://grm.example.org/chat/KKR-01?lang=ne",
        "https://m.me/grm.nepal?ref=KKR-01.ne",
        "https://wa.me/14155238886?text=" + prefilled_message("KKR-01", "ne"),
    }
    assert decode_qr(Image.open(io.BytesIO(client.get("/qr/KKR-01.png?lang=ne").data))).endswith("?lang=ne")
    # Any other language asked for gives the English codes.
    assert decode_qr(Image.open(io.BytesIO(client.get("/qr/KKR-01.png?lang=xx").data))).endswith("/chat/KKR-01")


def test_without_other_channels_the_poster_has_the_webchat_code_only(client: FlaskClient, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (Debian's poppler-utils) is not installed")
    pages = poster_pages(client.get("/poster/NBR-02.pdf").data, tmp_path)
    assert [b.text for b in zxingcpp.read_barcodes(pages[0])] == ["http://localhost/chat/NBR-02"]
    assert client.get("/poster/NOPE-99.pdf").status_code == 404


# --- in a browser ----------------------------------------------------------------------------


def test_the_chat_page_on_a_phone_loads_only_from_this_server_and_rasa(
    demo: Store, browser_page: Page, screenshot: Screenshot
) -> None:
    rasa = f"http://127.0.0.1:{closed_port()}"
    requested: list[str] = []
    browser_page.on("request", lambda request: requested.append(request.url))
    browser_page.on("websocket", lambda socket: requested.append(socket.url))
    console: list[str] = []
    browser_page.on("console", lambda message: console.append(message.text))

    with live_server(make_app(demo, GRM_RASA_URL=rasa)) as base:
        browser_page.goto(f"{base}/chat/KKR-01")
        assert browser_page.get_by_test_id("chat-title").inner_text() == KKR_NAME
        assert browser_page.get_by_test_id("message-input").is_visible()
        assert browser_page.get_by_test_id("send-button").is_visible()
        # Rasa is down: the widget says so politely instead of failing silently.
        browser_page.wait_for_selector('#grm-chat[data-state="offline"]', timeout=15000)
        assert "cannot be reached" in browser_page.get_by_test_id("connection-notice").inner_text()
        screenshot(browser_page, "chat-KKR-01-phone")

    allowed = {urlsplit(base).netloc, urlsplit(rasa).netloc}
    assert requested, "the page made no requests at all"
    assert {urlsplit(url).netloc for url in requested} <= allowed, requested
    assert any(urlsplit(url).netloc == urlsplit(rasa).netloc for url in requested), "the widget never tried Rasa"
    assert not [line for line in console if "Content Security Policy" in line], console


@pytest.mark.parametrize("token", ["GR-7K3P-9QXD.1a2b.6a1b2c3d.q9-_Zx", "GR-7K3P-9QXD.<bad>"])
def test_the_resume_token_leaves_the_address_bar(demo: Store, browser_page: Page, token: str) -> None:
    rasa = f"http://127.0.0.1:{closed_port()}"
    with live_server(make_app(demo, GRM_RASA_URL=rasa)) as base:
        browser_page.goto(f"{base}/chat/KKR-01?resume={token}")
        browser_page.wait_for_selector('#grm-chat[data-state="offline"]', timeout=15000)
        assert browser_page.evaluate("window.location.href") == f"{base}/chat/KKR-01"


def test_a_new_conversation_takes_a_newly_issued_session(demo: Store, browser_page: Page) -> None:
    rasa = f"http://127.0.0.1:{closed_port()}"
    with live_server(make_app(demo, GRM_RASA_URL=rasa)) as base:
        browser_page.goto(f"{base}/chat/KKR-01")
        first = browser_page.get_attribute("#grm-chat", "data-new-session")
        with browser_page.expect_navigation():
            browser_page.get_by_test_id("new-conversation").click()
        assert browser_page.get_attribute("#grm-chat", "data-new-session") not in (None, first)


def test_each_chat_page_issues_a_session_of_its_own_and_is_never_cached(client: FlaskClient) -> None:
    first, second = client.get("/chat/KKR-01"), client.get("/chat/KKR-01?resume=GR-7K3P-9QXD.1.2.x")
    issued = [widget_settings(page.get_data(as_text=True))["new-session"] for page in (first, second)]
    assert issued[0] != issued[1] and all(re.fullmatch(r"[A-Za-z0-9_-]{16,64}", value) for value in issued)
    assert first.headers["Cache-Control"] == "no-store"
    assert second.headers["Referrer-Policy"] == "no-referrer"  # the token in the address goes nowhere


def test_the_svg_qr_code_renders_to_a_readable_code(demo: Store, browser_page: Page) -> None:
    with live_server(make_app(demo)) as base:
        # Drawn as a print shop would: as an image in a document, at a size that fits the screen.
        browser_page.set_content(f'<img id="qr" src="{base}/qr/KKR-01.svg" width="300" height="300">')
        browser_page.wait_for_function("document.getElementById('qr').complete")
        rendered = Image.open(io.BytesIO(browser_page.locator("#qr").screenshot()))
    assert decode_qr(rendered) == f"{base}/chat/KKR-01"


# --- the chat page in Nepali ------------------------------------------------------------------


def test_the_page_opens_in_nepali_when_asked_and_remembers_it(client: FlaskClient) -> None:
    response = client.get("/chat/KKR-01?lang=ne")
    html = response.get_data(as_text=True)
    assert '<html lang="ne">' in html and "गुनासो सेवा" in html and "आफ्नो सन्देश यहाँ लेख्नुहोस्" in html
    settings = widget_settings(html)
    assert (settings["language"], settings["language-asked"]) == ("ne", "1")
    assert 'href="?lang=en"' in html  # the way back
    cookie = client.get_cookie("grm_lang")
    assert cookie is not None and cookie.value == "ne" and cookie.same_site == "Lax"
    again = widget_settings(client.get("/chat/KKR-01").get_data(as_text=True))
    assert (again["language"], again["language-asked"]) == ("ne", "")


def test_the_browsers_preference_chooses_the_language_until_the_visitor_does(client: FlaskClient) -> None:
    nepali = client.get("/chat", headers={"Accept-Language": "ne-NP,ne;q=0.9,en;q=0.5"})
    assert widget_settings(nepali.get_data(as_text=True))["language"] == "ne"
    assert client.get_cookie("grm_lang") is None
    english = client.get("/chat", headers={"Accept-Language": "de-DE,en;q=0.5"})
    assert widget_settings(english.get_data(as_text=True))["language"] == "en"


@pytest.mark.parametrize("asked", ["fr", "NE", "ne<script>", ""])
def test_an_unknown_language_falls_back_to_english_and_is_not_remembered(client: FlaskClient, asked: str) -> None:
    html = client.get("/chat", query_string={"lang": asked}).get_data(as_text=True)
    assert widget_settings(html)["language"] == "en" and "<script>" not in html.split("</main>")[0]
    assert client.get_cookie("grm_lang") is None


def test_the_not_found_page_speaks_the_visitors_language(client: FlaskClient) -> None:
    client.get("/chat?lang=ne")
    response = client.get("/chat/NOPE-99")
    assert response.status_code == 404 and "यो पाना भेटिएन" in response.get_data(as_text=True)


def test_the_pages_words_are_written_in_every_language() -> None:
    english, *others = CHAT_TEXT.values()
    for words in others:
        assert set(words) == set(english)
        for key, text in words.items():
            assert re.findall(r"\{\w+\}", text) == re.findall(r"\{\w+\}", english[key]), key


def test_a_refused_file_is_explained_in_the_pages_language(client: FlaskClient) -> None:
    refused = client.post("/chat/upload", data={"language": "ne"}, headers={"Origin": "https://elsewhere.example"})
    assert refused.status_code == 403
    assert refused.get_json() == {"error": CHAT_TEXT["ne"]["upload_origin"], "reason": "origin"}
