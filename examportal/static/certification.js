// The certification screen: one box selects (or clears) every candidate who can be decided.
// Without JavaScript every such candidate comes ticked, and the box stays hidden.
(function () {
  "use strict";
  var all = document.getElementById("select-all");
  if (!all) { return; }
  var picks = Array.prototype.slice.call(document.querySelectorAll("input.pick:not([disabled])"));
  if (!picks.length) { return; }
  all.hidden = false;
  function refresh() {
    var ticked = picks.filter(function (p) { return p.checked; }).length;
    all.checked = ticked === picks.length;
    all.indeterminate = ticked > 0 && ticked < picks.length;
  }
  all.addEventListener("change", function () {
    picks.forEach(function (p) { p.checked = all.checked; });
    refresh();
  });
  picks.forEach(function (p) { p.addEventListener("change", refresh); });
  refresh();
})();
