// The one place the dashboard talks to the server: the bearer token, JSON calls, and
// the live event stream. Everything else imports from here.

const TOKEN_KEY = "clearfield.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  location.replace("/login");
}

export function authHeaders() {
  return { Authorization: `Bearer ${token()}` };
}

/** An error from the API, carrying its status and the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    // The server's one error shape: {error, message, faults}; FastAPI's own 422s: {detail}
    message = body.message || (typeof body.detail === "string" ? body.detail : message);
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message);
}

/** GET or POST a JSON endpoint; a 401 (token expired or revoked) goes back to sign-in. */
export async function api(path, { method = "GET", body, signal } = {}) {
  const headers = authHeaders();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: "no-store",
  });
  if (response.status === 401) {
    signOut();
    throw new ApiError(401, "signed out");
  }
  if (!response.ok) throw await failure(response);
  return response.json();
}

/**
 * Follow /api/events, calling onEvent(kind, data) for each server-sent event and
 * onState(connected) when the connection opens or drops; reconnect with back-off.
 *
 * fetch() rather than EventSource: EventSource cannot send the Authorization header,
 * and the token must not go into the URL (it would land in server logs).
 */
export async function followEvents({ onEvent, onState, signal }) {
  let delay = 1000;
  while (!signal.aborted) {
    try {
      const response = await fetch("/api/events", { headers: authHeaders(), signal });
      if (response.status === 401) return signOut();
      if (!response.ok || !response.body) throw await failure(response);
      delay = 1000;
      await readStream(response.body, onEvent, onState);
    } catch (err) {
      if (signal.aborted) return;
      console.warn("event stream:", err.message || err);
    }
    onState(false);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 30000);
  }
}

async function readStream(body, onEvent, onState) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const { kind, data } = parseBlock(block);
      if (kind === "hello") onState(true);
      // A block of only comments (": ping") has no data: nothing to report
      if (data !== null) onEvent(kind, data);
    }
  }
}

/** One SSE block into {kind, data}; data is parsed JSON, or null when absent. */
function parseBlock(block) {
  let kind = "message";
  const lines = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") kind = value;
    else if (field === "data") lines.push(value);
  }
  if (!lines.length) return { kind, data: null };
  try {
    return { kind, data: JSON.parse(lines.join("\n")) };
  } catch {
    return { kind, data: lines.join("\n") };
  }
}
