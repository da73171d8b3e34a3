// custguard's small amount of page behaviour. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  // htmx requests carry the CSRF token.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = document.body.dataset.csrfToken;
  });

  // <select class="js-autosubmit"> submits its form on change (language switch, filters).
  document.addEventListener("change", function (event) {
    if (event.target.matches(".js-autosubmit")) event.target.form.requestSubmit();
  });

  // <input type="checkbox" data-select-all="NAME"> ticks every checkbox NAME of its form
  // (a list's "select all" for a bulk action).
  document.addEventListener("change", function (event) {
    var name = event.target.dataset ? event.target.dataset.selectAll : "";
    if (!name || !event.target.form) return;
    Array.prototype.forEach.call(event.target.form.elements, function (el) {
      if (el.type === "checkbox" && el.name === name) el.checked = event.target.checked;
    });
  });

  // Buttons and forms with data-confirm ask before a destructive action.
  document.addEventListener("submit", function (event) {
    var message = event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);

  // Charts: <div class="chart" data-chart="ID"> reads its ECharts option from the
  // <script type="application/json" id="ID"> produced by Django's json_script.
  function renderCharts(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source || el.dataset.rendered) return;
      var chart = window.echarts.init(el);
      chart.setOption(JSON.parse(source.textContent));
      el.dataset.rendered = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { renderCharts(document); });
  document.addEventListener("htmx:afterSwap", function (event) { renderCharts(event.target); });
})();
