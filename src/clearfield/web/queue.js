// The review queue, for IM officers and admins: every record waiting for review, with
// Approve and Reject. The server enforces the role; this panel is only shown to those
// who may act, so others are not offered buttons that would answer 403.

import { api } from "./api.js";

// The types a field team submits; a handful of small requests, fetched together.
const TYPES = ["activity", "hazard", "asset", "find", "accident"];

function summary(type, p) {
  const bits = [p.kind, p.status, p.damage, p.organisation, p.hazard_id && `hazard ${p.hazard_id}`,
    p.end_date || p.recorded_on || p.assessed_on || p.found_on || p.occurred_on];
  return bits.filter(Boolean).join(" · ");
}

export class ReviewQueue {
  constructor(panel, { onShow, onChange }) {
    this.panel = panel;
    this.list = panel.querySelector("#queue-list");
    this.status = panel.querySelector("#queue-status");
    this.onShow = onShow; // show a record's details and where it is
    this.onChange = onChange; // refresh the rest of the page after an action
    this.latest = 0;
  }

  async refresh() {
    const mine = ++this.latest;
    const answers = await Promise.allSettled(
      TYPES.map((t) => api(`/api/records/${t}?status=submitted&limit=200`)),
    );
    if (mine !== this.latest) return; // a newer refresh has started: let it draw
    const items = answers.flatMap((a, i) =>
      a.status === "fulfilled" ? a.value.features.map((f) => ({ type: TYPES[i], feature: f })) : [],
    );
    this.list.replaceChildren(...items.map((item) => this.item(item)));
    this.panel.querySelector("#queue-count").textContent = String(items.length);
    this.panel.dataset.count = String(items.length);
    this.panel.querySelector("#queue-empty").hidden = items.length > 0;
  }

  item({ type, feature }) {
    const id = feature.properties.id ?? feature.id;
    const li = document.createElement("li");
    li.className = "queue-item";
    li.dataset.type = type;
    li.dataset.id = id;
    li.innerHTML = `<button type="button" class="link show"></button><span class="meta"></span>
      <span class="actions"><button type="button" class="approve">Approve</button>
      <button type="button" class="reject">Reject</button></span>`;
    li.querySelector(".show").textContent = `${type} ${id}`;
    li.querySelector(".meta").textContent = summary(type, feature.properties);
    li.querySelector(".show").addEventListener("click", () => this.onShow(type, id, { zoom: true }));
    li.querySelector(".approve").addEventListener("click", () => this.act(li, type, id, "approve"));
    li.querySelector(".reject").addEventListener("click", () => {
      const reason = prompt(`Why is ${type} ${id} rejected? (the field team sees this)`);
      if (reason === null) return; // cancelled
      this.act(li, type, id, "reject", { reason });
    });
    return li;
  }

  async act(li, type, id, action, body) {
    for (const b of li.querySelectorAll("button")) b.disabled = true;
    try {
      await api(`/api/records/${type}/${encodeURIComponent(id)}/${action}`, { method: "POST", body });
      this.say(`${type} ${id} ${action === "approve" ? "approved" : "rejected"}.`);
      li.remove();
    } catch (err) {
      // e.g. 409: someone else reviewed it first; the refresh below shows the truth
      this.say(`${type} ${id}: ${err.message}`, "error");
    }
    this.onChange();
  }

  say(text, kind = "info") {
    this.status.textContent = text;
    this.status.dataset.kind = text ? kind : "";
  }
}
