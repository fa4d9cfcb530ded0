/* Kanban board: drag an opportunity card to another stage column. Without this script every
   card still has its "Move to" form, so the board works without JavaScript too. */
(function () {
  "use strict";
  var board = document.querySelector("[data-board]");
  if (!board) { return; }
  var status = document.getElementById("board-status");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var dragged = null;

  function say(text, isError) {
    if (!status) { return; }
    status.textContent = text;
    status.className = "board-status flash " + (isError ? "flash--error" : "flash--success");
  }

  function columnOf(node) {
    while (node && node !== board) {
      if (node.dataset && node.dataset.stageId) { return node; }
      node = node.parentNode;
    }
    return null;
  }

  function updateSums(data) {
    // Column headers on the board and rows of the "values by stage" table carry data-stage-id.
    Object.keys(data.columns || {}).forEach(function (stageId) {
      document.querySelectorAll('[data-stage-id="' + stageId + '"]').forEach(function (holder) {
        Object.keys(data.columns[stageId]).forEach(function (key) {
          var cell = holder.querySelector('[data-col="' + key + '"]');
          if (cell && cell.closest("[data-stage-id]") === holder) { cell.textContent = data.columns[stageId][key]; }
        });
      });
    });
    ["count", "value", "weighted"].forEach(function (key) {
      document.querySelectorAll('[data-total="' + key + '"]').forEach(function (cell) {
        if (data.totals) { cell.textContent = data.totals[key]; }
      });
    });
  }

  function move(card, column) {
    var body = new FormData();
    var token = csrfMeta ? csrfMeta.content : "";
    body.append("stage_id", column.dataset.stageId);
    body.append("csrf_token", token);
    var origin = card.parentNode;
    var next = card.nextSibling;
    column.querySelector("[data-cards]").prepend(card);
    card.setAttribute("aria-busy", "true");
    fetch(card.dataset.moveUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": token }
    }).then(function (response) {
      return response.json().catch(function () { return { ok: false, message: response.statusText }; })
        .then(function (data) { return { response: response, data: data }; });
    }).then(function (result) {
      card.removeAttribute("aria-busy");
      if (!result.response.ok || !result.data.ok) {
        origin.insertBefore(card, next);
        say(result.data.message || board.dataset.offline, true);
        return;
      }
      var select = card.querySelector('select[name="stage_id"]');
      if (select) { select.value = String(result.data.stage_id); }
      updateSums(result.data);
      say(result.data.message, false);
    }).catch(function () {
      card.removeAttribute("aria-busy");
      origin.insertBefore(card, next);
      say(board.dataset.offline || "The move did not reach the server: try again.", true);
    });
  }

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest("[data-opportunity-id]") : null;
    if (!card || card.getAttribute("draggable") !== "true") { return; }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.opportunityId);
    card.classList.add("dragging");
  });
  board.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    dragged = null;
    board.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
  });
  board.addEventListener("dragover", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    board.querySelectorAll(".drop-target").forEach(function (c) { if (c !== column) { c.classList.remove("drop-target"); } });
    column.classList.add("drop-target");
  });
  board.addEventListener("dragleave", function (event) {
    var column = columnOf(event.target);
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("drop-target"); }
  });
  board.addEventListener("drop", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column) { return; }
    event.preventDefault();
    column.classList.remove("drop-target");
    if (columnOf(dragged) === column) { return; }
    move(dragged, column);
  });
})();
