// Vigil web UI: partial page updates (htmx-style: a form or link marked data-partial fetches the server-rendered
// fragment and swaps it into its data-target) and the charts (uPlot). No inline script anywhere: the page's
// Content-Security-Policy allows scripts from this server only, and chart data arrives as JSON in
// <script type="application/json"> blocks, read with JSON.parse, never evaluated.
(function () {
  "use strict";

  // The newest request per target: two filter changes in a row send two requests, and their answers may come back
  // in either order. Only the newest one's may be shown, or the page would show the older filter's findings under
  // the newer filter's form.
  var newest = {};

  function load(url, targetId) {
    var target = document.getElementById(targetId);
    if (!target) { window.location.assign(url); return; }
    var seq = (newest[targetId] || 0) + 1;
    newest[targetId] = seq;
    target.setAttribute("aria-busy", "true");
    fetch(url, { headers: { "X-Partial": "1" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        if (newest[targetId] !== seq) { return; } // superseded while it was on its way
        target.innerHTML = html; // a fragment rendered by the server, every value escaped by Jinja2
        target.removeAttribute("aria-busy");
        history.replaceState(null, "", url);
        bind(target);
      })
      .catch(function () { if (newest[targetId] === seq) { window.location.assign(url); } });
  }

  function formUrl(form) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (v, k) { if (v !== "") { params.append(k, v); } });
    var action = form.getAttribute("action") || window.location.pathname;
    var q = params.toString();
    return action + (q ? "?" + q : "");
  }

  function bind(root) {
    root.querySelectorAll("form[data-partial]").forEach(function (form) {
      form.addEventListener("submit", function (e) { e.preventDefault(); load(formUrl(form), form.dataset.target); });
      form.querySelectorAll("select, input[type=checkbox]").forEach(function (el) {
        el.addEventListener("change", function () { load(formUrl(form), form.dataset.target); });
      });
    });
    root.querySelectorAll("a[data-partial]").forEach(function (a) {
      a.addEventListener("click", function (e) { e.preventDefault(); load(a.getAttribute("href"), a.dataset.target); });
    });
    root.querySelectorAll("[data-chart]").forEach(chart);
  }

  function chart(el) {
    if (el.dataset.drawn || typeof uPlot === "undefined") { return; }
    var src = document.getElementById(el.dataset.chart);
    if (!src) { return; }
    var d = JSON.parse(src.textContent);
    var series = [{}];
    var data = [d.x];
    d.series.forEach(function (s) {
      series.push({ label: s.label, stroke: s.color, fill: d.fill ? s.color + "99" : undefined, width: 2 });
      data.push(s.values);
    });
    var width = Math.max(300, el.clientWidth || 600);
    new uPlot({ width: width, height: 220, series: series, axes: [{}, { size: 50 }],
                legend: { show: true } }, data, el);
    el.dataset.drawn = "1";
  }

  document.addEventListener("DOMContentLoaded", function () { bind(document); });
})();
