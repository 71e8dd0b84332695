// The personnel tile, from GET /api/personnel: sappers and builders pledged by donors,
// deployed (their teams have arrived) and active (tasked today in the current plan).

import { api } from "./api.js";

const number = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });

export async function loadPersonnel(panel) {
  const data = await api("/api/personnel");
  for (const row of panel.querySelectorAll("tr[data-side]")) {
    for (const cell of row.querySelectorAll("td[data-stage]")) {
      const v = Number(data[cell.dataset.stage]?.[row.dataset.side] ?? 0);
      cell.dataset.value = String(v);
      cell.textContent = number.format(v);
    }
  }
  panel.querySelector("#personnel-as-of").textContent = `as of ${data.as_of}`;
  panel.dataset.loaded = "true";
}
