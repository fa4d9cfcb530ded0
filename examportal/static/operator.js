// The operator console's live tables (theory test, practical exam): poll the JSON status every 5 seconds and update the rows.
(function () {
  "use strict";
  var table = document.getElementById("console");
  if (!table) { return; }

  function clock(seconds) {
    var minutes = Math.floor(seconds / 60), rest = seconds % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function update(rows) {
    rows.forEach(function (row) {
      var tr = table.querySelector('tr[data-attempt="' + row.attempt_id + '"]');
      if (!tr) { return; }
      // The server names every status and formats the time in the operator's language.
      tr.querySelector(".c-status").textContent = row.status_label;
      tr.querySelector(".c-answered").textContent = row.answered_text;
      tr.querySelector(".c-time").textContent = clock(row.time_left);
      tr.querySelector(".c-extra").textContent = row.extra_minutes + " min";
      tr.querySelector(".c-contact").textContent = row.last_contact;
      var badge = tr.querySelector(".c-conn span");
      badge.className = "badge conn-" + row.connection;
      badge.textContent = row.connection_label;
    });
  }

  function updatePractical(rows) {
    rows.forEach(function (row) {
      var tr = document.querySelector('tr[data-practical-attempt="' + row.practical_attempt_id + '"]');
      if (!tr) { return; }
      tr.querySelector(".c-status").textContent = row.status_label;
      tr.querySelector(".c-time").textContent = clock(row.time_left);
      tr.querySelector(".c-ends").textContent = row.ends_text;
      tr.querySelector(".c-extra").textContent = row.extra_minutes + " min";
    });
  }

  var polling = false;  // one poll at a time: a slow answer (a room of a thousand) is not asked again
  function poll() {
    if (polling) { return; }
    polling = true;
    // Given up after 15 s (a request the network holds would stop the polling for good).
    var controller = new AbortController();
    window.setTimeout(function () { controller.abort(); }, 15000);  // a no-op once answered
    fetch(table.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}, signal: controller.signal})
      .then(function (response) { return response.json(); })
      .then(function (data) { update(data.rows); updatePractical(data.practical || []); })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { polling = false; });
  }
  window.setInterval(poll, 5000);
}());
