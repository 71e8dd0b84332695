// A few helpers for drawing charts as plain SVG (no chart library: the dashboard has no
// build step, and two charts do not justify a dependency). Text goes in with
// textContent only: task and team names come from submitted records.

const NS = "http://www.w3.org/2000/svg";

/** An SVG element with attributes; `title` becomes a hover tooltip. */
export function svg(tag, attrs = {}, title) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) e.setAttribute(k, String(v));
  if (title) {
    const t = document.createElementNS(NS, "title");
    t.textContent = title;
    e.append(t);
  }
  return e;
}

export function text(x, y, content, attrs = {}) {
  const t = svg("text", { x, y, ...attrs });
  t.textContent = content;
  return t;
}

/** A "nice" round step for about `count` ticks up to `max` (1, 2 or 5 times a power of ten). */
export function niceStep(max, count = 4) {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
}

/** A day offset from an ISO start date as a short date ("3 Mar"). */
export function dayLabel(startIso, day, options = { day: "numeric", month: "short" }) {
  const d = new Date(`${startIso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + Math.floor(day));
  return d.toLocaleDateString("en-GB", { ...options, timeZone: "UTC" });
}

/** A paragraph in place of a chart ("no plan yet", an error). */
export function message(container, content, className = "muted") {
  const p = document.createElement("p");
  p.className = className;
  p.textContent = content;
  container.replaceChildren(p);
}
