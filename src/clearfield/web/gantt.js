// The current plan as a Gantt chart, one row per team, from GET /api/plans/current/gantt.
// A programme can have hundreds of teams: the first LIMIT rows (by team id) are drawn and
// the filter box finds the others, so the page stays quick on a large plan.

import { api } from "./api.js";
import { dayLabel, message, svg, text } from "./svg.js";

const LIMIT = 80;
const ROW = 18;
const LABEL_W = 96;
const PX_PER_DAY = 3;
const AXIS_H = 22;

// One colour per task kind (colour-blind safe order); unknown kinds get grey
export const KIND_COLOURS = {
  nts: "#56b4e9",
  ts: "#e69f00",
  preparation: "#999933",
  clearance: "#c0392b",
  reconstruction: "#009e73",
};
const OTHER = "#9e9e9e";

export class Gantt {
  constructor(container, { filter, shown, legend }) {
    this.container = container;
    this.filter = filter;
    this.shown = shown;
    this.data = null;
    legend.replaceChildren(...[...Object.entries(KIND_COLOURS), ["travel", null]].map(([kind, colour]) => {
      const span = document.createElement("span");
      span.innerHTML = '<span class="swatch"></span>';
      span.firstChild.classList.add(colour ? "kind" : "travel");
      if (colour) span.firstChild.style.setProperty("--c", colour);
      span.append(kind);
      return span;
    }));
    filter.addEventListener("input", () => this.draw());
  }

  async load() {
    try {
      this.data = await api("/api/plans/current/gantt");
    } catch (err) {
      this.data = null;
      this.container.dataset.state = err.status === 404 ? "empty" : "error";
      this.shown.textContent = "";
      message(this.container, err.status === 404 ? "No plan yet." : `Cannot load: ${err.message}`,
        err.status === 404 ? "muted" : "error");
      if (err.status !== 404) throw err;
      return;
    }
    this.draw();
  }

  draw() {
    if (!this.data) return;
    const { run, start_date: start, teams } = this.data;
    const needle = this.filter.value.trim().toLowerCase();
    const ids = Object.keys(teams).sort();
    const matching = needle ? ids.filter((id) => id.toLowerCase().includes(needle)) : ids;
    const rows = matching.slice(0, LIMIT);
    this.shown.textContent = rows.length < ids.length ? `${rows.length} of ${ids.length} teams` : `${ids.length} teams`;
    if (!rows.length) {
      message(this.container, needle ? "No team matches the filter." : "The plan tasks no team.");
      this.container.dataset.rows = "0";
      return;
    }
    const days = Math.max(7, ...ids.flatMap((id) => teams[id].map((t) => t.end_day)));
    const width = LABEL_W + Math.ceil(days) * PX_PER_DAY + 8;
    const x = (day) => LABEL_W + day * PX_PER_DAY;

    // The date axis is its own SVG, sticky at the top of the scrolling box
    const axis = svg("svg", { width, height: AXIS_H, class: "gantt-axis" });
    for (let d = 0; d <= days; d += 28) {
      axis.append(svg("line", { x1: x(d), x2: x(d), y1: AXIS_H - 6, y2: AXIS_H, class: "axis" }));
      axis.append(text(x(d) + 2, AXIS_H - 8, dayLabel(start, d, { day: "numeric", month: "short", year: "2-digit" }), { class: "tick" }));
    }

    const chart = svg("svg", { width, height: rows.length * ROW, class: "gantt-chart" });
    for (let d = 0; d <= days; d += 28) {
      chart.append(svg("line", { x1: x(d), x2: x(d), y1: 0, y2: rows.length * ROW, class: "grid" }));
    }
    rows.forEach((id, i) => {
      const y = i * ROW;
      const row = svg("g", { "data-team": id, class: "gantt-row" });
      if (i % 2) row.append(svg("rect", { x: 0, y, width, height: ROW, class: "stripe" }));
      row.append(text(4, y + ROW - 5, id, { class: "team" }));
      for (const t of teams[id]) {
        const when = `${dayLabel(start, t.start_day)} – ${dayLabel(start, t.end_day)}`;
        if (t.travel_days > 0) {
          row.append(svg("rect", { x: x(t.start_day - t.travel_days), y: y + 7,
            width: Math.max(1, t.travel_days * PX_PER_DAY), height: 4, class: "travel" },
          `${id}: travel ${t.travel_days.toFixed(1)} days to ${t.subject}`));
        }
        row.append(svg("rect", { x: x(t.start_day), y: y + 3, height: ROW - 6, rx: 2,
          width: Math.max(1.5, (t.end_day - t.start_day) * PX_PER_DAY),
          fill: KIND_COLOURS[t.kind] || OTHER, class: "task", "data-kind": t.kind },
        `${id}: ${t.task} (${t.kind}), ${when}`));
      }
      chart.append(row);
    });
    this.container.replaceChildren(axis, chart);
    this.container.dataset.state = "drawn";
    this.container.dataset.run = String(run);
    this.container.dataset.rows = String(rows.length);
  }
}
