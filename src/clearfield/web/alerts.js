// The alerts list: `alert` events as they arrive (an accident, a daily report from a team
// the plan has not tasked there, a failed planning run), newest first, with the time they
// reached this page. The server keeps no alert history, so the list starts empty on each
// load; tasks running late are a standing condition, read from GET /api/alerts/late.

import { api } from "./api.js";

const KEEP = 50; // a burst of alerts must not grow the page without end
const LABELS = { accident: "Accident", untasked_report: "Untasked work", plan_failed: "Planning failed",
  late_task: "Late task" };

export class AlertList {
  constructor(panel) {
    this.panel = panel;
    this.list = panel.querySelector("#alerts-list");
    this.count = 0;
  }

  add(alert) {
    const li = document.createElement("li");
    li.className = "alert";
    li.dataset.kind = alert.kind || "alert";
    const time = document.createElement("time");
    const now = new Date();
    time.dateTime = now.toISOString();
    time.textContent = now.toLocaleTimeString("en-GB");
    const kind = document.createElement("strong");
    kind.textContent = LABELS[alert.kind] || alert.kind || "Alert";
    const text = document.createElement("span");
    text.textContent = alert.message || JSON.stringify(alert);
    li.append(time, " ", kind, " ", text);
    this.list.prepend(li);
    while (this.list.children.length > KEEP) this.list.lastElementChild.remove();
    this.count += 1;
    const badge = this.panel.querySelector("#alerts-count");
    badge.textContent = String(this.count);
    badge.hidden = false;
    this.panel.querySelector("#alerts-empty").hidden = true;
  }

  /** Tasks of the current plan running late; quiet when the server cannot say. */
  async loadLate() {
    const line = this.panel.querySelector("#alerts-late");
    let late;
    try {
      late = await api("/api/alerts/late");
    } catch {
      line.textContent = "";
      return;
    }
    line.dataset.count = String(late.count);
    line.textContent = late.count
      ? `${late.count} planned task${late.count === 1 ? "" : "s"} running late; first: ${late.tasks[0].message}`
      : "";
    line.className = late.count ? "error" : "muted";
  }
}
