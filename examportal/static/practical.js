// The practical exam's countdown. The server keeps the real deadline; this only shows it
// ticking and reloads the page when it passes, so the server closes the attempt.
(function () {
  "use strict";
  var el = document.querySelector(".countdown[data-seconds-left]");
  if (!el) { return; }
  var value = el.querySelector(".countdown-value");
  var end = Date.now() + parseInt(el.getAttribute("data-seconds-left"), 10) * 1000;
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var left = Math.max(0, Math.round((end - Date.now()) / 1000));
    value.textContent = Math.floor(left / 3600) + ":" + pad(Math.floor(left % 3600 / 60)) + ":" + pad(left % 60);
    el.classList.toggle("low", left <= 300);
    if (left <= 0) {
      value.textContent = el.getAttribute("data-expired-text");
      window.setTimeout(function () { window.location.reload(); }, 1500);
      return;
    }
    window.setTimeout(tick, 1000);
  }
  tick();
})();
