// Owns who reads what through this API process: the open SSE streams of each topic and view, and the
// recent row readers of each view, per client. Recorded by a request hook (the routes know nothing of it)
// and listed by GET /v1/lineage. A client is its address and User-Agent until tokens name services (the
// governance issue, 14): then `service` is the token's service and clients are grouped by it.
import type { FastifyInstance, FastifyRequest } from "fastify";

export type ReadTarget = { kind: "topic" | "view"; name: string };

export interface Reader {
  /** The token's service (null until the governance issue lands tokens). */
  service: string | null;
  address: string;
  userAgent: string | null;
  /** SSE streams open now (topic events, view changes). */
  streams: number;
  /** Requests (row reads and streams) since this process started tracking the client. */
  requests: number;
  lastSeen: string;
}

/** A client that has no stream open and sent nothing for this long is forgotten. */
const FORGET_MS = 15 * 60_000;

/** The routes that read, the target each reads, and whether it is a stream. */
const ROUTES: Record<string, { kind: "topic" | "view"; param: string; stream: boolean }> = {
  "/v1/topics/:topic/events": { kind: "topic", param: "topic", stream: true },
  "/v1/views/:name/changes": { kind: "view", param: "name", stream: true },
  "/v1/views/:name/rows": { kind: "view", param: "name", stream: false },
  "/v1/views/:name/rows/*": { kind: "view", param: "name", stream: false },
};

interface Entry extends Omit<Reader, "lastSeen"> {
  lastSeen: number;
}

export class ReaderBoard {
  readonly #targets = new Map<string, Map<string, Entry>>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Counts a read of `target` by a client; for a stream, the returned function ends it. */
  read(
    target: ReadTarget,
    client: { address: string; userAgent: string | null },
    stream: boolean,
  ): () => void {
    const key = `${target.kind}:${target.name}`;
    let clients = this.#targets.get(key);
    if (!clients) this.#targets.set(key, (clients = new Map()));
    const id = `${client.address}\u0000${client.userAgent ?? ""}`;
    let entry = clients.get(id);
    if (!entry) {
      entry = {
        service: null,
        address: client.address,
        userAgent: client.userAgent,
        streams: 0,
        requests: 0,
        lastSeen: 0,
      };
      clients.set(id, entry);
    }
    entry.requests++;
    entry.lastSeen = this.#now();
    if (!stream) return () => undefined;
    entry.streams++;
    const open = entry;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      open.streams--;
      open.lastSeen = this.#now();
    };
  }

  /** The clients reading `target` now or lately, most recent first. */
  readers(target: ReadTarget): Reader[] {
    const clients = this.#targets.get(`${target.kind}:${target.name}`);
    if (!clients) return [];
    const now = this.#now();
    const out: Reader[] = [];
    for (const [id, e] of clients) {
      if (e.streams === 0 && now - e.lastSeen > FORGET_MS) {
        clients.delete(id);
        continue;
      }
      out.push({ ...e, lastSeen: new Date(e.lastSeen).toISOString() });
    }
    return out.sort((a, b) => b.lastSeen.localeCompare(a.lastSeen));
  }

  /** Records every read of the API's reading routes (a request hook: the routes stay unaware). */
  register(app: FastifyInstance): void {
    app.addHook("onRequest", (request, reply, done) => {
      const route = ROUTES[request.routeOptions.url ?? ""];
      if (route) {
        const name = (request.params as Record<string, string | undefined>)[route.param];
        if (name) {
          const end = this.read({ kind: route.kind, name }, clientOf(request), route.stream);
          // The response's close: the stream ended, or its client went away.
          if (route.stream) reply.raw.once("close", end);
        }
      }
      done();
    });
  }
}

function clientOf(request: FastifyRequest): { address: string; userAgent: string | null } {
  const agent = request.headers["user-agent"];
  return { address: request.ip, userAgent: typeof agent === "string" ? agent.slice(0, 200) : null };
}
