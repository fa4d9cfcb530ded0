// Display options of the theory test: larger text and high contrast. Chosen with the buttons
// [data-display-option] (aria-pressed says which are on), kept in this browser's localStorage and
// applied as classes on <html> (CSS in app.css). This file is loaded in <head>, not deferred, so
// the classes are set before the page is first painted: no flash of the small, low-contrast page.
(function () {
  "use strict";
  var KEY = "examportal-display";
  var CLASSES = {"large-text": "display-large-text", "high-contrast": "display-high-contrast"};
  var root = document.documentElement;
  var chosen = load();

  function load() {
    try {
      var stored = JSON.parse(window.localStorage.getItem(KEY) || "{}");
      return stored && typeof stored === "object" ? stored : {};
    } catch (e) {
      return {};  // unreadable or unavailable storage: the defaults
    }
  }
  function store() {
    try {
      window.localStorage.setItem(KEY, JSON.stringify(chosen));
    } catch (e) {
      // Storage refused (a private window's quota): the choice holds for this page only.
    }
  }
  function apply() {
    Object.keys(CLASSES).forEach(function (name) {
      root.classList.toggle(CLASSES[name], !!chosen[name]);
    });
    document.querySelectorAll("[data-display-option]").forEach(function (button) {
      button.setAttribute("aria-pressed", chosen[button.dataset.displayOption] ? "true" : "false");
    });
  }

  apply();
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-display-option]").forEach(function (button) {
      button.addEventListener("click", function () {
        var name = button.dataset.displayOption;
        chosen[name] = !chosen[name];
        store();
        apply();
      });
    });
    document.querySelectorAll(".display-options").forEach(function (group) { group.hidden = false; });
    apply();
  });
  // Another tab of the test changed the options: follow it.
  window.addEventListener("storage", function (event) {
    if (event.key === KEY) { chosen = load(); apply(); }
  });
}());
