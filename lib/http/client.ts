// Owns calls from one datamesh process to another over HTTP: a registry follower forwarding a write to its
// leader, the API asking materializer members, a member asking the others of a split view, any role looking
// up schemas in the registry. Every call has a deadline; a peer that does not answer (refused, reset, timed
// out) is a PeerUnreachable the caller turns into its own error code, and an answer is returned whatever its
// status (the caller knows what a 404 means to it). Bodies are JSON both ways; an answer that is not JSON is
// returned as text. `fetch` is passed in so tests can fake a peer or count calls.
import { readSse, type SseMessage } from "./sse.ts";
import { REQUEST_ID_HEADER } from "./request-log.ts";

export interface ClientOptions {
  fetch?: typeof fetch;
  /** Deadline of a call unless the call gives its own (default 10 s). */
  timeoutMs?: number;
  /** Sent with every call (e.g. a content type a peer insists on). */
  headers?: Record<string, string>;
}

export interface CallOptions {
  /** Default GET. */
  method?: string;
  /** Sent as JSON (a string is sent as it is). */
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** The caller's request id, passed on so one id follows a request across processes. */
  requestId?: string;
  signal?: AbortSignal;
}

export interface Answer {
  status: number;
  headers: Headers;
  /** Parsed JSON, the text when it is not JSON, null when empty. */
  body: unknown;
}

/** The peer did not answer: connection refused or reset, or no answer before the deadline. */
export class PeerUnreachable extends Error {
  override name = "PeerUnreachable";
  readonly url: string;
  constructor(url: string, cause: unknown) {
    super(reason(cause), { cause });
    this.url = url;
  }
}

function reason(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  if (cause.name === "TimeoutError") return "no answer before the deadline";
  // fetch says only "fetch failed"; the socket's error (ECONNREFUSED ...) is its cause.
  const inner = (cause as { cause?: unknown }).cause;
  return inner instanceof Error && inner.message ? `${cause.message}: ${inner.message}` : cause.message;
}

export class HttpClient {
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;

  constructor(options: ClientOptions = {}) {
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#headers = options.headers ?? {};
  }

  /** One call; its answer whatever the status. Throws PeerUnreachable only. */
  async call(url: string, options: CallOptions = {}): Promise<Answer> {
    const res = await this.#send(url, options, "application/json");
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new PeerUnreachable(url, err);
    }
    return { status: res.status, headers: res.headers, body: parseBody(text) };
  }

  /**
   * A server-sent event stream: resolves once the peer answered (a non-200 answer is returned as such, its
   * body read); the events end when the peer ends the stream or `signal` aborts. No deadline but the signal.
   */
  async stream(
    url: string,
    options: Omit<CallOptions, "method" | "body" | "timeoutMs"> & { signal: AbortSignal },
  ): Promise<{ answer: Answer; events: AsyncIterable<SseMessage> | null }> {
    const res = await this.#send(url, { ...options, timeoutMs: 0 }, "text/event-stream");
    if (res.status !== 200 || !res.body) {
      const text = await res.text().catch(() => "");
      return { answer: { status: res.status, headers: res.headers, body: parseBody(text) }, events: null };
    }
    return { answer: { status: res.status, headers: res.headers, body: null }, events: readSse(res.body) };
  }

  async #send(url: string, options: CallOptions, accept: string): Promise<Response> {
    const headers: Record<string, string> = { accept, ...this.#headers, ...options.headers };
    if (options.requestId) headers[REQUEST_ID_HEADER] = options.requestId;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      headers["content-type"] ??= "application/json";
    }
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const signals = [
      ...(timeoutMs > 0 ? [AbortSignal.timeout(timeoutMs)] : []),
      ...(options.signal ? [options.signal] : []),
    ];
    try {
      return await this.#fetch(url, {
        method: options.method ?? "GET",
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
      });
    } catch (err) {
      throw new PeerUnreachable(url, err);
    }
  }
}

function parseBody(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
