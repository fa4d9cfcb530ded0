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
  document.querySelectorAll("[data-reload-on-change]").forEach(function (select) {
    select.addEventListener("change", function () {
      var form = select.form, marker = document.createElement("input");
      marker.type = "hidden"; marker.name = "reload"; marker.value = "1";
      form.appendChild(marker);
      form.submit();
    });
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
