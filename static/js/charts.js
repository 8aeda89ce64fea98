/* Draws every chart rendered by core/templatetags/charts.py: a <figure class="chart"> holding
 * a <div class="plot"> and its figure JSON in <script type="application/json" class="chart-data">.
 * Runs on page load and on content swapped in by htmx. No inline scripts, so a strict
 * Content-Security-Policy can forbid them. */
(function () {
  "use strict";

  function draw(root) {
    if (typeof window.Plotly === "undefined") { return; }
    var figures = (root || document).querySelectorAll("figure.chart");
    figures.forEach(function (figure) {
      var plot = figure.querySelector(".plot");
      var data = figure.querySelector("script.chart-data");
      if (!plot || !data || plot.dataset.drawn === "1") { return; }
      plot.dataset.drawn = "1";
      var spec = JSON.parse(data.textContent);
      window.Plotly.newPlot(plot, spec.data || [], spec.layout || {}, spec.config || {});
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
