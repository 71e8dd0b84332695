// The plan KPI panel, from GET /api/plans/current: how much more the plan achieves than
// today's practice, how close it comes to the upper bound, and what it restores. For
// planners and admins, "Plan now" starts a run (POST /api/plans); the run is announced
// by a `plan` event, which reloads this panel (app.js wires the event).

import { api } from "./api.js";

const PLANNERS = new Set(["planner", "admin"]);
const TIME_LIMIT = 10; // seconds of search: enough for a good plan, short enough to wait for
const number = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });
const percent = (x) => `${(x * 100).toLocaleString("en-GB", { maximumFractionDigits: 1 })}%`;

export class PlanPanel {
  constructor(panel, role) {
    this.panel = panel;
    this.status = panel.querySelector("#plan-status");
    this.button = panel.querySelector("#plan-now");
    this.timer = null;
    this.latest = 0;
    if (PLANNERS.has(role)) {
      this.button.hidden = false;
      this.button.addEventListener("click", () => this.planNow());
    } else {
      this.button.remove(); // not offered at all: the server would answer 403
      this.button = null;
    }
  }

  async load() {
    const mine = ++this.latest;
    let current;
    try {
      current = await api("/api/plans/current");
    } catch (err) {
      if (mine !== this.latest) return;
      if (err.status !== 404) throw err;
      this.panel.dataset.run = "";
      this.panel.querySelector("#plan-run").textContent = "";
      for (const tile of this.panel.querySelectorAll(".kpi")) this.tile(tile.id, "–", "", "");
      if (!this.timer) this.say("No plan yet." + (this.button ? " Press Plan now to make one." : ""));
      return;
    }
    if (mine !== this.latest) return;
    this.show(current);
    if (current.running && !this.timer) this.running("A planning run is going on");
  }

  show({ run, summary: s, finished_at: finished, started_by: by }) {
    this.panel.dataset.run = String(run);
    this.panel.querySelector("#plan-run").textContent =
      `run ${run}` + (finished ? ` · ${new Date(finished).toLocaleString("en-GB")}` : "") + (by ? ` · ${by}` : "");
    const p = s.plan || {};
    const b = s.baseline || {};
    // ratio_to_baseline and the bound shares are null when there is nothing to gain
    const gain = s.ratio_to_baseline == null ? "–" : `${s.ratio_to_baseline >= 1 ? "+" : ""}${percent(s.ratio_to_baseline - 1)}`;
    this.tile("plan-benefit", gain, s.ratio_to_baseline ?? "",
      `benefit ${number.format(s.benefit)} vs ${number.format(s.baseline_benefit)}`);
    this.tile("plan-bound", s.plan_vs_bound == null ? "–" : percent(s.plan_vs_bound), s.plan_vs_bound ?? "",
      s.baseline_vs_bound == null ? "" : `today's practice: ${percent(s.baseline_vs_bound)}`);
    this.tile("plan-assets", number.format(p.assets_restored ?? 0), p.assets_restored ?? 0,
      `today's practice: ${number.format(b.assets_restored ?? 0)}`);
    this.tile("plan-population", number.format(p.population_restored ?? 0), p.population_restored ?? 0,
      `today's practice: ${number.format(b.population_restored ?? 0)}`);
    this.tile("plan-sappers", percent(p.sapper_utilisation ?? 0), p.sapper_utilisation ?? 0,
      `today's practice: ${percent(b.sapper_utilisation ?? 0)}`);
    this.tile("plan-builders", percent(p.builder_utilisation ?? 0), p.builder_utilisation ?? 0,
      `today's practice: ${percent(b.builder_utilisation ?? 0)}`);
  }

  tile(id, shown, value, note) {
    const tile = this.panel.querySelector(`#${id}`);
    tile.dataset.value = String(value);
    tile.querySelector(".kpi-value").textContent = shown;
    tile.querySelector(".kpi-note").textContent = note;
  }

  async planNow() {
    this.button.disabled = true;
    try {
      await api("/api/plans", { method: "POST", body: { time_limit: TIME_LIMIT } });
      this.running(`Planning (a search of up to ${TIME_LIMIT} s, then the plan is checked)`);
    } catch (err) {
      if (err.status === 409) this.running("A planning run is already going on; its plan will show here");
      else {
        this.say(`Cannot start a plan: ${err.message}`, "error");
        this.button.disabled = false;
      }
    }
  }

  /** Show the run under way with the seconds it has taken, until the plan event. */
  running(what) {
    const t0 = Date.now();
    this.panel.dataset.state = "running";
    if (this.button) this.button.disabled = true;
    const tick = () => {
      const s = Math.round((Date.now() - t0) / 1000);
      this.say(`${what}… ${s} s`);
      // A run that dies without a word (no plan event, no plan_failed alert) must not
      // leave the page waiting for ever: every few seconds ask whether it still runs
      if (s > 0 && s % 5 === 0) this.check();
    };
    clearInterval(this.timer);
    tick();
    this.timer = setInterval(tick, 1000);
  }

  done(text, kind = "info") {
    clearInterval(this.timer);
    this.timer = null;
    this.panel.dataset.state = "idle";
    if (this.button) this.button.disabled = false;
    this.say(text, kind);
  }

  async check() {
    try {
      const current = await api("/api/plans/current");
      if (current.running || !this.timer) return;
      this.show(current);
      if (current.last_error) this.failed(current.last_error);
      else this.done(`Plan ${current.run} ready.`);
    } catch {
      // no plan yet, or the server is away: the next tick asks again
    }
  }

  /** A `plan` event: a run has finished (ours or someone else's); app.js reloads the figures. */
  planned(event) {
    this.done(`Plan ${event.run} ready${event.verified === false ? ", but it did not verify" : ""}.`,
      event.verified === false ? "error" : "info");
  }

  /** An `alert` event of kind plan_failed. */
  failed(message) {
    this.done(`The planning run failed: ${message}`, "error");
  }

  say(text, kind = "info") {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }
}
