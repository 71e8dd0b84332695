// KPI tiles from GET /api/stats (approved records only, so they move when a record is
// approved). Each tile keeps the exact number in data-value: the text is rounded for
// people, tests and scripts read the attribute.

import { api } from "./api.js";

const number = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });

// [element id, label, value from stats, unit]
const TILES = [
  ["kpi-cancelled", "Cancelled (non-technical survey)", (s) => s.released_m2.cancelled, "m²"],
  ["kpi-reduced", "Reduced (technical survey)", (s) => s.released_m2.reduced, "m²"],
  ["kpi-cleared", "Cleared", (s) => s.released_m2.cleared, "m²"],
  ["kpi-remaining", "Remaining hazardous area", (s) => s.remaining_m2, "m²"],
  ["kpi-hazards", "Hazards (SHA / CHA)", (s) => s.hazards.count, "", (s) =>
    `${number.format(s.hazards.by_status.SHA ?? 0)} SHA / ${number.format(s.hazards.by_status.CHA ?? 0)} CHA`],
  ["kpi-assets-restored", "Assets restored", (s) => s.assets.restored, "", (s) =>
    `of ${number.format(s.assets.count)} assets`],
  ["kpi-assets-blocked", "Assets blocked by hazards", (s) => s.assets.blocked, ""],
  ["kpi-sappers", "Sappers", (s) => s.personnel.sappers, ""],
  ["kpi-builders", "Construction workers", (s) => s.personnel.construction_workers, ""],
  ["kpi-pending", "Pending review", (s) => s.pending_review, ""],
];

/** Build the empty tiles once, in order, inside `container`. */
export function buildKpis(container) {
  container.replaceChildren(
    ...TILES.map(([id, label]) => {
      const tile = document.createElement("div");
      tile.className = "kpi";
      tile.id = id;
      tile.innerHTML = '<span class="kpi-value">…</span><span class="kpi-label"></span><span class="kpi-note"></span>';
      tile.querySelector(".kpi-label").textContent = label;
      return tile;
    }),
  );
}

let latest = 0; // responses can overtake each other: draw only the newest request's

/** Fetch /api/stats and fill the tiles; returns the stats. */
export async function loadKpis() {
  const mine = ++latest;
  const stats = await api("/api/stats");
  if (mine !== latest) return stats;
  for (const [id, , value, unit, note] of TILES) {
    const tile = document.getElementById(id);
    if (!tile) continue;
    const v = Number(value(stats) ?? 0);
    tile.dataset.value = String(v);
    tile.querySelector(".kpi-value").textContent = unit ? `${number.format(v)} ${unit}` : number.format(v);
    tile.querySelector(".kpi-note").textContent = note ? note(stats) : "";
  }
  document.getElementById("synthetic").hidden = !stats.synthetic;
  document.getElementById("kpis").dataset.loaded = "true";
  return stats;
}
