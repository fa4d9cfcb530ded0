/* Small progressive enhancements of the sandbox CRM; every page works without them.
   Loaded from the page's head without "defer": the "are you sure?" question of a delete form
   (data-confirm) is listened for before any form is on the page, so no click can come before
   it. What needs the page's elements waits for them (DOMContentLoaded). */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) { event.preventDefault(); }
  });

  // For fetch() calls of other pages: window.sandboxCsrfHeaders() -> {"X-CSRFToken": ...}
  window.sandboxCsrfHeaders = function () {
    var csrf = document.querySelector('meta[name="csrf-token"]');
    return csrf ? { "X-CSRFToken": csrf.content } : {};
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enhance);
  } else {
    enhance();
  }

  function enhance() {
    // "select all" checkboxes: <input type="checkbox" data-check-all="row">
    document.querySelectorAll("[data-check-all]").forEach(function (box) {
      box.addEventListener("change", function () {
        document.querySelectorAll('input[type="checkbox"][name="' + box.dataset.checkAll + '"]:not([disabled])')
          .forEach(function (other) { other.checked = box.checked; });
      });
    });

    // A table wider than its box scrolls inside it (.table-wrap). A keyboard user must be able to
    // reach it to scroll it: a wrapper that scrolls and holds nothing focusable becomes a tab stop,
    // named after its section's heading. Checked again when the window is resized.
    var FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]:not([data-scroll-region])";
    function scrollRegions() {
      document.querySelectorAll(".table-wrap").forEach(function (box) {
        var reachable = box.scrollWidth > box.clientWidth + 1 && !box.querySelector(FOCUSABLE);
        if (reachable && !box.hasAttribute("data-scroll-region")) {
          var section = box.closest("section, .card");
          var heading = section && section.querySelector("h2, h3");
          box.setAttribute("data-scroll-region", "");
          box.tabIndex = 0;
          if (heading && !box.hasAttribute("aria-label")) {
            box.setAttribute("role", "region");
            box.setAttribute("aria-label", heading.textContent.trim());
          }
        } else if (!reachable && box.hasAttribute("data-scroll-region")) {
          box.removeAttribute("data-scroll-region");
          box.removeAttribute("tabindex");
          box.removeAttribute("role");
          box.removeAttribute("aria-label");
        }
      });
    }
    scrollRegions();
    var resizeTimer = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(scrollRegions, 150);
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
  }
})();
