/* Risk pages: reload once the runs started from the page have finished, so the new figures show.
 * A slot marked data-reload-when-done holds run progress partials (core/_run_progress.html);
 * after each htmx swap, when every run in it is finished and at least one succeeded, the page
 * reloads after a short pause (long enough to see the bar reach 100 %). No inline scripts. */
(function () {
  "use strict";

  var RELOAD_DELAY_MS = 1200;
  var scheduled = false;

  function check() {
    if (scheduled) { return; }
    document.querySelectorAll("[data-reload-when-done]").forEach(function (slot) {
      var runs = slot.querySelectorAll(".run");
      if (!runs.length) { return; }
      var finished = Array.prototype.every.call(runs, function (r) {
        return r.classList.contains("succeeded") || r.classList.contains("failed");
      });
      var anyOk = slot.querySelector(".run.succeeded") !== null;
      if (finished && anyOk && !scheduled) {
        scheduled = true;
        slot.setAttribute("data-state", "reloading");
        window.setTimeout(function () { window.location.reload(); }, RELOAD_DELAY_MS);
      }
    });
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.target;
    if (target && target.closest && target.closest("[data-reload-when-done]")) { check(); }
  });
})();
