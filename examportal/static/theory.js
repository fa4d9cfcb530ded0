// The theory test page, improved: autosave every change, queue answers in localStorage while
// offline and replay them in order (the server ignores a sequence number it already has), switch
// questions without a round trip, and run the countdown from the server's time_left.
// The server renders the page with its own question and the next one's form; the other questions'
// forms are fetched once, after a random wait of up to data-prefetch-spread seconds (so a room that
// starts together does not ask for them all at once), or at once when the candidate goes to a
// question not yet on the page.
(function () {
  "use strict";
  var root = document.getElementById("theory");
  if (!root) { return; }
  var messages = document.getElementById("theory-messages").dataset;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var attempt = root.dataset.attempt;
  var queueKey = "theory-queue-" + attempt;
  var seqKey = "theory-seq-" + attempt;
  var statusEl = document.getElementById("save-status");
  var clockEl = document.getElementById("clock");
  var pausedEl = document.getElementById("paused-note");
  var state = root.dataset.status;
  var timeLeft = parseInt(clockEl.dataset.timeLeft, 10);
  var syncedAt = Date.now();
  var flushing = false;
  var beating = false;  // a heartbeat in flight: the next waits for its answer
  var beatAgain = false;
  var finished = false;
  var stale = false;
  // The start click is answered with the first question's page, at the start form's address: the
  // question's own address goes in the bar, so that a reload shows the question and sends nothing.
  function questionUrl(position) { return root.dataset.questionUrl.replace(/\/0$/, "/" + position); }
  var ownUrl = questionUrl(root.dataset.current);
  if (window.location.pathname !== ownUrl && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", ownUrl);
  }

  function loadQueue() {
    try { return JSON.parse(localStorage.getItem(queueKey) || "[]"); } catch (e) { return []; }
  }
  function saveQueue(queue) { localStorage.setItem(queueKey, JSON.stringify(queue)); }
  function nextSeq() {
    var stored = parseInt(localStorage.getItem(seqKey) || "0", 10);
    var seq = Math.max(stored + 1, parseInt(root.dataset.nextSeq, 10));
    localStorage.setItem(seqKey, String(seq));
    return seq;
  }
  // Times in the page's language (the lang of <html>), not the browser's: "12:05:09" in Polish.
  var timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined,
                                           {hour: "2-digit", minute: "2-digit", second: "2-digit"});
  function show(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "save-" + kind;
  }
  // Another window of this attempt has saved answers since this page was loaded: what this page
  // shows is out of date. It stops saving and asks for a reload instead of overwriting silently.
  function markStale() {
    if (stale || finished) { return; }
    stale = true;
    show(messages.stale, "error");
    var note = document.getElementById("stale-note");
    if (note) { note.hidden = false; }
    forms.forEach(disable);
  }
  function disable(form) {
    Array.prototype.forEach.call(form.elements, function (el) { if (el.name !== "go") { el.disabled = true; } });
  }
  function knownSeq() {
    return Math.max(parseInt(localStorage.getItem(seqKey) || "0", 10), parseInt(root.dataset.nextSeq, 10) - 1);
  }

  // ---- the clock: the server's time_left is the truth, re-synced on every answer and heartbeat
  function sync(data) {
    if (typeof data.time_left === "number") { timeLeft = data.time_left; syncedAt = Date.now(); }
    if (data.status) {
      state = data.status;
      root.dataset.status = state;
      pausedEl.hidden = state !== "paused";
    }
    if (state === "submitted") { finish(); }
  }
  function remaining() {
    if (state === "paused") { return timeLeft; }
    return Math.max(0, timeLeft - Math.floor((Date.now() - syncedAt) / 1000));
  }
  function tick() {
    var left = remaining();
    var minutes = Math.floor(left / 60), seconds = left % 60;
    clockEl.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
    clockEl.dataset.seconds = String(left);
    if (left === 0 && state === "in_progress") { heartbeat(); }
  }
  function finish() {
    if (finished) { return; }
    finished = true;
    localStorage.removeItem(queueKey);
    window.location.href = root.dataset.overviewUrl;
  }

  // A request unanswered this long is given up (an exam room's Wi-Fi can hold one for minutes):
  // the answers stay queued and the next heartbeat or flush asks again.
  var REQUEST_TIMEOUT_MS = 15000;
  function post(url, body) {
    var controller = new AbortController();
    window.setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);  // no-op once answered
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: body, signal: controller.signal,
      headers: {"X-CSRFToken": csrf, "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded"}
    });
  }

  function heartbeat() {
    // One at a time: when the time is up the clock asks every second until the server has ended
    // the test, and a whole room's time ends together, so a slow answer must not be asked again.
    if (beating) { beatAgain = true; return; }  // sent once this one is answered (the question shown may have changed)
    beating = true;
    post(root.dataset.heartbeatUrl, "position=" + encodeURIComponent(root.dataset.current)).then(function (response) {
      return response.json();
    }).then(function (data) {
      sync(data);
      if (typeof data.last_seq === "number" && data.last_seq > knownSeq() && !loadQueue().length) { markStale(); }
      flush();
      if (prefetchDue) { loadQuestions(); }  // the first try failed (offline): again now the server answers
    }).catch(function () {
      var waiting = loadQueue().length;
      show(messages.queued + " " + waiting, "queued");
    }).then(function () {
      beating = false;
      if (beatAgain) { beatAgain = false; heartbeat(); }
    });
  }

  // ---- autosave with an offline queue
  function flush() {
    if (flushing) { return; }
    var queue = loadQueue();
    if (!queue.length) { return; }
    flushing = true;
    var entry = queue[0];
    show(messages.saving, "saving");
    post(root.dataset.autosaveUrl, entry.body).then(function (response) {
      // Not JSON (a login page after the session ended, a proxy's error page): keep the answer queued.
      return response.json().catch(function () { return {status: state, unreadable: true}; })
        .then(function (data) { return {ok: response.ok && !data.unreadable, code: response.status, data: data}; });
    }).then(function (result) {
      flushing = false;
      sync(result.data);
      if (result.data.stale) {
        saveQueue(loadQueue().filter(function (e) { return e.seq !== entry.seq; }));
        markStale();
      } else if (result.data.unreadable) {
        show(messages.error + " " + messages.reload, "error");
      } else if (result.ok || result.code === 400 || result.code === 404) {
        var rest = loadQueue().filter(function (e) { return e.seq !== entry.seq; });
        saveQueue(rest);
        if (result.ok) {
          show(messages.saved + " " + timeFormat.format(new Date(result.data.saved_at)), "saved");
          statusEl.dataset.seq = String(result.data.seq);
        } else {
          show(messages.error + " " + (result.data.error || ""), "error");
        }
        if (rest.length) { flush(); }
      } else if (result.data.retry) {
        // The server is briefly unavailable: the answer stays queued and is sent again shortly.
        show(messages.queued + " " + loadQueue().length, "queued");
      } else if (result.data.status === "paused") {
        show(messages.paused, "queued");
      } else if (result.data.status !== "submitted") {
        show(messages.error + " " + (result.data.error || ""), "error");
      }
    }).catch(function () {
      flushing = false;
      show(messages.queued + " " + loadQueue().length, "queued");
    });
  }

  function answered(form) {
    return Array.prototype.some.call(form.elements, function (el) {
      if (el.name === "flagged" || el.name === "csrf_token") { return false; }
      if (el.type === "radio" || el.type === "checkbox") { return el.checked; }
      return el.tagName === "SELECT" && el.value !== "";
    });
  }

  // An ordering question is saved once every step has its own place (or none has):
  // while the candidate is still placing steps, nothing is sent and nothing is "not saved".
  function orderingInProgress(form) {
    var selects = form.querySelectorAll("select[name^='order-']");
    if (!selects.length) { return false; }
    var values = Array.prototype.map.call(selects, function (el) { return el.value; });
    var chosen = values.filter(function (v) { return v !== ""; });
    if (!chosen.length) { return false; }
    var distinct = chosen.filter(function (v, i) { return chosen.indexOf(v) === i; });
    return chosen.length !== values.length || distinct.length !== chosen.length;
  }

  function queueAnswer(form) {
    if (stale) { return; }
    if (orderingInProgress(form)) { show(messages.placing, "pending"); return; }
    var data = new URLSearchParams(new FormData(form));
    data.delete("csrf_token");
    var seq = nextSeq();
    data.set("position", form.dataset.position);
    data.set("seq", String(seq));
    var queue = loadQueue();
    queue.push({seq: seq, body: data.toString()});
    saveQueue(queue);
    markMap(form);
    show(messages.queued + " " + queue.length, "queued");
    flush();
  }
  function markMap(form) {
    var mapButton = document.querySelector('.question-map [data-go="' + form.dataset.position + '"]');
    if (mapButton) {
      mapButton.classList.toggle("answered", answered(form));
      mapButton.classList.toggle("flagged", !!form.elements.flagged && form.elements.flagged.checked);
    }
  }
  // The page shows the answers the server holds; answers still queued in this browser (given
  // offline, then the page reloaded) are newer: the form shows the latest of them instead.
  function applyQueued(form) {
    var latest = null;
    loadQueue().forEach(function (entry) {
      var data = new URLSearchParams(entry.body);
      if (data.get("position") === form.dataset.position) { latest = data; }
    });
    if (!latest) { return; }
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf_token" || el.type === "hidden" || el.type === "submit") { return; }
      var values = latest.getAll(el.name);
      if (el.type === "radio" || el.type === "checkbox") {
        el.checked = values.indexOf(el.value) !== -1;
      } else if (el.tagName === "SELECT") {
        Array.prototype.forEach.call(el.options, function (o) { o.selected = values.indexOf(o.value) !== -1; });
      }
    });
    markMap(form);
  }

  // ---- switching questions on the page
  var forms = Array.prototype.slice.call(root.querySelectorAll("form.question"));
  var total = parseInt(root.dataset.total, 10);
  var questionsLoading = null;  // the fetch of the other questions' forms, while it runs
  var prefetchDue = false;
  function current() { return parseInt(root.dataset.current, 10); }
  function position(form) { return parseInt(form.dataset.position, 10); }
  function allLoaded() { return forms.length >= total; }
  if (allLoaded()) { root.dataset.questions = "loaded"; }

  // Resolves to true once every question's form is on the page (false: not now, e.g. offline).
  function loadQuestions() {
    if (allLoaded()) { return Promise.resolve(true); }
    if (questionsLoading) { return questionsLoading; }
    questionsLoading = fetch(root.dataset.questionsUrl, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("questions: " + response.status); }
        return response.text();
      }).then(function (html) {
        var fetched = new DOMParser().parseFromString(html, "text/html").querySelectorAll("form.question");
        var map = root.querySelector(".question-map");
        Array.prototype.forEach.call(fetched, function (form) {
          if (document.getElementById(form.id)) { return; }  // this page's own question, maybe being answered
          form = document.importNode(form, true);
          form.hidden = true;
          root.insertBefore(form, map);
          wire(form);
          applyQueued(form);
          if (stale) { disable(form); }
          forms.push(form);
        });
        forms.sort(function (a, b) { return position(a) - position(b); });
        if (!allLoaded()) { throw new Error("questions: incomplete"); }
        prefetchDue = false;
        root.dataset.questions = "loaded";
        return true;
      }).catch(function () {
        return false;
      }).then(function (loaded) {
        questionsLoading = null;
        return loaded;
      });
    return questionsLoading;
  }
  function showQuestion(position) {
    forms.forEach(function (form) { form.hidden = parseInt(form.dataset.position, 10) !== position; });
    root.dataset.current = String(position);
    document.querySelectorAll(".question-map .map").forEach(function (button) {
      var isCurrent = button.dataset.go === String(position);
      button.classList.toggle("current", isCurrent);
      if (isCurrent) { button.setAttribute("aria-current", "step"); } else { button.removeAttribute("aria-current"); }
      button.setAttribute("form", "q-" + position);
    });
    var label = document.querySelector("#q-" + position + " .muted");
    if (label) { document.getElementById("position-label").textContent = label.textContent; }
    if (window.history && window.history.replaceState) { window.history.replaceState(null, "", questionUrl(position)); }
    window.scrollTo(0, 0);
    // The button pressed is now hidden with its question: the focus goes to the new question's stem
    // (read out by a screen reader; the next Tab reaches its answers), not back to the page's start.
    var stem = document.querySelector("#q-" + position + " .stem");
    if (stem) { stem.focus(); }
    heartbeat();  // the server remembers the question shown, for "Continue the test"
  }
  // The review page counts the answers the server holds: let pending saves land first
  // (for at most 3 seconds; offline, the queue stays in localStorage and replays later).
  function leaveForReview() {
    var giveUpAt = Date.now() + 3000;
    (function wait() {
      if (!loadQueue().length || Date.now() > giveUpAt) { window.location.href = root.dataset.reviewUrl; return; }
      flush();
      window.setTimeout(wait, 100);
    }());
  }

  function go(target) {
    var here = current();
    if (target === "review") { leaveForReview(); return; }
    if (target === "stay") { return; }
    var wanted = target === "prev" ? here - 1 : target === "next" ? here + 1 : parseInt(target, 10);
    if (wanted > total) { leaveForReview(); return; }
    if (!(wanted >= 1)) { return; }
    if (document.getElementById("q-" + wanted)) { showQuestion(wanted); return; }
    loadQuestions().then(function (loaded) {
      if (loaded) { showQuestion(wanted); } else { show(messages.unavailable, "error"); }
    });
  }

  function wire(form) {
    form.addEventListener("change", function () { queueAnswer(form); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = event.submitter;
      go(button && button.value ? button.value : "next");
    });
  }
  // An answer given before this script took over the page (it arrives after the page on a slow
  // connection) had no change listener to save it: it is saved now, as if given after.
  function changedBeforeScript(form) {
    return Array.prototype.some.call(form.elements, function (el) {
      if (el.type === "radio" || el.type === "checkbox") { return el.checked !== el.defaultChecked; }
      if (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type === "text")) { return el.value !== el.defaultValue; }
      if (el.tagName !== "SELECT") { return false; }
      if (el.multiple) {
        return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      // A single select with no option marked selected shows its first one.
      var initial = Array.prototype.filter.call(el.options, function (o) { return o.defaultSelected; })[0] || el.options[0];
      return !!initial && el.value !== initial.value;
    });
  }
  forms.forEach(wire);
  document.querySelectorAll(".question-map button").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      go(button.dataset.go);
    });
  });

  window.addEventListener("online", function () { flush(); heartbeat(); });
  window.setTimeout(function () {
    prefetchDue = true;
    loadQuestions();
  }, Math.random() * (parseFloat(root.dataset.prefetchSpread) || 0) * 1000);
  // Another tab of this browser saved an answer: this tab's page is out of date.
  window.addEventListener("storage", function (event) {
    if (event.key === seqKey && event.newValue !== null) { markStale(); }
  });
  window.addEventListener("offline", function () { show(messages.queued + " " + loadQueue().length, "queued"); });
  window.setInterval(tick, 1000);
  window.setInterval(heartbeat, 15000);
  window.setInterval(flush, 5000);
  tick();
  forms.forEach(function (form) { if (changedBeforeScript(form)) { queueAnswer(form); } else { applyQueued(form); } });
  if (loadQueue().length) { flush(); }
}());
