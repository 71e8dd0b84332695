// The dashboard: who is signed in, KPI tiles, the map, the review queue, and live
// updates from the server's event stream. Plain ES modules, no build step.

import { api, followEvents, signOut, token } from "./api.js";
import { showDetails } from "./details.js";
import { buildKpis, loadKpis } from "./kpi.js";
import { buildLegend } from "./legend.js";
import { RecordMap } from "./map.js";
import { ReviewQueue } from "./queue.js";

const REVIEWERS = new Set(["admin", "im_officer"]);
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
    notice(`Cannot reach the server: ${err.message}`);
    return;
  }
  $("#user-name").textContent = me.name;
  $("#user-role").textContent = me.role.replace("_", " ") + (me.organisation ? ` · ${me.organisation}` : "");
  document.body.dataset.role = me.role;
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
    const tasks = [loadKpis()];
    if (queue) tasks.push(queue.refresh());
    if (mapReady) tasks.push(map.refresh());
    const results = await Promise.allSettled(tasks);
    const failed = results.find((r) => r.status === "rejected");
    notice(failed ? `Could not refresh: ${failed.reason.message}` : "");
  });

  // First load: the tiles and queue do not wait for the map (WebGL can be slow or absent)
  refresh();
  map.start().then(
    () => { mapReady = true; },
    (err) => {
      console.error(err);
      $("#map").classList.add("failed");
      $("#map").textContent = `The map cannot be shown in this browser (${err.message}).`;
    },
  );

  let connectedBefore = false;
  setLive("connecting");
  followEvents({
    signal: events.signal,
    onState: (up) => {
      setLive(up ? "live" : "offline");
      // Events missed while disconnected are not replayed: reload everything once
      if (up && connectedBefore) refresh();
      if (up) connectedBefore = true;
    },
    onEvent: (kind, data) => {
      if (kind !== "review" && kind !== "submission") return;
      refresh();
      const shown = detailsPanel.dataset.record;
      if (!detailsPanel.hidden && kind === "review" && shown === `${data.record_type}/${data.id}`) {
        select(data.record_type, data.id);
      }
    },
  });
}

if (token()) main();
else location.replace("/login");
