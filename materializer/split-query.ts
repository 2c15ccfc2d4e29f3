// Queries of a split view (docs/views.md "Split views"): every member of the view's group answers for the
// driving partitions it owns, so a query is forwarded to all of them (lib/http member-answers.ts: answer
// locally, never forward again) and their answers are merged. A page is merged by sort position, the
// LevelDB entry key of the query's path, which every member computes the same way; the merged cursor is a
// position too, valid for every member. A member that does not answer, or partitions no member owns (a
// rebalance in progress), make the query fail with 503 MESH_UNAVAILABLE: never a silently partial answer.
// A consistent page (`consistent`, docs/views.md "Consistent pages") is read at one point of every member:
// each answers under a hold (kafka/apply-holds.ts) saying its position, the members behind the furthest one
// are moved up to exactly it and asked again, and the holds are released.
// Used by a member (engine-views.ts) and by an API reading members (api/adapters/remote-views.ts).
import { randomUUID } from "node:crypto";
import { MeshError } from "../lib/errors.ts";
import { HttpClient } from "../lib/http/client.ts";
import { meshErrorOf } from "../lib/http/errors.ts";
import {
  AT_HEADER,
  HOLD_HEADER,
  LOCAL_HEADER,
  RELEASE_HEADER,
  SERVED_HEADER,
  servedPartitions,
} from "../lib/http/member-answers.ts";
import { defaultLimit, rowKeySegment, rowsQueryString, type RowQuery } from "../lib/http/row-query.ts";
import type { MemberPage, Row, ViewMember } from "./contract.ts";
import { furthest, parsePosition, positionJson, samePosition } from "./kafka/apply-holds.ts";

/** Whether a split view's page is consistent when the query does not say (docs/views.md "Consistent pages"). */
export const CONSISTENT_BY_DEFAULT = true;

const defaultClient = new HttpClient();

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

interface Answer {
  status: number;
  body: unknown;
  served: number[];
}

async function ask(
  member: ViewMember,
  view: string,
  path: string,
  client: HttpClient,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const url = `${member.url.replace(/\/$/, "")}/v1/views/${encodeURIComponent(view)}${path}`;
  try {
    const answer = await client.call(url, { headers: { [LOCAL_HEADER]: "1", ...headers } });
    // An error the member explains (e.g. MESH_VIEW_NOT_READY) is passed on; anything else means it is unwell.
    if (answer.status >= 500 && !(answer.body as { code?: unknown } | null)?.code)
      throw new Error(`status ${answer.status}`);
    return {
      status: answer.status,
      body: answer.body,
      served: servedPartitions(answer.headers.get(SERVED_HEADER)),
    };
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
  client: HttpClient = defaultClient,
): Promise<{ rows: Row[]; next: string | null; stale: boolean }> {
  checkCoverage(view, members, partitions);
  const qs = rowsQueryString(query);
  const asked = members.filter((m) => m.partitions.length > 0);
  const answers =
    (query.consistent ?? CONSISTENT_BY_DEFAULT)
      ? await consistentAnswers(view, asked, `/rows?${qs}`, client)
      : await Promise.all(asked.map((m) => ask(m, view, `/rows?${qs}`, client)));
  for (const a of answers) if (a.status >= 400) throw meshErrorOf(a.body, a.status);
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
  const merged = mergePages(pages, query.limit ?? defaultLimit, query.desc ?? false);
  return { ...merged, stale: merged.stale || unanswered.length > 0 };
}

/**
 * Every member's page at one position: all answer under one hold with their position; those behind the
 * furthest are moved up to exactly it and asked again (a member that went past it meanwhile, 409: the
 * whole read is tried again, at most 3 times); then the holds are released.
 */
async function consistentAnswers(
  view: string,
  members: ViewMember[],
  path: string,
  client: HttpClient,
): Promise<Answer[]> {
  for (let attempt = 1; ; attempt++) {
    const id = randomUUID();
    try {
      const first = await Promise.all(members.map((m) => ask(m, view, path, client, { [HOLD_HEADER]: id })));
      if (first.some((a) => a.status >= 400)) return first;
      const positions = first.map((a) => parsePosition((a.body as MemberPage).position ?? {}));
      const target = furthest(positions);
      const at = JSON.stringify(positionJson(target));
      const answers = await Promise.all(
        first.map((a, i) =>
          samePosition(positions[i]!, target)
            ? Promise.resolve(a)
            : ask(members[i]!, view, path, client, { [HOLD_HEADER]: id, [AT_HEADER]: at }),
        ),
      );
      if (attempt < 3 && answers.some((a) => a.status === 409)) continue;
      return answers;
    } finally {
      // Not awaited: the page does not wait for the releases (a lost one expires on the member).
      for (const m of members)
        void ask(m, view, path, client, { [RELEASE_HEADER]: id }).catch(() => undefined);
    }
  }
}

export async function forwardRow(
  view: string,
  members: ViewMember[],
  partitions: number,
  key: unknown[],
  client: HttpClient = defaultClient,
): Promise<Row | undefined> {
  checkCoverage(view, members, partitions);
  const path = `/rows/${rowKeySegment(key)}`;
  const answers = await Promise.all(
    members.filter((m) => m.partitions.length > 0).map((m) => ask(m, view, path, client)),
  );
  const found = answers.find((a) => a.status === 200);
  if (found) return found.body as Row;
  const failed = answers.find(
    (a) => a.status !== 404 || (a.body as { code?: string }).code !== "MESH_NOT_FOUND",
  );
  if (failed) throw meshErrorOf(failed.body, failed.status);
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
