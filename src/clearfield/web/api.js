// The one place the dashboard talks to the server: JSON calls and the live event
// stream. Everything else imports from here.
//
// The browser signs in with a session cookie (HTTP-only, so page script, and anything
// injected into it, can never read the credential). Because a cookie rides along with
// every request, a request that changes something must also carry the CSRF token in a
// header: the server compares it with the readable `clearfield_csrf` cookie, which a
// page on another site can neither read nor send (double submit).

const CSRF_COOKIE = "clearfield_csrf";
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** The CSRF token from its cookie, or "" when not signed in. */
export function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join("="));
  }
  return "";
}

/** Is there a session at all? Only a hint (the cookie may have expired server-side). */
export function hasSession() {
  return csrfToken() !== "";
}

function toLogin() {
  location.replace("/login");
}

/** Sign in with a user name and password; resolves to {name, role, csrf_token}. */
export async function signIn(username, password) {
  // The OAuth2 password form: a form body, not JSON
  const response = await fetch("/api/auth/session", {
    method: "POST",
    body: new URLSearchParams({ username, password }),
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** Clear the session cookies on the server, then go to the sign-in page. */
export async function signOut() {
  try {
    await fetch("/api/auth/logout", { method: "POST", headers: { "X-CSRF-Token": csrfToken() } });
  } finally {
    toLogin();
  }
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

/**
 * GET or POST a JSON endpoint; a 401 (session expired or revoked) goes back to sign-in.
 * Returns the parsed body; `{status: true}` also returns the status: {status, body}.
 */
export async function api(path, { method = "GET", body, signal, status = false } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!SAFE.has(method)) headers["X-CSRF-Token"] = csrfToken();
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: "no-store",
  });
  if (response.status === 401) {
    toLogin();
    throw new ApiError(401, "signed out");
  }
  if (!response.ok) throw await failure(response);
  const parsed = await response.json();
  return status ? { status: response.status, body: parsed } : parsed;
}

/**
 * Follow /api/events, calling onEvent(kind, data) for each server-sent event and
 * onState(connected) when the connection opens or drops; reconnect with back-off.
 *
 * fetch() rather than EventSource: EventSource hides the status, and a 401 (the
 * session ended) must send the user to sign in rather than retry for ever.
 */
export async function followEvents({ onEvent, onState, signal }) {
  let delay = 1000;
  while (!signal.aborted) {
    try {
      const response = await fetch("/api/events", { signal });
      if (response.status === 401) return toLogin();
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
