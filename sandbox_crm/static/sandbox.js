/* Small progressive enhancements of the sandbox CRM; every page works without them. */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');
  // For fetch() calls of other pages: window.sandboxCsrfHeaders() -> {"X-CSRFToken": ...}
  window.sandboxCsrfHeaders = function () { return csrf ? { "X-CSRFToken": csrf.content } : {}; };

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) { event.preventDefault(); }
  });

  // "select all" checkboxes: <input type="checkbox" data-check-all="row">
  document.querySelectorAll("[data-check-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      document.querySelectorAll('input[type="checkbox"][name="' + box.dataset.checkAll + '"]:not([disabled])')
        .forEach(function (other) { other.checked = box.checked; });
    });
  });

  // Company picker: <input data-company-lookup="URL" list="DATALIST_ID">
  document.querySelectorAll("[data-company-lookup]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var url = input.dataset.companyLookup + "?q=" + encodeURIComponent(input.value);
        fetch(url, { headers: window.sandboxCsrfHeaders(), credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (rows) {
            list.textContent = "";
            rows.forEach(function (row) {
              var option = document.createElement("option");
              option.value = row.name;
              option.label = [row.nip, row.city].filter(Boolean).join(" · ");
              list.appendChild(option);
            });
          })
          .catch(function () { /* the plain datalist stays */ });
      }, 200);
    });
  });
})();
