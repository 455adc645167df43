/* The job page's timeline of task attempts (docs/http-api.md#reply-shapes, jobattempts), drawn
 * as SVG in the page: one lane per node slot (attempts of a node packed into the fewest lanes,
 * padded to the node's slots while the job runs, so idle slots show), x = seconds since the job
 * started, one bar per attempt coloured by stage (class stage-<index in the pipeline>), failed
 * and fatal attempts outlined in red and hatched, killed ones dashed, running ones reaching "now".
 * Each bar's tooltip names the task, attempt, node, duration and outcome. Like every page, it
 * puts data into the DOM as text and attribute values only. */
"use strict";

const Timeline = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const LABEL = 130;          // px for the node names
  const LANE = 14;            // px per lane
  const GAP = 2;              // px between lanes
  const NODE_GAP = 8;         // px between nodes
  const AXIS = 22;            // px for the time axis
  const MAX_BARS = 5000;      // bars drawn at most (the first attempts started)
  const MARKED = new Set(["failed", "fatal"]);

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = String(value);
      else if (key === "data") for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) if (child) node.appendChild(child);
    return node;
  }

  function seconds(s) {
    if (s === 0) return "0";
    if (s < 1) return Math.round(s * 1000) + " ms";
    if (s < 60) return (Math.round(s * 100) / 100) + " s";
    const m = Math.floor(s / 60);
    return m + " min " + Math.round(s - 60 * m) + " s";
  }

  /* A tick step giving about `count` ticks over `span` seconds: 1, 2 or 5 times a power of 10. */
  function tickStep(span, count) {
    const raw = span / count;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    return [1, 2, 5, 10].map((f) => f * power).find((step) => step >= raw);
  }

  /* Lanes of each node: {node: [[attempt, ...] per lane]}; an attempt goes to the first lane
   * free at its start (the fewest lanes any schedule of these attempts needs). */
  function lanes(attempts, now) {
    const byNode = new Map();
    const sorted = attempts.slice().sort((a, b) => a[4] - b[4] || a[1] - b[1] || a[2] - b[2]);
    for (const a of sorted) {
      const node = String(a[3]);
      if (!byNode.has(node)) byNode.set(node, {ends: [], lanes: []});
      const entry = byNode.get(node);
      const end = a[5] === null ? now : a[5];
      let lane = entry.ends.findIndex((e) => e <= a[4]);
      if (lane < 0) {
        lane = entry.ends.length;
        entry.ends.push(end);
        entry.lanes.push([]);
      }
      entry.ends[lane] = end;
      entry.lanes[lane].push(a);
    }
    return byNode;
  }

  function create(box, options) {
    const opts = options || {};
    let ended = [];
    let running = [];
    let now = 0;
    let stages = [];
    let slots = {};
    let live = false;

    function stageClass(stage) {
      const i = stages.indexOf(stage);
      return "stage-" + (i < 0 ? "x" : i % 8);
    }

    function bar(a, x, y, scale) {
      const [stage, taskid, attempt, node, start, end, outcome] = a;
      const stop = end === null ? now : end;
      const width = Math.max(1, (stop - start) * scale - 1);     // a gap between bars in a row
      const task = stage + ":" + taskid;
      const title = task + ", attempt " + attempt + " on " + node + "\n" + seconds(stop - start) +
        " (" + seconds(start) + " to " + (end === null ? "now" : seconds(stop)) + ")\n" + outcome;
      const classes = ["attempt", stageClass(stage), String(outcome)];
      if (MARKED.has(outcome)) classes.push("marked");
      const rect = svg("rect", {x: x + start * scale, y: y, width: width, height: LANE,
        class: classes.join(" "), data: {task: task, attempt: attempt, node: node, outcome: outcome}},
        svg("title", {text: title}));
      if (opts.onSelect) rect.addEventListener("click", () => opts.onSelect(task));
      if (!MARKED.has(outcome)) return rect;
      return svg("g", {class: "failedattempt"}, rect,
        svg("rect", {x: x + start * scale, y: y, width: width, height: LANE, class: "failmark"},
          svg("title", {text: title})));
    }

    function render() {
      let all = ended.concat(running);
      const total = all.length;
      const notes = [];
      if (all.length > MAX_BARS) {
        all = all.slice().sort((a, b) => a[4] - b[4]).slice(0, MAX_BARS);
        notes.push("Showing the first " + MAX_BARS + " of " + total + " attempts.");
      }
      if (!all.length) {
        box.replaceChildren(Disco.el("p", {class: "muted", text: live ? "No attempt has started yet." : "No attempts."}));
        return;
      }
      const span = Math.max(now, ...all.map((a) => (a[5] === null ? now : a[5])), 0.001);
      const byNode = lanes(all, now);
      const nodes = [...byNode.keys()].sort();
      const width = Math.max(box.clientWidth || 600, 300);
      const chart = width - LABEL - 10;
      const scale = chart / span;
      const parts = [];
      let y = AXIS;
      for (const node of nodes) {
        const entry = byNode.get(node);
        const count = Math.max(entry.lanes.length, live ? Number(slots[node]) || 0 : 0);
        const height = count * (LANE + GAP) - GAP;
        const group = svg("g", {class: "node", data: {node: node}}, svg("g", {},
          svg("title", {text: node + ": " + count + " lane" + (count === 1 ? "" : "s")}),
          svg("text", {x: 4, y: y + Math.min(height, LANE) - 3, class: "nodename", text: node})));
        for (let i = 0; i < count; i++) {
          const laneY = y + i * (LANE + GAP);
          group.appendChild(svg("rect", {x: LABEL, y: laneY, width: chart, height: LANE, class: "lane"}));
          for (const a of entry.lanes[i] || []) group.appendChild(bar(a, LABEL, laneY, scale));
        }
        parts.push(group);
        y += height + NODE_GAP;
      }
      const axis = svg("g", {class: "axis"});
      const step = tickStep(span, Math.max(2, Math.floor(chart / 90)));
      for (let t = 0; t <= span + 1e-9; t += step) {
        const x = LABEL + t * scale;
        axis.appendChild(svg("line", {x1: x, x2: x, y1: AXIS - 4, y2: y - NODE_GAP, class: "tick"}));
        axis.appendChild(svg("text", {x: x, y: AXIS - 8, class: "ticklabel", text: seconds(t)}));
      }
      if (live) {
        const x = LABEL + now * scale;
        axis.appendChild(svg("line", {x1: x, x2: x, y1: AXIS - 4, y2: y - NODE_GAP, class: "now"}));
      }
      const height = y - NODE_GAP + 4;
      const picture = svg("svg", {width: width, height: height, viewBox: "0 0 " + width + " " + height,
        class: "timelinesvg", role: "img", "aria-label": "Task attempts per node over time"},
        svg("defs", {}, svg("pattern", {id: "tl-hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse",
          patternTransform: "rotate(45)"}, svg("line", {x1: 0, y1: 0, x2: 0, y2: 6, class: "hatch"}))),
        axis, parts);
      box.replaceChildren(picture, legend(), ...notes.map((n) => Disco.el("p", {class: "muted", text: n})));
    }

    function legend() {
      const {el} = Disco;
      const swatch = (cls, label) => el("span", {class: "legenditem"},
        el("span", {class: "swatch " + cls}), label);
      return el("div", {class: "legend"},
        stages.map((stage) => swatch(stageClass(stage), stage)),
        swatch("marked", "failed"), swatch("killed", "killed"), swatch("running", "running"));
    }

    return {
      /* Take a jobattempts reply: its ended attempts are appended, its running ones replace
       * those before; `info` gives the stages (jobinfo's pipeline). Returns the `since` of the
       * next request. */
      update(reply, info) {
        for (const a of reply.attempts || []) ended.push(a);
        running = Array.isArray(reply.running) ? reply.running : [];
        now = Number(reply.now) || 0;
        live = Boolean(reply.live);
        if (info && Array.isArray(info.pipeline)) stages = info.pipeline.map((s) => s[0]);
        return Number(reply.next) || 0;
      },
      setSlots(nodes) { slots = nodes || {}; },
      render,
    };
  }

  return {create, lanes, tickStep};
})();
