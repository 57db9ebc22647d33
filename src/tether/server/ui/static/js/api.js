// The REST client: cookie-authenticated calls with the CSRF header, error bodies turned
// into ApiError, and the two cross-cutting signals every page relies on: "the session
// ended" (401) and "the server is unreachable" (network failure).

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const listeners = { unauthorized: new Set(), reachability: new Set() };

/** Subscribe to "unauthorized" (session expired) or "reachability" (true/false). */
export function on(event, fn) {
  listeners[event].add(fn);
  return () => listeners[event].delete(fn);
}

function emit(event, value) {
  for (const fn of listeners[event]) fn(value);
}

let reachable = true;
/** Record whether the server answered; listeners hear only changes. */
export function setReachable(value) {
  if (value !== reachable) {
    reachable = value;
    emit("reachability", value);
  }
}

/** Build a query string from an object; arrays repeat the key; empty values are left out. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (Array.isArray(value)) value.forEach((v) => search.append(key, v));
    else if (value !== undefined && value !== null && value !== "") search.append(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Call the API; JSON in and out. Throws ApiError with the server's message. */
export async function api(method, path, body, { signal } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-Requested-With"] = "XMLHttpRequest";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    setReachable(false);
    throw new ApiError(0, "the server is unreachable");
  }
  setReachable(true);
  const text = await response.text();
  const data = text ? safeJson(text) : {};
  if (!response.ok) {
    const message = (data && (data.message || data.error)) || `${response.status} ${response.statusText}`;
    if (response.status === 401 && path !== "/api/v1/session") emit("unauthorized", message);
    throw new ApiError(response.status, message);
  }
  return data;
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 200) };
  }
}

/**
 * Follow the application stream: onEvent({type, application}) for each change.
 * EventSource reconnects by itself; errors mark the server unreachable until the
 * stream (or any call) answers again. Returns a function that closes the stream.
 */
export function streamApplications(params, onEvent) {
  const source = new EventSource(`/api/v1/stream/applications${query(params)}`);
  source.onopen = () => setReachable(true);
  source.onmessage = (message) => {
    const data = safeJson(message.data);
    if (data && data.result) onEvent(data.result);
  };
  source.onerror = async () => {
    // A closed stream may be a lost server or an expired session: ask which.
    try {
      await api("GET", "/api/v1/session/userinfo");
    } catch {
      /* api() already raised the right signal */
    }
  };
  return () => source.close();
}
