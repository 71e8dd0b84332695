// Land released per week: what the current plan foresaw (bars) against what approved
// releases say happened (darker bars in front), from GET /api/plans/current/progress.
// The planned figures only change with a new plan; the actual ones with every review.

import { api } from "./api.js";
import { dayLabel, message, niceStep, svg, text } from "./svg.js";

const number = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 1 });
const H = 220;
const PAD = { left: 56, right: 12, top: 12, bottom: 34 };

/** Fetch and draw; a 404 means no plan has been made yet. */
export async function loadProgress(container) {
  let data;
  try {
    data = await api("/api/plans/current/progress");
  } catch (err) {
    container.dataset.state = err.status === 404 ? "empty" : "error";
    message(container, err.status === 404 ? "No plan yet." : `Cannot load: ${err.message}`,
      err.status === 404 ? "muted" : "error");
    if (err.status !== 404) throw err;
    return;
  }
  drawProgress(container, data);
}

export function drawProgress(container, { start_date: start, weeks, planned_m2: planned, actual_m2: actual }) {
  const width = Math.max(480, container.clientWidth || 640);
  const plotW = width - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  // Hectares read better than m² at programme scale
  const ha = (m2) => m2 / 10000;
  const max = Math.max(1, ...planned.map(ha), ...actual.map(ha));
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const y = (v) => PAD.top + plotH - (v / top) * plotH;
  const band = plotW / Math.max(1, weeks);
  const root = svg("svg", { viewBox: `0 0 ${width} ${H}`, width, height: H, role: "img",
    class: "progress-chart" });

  for (let v = 0; v <= top + 1e-9; v += step) {
    root.append(svg("line", { x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v), class: "grid" }));
    root.append(text(PAD.left - 6, y(v) + 4, number.format(v), { class: "tick", "text-anchor": "end" }));
  }
  root.append(text(12, PAD.top + plotH / 2, "ha", { class: "tick" }));
  const every = Math.max(1, Math.ceil(weeks / 10)); // about ten date labels, whatever the horizon
  for (let w = 0; w < weeks; w += 1) {
    const x = PAD.left + w * band;
    const label = `week ${w + 1} (from ${dayLabel(start, w * 7)})`;
    root.append(svg("rect", { x: x + band * 0.1, width: band * 0.8, y: y(ha(planned[w] || 0)),
      height: y(0) - y(ha(planned[w] || 0)), class: "planned" },
    `${label}: planned ${number.format(ha(planned[w] || 0))} ha`));
    root.append(svg("rect", { x: x + band * 0.3, width: band * 0.4, y: y(ha(actual[w] || 0)),
      height: y(0) - y(ha(actual[w] || 0)), class: "actual" },
    `${label}: released ${number.format(ha(actual[w] || 0))} ha`));
    if (w % every === 0) {
      root.append(text(x + band / 2, H - PAD.bottom + 14, dayLabel(start, w * 7),
        { class: "tick", "text-anchor": "middle" }));
    }
  }
  root.append(svg("line", { x1: PAD.left, x2: width - PAD.right, y1: y(0), y2: y(0), class: "axis" }));

  const legend = document.createElement("p");
  legend.className = "chart-legend";
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  legend.innerHTML = '<span class="swatch planned"></span> planned <span class="swatch actual"></span> released (approved)';
  legend.append(` · total so far ${number.format(ha(sum(actual)))} of ${number.format(ha(sum(planned)))} ha planned`);
  container.replaceChildren(legend, root);
  container.dataset.state = "drawn";
  container.dataset.weeks = String(weeks);
  container.dataset.plannedM2 = String(sum(planned));
  container.dataset.actualM2 = String(sum(actual));
}
