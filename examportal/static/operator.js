// The operator console's live table: poll the JSON status every 5 seconds and update the rows.
(function () {
  "use strict";
  var table = document.getElementById("console");
  if (!table) { return; }
  var labels = JSON.parse(table.dataset.labels);

  function clock(seconds) {
    var minutes = Math.floor(seconds / 60), rest = seconds % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function update(rows) {
    rows.forEach(function (row) {
      var tr = table.querySelector('tr[data-attempt="' + row.attempt_id + '"]');
      if (!tr) { return; }
      tr.querySelector(".c-status").textContent = labels[row.status] || row.status;
      tr.querySelector(".c-answered").textContent = row.answered + " / " + row.items;
      tr.querySelector(".c-time").textContent = clock(row.time_left);
      tr.querySelector(".c-extra").textContent = row.extra_minutes + " min";
      tr.querySelector(".c-contact").textContent = row.last_contact_at || "—";
      var badge = tr.querySelector(".c-conn span");
      badge.className = "badge conn-" + row.connection;
      badge.textContent = labels[row.connection] || row.connection;
    });
  }

  function poll() {
    fetch(table.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (data) { update(data.rows); })
      .catch(function () { /* the next poll tries again */ });
  }
  window.setInterval(poll, 5000);
}());
