// Queries of a split view (docs/views.md "Split views"): every member of the view's group answers for the
// driving partitions it owns, so a query is forwarded to all of them (header `x-mesh-local: 1`: answer
// locally, never forward again) and their answers are merged. A page is merged by sort position, the
// LevelDB entry key of the query's path, which every member computes the same way; the merged cursor is a
// position too, valid for every member. A member that does not answer, or partitions no member owns (a
// rebalance in progress), make the query fail with 503 MESH_UNAVAILABLE: never a silently partial answer.
import { errorCatalogue, MeshError, type ErrorCode } from "../../lib/errors.ts";
import type { ViewMember } from "../../materializer/contract.ts";
import type { RowQuery } from "../runtime.ts";

export const LOCAL_HEADER = "x-mesh-local";
/** On a member's local answer: the driving partitions it answered for (owned and caught up). */
export const SERVED_HEADER = "x-mesh-served";

/** A member's local answer to GET /v1/views/{name}/rows with `x-mesh-local: 1`. */
export interface MemberPage {
  rows: Record<string, unknown>[];
  next: string | null;
  path: string;
  positions: string[];
  stale: boolean;
  /** The driving partitions the member owns, and those it answered for (caught up). */
  owned?: number[];
  served?: number[];
}

export interface ForwardOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** The query string that asks a member the same question. */
export function rowsQueryString(query: RowQuery): string {
  const params = new URLSearchParams();
  for (const f of query.filters) params.append(f.op === "eq" ? f.column : `${f.column}[${f.op}]`, f.value);
  if (query.order) params.set("order", `${query.order.desc ? "-" : ""}${query.order.column}`);
  params.set("limit", String(query.limit));
  if (query.cursor) params.set("cursor", query.cursor);
  return params.toString();
}

const encodeCursor = (path: string, after: string): string =>
  Buffer.from(JSON.stringify({ path, after })).toString("base64url");
const cursorAfter = (cursor: string): string =>
  (JSON.parse(Buffer.from(cursor, "base64url").toString()) as { after: string }).after;

/**
 * Merges members' pages: rows in position order up to the first position some member has not scanned past
 * (its `next`), then the limit. Positions are hex of bytes, so string order is byte order.
 */
export function mergePages(
  pages: MemberPage[],
  limit: number,
  desc: boolean,
): { rows: Record<string, unknown>[]; next: string | null; stale: boolean } {
  const before = (a: string, b: string): boolean => (desc ? a > b : a < b);
  let boundary: string | null = null;
  for (const p of pages) {
    if (p.next === null) continue;
    const after = cursorAfter(p.next);
    if (boundary === null || before(after, boundary)) boundary = after;
  }
  const seen = new Set<string>();
  const all: { pos: string; row: Record<string, unknown> }[] = [];
  for (const p of pages)
    p.rows.forEach((row, i) => {
      const pos = p.positions[i] ?? "";
      // During a rebalance two members may briefly both answer for a partition: one copy is enough.
      if (seen.has(pos) || (boundary !== null && before(boundary, pos))) return;
      seen.add(pos);
      all.push({ pos, row });
    });
  all.sort((a, b) => (a.pos === b.pos ? 0 : before(a.pos, b.pos) ? -1 : 1));
  const taken = all.slice(0, limit);
  const path = pages[0]?.path ?? "k";
  const last = taken.at(-1);
  let next: string | null = null;
  if (last && (all.length > limit || (taken.length === limit && boundary !== null)))
    next = encodeCursor(path, last.pos);
  else if (boundary !== null) next = encodeCursor(path, boundary);
  return { rows: taken.map((t) => t.row), next, stale: pages.some((p) => p.stale) };
}

/** Fails unless the members together own every partition of the driving topic. */
function checkCoverage(view: string, members: ViewMember[], partitions: number): void {
  if (partitions <= 0)
    throw new MeshError(
      "MESH_UNAVAILABLE",
      `view ${view}: its partitions are not assigned yet (starting); retry`,
      {
        view,
        partitions: [],
      },
    );
  const owned = new Set(members.flatMap((m) => m.partitions));
  const missing = Array.from({ length: partitions }, (_, p) => p).filter((p) => !owned.has(p));
  if (missing.length > 0)
    throw new MeshError(
      "MESH_UNAVAILABLE",
      `view ${view}: no materializer owns partitions ${missing.join(", ")} right now (a rebalance in progress, or no member running); retry`,
      { view, partitions: missing },
    );
}

async function ask(
  member: ViewMember,
  view: string,
  path: string,
  options: ForwardOptions,
): Promise<{ status: number; body: unknown; served: number[] }> {
  const url = `${member.url.replace(/\/$/, "")}/v1/views/${encodeURIComponent(view)}${path}`;
  try {
    const res = await (options.fetch ?? fetch)(url, {
      headers: { [LOCAL_HEADER]: "1", accept: "application/json" },
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const body: unknown = await res.json();
    // An error the member explains (e.g. MESH_VIEW_NOT_READY) is passed on; anything else means it is unwell.
    if (res.status >= 500 && !(body as { code?: unknown } | null)?.code)
      throw new Error(`status ${res.status}`);
    const served = (res.headers.get(SERVED_HEADER) ?? "")
      .split(",")
      .filter((p) => p !== "")
      .map(Number);
    return { status: res.status, body, served };
  } catch (err) {
    throw new MeshError(
      "MESH_UNAVAILABLE",
      `view ${view}: the materializer at ${member.url} (partitions ${member.partitions.join(", ")}) did not answer: ${(err as Error).message}`,
      { view, member: member.url, partitions: member.partitions },
    );
  }
}

export async function forwardRows(
  view: string,
  members: ViewMember[],
  partitions: number,
  query: RowQuery,
  options: ForwardOptions = {},
): Promise<{ rows: Record<string, unknown>[]; next: string | null; stale: boolean }> {
  checkCoverage(view, members, partitions);
  const qs = rowsQueryString(query);
  const answers = await Promise.all(
    members.filter((m) => m.partitions.length > 0).map((m) => ask(m, view, `/rows?${qs}`, options)),
  );
  for (const a of answers) if (a.status >= 400) throw answerError(a.body, a.status);
  const pages = answers.map((a) => a.body as MemberPage);
  // The assignment may have moved between members() and the answers: a partition nobody answered for is
  // an error, unless its owner is still catching up with it (then the answer is stale, as a member's is).
  const served = new Set(pages.flatMap((p) => p.served ?? []));
  const owned = new Set(pages.flatMap((p) => p.owned ?? []));
  const unanswered = Array.from({ length: partitions }, (_, p) => p).filter((p) => !served.has(p));
  const orphaned = unanswered.filter((p) => !owned.has(p));
  if (orphaned.length > 0)
    throw new MeshError(
      "MESH_UNAVAILABLE",
      `view ${view}: partitions ${orphaned.join(", ")} changed hands while answering (a rebalance); retry`,
      { view, partitions: orphaned },
    );
  const merged = mergePages(pages, query.limit, query.order?.desc ?? false);
  return { ...merged, stale: merged.stale || unanswered.length > 0 };
}

export async function forwardRow(
  view: string,
  members: ViewMember[],
  partitions: number,
  key: unknown[],
  options: ForwardOptions = {},
): Promise<Record<string, unknown> | undefined> {
  checkCoverage(view, members, partitions);
  const path = `/rows/${encodeURIComponent(JSON.stringify(key))}`;
  const answers = await Promise.all(
    members.filter((m) => m.partitions.length > 0).map((m) => ask(m, view, path, options)),
  );
  const found = answers.find((a) => a.status === 200);
  if (found) return found.body as Record<string, unknown>;
  const failed = answers.find(
    (a) => a.status !== 404 || (a.body as { code?: string }).code !== "MESH_NOT_FOUND",
  );
  if (failed) throw answerError(failed.body, failed.status);
  // Nobody has it: a true 404 only if every partition was answered for (not moving, not catching up).
  const served = new Set(answers.flatMap((a) => a.served));
  const missing = Array.from({ length: partitions }, (_, p) => p).filter((p) => !served.has(p));
  if (missing.length > 0)
    throw new MeshError(
      "MESH_UNAVAILABLE",
      `view ${view}: partitions ${missing.join(", ")} are not served right now (a rebalance, or an owner catching up); retry`,
      { view, partitions: missing },
    );
  return undefined;
}

/** A member's 4xx answer, passed on as it is (the same question would get the same answer here). */
export function answerError(body: unknown, status: number): MeshError {
  const b = body as { code?: string; message?: string; details?: Record<string, unknown> };
  const code: ErrorCode = b.code && b.code in errorCatalogue ? (b.code as ErrorCode) : "MESH_INTERNAL";
  return new MeshError(code, b.message ?? `a member answered ${status}`, b.details ?? {});
}
