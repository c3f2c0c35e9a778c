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
  // A page whose slow parts (lifestyle plan, personal twin) are still computing in the background marks itself
  // with data-pending; reload it a few times until they are ready (at most 20 tries, 1.5 s apart).
  let leaving = false;  // a link was followed: never reload this page over the next one
  window.addEventListener("beforeunload", function () { leaving = true; });
  function reloadWhilePending() {
    if (!document.querySelector("[data-pending]")) { sessionStorage.removeItem("pending:" + location.pathname); return; }
    const key = "pending:" + location.pathname;
    const tries = Number(sessionStorage.getItem(key) || "0");
    if (tries >= 20) return;
    setTimeout(function () {
      if (leaving) return;
      // never reload under someone typing: wait while a form field has focus or a form is open
      const active = document.activeElement;
      if ((active && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) || document.querySelector("details[open] form")) {
        reloadWhilePending();
        return;
      }
      sessionStorage.setItem(key, String(tries + 1));
      location.reload();
    }, 1500);
  }
  function start() { draw(); reloadWhilePending(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
