/*
 * GRM webchat: a small client for Rasa 3.6's socketio channel (credentials.yml:
 * user_message_evt user_uttered, bot_message_evt bot_uttered, session_persistence true,
 * metadata_key customData).
 *
 * Elements, by id [data-testid], for tests and styling:
 *   #grm-chat      [chat]               root. data-state: connecting | ready | reconnecting | offline;
 *                                      data-session-id once Rasa has confirmed a session.
 *                                      Settings come from data-rasa-url, data-socket-path,
 *                                      data-project (code or empty), data-language and
 *                                      data-new-session (the id, issued and signed by the web
 *                                      app, that a new conversation takes).
 *   #chat-log      [message-list]       the conversation (role=log, aria-live=polite)
 *     .msg-bot     [bot-message]        one bubble per bot_uttered event (text and/or image)
 *     .msg-user    [user-message]       one bubble per message sent (a button shows its title)
 *     .msg-system  [system-message]     notes from the page itself (e.g. "conversation continues")
 *     .quick-reply [quick-reply]        a bot button; data-payload is what a click sends.
 *                                      Disabled once any button is clicked or text is sent.
 *   #chat-input    [message-input]      text box: Enter sends, Shift+Enter starts a new line
 *   #chat-send     [send-button]
 *   #chat-attach   [attach-button]      opens #chat-file [file-input]; the chosen file is posted
 *                                      to data-upload-url (with the session id), then the bot is
 *                                      told "/attach" with customData.attachment = its token.
 *   #chat-new      [new-conversation]   forgets the session and loads the page again, which
 *                                      issues a fresh one
 *   #chat-typing   [typing-indicator]   shown while waiting for the bot
 *   #chat-notice   [connection-notice]  connecting / reconnecting / unreachable notices
 * Nothing is added to `window`.
 *
 * Protocol: on every (re)connect the client emits session_request {session_id: stored id, else
 * the page's new one}; Rasa answers session_confirm with the id (a string, or {session_id}) and
 * joins the socket to that session's room (the web app takes files only for ids it issued).
 * Messages go out as user_uttered {message, session_id,
 * customData: {project, language, answer[, attachment]}}; replies arrive as bot_uttered {text, quick_replies,
 * buttons, attachment}, any of them optional. A brand-new session opens with "/greet".
 *
 * Storage: localStorage "grm.chat.session.<project or ->" keeps the session id as {id, at},
 * so a reload continues the conversation; after SESSION_IDLE_HOURS without a message it is
 * forgotten, and the next person on a shared phone starts afresh. sessionStorage
 * "grm.chat.log.<project or ->" keeps the transcript so a reload shows it again, but only
 * for the life of the tab: a shared phone must not keep someone's grievance on screen.
 */
(function () {
  "use strict";

  var GREETING = "/greet";
  var CHOOSE_LANGUAGE = "/choose_language";
  var TRANSCRIPT_LIMIT = 200;
  var SESSION_IDLE_HOURS = 12;
  // Rasa may legitimately answer nothing; the indicator must not spin forever.
  var TYPING_TIMEOUT_MS = 30000;
  var RECONNECT_ATTEMPTS_BEFORE_OFFLINE = 3;
  var URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/g;
  // Sentence punctuation after a URL is almost never part of it.
  var URL_TRAILING_PUNCTUATION = /[.,;:!?'")\]]+$/;

  var root = document.getElementById("grm-chat");
  if (!root) {
    return;
  }
  var log = document.getElementById("chat-log");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var newButton = document.getElementById("chat-new");
  var typing = document.getElementById("chat-typing");
  var attachButton = document.getElementById("chat-attach");
  var fileInput = document.getElementById("chat-file");
  var notice = document.getElementById("chat-notice");

  var project = root.getAttribute("data-project") || "";
  var language = root.getAttribute("data-language") || "en";
  // Opened with ?lang= (a Nepali poster, the page's switch): a conversation that goes on switches too.
  var languageAsked = root.getAttribute("data-language-asked") === "1";
  var pageText = readPageText();
  // A resolution message's link (?resume=<token>) always opens a conversation of its own,
  // since Rasa reads the token when a session starts. The address is then cleaned, even of
  // a token the server refused: the token must not stay in the address bar or the history,
  // and a reload continues that conversation instead of starting another.
  var answerToken = root.getAttribute("data-answer") || "";
  var newSessionId = root.getAttribute("data-new-session") || null;
  var affinity = Array.prototype.map
    .call(window.crypto.getRandomValues(new Uint8Array(8)), function (byte) {
      return (byte + 256).toString(16).slice(1);
    })
    .join("");
  var uploadUrl = root.getAttribute("data-upload-url");
  var uploadLimit = Number(root.getAttribute("data-upload-limit")) || 0;
  if (window.location.search && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname);
  }
  var sessionKey = "grm.chat.session." + (project || "-");
  var transcriptKey = "grm.chat.log." + (project || "-");
  // On touch screens, focusing the box after a button tap would pop the keyboard over the
  // bot's next buttons; keyboard and mouse users keep their focus in the box.
  var refocusAfterTap = !(window.matchMedia && window.matchMedia("(pointer: coarse)").matches);

  var sessionId = answerToken ? null : loadSessionId();
  var transcript = [];
  var confirmed = false;
  var outbox = [];
  var typingTimer = null;
  var failedAttempts = 0;
  var socket = null;

  // Storage may be disabled (private modes, strict settings), and then merely touching
  // window.localStorage throws: the chat must work without it.
  function readStorage(area, key) {
    try {
      return window[area].getItem(key);
    } catch (error) {
      return null;
    }
  }

  function writeStorage(area, key, value) {
    try {
      if (value === null) {
        window[area].removeItem(key);
      } else {
        window[area].setItem(key, value);
      }
    } catch (error) {
      // Full or disabled storage only costs the reload continuity.
    }
  }

  function loadSessionId() {
    try {
      var saved = JSON.parse(readStorage("localStorage", sessionKey) || "null");
      var fresh = saved && Date.now() - saved.at < SESSION_IDLE_HOURS * 3600 * 1000;
      return fresh && typeof saved.id === "string" ? saved.id : null;
    } catch (error) {
      return null;
    }
  }

  // Called on every message either way, so only idleness ends a stored session.
  function saveSessionId() {
    writeStorage("localStorage", sessionKey, sessionId && JSON.stringify({ id: sessionId, at: Date.now() }));
  }

  function saveTranscript() {
    saveSessionId();
    var kept = transcript.slice(-TRANSCRIPT_LIMIT);
    writeStorage("sessionStorage", transcriptKey, JSON.stringify({ session_id: sessionId, entries: kept }));
  }

  function loadTranscript() {
    var raw = readStorage("sessionStorage", transcriptKey);
    if (!raw || !sessionId) {
      return [];
    }
    try {
      var saved = JSON.parse(raw);
      return saved && saved.session_id === sessionId && Array.isArray(saved.entries) ? saved.entries : [];
    } catch (error) {
      return [];
    }
  }

  // The page's words in its language (chat_text.yml), from the JSON block the server wrote.
  function readPageText() {
    var block = document.getElementById("chat-text");
    try {
      return JSON.parse(block ? block.textContent : "{}") || {};
    } catch (error) {
      return {};
    }
  }

  // A text of the page with its {names} filled; the key itself if the page lacks it.
  function say(key, values) {
    var text = String(pageText[key] || key);
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  }

  // The bot's menu offers the other language: chosen there, the next visit opens in it too.
  function rememberLanguage(payload) {
    try {
      var chosen = JSON.parse(payload.slice(CHOOSE_LANGUAGE.length)).language;
      if (/^[a-z]{2}$/.test(chosen)) {
        document.cookie = "grm_lang=" + chosen + "; path=/; max-age=31536000; samesite=lax";
      }
    } catch (error) {
      // not a payload this page wrote: nothing to remember
    }
  }

  function setState(state) {
    root.setAttribute("data-state", state);
  }

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  // Bot text is never parsed as HTML: text nodes, plus links built element by element.
  function appendLinkedText(parent, text) {
    var last = 0;
    var match;
    URL_PATTERN.lastIndex = 0;
    while ((match = URL_PATTERN.exec(text)) !== null) {
      var url = match[0].replace(URL_TRAILING_PUNCTUATION, "");
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      var link = document.createElement("a");
      link.href = url;
      link.textContent = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer nofollow";
      parent.appendChild(link);
      last = match.index + url.length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function isWebUrl(value) {
    return typeof value === "string" && /^https?:\/\//i.test(value);
  }

  function bubble(kind, testId) {
    var element = document.createElement("div");
    element.className = "msg msg-" + kind;
    element.setAttribute("data-testid", testId);
    return element;
  }

  function appendAttachment(element, attachment) {
    var payload = attachment && attachment.payload;
    var source = payload && (payload.src || payload.url);
    if (!isWebUrl(source)) {
      return;
    }
    var link = document.createElement("a");
    link.href = source;
    link.target = "_blank";
    link.rel = "noopener noreferrer nofollow";
    if (attachment.type !== "image") {
      link.textContent = say("open_attachment");
      element.appendChild(link);
      return;
    }
    var image = document.createElement("img");
    image.src = source;
    image.alt = say("picture_alt");
    image.loading = "lazy";
    // An image the page may not load (another host, CSP) still reaches the user as a link.
    image.addEventListener("error", function () {
      link.textContent = say("open_picture");
      image.replaceWith(link);
    });
    image.addEventListener("load", scrollToEnd);
    element.appendChild(image);
  }

  function buttonsOf(message) {
    var offered = [].concat(message.quick_replies || [], message.buttons || []);
    return offered.filter(function (button) {
      return button && (button.payload || button.title) && (!button.content_type || button.content_type === "text");
    });
  }

  function renderButtons(buttons) {
    var group = document.createElement("div");
    group.className = "msg-buttons";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", say("choices"));
    buttons.forEach(function (button) {
      var title = String(button.title || button.payload);
      var payload = String(button.payload || button.title);
      var element = document.createElement("button");
      element.type = "button";
      element.className = "quick-reply";
      element.setAttribute("data-testid", "quick-reply");
      element.setAttribute("data-payload", payload);
      element.textContent = title;
      element.addEventListener("click", function () {
        if (payload.indexOf(CHOOSE_LANGUAGE) === 0) {
          rememberLanguage(payload);
        }
        send(payload, title);
        if (refocusAfterTap) {
          input.focus();
        }
      });
      group.appendChild(element);
    });
    log.appendChild(group);
  }

  function renderBotMessage(message) {
    var hasText = typeof message.text === "string" && message.text.trim() !== "";
    if (hasText || message.attachment) {
      var element = bubble("bot", "bot-message");
      if (hasText) {
        var text = document.createElement("p");
        text.className = "msg-text";
        appendLinkedText(text, message.text);
        element.appendChild(text);
      }
      appendAttachment(element, message.attachment);
      log.appendChild(element);
    }
    var buttons = buttonsOf(message);
    if (buttons.length) {
      renderButtons(buttons);
    }
    scrollToEnd();
  }

  function renderUserMessage(text) {
    disableButtons();
    var element = bubble("user", "user-message");
    var body = document.createElement("p");
    body.className = "msg-text";
    body.textContent = text;
    element.appendChild(body);
    log.appendChild(element);
    scrollToEnd();
  }

  function renderSystemNote(text) {
    var element = bubble("system", "system-message");
    element.textContent = text;
    log.appendChild(element);
    scrollToEnd();
    return element;
  }

  function disableButtons() {
    var buttons = log.querySelectorAll(".quick-reply");
    for (var index = 0; index < buttons.length; index += 1) {
      buttons[index].disabled = true;
    }
  }

  function showTyping() {
    typing.hidden = false;
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(hideTyping, TYPING_TIMEOUT_MS);
    scrollToEnd();
  }

  function hideTyping() {
    window.clearTimeout(typingTimer);
    typing.hidden = true;
  }

  // `item` is {text, extra}: extra's keys join the message's metadata.
  function emit(item) {
    var metadata = { project: project, language: language, answer: answerToken };
    var extra = item.extra || {};
    Object.keys(extra).forEach(function (key) {
      metadata[key] = extra[key];
    });
    socket.emit("user_uttered", { message: item.text, session_id: sessionId, customData: metadata });
    showTyping();
  }

  // `shown` is what the user's bubble says (a button's title); null sends without a bubble.
  function send(text, shown, extra) {
    if (shown !== null) {
      renderUserMessage(shown);
      transcript.push({ from: "user", text: shown });
      saveTranscript();
    }
    // Until Rasa has confirmed the session (and joined this socket to its room) a reply
    // would be lost, so messages wait here rather than in the socket's own buffer.
    var item = { text: text, extra: extra };
    if (confirmed && socket && socket.connected) {
      emit(item);
    } else {
      outbox.push(item);
    }
  }

  function onSessionConfirm(data) {
    var confirmedId = typeof data === "string" ? data : data && data.session_id;
    if (!confirmedId) {
      return;
    }
    var brandNew = !sessionId;
    sessionId = String(confirmedId);
    root.setAttribute("data-session-id", sessionId);
    saveTranscript();
    confirmed = true;
    setState("ready");
    showNotice("");
    if (brandNew) {
      emit({ text: GREETING });
    } else if (languageAsked) {
      emit({ text: CHOOSE_LANGUAGE + JSON.stringify({ language: language }) });
    }
    languageAsked = false;
    outbox.splice(0).forEach(emit);
  }

  function onBotMessage(message) {
    if (!message || typeof message !== "object") {
      return;
    }
    hideTyping();
    var kept = { text: message.text, quick_replies: message.quick_replies, buttons: message.buttons, attachment: message.attachment };
    transcript.push({ from: "bot", message: kept });
    saveTranscript();
    renderBotMessage(kept);
  }

  function onDisconnect(reason) {
    confirmed = false;
    hideTyping();
    if (reason === "io client disconnect") {
      return;
    }
    setState("reconnecting");
    showNotice(say("connection_lost"));
    // The client retries by itself except when the server closed the connection on purpose.
    if (reason === "io server disconnect") {
      socket.connect();
    }
  }

  function onConnectError() {
    failedAttempts += 1;
    // A dropped connection often comes back at the first retries: say so before giving up hope.
    if (root.getAttribute("data-state") === "reconnecting" && failedAttempts < RECONNECT_ATTEMPTS_BEFORE_OFFLINE) {
      return;
    }
    setState("offline");
    showNotice(say("unreachable"));
  }

  function connect() {
    socket = window.io(root.getAttribute("data-rasa-url"), {
      path: root.getAttribute("data-socket-path") || "/socket.io/",
      // WebSocket first saves round trips on slow links; long-polling rescues networks that block it.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      // A random name in every request of the page's connections, so that a balancer in front
      // of several Rasa servers keeps each connection's long-polling on one of them
      // (deploy/nginx). Not the conversation's id: that one must not reach access logs.
      query: { affinity: affinity },
      reconnectionDelayMax: 10000,
    });
    socket.on("connect", function () {
      confirmed = false;
      failedAttempts = 0;
      socket.emit("session_request", { session_id: sessionId || newSessionId });
    });
    socket.on("session_confirm", onSessionConfirm);
    socket.on("bot_uttered", onBotMessage);
    socket.on("disconnect", onDisconnect);
    socket.on("connect_error", onConnectError);
  }

  // The page is loaded again for the new session id it carries; a fresh connection also
  // leaves the old session's room, so none of its replies can land here.
  function startNewConversation() {
    sessionId = null;
    saveSessionId();
    writeStorage("sessionStorage", transcriptKey, null);
    if (socket) {
      socket.disconnect();
    }
    window.location.replace(window.location.pathname);
  }

  function resizeInput() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 160) + "px";
  }

  function answerOf(response) {
    return response.json().then(
      function (answer) {
        return { ok: response.ok, answer: answer || {} };
      },
      function () {
        return { ok: false, answer: {} };
      }
    );
  }

  // The file goes to the web server first (a socket message cannot carry it); the bot then
  // hears "/attach" with the token the server gave, and finds the file by it.
  function uploadFile(file) {
    if (!confirmed || !sessionId) {
      renderSystemNote(say("wait_connected"));
      return;
    }
    if (uploadLimit && file.size > uploadLimit) {
      renderSystemNote(say("file_too_large", { limit: Math.floor(uploadLimit / 1048576) }));
      return;
    }
    var progress = renderSystemNote(say("sending", { name: file.name }));
    attachButton.disabled = true;
    var body = new FormData();
    body.append("session_id", sessionId);
    body.append("language", language);
    body.append("file", file, file.name);
    window
      .fetch(uploadUrl, { method: "POST", body: body, credentials: "same-origin" })
      .then(answerOf)
      .then(function (result) {
        progress.remove();
        if (!result.ok || !result.answer.token) {
          renderSystemNote(say("not_sent", { reason: result.answer.error || say("upload_busy") }));
          return;
        }
        send("/attach", "📎 " + result.answer.name, { attachment: result.answer.token });
      })
      .catch(function () {
        progress.remove();
        renderSystemNote(say("could_not_send"));
      })
      .then(function () {
        attachButton.disabled = false;
        fileInput.value = "";
      });
  }

  function submitTypedMessage() {
    var text = input.value.trim();
    if (!text) {
      return;
    }
    input.value = "";
    resizeInput();
    send(text, text);
    input.focus();
  }

  function restoreTranscript() {
    transcript = loadTranscript();
    transcript.forEach(function (entry) {
      if (entry.from === "user") {
        renderUserMessage(String(entry.text));
      } else if (entry.message) {
        renderBotMessage(entry.message);
      }
    });
    if (sessionId && transcript.length === 0) {
      renderSystemNote(say("welcome_back"));
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submitTypedMessage();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitTypedMessage();
    }
  });
  input.addEventListener("input", resizeInput);
  newButton.addEventListener("click", startNewConversation);
  attachButton.addEventListener("click", function () {
    fileInput.click();
  });
  fileInput.addEventListener("change", function () {
    if (fileInput.files && fileInput.files[0]) {
      uploadFile(fileInput.files[0]);
    }
  });

  restoreTranscript();
  if (refocusAfterTap) {
    input.focus();
  }
  if (typeof window.io !== "function") {
    setState("offline");
    showNotice(say("could_not_load"));
    return;
  }
  showNotice(say("connecting"));
  connect();
})();
