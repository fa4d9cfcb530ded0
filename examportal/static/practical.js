// The practical exam's countdown. The server keeps the real deadline; this only shows it
// ticking and reloads the page when it passes, so the server closes the attempt. On the
// candidate's page it also asks the server for the clock now and then, so the operator's extra
// time, pause (the clock stands, a notice explains) and resume show without a reload.
(function () {
  "use strict";
  var el = document.querySelector(".countdown[data-seconds-left]");
  if (!el) { return; }
  var value = el.querySelector(".countdown-value");
  var until = el.querySelector(".countdown-until");
  var notice = document.querySelector(".pause-notice");
  var statusUrl = el.getAttribute("data-status-url");
  var left = parseInt(el.getAttribute("data-seconds-left"), 10);
  var paused = el.getAttribute("data-paused") === "true";
  // A page drawn while paused shows no editing controls: it is drawn again once resumed.
  var drawnPaused = paused;
  var end = Date.now() + left * 1000;
  var timer = null;
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function show(seconds) {
    value.textContent = Math.floor(seconds / 3600) + ":" + pad(Math.floor(seconds % 3600 / 60)) + ":" + pad(seconds % 60);
    el.classList.toggle("low", seconds <= 300);
  }
  function tick() {
    timer = null;
    if (paused) { show(left); return; }
    left = Math.max(0, Math.round((end - Date.now()) / 1000));
    show(left);
    if (left <= 0) {
      value.textContent = el.getAttribute("data-expired-text");
      window.setTimeout(function () { window.location.reload(); }, 1500);
      return;
    }
    timer = window.setTimeout(tick, 1000);
  }
  function follow(state) {
    if (!state.running || (drawnPaused && !state.paused)) { window.location.reload(); return; }
    paused = state.paused;
    left = state.seconds_left;
    end = Date.now() + left * 1000;
    if (notice) { notice.hidden = !paused; }
    if (until && state.until_text) { until.textContent = "(" + state.until_text + ")"; }
    if (timer !== null) { window.clearTimeout(timer); }
    tick();
  }
  var polling = false;  // one poll at a time: a slow answer is not asked again
  function poll() {
    if (polling) { return; }
    polling = true;
    // Given up after 10 s, before the next is due (one the network holds would stop the polling for good).
    var controller = new AbortController();
    window.setTimeout(function () { controller.abort(); }, 10000);  // a no-op once answered
    fetch(statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}, signal: controller.signal})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) { if (state) { follow(state); } })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { polling = false; });
  }
  tick();
  if (statusUrl) { window.setInterval(poll, 15000); }
})();
