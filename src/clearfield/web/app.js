// The dashboard: who is signed in, KPI tiles, the map, the review queue, the current
// plan (KPIs, progress, Gantt), personnel, alerts, and live updates from the server's
// event stream. Plain ES modules, no build step.

import { AlertList } from "./alerts.js";
import { api, followEvents, hasSession, signOut } from "./api.js";
import { showDetails } from "./details.js";
import { Gantt } from "./gantt.js";
import { buildKpis, loadKpis } from "./kpi.js";
import { buildLegend } from "./legend.js";
import { RecordMap } from "./map.js";
import { loadPersonnel } from "./personnel.js";
import { PlanPanel } from "./plan.js";
import { loadProgress } from "./progress.js";
import { ReviewQueue } from "./queue.js";

const REVIEWERS = new Set(["admin", "im_officer"]);
const REPORT_READERS = new Set(["admin", "im_officer", "planner", "observer"]); // domain/roles.py: reports
const $ = (selector) => document.querySelector(selector);

function notice(text) {
  const box = $("#notice");
  box.textContent = text;
  box.hidden = !text;
}

/**
 * A refresh that coalesces bursts: a bulk import publishes many events at once, and one
 * refresh after a short pause serves them all. An event arriving during a refresh
 * queues exactly one more, so the page never ends on stale data.
 */
function coalesced(task, pauseMs = 150) {
  let scheduled = false;
  let running = false;
  let again = false;
  async function run() {
    scheduled = false;
    running = true;
    try {
      await task();
    } finally {
      running = false;
      if (again) {
        again = false;
        request();
      }
    }
  }
  function request() {
    if (running) again = true;
    else if (!scheduled) {
      scheduled = true;
      setTimeout(run, pauseMs);
    }
  }
  return request;
}

function setLive(state) {
  const live = $("#live");
  live.dataset.state = state;
  live.textContent = { live: "live", offline: "offline", connecting: "connecting" }[state];
  live.title = state === "live" ? "Updates arrive as they happen" : "Not receiving updates; retrying";
}

async function main() {
  let me;
  try {
    me = await api("/api/me");
  } catch (err) {
    if (err.status !== 401) notice(`Cannot reach the server: ${err.message}`); // 401: on the way to /login
    return;
  }
  $("#user-name").textContent = me.name;
  $("#user-role").textContent = me.role.replace("_", " ") + (me.organisation ? ` · ${me.organisation}` : "");
  document.body.dataset.role = me.role;
  $("#weekly-report").hidden = !REPORT_READERS.has(me.role);
  const events = new AbortController();
  $("#sign-out").addEventListener("click", () => {
    events.abort();
    signOut();
  });

  buildKpis($("#kpis"));
  const detailsPanel = $("#details");
  $("#details-close").addEventListener("click", () => {
    detailsPanel.hidden = true;
    delete detailsPanel.dataset.record;
    map.highlight(null);
  });

  async function select(type, id, options) {
    const record = await showDetails(detailsPanel, type, id);
    if (record) map.highlight(record, options);
  }

  const map = new RecordMap($("#map"), { onSelect: select });
  buildLegend($("#layers"), (group, on) => map.setVisible(group, on));

  let queue = null;
  if (REVIEWERS.has(me.role)) {
    queue = new ReviewQueue($("#review-queue"), { onShow: select, onChange: () => refresh() });
    $("#review-queue").hidden = false;
  }

  let mapReady = false;
  const refresh = coalesced(async () => {
    const tasks = [loadKpis(), loadPersonnel($("#personnel"))];
    if (queue) tasks.push(queue.refresh());
    if (mapReady) tasks.push(map.refresh());
    report(await Promise.allSettled(tasks));
  });

  // The plan's figures change with a new plan; its progress also with every review
  // (approved releases are the "actual" line) and the late tasks with both.
  const plan = new PlanPanel($("#plan"), me.role);
  const alerts = new AlertList($("#alerts"));
  const gantt = new Gantt($("#gantt"), { filter: $("#gantt-filter"), shown: $("#gantt-shown"),
    legend: $("#gantt-legend") });
  const refreshPlan = coalesced(async () => {
    report(await Promise.allSettled([plan.load(), gantt.load(), loadProgress($("#chart-progress")), alerts.loadLate()]));
  });
  const refreshProgress = coalesced(async () => {
    report(await Promise.allSettled([loadProgress($("#chart-progress")), alerts.loadLate()]));
  });

  // One notice for whichever refresh failed last; a later success clears it
  function report(results) {
    const failed = results.find((r) => r.status === "rejected");
    notice(failed ? `Could not refresh: ${failed.reason.message}` : "");
  }

  // First load: the map's requests go first (a browser opens six connections to a
  // server, one of them for the events); the panels do not wait for the map (WebGL can
  // be slow or absent)
  map.start().then(
    () => { mapReady = true; },
    (err) => {
      console.error(err);
      $("#map").classList.add("failed");
      $("#map").textContent = `The map cannot be shown in this browser (${err.message}).`;
    },
  );
  refresh();
  refreshPlan();

  let connectedBefore = false;
  setLive("connecting");
  followEvents({
    signal: events.signal,
    onState: (up) => {
      setLive(up ? "live" : "offline");
      // Events missed while disconnected are not replayed: reload everything once
      if (up && connectedBefore) {
        refresh();
        refreshPlan();
      }
      if (up) connectedBefore = true;
    },
    onEvent: (kind, data) => {
      if (kind === "plan") {
        plan.planned(data);
        refreshPlan();
        refresh(); // active personnel follow the plan
      } else if (kind === "alert") {
        alerts.add(data);
        if (data.kind === "plan_failed") plan.failed(data.message);
      } else if (kind === "review" || kind === "submission") {
        refresh();
        if (kind === "review") refreshProgress();
        const shown = detailsPanel.dataset.record;
        if (!detailsPanel.hidden && kind === "review" && shown === `${data.record_type}/${data.id}`) {
          select(data.record_type, data.id);
        }
      }
    },
  });
}

// The page's inline script already sent visitors without a session to /login; this
// covers a module loaded some other way
if (hasSession()) main();
else location.replace("/login");
