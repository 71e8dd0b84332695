// The details panel: one record's current properties and its history, from
// GET /api/records/{type}/{id}. Text goes in with textContent only: record values come
// from field submissions and must never be read as HTML.

import { api } from "./api.js";

// Shown in the history list, not repeated in the table
const HIDDEN = new Set(["id", "version", "review_status"]);

function show(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return value.toLocaleString("en-GB", { maximumFractionDigits: 2 });
  if (Array.isArray(value) && value.every((v) => typeof v !== "object")) return value.join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

/** Fetch and show a record; returns it (a GeoJSON Feature with `history`). */
export async function showDetails(panel, type, id) {
  panel.hidden = false;
  const body = panel.querySelector("#details-body");
  panel.querySelector("#details-title").textContent = `${type} ${id}`;
  body.replaceChildren(el("p", "Loading…", "muted"));
  let record;
  try {
    record = await api(`/api/records/${type}/${encodeURIComponent(id)}`);
  } catch (err) {
    body.replaceChildren(el("p", err.message, "error"));
    return null;
  }
  const p = record.properties;
  const table = el("table", undefined, "props");
  for (const [key, value] of Object.entries(p)) {
    if (HIDDEN.has(key) || value === null || value === undefined || value === "") continue;
    const row = table.insertRow();
    row.append(el("th", key.replaceAll("_", " ")), el("td", show(value)));
  }
  const status = el("p", `Version ${p.version}, ${p.review_status}`, `badge ${p.review_status}`);
  if (p.generalised) status.textContent += " · location generalised for your role";
  const history = el("ol", undefined, "history");
  for (const v of record.history || []) {
    const reason = v.properties.review_reason || v.properties.reason;
    history.append(el("li", `v${v.properties.version}: ${v.properties.review_status}${reason ? ` (${reason})` : ""}`));
  }
  body.replaceChildren(status, table, el("h3", "History"), history);
  panel.dataset.record = `${type}/${id}`;
  return record;
}
