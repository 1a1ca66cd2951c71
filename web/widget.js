/*
 * Chat widget of the public-service assistant (Đà Nẵng city, former Quảng Nam province).
 *
 * Embed with one tag:
 *   <script src="http://HOST:WEB_PORT/widget.js" data-socket-url="http://HOST:RASA_PORT"></script>
 * It loads widget.css and vendor/socket.io.min.js from its own origin and talks to Rasa's
 * socket.io channel (session_request / session_confirm, user_uttered, bot_uttered).
 *
 * Message content (citizen's and assistant's) only ever reaches the page through
 * textContent and createElement: never through innerHTML.
 */
(function () {
  "use strict";

  if (window.__dvcWidget) return; // embedded twice: keep the first
  window.__dvcWidget = true;

  var TEXTS = {
    launcher: "Hỏi trợ lý dịch vụ công",
    title: "Trợ lý dịch vụ công",
    subtitle: "Thành phố Đà Nẵng",
    close: "Đóng cửa sổ trò chuyện",
    restart: "Cuộc trò chuyện mới",
    restartConfirm: "Bắt đầu cuộc trò chuyện mới? Nội dung hiện tại sẽ bị xóa khỏi cửa sổ này.",
    log: "Nội dung trò chuyện",
    inputLabel: "Câu hỏi của bạn",
    placeholder: "Nhập câu hỏi…",
    send: "Gửi",
    typing: "Trợ lý đang trả lời…",
    you: "Bạn: ",
    bot: "Trợ lý: ",
    image: "Hình ảnh từ trợ lý",
    welcome: "Xin chào! Tôi có thể giải thích thủ tục hành chính (giấy tờ, lệ phí, thời gian, nơi nộp), " +
      "hướng dẫn nộp hồ sơ trực tuyến và tra cứu tình trạng hồ sơ. Bạn cần hỏi gì?",
    connecting: "Đang kết nối với trợ lý…",
    connectError: "Không kết nối được với trợ lý. Đang thử lại…",
    disconnected: "Mất kết nối với trợ lý. Đang kết nối lại…",
    loadError: "Không tải được cửa sổ trò chuyện. Vui lòng tải lại trang hoặc gọi đường dây nóng.",
    noAnswer: "Trợ lý chưa trả lời. Vui lòng thử lại sau ít phút.",
    queued: "Tin nhắn sẽ được gửi khi kết nối lại.",
    unread: " (có tin nhắn mới)"
  };
  var KEY_SESSION = "dvc-widget.session_id"; // localStorage: the same conversation across visits
  var KEY_HISTORY = "dvc-widget.history";    // sessionStorage: gone when the tab closes (shared computers)
  var KEY_OPEN = "dvc-widget.open";
  var MAX_HISTORY = 200;
  var MAX_CHARS = 4000;
  var ANSWER_TIMEOUT_MS = 30000;
  var URL_RE = /https?:\/\/[^\s<>"'«»]+/g;
  // Phone numbers said in answers (the 1022 hotline, "0236 1022", a mobile number): tap to call.
  // No look-behind (older Safari cannot parse it): the character before is matched and kept.
  var PHONE_RE = /(^|[^\d.,\/-])(0\d{2,3}(?: ?\d{3,4}){1,2}|1022)(?![\d.,\/-])/g;

  var script = document.currentScript || (function () {
    var all = document.querySelectorAll("script[src]");
    for (var i = all.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|#|$)/.test(all[i].src)) return all[i];
    }
    return null;
  })();
  var scriptUrl = new URL(script ? script.src : "widget.js", window.location.href);
  var assetBase = scriptUrl.href.replace(/[^\/]*([?#].*)?$/, ""); // folder of widget.js
  var socketUrl = (script && script.getAttribute("data-socket-url")) ||
    (scriptUrl.protocol + "//" + scriptUrl.hostname + ":5005");
  var socketPath = (script && script.getAttribute("data-socket-path")) || "/socket.io";

  /* ---------- storage (may be unavailable: private modes, blocked cookies) ---------- */

  function store(kind) {
    try {
      var s = window[kind];
      s.setItem("dvc-widget.probe", "1");
      s.removeItem("dvc-widget.probe");
      return s;
    } catch (e) {
      var memory = {};
      return {
        getItem: function (k) { return Object.prototype.hasOwnProperty.call(memory, k) ? memory[k] : null; },
        setItem: function (k, v) { memory[k] = String(v); },
        removeItem: function (k) { delete memory[k]; }
      };
    }
  }
  var local = store("localStorage");
  var session = store("sessionStorage");

  function loadHistory() {
    try {
      var items = JSON.parse(session.getItem(KEY_HISTORY) || "[]");
      return Array.isArray(items) ? items : [];
    } catch (e) {
      return [];
    }
  }
  function saveHistory() {
    if (conversation.length > MAX_HISTORY) conversation = conversation.slice(conversation.length - MAX_HISTORY);
    try {
      session.setItem(KEY_HISTORY, JSON.stringify(conversation));
    } catch (e) { /* quota: the conversation goes on, only the reload copy is lost */ }
  }

  var conversation = loadHistory();

  /* ---------- DOM ---------- */

  function el(tag, className, attrs) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (attrs) {
      for (var name in attrs) {
        if (Object.prototype.hasOwnProperty.call(attrs, name)) node.setAttribute(name, attrs[name]);
      }
    }
    return node;
  }
  function text(tag, className, value, attrs) {
    var node = el(tag, className, attrs);
    node.textContent = value;
    return node;
  }

  var root = el("div", "dvc-root", { id: "dvc-widget", lang: "vi" });
  root.style.visibility = "hidden"; // until widget.css arrives: no unstyled flash

  var launcher = el("button", "dvc-launcher", {
    type: "button", "aria-expanded": "false", "aria-controls": "dvc-panel"
  });
  launcher.appendChild(el("span", "dvc-launcher-icon", { "aria-hidden": "true" }));
  launcher.appendChild(text("span", "dvc-launcher-text", TEXTS.launcher));
  var unread = text("span", "dvc-visually-hidden", TEXTS.unread);
  unread.hidden = true;
  launcher.appendChild(unread);

  var panel = el("section", "dvc-panel", {
    id: "dvc-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "dvc-title"
  });
  panel.hidden = true;

  var header = el("header", "dvc-header");
  var heading = el("div", "dvc-heading");
  heading.appendChild(text("h2", "dvc-title", TEXTS.title, { id: "dvc-title" }));
  heading.appendChild(text("p", "dvc-subtitle", TEXTS.subtitle));
  var restartButton = el("button", "dvc-icon-button dvc-restart", {
    type: "button", "aria-label": TEXTS.restart, title: TEXTS.restart
  });
  restartButton.appendChild(text("span", "", "⟲", { "aria-hidden": "true" }));
  var closeButton = el("button", "dvc-icon-button dvc-close", {
    type: "button", "aria-label": TEXTS.close, title: TEXTS.close
  });
  closeButton.appendChild(text("span", "", "×", { "aria-hidden": "true" }));
  header.appendChild(heading);
  header.appendChild(restartButton);
  header.appendChild(closeButton);

  var log = el("div", "dvc-log", {
    role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": TEXTS.log, tabindex: "0"
  });
  var typing = el("div", "dvc-typing", { role: "status" });
  typing.appendChild(el("span", "dvc-dots", { "aria-hidden": "true" }));
  typing.appendChild(text("span", "", TEXTS.typing));
  typing.hidden = true;
  var status = el("div", "dvc-status", { role: "alert" });
  status.hidden = true;

  var form = el("form", "dvc-form", { novalidate: "" });
  var label = text("label", "dvc-visually-hidden", TEXTS.inputLabel, { "for": "dvc-input" });
  var input = el("input", "dvc-input", {
    id: "dvc-input", type: "text", name: "message", autocomplete: "off",
    placeholder: TEXTS.placeholder, maxlength: String(MAX_CHARS), enterkeyhint: "send"
  });
  var sendButton = text("button", "dvc-send", TEXTS.send, { type: "submit" });
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(sendButton);

  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(status);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(launcher);

  /* ---------- rendering ---------- */

  // The end of a web address in a sentence: punctuation, and a closing bracket the address did
  // not open ("(mục Phản ánh kiến nghị: https://dichvucong.danang.gov.vn)").
  function trimAddress(address) {
    for (;;) {
      var trimmed = address.replace(/[.,;:!?]+$/, "");
      var closing = trimmed.slice(-1);
      if (closing === ")" && (trimmed.match(/\(/g) || []).length < (trimmed.match(/\)/g) || []).length) {
        trimmed = trimmed.slice(0, -1);
      }
      if (trimmed === address) return address;
      address = trimmed;
    }
  }

  // Phone numbers of a piece of text as tel: links.
  function phonedText(value, fragment) {
    var last = 0;
    var match;
    PHONE_RE.lastIndex = 0;
    while ((match = PHONE_RE.exec(value)) !== null) {
      var start = match.index + match[1].length;
      if (start > last) fragment.appendChild(document.createTextNode(value.slice(last, start)));
      var link = el("a", "dvc-link dvc-tel", { href: "tel:" + match[2].replace(/ /g, "") });
      link.textContent = match[2];
      fragment.appendChild(link);
      last = start + match[2].length;
    }
    if (last < value.length) fragment.appendChild(document.createTextNode(value.slice(last)));
  }

  // Text with its web addresses and phone numbers as links; every piece is a text node or an
  // <a> built here.
  function linkedText(value) {
    var fragment = document.createDocumentFragment();
    var last = 0;
    var match;
    URL_RE.lastIndex = 0;
    while ((match = URL_RE.exec(value)) !== null) {
      var address = trimAddress(match[0]); // sentence punctuation is not the link
      if (match.index > last) phonedText(value.slice(last, match.index), fragment);
      var link = el("a", "dvc-link", { href: address, target: "_blank", rel: "noopener noreferrer" });
      link.textContent = address;
      fragment.appendChild(link);
      last = match.index + address.length;
      URL_RE.lastIndex = last;
    }
    if (last < value.length) phonedText(value.slice(last), fragment);
    return fragment;
  }

  // Choices of earlier messages no longer act: the conversation has moved on.
  function retireChoices(except) {
    var choices = log.querySelectorAll("button.dvc-choice");
    for (var i = 0; i < choices.length; i++) {
      if (!except || !except.contains(choices[i])) choices[i].disabled = true;
    }
  }

  // A new answer is read from its start, not from its last line.
  var answerStart = null;
  function showAnswerStart() {
    if (answerStart) log.scrollTop = Math.max(0, answerStart.offsetTop - 8);
    else log.scrollTop = log.scrollHeight;
  }

  function isWebAddress(value) {
    return typeof value === "string" && /^https?:\/\//i.test(value);
  }

  function renderButtons(buttons) {
    var group = el("div", "dvc-buttons", { role: "group" });
    buttons.forEach(function (button) {
      if (isWebAddress(button.payload)) {
        var link = text("a", "dvc-choice dvc-choice-link", button.title, {
          href: button.payload, target: "_blank", rel: "noopener noreferrer"
        });
        group.appendChild(link);
        return;
      }
      var choice = text("button", "dvc-choice", button.title, { type: "button" });
      choice.addEventListener("click", function () {
        send(button.payload, button.title);
      });
      group.appendChild(choice);
    });
    return group;
  }

  function render(item) {
    var mine = item.from === "user";
    var row = el("div", "dvc-message " + (mine ? "dvc-from-user" : "dvc-from-bot"));
    if (item.text) {
      var bubble = el("p", "dvc-bubble");
      bubble.appendChild(text("span", "dvc-visually-hidden", mine ? TEXTS.you : TEXTS.bot));
      if (mine) {
        bubble.appendChild(document.createTextNode(item.text));
      } else {
        bubble.appendChild(linkedText(item.text));
      }
      row.appendChild(bubble);
    }
    if (item.image && isWebAddress(item.image)) {
      var image = el("img", "dvc-image", { alt: TEXTS.image, loading: "lazy" });
      image.src = item.image;
      row.appendChild(image);
    }
    if (item.buttons && item.buttons.length) row.appendChild(renderButtons(item.buttons));
    log.appendChild(row);
    if (mine) {
      answerStart = null;
    } else if (!answerStart) {
      answerStart = row;
    }
    return row;
  }

  function add(item) {
    conversation.push(item);
    saveHistory();
    if (item.from === "user") retireChoices();
    render(item);
    if (item.from === "user") log.scrollTop = log.scrollHeight;
    else showAnswerStart();
  }

  function renderAll() {
    while (log.firstChild) log.removeChild(log.firstChild);
    answerStart = null;
    render({ from: "bot", text: TEXTS.welcome }); // not stored: the same on every load
    var lastRow = null;
    conversation.forEach(function (item) { lastRow = render(item); });
    retireChoices(lastRow && lastRow.classList.contains("dvc-from-bot") ? lastRow : null);
    showAnswerStart();
  }

  function showStatus(message) {
    status.textContent = message || "";
    status.hidden = !message;
  }

  var answerTimer = null;
  function setTyping(on) {
    typing.hidden = !on;
    window.clearTimeout(answerTimer);
    if (on) {
      answerTimer = window.setTimeout(function () {
        typing.hidden = true;
        showStatus(TEXTS.noAnswer);
      }, ANSWER_TIMEOUT_MS);
      log.scrollTop = log.scrollHeight;
    }
  }

  /* ---------- connection ---------- */

  var socket = null;
  var confirmed = false;
  var outbox = []; // messages typed before the session is confirmed
  var loading = false;

  function loadSocketClient(done) {
    if (loading) return;
    loading = true;
    var previous = window.io; // the host page may have its own socket.io client: leave it as it was
    var tag = el("script", "", { src: assetBase + "vendor/socket.io.min.js", async: "" });
    tag.onload = function () {
      var ours = window.io;
      if (previous !== undefined) window.io = previous;
      done(ours);
    };
    tag.onerror = function () {
      loading = false;
      showStatus(TEXTS.loadError);
    };
    document.head.appendChild(tag);
  }

  function connect() {
    if (socket || loading) return;
    showStatus(TEXTS.connecting);
    loadSocketClient(function (io) {
      if (typeof io !== "function") {
        showStatus(TEXTS.loadError);
        return;
      }
      socket = io(socketUrl, { path: socketPath, reconnectionDelayMax: 10000 });
      socket.on("connect", function () {
        confirmed = false;
        socket.emit("session_request", { session_id: local.getItem(KEY_SESSION) });
      });
      socket.on("session_confirm", function (data) {
        var id = data && typeof data === "object" ? data.session_id : data;
        if (id) local.setItem(KEY_SESSION, String(id));
        confirmed = true;
        showStatus("");
        var waiting = outbox;
        outbox = [];
        waiting.forEach(emit);
      });
      socket.on("bot_uttered", receive);
      socket.on("connect_error", function () {
        showStatus(TEXTS.connectError);
      });
      socket.on("disconnect", function (reason) {
        confirmed = false;
        if (reason !== "io client disconnect") showStatus(TEXTS.disconnected);
      });
    });
  }

  function emit(message) {
    socket.emit("user_uttered", { message: message, session_id: local.getItem(KEY_SESSION) });
  }

  function send(message, shown) {
    message = String(message || "").trim().slice(0, MAX_CHARS);
    if (!message) return;
    add({ from: "user", text: shown || message });
    setTyping(true);
    if (socket && confirmed) {
      emit(message);
    } else {
      outbox.push(message);
      if (socket && !socket.connected) showStatus(TEXTS.queued);
      connect();
    }
  }

  function receive(data) {
    if (!data || typeof data !== "object") return;
    setTyping(false);
    showStatus("");
    var item = { from: "bot" };
    if (typeof data.text === "string" && data.text) item.text = data.text;
    var buttons = data.quick_replies || data.buttons;
    if (Array.isArray(buttons)) {
      item.buttons = buttons.filter(function (b) {
        return b && (b.title || b.payload);
      }).map(function (b) {
        return { title: String(b.title || b.payload), payload: String(b.payload || b.title) };
      });
    }
    var attachment = data.attachment;
    if (attachment && attachment.type === "image" && attachment.payload) item.image = String(attachment.payload.src || "");
    if (typeof data.image === "string") item.image = data.image;
    if (!(item.text || item.image || (item.buttons && item.buttons.length))) return;
    add(item);
    if (panel.hidden) { // e.g. a dossier status change pushed while the panel is closed
      root.classList.add("dvc-unread");
      unread.hidden = false;
    }
  }

  /* ---------- opening and closing ---------- */

  function open(moveFocus) {
    panel.hidden = false;
    root.classList.add("dvc-open");
    root.classList.remove("dvc-unread");
    unread.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    session.setItem(KEY_OPEN, "1");
    showAnswerStart();
    connect();
    if (moveFocus) input.focus();
  }

  function close() {
    panel.hidden = true;
    root.classList.remove("dvc-open");
    launcher.setAttribute("aria-expanded", "false");
    session.removeItem(KEY_OPEN);
    launcher.focus();
  }

  function restart() {
    if (conversation.length && !window.confirm(TEXTS.restartConfirm)) return;
    conversation = [];
    saveHistory();
    local.removeItem(KEY_SESSION);
    setTyping(false);
    renderAll();
    if (socket) {
      // a new socket session leaves the old conversation's room
      socket.disconnect();
      socket.connect();
    }
    input.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) open(true); else close();
  });
  closeButton.addEventListener("click", close);
  restartButton.addEventListener("click", restart);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape" || event.key === "Esc") {
      event.preventDefault();
      close();
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var value = input.value;
    if (!value.trim()) return;
    input.value = "";
    send(value);
  });

  /* ---------- start ---------- */

  function start() {
    var css = el("link", "", { rel: "stylesheet", href: assetBase + "widget.css" });
    css.onload = css.onerror = function () { root.style.visibility = ""; };
    document.head.appendChild(css);
    document.body.appendChild(root);
    renderAll();
    if (session.getItem(KEY_OPEN)) {
      open(false); // reopened after a reload, focus stays with the page
    } else if (conversation.length && local.getItem(KEY_SESSION)) {
      connect(); // an ongoing conversation: answers pushed later still arrive
    }
  }

  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
