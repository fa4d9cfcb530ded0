/* Offers and reports: insert merge tags at the cursor; reload dependent choices; print. Pages work without it. */
(function () {
  "use strict";
  var target = document.querySelector("[data-tag-target]");
  document.querySelectorAll(".tag-insert").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!target) { return; }
      var text = button.dataset.tag, start = target.selectionStart, end = target.selectionEnd;
      target.value = target.value.slice(0, start) + text + target.value.slice(end);
      target.focus();
      target.selectionStart = target.selectionEnd = start + text.length;
    });
  });
  // A select whose change changes the other choices (company → its contacts; report source → its fields).
  function reload(select) {
    var form = select.form, marker = document.createElement("input");
    marker.type = "hidden"; marker.name = "reload"; marker.value = "1";
    form.appendChild(marker);
    form.submit();
  }
  // The choice the page was rendered with (the option marked selected, else the first).
  function rendered(select) {
    var marked = Array.prototype.filter.call(select.options, function (option) { return option.defaultSelected; });
    return marked.length ? marked[marked.length - 1] : select.options[0];
  }
  document.querySelectorAll("[data-reload-on-change]").forEach(function (select) {
    select.addEventListener("change", function () { reload(select); });
  });
  // This script is deferred: a choice changed before it ran had no listener. Reload for it now, so
  // the other choices belong to what is selected (the first such select; the reload sends all).
  // Not on a page come back to or reloaded, where the browser itself may have put back a choice
  // made earlier: the form would send itself with nobody touching it.
  var navigation = window.performance && performance.getEntriesByType
    ? performance.getEntriesByType("navigation")[0] : null;
  var restored = navigation && (navigation.type === "back_forward" || navigation.type === "reload");
  var early = !restored && Array.prototype.find.call(document.querySelectorAll("[data-reload-on-change]"), function (select) {
    return select.selectedIndex >= 0 && select.options[select.selectedIndex] !== rendered(select);
  });
  if (early) { reload(early); }
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
