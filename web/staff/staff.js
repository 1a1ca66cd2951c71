/* Draws every chart of a page from its JSON data block (no inline script: the CSP forbids it). */
(function () {
  "use strict";
  var PALETTE = ["#1f5fa8", "#e07b24", "#2e9d5b", "#c23b4e", "#7b5ab6", "#8c6d31", "#d46aa8", "#5b8f96"];
  var numberFormat = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 1 });

  function colour(index) { return PALETTE[index % PALETTE.length]; }

  function draw(canvas) {
    var block = document.getElementById(canvas.getAttribute("data-chart"));
    if (!block) { return; }
    var spec = JSON.parse(block.textContent);
    var doughnut = spec.kind === "doughnut";
    var datasets = spec.datasets.map(function (set, index) {
      var fill = doughnut ? spec.labels.map(function (_, i) { return colour(i); }) : colour(index);
      return {
        label: set.label,
        data: set.data,
        backgroundColor: fill,
        borderColor: doughnut ? "#fff" : colour(index),
        borderWidth: spec.kind === "line" ? 2 : 1,
        spanGaps: true,
        tension: 0,
        pointRadius: spec.labels.length > 40 ? 0 : 3
      };
    });
    var suffix = spec.percent ? " %" : (spec.unit ? " " + spec.unit : "");
    var valueAxis = {
      beginAtZero: true,
      stacked: spec.stacked,
      ticks: { precision: 0, callback: function (value) { return numberFormat.format(value) + suffix; } }
    };
    // Every bar carries its name: no skipped labels; a horizontal chart grows with its rows
    // (a line chart of days may skip dates).
    var bars = spec.kind === "bar";
    var categoryAxis = { stacked: spec.stacked, ticks: { autoSkip: !bars, maxRotation: bars ? 60 : 0 } };
    if (bars && spec.horizontal) {
      var perRow = spec.stacked ? 26 : 14 * spec.datasets.length + 12;
      canvas.parentNode.style.height = Math.max(220, spec.labels.length * perRow + 90) + "px";
    }
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      locale: "vi-VN",
      indexAxis: spec.horizontal ? "y" : "x",
      plugins: {
        legend: { display: doughnut || spec.datasets.length > 1, position: "bottom" },
        tooltip: {
          callbacks: {
            title: function (items) {
              var index = items.length ? items[0].dataIndex : -1;
              return spec.titles && index >= 0 ? spec.titles[index] : "";
            },
            label: function (context) {
              var value = doughnut ? context.parsed : (spec.horizontal ? context.parsed.x : context.parsed.y);
              return (context.dataset.label ? context.dataset.label + ": " : "") +
                (value === null || value === undefined ? "—" : numberFormat.format(value) + suffix);
            }
          }
        }
      }
    };
    if (!doughnut) {
      options.scales = spec.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis };
    }
    canvas.chart = new window.Chart(canvas, { type: spec.kind, data: { labels: spec.labels, datasets: datasets }, options: options });
  }

  function start() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    if (!window.Chart) { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
