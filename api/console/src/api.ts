// Owns talking to the API from the browser: JSON calls with the signed-in token as `Authorization: Bearer`
// (every route but the console's own files needs one), the MESH error shape turned into an ApiError, a 401
// (the token unknown, expired or revoked) announced to the app (UNAUTHORIZED_EVENT: it signs out and says
// why), and server-sent events read through fetch (EventSource cannot send the Authorization header) with
// their `data` parsed.

const TOKEN_KEY = "datamesh.token";

export interface Session {
  token: string;
  /** The admin token (GET /v1/status's principal): the Audit page is shown. */
  admin: boolean;
}

/** Dispatched on `window` when the API answers 401: `detail` is the ApiError. */
export const UNAUTHORIZED_EVENT = "datamesh:unauthorized";

const ADMIN_KEY = "datamesh.admin";

export function savedSession(): Session | null {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token === null ? null : { token, admin: sessionStorage.getItem(ADMIN_KEY) === "true" };
}

export function saveSession(session: Session | null): void {
  if (session) {
    sessionStorage.setItem(TOKEN_KEY, session.token);
    sessionStorage.setItem(ADMIN_KEY, String(session.admin));
  } else {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ADMIN_KEY);
  }
}

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = savedSession()?.token;
  return { accept: "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { "content-type": "application/json" }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const json: unknown = text === "" ? null : JSON.parse(text);
  if (!res.ok) {
    const e = (json ?? {}) as { code?: string; message?: string; details?: Record<string, unknown> };
    throw refused(
      new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? res.statusText, e.details ?? {}),
    );
  }
  return json as T;
}

/** A 401 signs the console out (the app listens); every refusal is returned to be thrown. */
function refused(error: ApiError): ApiError {
  if (error.status === 401) dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT, { detail: error }));
  return error;
}

export const get = <T>(path: string): Promise<T> => call<T>("GET", path);
export const post = <T>(path: string, body: unknown): Promise<T> => call<T>("POST", path, body);

export interface StreamEvent {
  id: string | undefined;
  event: string;
  data: unknown;
}

/**
 * Follows a server-sent event stream until `signal` aborts, calling `onEvent` per event; `onOpen` once the
 * server answered, or — with `readyComment` — once it sent that comment line (a topic stream's
 * `: subscribed`: from then on every event written reaches it). Rejects with an ApiError when the stream is
 * refused (4xx/5xx before it starts).
 */
export async function follow(
  path: string,
  signal: AbortSignal,
  onEvent: (e: StreamEvent) => void,
  onOpen?: () => void,
  readyComment?: string,
): Promise<void> {
  const res = await fetch(path, { headers: headers({ accept: "text/event-stream" }), signal });
  if (!res.ok || !res.body) {
    const e = (await res.json().catch(() => ({}))) as {
      code?: string;
      message?: string;
      details?: Record<string, unknown>;
    };
    throw refused(
      new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? res.statusText, e.details ?? {}),
    );
  }
  if (readyComment === undefined) onOpen?.();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buf += value;
      let end: number;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 2);
        if (readyComment !== undefined && frame.split("\n").includes(`: ${readyComment}`)) onOpen?.();
        const parsed = parseFrame(frame);
        if (parsed) onEvent(parsed);
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
}

function parseFrame(frame: string): StreamEvent | null {
  let id: string | undefined;
  let event = "message";
  const data: string[] = [];
  for (const line of frame.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") id = value;
    else if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (data.length === 0) return null;
  return { id, event, data: JSON.parse(data.join("\n")) as unknown };
}
