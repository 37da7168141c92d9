// Draws the report's figures as SVG from the JSON in #report-data; no libraries, no network.
// Every drawn data element has class "datum" and a tooltip text in data-tip; legend entries toggle a series.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#3b6ea8", "#e07b39", "#4f9a5c", "#b04a5a", "#7a62a8", "#8c6d46", "#c768a8", "#6c6c6c"];
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var tip = document.getElementById("tooltip");

  function el(name, attrs, parent, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function html(name, cls, parent, text) {
    var node = document.createElement(name);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function fmt(value) {
    if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
    if (Number.isInteger(value)) return String(value);
    return value.toPrecision(3);
  }
  function pct(value) { return (100 * value).toFixed(1) + "%"; }
  function svgBox(parent, width, height) {
    return el("svg", {viewBox: "0 0 " + width + " " + height, width: width, height: height, role: "img"}, parent);
  }
  function niceMax(value) {
    if (!(value > 0)) return 1;
    var power = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= value) return steps[i] * power;
    return 10 * power;
  }
  function yAxis(svg, box, max, label, asPercent) {
    for (var i = 0; i <= 4; i++) {
      var value = max * i / 4, y = box.bottom - (box.bottom - box.top) * i / 4;
      el("line", {x1: box.left, x2: box.right, y1: y, y2: y, "class": "grid"}, svg);
      el("text", {x: box.left - 6, y: y + 4, "text-anchor": "end", "class": "tick"}, svg, asPercent ? pct(value) : fmt(value));
    }
    el("text", {x: 14, y: (box.top + box.bottom) / 2, transform: "rotate(-90 14 " + (box.top + box.bottom) / 2 + ")",
      "text-anchor": "middle", "class": "axis-label"}, svg, label);
  }
  function xLabel(svg, box, label) {
    el("text", {x: (box.left + box.right) / 2, y: box.bottom + 78, "text-anchor": "middle", "class": "axis-label"}, svg, label);
  }
  function legend(container, names) {
    if (names.length < 2) return;
    var list = html("div", "legend", container);
    names.forEach(function (name, i) {
      var item = html("button", "legend-item", list);
      item.type = "button";
      var swatch = html("span", "swatch", item);
      swatch.style.background = COLORS[i % COLORS.length];
      html("span", "", item, name);
      item.addEventListener("click", function () {
        item.classList.toggle("off");
        container.querySelectorAll('[data-series="' + i + '"]').forEach(function (node) {
          node.classList.toggle("hidden");
        });
      });
    });
  }

  function histogram(container, fig) {
    var width = 760, height = 340, box = {left: 64, right: 744, top: 14, bottom: 256};
    var shares = fig.series.map(function (s) {
      return s.counts.map(function (c) { return s.total ? c / s.total : 0; });
    });
    var max = niceMax(Math.max.apply(null, shares.map(function (row) { return Math.max.apply(null, row); })));
    var svg = svgBox(container, width, height);
    yAxis(svg, box, max, "share", true);
    var slot = (box.right - box.left) / fig.labels.length, bar = slot * 0.84 / fig.series.length;
    var every = Math.max(1, Math.ceil(fig.labels.length / 12));
    fig.labels.forEach(function (label, b) {
      var x0 = box.left + b * slot + slot * 0.08;
      if (b % every === 0) {
        var tx = box.left + (b + 0.5) * slot;
        el("text", {x: tx, y: box.bottom + 14, "text-anchor": "end", "class": "tick",
          transform: "rotate(-35 " + tx + " " + (box.bottom + 14) + ")"}, svg, label);
      }
      fig.series.forEach(function (s, i) {
        var h = (box.bottom - box.top) * shares[i][b] / max;
        el("rect", {x: x0 + i * bar, y: box.bottom - h, width: Math.max(bar - 1, 1), height: Math.max(h, 0),
          fill: COLORS[i % COLORS.length], "class": "datum", "data-series": i,
          "data-tip": s.name + " · " + label + ": " + fmt(s.counts[b]) + " (" + pct(shares[i][b]) + ")"}, svg);
      });
    });
    el("line", {x1: box.left, x2: box.right, y1: box.bottom, y2: box.bottom, "class": "axis"}, svg);
    xLabel(svg, box, fig.x_label);
    legend(container, fig.series.map(function (s) { return s.name + " (n=" + fmt(s.total) + ")"; }));
  }

  function line(container, fig) {
    var width = 760, height = 320, box = {left: 70, right: 744, top: 14, bottom: 260};
    var xs = [], ys = [];
    fig.series.forEach(function (s) { s.points.forEach(function (p) { xs.push(p[0]); ys.push(p[1]); }); });
    var xmin = Math.min.apply(null, xs), xmax = Math.max.apply(null, xs);
    if (xmax === xmin) { xmin -= 1; xmax += 1; }
    var ymax = niceMax(Math.max.apply(null, ys));
    var svg = svgBox(container, width, height);
    yAxis(svg, box, ymax, fig.y_label, false);
    function sx(v) { return box.left + (box.right - box.left) * (v - xmin) / (xmax - xmin); }
    function sy(v) { return box.bottom - (box.bottom - box.top) * v / ymax; }
    var integers = xs.every(Number.isInteger), ticks = [];
    for (var i = 0; i <= 4; i++) {
      var value = xmin + (xmax - xmin) * i / 4;
      value = integers ? Math.round(value) : value;  // batches and pool sizes are whole numbers
      if (ticks.indexOf(value) < 0 && value >= xmin && value <= xmax) ticks.push(value);
    }
    ticks.forEach(function (value) {
      el("text", {x: sx(value), y: box.bottom + 18, "text-anchor": "middle", "class": "tick"}, svg, fmt(value));
    });
    el("line", {x1: box.left, x2: box.right, y1: box.bottom, y2: box.bottom, "class": "axis"}, svg);
    fig.series.forEach(function (s, i) {
      var color = COLORS[i % COLORS.length];
      el("polyline", {points: s.points.map(function (p) { return sx(p[0]) + "," + sy(p[1]); }).join(" "),
        fill: "none", stroke: color, "stroke-width": 1.5, "data-series": i}, svg);
      s.points.forEach(function (p) {
        el("circle", {cx: sx(p[0]), cy: sy(p[1]), r: 3.5, fill: color, "class": "datum", "data-series": i,
          "data-tip": s.name + " · " + fig.x_label + " " + fmt(p[0]) + ": " + fmt(p[1])}, svg);
      });
    });
    xLabel(svg, {left: box.left, right: box.right, bottom: box.bottom - 40}, fig.x_label);
    legend(container, fig.series.map(function (s) { return s.name; }));
  }

  function arc(cx, cy, r0, r1, a0, a1) {
    var large = a1 - a0 > Math.PI ? 1 : 0;
    function pt(r, a) { return (cx + r * Math.sin(a)).toFixed(2) + " " + (cy - r * Math.cos(a)).toFixed(2); }
    return "M" + pt(r1, a0) + " A" + r1 + " " + r1 + " 0 " + large + " 1 " + pt(r1, a1) +
      " L" + pt(r0, a1) + " A" + r0 + " " + r0 + " 0 " + large + " 0 " + pt(r0, a0) + " Z";
  }
  function radialText(svg, cx, cy, r, angle, text, cls) {
    var deg = angle * 180 / Math.PI - 90, flip = deg > 90;
    var x = cx + r * Math.sin(angle), y = cy - r * Math.cos(angle);
    el("text", {x: x, y: y, "text-anchor": "middle", "dominant-baseline": "middle", "class": cls,
      transform: "rotate(" + (flip ? deg - 180 : deg) + " " + x + " " + y + ")"}, svg, text);
  }
  function sunburst(container, fig) {
    var size = 500, cx = size / 2, cy = size / 2, r0 = 62, r1 = 148, r2 = 244;
    var svg = svgBox(container, size, size);
    var total = fig.verbs.reduce(function (sum, v) { return sum + v.count; }, 0);
    var angle = 0;
    fig.verbs.forEach(function (verb, i) {
      var span = 2 * Math.PI * verb.count / total, color = COLORS[i % COLORS.length];
      el("path", {d: arc(cx, cy, r0, r1, angle, angle + span), fill: color, "class": "datum",
        "data-tip": verb.name + ": " + fmt(verb.count) + " instructions (" + pct(verb.count / fig.pairs) + " of verb–noun pairs)"}, svg);
      if (span > 0.1) radialText(svg, cx, cy, (r0 + r1) / 2, angle + span / 2, verb.name, "ring-label");
      var inner = angle;
      verb.nouns.forEach(function (noun) {
        var part = span * noun.count / verb.count;
        el("path", {d: arc(cx, cy, r1 + 2, r2, inner, inner + part), fill: color, "fill-opacity": 0.55, "class": "datum",
          "data-tip": verb.name + " " + noun.name + ": " + fmt(noun.count) + " (" + pct(noun.count / fig.pairs) + ")"}, svg);
        if (part > 0.045) radialText(svg, cx, cy, (r1 + r2) / 2, inner + part / 2, noun.name, "ring-label small");
        inner += part;
      });
      angle += span;
    });
    el("text", {x: cx, y: cy - 6, "text-anchor": "middle", "class": "center-label"}, svg, fmt(fig.pairs));
    el("text", {x: cx, y: cy + 12, "text-anchor": "middle", "class": "tick"}, svg, "verb–noun pairs");
    html("p", "caption", container, fmt(fig.pairs) + " of " + fmt(fig.parsed) + " parsed instructions (" +
      pct(fig.pairs / fig.parsed) + ") start with a verb and its direct object; inner ring: the 20 commonest verbs, " +
      "outer ring: their 4 commonest nouns. Parser: " + fig.model + ".");
  }

  function funnel(container, fig) {
    fig.steps.forEach(function (step) {
      html("h4", "", container, step.step);
      var rows = [];
      if (step.candidates !== null) rows.push({label: "candidates", value: step.candidates, cls: "cand"});
      step.reasons.forEach(function (r) { rows.push({label: "dropped: " + r.reason, value: r.count, cls: "drop"}); });
      if (step.kept !== null) rows.push({label: "kept", value: step.kept, cls: "kept"});
      var width = 760, rowH = 26, height = rows.length * rowH + 8;
      var max = Math.max.apply(null, rows.map(function (r) { return r.value; })) || 1;
      var svg = svgBox(container, width, height), mid = 250 + (width - 250) / 2, span = width - 260;
      rows.forEach(function (r, i) {
        var w = Math.max(span * r.value / max, 2), y = 4 + i * rowH;
        el("text", {x: 240, y: y + rowH / 2 + 1, "text-anchor": "end", "dominant-baseline": "middle", "class": "tick"}, svg, r.label);
        el("rect", {x: mid - w / 2, y: y + 2, width: w, height: rowH - 6, "class": "datum funnel-" + r.cls,
          "data-tip": step.step + " · " + r.label + ": " + fmt(r.value) +
            (step.candidates ? " (" + pct(r.value / step.candidates) + " of candidates)" : "")}, svg);
        el("text", {x: mid, y: y + rowH / 2 + 1, "text-anchor": "middle", "dominant-baseline": "middle", "class": "bar-label"}, svg, fmt(r.value));
      });
      step.reasons.forEach(function (r) {
        if (!r.examples.length) return;
        var details = html("details", "examples", container);
        html("summary", "", details, "Examples dropped as " + r.reason + " (" + fmt(r.count) + ")");
        var list = html("ul", "", details);
        r.examples.forEach(function (ex) {
          var item = html("li", "", list);
          html("span", "example-text", item, ex.text);
          if (ex.most_similar !== null) {
            html("span", "similar", item, " — ROUGE-L " + (ex.score === null ? "?" : ex.score.toFixed(3)) + " to: " + ex.most_similar);
          }
        });
      });
    });
  }

  var RENDER = {histogram: histogram, line: line, sunburst: sunburst, funnel: funnel};
  data.figures.forEach(function (fig) {
    var container = document.querySelector('figure[data-figure="' + fig.id + '"] .plot');
    if (container) RENDER[fig.kind](container, fig);
  });

  document.addEventListener("mousemove", function (event) {
    var target = event.target.closest ? event.target.closest("[data-tip]") : null;
    if (!target) { tip.hidden = true; return; }
    tip.textContent = target.getAttribute("data-tip");
    tip.hidden = false;
    tip.style.left = Math.min(event.pageX + 12, document.documentElement.scrollWidth - 320) + "px";
    tip.style.top = (event.pageY + 14) + "px";
  });
  document.body.setAttribute("data-rendered", "ok");
})();
