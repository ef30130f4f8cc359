"""A citizen files a grievance in the webchat page, in headless Chromium, against the real bot."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, Page, ViewportSize, expect
from sqlalchemy import select

from admin_app import create_app
from tests.bot import Bot, reference_in
from tests.browser import PHONE_VIEWPORT, Screenshot, live_server
from ticketing.store.case_models import Attachment, Grievance
from ticketing.store.vocabulary import Channel

REPLY_TIMEOUT_MS = 60_000
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32)


def bot_bubbles(page: Page) -> int:
    return page.locator(".msg-bot").count()


def wait_for_reply(page: Page, before: int) -> str:
    """Wait until the bot has answered (its bubbles stop coming); returns the new bubbles' text."""
    page.wait_for_function(
        "n => document.querySelectorAll('.msg-bot').length > n", arg=before, timeout=REPLY_TIMEOUT_MS
    )
    # Replies arrive as separate events; a quiet moment means the turn is over.
    settled = before
    while (count := bot_bubbles(page)) != settled:
        settled = count
        page.wait_for_timeout(700)
    return "\n".join(page.locator(".msg-bot").all_inner_texts()[before:])


def type_message(page: Page, text: str) -> str:
    before = bot_bubbles(page)
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")
    return wait_for_reply(page, before)


def tap(page: Page, title: str) -> str:
    before = bot_bubbles(page)
    page.locator(".quick-reply:not([disabled])", has_text=title).first.click()
    return wait_for_reply(page, before)


def test_a_citizen_files_a_grievance_in_the_webchat_on_a_phone(
    bot: Bot, browser_page: Page, screenshot: Screenshot
) -> None:
    app = create_app({"TESTING": True, "GRM_STORE": bot.store, "GRM_RASA_URL": bot.rasa_url})
    with live_server(app) as base_url:
        page = browser_page
        page.goto(f"{base_url}/chat/KKR-01")
        welcome = wait_for_reply(page, 0)
        assert "Kathmandu-Kulekhani Road Upgrading" in welcome
        # The conversation is the one the page issued (and signed): only it may send files.
        chat = page.locator("#grm-chat")
        assert chat.get_attribute("data-session-id") == chat.get_attribute("data-new-session")
        assert "add anything" in type_message(page, "Dust from the crusher covers our vegetables every morning.")
        before = bot_bubbles(page)
        photo: FilePayload = {"name": "crusher.png", "mimeType": "image/png", "buffer": PNG}
        page.set_input_files("#chat-file", files=photo)
        assert 'kept "crusher.png"' in wait_for_reply(page, before)
        expect(page.locator(".msg-user").last).to_have_text("📎 crusher.png")
        assert "name" in tap(page, "That's all").lower()
        assert "mobile" in type_message(page, "Sunita Tamang").lower()
        assert "municipality" in type_message(page, "9841 555 123").lower()
        assert "ward" in tap(page, "Hetauda").lower()
        assert "email" in type_message(page, "6").lower()
        recap = tap(page, "Skip")
        assert "Sunita Tamang" in recap and "Hetauda" in recap and "Files: crusher.png" in recap
        screenshot(page, "webchat-recap")
        answer = tap(page, "Yes, send it")
        reference = reference_in(answer)
        expect(page.locator(".msg-user").last).to_have_text("Yes, send it")
        screenshot(page, "webchat-filed")
    with bot.store.sessions() as session:
        filed = session.scalar(select(Grievance).where(Grievance.reference == reference))
        assert filed is not None and (filed.channel, filed.ward) == (Channel.WEBCHAT, 6)
        assert "crusher" in filed.details
        files = session.execute(
            select(Attachment.filename, Attachment.mime_type).where(Attachment.grievance_id == filed.id)
        )
        assert list(files) == [("crusher.png", "image/png")]


def test_a_citizen_files_in_nepali_in_the_webchat_and_switches_the_page_to_english(
    bot: Bot, browser_page: Page, screenshot: Screenshot
) -> None:
    app = create_app({"TESTING": True, "GRM_STORE": bot.store, "GRM_RASA_URL": bot.rasa_url})
    with live_server(app) as base_url:
        page = browser_page
        page.goto(f"{base_url}/chat/KKR-01?lang=ne")  # what a Nepali poster's QR code opens
        welcome = wait_for_reply(page, 0)
        assert "नमस्ते" in welcome and "Kathmandu-Kulekhani Road Upgrading" in welcome
        expect(page.locator("#chat-input")).to_have_attribute("placeholder", "आफ्नो सन्देश यहाँ लेख्नुहोस्")
        expect(page.locator("#chat-send")).to_have_text("पठाउनुहोस्")
        assert "थप्न" in type_message(page, "क्रसरको धुलोले हरेक बिहान हाम्रो तरकारीबारी ढाकिन्छ।")
        assert "नाम" in tap(page, "यति नै हो")
        assert "मोबाइल" in type_message(page, "सुनिता तामाङ")
        assert "पालिका" in type_message(page, "९८४१ ५५५ १२४")
        assert "वडा" in tap(page, "हेटौडा")
        assert "इमेल" in type_message(page, "६")
        recap = tap(page, "छोड्ने")
        assert "सुनिता तामाङ" in recap and "हेटौडा" in recap
        screenshot(page, "webchat-recap-nepali")
        reference = reference_in(tap(page, "हो, पठाउने"))
        screenshot(page, "webchat-filed-nepali")
        # The header's switch reloads the page in English, and the conversation follows.
        before = bot_bubbles(page)
        page.locator(".chat-language", has_text="English").click()
        page.wait_for_url("**/chat/KKR-01")
        expect(page.locator("#chat-send")).to_have_text("Send")
        assert "I will write in English" in wait_for_reply(page, before)
    with bot.store.sessions() as session:
        filed = session.scalar(select(Grievance).where(Grievance.reference == reference))
        assert filed is not None and (filed.language, filed.ward, filed.channel) == ("ne", 6, Channel.WEBCHAT)


# A browser's own Socket.IO client, in the chat page, talking to Rasa the way chat.js does.
SEND_ONE_PACKET = """async ([url, path, session, text]) => {
  const socket = window.io(url, {path, transports: ["websocket"], reconnection: false});
  await new Promise((open, fail) => { socket.on("connect", open); socket.on("connect_error", fail); });
  socket.emit("session_request", {session_id: session});
  await new Promise(confirmed => socket.on("session_confirm", confirmed));
  const answered = new Promise(reply => socket.on("bot_uttered", message => reply("answered: " + message.text)));
  const closed = new Promise(end => socket.on("disconnect", reason => end("closed: " + reason)));
  socket.emit("user_uttered", {message: text, session_id: session, customData: {}});
  const silence = new Promise(wait => setTimeout(() => wait("silence"), 20000));
  const outcome = await Promise.race([answered, closed, silence]);
  socket.close();
  return outcome;
}"""


def test_the_webchat_answers_a_long_message_kindly_and_drops_an_oversized_packet(bot: Bot, browser_page: Page) -> None:
    app = create_app({"TESTING": True, "GRM_STORE": bot.store, "GRM_RASA_URL": bot.rasa_url})
    with live_server(app) as base_url:
        page = browser_page
        page.goto(f"{base_url}/chat/KKR-01")
        wait_for_reply(page, 0)
        # Longer than any message may be, pasted whole: nothing is cut, the bot asks for parts.
        assert "shorter parts" in type_message(page, "The trucks raise dust all day. " * 150)
        # A packet over the socket's limit (64 KB) closes that connection; nothing is heard.
        session = "oversized" + uuid.uuid4().hex
        outcome = page.evaluate(SEND_ONE_PACKET, [bot.rasa_url, "/socket.io/", session, "x" * 100_000])
        assert outcome.startswith("closed"), outcome
        assert not [e for e in bot.tracker(session)["events"] if e["event"] == "user"]


# axe-core as `make test` installs it from npm (tests/a11y): never fetched at test time.
AXE = Path(__file__).parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 levels A and AA (labels, roles, names, contrast, language), and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
DESKTOP_VIEWPORT = ViewportSize(width=1280, height=800)


def accessibility_problems(page: Page) -> list[str]:
    """What axe-core finds wrong on the page as it stands, one line per rule broken."""
    assert AXE.exists(), f"{AXE} is missing: `make test` installs it (npm ci in tests/a11y)"
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    return [
        f"{rule['id']} ({rule['impact']}): {[node['target'] for node in rule['nodes']]}" for rule in found["violations"]
    ]


def focused(page: Page) -> str:
    return str(page.evaluate("document.activeElement.id || document.activeElement.textContent"))


@pytest.mark.parametrize(
    ("viewport", "language", "file_it", "tell"),
    [
        (PHONE_VIEWPORT, "en", "File a grievance", "Dust from the crusher covers our vegetables every morning."),
        (DESKTOP_VIEWPORT, "ne", "गुनासो दर्ता गर्ने", "क्रसरको धुलोले हाम्रो तरकारी बिग्रियो।"),
    ],
)
def test_the_webchat_works_with_the_keyboard_alone_and_axe_finds_nothing_wrong(
    bot: Bot,
    chromium: Browser,
    screenshot: Screenshot,
    viewport: ViewportSize,
    language: str,
    file_it: str,
    tell: str,
) -> None:
    app = create_app({"TESTING": True, "GRM_STORE": bot.store, "GRM_RASA_URL": bot.rasa_url})
    # The page forbids inline scripts (CSP); only this test's context may inject axe-core.
    context = chromium.new_context(viewport=viewport, bypass_csp=True)
    try:
        with live_server(app) as base_url:
            page = context.new_page()
            page.goto(f"{base_url}/chat/KKR-01?lang={language}")
            wait_for_reply(page, 0)
            assert page.evaluate("document.documentElement.lang") == language
            assert accessibility_problems(page) == []
            # Tab alone reaches the menu's first choice, and Enter takes it.
            for _ in range(12):
                page.keyboard.press("Tab")
                if focused(page) == file_it:
                    break
            assert focused(page) == file_it
            before = bot_bubbles(page)
            page.keyboard.press("Enter")
            wait_for_reply(page, before)
            # The answer is typed where the focus went, and sent with Enter.
            assert focused(page) == "chat-input"
            before = bot_bubbles(page)
            page.keyboard.type(tell)
            page.keyboard.press("Enter")
            wait_for_reply(page, before)
            expect(page.locator(".msg-user").last).to_have_text(tell)
            assert page.locator(".quick-reply:not([disabled])").count() > 0
            assert accessibility_problems(page) == []
            screenshot(page, f"webchat-keyboard-{language}-{viewport['width']}px")
    finally:
        context.close()
