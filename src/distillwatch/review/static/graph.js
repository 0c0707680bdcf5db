// The campaign page's link graph: zoom, pan, a filter by link kind and hover details over the
// SVG the server drew (review/graph.py lays it out; every account id and kind in it was escaped
// by the server and is only ever read back here as text). Nothing is inline or evaluated, so
// the page's CSP stays script-src 'self'. Without script the SVG, its <title> tooltips and the
// table of links remain.
"use strict";

(function () {
  function wire(figure) {
    var svg = figure.querySelector("svg.linkgraph");
    var info = figure.querySelector(".graph-info");
    var lines = Array.prototype.slice.call(svg.querySelectorAll("line.e"));
    var nodes = Array.prototype.slice.call(svg.querySelectorAll("[data-node]"));
    var linesOf = nodes.map(function () { return []; });
    lines.forEach(function (line) {
      var a = Number(line.getAttribute("data-a"));
      var b = Number(line.getAttribute("data-b"));
      if (linesOf[a] && linesOf[b]) {
        linesOf[a].push(line);
        linesOf[b].push(line);
      }
    });

    function told(el) {
      // What the server wrote in the element's <title>, read back as text.
      var title = el.querySelector("title");
      return title ? title.textContent : "";
    }

    function clear() {
      svg.classList.remove("focusing");
      svg.querySelectorAll(".hot").forEach(function (el) { el.classList.remove("hot"); });
      info.textContent = "";
    }

    function focusNode(index) {
      clear();
      svg.classList.add("focusing");
      nodes[index].querySelector("circle").classList.add("hot");
      linesOf[index].forEach(function (line) {
        line.classList.add("hot");
        [line.getAttribute("data-a"), line.getAttribute("data-b")].forEach(function (other) {
          nodes[Number(other)].querySelector("circle").classList.add("hot");
        });
      });
      info.textContent = told(nodes[index]);
    }

    nodes.forEach(function (node, index) {
      node.addEventListener("mouseenter", function () { focusNode(index); });
      node.addEventListener("focus", function () { focusNode(index); });
      node.addEventListener("mouseleave", clear);
      node.addEventListener("blur", clear);
    });
    lines.forEach(function (line) {
      line.addEventListener("mouseenter", function () {
        clear();
        line.classList.add("hot");
        info.textContent = told(line);
      });
      line.addEventListener("mouseleave", clear);
    });

    // Filter: a link is hidden when every kind it has is unticked.
    var boxes = Array.prototype.slice.call(figure.querySelectorAll(".legend-item input"));
    function filter() {
      var shown = {};
      boxes.forEach(function (box) { shown[box.value] = box.checked; });
      lines.forEach(function (line) {
        var kinds = line.getAttribute("data-kinds").split(" ");
        line.classList.toggle("off", !kinds.some(function (k) { return shown[k]; }));
      });
    }
    boxes.forEach(function (box) {
      box.hidden = false;
      box.addEventListener("change", filter);
    });

    // Zoom and pan move the viewBox; strokes keep their width (non-scaling-stroke).
    var base = svg.getAttribute("viewBox").split(" ").map(Number);
    var box = base.slice();
    function show() { svg.setAttribute("viewBox", box.join(" ")); }
    function zoom(factor, cx, cy) {
      var w = Math.min(Math.max(box[2] * factor, base[2] / 40), base[2] * 2);
      var f = w / box[2];
      box = [cx - (cx - box[0]) * f, cy - (cy - box[1]) * f, w, box[3] * f];
      show();
    }
    function toSvg(evt) {
      var rect = svg.getBoundingClientRect();
      return [
        box[0] + (evt.clientX - rect.left) / rect.width * box[2],
        box[1] + (evt.clientY - rect.top) / rect.height * box[3],
      ];
    }
    svg.addEventListener("wheel", function (evt) {
      evt.preventDefault();
      var at = toSvg(evt);
      zoom(evt.deltaY > 0 ? 1.25 : 0.8, at[0], at[1]);
    }, { passive: false });
    svg.addEventListener("dblclick", function (evt) {
      evt.preventDefault();
      box = base.slice();
      show();
    });
    var drag = null;
    var dragged = false;
    svg.addEventListener("pointerdown", function (evt) {
      drag = { x: evt.clientX, y: evt.clientY, box: box.slice() };
      dragged = false;
    });
    svg.addEventListener("pointermove", function (evt) {
      if (!drag) { return; }
      var dx = evt.clientX - drag.x;
      var dy = evt.clientY - drag.y;
      if (!dragged && Math.abs(dx) + Math.abs(dy) < 4) { return; }
      if (!dragged) {
        dragged = true;
        svg.classList.add("panning");
        svg.setPointerCapture(evt.pointerId);
      }
      var rect = svg.getBoundingClientRect();
      box = [drag.box[0] - dx / rect.width * box[2], drag.box[1] - dy / rect.height * box[3], box[2], box[3]];
      show();
    });
    function stop() {
      drag = null;
      svg.classList.remove("panning");
    }
    svg.addEventListener("pointerup", stop);
    svg.addEventListener("pointercancel", stop);
    // A drag that ends on an account is a pan, not a visit to the account's page.
    svg.addEventListener("click", function (evt) {
      if (dragged) {
        evt.preventDefault();
        dragged = false;
      }
    }, true);
    figure.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        var how = button.getAttribute("data-zoom");
        if (how === "reset") {
          box = base.slice();
          show();
          return;
        }
        zoom(how === "in" ? 0.8 : 1.25, box[0] + box[2] / 2, box[1] + box[3] / 2);
      });
    });
    figure.querySelectorAll(".graph-zoom, .graph-help").forEach(function (el) { el.hidden = false; });
    figure.setAttribute("data-drawn", "graph");
  }

  function start() {
    document.querySelectorAll("figure[data-graph]").forEach(function (figure) {
      try {
        wire(figure);
      } catch (err) {
        var note = figure.querySelector(".graph-info");
        if (note) {
          note.textContent = "graph controls unavailable: " + err.message;
        }
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
