// Interactive hourly charts for the console (uPlot, vendored under /static/vendor/).
// Data comes from each chart's data-chart attribute (JSON the server escaped); nothing here is
// inline or evaluated, so the page's CSP stays script-src 'self'. Hover shows the hour's values
// in the legend, dragging across the plot zooms in, double-click resets, clicking a legend
// entry hides its series. Without script the <noscript> SVG bars are shown instead.
"use strict";

(function () {
  var COLOURS = ["#c0392b", "#4a78a8", "#3a6b35", "#8e44ad"];
  var FILLS = ["rgba(192,57,43,.18)", "rgba(74,120,168,.18)", "rgba(58,107,53,.18)", "rgba(142,68,173,.18)"];

  function checked(raw) {
    // The attribute is parsed, never evaluated, and its shape checked before use.
    var data = JSON.parse(raw);
    if (!data || !Array.isArray(data.x) || !Array.isArray(data.series)) {
      throw new Error("chart data has no x or series");
    }
    data.series.forEach(function (s) {
      if (typeof s.label !== "string" || !Array.isArray(s.values) || s.values.length !== data.x.length) {
        throw new Error("chart series does not match its x values");
      }
    });
    return data;
  }

  function draw(host) {
    var data = checked(host.getAttribute("data-chart"));
    var series = [{ label: "hour (UTC)", value: "{YYYY}-{MM}-{DD} {HH}:00" }];
    var columns = [data.x];
    data.series.forEach(function (s, i) {
      series.push({
        label: s.label,
        stroke: COLOURS[i % COLOURS.length],
        fill: FILLS[i % FILLS.length],
        width: 1,
        // Bars, not lines: hours without traffic are absent, and a line would invent them.
        paths: uPlot.paths.bars({ size: [0.8, 12], gap: 1 }),
        points: { show: false },
      });
      columns.push(s.values);
    });
    var opts = {
      title: host.getAttribute("data-label") || "",
      width: Math.max(host.clientWidth, 320),
      height: 220,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      axes: [{}, { label: "requests / hour", size: 60 }],
      series: series,
    };
    var plot = new uPlot(opts, columns, host);
    host.setAttribute("data-drawn", "uplot");
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(host.clientWidth, 320), height: 220 });
    });
  }

  function start() {
    if (typeof uPlot === "undefined") {
      return;
    }
    document.querySelectorAll("[data-chart]").forEach(function (host) {
      try {
        draw(host);
      } catch (err) {
        host.textContent = "chart unavailable: " + err.message;
        host.className += " chart-error";
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
