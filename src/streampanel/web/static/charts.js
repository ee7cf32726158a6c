/* Small inline-SVG charts for the panel: line charts (one series per name) and horizontal
   bar charts.  Every plotted value is kept on its mark as data-value (and in a <title>),
   so what is drawn can be read back exactly. */
"use strict";

const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#2457c5", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#0b7285", "#e67700", "#495057"];

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, content, attrs) {
    const node = el("text", Object.assign({ x, y }, attrs || {}), parent);
    node.textContent = content;
    return node;
  }

  function niceMax(value) {
    if (value <= 0) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (step * power >= value) return step * power;
    }
    return 10 * power;
  }

  function legend(container, names) {
    const box = document.createElement("div");
    box.className = "legend";
    names.forEach((name, i) => {
      const item = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.className = "swatch c" + (i % PALETTE.length);
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(name));
      box.appendChild(item);
    });
    container.appendChild(box);
  }

  /* series: [{name, points: [{x: "label", y: number}]}]; xs: every x label in order. */
  function line(container, series, xs, format, options) {
    container.textContent = "";
    const opts = Object.assign({ width: 900, height: 240, markers: true }, options || {});
    const pad = { left: 80, right: 16, top: 12, bottom: 28 };
    const svg = el("svg", {
      viewBox: `0 0 ${opts.width} ${opts.height}`, role: "img", class: "line-chart",
      "aria-label": opts.label || "chart",
    });
    const plotW = opts.width - pad.left - pad.right;
    const plotH = opts.height - pad.top - pad.bottom;
    let max = 0;
    series.forEach((s) => s.points.forEach((p) => { if (p.y > max) max = p.y; }));
    max = niceMax(max);
    const xIndex = new Map(xs.map((x, i) => [x, i]));
    const px = (x) => pad.left + (xs.length > 1 ? (xIndex.get(x) / (xs.length - 1)) * plotW : plotW / 2);
    const py = (y) => pad.top + plotH - (y / max) * plotH;
    const grid = el("g", { class: "grid" }, svg);
    for (let i = 0; i <= 4; i++) {
      const value = (max * i) / 4;
      const y = py(value);
      el("line", { x1: pad.left, x2: opts.width - pad.right, y1: y, y2: y }, grid);
      text(grid, pad.left - 6, y + 4, format(value), { "text-anchor": "end", class: "tick" });
    }
    const labelEvery = Math.max(1, Math.ceil(xs.length / 8));
    xs.forEach((x, i) => {
      // Every labelEvery-th label, and the last one unless it would touch its neighbour.
      const last = i === xs.length - 1;
      if ((i % labelEvery === 0 && xs.length - 1 - i >= labelEvery / 2) || last) {
        // The end labels align inwards so that they are not clipped by the frame.
        const anchor = i === 0 ? "start" : last ? "end" : "middle";
        text(grid, px(x), opts.height - 8, opts.xLabel ? opts.xLabel(x) : x, { "text-anchor": anchor, class: "tick" });
      }
    });
    series.forEach((s, i) => {
      const group = el("g", { class: "series c" + (i % PALETTE.length), "data-series": s.name }, svg);
      const path = s.points.map((p, j) => `${j ? "L" : "M"}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join("");
      el("path", { d: path, fill: "none", stroke: PALETTE[i % PALETTE.length], "stroke-width": 2 }, group);
      s.points.forEach((p) => {
        const dot = el("circle", {
          cx: px(p.x).toFixed(1), cy: py(p.y).toFixed(1), r: opts.markers ? 3 : 1.2,
          fill: PALETTE[i % PALETTE.length], "data-x": p.x, "data-value": p.y,
        }, group);
        el("title", {}, dot).textContent = `${s.name} ${p.x}: ${format(p.y)}`;
      });
    });
    container.appendChild(svg);
    legend(container, series.map((s) => s.name));
  }

  /* items: [{label, value}] drawn as horizontal bars with their value printed. */
  function bars(container, items, format, options) {
    container.textContent = "";
    const opts = Object.assign({ width: 900, row: 26 }, options || {});
    const pad = { left: 220, right: 110, top: 6, bottom: 6 };
    const height = pad.top + pad.bottom + Math.max(1, items.length) * opts.row;
    const svg = el("svg", { viewBox: `0 0 ${opts.width} ${height}`, role: "img", class: "bar-chart", "aria-label": opts.label || "chart" });
    const max = Math.max(1, ...items.map((item) => item.value));
    const plotW = opts.width - pad.left - pad.right;
    items.forEach((item, i) => {
      const y = pad.top + i * opts.row;
      const group = el("g", { class: "bar", "data-label": item.label, "data-value": item.value }, svg);
      text(group, pad.left - 8, y + opts.row * 0.65, item.label, { "text-anchor": "end", class: "label" });
      const w = Math.max(1, (item.value / max) * plotW);
      el("rect", { x: pad.left, y: y + 4, width: w.toFixed(1), height: opts.row - 8, rx: 3, fill: PALETTE[i % PALETTE.length] }, group);
      text(group, pad.left + w + 6, y + opts.row * 0.65, format(item.value), { class: "value" });
    });
    if (!items.length) text(svg, opts.width / 2, height / 2 + 4, "nothing to show", { "text-anchor": "middle", class: "tick" });
    container.appendChild(svg);
  }

  return { line, bars, PALETTE };
})();
