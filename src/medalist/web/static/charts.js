// Draws every <figure data-chart> from the JSON in its <script type="application/json">,
// with uPlot (static/vendor, MIT): a time axis that picks its own ticks for a day or for
// 90 days, a value axis labelled with its unit. Charts resize with their figure.
(function () {
  "use strict";
  var COLORS = {
    SUCCEEDED: "#2e7d32", WARN: "#ef6c00", FAILED: "#c62828", RUNNING: "#1565c0",
  };
  var charts = [];
  window.medalistCharts = charts;

  function unitFormat(unit) {
    return function (u, values) {
      return values.map(function (v) {
        if (v == null) return "";
        var n = Math.abs(v) >= 1e6 ? (v / 1e6).toLocaleString() + "M"
          : Math.abs(v) >= 1e4 ? (v / 1e3).toLocaleString() + "k" : v.toLocaleString();
        return unit === "%" ? n + "%" : unit ? n + " " + unit : n;
      });
    };
  }

  function draw(figure) {
    var spec = JSON.parse(figure.querySelector("script").textContent);
    var holder = figure.querySelector(".plot");
    var width = Math.max(holder.clientWidth, 200);
    var bars = uPlot.paths.bars({ size: [0.8, 48] });
    var series = [{}];
    spec.series.forEach(function (s) {
      series.push({
        label: s.label,
        stroke: COLORS[s.label] || "#37474f",
        fill: (COLORS[s.label] || "#546e7a") + "cc",
        width: 1,
        paths: spec.kind === "bars" ? bars : undefined,
        points: { show: spec.kind !== "bars" },
        value: function (u, v, si, i) {  // the series' own value, not the stacked sum
          var own = i == null ? v : spec.series[si - 1].values[i];
          return own == null ? "–" : own.toLocaleString() + (spec.unit === "%" ? "%" : spec.unit ? " " + spec.unit : "");
        },
      });
    });
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values.slice(); }));
    if (spec.stacked) {  // uPlot draws series over each other: stack by adding up
      for (var i = data.length - 2; i >= 1; i--) {
        for (var j = 0; j < spec.x.length; j++) {
          for (var k = i + 1; k < data.length; k++) data[i][j] += data[k][j];
        }
      }
    }
    var yScale = { range: function (u, min, max) {
      if (spec.max != null) return [0, spec.max];  // a share: always 0 to 100 %
      return [0, uPlot.rangeNum(0, Math.max(max, 1), 0.1, true)[1]];
    } };
    var opts = {
      width: width,
      height: 200,
      series: series,
      scales: { x: { time: true, range: [spec.from, spec.to] }, y: yScale },
      axes: [
        { label: spec.x_label, size: 44 },
        {
          label: spec.y_label, values: unitFormat(spec.unit), size: 60,
          incrs: spec.integer ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4,
            5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 1e8, 1e9] : undefined,
        },
      ],
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
    };
    var chart = new uPlot(opts, data, holder);
    chart.medalist = spec;
    charts.push(chart);
    new ResizeObserver(function () {
      var w = Math.max(holder.clientWidth, 200);
      if (w !== chart.width) chart.setSize({ width: w, height: 200 });
    }).observe(holder);
  }

  document.querySelectorAll("figure[data-chart]").forEach(draw);
})();
