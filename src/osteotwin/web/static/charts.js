// Draws every element with a data-figure attribute (a Plotly figure spec rendered by the server)
// and wires the projection page's regimen toggles. No inline scripts: the CSP forbids them.
"use strict";
(function () {
  function selectedRegimens() {
    const boxes = document.querySelectorAll(".regimen-toggle");
    if (!boxes.length) return null;
    const on = new Set();
    boxes.forEach(function (box) { if (box.checked) on.add(box.value); });
    return on;
  }
  function applyToggles() {
    const on = selectedRegimens();
    if (on === null) return;
    document.querySelectorAll(".projection-chart").forEach(function (el) {
      if (!el.data) return;
      const visible = el.data.map(function (trace) { return trace.meta && !on.has(trace.meta) ? false : true; });
      Plotly.restyle(el, { visible: visible });
    });
    document.querySelectorAll("#projection-table tr[data-regimen]").forEach(function (row) {
      row.classList.toggle("dim", !on.has(row.dataset.regimen));
    });
    document.body.dataset.visibleRegimens = Array.from(on).sort().join(",");
  }
  function draw() {
    const charts = document.querySelectorAll("[data-figure]");
    const jobs = [];
    charts.forEach(function (el) {
      const figure = JSON.parse(el.dataset.figure);
      jobs.push(Plotly.newPlot(el, figure.data, figure.layout, { responsive: true, displaylogo: false }));
    });
    Promise.all(jobs).then(function () {
      applyToggles();
      document.body.dataset.chartsReady = "1";
    });
    document.querySelectorAll(".regimen-toggle").forEach(function (box) {
      box.addEventListener("change", applyToggles);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
