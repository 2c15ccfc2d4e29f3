// Owns a split view member's answers to forwarded queries (docs/views.md "Split views"). A process asking
// every member of a view's group (the API, or another member) sends `x-mesh-local: 1`: the member answers
// GET /v1/views/{name}/rows and /rows/{key} from its own partitions only, never forwarding again, with each
// row's sort position (the asker merges pages by it) and, in `x-mesh-served`, the driving partitions the
// answer covers. A consistent page's parts (materializer/split-query.ts) come with `x-mesh-hold: <id>` (and
// `x-mesh-at: <position JSON>` to move up to the others' position first): the member holds its view there
// and says in the page where it is; `x-mesh-release: <id>` on a rows request ends the hold (answered 204).
// Every server holding views registers it: a `mesh materialize --listen` member
// (materializer/serve.ts) and an API embedding a group member (api/service.ts); their own row routes answer
// everything else.
import type { FastifyInstance } from "fastify";
import { MeshError } from "../errors.ts";
import { notFound } from "./errors.ts";
import { parseRowKey, parseRowQuery, type RowQuery } from "./row-query.ts";

export const LOCAL_HEADER = "x-mesh-local";
/** On a member's local answer: the driving partitions it answered for (owned and caught up). */
export const SERVED_HEADER = "x-mesh-served";
/** A consistent page's hold id, the position to move up to, and the release of a hold. */
export const HOLD_HEADER = "x-mesh-hold";
export const AT_HEADER = "x-mesh-at";
export const RELEASE_HEADER = "x-mesh-release";

const ROWS = "/v1/views/:name/rows";
const ROW = "/v1/views/:name/rows/:key";

/** What a process holding views answers from its own partitions (materializer/engine-views.ts). */
export interface LocalAnswers {
  /** The view's column names; undefined when this process holds no such view. */
  columns(view: string): string[] | undefined;
  /** The driving partitions this process answers for; null when the view is not split. */
  served(view: string): number[] | null;
  /** A page of this process's own rows with their sort positions (under a consistent page's hold). */
  localRows(
    view: string,
    query: RowQuery,
    hold?: { id: string; at: Record<string, string> | null },
  ): Promise<unknown>;
  /** Ends a consistent page's hold (it also expires on its own). */
  releaseHold?(view: string, id: string): void;
  /** This process's own row by key; undefined when it has none. */
  localRow(view: string, key: unknown[]): Promise<unknown>;
}

/**
 * Answers forwarded row queries before the route's handler (after its validation). `answers` is asked per
 * request: a member may start its engine after it listens.
 */
export function answerLocally(app: FastifyInstance, answers: () => LocalAnswers): void {
  app.addHook("preHandler", async (request, reply) => {
    if (request.headers[LOCAL_HEADER] !== "1") return;
    // Only datamesh processes (and the admin) ask a member for its own rows; anyone else gets the route,
    // where its service's policies apply (api/governance): the header alone never skips them.
    const principal = request.principal;
    if (principal && !principal.internal && !principal.admin) return;
    const route = request.routeOptions.url;
    if (route !== ROWS && route !== ROW) return;
    const { name, key: rawKey } = request.params as { name: string; key?: string };
    const local = answers();
    const columns = local.columns(name);
    if (!columns) throw notFound("view", name);
    const served = local.served(name);
    if (served) void reply.header(SERVED_HEADER, served.join(","));
    if (route === ROWS) {
      const release = header(request.headers[RELEASE_HEADER]);
      if (release !== undefined) {
        local.releaseHold?.(name, release);
        return reply.code(204).send();
      }
      const query = parseRowQuery(request.query as Record<string, string | string[]>, columns);
      const id = header(request.headers[HOLD_HEADER]);
      const hold = id === undefined ? undefined : { id, at: parseAt(header(request.headers[AT_HEADER])) };
      return reply.send(await local.localRows(name, query, hold));
    }
    const key = parseRowKey(rawKey ?? "");
    const row = await local.localRow(name, key);
    if (row === undefined) throw rowNotFound(name, key);
    return reply.send(row);
  });
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function parseAt(raw: string | undefined): Record<string, string> | null {
  if (raw === undefined) return null;
  try {
    const at = JSON.parse(raw) as unknown;
    if (typeof at === "object" && at !== null && !Array.isArray(at)) return at as Record<string, string>;
  } catch {
    // refused below
  }
  throw new MeshError("MESH_BAD_REQUEST", `${AT_HEADER} must be a JSON object of source → offset`, {
    header: AT_HEADER,
  });
}

/** The 404 of GET /v1/views/{name}/rows/{key} on every server. */
export function rowNotFound(view: string, key: unknown[]): MeshError {
  return new MeshError(
    "MESH_NOT_FOUND",
    `view ${view} has no row with key ${JSON.stringify(key)}; find keys with GET /v1/views/${view}/rows`,
    { view, key },
  );
}

/** A member's `x-mesh-served` header: the partitions its answer covers. */
export function servedPartitions(header: string | null): number[] {
  return (header ?? "")
    .split(",")
    .filter((p) => p !== "")
    .map(Number);
}
