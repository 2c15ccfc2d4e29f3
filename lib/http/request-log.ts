// Owns request ids and the request log. A request keeps the id its caller sent in `x-request-id` (a process
// calling another can pass its own request's id on with client.ts `requestId`, so one id follows a query
// across processes) or gets a new one; the id is answered in the same header and is on every log line of the
// request. One line per request, when it completes: method, path (never the query: it may hold values),
// status and time. Failures are logged by errors.ts.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";

export const REQUEST_ID_HEADER = "x-request-id";

/** A caller's id is kept only if it cannot break a log line or a header. */
const acceptable = /^[\w.:-]{1,128}$/;

export function requestId(raw: IncomingMessage): string {
  const given = raw.headers[REQUEST_ID_HEADER];
  return typeof given === "string" && acceptable.test(given) ? given : randomUUID();
}

/** pino's (fastify's logger type omits it; a logger without it writes every line). */
interface LevelCheck {
  isLevelEnabled(level: string): boolean;
}

/** fastify's per-request log lines, replaced by one line at `level` when the request completes. */
export class RequestLog extends LogController {
  readonly #level: "info" | "debug";

  constructor(level: "info" | "debug") {
    super();
    this.#level = level;
  }

  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    // The line is built only when it is written (the registry logs it at debug, off in production).
    if (!error && (reply.log as Partial<LevelCheck>).isLevelEnabled?.(this.#level) === false) return;
    const line = {
      method: request.method,
      path: request.url.split("?")[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    };
    if (error) reply.log.error({ ...line, err: error }, "request errored");
    else reply.log[this.#level](line, "request");
  }
}

/** Answers every request's id in `x-request-id` (a hijacked reply, e.g. SSE, writes it itself: sse.ts). */
export function registerRequestIds(app: FastifyInstance): void {
  app.addHook("onRequest", (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
}
