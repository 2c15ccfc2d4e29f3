// Owns server-sent events, both ends. Serving: the next event is pulled from the source only once the
// socket has drained, so a slow client pauses its source (a Kafka consumer, a view's change feed) instead
// of making the server buffer without bound; a comment line every 15 s keeps proxies from closing the
// stream. Reading (a process following another's stream, client.ts): frames parsed as they arrive.
import { once } from "node:events";
import type { FastifyReply, FastifyRequest } from "fastify";
import { toMeshError } from "./errors.ts";
import { sseOpened } from "./metrics.ts";
import { REQUEST_ID_HEADER } from "./request-log.ts";

export interface SseEvent {
  /** The id of the (last) event in the frame. */
  id: string;
  event: string;
  data: unknown;
  /** The whole frame already encoded, possibly several events (fanned out to many clients, encoded once). */
  frame?: Buffer;
}

export function sseFrame(id: string, event: string, data: unknown): Buffer {
  return Buffer.from(`id: ${id}\nevent: ${event}\ndata: ${sseJson(data)}\n\n`);
}

const keepAliveMs = 15_000;

/** One event a stream may send, for the OpenAPI document: its `data` schema (a component's $ref). */
export interface SseEventDoc {
  description: string;
  /** A `$ref` to a schema in the document's components, e.g. `#/components/schemas/ViewChange`. */
  data: { $ref: string };
}

/** The `data` of `event: error`: a failure after the stream started (200 already sent), in the MESH shape. */
export const streamErrorSchema = {
  $id: "StreamError",
  type: "object",
  required: ["code", "message"],
  properties: { code: { type: "string" }, message: { type: "string" } },
} as const;

export const streamErrorEvent: SseEventDoc = {
  description: "the stream failed after it started; `data` is the MESH error; reconnect with the last id",
  data: { $ref: "#/components/schemas/StreamError" },
};

/**
 * OpenAPI of an SSE route: the resume header (its grammar: the same pattern validates it), the stream as
 * `text/event-stream` with the events it sends (`x-sse-events`: name → description and `data` schema), and
 * the errors answered before the stream starts (`errors`: lib/http/error-responses.ts).
 */
export function sseSchema(options: {
  idDescription: string;
  idPattern: string;
  events: Record<string, SseEventDoc>;
  errors: Record<string, unknown>;
}): { headers: object; response: object; "x-sse-events": Record<string, SseEventDoc> } {
  const events = { ...options.events, error: streamErrorEvent };
  const names = Object.keys(events)
    .map((e) => `\`event: ${e}\``)
    .join(", ");
  return {
    headers: {
      type: "object",
      properties: {
        "last-event-id": {
          type: "string",
          pattern: options.idPattern,
          description: `the id of the last event received, to resume after it: ${options.idDescription}`,
        },
      },
    },
    response: {
      200: {
        description:
          `A stream of server-sent events: frames of \`id\`, \`event\` and one \`data\` line of JSON (${names}; ` +
          "`x-sse-events` gives each one's data schema), and `:` comment lines (keep-alives every 15 s) to skip",
        content: {
          "text/event-stream": {
            schema: { type: "string", description: "id: <id>\nevent: <name>\ndata: <JSON>\n\n, repeated" },
          },
        },
      },
      ...options.errors,
    },
    "x-sse-events": events,
  };
}

export function sseJson(value: unknown): string {
  // Decoded values are already lossless JSON (bigints as strings); a replacer would slow every call down,
  // so it is only the fallback for a value that still holds a bigint.
  try {
    return JSON.stringify(value);
  } catch {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  }
}

/**
 * Streams `events(signal)` to the client until it disconnects or the source ends. The signal aborts when
 * the client goes away; the source must stop then.
 */
export async function streamSse(
  request: FastifyRequest,
  reply: FastifyReply,
  events: (signal: AbortSignal) => AsyncIterable<SseEvent>,
): Promise<void> {
  const controller = new AbortController();
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
    [REQUEST_ID_HEADER]: request.id,
  });
  raw.flushHeaders();
  const abort = (): void => controller.abort();
  request.raw.on("close", abort);
  raw.on("close", abort);
  raw.write(": connected\n\n");
  const closed = sseOpened(request);
  const keepAlive = setInterval(() => {
    if (!raw.writableEnded) raw.write(": keep-alive\n\n");
  }, keepAliveMs);
  let corked = false;
  try {
    for await (const event of events(controller.signal)) {
      if (controller.signal.aborted) break;
      // Coalesce the writes of one event-loop turn into one syscall. The socket is corked, not the response:
      // a corked response flushes its chunk header, data and trailer as separate socket writes (Node 24).
      const socket = raw.socket;
      if (!corked && socket) {
        corked = true;
        socket.cork();
        setImmediate(() => {
          corked = false;
          socket.uncork();
        });
      }
      const ok = raw.write(
        event.frame ?? `id: ${event.id}\nevent: ${event.event}\ndata: ${sseJson(event.data)}\n\n`,
      );
      if (!ok) {
        await once(raw, "drain", { signal: controller.signal }).catch(() => undefined);
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) {
      request.log.error({ err }, "event stream failed");
      // The stream has started (200 sent), so the error travels as an event, in the API's error shape.
      const mesh = toMeshError(err);
      raw.write(`event: error\ndata: ${sseJson({ code: mesh.code, message: mesh.message })}\n\n`);
    }
  } finally {
    clearInterval(keepAlive);
    closed();
    request.raw.off("close", abort);
    controller.abort();
    if (!raw.writableEnded) raw.end();
  }
}

/** One event read from a stream (`id` absent when the frame has none). */
export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

/** The events of a text/event-stream body, as they arrive; comments and keep-alives are skipped. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncIterable<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const m = parseFrame(frame);
        if (m) yield m;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function parseFrame(frame: string): SseMessage | null {
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
  return data.length === 0 && id === undefined ? null : { id, event, data: data.join("\n") };
}
